/*
 * test_kernels.c -- the kernel table's twins against each other: every
 * kernel of the SIMD table in use (AVX-512, or AVX2 under RT5_MAX_ISA=avx2
 * or on an AVX2 CPU) against its portable version on random inputs of awkward
 * sizes (tails, single rows), within a stated error budget; and the portable
 * versions against double-precision formulas written out here.
 */
#include "harness.h"

#include "core/common.h"
#include "kernels/kernels.h"

static unsigned long long rng_state = 88172645463325252ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand() * scale;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1e-3, fabs((double)b[i]));
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* The SIMD table this CPU uses (AVX-512, or AVX2 where the CPU or
 * RT5_MAX_ISA stops there), NULL when it runs the portable one. The suite
 * runs once natively and once capped at AVX2 (tests/run.sh), so on an
 * AVX-512 machine both tables meet their twins. */
static const rt5__kernels *simd_or_skip(void)
{
    const rt5__kernels *k = rt5__kernels_get();
    return k == rt5__kernels_portable() ? NULL : k;
}

static void gemm_reference(int m, int n, int k, const float *a, const float *b, const float *c0, double *out)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = c0[i * n + j];
            for (int p = 0; p < k; p++)
                s += (double)a[i * k + p] * b[p * n + j];
            out[i * n + j] = s;
        }
}

TEST(test_kernels_gemm_acc_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    static const int shapes[][3] = {{1, 1, 1}, {3, 17, 5}, {8, 32, 128}, {9, 33, 7}, {17, 100, 64},
                                    {40, 626, 20}, {5, 15, 300}, {64, 128, 512}};
    for (size_t s = 0; s < RT5_ARRAY_LEN(shapes); s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        double *want = malloc(sizeof(double) * m * n);
        fill(a, (size_t)m * k, 1.0f);
        fill(b, (size_t)k * n, 1.0f);
        fill(c1, (size_t)m * n, 1.0f);
        memcpy(c2, c1, sizeof(float) * m * n);
        gemm_reference(m, n, k, a, b, c1, want);
        ref->gemm_acc(m, n, k, a, k, b, n, c1, n);
        double err = 0;
        for (int i = 0; i < m * n; i++)
            err = fmax(err, fabs(c1[i] - want[i]) / sqrt((double)k + 1));
        CHECK(err < 1e-5);
        float *c3 = malloc(sizeof(float) * m * n);
        for (int t = 0; t < 2; t++) { /* gemm_set = gemm_acc onto zeros, whatever C held */
            const rt5__kernels *kt = t ? simd : ref;
            if (!kt)
                continue;
            fill(c3, (size_t)m * n, 5.0f);
            kt->gemm_set(m, n, k, a, k, b, n, c3, n);
            double e3 = 0;
            for (int i = 0; i < m * n; i++)
                e3 = fmax(e3, fabs(c3[i] - (want[i] - (double)c2[i])) / sqrt((double)k + 1));
            CHECK(e3 < 1e-5);
        }
        free(c3);
        if (simd) {
            simd->gemm_acc(m, n, k, a, k, b, n, c2, n);
            double e2 = 0;
            for (int i = 0; i < m * n; i++)
                e2 = fmax(e2, fabs((double)c2[i] - c1[i]) / sqrt((double)k + 1));
            if (!(e2 < 1e-5))
                fprintf(stderr, "  gemm %dx%dx%d: simd vs portable %.3g\n", m, n, k, e2);
            CHECK(e2 < 1e-5);
        }
        free(a), free(b), free(c1), free(c2), free(want);
    }
    if (!simd)
        SKIP("no SIMD kernel table in use (CPU below AVX2, or RT5_KERNELS=portable): portable checked alone");
}

TEST(test_kernels_gemm_acc_respects_strides)
{
    const rt5__kernels *tables[2] = {rt5__kernels_portable(), simd_or_skip()};
    for (int t = 0; t < 2 && tables[t]; t++) {
        float a[2 * 5], b[3 * 7], c[2 * 9];
        fill(a, 10, 1), fill(b, 21, 1);
        for (int i = 0; i < 18; i++)
            c[i] = 100.0f + i; /* sentinels outside the 2x3 result */
        tables[t]->gemm_acc(2, 3, 3, a, 5, b, 7, c, 9);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 9; j++) {
                double want = 100.0 + i * 9 + j;
                if (j < 3)
                    for (int p = 0; p < 3; p++)
                        want += (double)a[i * 5 + p] * b[p * 7 + j];
                CHECK_NEAR(c[i * 9 + j], want, 1e-6);
            }
    }
}

