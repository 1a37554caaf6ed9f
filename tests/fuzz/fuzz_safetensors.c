/*
 * fuzz_safetensors.c -- libFuzzer target for the safetensors reader
 * (native/src/formats/safetensors.c): any bytes must give in-bounds views or an
 * error. Every byte of every view is read so that ASan checks the bounds.
 */
#include <stdint.h>

#include "formats/tensor_set.h"

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt5__errmsg err;
    rt5__tensor_set *set = rt5__tensor_set_new();
    if (set && rt5__safetensors_read_memory(set, data, size, &err) == RT5_OK) {
        uint8_t x = 0;
        for (size_t i = 0; i < set->n_tensors; i++)
            for (uint64_t b = 0; b < set->tensors[i].n_bytes; b++)
                x ^= set->tensors[i].data[b];
        sink = x;
    }
    rt5__tensor_set_free(set);
    return 0;
}
