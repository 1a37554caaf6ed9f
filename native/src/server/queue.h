/*
 * queue.h -- the one queue between the HTTP threads and the engine.
 *
 * HTTP threads tokenize a request and submit it as a job (a list of encoded
 * pairs). One worker thread owns the engine: it gathers pairs from the jobs
 * at the head of the queue, in arrival order, until a step's token budget is
 * full (dynamic batching across requests), orders them largest-first, makes
 * one engine call and hands each job its scores. A job whose pairs are all
 * scored is finished through its done() callback, on the worker thread.
 *
 * The queue is bounded in jobs: submit refuses when it is full, so the HTTP
 * side answers 429 instead of letting memory grow.
 */
#ifndef RT5_SERVER_QUEUE_H
#define RT5_SERVER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "rankt5.h"
#include "server/metrics.h"

/* The engine call. The served path uses rt5_engine_score on a real engine;
 * the unit tests pass a fake here (the seam exists only for them). */
typedef rt5_status (*rt5__score_fn)(void *ctx, const rt5_seq *seqs, size_t n, float *scores);

typedef struct rt5__job rt5__job;
typedef void (*rt5__job_done_fn)(rt5__job *job, void *user);

struct rt5__job {
    /* set by the submitter; borrowed until done() */
    const rt5_seq *seqs;   /* (n_seqs) */
    size_t n_seqs;
    float *scores;         /* (n_seqs) logits land here */
    rt5__job_done_fn done; /* called once, on the worker thread */
    void *user;
    /* set by the scheduler before done() */
    rt5_status status;        /* RT5_OK, the engine's error, or
                                 RT5_ERR_CANCELLED when it timed out queued */
    double queue_seconds;     /* submit -> its first engine call */
    double inference_seconds; /* wall time of the engine calls carrying it */
    size_t n_batches;         /* engine calls that carried its pairs */
    /* private */
    double t_submit;
    size_t handed_out;
    bool started;
    rt5__job *next;
};

typedef struct rt5__queue_params {
    size_t max_queue;       /* jobs admitted and unfinished; default 32      */
    size_t step_tokens;     /* tokens per engine call; default 16384         */
    double batch_window_s;  /* wait this long for more work when a step is
                               not full; default 0.002                       */
    double queue_timeout_s; /* a job not started by then fails; 0 = never    */
    rt5__score_fn score;
    void *score_ctx;
    rt5__metrics *metrics;  /* may be NULL */
} rt5__queue_params;

typedef struct rt5__queue rt5__queue;

typedef enum rt5__submit_result {
    RT5__SUBMIT_OK = 0,
    RT5__SUBMIT_FULL = 1,   /* queue at max_queue: answer 429 */
    RT5__SUBMIT_CLOSED = 2, /* shutting down: answer 503 */
    RT5__SUBMIT_INVALID = 3 /* a pair longer than a step: answer 500 */
} rt5__submit_result;

rt5__queue_params rt5__queue_default_params(void);
rt5_status rt5__queue_create(const rt5__queue_params *params, rt5__queue **out);
rt5__submit_result rt5__queue_submit(rt5__queue *s, rt5__job *job);

/* Jobs admitted and unfinished, and their pairs not yet scored. */
void rt5__queue_depth(rt5__queue *s, size_t *jobs, size_t *pairs);

/* Refuses new jobs, lets the worker finish every admitted one, joins it.
 * Idempotent. */
void rt5__queue_close(rt5__queue *s);
/* Closes (if not yet) and frees. */
void rt5__queue_free(rt5__queue *s);

#endif /* RT5_SERVER_QUEUE_H */
