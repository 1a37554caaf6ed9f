/*
 * fuzz_converted.c -- libFuzzer target for loading a converted model file
 * (native/src/model/converted.c on top of the safetensors reader, config and weight
 * binding): any bytes must load into a model that scores, or fail with a
 * message. The bytes go through a memfd so that the real loader (open,
 * mmap, validate, adopt in place or reorder) runs unchanged. Seeds are tiny
 * models converted by rankt5 convert (one per dtype, packed and portable).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rankt5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("converted", 0);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rt5_model *model = NULL;
    if (done == size && rt5_model_load(path, NULL, &model) == RT5_OK) {
        int32_t ids[5] = {5, 9, 2, 7, 1};
        rt5_seq seq = {ids, 5};
        rt5_session *s = NULL;
        float score;
        if (rt5_session_create(model, NULL, &s) == RT5_OK)
            (void)rt5_session_score(s, &seq, 1, &score);
        rt5_session_free(s);
    }
    rt5_model_free(model);
    close(fd);
    return 0;
}
