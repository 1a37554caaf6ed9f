/*
 * test_forward.c -- the forward pass against Hugging Face.
 *
 * tests/fixtures/golden/ holds tiny random RankT5 rerankers (ReLU and gated-
 * GELU, several bucket settings, f32 and f16 files, .bin and .safetensors)
 * and the scores transformers.T5EncoderModel + the card's head gave for
 * real-text pairs (float64 and float32), written by tests/gen/gen_golden.py.
 * Checked here: every pair scored alone is within 1e-5 (relative, harness
 * convention |a-b| <= tol*max(1,|b|)) of the float64 score; rankings per
 * query equal; one packed batch equals one-at-a-time; thread counts agree;
 * session errors (too long, empty, bad id) are reported.
 */
#include "golden.h"
#include "harness.h"

#include <jansson.h>

#include "rankt5.h"

#define TOL_F64 1e-5

static rt5_session *make_session(const rt5_model *model, int32_t threads, int32_t max_tokens)
{
    rt5_session_params sp = rt5_session_default_params();
    sp.max_length = 1024;
    sp.max_batch_tokens = max_tokens;
    sp.n_threads = threads;
    rt5_session *s = NULL;
    rt5_status st = rt5_session_create(model, &sp, &s);
    if (st != RT5_OK) {
        fprintf(stderr, "  session: %s: %s\n", rt5_status_str(st), rt5_session_last_error(s));
        rt5_session_free(s);
        return NULL;
    }
    return s;
}

/* Scores every pair alone into out. */
static int score_alone(rt5_session *s, const golden_model *gm, float *out)
{
    for (size_t k = 0; k < gm->n_pairs; k++) {
        rt5_seq seq = {gm->pairs[k].ids, gm->pairs[k].n_ids};
        if (rt5_session_score(s, &seq, 1, &out[k]) != RT5_OK) {
            fprintf(stderr, "  %s %s: %s\n", gm->name, gm->pairs[k].label, rt5_session_last_error(s));
            return 0;
        }
    }
    return 1;
}

static void check_against_hf(const golden_model *gm, const char *ext, const float *got)
{
    double worst = 0, worst_rel = 0, worst_torch32 = 0;
    for (size_t k = 0; k < gm->n_pairs; k++) {
        const golden_pair *g = &gm->pairs[k];
        CHECK_NEAR(got[k], g->f64, TOL_F64);
        double e = fabs(got[k] - g->f64) / fmax(1.0, fabs(g->f64));
        worst = fmax(worst, e);
        worst_rel = fmax(worst_rel, fabs(got[k] - g->f64) / fabs(g->f64));
        worst_torch32 = fmax(worst_torch32, fabs(g->f32 - g->f64) / fmax(1.0, fabs(g->f64)));
    }
    fprintf(stderr, "  %-15s %-12s %zu pairs: max err vs HF f64 %.2e (pure relative %.2e); HF f32 vs f64 %.2e\n",
            gm->name, ext, gm->n_pairs, worst, worst_rel, worst_torch32);
}

/* For each query group "qNdM", the order of documents by our score must be
 * the order by the float64 score. */
static void check_rankings(const golden_model *gm, const float *got)
{
    for (size_t a = 0; a < gm->n_pairs; a++)
        for (size_t b = 0; b < gm->n_pairs; b++) {
            const golden_pair *pa = &gm->pairs[a], *pb = &gm->pairs[b];
            if (pa->label[0] != 'q' || pb->label[0] != 'q' || pa->label[1] != pb->label[1] || a == b)
                continue;
            if (pa->f64 > pb->f64)
                CHECK(got[a] > got[b]);
        }
}

TEST(test_forward_matches_hf_float64)
{
    load_golden();
    REQUIRE(n_models >= 4);
    static const char *const exts[] = {"safetensors", "bin"};
    for (size_t i = 0; i < n_models; i++)
        for (size_t e = 0; e < 2; e++) {
            rt5_model *model = golden_load(&models[i], exts[e], RT5_DTYPE_F32);
            REQUIRE(model);
            rt5_session *s = make_session(model, 0, 4096);
            REQUIRE(s);
            float *got = calloc(models[i].n_pairs, sizeof(float));
            CHECK(score_alone(s, &models[i], got));
            check_against_hf(&models[i], exts[e], got);
            check_rankings(&models[i], got);
            free(got);
            rt5_session_free(s);
            rt5_model_free(model);
        }
}

TEST(test_forward_batch_equals_single)
{
    load_golden();
    REQUIRE(n_models > 0);
    for (size_t i = 0; i < n_models; i++) {
        const golden_model *gm = &models[i];
        rt5_model *model = golden_load(gm, "safetensors", RT5_DTYPE_F32);
        REQUIRE(model);
        rt5_session *s = make_session(model, 0, 4096);
        REQUIRE(s);
        float *alone = calloc(gm->n_pairs, sizeof(float)), *batch = calloc(gm->n_pairs, sizeof(float));
        rt5_seq *seqs = calloc(gm->n_pairs, sizeof(rt5_seq));
        for (size_t k = 0; k < gm->n_pairs; k++)
            seqs[k] = (rt5_seq){gm->pairs[k].ids, gm->pairs[k].n_ids};
        CHECK(score_alone(s, gm, alone));
        CHECK_EQ_INT(rt5_session_score(s, seqs, gm->n_pairs, batch), RT5_OK);
        for (size_t k = 0; k < gm->n_pairs; k++)
            CHECK_NEAR(batch[k], alone[k], 1e-6);
        /* and the batch in reverse order, so each pair sits elsewhere */
        for (size_t k = 0; k < gm->n_pairs / 2; k++) {
            rt5_seq t = seqs[k];
            seqs[k] = seqs[gm->n_pairs - 1 - k], seqs[gm->n_pairs - 1 - k] = t;
        }
        CHECK_EQ_INT(rt5_session_score(s, seqs, gm->n_pairs, batch), RT5_OK);
        for (size_t k = 0; k < gm->n_pairs; k++)
            CHECK_NEAR(batch[gm->n_pairs - 1 - k], alone[k], 1e-6);
        free(alone), free(batch), free(seqs);
        rt5_session_free(s);
        rt5_model_free(model);
    }
}

