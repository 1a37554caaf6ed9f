/*
 * test_server_api.c -- the server's pure parts: request parsing and
 * validation for the three APIs, response and error shapes, ranking, the
 * longest-first split, the metrics text, and the scheduler queue driven by a
 * fake scorer (the seam exists for these tests only).
 */
#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "server/api.h"
#include "server/metrics.h"
#include "server/pairs.h"
#include "server/queue.h"

static const rt5__api_limits k_limits = {100, false};

static int parse(rt5__api api, const char *body, rt5__rerank_request *req, rt5__api_error *err)
{
    return rt5__api_parse(api, (const uint8_t *)body, strlen(body), &k_limits, req, err);
}

/* Expects status and a message containing needle. */
static int expect_error(rt5__api api, const char *body, int status, const char *needle)
{
    rt5__rerank_request req;
    rt5__api_error err;
    int got = parse(api, body, &req, &err);
    int ok = got == status && strstr(err.message, needle) != NULL && req.json == NULL;
    if (!ok)
        fprintf(stderr, "  body %.60s: got %d \"%s\", want %d containing \"%s\"\n", body, got,
                err.message, status, needle);
    return ok;
}

TEST(test_server_api_parses_cohere)
{
    rt5__rerank_request req;
    rt5__api_error err;
    const char *body = "{\"model\":\"rerank-v3.5\",\"query\":\"q\",\"documents\":[\"a\",\"bb\",\"\"],"
                       "\"top_n\":2,\"max_tokens_per_doc\":64,\"extra\":{\"ignored\":[1,2]}}";
    REQUIRE(parse(RT5__API_COHERE, body, &req, &err) == 0);
    CHECK_EQ_STR(req.model, "rerank-v3.5");
    CHECK_EQ_STR(req.query, "q");
    CHECK_EQ_INT(req.n_docs, 3);
    CHECK_EQ_STR(req.docs[1], "bb");
    CHECK_EQ_INT(req.doc_lens[1], 2);
    CHECK_EQ_INT(req.doc_lens[2], 0);
    CHECK_EQ_INT(req.top_n, 2);
    CHECK_EQ_INT(req.max_tokens_per_doc, 64);
    CHECK(!req.return_documents); /* Cohere's default */
    CHECK(!req.raw_scores);
    CHECK(req.truncate);
    rt5__rerank_request_free(&req);
}

TEST(test_server_api_parses_jina_and_tei_defaults)
{
    rt5__rerank_request req;
    rt5__api_error err;
    REQUIRE(parse(RT5__API_JINA, "{\"query\":{\"text\":\"q\"},\"documents\":[{\"text\":\"d\"},\"e\"],"
                                 "\"top_n\":10}", &req, &err) == 0);
    CHECK(req.model == NULL);
    CHECK_EQ_STR(req.query, "q");
    CHECK_EQ_STR(req.docs[0], "d");
    CHECK(req.return_documents); /* Jina's default */
    CHECK_EQ_INT(req.top_n, 2);  /* clamped to the documents given */
    rt5__rerank_request_free(&req);

    REQUIRE(parse(RT5__API_TEI, "{\"query\":\"q\",\"texts\":[\"x\"],\"truncate\":false,"
                                "\"truncation_direction\":\"Left\",\"raw_scores\":true,"
                                "\"return_text\":true}", &req, &err) == 0);
    CHECK(!req.truncate);
    CHECK(req.truncate_left);
    CHECK(req.raw_scores);
    CHECK(req.return_documents);
    rt5__rerank_request_free(&req);
}

