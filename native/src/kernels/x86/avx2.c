/*
 * avx2.c -- the AVX2+FMA kernel table: the portable kernels (portable.c)
 * compiled once more with -mavx2 -mfma (CMakeLists.txt), so that gcc
 * vectorizes their loops for 256-bit registers on CPUs without AVX-512
 * (Zen 1-3, Haswell..Alder Lake). The library itself is built for baseline
 * x86-64. Same source, so the same contracts; tests/test_kernels.c checks
 * this table against the baseline build of the twins like any other.
 *
 * rt5__kernels_avx2() is NULL where the CPU lacks AVX2 or FMA, or where the
 * compiler was not given them.
 */
#if defined(__AVX2__) && defined(__FMA__)
#define RT5_PORTABLE_AS_AVX2
#include "../portable.c"
#undef RT5_PORTABLE_AS_AVX2
#else
#include "kernels/kernels.h"

const rt5__kernels *rt5__kernels_avx2(void)
{
    return 0;
}
#endif
