/*
 * scheduler.h -- the engine's batch scheduler, independent of the model.
 *
 * Given n sequences of any lengths, the scheduler sorts them by length
 * (longest first, a stable counting sort), cuts the sorted order into
 * batches whose total tokens fit a budget (with several workers and few
 * tokens, a smaller one: about an equal share per worker), hands the batches to a fixed set
 * of workers and scatters the scores back into input order. What "scoring a
 * batch" means is a callback, so the batching, ordering, progress and
 * cancellation logic is tested without a model (tests/test_engine.c); the
 * real engine's callback runs rt5_session_score on the worker's session.
 *
 * Memory: the scheduler owns grow-only work arrays (sorted sequences,
 * sorted scores, batch offsets, the permutation). After a first call with n
 * sequences, later calls with at most n sequences allocate nothing;
 * n_allocations counts every growth so a test can assert that.
 *
 * Threads: with one worker, batches run on the calling thread. With more,
 * n_workers persistent threads take batches from a shared counter while the
 * calling thread waits, reporting progress between batch completions.
 */
#ifndef RT5_ENGINE_SCHEDULER_H
#define RT5_ENGINE_SCHEDULER_H

#include "core/common.h"

/* Scores one batch: n sequences (total tokens <= the budget, or a single
 * sequence longer than it) into scores[0..n). worker is in [0, n_workers)
 * and no two concurrent calls share it. On failure, write a message to err
 * (owned by that worker) and return a negative status. */
typedef rt5_status (*rt5__score_batch_fn)(void *ctx, int worker, const rt5_seq *seqs, size_t n,
                                          float *scores, rt5__errmsg *err);

typedef struct rt5__scheduler rt5__scheduler;

typedef struct rt5__schedule_params {
    size_t max_batch_tokens; /* token budget of one batch (>= 1)           */
    size_t max_length;       /* longest sequence accepted (>= 1)           */
    rt5_progress_fn progress; /* may be NULL                               */
    void *progress_user_data;
    size_t vocab_size;       /* ids must be < vocab_size; 0 = unchecked    */
} rt5__schedule_params;

/* Creates a scheduler with n_workers workers (threads started now when
 * n_workers > 1). score is called with ctx. */
rt5_status rt5__scheduler_create(int n_workers, rt5__score_batch_fn score, void *ctx,
                                 rt5__scheduler **out, rt5__errmsg *err);
void rt5__scheduler_free(rt5__scheduler *sched);

/* Scores n sequences into scores (input order). Not reentrant: one call at
 * a time. Errors: RT5_ERR_INVALID_ARGUMENT (an empty sequence, an id
 * outside the vocabulary),
 * RT5_ERR_TOO_LONG (a sequence over max_length), RT5_ERR_CANCELLED (the
 * progress callback returned nonzero), or the callback's status. */
rt5_status rt5__scheduler_run(rt5__scheduler *sched, const rt5__schedule_params *params,
                              const rt5_seq *seqs, size_t n, float *scores, rt5__errmsg *err);

/* Introspection for tests and benchmarks. */
typedef struct rt5__schedule_stats {
    size_t n_batches;      /* batches of the last run                     */
    size_t max_batch_seqs; /* most sequences in one batch of the last run */
    size_t n_allocations;  /* work-array growths since creation           */
} rt5__schedule_stats;

void rt5__scheduler_stats(const rt5__scheduler *sched, rt5__schedule_stats *stats);

#endif /* RT5_ENGINE_SCHEDULER_H */
