/*
 * avx512.c -- AVX-512 versions of the attention, norm and int8 rescale
 * kernels (contracts in kernels.h and lowp.h; the portable twins in
 * portable.c and lowp.c define the results).
 *
 * gemm_acc/gemm_set share a register-blocked micro-kernel: a tile of up to 8
 * rows x 48 columns of C lives in 24 zmm accumulators while k runs; each step
 * loads three vectors of B and broadcasts one A value per row, so 11 loads
 * feed 24 FMAs. Column tails use masked loads and stores, and the last column
 * block uses only as many vectors as it needs. The products are summed in the
 * portable twin's order, so both give the same bits. softmax uses a vector
 * exp (Cody-Waite range reduction, degree-7 polynomial, scalef): within 2 ulp
 * of expf on the range softmax feeds it (x - max <= 0). transpose goes
 * through registers 16 x 16 at a time.
 *
 * dot_f64 widens to double before multiplying, as the portable twin does.
 * The int8 kernels repeat the twins' arithmetic (fused where gcc fuses it);
 * requant_row_relu_u8 takes the quantization range during the rescale.
 *
 * CMakeLists.txt compiles this file alone with -mavx512f/bw/dq/vl -mfma (the
 * library is baseline x86-64); a compiler without them makes
 * rt5__kernels_avx512() NULL, as does a CPU without AVX-512 at run time.
 */
#include "kernels/kernels.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

static inline __mmask16 tail_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* One ROWS x (up to 16 NV) tile of C += A . B. ROWS and NV are constants at
 * each call site, so the loops over rows and vectors unroll and the ROWS x NV
 * accumulators stay in registers (8 x 3 = 24 of the 32 zmm, plus NV for B
 * and one broadcast). Only the last vector of a tile may be partial. */
static inline __attribute__((always_inline)) void
gemm_tile(const int ROWS, const int NV, const int ACC, int cols, int k, const float *a, size_t lda, const float *b, size_t ldb,
          float *c, size_t ldc)
{
    __mmask16 m[3];
    __m512 acc[8][3];
#pragma GCC unroll 3
    for (int v = 0; v < NV; v++)
        m[v] = tail_mask(cols - 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[r][v] = ACC ? _mm512_maskz_loadu_ps(m[v], c + (size_t)r * ldc + 16 * v) : _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        __m512 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            bv[v] = _mm512_maskz_loadu_ps(m[v], b + (size_t)p * ldb + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * lda + p]);
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, m[v], acc[r][v]);
}

/* Rows i.. i+rows (rows <= 8) of C against one column block of NV vectors. */
static inline __attribute__((always_inline)) void
gemm_rows(const int NV, const int ACC, int rows, int cols, int k, const float *a, size_t lda, const float *b, size_t ldb,
          float *c, size_t ldc)
{
    switch (rows) {
    case 8: gemm_tile(8, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 7: gemm_tile(7, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 6: gemm_tile(6, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 5: gemm_tile(5, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 4: gemm_tile(4, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 3: gemm_tile(3, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    case 2: gemm_tile(2, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    default: gemm_tile(1, NV, ACC, cols, k, a, lda, b, ldb, c, ldc); break;
    }
}

/* Column blocks of 48 (three vectors); the last block takes only the
 * vectors it needs, so a 130-wide score row costs 9 vectors, not 10.
 * ACC: C += A . B, else C = A . B (C is not read). */
static inline __attribute__((always_inline)) void
gemm_blocks(const int ACC, int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
            size_t ldc)
{
    for (int i = 0; i < m; i += 8) {
        int rows = m - i < 8 ? m - i : 8;
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j += 48) {
            int cols = n - j < 48 ? n - j : 48;
            if (cols > 32)
                gemm_rows(3, ACC, rows, cols, k, ai, lda, b + j, ldb, ci + j, ldc);
            else if (cols > 16)
                gemm_rows(2, ACC, rows, cols, k, ai, lda, b + j, ldb, ci + j, ldc);
            else
                gemm_rows(1, ACC, rows, cols, k, ai, lda, b + j, ldb, ci + j, ldc);
        }
    }
}

static void gemm_acc_avx512(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb,
                            float *c, size_t ldc)
{
    gemm_blocks(1, m, n, k, a, lda, b, ldb, c, ldc);
}

static void gemm_set_avx512(int m, int n, int k, const float *a, size_t lda, const float *b, size_t ldb,
                            float *c, size_t ldc)
{
    gemm_blocks(0, m, n, k, a, lda, b, ldb, c, ldc);
}

/* e^x for x in about [-87, 88]: x = n ln2 + r, |r| <= ln2/2, e^r by its
 * Taylor polynomial to degree 7 (truncation < 1e-8 relative), times 2^n. */
static inline __m512 exp_ps(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.5f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.5f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static void softmax_row(float *row, int n)
{
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, row + j));
    }
    __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512d sum0 = _mm512_setzero_pd(), sum1 = _mm512_setzero_pd();
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), max));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(row + j, m, e);
        sum0 = _mm512_add_pd(sum0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum1 = _mm512_add_pd(sum1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    __m512 inv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(sum0, sum1))));
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        _mm512_mask_storeu_ps(row + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), inv));
    }
}

