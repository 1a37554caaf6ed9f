/*
 * test_engine_model.c -- rt5_engine on the tiny golden models
 * (tests/fixtures/golden, scored by transformers in tests/gen/gen_golden.py):
 * every golden pair (empty texts, a single </s>, inputs past 512 tokens)
 * scores as Hugging Face does whatever the batch budget (1 token = one
 * sequence per batch), the worker count and the thread count, and the
 * results of different splits agree to rounding; over-long input, ids
 * outside the vocabulary, progress and cancellation on a real model.
 */
#include <jansson.h>
#include <stdbool.h>

#include "harness.h"
#include "rankt5.h"

typedef struct golden {
    json_t *root;
    rt5_seq *seqs;
    double *want;
    size_t n;
} golden;

/* Loads the pairs of one model from golden.json; false if unavailable. */
static bool load_golden(const char *model_name, golden *g)
{
    memset(g, 0, sizeof *g);
    json_error_t jerr;
    g->root = json_load_file(rt5t_path("tests/fixtures/golden/golden.json"), 0, &jerr);
    json_t *models = json_object_get(g->root, "models");
    for (size_t m = 0; m < json_array_size(models); m++) {
        json_t *model = json_array_get(models, m);
        if (strcmp(json_string_value(json_object_get(model, "name")), model_name) != 0)
            continue;
        json_t *pairs = json_object_get(model, "pairs");
        g->n = json_array_size(pairs);
        g->seqs = calloc(g->n, sizeof *g->seqs);
        g->want = calloc(g->n, sizeof *g->want);
        for (size_t i = 0; i < g->n; i++) {
            json_t *p = json_array_get(pairs, i), *ids = json_object_get(p, "ids");
            int32_t *buf = calloc(json_array_size(ids), sizeof *buf);
            for (size_t k = 0; k < json_array_size(ids); k++)
                buf[k] = (int32_t)json_integer_value(json_array_get(ids, k));
            g->seqs[i] = (rt5_seq){buf, json_array_size(ids)};
            g->want[i] = json_real_value(json_object_get(p, "score_f64"));
        }
        return g->n > 0;
    }
    return false;
}

static void free_golden(golden *g)
{
    for (size_t i = 0; i < g->n; i++)
        free((void *)g->seqs[i].ids);
    free(g->seqs);
    free(g->want);
    json_decref(g->root);
}

static rt5_model *load_model(const char *name)
{
    char dir[4096], bin[4200], cfg_path[4200];
    snprintf(dir, sizeof dir, "%s", rt5t_path("tests/fixtures/golden"));
    snprintf(bin, sizeof bin, "%s/%s.bin", dir, name);
    snprintf(cfg_path, sizeof cfg_path, "%s/%s.config.json", dir, name);
    rt5_model_params mp = rt5_model_default_params();
    mp.config_path = cfg_path;
    rt5_model *model = NULL;
    if (rt5_model_load(bin, &mp, &model) != RT5_OK) {
        fprintf(stderr, "  cannot load %s: %s\n", bin, model ? rt5_model_last_error(model) : "?");
        rt5_model_free(model);
        return NULL;
    }
    return model;
}

static rt5_status score_with(const rt5_model *model, const golden *g, int32_t budget,
                             int32_t workers, int32_t threads, float *scores)
{
    rt5_engine_params p = rt5_engine_default_params();
    p.max_batch_tokens = budget;
    p.n_workers = workers;
    p.n_threads = threads;
    p.max_length = 1024;
    rt5_engine *e = NULL;
    rt5_status st = rt5_engine_create(model, &p, &e);
    if (st == RT5_OK)
        st = rt5_engine_score(e, g->seqs, g->n, scores);
    if (st != RT5_OK)
        fprintf(stderr, "  engine: %s\n", rt5_engine_last_error(e));
    rt5_engine_free(e);
    return st;
}

