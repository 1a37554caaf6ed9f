/*
 * lowp.c -- element-wise kernels for the bf16 and int8 linear layers (see
 * lowp.h). Each loop is branch-free over j so that it vectorizes.
 */
#include "kernels/lowp.h"

#include <math.h>
#include <string.h>

/* Float min/max reductions vectorize only when the compiler may reorder
 * them (it would otherwise keep NaN and signed-zero order): say so. Only for
 * gcc: clang turns a reduction it declines to vectorize into a warning, and
 * clang builds here are the sanitizer/fuzz builds, where speed is moot. */
#if defined(_OPENMP) && !defined(__clang__)
#define RT5_PRAGMA(x) _Pragma(#x)
#define SIMD_MIN_MAX(lo, hi) RT5_PRAGMA(omp simd reduction(min : lo) reduction(max : hi))
#define SIMD_MAX(hi) RT5_PRAGMA(omp simd reduction(max : hi))
#else
#define SIMD_MIN_MAX(lo, hi)
#define SIMD_MAX(hi)
#endif

void rt5__f32_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
        uint32_t is_nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
        dst[i] = (uint16_t)(is_nan ? ((u >> 16) | 0x40u) : rounded);
    }
}

void rt5__bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &u, sizeof u);
    }
}

void rt5__quantize_row_u8(uint8_t *q, const float *x, const float *inv_smooth, int k, float *scale,
                          int32_t *zp)
{
    float lo = 0.0f, hi = 0.0f;
    if (inv_smooth) {
        SIMD_MIN_MAX(lo, hi)
        for (int j = 0; j < k; j++) {
            float v = x[j] * inv_smooth[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    } else {
        SIMD_MIN_MAX(lo, hi)
        for (int j = 0; j < k; j++) {
            lo = x[j] < lo ? x[j] : lo;
            hi = x[j] > hi ? x[j] : hi;
        }
    }
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || !isfinite(s))
        s = 1.0f;
    float inv = 1.0f / s, z = nearbyintf(-lo * inv);
    z = z > 0.0f ? (z < 255.0f ? z : 255.0f) : 0.0f; /* NaN (0 * inf for a tiny s) -> 0 */
    if (inv_smooth) {
        for (int j = 0; j < k; j++) {
            float v = x[j] * inv_smooth[j] * inv + z + 0.5f;
            v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f; /* NaN -> 0: no UB in the cast */
            q[j] = (uint8_t)v;
        }
    } else {
        for (int j = 0; j < k; j++) {
            float v = x[j] * inv + z + 0.5f;
            v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f; /* NaN -> 0: no UB in the cast */
            q[j] = (uint8_t)v;
        }
    }
    *scale = s;
    *zp = (int32_t)z;
}

void rt5__dequant_row(float *y, const int32_t *acc, int n, float sx, int32_t zp, const float *w_scale,
                      const int32_t *w_colsum, rt5__dequant_mode mode)
{
    switch (mode) {
    case RT5__DEQUANT_SET:
    case RT5__DEQUANT_SET_STREAM: /* plain stores here */
        for (int j = 0; j < n; j++)
            y[j] = sx * w_scale[j] * (float)(acc[j] - zp * w_colsum[j]);
        break;
    case RT5__DEQUANT_RELU:
        for (int j = 0; j < n; j++) {
            float v = sx * w_scale[j] * (float)(acc[j] - zp * w_colsum[j]);
            y[j] = v > 0.0f ? v : 0.0f;
        }
        break;
    case RT5__DEQUANT_ACCUMULATE:
        for (int j = 0; j < n; j++)
            y[j] += sx * w_scale[j] * (float)(acc[j] - zp * w_colsum[j]);
        break;
    }
}

void rt5__requant_row_relu_u8(uint8_t *q, float *y, const int32_t *acc, int n, float sx, int32_t zp,
                              const float *w_scale, const int32_t *w_colsum, const float *inv_smooth,
                              float *scale, int32_t *q_zp)
{
    rt5__dequant_row(y, acc, n, sx, zp, w_scale, w_colsum, RT5__DEQUANT_RELU);
    rt5__quantize_row_u8(q, y, inv_smooth, n, scale, q_zp);
}

void rt5__u8_split(uint8_t *q, uint8_t *hi, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t h = q[i] > 128 ? (uint8_t)(q[i] - 128) : 0;
        hi[i] = h;
        q[i] = (uint8_t)(q[i] - h);
    }
}

void rt5__add_s32(int32_t *acc, const int32_t *add, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += add[i];
}

float rt5__quantize_weight_row_s8(int8_t *q, const float *w, const float *col_mul, int k, int32_t *sum)
{
    float amax = 0.0f;
    SIMD_MAX(amax)
    for (int j = 0; j < k; j++) {
        float v = fabsf(col_mul ? w[j] * col_mul[j] : w[j]);
        amax = v > amax ? v : amax;
    }
    float s = amax / 127.0f;
    if (!(s > 0.0f) || !isfinite(s))
        s = 1.0f;
    float inv = 1.0f / s;
    int32_t total = 0;
    for (int j = 0; j < k; j++) {
        float v = nearbyintf((col_mul ? w[j] * col_mul[j] : w[j]) * inv);
        v = v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : (v < 0.0f ? -127.0f : 0.0f); /* NaN -> 0 */
        q[j] = (int8_t)v;
        total += (int32_t)v;
    }
    *sum = total;
    return s;
}