TEST(test_kernels_softmax_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    static const int ns[] = {1, 2, 15, 16, 17, 100, 513, 626};
    for (size_t s = 0; s < RT5_ARRAY_LEN(ns); s++) {
        int n = ns[s], rows = 3;
        size_t ld = (size_t)n + 3;
        float *x1 = malloc(sizeof(float) * rows * ld), *x2 = malloc(sizeof(float) * rows * ld);
        fill(x1, rows * ld, 30.0f); /* wide logits: large negative exponents */
        memcpy(x2, x1, sizeof(float) * rows * ld);
        double *want = malloc(sizeof(double) * n);
        for (int r = 0; r < rows; r++) {
            double mx = -1e300, sum = 0;
            for (int j = 0; j < n; j++)
                mx = fmax(mx, x1[r * ld + j]);
            for (int j = 0; j < n; j++)
                sum += exp(x1[r * ld + j] - mx);
            ref->softmax_rows(x1 + r * ld, 1, n, ld);
            double worst = 0; /* x - max is rounded to float first: ~1 ulp of 30 */
            for (int j = 0; j < n; j++) {
                double p = exp(x2[r * ld + j] - mx) / sum;
                worst = fmax(worst, fabs(x1[r * ld + j] - p) / fmax(p, 1e-30));
            }
            CHECK(worst < 1e-5);
        }
        if (simd) {
            simd->softmax_rows(x2, rows, n, ld);
            for (int r = 0; r < rows; r++) {
                double worst = 0;
                for (int j = 0; j < n; j++)
                    worst = fmax(worst, fabs((double)x2[r * ld + j] - x1[r * ld + j]) /
                                            fmax(1e-30, fabs((double)x1[r * ld + j])));
                if (!(worst < 2e-6))
                    fprintf(stderr, "  softmax n=%d: simd vs portable %.3g\n", n, worst);
                CHECK(worst < 2e-6);
                CHECK(x2[r * ld + n] == x1[r * ld + n]); /* the gap is untouched */
            }
        }
        free(x1), free(x2), free(want);
    }
}

TEST(test_kernels_rms_norm_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    static const int ns[] = {1, 7, 16, 32, 48, 1024, 1030};
    for (size_t s = 0; s < RT5_ARRAY_LEN(ns); s++) {
        int n = ns[s];
        float *x = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n);
        float *y1 = malloc(sizeof(float) * n), *y2 = malloc(sizeof(float) * n);
        fill(x, n, 3.0f), fill(w, n, 1.0f);
        ref->rms_norm(y1, x, w, n, 1e-6f);
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (double)x[i] * x[i];
        for (int i = 0; i < n; i++)
            CHECK_NEAR(y1[i], w[i] * x[i] / sqrt(ss / n + 1e-6), 1e-6);
        if (simd) {
            simd->rms_norm(y2, x, w, n, 1e-6f);
            CHECK(max_rel_diff(y2, y1, n) < 1e-6);
            memcpy(y2, x, sizeof(float) * n); /* in place */
            simd->rms_norm(y2, y2, w, n, 1e-6f);
            CHECK(max_rel_diff(y2, y1, n) < 1e-6);
        }
        free(x), free(w), free(y1), free(y2);
    }
}

TEST(test_kernels_gelu_mul_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    int n = 1000;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    float *y1 = malloc(sizeof(float) * n), *y2 = malloc(sizeof(float) * n);
    fill(a, n, 8.0f), fill(b, n, 2.0f);
    ref->gelu_mul(y1, a, b, n);
    for (int i = 0; i < n; i++) {
        double v = a[i];
        double want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))) * b[i];
        CHECK(fabs(y1[i] - want) <= 1e-6 * fmax(1.0, fabs(want)));
    }
    if (simd) {
        simd->gelu_mul(y2, a, b, n);
        double worst = 0;
        for (int i = 0; i < n; i++)
            worst = fmax(worst, fabs((double)y2[i] - y1[i]) / fmax(1.0, fabs((double)y1[i])));
        if (!(worst < 2e-6))
            fprintf(stderr, "  gelu_mul simd vs portable %.3g\n", worst);
        CHECK(worst < 2e-6);
    }
    free(a), free(b), free(y1), free(y2);
}

