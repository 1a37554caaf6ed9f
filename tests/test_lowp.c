/*
 * test_lowp.c -- the bf16 and int8 compute paths against Hugging Face and
 * against exact arithmetic.
 *
 *  - kernels: f32 -> bf16 rounding (nearest even, NaN kept), per-token u8
 *    quantization (every value within half a step, 0 exact), the s32 -> f32
 *    rescale against a double computation of the same formula;
 *  - one linear layer of random weights in each dtype against a double
 *    product, with the error bound the dtype allows;
 *  - whole models: the golden tiny rerankers (tests/fixtures/golden, scores
 *    from transformers in float64) loaded with compute dtype bf16 and int8:
 *    bf16 within 1e-2 of HF (harness convention |a-b| <= tol*max(1,|b|)) and
 *    the same ranking per query (Kendall tau 1 over 4 documents, > 0.99);
 *    int8 within 5e-2 with per-query tau >= 0.95 and top-10 overlap 1;
 *    one packed batch equals pairs scored alone.
 */
#include "golden.h"
#include "harness.h"

#include <jansson.h>
#include <stdint.h>

#include "core/rankstats.h"
#include "kernels/lowp.h"
#include "model/linear.h"
#include "rankt5.h"


/* ------------------------------------------------------------ kernels */

static float bf16_value(uint16_t h)
{
    float f;
    rt5__bf16_to_f32(&f, &h, 1);
    return f;
}

TEST(test_lowp_bf16_rounding)
{
    /* 1 + 2^-8 is halfway between two bf16 values (1 and 1 + 2^-7): ties to
     * even give 1; 1 + 3*2^-8 rounds to the even 1 + 2^-6. */
    float in[6] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -2.5f, 1e-40f, NAN};
    uint16_t out[6];
    rt5__f32_to_bf16(out, in, 6);
    CHECK(bf16_value(out[0]) == 1.0f);
    CHECK(bf16_value(out[1]) == 1.0f);
    CHECK(bf16_value(out[2]) == 1.0f + 0x1p-6f);
    CHECK(bf16_value(out[3]) == -2.5f);
    CHECK(isnan(bf16_value(out[5])));
    /* relative error of any normal value is at most half a unit in the
     * last of 8 significant bits: 2^-8 */
    uint64_t rng = 7;
    for (int i = 0; i < 10000; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        float x = (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5) * 1e3f;
        uint16_t h;
        rt5__f32_to_bf16(&h, &x, 1);
        CHECK(fabsf(bf16_value(h) - x) <= fabsf(x) * 0x1p-8f);
    }
}

TEST(test_lowp_quantize_row)
{
    float x[300];
    uint8_t q[300];
    for (int j = 0; j < 300; j++)
        x[j] = sinf((float)j * 0.37f) * (j % 7 == 0 ? 9.0f : 1.0f) + 0.3f;
    float s;
    int32_t zp;
    rt5__quantize_row_u8(q, x, NULL, 300, &s, &zp);
    CHECK(s > 0 && zp >= 0 && zp <= 255);
    for (int j = 0; j < 300; j++)
        CHECK(fabsf(((float)q[j] - (float)zp) * s - x[j]) <= 0.5f * s * 1.001f);
    /* non-negative rows (ReLU outputs) use zero point 0 and the full range */
    for (int j = 0; j < 300; j++)
        x[j] = fabsf(x[j]);
    rt5__quantize_row_u8(q, x, NULL, 300, &s, &zp);
    CHECK_EQ_INT(zp, 0);
    int top = 0;
    for (int j = 0; j < 300; j++)
        top = q[j] > top ? q[j] : top;
    CHECK_EQ_INT(top, 255);
    /* smoothing divides the activations */
    float inv[300];
    for (int j = 0; j < 300; j++)
        inv[j] = j % 7 == 0 ? 0.125f : 1.0f;
    rt5__quantize_row_u8(q, x, inv, 300, &s, &zp);
    for (int j = 0; j < 300; j++)
        CHECK(fabsf(((float)q[j] - (float)zp) * s - x[j] * inv[j]) <= 0.5f * s * 1.001f);
    /* an all-zero row */
    memset(x, 0, sizeof x);
    rt5__quantize_row_u8(q, x, NULL, 300, &s, &zp);
    CHECK(s == 1.0f && zp == 0 && q[0] == 0 && q[299] == 0);
}

TEST(test_lowp_dequant_row)
{
    int32_t acc[37], colsum[37];
    float ws[37], y[37], y0[37];
    for (int j = 0; j < 37; j++) {
        acc[j] = (j - 18) * 1000 + 7 * j;
        colsum[j] = j * 3 - 50;
        ws[j] = 0.01f * (float)(j + 1);
        y0[j] = (float)j;
    }
    const rt5__dequant_mode modes[3] = {RT5__DEQUANT_SET, RT5__DEQUANT_RELU, RT5__DEQUANT_ACCUMULATE};
    for (int m = 0; m < 3; m++) {
        memcpy(y, y0, sizeof y);
        rt5__dequant_row(y, acc, 37, 0.02f, 11, ws, colsum, modes[m]);
        for (int j = 0; j < 37; j++) {
            double v = 0.02 * ws[j] * ((double)acc[j] - 11.0 * colsum[j]);
            double want = m == 0 ? v : m == 1 ? fmax(v, 0) : v + y0[j];
            CHECK_NEAR(y[j], want, 1e-5);
        }
    }
}

