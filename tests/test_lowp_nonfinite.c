/*
 * test_lowp_nonfinite.c -- the int8 conversion kernels on non-finite and
 * extreme inputs (a NaN or infinite weight in a checkpoint, a hostile
 * converted file, an activation that overflowed): every output byte is
 * defined (the float -> integer casts never see a NaN or an out-of-range
 * value; the sanitizer tier turns such a cast into a failure) and finite
 * inputs beside them still quantize. Found by fuzz_converted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/kernels.h"
#include "kernels/lowp.h"

typedef void (*quantize_fn)(uint8_t *q, const float *x, const float *inv_smooth, int k, float *scale, int32_t *zp);

/* The portable twin and the kernel table's (AVX-512 where the CPU has it). */
static void quantize_nonfinite(quantize_fn quantize)
{
    const int k = 40;
    float x[40], smooth[40];
    uint8_t q[40];
    float scale;
    int32_t zp;
    const float specials[] = {NAN, INFINITY, -INFINITY, 1e-45f, -1e-45f, 3e38f, -3e38f, 0.0f};
    for (size_t s = 0; s < sizeof specials / sizeof *specials; s++) {
        for (int j = 0; j < k; j++)
            x[j] = (float)(j - 20) * 0.1f, smooth[j] = 1.0f;
        x[7] = specials[s];
        x[30] = specials[(s + 1) % 8];
        quantize(q, x, NULL, k, &scale, &zp);
        CHECK(scale > 0 && isfinite(scale));
        CHECK(zp >= 0 && zp <= 255);
        smooth[3] = specials[s];
        quantize(q, x, smooth, k, &scale, &zp);
        CHECK(scale > 0 && isfinite(scale));
        CHECK(zp >= 0 && zp <= 255);
    }
    /* all values tiny: the scale is a subnormal, 1 / scale is inf and the
     * zero point -0 * inf would be NaN */
    for (int j = 0; j < k; j++)
        x[j] = j % 2 ? 1e-38f : 0.0f;
    quantize(q, x, NULL, k, &scale, &zp);
    CHECK(zp >= 0 && zp <= 255);
}

TEST(test_lowp_quantize_row_nonfinite)
{
    quantize_nonfinite(rt5__quantize_row_u8);
    quantize_nonfinite(rt5__kernels_get()->quantize_row_u8);
}

TEST(test_lowp_quantize_weights_nonfinite)
{
    const int k = 33;
    float w[33], mul[33];
    int8_t q[33];
    int32_t sum;
    for (int j = 0; j < k; j++)
        w[j] = (float)(j - 16) * 0.01f, mul[j] = 1.0f;
    w[4] = NAN, w[9] = INFINITY, w[10] = -INFINITY, mul[20] = NAN;
    float s = rt5__quantize_weight_row_s8(q, w, mul, k, &sum);
    CHECK(s > 0 && isfinite(s));
    int32_t total = 0;
    for (int j = 0; j < k; j++)
        total += q[j];
    CHECK_EQ_INT(total, sum);
    CHECK(sum >= -127 * k && sum <= 127 * k);
}