static void softmax_rows_avx512(float *x, int rows, int n, size_t ld)
{
    for (int r = 0; r < rows; r++)
        softmax_row(x + (size_t)r * ld, n);
}

static void rms_norm_avx512(float *y, const float *x, const float *w, int n, float eps)
{
    __m512d ss0 = _mm512_setzero_pd(), ss1 = _mm512_setzero_pd();
    for (int i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        ss0 = _mm512_fmadd_pd(lo, lo, ss0);
        ss1 = _mm512_fmadd_pd(hi, hi, ss1);
    }
    double ss = _mm512_reduce_add_pd(_mm512_add_pd(ss0, ss1));
    __m512 scale = _mm512_set1_ps((float)(1.0 / sqrt((double)(float)(ss / n) + (double)eps)));
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + i), v));
    }
}

/* gelu_new(a) = 0.5 a (1 + tanh(u)) = a / (1 + e^(-2u)), u = sqrt(2/pi)(a + 0.044715 a^3):
 * the sigmoid form has no cancellation for negative a. */
static void gelu_mul_avx512(float *y, const float *a, const float *b, int n)
{
    const __m512 k0 = _mm512_set1_ps(-2.0f * 0.7978845608028654f), k1 = _mm512_set1_ps(0.044715f);
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, a + i);
        __m512 u = _mm512_mul_ps(k0, _mm512_fmadd_ps(_mm512_mul_ps(k1, v), _mm512_mul_ps(v, v), v));
        __m512 g = _mm512_div_ps(v, _mm512_add_ps(one, exp_ps(u)));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, b + i)));
    }
}

/* Four double accumulators (8 lanes each) hide the FMA latency; the
 * portable twin sums in order, so results differ by double rounding only. */
static double dot_f64_avx512(const float *a, const float *b, int n)
{
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd(), s2 = _mm512_setzero_pd(),
            s3 = _mm512_setzero_pd();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a0 = _mm512_loadu_ps(a + i), b0 = _mm512_loadu_ps(b + i);
        __m512 a1 = _mm512_loadu_ps(a + i + 16), b1 = _mm512_loadu_ps(b + i + 16);
        s0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a0)),
                             _mm512_cvtps_pd(_mm512_castps512_ps256(b0)), s0);
        s1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a0, 1)),
                             _mm512_cvtps_pd(_mm512_extractf32x8_ps(b0, 1)), s1);
        s2 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a1)),
                             _mm512_cvtps_pd(_mm512_castps512_ps256(b1)), s2);
        s3 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a1, 1)),
                             _mm512_cvtps_pd(_mm512_extractf32x8_ps(b1, 1)), s3);
    }
    for (; i < n; i += 16) { /* masked tail: zeros add nothing */
        __mmask16 m = tail_mask(n - i);
        __m512 a0 = _mm512_maskz_loadu_ps(m, a + i), b0 = _mm512_maskz_loadu_ps(m, b + i);
        s0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a0)),
                             _mm512_cvtps_pd(_mm512_castps512_ps256(b0)), s0);
        s1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a0, 1)),
                             _mm512_cvtps_pd(_mm512_extractf32x8_ps(b0, 1)), s1);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

/* In-register transpose of a 16 x 16 block: x[i] holds row i on entry and
 * column i on exit. Four stages, each interleaving pairs at a doubling
 * width: floats within 128-bit lanes, float pairs (as doubles), then whole
 * lanes twice (shuffle_f32x4). After stage 2, u[4q + c] holds in lane L
 * elements 4L + c of rows 4q .. 4q+3; the last two stages gather lane L of
 * u[c], u[4 + c], u[8 + c], u[12 + c] into column 4L + c. */
