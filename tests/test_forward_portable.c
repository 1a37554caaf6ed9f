/*
 * test_forward_portable.c -- test_forward.c again with the kernel table
 * forced to the portable C twins (RT5_KERNELS=portable), so the whole
 * forward pass is checked against Hugging Face with and without SIMD.
 */
#include <stdlib.h>

__attribute__((constructor(101))) static void force_portable_kernels(void)
{
    setenv("RT5_KERNELS", "portable", 1);
}

#include "test_forward.c"
