/*
 * scheduler.c -- length sorting, token-budget batching and the worker set
 * of the engine (see scheduler.h for the contract).
 *
 * A run goes: validate lengths -> counting-sort the sequence indices by
 * length, longest first (stable, so equal lengths keep input order and a
 * run is deterministic) -> cut the sorted order greedily into batches of at
 * most max_batch_tokens tokens (less for a small run on several workers, so
 * that each worker gets a share) -> score the batches (longest first, so the
 * slowest work starts early and the tail of the run is short batches that
 * balance the workers) -> scatter sorted scores back to input order.
 *
 * Workers take the next batch index from a counter under one mutex; the
 * calling thread sleeps on a condition variable and wakes once per finished
 * batch to report progress, which is where cancellation is decided: a
 * cancel (or a failed batch) stops workers taking new batches, and the call
 * returns once every batch already taken has finished, so no worker touches
 * the caller's buffers after the call returns.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scheduler.h"

typedef struct worker_arg {
    rt5__scheduler *sched;
    int index;
} worker_arg;

struct rt5__scheduler {
    int n_workers;
    rt5__score_batch_fn score;
    void *ctx;

    /* Grow-only work arrays, all of capacity cap_seqs (batch_start: +1). */
    size_t cap_seqs;
    rt5_seq *sorted;          /* (n) sequences in batch order              */
    float *sorted_scores;     /* (n) scores in batch order                 */
    size_t *order;            /* (n) input index of each sorted position   */
    size_t *batch_start;      /* (n_batches + 1) offsets into sorted       */
    size_t cap_lengths;
    size_t *length_slot;      /* (max_length + 1) counting-sort cursors    */
    size_t n_allocations;
    size_t last_n_batches, last_max_batch_seqs;

    /* Worker set (n_workers > 1 only). Everything below is guarded by lock. */
    pthread_t *threads;
    worker_arg *args;
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* workers: a batch may be available          */
    pthread_cond_t done_cond; /* caller: a batch finished                   */
    bool sync_ready;
    bool shutdown;
    bool stop;                /* take no more batches (cancel or error)     */
    size_t n_batches, next_batch, n_finished, seqs_finished;
    rt5_status first_error;
    int error_worker;
    size_t error_batch;
    rt5__errmsg *worker_err;  /* (n_workers) one message per worker         */
};

/* ------------------------------------------------------------ work arrays */

static bool grow(void **p, size_t count, size_t elem)
{
    size_t bytes;
    if (!rt5__mul_size(count, elem, &bytes))
        return false;
    void *q = realloc(*p, bytes ? bytes : 1);
    if (!q)
        return false;
    *p = q;
    return true;
}

static rt5_status reserve(rt5__scheduler *s, size_t n, size_t max_length, rt5__errmsg *err)
{
    if (n > s->cap_seqs) {
        if (!grow((void **)&s->sorted, n, sizeof *s->sorted) ||
            !grow((void **)&s->sorted_scores, n, sizeof *s->sorted_scores) ||
            !grow((void **)&s->order, n, sizeof *s->order) ||
            !grow((void **)&s->batch_start, n + 1, sizeof *s->batch_start))
            return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "no memory for %zu sequences", n);
        s->cap_seqs = n;
        s->n_allocations++;
    }
    if (max_length + 1 > s->cap_lengths) {
        if (!grow((void **)&s->length_slot, max_length + 1, sizeof *s->length_slot))
            return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "no memory for max_length %zu",
                             max_length);
        s->cap_lengths = max_length + 1;
        s->n_allocations++;
    }
    return RT5_OK;
}

static rt5_status validate(const rt5__schedule_params *p, const rt5_seq *seqs, size_t n,
                           rt5__errmsg *err)
{
    for (size_t i = 0; i < n; i++) {
        if (seqs[i].n_ids == 0 || !seqs[i].ids)
            return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "sequence %zu is empty", i);
        if (seqs[i].n_ids > p->max_length)
            return rt5__fail(err, RT5_ERR_TOO_LONG,
                             "sequence %zu has %zu tokens, more than max_length %zu", i,
                             seqs[i].n_ids, p->max_length);
        for (size_t k = 0; p->vocab_size && k < seqs[i].n_ids; k++)
            if (seqs[i].ids[k] < 0 || (size_t)seqs[i].ids[k] >= p->vocab_size)
                return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT,
                                 "sequence %zu: id %ld at position %zu is outside the model's "
                                 "vocabulary of %zu (a tokenizer for another model?)",
                                 i, (long)seqs[i].ids[k], k, p->vocab_size);
    }
    return RT5_OK;
}

/* Stable counting sort of indices by length, longest first: slot[L] starts
 * as the number of sequences longer than L. */
static void sort_by_length(rt5__scheduler *s, const rt5_seq *seqs, size_t n, size_t max_length)
{
    size_t *slot = s->length_slot;
    memset(slot, 0, (max_length + 1) * sizeof *slot);
    for (size_t i = 0; i < n; i++)
        slot[seqs[i].n_ids]++;
    size_t above = 0;
    for (size_t len = max_length + 1; len-- > 0;) {
        size_t count = slot[len];
        slot[len] = above;
        above += count;
    }
    for (size_t i = 0; i < n; i++) {
        size_t pos = slot[seqs[i].n_ids]++;
        s->order[pos] = i;
        s->sorted[pos] = seqs[i];
    }
}

