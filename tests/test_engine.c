/*
 * test_engine.c -- the engine's scheduler without a model: batches respect
 * the token budget and come longest first, scores return in input order
 * for any budget and worker count, progress and cancellation, errors that
 * name the sequence, and no allocation after warm-up. The scoring callback
 * is a pure function of a sequence's ids, so any reordering or mixing of
 * scores between sequences shows up as a wrong value.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "engine/scheduler.h"
#include "harness.h"

#define MAX_WORKERS 4

typedef struct fake_ctx {
    size_t budget;
    atomic_int busy[MAX_WORKERS]; /* a worker's "session" in use            */
    atomic_int overlap;           /* set if a worker was used twice at once */
    atomic_int over_budget;       /* a multi-sequence batch over budget     */
    atomic_int unsorted;          /* lengths not descending within a batch  */
    atomic_size_t calls;
    atomic_size_t fail_at_call;   /* 1-based call that fails; 0 = never     */
    int sleep_us;                 /* simulated work per batch               */
} fake_ctx;

/* The "model": a hash of the ids, so every sequence has its own score. */
static float fake_score(const rt5_seq *s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < s->n_ids; i++)
        h = (h ^ (uint32_t)s->ids[i]) * 16777619u;
    return (float)(h % 100000) / 1000.0f - 50.0f;
}

static rt5_status fake_batch(void *ctx, int worker, const rt5_seq *seqs, size_t n,
                             float *scores, rt5__errmsg *err)
{
    fake_ctx *f = ctx;
    size_t call = atomic_fetch_add(&f->calls, 1) + 1;
    if (atomic_fetch_add(&f->busy[worker], 1) != 0)
        atomic_store(&f->overlap, 1);
    size_t tokens = 0;
    for (size_t i = 0; i < n; i++) {
        tokens += seqs[i].n_ids;
        if (i > 0 && seqs[i].n_ids > seqs[i - 1].n_ids)
            atomic_store(&f->unsorted, 1);
        scores[i] = fake_score(&seqs[i]);
    }
    if (f->sleep_us)
        usleep((useconds_t)f->sleep_us);
    if (n > 1 && tokens > f->budget)
        atomic_store(&f->over_budget, 1);
    atomic_fetch_sub(&f->busy[worker], 1);
    if (call == atomic_load(&f->fail_at_call))
        return rt5__fail(err, RT5_ERR_INTERNAL, "fake failure in call %zu", call);
    return RT5_OK;
}

/* n sequences of pseudo-random lengths in [1, max_len] over one id pool. */
typedef struct seq_set {
    int32_t *pool;
    rt5_seq *seqs;
    size_t n;
} seq_set;

static seq_set make_seqs(size_t n, size_t max_len, uint32_t seed)
{
    seq_set s = {malloc(n * max_len * sizeof(int32_t)), malloc(n * sizeof(rt5_seq)), n};
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        size_t len = 1 + (x >> 8) % max_len;
        int32_t *ids = s.pool + i * max_len;
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            ids[k] = (int32_t)((x >> 8) % 32000);
        }
        ids[len - 1] = 1;
        s.seqs[i] = (rt5_seq){ids, len};
    }
    return s;
}

static void free_seqs(seq_set *s)
{
    free(s->pool);
    free(s->seqs);
}

static rt5_status run_with(int workers, size_t budget, size_t max_len, const seq_set *s,
                           float *scores, fake_ctx *f, rt5__schedule_stats *stats)
{
    memset(f, 0, sizeof *f);
    f->budget = budget;
    rt5__scheduler *sched = NULL;
    rt5__errmsg err = {{0}};
    rt5_status st = rt5__scheduler_create(workers, fake_batch, f, &sched, &err);
    if (st != RT5_OK)
        return st;
    rt5__schedule_params p = {.max_batch_tokens = budget, .max_length = max_len};
    st = rt5__scheduler_run(sched, &p, s->seqs, s->n, scores, &err);
    if (stats)
        rt5__scheduler_stats(sched, stats);
    rt5__scheduler_free(sched);
    return st;
}