TEST(test_server_api_rejects_bad_requests_naming_the_field)
{
    CHECK(expect_error(RT5__API_COHERE, "", 400, "empty"));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"", 400,
                       "malformed JSON"));
    CHECK(expect_error(RT5__API_COHERE, "[1,2]", 400, "JSON object"));
    CHECK(expect_error(RT5__API_COHERE, "{\"query\":\"q\",\"documents\":[\"a\"]}", 400, "\"model\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"documents\":[\"a\"]}", 400, "\"query\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\"}", 400, "\"documents\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":7,\"documents\":[\"a\"]}", 400,
                       "\"query\" must be a string"));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":\"a\"}", 400,
                       "\"documents\" must be an array"));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\",3]}", 400,
                       "\"documents[1]\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[]}", 400,
                       "must not be empty"));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":0}",
                       400, "\"top_n\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":-3}",
                       400, "\"top_n\""));
    CHECK(expect_error(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":1.5}",
                       400, "\"top_n\""));
    CHECK(expect_error(RT5__API_COHERE,
                       "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":99999999999999999999999}",
                       400, "malformed JSON"));
    CHECK(expect_error(RT5__API_COHERE,
                       "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"return_documents\":\"yes\"}",
                       400, "\"return_documents\""));
    CHECK(expect_error(RT5__API_COHERE,
                       "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"max_tokens_per_doc\":0}",
                       400, "\"max_tokens_per_doc\""));
    CHECK(expect_error(RT5__API_TEI, "{\"query\":\"q\",\"documents\":[\"a\"]}", 400, "\"texts\""));
    CHECK(expect_error(RT5__API_TEI, "{\"query\":\"q\",\"texts\":[{\"text\":\"a\"}]}", 400, "\"texts[0]\""));
    CHECK(expect_error(RT5__API_TEI, "{\"query\":\"q\",\"texts\":[\"a\"],\"truncation_direction\":\"up\"}",
                       400, "\"truncation_direction\""));
    CHECK(expect_error(RT5__API_TEI, "{\"query\":\"q\",\"texts\":[\"a\"],\"truncate\":1}", 400,
                       "\"truncate\""));
    CHECK(expect_error(RT5__API_JINA, "{\"query\":\"q\",\"documents\":[\"a\"],\"model\":[]}", 400,
                       "\"model\""));
    /* invalid UTF-8 inside a string, and an escaped NUL */
    CHECK(expect_error(RT5__API_JINA, "{\"query\":\"\xff\xfe\",\"documents\":[\"a\"]}", 400, "malformed JSON"));
    CHECK(expect_error(RT5__API_JINA, "{\"query\":\"a\\u0000b\",\"documents\":[\"a\"]}", 400,
                       "malformed JSON"));
}

TEST(test_server_api_rejects_deep_nesting_and_too_many_documents)
{
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    REQUIRE(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = 0;
    CHECK(expect_error(RT5__API_TEI, deep, 400, "malformed JSON"));
    free(deep);

    /* 10,000 empty documents against a limit of 100: 413, naming the limit */
    size_t n = 10000;
    char *body = malloc(64 + 3 * n);
    REQUIRE(body);
    char *p = body + sprintf(body, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"\"", i ? "," : "");
    sprintf(p, "]}");
    CHECK(expect_error(RT5__API_COHERE, body, 413, "at most 100"));
    free(body);
}

static json_t *render(const rt5__rerank_request *req, const float *logits, size_t truncated)
{
    rt5__rerank_outcome out = {logits, 42, truncated, truncated * 7, 512, "req-1", "served-model"};
    size_t len = 0;
    char *text = rt5__api_render_result(req, &out, &len);
    if (!text)
        return NULL;
    json_error_t jerr;
    json_t *tree = json_loadb(text, len, 0, &jerr);
    free(text);
    return tree;
}

TEST(test_server_api_renders_cohere_sorted_with_meta)
{
    rt5__rerank_request req;
    rt5__api_error err;
    REQUIRE(parse(RT5__API_COHERE, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\",\"b\",\"c\"],"
                                   "\"top_n\":2,\"return_documents\":true}", &req, &err) == 0);
    const float logits[3] = {-1.0f, 2.0f, 0.5f};
    json_t *tree = render(&req, logits, 1);
    REQUIRE(tree);
    CHECK_EQ_STR(json_string_value(json_object_get(tree, "id")), "req-1");
    json_t *results = json_object_get(tree, "results");
    REQUIRE(json_array_size(results) == 2);
    json_t *first = json_array_get(results, 0), *second = json_array_get(results, 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "index")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(second, "index")), 2);
    CHECK_NEAR(json_real_value(json_object_get(first, "relevance_score")), 1.0 / (1.0 + exp(-2.0)), 1e-12);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(first, "document"), "text")), "b");
    json_t *meta = json_object_get(tree, "meta");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(meta, "api_version"), "version")), "2");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(meta, "billed_units"), "search_units")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(meta, "truncation"), "documents")), 1);
    CHECK(json_array_size(json_object_get(meta, "warnings")) == 1);
    json_decref(tree);
    rt5__rerank_request_free(&req);
}