/* The budget a run actually uses. With several workers, a run of few
 * tokens would otherwise make one full batch and a small remainder, leaving
 * a worker idle for most of the run; so the budget shrinks to about an equal
 * share per worker. With B = ceil(total / W) + longest - 1, every batch the
 * greedy cut closes holds at least ceil(total / W) tokens (the sequence that
 * did not fit is at most `longest`), so there are at most W batches. */
static size_t effective_budget(const rt5__scheduler *s, size_t n, size_t budget)
{
    if (s->n_workers < 2 || n == 0)
        return budget;
    size_t total = 0, longest = s->sorted[0].n_ids; /* sorted: longest first */
    for (size_t j = 0; j < n; j++)
        total += s->sorted[j].n_ids;
    size_t workers = (size_t)s->n_workers;
    size_t share = (total + workers - 1) / workers + longest - 1;
    return share < budget ? share : budget;
}

/* Greedy cut: a batch grows while it fits the budget; a sequence longer
 * than the budget forms a batch of its own. Returns the batch count. */
static size_t cut_batches(rt5__scheduler *s, size_t n, size_t budget)
{
    size_t n_batches = 0, tokens = 0, widest = 0;
    for (size_t j = 0; j < n; j++) {
        size_t len = s->sorted[j].n_ids;
        bool fits = tokens + len <= budget;
        if (j == 0 || !fits) {
            if (j > 0)
                widest = RT5_MAX(widest, j - s->batch_start[n_batches - 1]);
            s->batch_start[n_batches++] = j;
            tokens = 0;
        }
        tokens += len;
    }
    s->batch_start[n_batches] = n;
    if (n_batches > 0)
        widest = RT5_MAX(widest, n - s->batch_start[n_batches - 1]);
    s->last_n_batches = n_batches;
    s->last_max_batch_seqs = widest;
    return n_batches;
}

static size_t batch_size(const rt5__scheduler *s, size_t b)
{
    return s->batch_start[b + 1] - s->batch_start[b];
}

static rt5_status run_batch(rt5__scheduler *s, int worker, size_t b, rt5__errmsg *err)
{
    size_t start = s->batch_start[b];
    return s->score(s->ctx, worker, s->sorted + start, batch_size(s, b), s->sorted_scores + start,
                    err);
}

/* ------------------------------------------------------------ one worker */

static rt5_status run_inline(rt5__scheduler *s, const rt5__schedule_params *p, size_t n,
                             size_t n_batches, rt5__errmsg *err)
{
    size_t done = 0;
    for (size_t b = 0; b < n_batches; b++) {
        rt5_status st = run_batch(s, 0, b, err);
        if (st != RT5_OK) {
            rt5__errmsg_prefix(err, "batch of %zu sequences", batch_size(s, b));
            return st;
        }
        done += batch_size(s, b);
        if (p->progress && p->progress(p->progress_user_data, done, n) && b + 1 < n_batches)
            return rt5__fail(err, RT5_ERR_CANCELLED, "cancelled after %zu of %zu sequences",
                             done, n);
    }
    return RT5_OK;
}

/* ------------------------------------------------------------ many workers */

static void finish_batch_locked(rt5__scheduler *s, int worker, size_t b, rt5_status st)
{
    s->n_finished++;
    s->seqs_finished += batch_size(s, b);
    if (st != RT5_OK && s->first_error == RT5_OK) {
        s->first_error = st;
        s->error_worker = worker;
        s->error_batch = b;
        s->stop = true;
    }
    pthread_cond_signal(&s->done_cond);
}

static void *worker_main(void *arg)
{
    worker_arg *a = arg;
    rt5__scheduler *s = a->sched;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->shutdown && (s->stop || s->next_batch >= s->n_batches))
            pthread_cond_wait(&s->work_cond, &s->lock);
        if (s->shutdown)
            break;
        size_t b = s->next_batch++;
        pthread_mutex_unlock(&s->lock);
        rt5_status st = run_batch(s, a->index, b, &s->worker_err[a->index]);
        pthread_mutex_lock(&s->lock);
        finish_batch_locked(s, a->index, b, st);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static bool all_taken_finished(const rt5__scheduler *s)
{
    return s->stop ? s->n_finished == s->next_batch : s->n_finished == s->n_batches;
}