TEST(test_engine_scores_in_input_order_for_every_budget_and_worker_count)
{
    seq_set s = make_seqs(300, 64, 7);
    float *scores = malloc(s.n * sizeof(float));
    static const size_t budgets[] = {1, 63, 64, 200, 1000, 100000};
    static const int workers[] = {1, 2, 3};
    for (size_t b = 0; b < RT5_ARRAY_LEN(budgets); b++) {
        for (size_t w = 0; w < RT5_ARRAY_LEN(workers); w++) {
            fake_ctx f;
            rt5__schedule_stats stats;
            CHECK_EQ_INT(run_with(workers[w], budgets[b], 64, &s, scores, &f, &stats), RT5_OK);
            for (size_t i = 0; i < s.n; i++)
                CHECK(scores[i] == fake_score(&s.seqs[i]));
            CHECK(!f.overlap);
            CHECK(!f.over_budget);
            CHECK(!f.unsorted);
            CHECK_EQ_INT(f.calls, stats.n_batches);
            if (budgets[b] == 1)
                CHECK_EQ_INT(stats.n_batches, s.n); /* one sequence per batch */
            if (budgets[b] == 100000) /* one batch, or a share per worker */
                CHECK_EQ_INT(stats.n_batches, workers[w]);
        }
    }
    free(scores);
    free_seqs(&s);
}

TEST(test_engine_packs_batches_to_the_budget)
{
    /* 10 sequences of 10 tokens under a 25-token budget: 5 batches of 2. */
    int32_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = i + 5;
    rt5_seq seqs[10];
    for (int i = 0; i < 10; i++)
        seqs[i] = (rt5_seq){ids, 10};
    seq_set s = {NULL, seqs, 10};
    float scores[10];
    fake_ctx f;
    rt5__schedule_stats stats;
    CHECK_EQ_INT(run_with(1, 25, 10, &s, scores, &f, &stats), RT5_OK);
    CHECK_EQ_INT(stats.n_batches, 5);
    CHECK_EQ_INT(stats.max_batch_seqs, 2);
}

TEST(test_engine_small_run_is_shared_among_workers)
{
    /* 12 sequences of 10 tokens: one worker takes one 4096-token batch;
     * two workers get two batches of 60 tokens each; three get three. */
    int32_t ids[10] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 1};
    rt5_seq seqs[12];
    for (int i = 0; i < 12; i++)
        seqs[i] = (rt5_seq){ids + (i % 3), (size_t)(10 - i % 3)};
    seq_set s = {NULL, seqs, 12};
    float scores[12];
    for (int workers = 1; workers <= 3; workers++) {
        fake_ctx f;
        rt5__schedule_stats stats;
        CHECK_EQ_INT(run_with(workers, 4096, 10, &s, scores, &f, &stats), RT5_OK);
        CHECK_EQ_INT(stats.n_batches, workers);
        CHECK(stats.max_batch_seqs <= (size_t)(12 / workers + 1));
        for (int i = 0; i < 12; i++)
            CHECK(scores[i] == fake_score(&seqs[i]));
    }
}

TEST(test_engine_long_sequence_over_budget_runs_alone)
{
    int32_t ids[50] = {0};
    ids[49] = 1;
    rt5_seq seqs[3] = {{ids + 45, 5}, {ids, 50}, {ids + 46, 4}};
    seq_set s = {NULL, seqs, 3};
    float scores[3];
    fake_ctx f;
    rt5__schedule_stats stats;
    CHECK_EQ_INT(run_with(2, 20, 50, &s, scores, &f, &stats), RT5_OK);
    CHECK_EQ_INT(stats.n_batches, 2); /* [50] then [5, 4] */
    for (int i = 0; i < 3; i++)
        CHECK(scores[i] == fake_score(&seqs[i]));
}

