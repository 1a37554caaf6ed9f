/*
 * engine.c -- rt5_engine: many sequences in, scores out in input order.
 *
 * The engine owns one rt5_session per worker (each session is that worker's
 * scratch arena, sized once for max_batch_tokens and max_length, so scoring
 * allocates nothing after warm-up) and a scheduler (scheduler.c) that sorts
 * the sequences by length, cuts token-budget batches and runs them on the
 * workers. The n_threads cores are split as n_workers sessions of
 * n_threads / n_workers GEMM threads each; see docs/engine.md for how the
 * default split was chosen.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/scheduler.h"

/* Workers when the caller leaves n_workers at 0 (capped by n_threads). On
 * the 2-core target, two single-thread sessions scored 12-20% more pairs/s
 * than one two-thread session (medians of 5 interleaved runs in each of 3
 * series, t5-3b layer shapes; eval/bench/bench_engine_split.sh, docs/engine.md): they never wait on
 * each other at the per-GEMM barriers, and the scheduler's per-worker share
 * keeps both busy to the end of small runs. The price is a second scratch
 * arena (about 360 MB at 4096 tokens for t5-3b shapes). Larger machines were
 * not measured: they get two workers of n_threads / 2 threads. */
#define DEFAULT_WORKERS 2

struct rt5_engine {
    rt5__errmsg err;
    const rt5_model *model;
    rt5_engine_params params; /* resolved: n_threads, n_workers never 0 */
    rt5_session **sessions;   /* (n_workers)                            */
    size_t vocab_size;        /* ids are checked against it; 0 = unknown */
    rt5__scheduler *sched;
};

RT5_API rt5_engine_params rt5_engine_default_params(void)
{
    rt5_engine_params p = {0};
    p.n_threads = 0;
    p.max_batch_tokens = 4096;
    p.max_length = 512;
    p.n_workers = 0;
    return p;
}

static int32_t available_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

static rt5_status resolve_params(rt5_engine *e, const rt5_engine_params *in)
{
    rt5_engine_params p = in ? *in : rt5_engine_default_params();
    if (p.n_threads < 0 || p.n_workers < 0 || p.n_workers > 256 || p.max_batch_tokens < 1 ||
        p.max_length < 1)
        return rt5__fail(&e->err, RT5_ERR_INVALID_ARGUMENT,
                         "bad engine parameters: n_threads %d, n_workers %d, max_batch_tokens "
                         "%d, max_length %d (threads and workers >= 0, the others >= 1)",
                         (int)p.n_threads, (int)p.n_workers, (int)p.max_batch_tokens,
                         (int)p.max_length);
    if (p.n_threads == 0)
        p.n_threads = available_cores();
    if (p.n_workers == 0)
        p.n_workers = RT5_MIN(DEFAULT_WORKERS, p.n_threads);
    e->params = p;
    return RT5_OK;
}

static rt5_status score_on_session(void *ctx, int worker, const rt5_seq *seqs, size_t n,
                                   float *scores, rt5__errmsg *err)
{
    rt5_engine *e = ctx;
    rt5_session *session = e->sessions[worker];
    rt5_status st = rt5_session_score(session, seqs, n, scores);
    if (st != RT5_OK)
        rt5__fail(err, st, "%s", rt5_session_last_error(session));
    return st;
}

static rt5_status create_sessions(rt5_engine *e)
{
    int32_t n = e->params.n_workers;
    e->sessions = calloc((size_t)n, sizeof *e->sessions);
    if (!e->sessions)
        return rt5__fail(&e->err, RT5_ERR_OUT_OF_MEMORY, "no memory for %d sessions", (int)n);
    rt5_session_params sp = rt5_session_default_params();
    sp.max_length = e->params.max_length;
    /* A sequence longer than the budget runs alone, so the arena must hold
     * max_length tokens even under a smaller budget. */
    sp.max_batch_tokens = RT5_MAX(e->params.max_batch_tokens, e->params.max_length);
    sp.n_threads = RT5_MAX(1, e->params.n_threads / n);
    for (int32_t i = 0; i < n; i++) {
        rt5_status st = rt5_session_create(e->model, &sp, &e->sessions[i]);
        if (st != RT5_OK)
            return rt5__fail(&e->err, st, "session %d of %d: %s", (int)i + 1, (int)n,
                             e->sessions[i] ? rt5_session_last_error(e->sessions[i])
                                            : rt5_status_str(st));
    }
    return RT5_OK;
}

RT5_API rt5_status rt5_engine_create(const rt5_model *model, const rt5_engine_params *params,
                                     rt5_engine **out)
{
    if (!out)
        return RT5_ERR_INVALID_ARGUMENT;
    rt5_engine *e = calloc(1, sizeof *e);
    *out = e;
    if (!e)
        return RT5_ERR_OUT_OF_MEMORY;
    e->model = model;
    if (!model)
        return rt5__fail(&e->err, RT5_ERR_INVALID_ARGUMENT, "no model given");
    rt5_model_info info;
    if (rt5_model_get_info(model, &info) == RT5_OK && info.vocab_size > 0)
        e->vocab_size = (size_t)info.vocab_size;
    rt5_status st = resolve_params(e, params);
    if (st == RT5_OK)
        st = create_sessions(e);
    if (st == RT5_OK)
        st = rt5__scheduler_create(e->params.n_workers, score_on_session, e, &e->sched, &e->err);
    return st;
}

RT5_API void rt5_engine_free(rt5_engine *e)
{
    if (!e)
        return;
    rt5__scheduler_free(e->sched); /* joins the workers before sessions go */
    for (int32_t i = 0; e->sessions && i < e->params.n_workers; i++)
        rt5_session_free(e->sessions[i]);
    free(e->sessions);
    free(e);
}

RT5_API const char *rt5_engine_last_error(const rt5_engine *e)
{
    return e ? e->err.text : "no engine (out of memory?)";
}

RT5_API rt5_status rt5_engine_get_params(const rt5_engine *e, rt5_engine_params *out)
{
    if (!e || !out || !e->sched)
        return RT5_ERR_INVALID_ARGUMENT;
    *out = e->params;
    return RT5_OK;
}

RT5_API rt5_status rt5_engine_score(rt5_engine *e, const rt5_seq *seqs, size_t n, float *scores)
{
    if (!e)
        return RT5_ERR_INVALID_ARGUMENT;
    if (!e->sched)
        return rt5__fail(&e->err, RT5_ERR_INVALID_ARGUMENT, "engine was not created");
    rt5__schedule_params sp = {
        .max_batch_tokens = (size_t)e->params.max_batch_tokens,
        .max_length = (size_t)e->params.max_length,
        .progress = e->params.progress,
        .progress_user_data = e->params.progress_user_data,
        .vocab_size = e->vocab_size,
    };
    return rt5__scheduler_run(e->sched, &sp, seqs, n, scores, &e->err);
}
