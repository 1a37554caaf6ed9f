/*
 * queue.c -- the bounded job queue and the worker thread that owns the
 * engine (see queue.h for the contract).
 *
 * One step of the worker:
 *   1. wait for work; if less than a step's tokens are pending, wait up to
 *      the batch window for more requests to arrive;
 *   2. under the lock, fail jobs that waited past the queue timeout, then
 *      take pairs from the head jobs in arrival order until the step's token
 *      budget is reached (a large job may span several steps, and small jobs
 *      behind it join the same step once its tail is taken);
 *   3. without the lock, order the step's pairs largest-first and make one
 *      engine call (which packs them into token-budget batches);
 *   4. under the lock, scatter the logits back, pop the jobs now complete,
 *      and call their done() after unlocking.
 * All step buffers are allocated once at create: a step allocates nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "server/queue.h"

typedef struct step_slot {
    rt5__job *job;
    size_t idx; /* index of the pair within its job */
} step_slot;

struct rt5__queue {
    rt5__queue_params p;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    rt5__job *head, *tail;   /* admitted, unfinished, in arrival order */
    size_t n_jobs;
    size_t pending_pairs;    /* not yet handed to the engine */
    size_t pending_tokens;
    bool closing, joined;
    pthread_t worker;
    uint64_t step_id;
    /* step scratch, worker only: (step_tokens) entries each */
    step_slot *slots;
    step_slot *sorted;
    rt5_seq *seqs;
    float *scores;
    size_t cap;
};

rt5__queue_params rt5__queue_default_params(void)
{
    rt5__queue_params p;
    memset(&p, 0, sizeof p);
    p.max_queue = 32;
    p.step_tokens = 16384;
    p.batch_window_s = 0.002;
    return p;
}

static size_t seq_cost(const rt5_seq *s)
{
    return s->n_ids ? s->n_ids : 1;
}

static size_t job_tokens(const rt5__job *job, size_t from)
{
    size_t t = 0;
    for (size_t i = from; i < job->n_seqs; i++)
        t += seq_cost(&job->seqs[i]);
    return t;
}

rt5__submit_result rt5__queue_submit(rt5__queue *s, rt5__job *job)
{
    for (size_t i = 0; i < job->n_seqs; i++)
        if (seq_cost(&job->seqs[i]) > s->p.step_tokens)
            return RT5__SUBMIT_INVALID;
    size_t tokens = job_tokens(job, 0);
    pthread_mutex_lock(&s->mu);
    rt5__submit_result r = RT5__SUBMIT_OK;
    if (s->closing)
        r = RT5__SUBMIT_CLOSED;
    else if (s->n_jobs >= s->p.max_queue)
        r = RT5__SUBMIT_FULL;
    if (r == RT5__SUBMIT_OK) {
        job->status = RT5_OK;
        job->queue_seconds = job->inference_seconds = 0;
        job->n_batches = 0;
        job->t_submit = rt5__now_seconds();
        job->handed_out = 0;
        job->started = false;
        job->next = NULL;
        if (s->tail)
            s->tail->next = job;
        else
            s->head = job;
        s->tail = job;
        s->n_jobs++;
        s->pending_pairs += job->n_seqs;
        s->pending_tokens += tokens;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

void rt5__queue_depth(rt5__queue *s, size_t *jobs, size_t *pairs)
{
    pthread_mutex_lock(&s->mu);
    *jobs = s->n_jobs;
    *pairs = s->pending_pairs;
    pthread_mutex_unlock(&s->mu);
}

/* Unlinks job (whose predecessor is prev, NULL at the head). Locked. */
static void unlink_job(rt5__queue *s, rt5__job *prev, rt5__job *job)
{
    if (prev)
        prev->next = job->next;
    else
        s->head = job->next;
    if (s->tail == job)
        s->tail = prev;
    job->next = NULL;
    s->n_jobs--;
}

static void push_done(rt5__job **done, rt5__job *job)
{
    job->next = *done;
    *done = job;
}

/* Fails jobs that waited unstarted past the queue timeout. Locked. */
static void expire_jobs(rt5__queue *s, double now, rt5__job **done)
{
    if (s->p.queue_timeout_s <= 0)
        return;
    rt5__job *prev = NULL, *job = s->head;
    while (job) {
        rt5__job *next = job->next;
        if (!job->started && now - job->t_submit > s->p.queue_timeout_s) {
            unlink_job(s, prev, job);
            s->pending_pairs -= job->n_seqs;
            s->pending_tokens -= job_tokens(job, 0);
            job->status = RT5_ERR_CANCELLED;
            job->queue_seconds = now - job->t_submit;
            push_done(done, job);
        } else {
            prev = job;
        }
        job = next;
    }
}

/* Takes pairs from the head jobs into the step. Locked. Returns the count. */
static size_t gather_step(rt5__queue *s, double now, size_t *step_tokens)
{
    size_t n = 0, tokens = 0;
    for (rt5__job *job = s->head; job; job = job->next) {
        while (job->handed_out < job->n_seqs && n < s->cap) {
            size_t cost = seq_cost(&job->seqs[job->handed_out]);
            if (n > 0 && tokens + cost > s->p.step_tokens)
                goto full;
            if (!job->started) {
                job->started = true;
                job->queue_seconds = now - job->t_submit;
            }
            s->slots[n++] = (step_slot){job, job->handed_out++};
            tokens += cost;
        }
    }
full:
    s->pending_pairs -= n;
    s->pending_tokens -= tokens;
    *step_tokens = tokens;
    return n;
}

static int longer_first(const void *a, const void *b)
{
    const step_slot *x = a, *y = b;
    size_t lx = x->job->seqs[x->idx].n_ids, ly = y->job->seqs[y->idx].n_ids;
    return lx < ly ? 1 : lx > ly ? -1 : 0;
}

/* Runs the engine on the step's pairs, largest first. Unlocked: the slots
 * point at jobs that cannot finish (nor be freed) before this step does. */
static rt5_status run_step(rt5__queue *s, size_t n, double *seconds)
{
    memcpy(s->sorted, s->slots, n * sizeof *s->sorted);
    qsort(s->sorted, n, sizeof *s->sorted, longer_first);
    for (size_t k = 0; k < n; k++)
        s->seqs[k] = s->sorted[k].job->seqs[s->sorted[k].idx];
    double t0 = rt5__now_seconds();
    rt5_status st = s->p.score(s->p.score_ctx, s->seqs, n, s->scores);
    *seconds = rt5__now_seconds() - t0;
    return st;
}

/* Scatters the step's logits and pops the jobs now complete. Locked. */
static void finish_step(rt5__queue *s, size_t n, rt5_status st, double seconds, rt5__job **done)
{
    s->step_id++;
    for (size_t k = 0; k < n; k++) {
        rt5__job *job = s->sorted[k].job;
        job->scores[s->sorted[k].idx] = s->scores[k];
        if (st != RT5_OK)
            job->status = st;
    }
    /* Each job of the step counts the step once: slots are in job order. */
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && s->slots[k].job == s->slots[k - 1].job)
            continue;
        s->slots[k].job->inference_seconds += seconds;
        s->slots[k].job->n_batches++;
    }
    while (s->head && s->head->handed_out == s->head->n_seqs) {
        rt5__job *job = s->head;
        unlink_job(s, NULL, job);
        push_done(done, job);
    }
}

