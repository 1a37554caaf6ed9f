/*
 * kernels.c -- picks the kernel table once: the AVX-512 one when the CPU has
 * it, unless RT5_KERNELS=portable asks for the plain C twins.
 */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const rt5__kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *force = getenv("RT5_KERNELS");
    chosen = rt5__kernels_portable();
    if (force && strcmp(force, "portable") == 0)
        return;
    const rt5__kernels *simd = rt5__kernels_avx512();
    if (simd)
        chosen = simd;
}

const rt5__kernels *rt5__kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