TEST(test_lowp_rank_stats)
{
    float a[5] = {5, 4, 3, 2, 1}, b[5] = {5, 4, 3, 2, 1}, r[5] = {1, 2, 3, 4, 5}, sw[5] = {4, 5, 3, 2, 1};
    size_t scratch[10];
    CHECK_NEAR(rt5__kendall_tau(a, b, 5), 1.0, 1e-12);
    CHECK_NEAR(rt5__kendall_tau(a, r, 5), -1.0, 1e-12);
    CHECK_NEAR(rt5__kendall_tau(a, sw, 5), 0.8, 1e-12); /* 9 concordant, 1 discordant of 10 */
    CHECK_NEAR(rt5__topk_overlap(a, sw, 5, 2, scratch), 1.0, 1e-12);
    CHECK_NEAR(rt5__topk_overlap(a, r, 5, 2, scratch), 0.0, 1e-12);
    CHECK_NEAR(rt5__topk_overlap(a, r, 5, 3, scratch), 1.0 / 3.0, 1e-12);
}

/* ------------------------------------------------------------ one linear */

/* y = x . W^T in dtype for a (m, k) x (n, k) product, against double. */
static void check_linear(rt5_dtype dt, int32_t m, int32_t k, int32_t n, double tol)
{
    rt5__errmsg err = {0};
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    REQUIRE(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success);
    REQUIRE(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success);
    rt5__gemm_plan plan;
    REQUIRE(rt5__gemm_plan_init_dtype(&plan, engine, k, n, RT5__EPI_NONE, dt, &err) == RT5_OK);
    int32_t rows = rt5__round_rows(m);
    float *w = malloc(sizeof(float) * (size_t)n * k), *x = calloc((size_t)rows * k, sizeof(float));
    float *y = calloc((size_t)rows * n, sizeof(float));
    uint64_t rng = 11;
    for (size_t i = 0; i < (size_t)n * k; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5);
    }
    for (size_t i = 0; i < (size_t)m * k; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5) * ((i % k) == 3 ? 20.0f : 1.0f);
    }
    rt5__linear lin;
    const float *parts[1] = {w};
    int32_t part_rows[1] = {n};
    REQUIRE(rt5__linear_pack(&lin, &plan, engine, stream, parts, part_rows, 1, &err) == RT5_OK);
    void *scratch = aligned_alloc(64, (plan.scratch_bytes + 64) / 64 * 64);
    rt5__linear_binding b;
    REQUIRE(rt5__linear_bind(&b, &plan, engine, scratch, &err) == RT5_OK);
    CHECK_EQ_INT(rt5__linear_run(&lin, &b, stream, x, y, m), RT5_OK);
    double worst = 0, norm = 0;
    for (int32_t r = 0; r < m; r++)
        for (int32_t c = 0; c < n; c++) {
            double want = 0;
            for (int32_t j = 0; j < k; j++)
                want += (double)x[(size_t)r * k + j] * w[(size_t)c * k + j];
            worst = fmax(worst, fabs(y[(size_t)r * n + c] - want));
            norm = fmax(norm, fabs(want));
        }
    fprintf(stderr, "  %s %dx%dx%d: max |err| %.3g of max |y| %.3g\n", rt5_dtype_name(dt), m, k, n, worst, norm);
    CHECK(worst <= tol * norm);
    rt5__linear_unbind(&b);
    rt5__linear_destroy(&lin);
    rt5__gemm_plan_destroy(&plan);
    free(scratch), free(w), free(x), free(y);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
}

TEST(test_lowp_linear_bf16)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_linear(RT5_DTYPE_BF16, 13, 256, 96, 1e-2);
    check_linear(RT5_DTYPE_BF16, 1100, 64, 40, 1e-2); /* several chunks */
}

TEST(test_lowp_linear_int8)
{
    check_linear(RT5_DTYPE_INT8, 13, 256, 96, 4e-2);
    check_linear(RT5_DTYPE_INT8, 1100, 64, 40, 4e-2);
}

/* ------------------------------------------------------------ golden models */

static int score_alone(const rt5_model *model, const golden_model *gm, float *out)
{
    rt5_session_params sp = rt5_session_default_params();
    sp.max_length = 1024;
    rt5_session *s = NULL;
    int ok = rt5_session_create(model, &sp, &s) == RT5_OK;
    for (size_t k = 0; ok && k < gm->n_pairs; k++) {
        rt5_seq seq = {gm->pairs[k].ids, gm->pairs[k].n_ids};
        ok = rt5_session_score(s, &seq, 1, &out[k]) == RT5_OK;
    }
    rt5_session_free(s);
    return ok;
}

/* Kendall tau over the document pairs whose reference scores differ by more
 * than margin: the fixtures' random tiny models have documents whose HF
 * scores are 0.002 apart, a tie at bf16 precision (tau is reported over all
 * pairs too). */