TEST(test_forward_threads_agree)
{
    load_golden();
    REQUIRE(n_models > 0);
    const golden_model *gm = &models[0];
    rt5_model *model = golden_load(gm, "bin", RT5_DTYPE_F32);
    REQUIRE(model);
    float *one = calloc(gm->n_pairs, sizeof(float)), *two = calloc(gm->n_pairs, sizeof(float));
    rt5_session *s1 = make_session(model, 1, 2048), *s2 = make_session(model, 2, 2048);
    REQUIRE(s1 && s2);
    CHECK(score_alone(s1, gm, one));
    CHECK(score_alone(s2, gm, two));
    for (size_t k = 0; k < gm->n_pairs; k++)
        CHECK_NEAR(one[k], two[k], 1e-6);
    free(one), free(two);
    rt5_session_free(s1);
    rt5_session_free(s2);
    rt5_model_free(model);
}

TEST(test_forward_session_errors)
{
    load_golden();
    REQUIRE(n_models > 0);
    rt5_model *model = golden_load(&models[0], "safetensors", RT5_DTYPE_F32);
    REQUIRE(model);
    rt5_session_params sp = rt5_session_default_params();
    sp.max_length = 16;
    sp.max_batch_tokens = 40;
    rt5_session *s = NULL;
    REQUIRE(rt5_session_create(model, &sp, &s) == RT5_OK);
    int32_t ids[64];
    for (int i = 0; i < 64; i++)
        ids[i] = 5 + i;
    float score[4] = {0};
    rt5_seq too_long = {ids, 17};
    CHECK_EQ_INT(rt5_session_score(s, &too_long, 1, score), RT5_ERR_TOO_LONG);
    CHECK(strstr(rt5_session_last_error(s), "max_length") != NULL);
    rt5_seq three[3] = {{ids, 16}, {ids, 16}, {ids, 16}}; /* 48 > 40 tokens */
    CHECK_EQ_INT(rt5_session_score(s, three, 3, score), RT5_ERR_TOO_LONG);
    rt5_seq empty = {ids, 0};
    CHECK_EQ_INT(rt5_session_score(s, &empty, 1, score), RT5_ERR_INVALID_ARGUMENT);
    int32_t bad[2] = {3, models[0].vocab};
    rt5_seq out_of_vocab = {bad, 2};
    CHECK_EQ_INT(rt5_session_score(s, &out_of_vocab, 1, score), RT5_ERR_INVALID_ARGUMENT);
    CHECK(strstr(rt5_session_last_error(s), "vocabulary") != NULL);
    bad[1] = -1;
    CHECK_EQ_INT(rt5_session_score(s, &out_of_vocab, 1, score), RT5_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(rt5_session_score(s, three, 0, score), RT5_OK); /* nothing to do */
    /* the session still works after errors: exactly max_length, exactly the budget */
    rt5_seq fits[2] = {{ids, 16}, {ids, 16}};
    CHECK_EQ_INT(rt5_session_score(s, fits, 2, score), RT5_OK);
    CHECK_NEAR(score[0], score[1], 1e-6);
    CHECK(isfinite(score[0]));
    CHECK_EQ_INT(rt5_session_score(NULL, fits, 1, score), RT5_ERR_INVALID_ARGUMENT);
    rt5_session_free(s);
    rt5_session_free(NULL);
    /* bad parameters */
    sp.n_threads = -1;
    CHECK_EQ_INT(rt5_session_create(model, &sp, &s), RT5_ERR_INVALID_ARGUMENT);
    rt5_session_free(s);
    sp = rt5_session_default_params();
    sp.max_length = 0;
    CHECK_EQ_INT(rt5_session_create(model, &sp, &s), RT5_ERR_INVALID_ARGUMENT);
    rt5_session_free(s);
    CHECK_EQ_INT(rt5_session_create(NULL, NULL, &s), RT5_ERR_INVALID_ARGUMENT);
    rt5_session_free(s);
    rt5_model_free(model);
}

TEST(test_forward_session_size_does_not_matter)
{
    /* Scores do not depend on the session's budget (row chunking differs). */
    load_golden();
    REQUIRE(n_models > 0);
    const golden_model *gm = &models[2];
    rt5_model *model = golden_load(gm, "safetensors", RT5_DTYPE_F32);
    REQUIRE(model);
    rt5_session *small = make_session(model, 0, 700), *big = make_session(model, 0, 8192);
    REQUIRE(small && big);
    float *a = calloc(gm->n_pairs, sizeof(float)), *b = calloc(gm->n_pairs, sizeof(float));
    CHECK(score_alone(small, gm, a));
    CHECK(score_alone(big, gm, b));
    for (size_t k = 0; k < gm->n_pairs; k++)
        CHECK_NEAR(a[k], b[k], 1e-6);
    free(a), free(b);
    rt5_session_free(small);
    rt5_session_free(big);
    rt5_model_free(model);
}
