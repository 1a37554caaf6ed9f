/*
 * fuzz_zip.c -- libFuzzer target for the ZIP reader and the torch archive
 * layer above it (native/src/formats/zip.c, torch.c): any bytes must give either a
 * set of in-bounds views or an error, never a crash or an out-of-bounds read.
 * Every byte of every yielded entry and view is read so that ASan checks it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "formats/tensor_set.h"
#include "formats/zip.h"

static volatile uint8_t sink;

static void touch(const uint8_t *p, uint64_t n)
{
    uint8_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x ^= p[i];
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt5__errmsg err;
    rt5__zip zip;
    if (rt5__zip_open(data, size, &zip, &err) == RT5_OK) {
        for (size_t i = 0; i < zip.n_entries; i++)
            touch(zip.entries[i].data, zip.entries[i].size);
        rt5__zip_close(&zip);
    }
    rt5__tensor_set *set = rt5__tensor_set_new();
    if (set && rt5__torch_read_memory(set, data, size, &err) == RT5_OK)
        for (size_t i = 0; i < set->n_tensors; i++)
            touch(set->tensors[i].data, set->tensors[i].n_bytes);
    rt5__tensor_set_free(set);
    return 0;
}