static void call_done(rt5__job *done)
{
    /* done is newest-first; answer in arrival order. */
    rt5__job *ordered = NULL;
    while (done) {
        rt5__job *next = done->next;
        done->next = ordered;
        ordered = done;
        done = next;
    }
    while (ordered) {
        rt5__job *next = ordered->next;
        ordered->next = NULL;
        ordered->done(ordered, ordered->user); /* may free the job */
        ordered = next;
    }
}

static void wait_for_batch_window(rt5__queue *s)
{
    if (s->p.batch_window_s <= 0 || s->pending_tokens >= s->p.step_tokens)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = (long)(s->p.batch_window_s * 1e9);
    until.tv_sec += ns / 1000000000L;
    until.tv_nsec += ns % 1000000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    size_t before = s->pending_tokens;
    while (!s->closing && s->pending_tokens < s->p.step_tokens) {
        if (pthread_cond_timedwait(&s->wake, &s->mu, &until) == ETIMEDOUT)
            break;
        if (s->pending_tokens == before) /* spurious wake-up */
            continue;
        before = s->pending_tokens;
    }
}

static void *worker_main(void *arg)
{
    rt5__queue *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->closing)
            pthread_cond_wait(&s->wake, &s->mu);
        if (!s->head && s->closing)
            break;
        wait_for_batch_window(s);
        rt5__job *done = NULL;
        double now = rt5__now_seconds();
        expire_jobs(s, now, &done);
        size_t tokens = 0;
        size_t n = gather_step(s, now, &tokens);
        if (n > 0) {
            pthread_mutex_unlock(&s->mu);
            double seconds = 0;
            rt5_status st = run_step(s, n, &seconds);
            if (s->p.metrics)
                rt5__metrics_batch(s->p.metrics, n, tokens, seconds);
            pthread_mutex_lock(&s->mu);
            finish_step(s, n, st, seconds, &done);
        }
        if (done) {
            pthread_mutex_unlock(&s->mu);
            call_done(done);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void free_scratch(rt5__queue *s)
{
    free(s->slots);
    free(s->sorted);
    free(s->seqs);
    free(s->scores);
}

rt5_status rt5__queue_create(const rt5__queue_params *params, rt5__queue **out)
{
    *out = NULL;
    if (!params || !params->score || params->max_queue == 0 || params->step_tokens == 0)
        return RT5_ERR_INVALID_ARGUMENT;
    rt5__queue *s = calloc(1, sizeof *s);
    if (!s)
        return RT5_ERR_OUT_OF_MEMORY;
    s->p = *params;
    s->cap = params->step_tokens; /* every pair costs at least one token */
    s->slots = calloc(s->cap, sizeof *s->slots);
    s->sorted = calloc(s->cap, sizeof *s->sorted);
    s->seqs = calloc(s->cap, sizeof *s->seqs);
    s->scores = calloc(s->cap, sizeof *s->scores);
    if (!s->slots || !s->sorted || !s->seqs || !s->scores) {
        free_scratch(s);
        free(s);
        return RT5_ERR_OUT_OF_MEMORY;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        free_scratch(s);
        free(s);
        return RT5_ERR_THREAD;
    }
    *out = s;
    return RT5_OK;
}

void rt5__queue_close(rt5__queue *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    bool join = !s->joined;
    s->joined = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->worker, NULL);
}

void rt5__queue_free(rt5__queue *s)
{
    if (!s)
        return;
    rt5__queue_close(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free_scratch(s);
    free(s);
}