TEST(test_server_api_renders_jina_and_tei)
{
    rt5__rerank_request req;
    rt5__api_error err;
    REQUIRE(parse(RT5__API_JINA, "{\"query\":\"q\",\"documents\":[\"a\",\"b\"]}", &req, &err) == 0);
    const float logits[2] = {0.25f, 3.0f};
    json_t *tree = render(&req, logits, 0);
    REQUIRE(tree);
    CHECK_EQ_STR(json_string_value(json_object_get(tree, "model")), "served-model");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(tree, "usage"), "total_tokens")), 42);
    json_t *first = json_array_get(json_object_get(tree, "results"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "index")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(first, "document"), "text")), "b");
    json_decref(tree);
    rt5__rerank_request_free(&req);

    REQUIRE(parse(RT5__API_TEI, "{\"query\":\"q\",\"texts\":[\"a\",\"b\",\"c\"],\"raw_scores\":true,"
                                "\"return_text\":true}", &req, &err) == 0);
    const float t_logits[3] = {NAN, -2.0f, 7.5f};
    tree = render(&req, t_logits, 0);
    REQUIRE(json_is_array(tree) && json_array_size(tree) == 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(tree, 0), "index")), 2);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(tree, 0), "score")), 7.5, 1e-12);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(tree, 0), "text")), "c");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(tree, 2), "index")), 0); /* NaN last */
    CHECK(json_is_null(json_object_get(json_array_get(tree, 2), "score")));
    json_decref(tree);
    rt5__rerank_request_free(&req);
}

static json_t *render_error(rt5__api api, int status)
{
    size_t len = 0;
    char *text = rt5__api_render_error(api, status, "bad \"thing\"", "rid", &len);
    json_error_t jerr;
    json_t *tree = text ? json_loadb(text, len, 0, &jerr) : NULL;
    free(text);
    return tree;
}

/* A JSON error next to invalid UTF-8: jansson quotes those bytes in its
 * message, and the error we send back must still be valid JSON (found by
 * fuzz_server_request). */
TEST(test_server_api_error_near_invalid_utf8_renders_as_json)
{
    const char body[] = "{\"query\":\"q\\\xdf\xab\x01 `\": [\"a\"]}";
    rt5__api_limits limits = {1000, false};
    rt5__rerank_request req;
    rt5__api_error err;
    for (int api = 0; api < 3; api++) {
        int st = rt5__api_parse((rt5__api)api, (const uint8_t *)body, sizeof body - 1, &limits, &req, &err);
        CHECK_EQ_INT(st, 400);
        CHECK(strstr(err.message, "malformed JSON") != NULL);
        size_t len = 0;
        char *text = rt5__api_render_error((rt5__api)api, st, err.message, "rid", &len);
        CHECK(text != NULL);
        json_t *t = text ? json_loadb(text, len, 0, NULL) : NULL;
        CHECK(t != NULL);
        json_decref(t);
        free(text);
    }
}

TEST(test_server_api_error_shapes_follow_each_api)
{
    json_t *t = render_error(RT5__API_COHERE, 400);
    REQUIRE(t);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "message")), "bad \"thing\"");
    CHECK_EQ_STR(json_string_value(json_object_get(t, "id")), "rid");
    json_decref(t);
    t = render_error(RT5__API_JINA, 429);
    REQUIRE(t);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "detail")), "bad \"thing\"");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(t, "error"), "code")), 429);
    json_decref(t);
    static const struct { int status; const char *type; } tei[] = {
        {400, "Validation"}, {413, "Validation"}, {422, "Tokenizer"}, {429, "Overloaded"},
        {503, "Unhealthy"}, {500, "Backend"}, {401, "Unauthorized"}};
    for (size_t i = 0; i < sizeof tei / sizeof tei[0]; i++) {
        t = render_error(RT5__API_TEI, tei[i].status);
        REQUIRE(t);
        CHECK_EQ_STR(json_string_value(json_object_get(t, "error_type")), tei[i].type);
        json_decref(t);
    }
}