static rt5_status run_pooled(rt5__scheduler *s, const rt5__schedule_params *p, size_t n,
                             size_t n_batches, rt5__errmsg *err)
{
    bool cancelled = false;
    pthread_mutex_lock(&s->lock);
    s->n_batches = n_batches;
    s->next_batch = s->n_finished = s->seqs_finished = 0;
    s->stop = false;
    s->first_error = RT5_OK;
    pthread_cond_broadcast(&s->work_cond);
    size_t reported = 0;
    while (!all_taken_finished(s)) {
        while (s->n_finished == reported && !all_taken_finished(s))
            pthread_cond_wait(&s->done_cond, &s->lock);
        if (s->n_finished == reported)
            break;
        reported = s->n_finished;
        size_t done = s->seqs_finished;
        bool more = !s->stop && s->n_finished < s->n_batches;
        if (p->progress && !s->stop) {
            pthread_mutex_unlock(&s->lock);
            int quit = p->progress(p->progress_user_data, done, n);
            pthread_mutex_lock(&s->lock);
            if (quit && more && !s->stop) {
                s->stop = true;
                cancelled = true;
            }
        }
    }
    rt5_status st = s->first_error;
    if (st != RT5_OK) {
        *err = s->worker_err[s->error_worker];
        rt5__errmsg_prefix(err, "batch of %zu sequences", batch_size(s, s->error_batch));
    } else if (cancelled) {
        st = rt5__fail(err, RT5_ERR_CANCELLED, "cancelled after %zu of %zu sequences",
                       s->seqs_finished, n);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ------------------------------------------------------------ lifecycle */

static void stop_threads(rt5__scheduler *s)
{
    if (!s->sync_ready)
        return;
    pthread_mutex_lock(&s->lock);
    s->shutdown = true;
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->n_started; i++)
        pthread_join(s->threads[i], NULL);
    pthread_cond_destroy(&s->work_cond);
    pthread_cond_destroy(&s->done_cond);
    pthread_mutex_destroy(&s->lock);
    s->sync_ready = false;
}

static rt5_status start_threads(rt5__scheduler *s, rt5__errmsg *err)
{
    int n = s->n_workers;
    s->threads = calloc((size_t)n, sizeof *s->threads);
    s->args = calloc((size_t)n, sizeof *s->args);
    s->worker_err = calloc((size_t)n, sizeof *s->worker_err);
    if (!s->threads || !s->args || !s->worker_err)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "no memory for %d workers", n);
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return rt5__fail(err, RT5_ERR_THREAD, "cannot create a mutex");
    pthread_cond_init(&s->work_cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
    s->sync_ready = true;
    for (int i = 0; i < n; i++) {
        s->args[i] = (worker_arg){s, i};
        if (pthread_create(&s->threads[i], NULL, worker_main, &s->args[i]) != 0)
            return rt5__fail(err, RT5_ERR_THREAD, "cannot start worker thread %d of %d", i + 1,
                             n);
        s->n_started++;
    }
    return RT5_OK;
}

rt5_status rt5__scheduler_create(int n_workers, rt5__score_batch_fn score, void *ctx,
                                 rt5__scheduler **out, rt5__errmsg *err)
{
    *out = NULL;
    if (n_workers < 1 || n_workers > 1024 || !score)
        return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "bad worker count %d", n_workers);
    rt5__scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "no memory for the scheduler");
    s->n_workers = n_workers;
    s->score = score;
    s->ctx = ctx;
    if (n_workers > 1) {
        rt5_status st = start_threads(s, err);
        if (st != RT5_OK) {
            rt5__scheduler_free(s);
            return st;
        }
    }
    *out = s;
    return RT5_OK;
}

void rt5__scheduler_free(rt5__scheduler *s)
{
    if (!s)
        return;
    stop_threads(s);
    free(s->threads);
    free(s->args);
    free(s->worker_err);
    free(s->sorted);
    free(s->sorted_scores);
    free(s->order);
    free(s->batch_start);
    free(s->length_slot);
    free(s);
}

/* ------------------------------------------------------------ a run */

rt5_status rt5__scheduler_run(rt5__scheduler *s, const rt5__schedule_params *p,
                              const rt5_seq *seqs, size_t n, float *scores, rt5__errmsg *err)
{
    if (!s || !p || (n > 0 && (!seqs || !scores)) || p->max_batch_tokens < 1 ||
        p->max_length < 1)
        return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "bad scheduler arguments");
    s->last_n_batches = s->last_max_batch_seqs = 0;
    if (n == 0)
        return RT5_OK;
    rt5_status st = validate(p, seqs, n, err);
    if (st == RT5_OK)
        st = reserve(s, n, p->max_length, err);
    if (st != RT5_OK)
        return st;
    sort_by_length(s, seqs, n, p->max_length);
    size_t n_batches = cut_batches(s, n, effective_budget(s, n, p->max_batch_tokens));
    st = s->n_workers == 1 ? run_inline(s, p, n, n_batches, err)
                           : run_pooled(s, p, n, n_batches, err);
    if (st != RT5_OK)
        return st;
    for (size_t j = 0; j < n; j++)
        scores[s->order[j]] = s->sorted_scores[j];
    return RT5_OK;
}

void rt5__scheduler_stats(const rt5__scheduler *s, rt5__schedule_stats *stats)
{
    stats->n_batches = s->last_n_batches;
    stats->max_batch_seqs = s->last_max_batch_seqs;
    stats->n_allocations = s->n_allocations;
}