static inline void transpose16(__m512 x[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(x[i], x[i + 1]);     /* per lane: a0 b0 a1 b1 */
        t[i + 1] = _mm512_unpackhi_ps(x[i], x[i + 1]); /*           a2 b2 a3 b3 */
    }
    for (int q = 0; q < 16; q += 4) {
        __m512d a = _mm512_castps_pd(t[q]), b = _mm512_castps_pd(t[q + 1]);
        __m512d c = _mm512_castps_pd(t[q + 2]), d = _mm512_castps_pd(t[q + 3]);
        u[q + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);     /* lanes 0,1 of each */
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);     /* lanes 2,3 of each */
        __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        x[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);      /* lane 0 of the four */
        x[4 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);  /* lane 1 */
        x[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);  /* lane 2 */
        x[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD); /* lane 3 */
    }
}

/* 16 x 16 blocks through registers: rows past r load as zeros, columns
 * past c are masked on load, and each stored row keeps only r - i0 values. */
static void transpose_avx512(float *dst, size_t ld_dst, const float *src, size_t ld_src, int r, int c)
{
    __m512 x[16];
    for (int i0 = 0; i0 < r; i0 += 16) {
        int rows = r - i0 < 16 ? r - i0 : 16;
        __mmask16 store = tail_mask(rows);
        for (int j0 = 0; j0 < c; j0 += 16) {
            int cols = c - j0 < 16 ? c - j0 : 16;
            __mmask16 load = tail_mask(cols);
            for (int i = 0; i < 16; i++)
                x[i] = i < rows ? _mm512_maskz_loadu_ps(load, src + (size_t)(i0 + i) * ld_src + j0)
                                : _mm512_setzero_ps();
            transpose16(x);
            for (int j = 0; j < cols; j++)
                _mm512_mask_storeu_ps(dst + (size_t)(j0 + j) * ld_dst + i0, store, x[j]);
        }
    }
}

/* Per-token u8 quantization (contract in lowp.h): one pass for the range,
 * one to quantize. The arithmetic is the portable twin's as gcc compiles it
 * (x * inv + z fused, then + 0.5), so the codes agree except where the
 * twin's compiler does not fuse; then they differ by at most one step. */
static void quantize_in_range(uint8_t *q, const float *x, const float *inv_smooth, int k, float lo, float hi,
                              float *scale, int32_t *zp)
{
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || !isfinite(s))
        s = 1.0f;
    float inv = 1.0f / s, z = nearbyintf(-lo * inv);
    z = z > 0.0f ? (z < 255.0f ? z : 255.0f) : 0.0f; /* NaN (0 * inf for a tiny s) -> 0 */
    const __m512 vinv = _mm512_set1_ps(inv), vz = _mm512_set1_ps(z), half = _mm512_set1_ps(0.5f);
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
    for (int j = 0; j < k; j += 16) {
        __mmask16 m = tail_mask(k - j);
        __m512 v = _mm512_maskz_loadu_ps(m, x + j);
        if (inv_smooth)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, inv_smooth + j));
        v = _mm512_add_ps(_mm512_fmadd_ps(v, vinv, vz), half);
        v = _mm512_min_ps(_mm512_max_ps(v, zero), top);
        _mm512_mask_cvtusepi32_storeu_epi8(q + j, m, _mm512_cvttps_epi32(v));
    }
    *scale = s;
    *zp = (int32_t)z;
}

/* Running range of v (masked-off lanes are 0, which the range holds). */
static inline void range_update(__m512 v, __m512 *vlo, __m512 *vhi)
{
    *vlo = _mm512_min_ps(v, *vlo); /* NaN in v: keeps the range, as the twin's compare does */
    *vhi = _mm512_max_ps(v, *vhi);
}

static void quantize_row_u8_avx512(uint8_t *q, const float *x, const float *inv_smooth, int k, float *scale,
                                   int32_t *zp)
{
    __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps(); /* 0 is always in the range */
    for (int j = 0; j < k; j += 16) {
        __mmask16 m = tail_mask(k - j);
        __m512 v = _mm512_maskz_loadu_ps(m, x + j);
        if (inv_smooth)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, inv_smooth + j));
        range_update(v, &vlo, &vhi);
    }
    quantize_in_range(q, x, inv_smooth, k, _mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi), scale, zp);
}