TEST(test_engine_model_matches_hf_for_every_budget_worker_and_thread_split)
{
    static const char *models[] = {"tiny_relu", "tiny_gated"};
    static const struct {
        int32_t budget, workers, threads;
    } splits[] = {{4096, 1, 1}, {1, 1, 1}, {64, 1, 2}, {64, 2, 2}, {300, 2, 1}, {100000, 1, 2},
                  {1, 2, 2}};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        golden g;
        REQUIRE(load_golden(models[m], &g));
        rt5_model *model = load_model(models[m]);
        REQUIRE(model != NULL);
        float *base = malloc(g.n * sizeof *base), *scores = malloc(g.n * sizeof *scores);
        for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
            float *out = s == 0 ? base : scores;
            CHECK_EQ_INT(score_with(model, &g, splits[s].budget, splits[s].workers,
                                    splits[s].threads, out), RT5_OK);
            double worst_hf = 0, worst_base = 0;
            for (size_t i = 0; i < g.n; i++) {
                double scale = fabs(g.want[i]) > 1 ? fabs(g.want[i]) : 1;
                worst_hf = fmax(worst_hf, fabs(out[i] - g.want[i]) / scale);
                worst_base = fmax(worst_base, fabs(out[i] - base[i]) / scale);
            }
            fprintf(stderr, "  %s budget %d, %d worker(s) x %d thread(s): vs HF %.1e, vs 1x1 %.1e\n",
                    models[m], (int)splits[s].budget, (int)splits[s].workers,
                    (int)splits[s].threads, worst_hf, worst_base);
            CHECK(worst_hf <= 1e-4);
            CHECK(worst_base <= 1e-5);
        }
        free(base);
        free(scores);
        rt5_model_free(model);
        free_golden(&g);
    }
}

typedef struct cancel_state {
    size_t calls, last_done;
    size_t cancel_on;
} cancel_state;

static int on_progress(void *user, size_t done, size_t total)
{
    cancel_state *c = user;
    c->calls++;
    c->last_done = done;
    return c->cancel_on && c->calls == c->cancel_on;
}

TEST(test_engine_model_limits_progress_and_cancel)
{
    golden g;
    REQUIRE(load_golden("tiny_relu", &g));
    rt5_model *model = load_model("tiny_relu");
    REQUIRE(model != NULL);
    cancel_state c = {0, 0, 0};
    rt5_engine_params p = rt5_engine_default_params();
    p.max_batch_tokens = 64; /* about one golden pair per batch */
    p.n_workers = 1;
    p.progress = on_progress;
    p.progress_user_data = &c;
    rt5_engine *e = NULL;
    REQUIRE(rt5_engine_create(model, &p, &e) == RT5_OK);
    rt5_engine_params got;
    CHECK_EQ_INT(rt5_engine_get_params(e, &got), RT5_OK);
    CHECK(got.n_threads >= 1);
    CHECK_EQ_INT(got.n_workers, 1);
    float *scores = malloc(g.n * sizeof *scores);

    /* The golden set holds a 600+ token input: over the default 512 limit. */
    CHECK_EQ_INT(rt5_engine_score(e, g.seqs, g.n, scores), RT5_ERR_TOO_LONG);
    CHECK(strstr(rt5_engine_last_error(e), "more than max_length 512") != NULL);
    rt5_seq *short_seqs = malloc(g.n * sizeof *short_seqs);
    size_t n_short = 0;
    for (size_t i = 0; i < g.n; i++)
        if (g.seqs[i].n_ids <= 512)
            short_seqs[n_short++] = g.seqs[i];
    CHECK(n_short < g.n);
    CHECK_EQ_INT(rt5_engine_score(e, short_seqs, n_short, scores), RT5_OK);
    CHECK(c.calls >= 2);
    CHECK_EQ_INT(c.last_done, n_short);

    c = (cancel_state){0, 0, 2};
    CHECK_EQ_INT(rt5_engine_score(e, short_seqs, n_short, scores), RT5_ERR_CANCELLED);
    CHECK(c.last_done < n_short);

    int32_t bad[3] = {5, 256, 1}; /* tiny_relu's vocabulary is 256 */
    rt5_seq oov = {bad, 3};
    c.cancel_on = 0;
    CHECK_EQ_INT(rt5_engine_score(e, &oov, 1, scores), RT5_ERR_INVALID_ARGUMENT);
    CHECK(strstr(rt5_engine_last_error(e), "id 256 at position 1") != NULL);
    free(scores);
    free(short_seqs);
    rt5_engine_free(e);
    free_golden(&g);
    rt5_model_free(model);
}

TEST(test_engine_model_default_split_is_two_workers_capped_by_threads)
{
    rt5_model *model = load_model("tiny_relu");
    REQUIRE(model != NULL);
    static const int32_t threads[] = {1, 2, 4};
    static const int32_t workers[] = {1, 2, 2};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        rt5_engine_params p = rt5_engine_default_params();
        p.n_threads = threads[i];
        rt5_engine *e = NULL;
        REQUIRE(rt5_engine_create(model, &p, &e) == RT5_OK);
        rt5_engine_params got;
        CHECK_EQ_INT(rt5_engine_get_params(e, &got), RT5_OK);
        CHECK_EQ_INT(got.n_threads, threads[i]);
        CHECK_EQ_INT(got.n_workers, workers[i]);
        rt5_engine_free(e);
    }
    rt5_model_free(model);
}