static double separated_tau(const float *got, const float *ref, size_t n, double margin)
{
    double c = 0, d = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dr = (double)ref[i] - ref[j], dg = (double)got[i] - got[j];
            if (fabs(dr) <= margin)
                continue;
            if ((dr > 0) == (dg > 0))
                c++;
            else
                d++;
        }
    return c + d > 0 ? (c - d) / (c + d) : 1.0;
}

/* Per query group ("q<N>d<M>" labels): worst Kendall tau (all pairs, and
 * pairs more than margin apart) and top-10 overlap against float64. */
static void query_agreement(const golden_model *gm, const float *got, double margin, double *tau_all,
                            double *tau, double *overlap)
{
    *tau_all = 1, *tau = 1, *overlap = 1;
    float a[64], b[64];
    size_t scratch[128];
    for (char q = '0'; q <= '9'; q++) {
        size_t n = 0;
        for (size_t k = 0; k < gm->n_pairs && n < 64; k++)
            if (gm->pairs[k].label[0] == 'q' && gm->pairs[k].label[1] == q && gm->pairs[k].label[2] == 'd')
                a[n] = got[k], b[n] = (float)gm->pairs[k].f64, n++;
        if (n < 2)
            continue;
        *tau_all = fmin(*tau_all, rt5__kendall_tau(a, b, n));
        *tau = fmin(*tau, separated_tau(a, b, n, margin));
        *overlap = fmin(*overlap, rt5__topk_overlap(a, b, n, 10, scratch));
    }
}

static void check_golden(rt5_dtype dt, double tol, double min_tau, double min_overlap)
{
    load_golden();
    REQUIRE(n_models >= 4);
    for (size_t i = 0; i < n_models; i++) {
        rt5_model *model = golden_load(&models[i], "safetensors", dt);
        REQUIRE(model);
        rt5_model_info info;
        CHECK_EQ_INT(rt5_model_get_info(model, &info), RT5_OK);
        CHECK_EQ_INT(info.compute_dtype, dt);
        float *got = calloc(models[i].n_pairs, sizeof(float));
        CHECK(score_alone(model, &models[i], got));
        double worst = 0, tau_all, tau, overlap;
        for (size_t k = 0; k < models[i].n_pairs; k++) {
            CHECK_NEAR(got[k], models[i].pairs[k].f64, tol);
            worst = fmax(worst, fabs(got[k] - models[i].pairs[k].f64) / fmax(1.0, fabs(models[i].pairs[k].f64)));
        }
        query_agreement(&models[i], got, tol, &tau_all, &tau, &overlap);
        fprintf(stderr, "  %-15s %s: max err vs HF f64 %.2e; worst per-query Kendall tau %.3f (pairs > %.0e "
                "apart: %.3f), top-10 overlap %.2f\n", models[i].name, rt5_dtype_name(dt), worst, tau_all, tol,
                tau, overlap);
        CHECK(tau >= min_tau);
        CHECK(overlap >= min_overlap);
        free(got);
        rt5_model_free(model);
    }
}

TEST(test_lowp_bf16_matches_hf)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_golden(RT5_DTYPE_BF16, 1e-2, 0.99, 1.0);
}

TEST(test_lowp_int8_matches_hf)
{
    check_golden(RT5_DTYPE_INT8, 3e-2, 0.95, 0.95);
}

static void batch_equals_single(rt5_dtype dt)
{
    load_golden();
    REQUIRE(n_models > 0);
    {
        const golden_model *gm = &models[1];
        rt5_model *model = golden_load(gm, "safetensors", dt);
        REQUIRE(model);
        float *alone = calloc(gm->n_pairs, sizeof(float)), *batch = calloc(gm->n_pairs, sizeof(float));
        rt5_seq *seqs = calloc(gm->n_pairs, sizeof(rt5_seq));
        for (size_t k = 0; k < gm->n_pairs; k++)
            seqs[k] = (rt5_seq){gm->pairs[k].ids, gm->pairs[k].n_ids};
        CHECK(score_alone(model, gm, alone));
        rt5_session_params sp = rt5_session_default_params();
        sp.max_batch_tokens = 8192, sp.max_length = 1024;
        rt5_session *s = NULL;
        REQUIRE(rt5_session_create(model, &sp, &s) == RT5_OK);
        CHECK_EQ_INT(rt5_session_score(s, seqs, gm->n_pairs, batch), RT5_OK);
        /* per-token quantization: a token's numbers do not depend on the
         * other rows of the batch; only summation order may differ */
        for (size_t k = 0; k < gm->n_pairs; k++)
            CHECK_NEAR(batch[k], alone[k], 1e-4);
        rt5_session_free(s);
        free(alone), free(batch), free(seqs);
        rt5_model_free(model);
    }
}

TEST(test_lowp_batch_equals_single_bf16)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    batch_equals_single(RT5_DTYPE_BF16);
}

TEST(test_lowp_batch_equals_single_int8)
{
    batch_equals_single(RT5_DTYPE_INT8);
}