/* (sx * w_scale[j]) * (float)(acc[j] - zp * w_colsum[j]) for the 16 lanes at j. */
static inline __m512 dequant16(__mmask16 m, const int32_t *acc, const int32_t *w_colsum, const float *w_scale,
                               __m512 vsx, __m512i vzp)
{
    __m512i a = _mm512_maskz_loadu_epi32(m, acc), c = _mm512_maskz_loadu_epi32(m, w_colsum);
    __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_mullo_epi32(vzp, c)));
    return _mm512_mul_ps(_mm512_mul_ps(vsx, _mm512_maskz_loadu_ps(m, w_scale)), f);
}

/* The rescale pass also takes the quantization range, so y is read once
 * (to quantize) instead of twice. */
static void requant_row_relu_u8_avx512(uint8_t *q, float *y, const int32_t *acc, int n, float sx, int32_t zp,
                                       const float *w_scale, const int32_t *w_colsum, const float *inv_smooth,
                                       float *scale, int32_t *q_zp)
{
    const __m512 vsx = _mm512_set1_ps(sx), zero = _mm512_setzero_ps();
    const __m512i vzp = _mm512_set1_epi32(zp);
    __m512 vlo = zero, vhi = zero;
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 v = _mm512_max_ps(dequant16(m, acc + j, w_colsum + j, w_scale + j, vsx, vzp), zero);
        _mm512_mask_storeu_ps(y + j, m, v);
        if (inv_smooth)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, inv_smooth + j));
        range_update(v, &vlo, &vhi);
    }
    quantize_in_range(q, y, inv_smooth, n, _mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi), scale, q_zp);
}

/* v = (sx * w_scale[j]) * (float)(acc[j] - zp * w_colsum[j]), 16 at a time;
 * the accumulate form fuses the add as gcc does for the twin. */
static void dequant_row_avx512(float *y, const int32_t *acc, int n, float sx, int32_t zp, const float *w_scale,
                               const int32_t *w_colsum, rt5__dequant_mode mode)
{
    const __m512 vsx = _mm512_set1_ps(sx), zero = _mm512_setzero_ps();
    const __m512i vzp = _mm512_set1_epi32(zp);
    int j = 0;
    if (mode == RT5__DEQUANT_SET_STREAM && ((uintptr_t)y & 63) == 0) {
        /* Non-temporal stores skip reading y's lines in first (a third of
         * the traffic of a (tokens, 3 inner) output that spills the cache
         * anyway); the fence orders them before other threads read y. */
        for (; j + 16 <= n; j += 16)
            _mm512_stream_ps(y + j, dequant16(0xFFFF, acc + j, w_colsum + j, w_scale + j, vsx, vzp));
        _mm_sfence();
    }
    for (; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 v;
        if (mode == RT5__DEQUANT_ACCUMULATE) { /* fused as gcc fuses the twin's y += a * b */
            __m512i a = _mm512_maskz_loadu_epi32(m, acc + j), c = _mm512_maskz_loadu_epi32(m, w_colsum + j);
            __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_mullo_epi32(vzp, c)));
            __m512 sw = _mm512_mul_ps(vsx, _mm512_maskz_loadu_ps(m, w_scale + j));
            v = _mm512_fmadd_ps(sw, f, _mm512_maskz_loadu_ps(m, y + j));
        } else {
            v = dequant16(m, acc + j, w_colsum + j, w_scale + j, vsx, vzp);
        }
        if (mode == RT5__DEQUANT_RELU)
            v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(y + j, m, v);
    }
}

const rt5__kernels *rt5__kernels_avx512(void)
{
    static const rt5__kernels table = {
        .name = "avx512",
        .gemm_acc = gemm_acc_avx512,
        .gemm_set = gemm_set_avx512,
        .softmax_rows = softmax_rows_avx512,
        .rms_norm = rms_norm_avx512,
        .gelu_mul = gelu_mul_avx512,
        .dot_f64 = dot_f64_avx512,
        .transpose = transpose_avx512,
        .quantize_row_u8 = quantize_row_u8_avx512,
        .dequant_row = dequant_row_avx512,
        .requant_row_relu_u8 = requant_row_relu_u8_avx512,
    };
    bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return has ? &table : NULL;
}

#else /* no AVX-512 in this build */

const rt5__kernels *rt5__kernels_avx512(void)
{
    return 0;
}

#endif
