/*
 * kernels.c -- picks the kernel table once, from the instruction set in use
 * (core/cpu.h: the CPU's, lowered by RT5_MAX_ISA): AVX-512, else AVX2+FMA,
 * else the plain C twins; RT5_KERNELS=portable forces the twins.
 */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"

static const rt5__kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *force = getenv("RT5_KERNELS");
    chosen = rt5__kernels_portable();
    if (force && strcmp(force, "portable") == 0)
        return;
    rt5__isa isa = rt5__cpu_get()->isa;
    const rt5__kernels *simd = isa >= RT5__ISA_AVX512 ? rt5__kernels_avx512()
                               : isa >= RT5__ISA_AVX2 ? rt5__kernels_avx2()
                                                      : NULL;
    if (simd)
        chosen = simd;
}

const rt5__kernels *rt5__kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
