/*
 * lowp.h -- the element-wise kernels around low-precision matrix products:
 * f32 -> bf16 rounding, per-row (per-token) asymmetric u8 quantization, and
 * the rescaling of s32 products back to f32. They know nothing of T5; the
 * linear layer (native/src/model/linear_lowp.c) calls them on one chunk of rows.
 *
 * Plain C written so that the compiler vectorizes it (-march=native turns
 * the loops into AVX-512). The u8 quantization and the rescales are also the
 * portable twins of the kernel table's quantize_row_u8, dequant_row and
 * requant_row_relu_u8 (kernels.h), whose AVX-512 versions fuse passes.
 * Rounding is round-to-nearest-even for bf16 and round-half-up (on
 * non-negative values) for u8.
 */
#ifndef RT5_KERNELS_LOWP_H
#define RT5_KERNELS_LOWP_H

#include <stddef.h>
#include <stdint.h>

/* dst[i] = bf16(src[i]), round to nearest even; NaN stays NaN. */
void rt5__f32_to_bf16(uint16_t *dst, const float *src, size_t n);

/* bf16 -> f32 (exact). */
void rt5__bf16_to_f32(float *dst, const uint16_t *src, size_t n);

/*
 * Quantizes one row of k values to u8 with its own scale and zero point:
 * v[j] = x[j] * (inv_smooth ? inv_smooth[j] : 1), range [min(v, 0),
 * max(v, 0)] mapped onto [0, 255], so v[j] ~= (q[j] - *zp) * *scale and 0 is
 * exact. An all-zero row gets scale 1, zero point 0.
 */
void rt5__quantize_row_u8(uint8_t *q, const float *x, const float *inv_smooth, int k, float *scale,
                          int32_t *zp);

typedef enum rt5__dequant_mode {
    RT5__DEQUANT_SET = 0,    /* y  = v          */
    RT5__DEQUANT_RELU,       /* y  = max(v, 0)  */
    RT5__DEQUANT_ACCUMULATE, /* y += v          */
    RT5__DEQUANT_SET_STREAM  /* y  = v, stored past the caches where the ISA
                                can (AVX-512, y 64-byte aligned): for outputs
                                far larger than the cache, not read soon */
} rt5__dequant_mode;

/*
 * v[j] = sx * w_scale[j] * (acc[j] - zp * w_colsum[j]) for j < n: the f32
 * value of one row of a u8 x s8 product whose activations had scale sx and
 * zero point zp and whose weight column j had scale w_scale[j] and integer
 * sum w_colsum[j].
 */
void rt5__dequant_row(float *y, const int32_t *acc, int n, float sx, int32_t zp, const float *w_scale,
                      const int32_t *w_colsum, rt5__dequant_mode mode);

/*
 * The ReLU feed-forward's requantization of one row in one call:
 * y[j] = max(0, v[j]) with v as in rt5__dequant_row, then q, *scale, *zp =
 * rt5__quantize_row_u8(y, inv_smooth). y (n floats) is kept for the caller.
 * Same results as those two calls; an ISA version may take the range while
 * it rescales and so read y once less.
 */
void rt5__requant_row_relu_u8(uint8_t *q, float *y, const int32_t *acc, int n, float sx, int32_t zp,
                              const float *w_scale, const int32_t *w_colsum, const float *inv_smooth,
                              float *scale, int32_t *q_zp);

/*
 * Exact u8 x s8 products without VNNI. CPUs without VNNI (AVX2, AVX-512
 * before Cascade Lake) multiply u8 by s8 with vpmaddubsw, which adds each
 * pair of adjacent products into a saturating s16 lane: 2 x 255 x 127 = 64770
 * clips at 32767 (oneDNN's guide, "int8 computation nuances", names this and
 * asks for 7-bit inputs). Rather than drop a bit of every activation, a row
 * of codes q (0..255) is split into lo = min(q, 128) and hi = q - lo
 * (0..127): each half's pair sums stay within 2 x 128 x 127 = 32512, so
 * W.lo + W.hi = W.q exactly, the same s32 products VNNI gives.
 *
 * rt5__u8_split: q[i] becomes lo, hi[i] gets hi, for n codes.
 * rt5__add_s32:  acc[i] += add[i] (no overflow: |W.q| < 2^31 is checked at
 *                plan time).
 */
void rt5__u8_split(uint8_t *q, uint8_t *hi, size_t n);
void rt5__add_s32(int32_t *acc, const int32_t *add, size_t n);

/*
 * Symmetric per-row s8 quantization of a weight row: scale = max|w| / 127
 * (1 for an all-zero row), q[j] = round(w[j] * col_mul[j] / scale) (col_mul
 * may be NULL). Returns the scale; *sum gets the sum of q.
 */
float rt5__quantize_weight_row_s8(int8_t *q, const float *w, const float *col_mul, int k, int32_t *sum);

#endif /* RT5_KERNELS_LOWP_H */