TEST(test_server_api_rank_is_stable_and_descending)
{
    const float logits[6] = {1, 3, 1, NAN, 3, -INFINITY};
    size_t order[6];
    rt5__api_rank(logits, 6, order);
    const size_t want[6] = {1, 4, 0, 2, 5, 3};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(order[i], want[i]);
    CHECK_NEAR(rt5__api_relevance(0.0f, false), 0.5, 1e-15);
    CHECK_NEAR(rt5__api_relevance(-3.25f, true), -3.25, 1e-15);
}

TEST(test_server_pairs_split_follows_tokenizers_longest_first)
{
    /* Cases worked by hand from the rule of Hugging Face tokenizers'
     * TruncationStrategy::LongestFirst (shorter part keeps up to half). */
    static const size_t cases[][5] = {
        /* n1, n2, budget -> keep1, keep2 */
        {3, 4, 10, 3, 4},    {3, 100, 20, 3, 17}, {100, 3, 20, 17, 3},
        {10, 10, 5, 2, 3},   {30, 20, 11, 6, 5},  {20, 30, 11, 5, 6},
        {600, 600, 510, 255, 255}, {0, 900, 510, 0, 510}, {8, 9, 16, 8, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t a = 0, b = 0;
        rt5__pairs_split(cases[i][0], cases[i][1], cases[i][2], &a, &b);
        CHECK_EQ_INT(a, cases[i][3]);
        CHECK_EQ_INT(b, cases[i][4]);
    }
}

TEST(test_server_metrics_text_is_prometheus)
{
    rt5__metrics m;
    rt5__metrics_init(&m);
    rt5__metrics_request(&m, RT5__EP_COHERE, 200, 0.003);
    rt5__metrics_request(&m, RT5__EP_COHERE, 200, 0.2);
    rt5__metrics_request(&m, RT5__EP_TEI, 429, 0.0001);
    rt5__metrics_request(&m, RT5__EP_OTHER, 418, 0.0001);
    rt5__metrics_batch(&m, 3, 300, 0.04);
    rt5__metrics_rerank(&m, 3, 300, 1, 12, 0.001, 0.002);
    size_t len = 0;
    char *text = rt5__metrics_render(&m, 2, 17, 5, &len);
    REQUIRE(text);
    CHECK(strlen(text) == len);
    CHECK(strstr(text, "rankt5_http_requests_total{endpoint=\"/v2/rerank\",status=\"200\"} 2\n"));
    CHECK(strstr(text, "rankt5_http_requests_total{endpoint=\"/rerank\",status=\"429\"} 1\n"));
    CHECK(strstr(text, "rankt5_http_requests_total{endpoint=\"other\",status=\"other\"} 1\n"));
    CHECK(strstr(text, "rankt5_queue_requests 2\n"));
    CHECK(strstr(text, "rankt5_queue_pairs 17\n"));
    CHECK(strstr(text, "rankt5_truncated_tokens_total 12\n"));
    /* cumulative buckets: 0.003 falls in le=0.005, 0.2 in le=0.25 */
    CHECK(strstr(text, "rankt5_request_duration_seconds_bucket{le=\"0.0025\"} 1\n")); /* the 429 */
    CHECK(strstr(text, "rankt5_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
    CHECK(strstr(text, "rankt5_request_duration_seconds_bucket{le=\"0.25\"} 3\n"));
    CHECK(strstr(text, "rankt5_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    CHECK(strstr(text, "rankt5_request_duration_seconds_count 3\n"));
    CHECK(strstr(text, "rankt5_batch_tokens_bucket{le=\"256\"} 0\n"));
    CHECK(strstr(text, "rankt5_batch_tokens_bucket{le=\"512\"} 1\n"));
    CHECK(strstr(text, "# TYPE rankt5_inference_duration_seconds histogram\n"));
    /* every line is a comment or "name[{labels}] value" */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        CHECK(line[0] == '#' || strchr(line, ' ') != NULL);
    free(text);
    rt5__metrics_destroy(&m);
}

/* ---------------------------------------------------------------- queue */

/* The fake engine: a pair's score is a function of its ids, so a score that
 * lands in the wrong slot is caught. It can be held closed to build a
 * backlog, and records the lengths of every step it saw. */
typedef struct fake_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int gate_closed;
    int calls;
    size_t max_pairs_in_call;
    int order_violations; /* a step not sorted largest-first */
} fake_engine;

static float fake_score_of(const rt5_seq *s)
{
    double v = 0;
    for (size_t i = 0; i < s->n_ids; i++)
        v = v * 0.5 + s->ids[i];
    return (float)v;
}

static rt5_status fake_score(void *ctx, const rt5_seq *seqs, size_t n, float *scores)
{
    fake_engine *f = ctx;
    pthread_mutex_lock(&f->mu);
    while (f->gate_closed)
        pthread_cond_wait(&f->cv, &f->mu);
    f->calls++;
    if (n > f->max_pairs_in_call)
        f->max_pairs_in_call = n;
    for (size_t i = 1; i < n; i++)
        f->order_violations += seqs[i].n_ids > seqs[i - 1].n_ids;
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < n; i++)
        scores[i] = fake_score_of(&seqs[i]);
    return RT5_OK;
}

static void fake_gate(fake_engine *f, int closed)
{
    pthread_mutex_lock(&f->mu);
    f->gate_closed = closed;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

typedef struct test_job {
    rt5__job job;
    rt5_seq seqs[8];
    int32_t ids[8][16];
    float scores[8];
    int done_calls;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
} test_job;

static void on_test_done(rt5__job *job, void *user)
{
    test_job *t = user;
    pthread_mutex_lock(t->mu);
    t->done_calls++;
    pthread_cond_broadcast(t->cv);
    pthread_mutex_unlock(t->mu);
}

static void make_job(test_job *t, int seed, size_t n, pthread_mutex_t *mu, pthread_cond_t *cv)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        size_t len = 2 + (size_t)((seed * 7 + (int)i * 3) % 14);
        for (size_t k = 0; k < len; k++)
            t->ids[i][k] = seed * 100 + (int)(i * 10 + k);
        t->seqs[i] = (rt5_seq){t->ids[i], len};
    }
    t->mu = mu;
    t->cv = cv;
    t->job = (rt5__job){.seqs = t->seqs, .n_seqs = n, .scores = t->scores, .done = on_test_done, .user = t};
}

static void wait_done(test_job *jobs, size_t n, pthread_mutex_t *mu, pthread_cond_t *cv)
{
    pthread_mutex_lock(mu);
    for (size_t i = 0; i < n; i++)
        while (jobs[i].done_calls == 0)
            pthread_cond_wait(cv, mu);
    pthread_mutex_unlock(mu);
}

TEST(test_server_queue_batches_across_jobs_and_returns_every_score)
{
    fake_engine f = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, 0, 0};
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    rt5__queue_params p = rt5__queue_default_params();
    p.max_queue = 64;
    p.step_tokens = 1000;
    p.score = fake_score;
    p.score_ctx = &f;
    rt5__queue *q = NULL;
    REQUIRE(rt5__queue_create(&p, &q) == RT5_OK);
    static test_job jobs[20];
    /* Job 0 is taken alone while the gate is closed; the other 19 pile up
     * behind it and must share engine calls once it opens. */
    for (int j = 0; j < 20; j++) {
        make_job(&jobs[j], j, 1 + (size_t)j % 8, &mu, &cv);
        CHECK_EQ_INT(rt5__queue_submit(q, &jobs[j].job), RT5__SUBMIT_OK);
        if (j == 0)
            usleep(20000);
    }
    size_t depth_jobs = 0, depth_pairs = 0;
    rt5__queue_depth(q, &depth_jobs, &depth_pairs);
    CHECK_EQ_INT(depth_jobs, 20);
    fake_gate(&f, 0);
    wait_done(jobs, 20, &mu, &cv);
    for (int j = 0; j < 20; j++) {
        CHECK_EQ_INT(jobs[j].done_calls, 1);
        CHECK_EQ_INT(jobs[j].job.status, RT5_OK);
        for (size_t i = 0; i < jobs[j].job.n_seqs; i++)
            CHECK(jobs[j].scores[i] == fake_score_of(&jobs[j].seqs[i]));
    }
    CHECK(f.calls < 20);            /* requests were batched together */
    CHECK(f.max_pairs_in_call > 8); /* a step held pairs of several jobs */
    CHECK_EQ_INT(f.order_violations, 0);
    rt5__queue_free(q);
}

TEST(test_server_queue_refuses_when_full_and_when_closed)
{
    fake_engine f = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, 0, 0};
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    rt5__queue_params p = rt5__queue_default_params();
    p.max_queue = 3;
    p.step_tokens = 64;
    p.score = fake_score;
    p.score_ctx = &f;
    rt5__queue *q = NULL;
    REQUIRE(rt5__queue_create(&p, &q) == RT5_OK);
    static test_job jobs[5];
    for (int j = 0; j < 5; j++)
        make_job(&jobs[j], j, 2, &mu, &cv);
    for (int j = 0; j < 3; j++)
        CHECK_EQ_INT(rt5__queue_submit(q, &jobs[j].job), RT5__SUBMIT_OK);
    CHECK_EQ_INT(rt5__queue_submit(q, &jobs[3].job), RT5__SUBMIT_FULL);
    fake_gate(&f, 0);
    wait_done(jobs, 3, &mu, &cv);
    CHECK_EQ_INT(rt5__queue_submit(q, &jobs[3].job), RT5__SUBMIT_OK); /* room again */
    rt5__queue_close(q); /* drains job 3 before returning */
    CHECK_EQ_INT(jobs[3].done_calls, 1);
    CHECK_EQ_INT(rt5__queue_submit(q, &jobs[4].job), RT5__SUBMIT_CLOSED);
    CHECK_EQ_INT(jobs[4].done_calls, 0);
    rt5__queue_free(q);
}