TEST(test_engine_single_token_and_empty_run)
{
    int32_t eos = 1;
    rt5_seq one = {&eos, 1};
    seq_set s = {NULL, &one, 1};
    float score = 0;
    fake_ctx f;
    CHECK_EQ_INT(run_with(2, 4096, 512, &s, &score, &f, NULL), RT5_OK);
    CHECK(score == fake_score(&one));
    seq_set none = {NULL, NULL, 0};
    CHECK_EQ_INT(run_with(2, 4096, 512, &none, NULL, &f, NULL), RT5_OK);
    CHECK_EQ_INT(f.calls, 0);
}

TEST(test_engine_rejects_empty_too_long_and_out_of_vocabulary_sequences_by_index)
{
    int32_t ids[8] = {3, 4, 5, 6, 7, 8, 9, 1};
    rt5_seq seqs[3] = {{ids, 8}, {ids, 0}, {ids, 8}};
    fake_ctx f = {0};
    rt5__scheduler *sched = NULL;
    rt5__errmsg err = {{0}};
    REQUIRE(rt5__scheduler_create(1, fake_batch, &f, &sched, &err) == RT5_OK);
    float scores[3];
    rt5__schedule_params p = {.max_batch_tokens = 100, .max_length = 8};
    CHECK_EQ_INT(rt5__scheduler_run(sched, &p, seqs, 3, scores, &err), RT5_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.text, "sequence 1 is empty") != NULL);
    seqs[1].n_ids = 8;
    p.max_length = 7;
    CHECK_EQ_INT(rt5__scheduler_run(sched, &p, seqs, 3, scores, &err), RT5_ERR_TOO_LONG);
    CHECK(strstr(err.text, "sequence 0 has 8 tokens, more than max_length 7") != NULL);
    p.max_length = 8;
    p.vocab_size = 9;
    CHECK_EQ_INT(rt5__scheduler_run(sched, &p, seqs, 3, scores, &err), RT5_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.text, "sequence 0: id 9 at position 6 is outside the model's vocabulary of 9") != NULL);
    ids[6] = -3;
    p.vocab_size = 10;
    CHECK_EQ_INT(rt5__scheduler_run(sched, &p, seqs, 3, scores, &err), RT5_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.text, "id -3 at position 6") != NULL);
    CHECK_EQ_INT(f.calls, 0);
    rt5__scheduler_free(sched);
}

typedef struct progress_log {
    size_t calls, last_done, total;
    int monotone;
    size_t cancel_after; /* cancel on this call; 0 = never */
} progress_log;

static int log_progress(void *user, size_t done, size_t total)
{
    progress_log *log = user;
    log->calls++;
    if (done < log->last_done || done > total)
        log->monotone = 0;
    log->last_done = done;
    log->total = total;
    return log->cancel_after && log->calls == log->cancel_after;
}

