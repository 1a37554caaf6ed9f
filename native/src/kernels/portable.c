/*
 * portable.c -- the reference C versions of the kernels in kernels.h. They
 * define what each kernel computes; ISA versions are tested against them.
 *
 * x86/avx2.c compiles this same file a second time for AVX2+FMA (with
 * RT5_PORTABLE_AS_AVX2 defined): the library itself is built for baseline
 * x86-64, and gcc's vectorization of these loops for AVX2 is the AVX2 table.
 */
#include "kernels/kernels.h"

#include <math.h>

static void gemm_acc_portable(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb,
                              float *c, size_t ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int p = 0; p < k; p++) {
            float aip = a[(size_t)i * lda + p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++)
                ci[j] += aip * bp[j];
        }
    }
}

static void gemm_set_portable(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb,
                              float *c, size_t ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[(size_t)i * ldc + j] = 0.0f;
    gemm_acc_portable(m, n, k, a, lda, b, ldb, c, ldc);
}

static void softmax_rows_portable(float *x, int rows, int n, size_t ld)
{
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * ld;
        float max = row[0];
        for (int j = 1; j < n; j++)
            max = row[j] > max ? row[j] : max;
        double sum = 0.0;
        for (int j = 0; j < n; j++) {
            row[j] = expf(row[j] - max);
            sum += row[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < n; j++)
            row[j] *= inv;
    }
}

static void rms_norm_portable(float *y, const float *x, const float *w, int n, float eps)
{
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt((double)(float)(ss / n) + (double)eps));
    for (int i = 0; i < n; i++)
        y[i] = w[i] * (x[i] * scale);
}

static void gelu_mul_portable(float *y, const float *a, const float *b, int n)
{
    const float k0 = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int i = 0; i < n; i++) {
        float v = a[i];
        y[i] = 0.5f * v * (1.0f + tanhf(k0 * (v + 0.044715f * v * v * v))) * b[i];
    }
}

static double dot_f64_portable(const float *a, const float *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

#ifdef RT5_PORTABLE_AS_AVX2
#define TABLE_FN avx2_table
#define TABLE_NAME "avx2"
#define TRANSPOSE transpose_avx2
static
#else
#define TABLE_FN rt5__kernels_portable
#define TABLE_NAME "portable"
#define TRANSPOSE rt5__transpose
#endif
void TRANSPOSE(float *dst, size_t ld_dst, const float *src, size_t ld_src, int r, int c)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            dst[(size_t)j * ld_dst + i] = src[(size_t)i * ld_src + j];
}

const rt5__kernels *TABLE_FN(void)
{
    static const rt5__kernels table = {
        .name = TABLE_NAME,
        .gemm_acc = gemm_acc_portable,
        .gemm_set = gemm_set_portable,
        .softmax_rows = softmax_rows_portable,
        .rms_norm = rms_norm_portable,
        .gelu_mul = gelu_mul_portable,
        .dot_f64 = dot_f64_portable,
        .transpose = TRANSPOSE,
        .quantize_row_u8 = rt5__quantize_row_u8,
        .dequant_row = rt5__dequant_row,
        .requant_row_relu_u8 = rt5__requant_row_relu_u8,
    };
    return &table;
}

#ifdef RT5_PORTABLE_AS_AVX2
const rt5__kernels *rt5__kernels_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? avx2_table() : NULL;
}
#endif
