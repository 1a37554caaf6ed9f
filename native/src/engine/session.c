/*
 * session.c -- rt5_session_*: one worker's scratch for scoring packed
 * batches. A session wraps a forward workspace (native/src/model/forward.c) sized
 * once for (max_batch_tokens, max_length); rt5_session_score validates the
 * batch and runs the forward pass, allocating nothing.
 */
#include "core/common.h"
#include "model/forward.h"

#include <stdlib.h>

struct rt5_session {
    rt5__errmsg err;
    rt5__workspace *ws;
    rt5_session_params params;
};

RT5_API rt5_session_params rt5_session_default_params(void)
{
    return (rt5_session_params){.max_batch_tokens = 4096, .max_length = 512, .n_threads = 0};
}

RT5_API rt5_status rt5_session_create(const rt5_model *model, const rt5_session_params *params,
                                      rt5_session **out)
{
    if (!out)
        return RT5_ERR_INVALID_ARGUMENT;
    *out = NULL;
    rt5_session *s = calloc(1, sizeof *s);
    if (!s)
        return RT5_ERR_OUT_OF_MEMORY;
    *out = s;
    s->params = params ? *params : rt5_session_default_params();
    if (!model)
        return rt5__fail(&s->err, RT5_ERR_INVALID_ARGUMENT, "rt5_session_create: model is NULL");
    if (s->params.n_threads < 0)
        return rt5__fail(&s->err, RT5_ERR_INVALID_ARGUMENT, "n_threads must be >= 0 (got %d)",
                         s->params.n_threads);
    if (s->params.max_length <= 0 || s->params.max_batch_tokens <= 0)
        return rt5__fail(&s->err, RT5_ERR_INVALID_ARGUMENT, "max_length (%d) and max_batch_tokens (%d) must be > 0",
                         s->params.max_length, s->params.max_batch_tokens);
    /* A sequence longer than the batch budget could never run. */
    int32_t max_length = RT5_MIN(s->params.max_length, s->params.max_batch_tokens);
    return rt5__workspace_create(model, s->params.max_batch_tokens, max_length, s->params.n_threads, &s->ws,
                                 &s->err);
}

RT5_API void rt5_session_free(rt5_session *session)
{
    if (!session)
        return;
    rt5__workspace_free(session->ws);
    free(session);
}

RT5_API const char *rt5_session_last_error(const rt5_session *session)
{
    return session ? session->err.text : "no session";
}

RT5_API rt5_status rt5_session_score(rt5_session *session, const rt5_seq *seqs, size_t n, float *scores)
{
    if (!session)
        return RT5_ERR_INVALID_ARGUMENT;
    if (!session->ws)
        return rt5__fail(&session->err, RT5_ERR_INVALID_ARGUMENT, "session was not created successfully");
    return rt5__forward_score(session->ws, seqs, n, scores, &session->err);
}

const rt5__profile *rt5__session_profile(const rt5_session *session)
{
    return session && session->ws ? rt5__workspace_profile(session->ws) : NULL;
}

size_t rt5__session_workspace_bytes(const rt5_session *session)
{
    return session && session->ws ? rt5__workspace_bytes(session->ws) : 0;
}

double rt5__session_convert_seconds(const rt5_session *session)
{
    return session && session->ws ? rt5__workspace_convert_seconds(session->ws) : 0;
}
