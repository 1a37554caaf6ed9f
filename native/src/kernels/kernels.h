/*
 * kernels.h -- the table of non-GEMM compute kernels and their contracts.
 *
 * The big matrix products go to oneDNN (native/src/model/linear.c). What is left --
 * the per-head attention products, softmax, RMSNorm and the gated
 * activation -- runs through this table. Every kernel has a portable C
 * version (portable.c) that defines its meaning; an ISA file (x86/avx512.c)
 * may override entries; x86/avx2.c is the portable file compiled for AVX2.
 * The table is chosen once from the CPU's features (core/cpu.h);
 * RT5_KERNELS=portable in the environment forces the portable one.
 * tests/test_kernels.c checks each override against its twin.
 *
 * All matrices are row-major f32 with explicit leading dimensions (in
 * elements); nothing here allocates or knows about T5.
 */
#ifndef RT5_KERNELS_KERNELS_H
#define RT5_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/lowp.h"

typedef struct rt5__kernels {
    const char *name; /* "portable", "avx2", "avx512" */

    /* C[m][n] += A[m][k] . B[k][n]. Small products inside attention
     * (q . k^T with k transposed, and p . v); k, n up to a few hundred. */
    void (*gemm_acc)(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb,
                     float *c, size_t ldc);

    /* C[m][n] = A[m][k] . B[k][n]: gemm_acc without reading C first (the
     * attention output rows need no zeroing pass). */
    void (*gemm_set)(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                     size_t ldc);

    /* Each of rows rows of x (n values, row stride ld) becomes its softmax,
     * in place: exp(x - max) / sum. */
    void (*softmax_rows)(float *x, int rows, int n, size_t ld);

    /* T5's RMSNorm of one row: y = w * (x / sqrt(mean(x^2) + eps)), the mean
     * accumulated in double. y may equal x. */
    void (*rms_norm)(float *y, const float *x, const float *w, int n, float eps);

    /* Gated GELU: y[i] = gelu_tanh(a[i]) * b[i] with transformers' gelu_new,
     * 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))). y may equal a. */
    void (*gelu_mul)(float *y, const float *a, const float *b, int n);

    /* sum_i a[i] * b[i] with the products and the sum in double (the score
     * head's matrix-vector product, one output at a time). */
    double (*dot_f64)(const float *a, const float *b, int n);

    /* dst[j][i] = src[i][j] for an r x c block (see rt5__transpose): one
     * head's keys into the (d_kv, length) layout gemm_acc wants. */
    void (*transpose)(float *dst, size_t ld_dst, const float *src, size_t ld_src, int r, int c);

    /* The int8 linear layer's per-token u8 quantization and s32 -> f32
     * rescale: contracts at rt5__quantize_row_u8, rt5__dequant_row and
     * rt5__requant_row_relu_u8 in lowp.h, which are the portable twins. */
    void (*quantize_row_u8)(uint8_t *q, const float *x, const float *inv_smooth, int k, float *scale,
                            int32_t *zp);
    void (*dequant_row)(float *y, const int32_t *acc, int n, float sx, int32_t zp, const float *w_scale,
                        const int32_t *w_colsum, rt5__dequant_mode mode);
    void (*requant_row_relu_u8)(uint8_t *q, float *y, const int32_t *acc, int n, float sx, int32_t zp,
                                const float *w_scale, const int32_t *w_colsum, const float *inv_smooth,
                                float *scale, int32_t *q_zp);
} rt5__kernels;

/* The table for this CPU (chosen once; thread-safe). */
const rt5__kernels *rt5__kernels_get(void);

/* The portable table, and the AVX-512 one (NULL when the CPU or the compiler
 * lacks it). For twin tests and forcing. */
const rt5__kernels *rt5__kernels_portable(void);
const rt5__kernels *rt5__kernels_avx512(void);
/* The portable kernels compiled for AVX2+FMA (x86/avx2.c); NULL when the
 * CPU or the compiler lacks them. */
const rt5__kernels *rt5__kernels_avx2(void);

/* dst[j][i] = src[i][j] for an r x c block: the portable twin of the
 * table's transpose (element by element, strided stores). */
void rt5__transpose(float *dst, size_t ld_dst, const float *src, size_t ld_src, int r, int c);

#endif /* RT5_KERNELS_KERNELS_H */
