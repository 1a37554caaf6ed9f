/*
 * fuzz_pickle.c -- libFuzzer target for the allow-list pickle machine
 * (native/src/formats/pickle.c): any bytes must give a list of tensor
 * descriptions or an error, never a crash, a leak or unbounded memory.
 */
#include <stdint.h>
#include <string.h>

#include "formats/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt5__errmsg err;
    rt5__pickle_state_dict sd;
    if (rt5__pickle_read_state_dict(data, size, &sd, &err) == RT5_OK) {
        size_t total = 0;
        for (size_t i = 0; i < sd.n_tensors; i++)
            total += strlen(sd.tensors[i].name) + strlen(sd.tensors[i].storage_key);
        (void)total;
        rt5__pickle_state_dict_free(&sd);
    }
    return 0;
}