TEST(test_engine_reports_progress_and_cancels_between_batches)
{
    seq_set s = make_seqs(200, 32, 11);
    float *scores = malloc(s.n * sizeof(float));
    for (int workers = 1; workers <= 2; workers++) {
        fake_ctx f = {0};
        f.budget = 64;
        f.sleep_us = 2000; /* so the caller wakes between batches */
        rt5__scheduler *sched = NULL;
        rt5__errmsg err = {{0}};
        REQUIRE(rt5__scheduler_create(workers, fake_batch, &f, &sched, &err) == RT5_OK);
        progress_log log = {0, 0, 0, 1, 0};
        rt5__schedule_params p = {64, 32, log_progress, &log, 0};
        CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, s.n, scores, &err), RT5_OK);
        rt5__schedule_stats stats;
        rt5__scheduler_stats(sched, &stats);
        /* One call per batch, or fewer when batches finish together. */
        CHECK(log.calls >= 1 && log.calls <= stats.n_batches);
        if (workers == 1)
            CHECK_EQ_INT(log.calls, stats.n_batches);
        CHECK_EQ_INT(log.last_done, s.n);
        CHECK(log.monotone);

        log = (progress_log){0, 0, 0, 1, 3};
        size_t calls_before = f.calls;
        CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, s.n, scores, &err), RT5_ERR_CANCELLED);
        CHECK(strstr(err.text, "cancelled after") != NULL);
        /* Workers stop taking batches: far fewer than all of them ran. */
        CHECK(f.calls - calls_before < stats.n_batches / 2);
        if (workers == 1)
            CHECK_EQ_INT(f.calls - calls_before, 3);

        /* The scheduler is reusable after a cancel. */
        p.progress = NULL;
        CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, s.n, scores, &err), RT5_OK);
        for (size_t i = 0; i < s.n; i++)
            CHECK(scores[i] == fake_score(&s.seqs[i]));
        rt5__scheduler_free(sched);
    }
    free(scores);
    free_seqs(&s);
}

TEST(test_engine_batch_failure_is_reported_with_its_message)
{
    seq_set s = make_seqs(100, 16, 5);
    float *scores = malloc(s.n * sizeof(float));
    for (int workers = 1; workers <= 2; workers++) {
        fake_ctx f = {0};
        f.budget = 32;
        f.fail_at_call = 4;
        rt5__scheduler *sched = NULL;
        rt5__errmsg err = {{0}};
        REQUIRE(rt5__scheduler_create(workers, fake_batch, &f, &sched, &err) == RT5_OK);
        rt5__schedule_params p = {32, 16, NULL, NULL, 0};
        CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, s.n, scores, &err), RT5_ERR_INTERNAL);
        CHECK(strstr(err.text, "fake failure in call 4") != NULL);
        CHECK(strstr(err.text, "batch of") != NULL);
        rt5__scheduler_free(sched);
    }
    free(scores);
    free_seqs(&s);
}

TEST(test_engine_allocates_nothing_after_warm_up)
{
    seq_set s = make_seqs(500, 128, 3);
    float *scores = malloc(s.n * sizeof(float));
    fake_ctx f = {0};
    f.budget = 512;
    rt5__scheduler *sched = NULL;
    rt5__errmsg err = {{0}};
    REQUIRE(rt5__scheduler_create(2, fake_batch, &f, &sched, &err) == RT5_OK);
    rt5__schedule_params p = {512, 128, NULL, NULL, 0};
    CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, s.n, scores, &err), RT5_OK);
    rt5__schedule_stats warm, after;
    rt5__scheduler_stats(sched, &warm);
    CHECK(warm.n_allocations >= 1);
    for (size_t n = s.n; n >= 1; n /= 2)
        CHECK_EQ_INT(rt5__scheduler_run(sched, &p, s.seqs, n, scores, &err), RT5_OK);
    rt5__scheduler_stats(sched, &after);
    CHECK_EQ_INT(after.n_allocations, warm.n_allocations);
    rt5__scheduler_free(sched);
    free(scores);
    free_seqs(&s);
}

TEST(test_engine_create_without_model_returns_a_handle_with_the_reason)
{
    rt5_engine *e = NULL;
    CHECK_EQ_INT(rt5_engine_create(NULL, NULL, &e), RT5_ERR_INVALID_ARGUMENT);
    REQUIRE(e != NULL);
    CHECK(strstr(rt5_engine_last_error(e), "no model") != NULL);
    rt5_engine_free(e);
    rt5_engine_free(NULL);
    rt5_engine_params p = rt5_engine_default_params();
    CHECK_EQ_INT(p.max_batch_tokens, 4096);
    CHECK_EQ_INT(p.max_length, 512);
    CHECK_EQ_INT(p.n_threads, 0);
    CHECK_EQ_INT(p.n_workers, 0);
}