TEST(test_server_queue_times_out_jobs_that_never_started)
{
    fake_engine f = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, 0, 0};
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    rt5__queue_params p = rt5__queue_default_params();
    p.step_tokens = 10; /* the two jobs (9 and 2 tokens) cannot share a step */
    p.queue_timeout_s = 0.2;
    p.score = fake_score;
    p.score_ctx = &f;
    rt5__queue *q = NULL;
    REQUIRE(rt5__queue_create(&p, &q) == RT5_OK);
    static test_job jobs[2];
    make_job(&jobs[0], 1, 1, &mu, &cv);
    make_job(&jobs[1], 2, 1, &mu, &cv);
    CHECK_EQ_INT(rt5__queue_submit(q, &jobs[0].job), RT5__SUBMIT_OK);
    usleep(20000); /* job 0 is in the (held) engine; job 1 waits */
    CHECK_EQ_INT(rt5__queue_submit(q, &jobs[1].job), RT5__SUBMIT_OK);
    usleep(400000);
    fake_gate(&f, 0);
    wait_done(jobs, 2, &mu, &cv);
    CHECK_EQ_INT(jobs[0].job.status, RT5_OK);
    CHECK_EQ_INT(jobs[1].job.status, RT5_ERR_CANCELLED);
    CHECK(jobs[1].job.queue_seconds >= 0.2);
    rt5__queue_free(q);
}

TEST(test_server_queue_rejects_a_pair_longer_than_a_step)
{
    fake_engine f = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};
    rt5__queue_params p = rt5__queue_default_params();
    p.step_tokens = 4;
    p.score = fake_score;
    p.score_ctx = &f;
    rt5__queue *q = NULL;
    REQUIRE(rt5__queue_create(&p, &q) == RT5_OK);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    static test_job job;
    make_job(&job, 3, 1, &mu, &cv); /* length > 4 */
    CHECK_EQ_INT(rt5__queue_submit(q, &job.job), RT5__SUBMIT_INVALID);
    rt5__queue_free(q);
}