TEST(test_kernels_dot_f64_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    static const int ns[] = {0, 1, 15, 16, 17, 31, 32, 33, 100, 1024, 1030};
    float a[1030], b[1030];
    fill(a, 1030, 2.0f), fill(b, 1030, 2.0f);
    for (size_t s = 0; s < RT5_ARRAY_LEN(ns); s++) {
        int n = ns[s];
        double want = 0, mag = 0; /* float products are exact in double; sums in order */
        for (int i = 0; i < n; i++)
            want += (double)a[i] * b[i], mag += fabs((double)a[i] * b[i]);
        CHECK(ref->dot_f64(a, b, n) == want); /* same order, same sums */
        if (simd)
            CHECK(fabs(simd->dot_f64(a, b, n) - want) <= 1e-15 * (mag + 1));
    }
}

TEST(test_kernels_transpose)
{
    float src[3 * 4], dst[4 * 5];
    for (int i = 0; i < 12; i++)
        src[i] = (float)i;
    rt5__transpose(dst, 5, src, 4, 3, 4);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            CHECK(dst[j * 5 + i] == src[i * 4 + j]);
}

TEST(test_kernels_transpose_twins)
{
    /* exact: a transpose only moves values; sentinels catch stray stores */
    static const int shapes[][2] = {{1, 1}, {3, 4}, {16, 16}, {17, 15}, {130, 128}, {40, 33}, {5, 100}};
    const rt5__kernels *tables[2] = {rt5__kernels_portable(), simd_or_skip()};
    for (int t = 0; t < 2 && tables[t]; t++)
        for (size_t s = 0; s < RT5_ARRAY_LEN(shapes); s++) {
            int r = shapes[s][0], c = shapes[s][1];
            size_t ld_src = (size_t)c + 5, ld_dst = (size_t)r + 3;
            float *src = malloc(sizeof(float) * r * ld_src), *dst = malloc(sizeof(float) * c * ld_dst);
            fill(src, (size_t)r * ld_src, 1.0f);
            for (size_t i = 0; i < (size_t)c * ld_dst; i++)
                dst[i] = 7.0f;
            tables[t]->transpose(dst, ld_dst, src, ld_src, r, c);
            int bad = 0;
            for (int j = 0; j < c; j++)
                for (size_t i = 0; i < ld_dst; i++)
                    bad += dst[j * ld_dst + i] != (i < (size_t)r ? src[i * ld_src + j] : 7.0f);
            if (bad)
                fprintf(stderr, "  transpose %s %dx%d: %d wrong\n", tables[t]->name, r, c, bad);
            CHECK(bad == 0);
            free(src), free(dst);
        }
}

/* A row like an activation row: mostly small, a few large, some negative. */
static void fill_activations(float *x, int n, bool relu)
{
    for (int j = 0; j < n; j++) {
        float v = frand() * (j % 37 == 0 ? 20.0f : 1.0f);
        x[j] = relu && v < 0 ? 0.0f : v;
    }
}

static int max_code_diff(const uint8_t *a, const uint8_t *b, int n)
{
    int worst = 0;
    for (int j = 0; j < n; j++)
        worst = abs((int)a[j] - b[j]) > worst ? abs((int)a[j] - b[j]) : worst;
    return worst;
}

TEST(test_kernels_quantize_row_u8_twins)
{
    /* Same range, scale and zero point; codes within one step (the twins
     * may differ in whether x * inv + z is fused). */
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    static const int ns[] = {1, 15, 16, 17, 100, 1024, 4096, 16390};
    float *x = malloc(sizeof(float) * 16390), *inv = malloc(sizeof(float) * 16390);
    uint8_t *q1 = malloc(16390), *q2 = malloc(16390);
    for (int j = 0; j < 16390; j++)
        inv[j] = j % 11 == 0 ? 0.0f : 0.25f + (float)(j % 5);
    for (size_t s = 0; simd && s < RT5_ARRAY_LEN(ns); s++)
        for (int variant = 0; variant < 3; variant++) {
            int n = ns[s];
            fill_activations(x, n, variant == 2);
            const float *is = variant == 1 ? inv : NULL;
            float s1, s2;
            int32_t z1, z2;
            ref->quantize_row_u8(q1, x, is, n, &s1, &z1);
            simd->quantize_row_u8(q2, x, is, n, &s2, &z2);
            CHECK(s1 == s2);
            CHECK_EQ_INT(z1, z2);
            CHECK(max_code_diff(q1, q2, n) <= 1);
        }
    free(x), free(inv), free(q1), free(q2);
    if (!simd)
        SKIP("no SIMD kernel table in use (CPU below AVX2, or RT5_KERNELS=portable)");
}

