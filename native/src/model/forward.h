/*
 * forward.h -- the T5 encoder + RankT5 head forward pass over packed
 * variable-length batches, and the per-worker workspace it runs in.
 *
 * A batch is n sequences concatenated into T tokens. Token-wise products
 * (q/k/v, o, feed-forward) run once over all T rows; attention runs per
 * sequence and head, so there is no padding work and no mask. Only the first
 * token of each sequence reaches the score head.
 *
 * The workspace is created once per session, sized for (max_tokens,
 * max_length), and scoring allocates nothing.
 */
#ifndef RT5_MODEL_FORWARD_H
#define RT5_MODEL_FORWARD_H

#include "core/common.h"
#include "model/linear.h"
#include "model/model.h"

/* The four products of a block, in the order the compute state keeps them. */
enum { RT5__PLAN_QKV, RT5__PLAN_O, RT5__PLAN_WI, RT5__PLAN_WO, RT5__N_PLANS };

/* In features k and out features n of product plan (q/k/v stacked, and
 * wi_0/wi_1 stacked for gated-GELU). */
void rt5__plan_shape(const rt5__t5_config *cfg, int plan, int32_t *k, int32_t *n);

/* Hands the pages wholly inside [p, p + bytes) back to the kernel when they
 * lie in the checkpoint's file mapping (after their contents were copied
 * into packed form); they would page back in from the file if touched. */
void rt5__forward_release_mapped(rt5_model *model, const void *p, size_t bytes);

/* A prepared model's product plan of block layer (for rt5_model_save). */
const rt5__linear *rt5__forward_linear(const rt5_model *model, int32_t layer, int plan);

typedef struct rt5__workspace rt5__workspace;

/* Seconds spent per kind of work since the workspace was made. gemm: the
 * oneDNN products; attention: q.k^T + bias, softmax, p.v; norm: RMSNorm and
 * the gated activation; other: embedding gather, head, bookkeeping. */
typedef struct rt5__profile {
    double gemm, attention, norm, other;
    uint64_t batches, sequences, tokens;
} rt5__profile;

rt5_status rt5__workspace_create(const rt5_model *model, int32_t max_tokens, int32_t max_length,
                                 int32_t n_threads, rt5__workspace **out, rt5__errmsg *err);
void rt5__workspace_free(rt5__workspace *ws);

/* Bytes the workspace holds (activations, attention scratch, oneDNN
 * scratchpad). */
size_t rt5__workspace_bytes(const rt5__workspace *ws);
const rt5__profile *rt5__workspace_profile(const rt5__workspace *ws);
/* Of the profile's gemm seconds, those the bf16/int8 linear layers spent
 * converting activations to bf16/u8 and rescaling s32 products (0 in f32). */
double rt5__workspace_convert_seconds(const rt5__workspace *ws);

/* Scores n sequences as one packed batch. Errors: RT5_ERR_TOO_LONG when a
 * sequence exceeds max_length or the batch exceeds max_tokens,
 * RT5_ERR_INVALID_ARGUMENT for an empty sequence or an id outside the
 * vocabulary. */
rt5_status rt5__forward_score(rt5__workspace *ws, const rt5_seq *seqs, size_t n, float *scores,
                              rt5__errmsg *err);

/* Packed-weight memory of a prepared model, and how many bytes of the
 * checkpoint mapping were handed back to the kernel after packing. */
void rt5__forward_memory(const rt5_model *model, size_t *packed_bytes, size_t *released_bytes);

/* The profile and size of a session's workspace (implemented in
 * engine/session.c; for benchmarks). */
const rt5__profile *rt5__session_profile(const rt5_session *session);
size_t rt5__session_workspace_bytes(const rt5_session *session);
double rt5__session_convert_seconds(const rt5_session *session);

#endif /* RT5_MODEL_FORWARD_H */