TEST(test_kernels_dequant_requant_twins)
{
    const rt5__kernels *simd = simd_or_skip(), *ref = rt5__kernels_portable();
    enum { N = 4099 };
    int32_t *acc = malloc(sizeof(int32_t) * N), *colsum = malloc(sizeof(int32_t) * N);
    float *ws = malloc(sizeof(float) * N), *inv = malloc(sizeof(float) * N);
    /* y2 64-byte aligned so that the streaming mode really streams */
    float *y1 = malloc(sizeof(float) * N), *y0 = malloc(sizeof(float) * N);
    float *y2 = aligned_alloc(64, sizeof(float) * (N + 15) / 16 * 16);
    uint8_t *q1 = malloc(N), *q2 = malloc(N);
    for (int j = 0; j < N; j++) {
        acc[j] = (int32_t)(frand() * 2e6f);
        colsum[j] = (int32_t)(frand() * 3000.0f);
        ws[j] = 1e-3f * (1.5f + frand());
        inv[j] = j % 13 == 0 ? 0.0f : 0.5f + (float)(j % 3);
    }
    fill(y0, N, 5.0f);
    static const int ns[] = {1, 16, 17, 1024, N};
    for (size_t s = 0; simd && s < RT5_ARRAY_LEN(ns); s++) {
        int n = ns[s];
        for (int mode = RT5__DEQUANT_SET; mode <= RT5__DEQUANT_SET_STREAM; mode++) {
            memcpy(y1, y0, sizeof(float) * N), memcpy(y2, y0, sizeof(float) * N);
            ref->dequant_row(y1, acc, n, 0.03f, 7, ws, colsum, (rt5__dequant_mode)mode);
            simd->dequant_row(y2, acc, n, 0.03f, 7, ws, colsum, (rt5__dequant_mode)mode);
            /* One rounding apart at most (the accumulate form may be fused
             * in one twin and not the other): budget 2 ulp of the larger
             * term, since y0 + v may cancel. Nothing past n may change. */
            double worst = 0;
            for (int j = 0; j < N; j++) {
                double v = 0.03 * ws[j] * ((double)acc[j] - 7.0 * colsum[j]);
                double mag = fmax(fabs((double)y0[j]), fabs(v)) + 1e-30;
                worst = fmax(worst, fabs((double)y2[j] - y1[j]) / mag);
            }
            if (!(worst < 2.5e-7))
                fprintf(stderr, "  dequant n=%d mode %d: simd vs portable %.3g\n", n, mode, worst);
            CHECK(worst < 2.5e-7);
        }
        for (int smooth = 0; smooth < 2; smooth++) { /* fused = dequant ReLU, then quantize */
            float s1, s2;
            int32_t z1, z2;
            ref->requant_row_relu_u8(q1, y1, acc, n, 0.03f, 7, ws, colsum, smooth ? inv : NULL, &s1, &z1);
            simd->requant_row_relu_u8(q2, y2, acc, n, 0.03f, 7, ws, colsum, smooth ? inv : NULL, &s2, &z2);
            CHECK(max_rel_diff(y2, y1, n) < 1e-6);
            CHECK(fabs((double)s2 - s1) <= 1e-6 * s1);
            CHECK(abs(z1 - z2) <= 1);
            CHECK(max_code_diff(q1, q2, n) <= 1);
            uint8_t *q3 = malloc((size_t)n);
            float s3;
            int32_t z3;
            ref->quantize_row_u8(q3, y1, smooth ? inv : NULL, n, &s3, &z3);
            CHECK(s3 == s1 && z3 == z1 && max_code_diff(q3, q1, n) == 0);
            free(q3);
        }
    }
    free(acc), free(colsum), free(ws), free(inv), free(y0), free(y1), free(y2), free(q1), free(q2);
    if (!simd)
        SKIP("no SIMD kernel table in use (CPU below AVX2, or RT5_KERNELS=portable)");
}

TEST(test_kernels_env_forces_portable)
{
    /* The chosen table is one of the two known ones. */
    const rt5__kernels *k = rt5__kernels_get();
    CHECK(k == rt5__kernels_portable() || k == rt5__kernels_avx512() || k == rt5__kernels_avx2());
    const char *force = getenv("RT5_KERNELS");
    if (force && strcmp(force, "portable") == 0)
        CHECK(k == rt5__kernels_portable());
}
