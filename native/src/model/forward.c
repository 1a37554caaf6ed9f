/*
 * forward.c -- the forward pass: weight packing at load (rt5__forward_prepare),
 * the per-session workspace, and one packed batch from ids to scores.
 *
 * Per block, over the T tokens of a batch (shapes per token row):
 *   x    = RMSNorm(h) * ln_attn                       (d_model)
 *   qkv  = x . [Wq; Wk; Wv]^T                         (3 * inner)   one GEMM
 *   attn = per sequence, per head attention          (inner)       attention.c
 *   h   += attn . Wo^T                                (d_model)     sum fused in the GEMM
 *   x    = RMSNorm(h) * ln_ff
 *   h   += relu(x . Wi^T) . Wo^T                      in slabs of <= 1024 rows
 *        (gated: (gelu_new(x . Wi0^T) * (x . Wi1^T)) . Wo^T)
 * then the final RMSNorm on each sequence's first row and the head
 *   score = w2 . LayerNorm(W1 . h0 + b1) + b2        in double (n rows only).
 * The relative position bias is block 0's table, used by every block.
 *
 * Memory: packing copies the big matrices into oneDNN's blocked layout; the
 * checkpoint pages they came from are then returned to the kernel with
 * MADV_DONTNEED (they stay mapped and would page back in from the file if
 * touched), so resident memory stays about one copy of the weights.
 */
#include "model/forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/kernels.h"
#include "model/attention.h"
#include "model/buckets.h"
#include "model/converted.h"
#include "model/linear.h"
#include "model/quantize.h"

struct rt5__compute {
    dnnl_engine_t engine;
    rt5__gemm_plan plans[RT5__N_PLANS];
    rt5__linear *lin; /* (n_layers, RT5__N_PLANS) */
    const rt5__kernels *kernels;
    size_t packed_bytes, released_bytes;
};

struct rt5__workspace {
    const rt5_model *model;
    const rt5__compute *c;
    int32_t max_tokens, max_length, n_threads;
    dnnl_stream_t stream;
    rt5__linear_binding bind[RT5__N_PLANS];
    float *h, *x, *qkv, *attn, *ffn, *ffn_gated, *bias_tab, *attn_scratch;
    double *head_tmp; /* (d_model) */
    int32_t *seq_off;
    void *arena;
    size_t arena_bytes;
    rt5__profile prof;
};

/* ------------------------------------------------------------ packing */

void rt5__forward_release_mapped(rt5_model *model, const void *p, size_t bytes)
{
    /* Only pages wholly inside a tensor that lives in a file mapping. */
    const rt5__tensor_set *set = model->tensors;
    uintptr_t lo = (uintptr_t)p, hi = lo + bytes;
    for (size_t i = 0; set && i < set->n_files; i++) {
        uintptr_t f0 = (uintptr_t)set->files[i].data, f1 = f0 + set->files[i].size;
        if (lo < f0 || hi > f1)
            continue;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t a = (lo + page - 1) / page * page, b = hi / page * page;
        if (b > a && madvise((void *)a, b - a, MADV_DONTNEED) == 0)
            model->compute->released_bytes += b - a;
        return;
    }
}

static rt5_status pack_block(rt5_model *model, int32_t layer, dnnl_stream_t stream)
{
    rt5__compute *c = model->compute;
    const rt5__t5_config *cfg = &model->config;
    const rt5__block_weights *bw = &model->weights.blocks[layer];
    rt5__linear *lin = c->lin + (size_t)layer * RT5__N_PLANS;
    int32_t inner = cfg->n_heads * cfg->d_kv;
    const float *qkv[3] = {bw->q, bw->k, bw->v};
    int32_t qkv_rows[3] = {inner, inner, inner};
    const float *wi[2] = {cfg->gated_gelu ? bw->wi_0 : bw->wi, bw->wi_1};
    int32_t wi_rows[2] = {cfg->d_ff, cfg->d_ff};
    rt5__errmsg *err = &model->err;
    rt5_status st = RT5_OK;
    if (model->compute_dtype == RT5_DTYPE_INT8) /* outlier channels: quantize.c */
        st = rt5__int8_block_smoothing(model, layer, &lin[RT5__PLAN_QKV], &lin[RT5__PLAN_O], &lin[RT5__PLAN_WI],
                                       &lin[RT5__PLAN_WO], err);
    if (st == RT5_OK)
        st = rt5__linear_pack(&lin[RT5__PLAN_QKV], &c->plans[RT5__PLAN_QKV], c->engine, stream, qkv, qkv_rows, 3,
                              err);
    if (st == RT5_OK)
        st = rt5__linear_pack(&lin[RT5__PLAN_O], &c->plans[RT5__PLAN_O], c->engine, stream, &bw->o, &cfg->d_model, 1,
                              err);
    if (st == RT5_OK)
        st = rt5__linear_pack(&lin[RT5__PLAN_WI], &c->plans[RT5__PLAN_WI], c->engine, stream, wi, wi_rows,
                              cfg->gated_gelu ? 2 : 1, err);
    if (st == RT5_OK)
        st = rt5__linear_pack(&lin[RT5__PLAN_WO], &c->plans[RT5__PLAN_WO], c->engine, stream, &bw->wo, &cfg->d_model,
                              1, err);
    if (st != RT5_OK)
        return st;
    for (int p = 0; p < RT5__N_PLANS; p++)
        c->packed_bytes += lin[p].packed_bytes;
    size_t dd = sizeof(float) * (size_t)cfg->d_model;
    for (int i = 0; i < 3; i++)
        rt5__forward_release_mapped(model, qkv[i], dd * inner);
    rt5__forward_release_mapped(model, bw->o, dd * inner);
    for (int i = 0; i < (cfg->gated_gelu ? 2 : 1); i++)
        rt5__forward_release_mapped(model, wi[i], dd * cfg->d_ff);
    rt5__forward_release_mapped(model, bw->wo, dd * cfg->d_ff);
    return RT5_OK;
}

static rt5_status check_config(const rt5_model *model)
{
    const rt5__t5_config *c = &model->config;
    if (c->d_model <= 0 || c->d_ff <= 0 || c->n_heads <= 0 || c->d_kv <= 0 || c->n_layers <= 0 ||
        c->vocab_size <= 0)
        return rt5__fail((rt5__errmsg *)&model->err, RT5_ERR_SHAPE, "forward: non-positive model dimension");
    if (c->num_buckets < 4 || c->max_distance <= c->num_buckets / 4)
        return rt5__fail((rt5__errmsg *)&model->err, RT5_ERR_UNSUPPORTED,
                         "forward: relative attention needs num_buckets >= 4 and max_distance > num_buckets/4 "
                         "(got %d, %d)", c->num_buckets, c->max_distance);
    if (model->compute_dtype != RT5_DTYPE_F32 && model->compute_dtype != RT5_DTYPE_BF16 &&
        model->compute_dtype != RT5_DTYPE_INT8)
        return rt5__fail((rt5__errmsg *)&model->err, RT5_ERR_UNSUPPORTED,
                         "forward: compute dtype %s is not supported (f32, bf16 or int8)",
                         rt5_dtype_name(model->compute_dtype));
    return RT5_OK;
}

void rt5__plan_shape(const rt5__t5_config *cfg, int plan, int32_t *k, int32_t *n)
{
    int32_t inner = cfg->n_heads * cfg->d_kv, ff = cfg->gated_gelu ? 2 * cfg->d_ff : cfg->d_ff;
    switch (plan) {
    case RT5__PLAN_QKV: *k = cfg->d_model, *n = 3 * inner; break;
    case RT5__PLAN_O: *k = inner, *n = cfg->d_model; break;
    case RT5__PLAN_WI: *k = cfg->d_model, *n = ff; break;
    default: *k = cfg->d_ff, *n = cfg->d_model; break;
    }
}

/* The epilogue fused into product plan: the residual adds of o and wo, and
 * the ReLU of a ReLU FFN's wi. */
static rt5__epilogue plan_epilogue(const rt5__t5_config *cfg, int plan)
{
    if (plan == RT5__PLAN_O || plan == RT5__PLAN_WO)
        return RT5__EPI_ACCUMULATE;
    return plan == RT5__PLAN_WI && !cfg->gated_gelu ? RT5__EPI_RELU : RT5__EPI_NONE;
}

/* The compute dtype of each product: the model's, or what a converted file
 * stores. */
static rt5_dtype plan_dtype(const rt5_model *model, int plan)
{
    return model->converted ? model->converted->plan_dtype[plan] : model->compute_dtype;
}

static rt5_status init_plans(rt5_model *model)
{
    rt5__compute *c = model->compute;
    rt5_status st = RT5_OK;
    for (int p = 0; p < RT5__N_PLANS && st == RT5_OK; p++) {
        int32_t k, n;
        rt5__plan_shape(&model->config, p, &k, &n);
        st = rt5__gemm_plan_init_dtype(&c->plans[p], c->engine, k, n, plan_epilogue(&model->config, p),
                                       plan_dtype(model, p), &model->err);
    }
    if (st == RT5_OK)
        rt5__plans_common_rows(c->plans, RT5__N_PLANS);
    return st;
}

/* A converted file's products of one block, in place or reordered. */
static rt5_status adopt_block(rt5_model *model, int32_t layer, dnnl_stream_t stream)
{
    rt5__compute *c = model->compute;
    rt5__linear *lin = c->lin + (size_t)layer * RT5__N_PLANS;
    for (int p = 0; p < RT5__N_PLANS; p++) {
        bool in_place = false;
        rt5_status st = rt5__converted_adopt(model, layer, p, &lin[p], &c->plans[p], c->engine, stream, &in_place);
        if (st != RT5_OK)
            return st;
        if (!in_place)
            c->packed_bytes += lin[p].packed_bytes;
    }
    return RT5_OK;
}

rt5_status rt5__forward_prepare(rt5_model *model)
{
    rt5_status st = check_config(model);
    if (st != RT5_OK)
        return st;
    rt5__compute *c = calloc(1, sizeof *c);
    if (!c)
        return rt5__fail(&model->err, RT5_ERR_OUT_OF_MEMORY, "forward: out of memory");
    model->compute = c;
    c->kernels = rt5__kernels_get();
    const rt5__t5_config *cfg = &model->config;
    c->lin = calloc((size_t)cfg->n_layers * RT5__N_PLANS, sizeof *c->lin);
    if (!c->lin)
        return rt5__fail(&model->err, RT5_ERR_OUT_OF_MEMORY, "forward: out of memory");
    if (dnnl_engine_create(&c->engine, dnnl_cpu, 0) != dnnl_success)
        return rt5__fail(&model->err, RT5_ERR_INTERNAL, "oneDNN: no CPU engine");
    st = init_plans(model); /* linear.c / linear_lowp.c */
    dnnl_stream_t stream = NULL;
    if (st == RT5_OK && dnnl_stream_create(&stream, c->engine, dnnl_stream_default_flags) != dnnl_success)
        st = rt5__fail(&model->err, RT5_ERR_INTERNAL, "oneDNN: no stream");
    for (int32_t l = 0; st == RT5_OK && l < cfg->n_layers; l++)
        st = model->converted ? adopt_block(model, l, stream) : pack_block(model, l, stream);
    if (stream)
        dnnl_stream_destroy(stream);
    return st;
}

const rt5__linear *rt5__forward_linear(const rt5_model *model, int32_t layer, int plan)
{
    return &model->compute->lin[(size_t)layer * RT5__N_PLANS + (size_t)plan];
}

void rt5__forward_release(rt5_model *model)
{
    rt5__compute *c = model ? model->compute : NULL;
    if (!c)
        return;
    if (c->lin)
        for (size_t i = 0; i < (size_t)model->config.n_layers * RT5__N_PLANS; i++)
            rt5__linear_destroy(&c->lin[i]);
    free(c->lin);
    for (int p = 0; p < RT5__N_PLANS; p++)
        rt5__gemm_plan_destroy(&c->plans[p]);
    if (c->engine)
        dnnl_engine_destroy(c->engine);
    free(c);
    model->compute = NULL;
}

void rt5__forward_memory(const rt5_model *model, size_t *packed_bytes, size_t *released_bytes)
{
    const rt5__compute *c = model->compute;
    *packed_bytes = c ? c->packed_bytes : 0;
    *released_bytes = c ? c->released_bytes : 0;
}

/* ------------------------------------------------------------ workspace */

typedef struct arena_plan {
    size_t bytes;
} arena_plan;

/* Reserves n floats (64-byte aligned) and returns their offset, or SIZE_MAX
 * on overflow. */
static size_t reserve(arena_plan *a, size_t n_floats)
{
    size_t bytes, at = a->bytes;
    if (at == SIZE_MAX || !rt5__mul_size(n_floats, sizeof(float), &bytes) ||
        !rt5__add_size(bytes, 63, &bytes))
        return a->bytes = SIZE_MAX;
    bytes &= ~(size_t)63;
    if (!rt5__add_size(at, bytes, &a->bytes))
        return a->bytes = SIZE_MAX;
    return at;
}

static void fill_bias_table(rt5__workspace *ws)
{
    const rt5__t5_config *cfg = &ws->model->config;
    int32_t n = ws->max_length, width = 2 * n - 1;
    const float *rel = ws->model->weights.rel_bias; /* (num_buckets, n_heads) */
    for (int32_t r = -(n - 1); r <= n - 1; r++) {
        int32_t b = rt5__relative_bucket(r, cfg->num_buckets, cfg->max_distance);
        for (int32_t h = 0; h < cfg->n_heads; h++)
            ws->bias_tab[(size_t)h * width + (r + n - 1)] = rel[(size_t)b * cfg->n_heads + h];
    }
}

static rt5_status bind_all(rt5__workspace *ws, void *scratchpad, rt5__errmsg *err)
{
    if (dnnl_stream_create(&ws->stream, ws->c->engine, dnnl_stream_default_flags) != dnnl_success)
        return rt5__fail(err, RT5_ERR_INTERNAL, "oneDNN: no stream");
    for (int p = 0; p < RT5__N_PLANS; p++) {
        rt5_status st = rt5__linear_bind(&ws->bind[p], &ws->c->plans[p], ws->c->engine, scratchpad, err);
        if (st != RT5_OK)
            return st;
    }
    return RT5_OK;
}

/* Rows of the activation buffers a batch of m rows touches: m rounded up,
 * or the f32 products' padding on CPUs without AVX-512 (linear.c). */
static int32_t padded_rows(const rt5__compute *c, int32_t m)
{
    int32_t rows = rt5__round_rows(m);
    for (int p = 0; p < RT5__N_PLANS; p++)
        rows = RT5_MAX(rows, rt5__gemm_plan_rows(&c->plans[p], m));
    return rows;
}

rt5_status rt5__workspace_create(const rt5_model *model, int32_t max_tokens, int32_t max_length,
                                 int32_t n_threads, rt5__workspace **out, rt5__errmsg *err)
{
    *out = NULL;
    if (!model || !model->compute)
        return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "model is not loaded");
    if (max_tokens <= 0 || max_length <= 0 || max_tokens > (1 << 24) || max_length > (1 << 16))
        return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "max_batch_tokens %d / max_length %d out of range",
                         max_tokens, max_length);
    rt5__workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "session: out of memory");
    const rt5__t5_config *cfg = &model->config;
    const rt5__compute *c = model->compute;
    ws->model = model, ws->c = c;
    ws->max_tokens = max_tokens, ws->max_length = max_length;
#ifdef _OPENMP
    ws->n_threads = n_threads > 0 ? n_threads : omp_get_num_procs();
#else
    ws->n_threads = 1;
#endif
    size_t rows = (size_t)padded_rows(c, max_tokens);
    size_t slab = (size_t)padded_rows(c, RT5_MIN(rt5__round_rows(max_tokens), RT5__MAX_CHUNK));
    size_t d = (size_t)cfg->d_model, inner = (size_t)cfg->n_heads * cfg->d_kv, ff = (size_t)cfg->d_ff;
    size_t scratch_bytes = 0;
    for (int p = 0; p < RT5__N_PLANS; p++)
        scratch_bytes = RT5_MAX(scratch_bytes, c->plans[p].scratch_bytes);
    arena_plan a = {0};
    size_t o_h = reserve(&a, rows * d), o_x = reserve(&a, rows * d), o_qkv = reserve(&a, rows * 3 * inner);
    size_t o_attn = reserve(&a, rows * inner);
    /* bf16/int8 ReLU FFNs keep their inner activations in the linear's own buffers */
    size_t o_ffn = reserve(&a, slab * ff * (cfg->gated_gelu ? 2 : model->compute_dtype == RT5_DTYPE_F32 ? 1 : 0));
    size_t o_ffg = reserve(&a, cfg->gated_gelu ? slab * ff : 0);
    size_t o_bias = reserve(&a, (size_t)cfg->n_heads * (2 * (size_t)max_length - 1));
    size_t o_att = reserve(&a, (size_t)ws->n_threads * rt5__attention_scratch_floats(cfg->d_kv, max_length));
    size_t o_off = reserve(&a, rows + 2); /* int32 offsets, same size as floats */
    size_t o_head = reserve(&a, 2 * d);
    size_t o_pad = reserve(&a, scratch_bytes / sizeof(float) + 1);
    if (a.bytes == SIZE_MAX) {
        free(ws);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "session: workspace size overflows");
    }
    if (posix_memalign(&ws->arena, 64, a.bytes) != 0) {
        free(ws);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "session: cannot allocate %zu bytes of workspace", a.bytes);
    }
    memset(ws->arena, 0, a.bytes); /* padding rows start as zeros, never NaN */
    ws->arena_bytes = a.bytes;
    char *base = ws->arena;
    ws->h = (float *)(base + o_h), ws->x = (float *)(base + o_x), ws->qkv = (float *)(base + o_qkv);
    ws->attn = (float *)(base + o_attn), ws->ffn = (float *)(base + o_ffn);
    ws->ffn_gated = (float *)(base + o_ffg), ws->bias_tab = (float *)(base + o_bias);
    ws->attn_scratch = (float *)(base + o_att), ws->seq_off = (int32_t *)(base + o_off);
    ws->head_tmp = (double *)(base + o_head);
    fill_bias_table(ws);
    rt5_status st = bind_all(ws, base + o_pad, err);
    if (st != RT5_OK) {
        rt5__workspace_free(ws);
        return st;
    }
    *out = ws;
    return RT5_OK;
}

void rt5__workspace_free(rt5__workspace *ws)
{
    if (!ws)
        return;
    for (int p = 0; p < RT5__N_PLANS; p++)
        rt5__linear_unbind(&ws->bind[p]);
    if (ws->stream)
        dnnl_stream_destroy(ws->stream);
    free(ws->arena);
    free(ws);
}

size_t rt5__workspace_bytes(const rt5__workspace *ws)
{
    return ws->arena_bytes;
}

const rt5__profile *rt5__workspace_profile(const rt5__workspace *ws)
{
    return &ws->prof;
}

double rt5__workspace_convert_seconds(const rt5__workspace *ws)
{
    double s = 0;
    for (int p = 0; p < RT5__N_PLANS; p++)
        s += ws->bind[p].convert_seconds;
    return s;
}

/* ------------------------------------------------------------ the pass */

static rt5_status check_batch(rt5__workspace *ws, const rt5_seq *seqs, size_t n, rt5__errmsg *err)
{
    size_t total = 0;
    int32_t vocab = ws->model->config.vocab_size;
    for (size_t i = 0; i < n; i++) {
        if (seqs[i].n_ids == 0 || !seqs[i].ids)
            return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "sequence %zu is empty", i);
        if (seqs[i].n_ids > (size_t)ws->max_length)
            return rt5__fail(err, RT5_ERR_TOO_LONG, "sequence %zu has %zu tokens, more than max_length %d", i,
                             seqs[i].n_ids, ws->max_length);
        total += seqs[i].n_ids;
        if (total > (size_t)ws->max_tokens)
            return rt5__fail(err, RT5_ERR_TOO_LONG, "batch of %zu sequences exceeds max_batch_tokens %d", n,
                             ws->max_tokens);
        for (size_t j = 0; j < seqs[i].n_ids; j++)
            if (seqs[i].ids[j] < 0 || seqs[i].ids[j] >= vocab)
                return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT,
                                 "sequence %zu: id %d at position %zu is outside the vocabulary (%d)", i,
                                 seqs[i].ids[j], j, vocab);
    }
    return RT5_OK;
}

/* h = embedding[ids], sequence after sequence; padding rows zeroed. */
static int32_t gather(rt5__workspace *ws, const rt5_seq *seqs, size_t n)
{
    size_t d = (size_t)ws->model->config.d_model;
    int32_t t = 0;
    for (size_t i = 0; i < n; i++) {
        ws->seq_off[i] = t;
        for (size_t j = 0; j < seqs[i].n_ids; j++, t++)
            memcpy(ws->h + (size_t)t * d, ws->model->weights.embed + (size_t)seqs[i].ids[j] * d, d * sizeof(float));
    }
    ws->seq_off[n] = t;
    int32_t padded = padded_rows(ws->c, t);
    memset(ws->h + (size_t)t * d, 0, (size_t)(padded - t) * d * sizeof(float));
    memset(ws->x + (size_t)t * d, 0, (size_t)(padded - t) * d * sizeof(float));
    return t;
}

static void rms_rows(rt5__workspace *ws, float *y, const float *x, const float *w, int32_t rows)
{
    const rt5__kernels *k = ws->c->kernels;
    int32_t d = ws->model->config.d_model;
    float eps = ws->model->config.eps;
#ifdef _OPENMP
#pragma omp parallel for num_threads(ws->n_threads)
#endif
    for (int32_t r = 0; r < rows; r++)
        k->rms_norm(y + (size_t)r * d, x + (size_t)r * d, w, d, eps);
}

#define TIMED(slot, stmt)                             \
    do {                                              \
        double t0_ = rt5__now_seconds();              \
        stmt;                                         \
        ws->prof.slot += rt5__now_seconds() - t0_;    \
    } while (0)

/* acc[t][d] += FFN(in[t][d]) */
static rt5_status feed_forward(rt5__workspace *ws, const rt5__linear *lin, const float *in, float *acc, int32_t t)
{
    const rt5__t5_config *cfg = &ws->model->config;
    size_t d = (size_t)cfg->d_model, ff = (size_t)cfg->d_ff;
    rt5_status st = RT5_OK;
    for (int32_t r0 = 0; r0 < t && st == RT5_OK; r0 += RT5__MAX_CHUNK) {
        int32_t rows = RT5_MIN(RT5__MAX_CHUNK, t - r0);
        if (!cfg->gated_gelu) { /* one call: bf16/int8 keep the inner activations in their own form */
            TIMED(gemm, st = rt5__linear_run_ffn(&lin[RT5__PLAN_WI], &ws->bind[RT5__PLAN_WI], &lin[RT5__PLAN_WO],
                                                 &ws->bind[RT5__PLAN_WO], ws->stream, in + r0 * d, ws->ffn,
                                                 acc + r0 * d, rows));
            continue;
        }
        TIMED(gemm, st = rt5__linear_run(&lin[RT5__PLAN_WI], &ws->bind[RT5__PLAN_WI], ws->stream, in + r0 * d,
                                         ws->ffn, rows));
        const float *act = ws->ffn;
        if (st == RT5_OK && cfg->gated_gelu) {
            const rt5__kernels *k = ws->c->kernels;
            double t0 = rt5__now_seconds();
            for (int32_t r = 0; r < rows; r++) /* (gelu(a) * b) of the [a | b] halves */
                k->gelu_mul(ws->ffn_gated + r * ff, ws->ffn + r * 2 * ff, ws->ffn + r * 2 * ff + ff, (int)ff);
            ws->prof.norm += rt5__now_seconds() - t0;
            act = ws->ffn_gated;
        }
        if (st == RT5_OK)
            TIMED(gemm, st = rt5__linear_run(&lin[RT5__PLAN_WO], &ws->bind[RT5__PLAN_WO], ws->stream, act,
                                             acc + r0 * d, rows));
    }
    return st;
}

/* The start of every block: x = RMSNorm(h), qkv = x . Wqkv (t, 3 n_heads
 * d_kv), attn = attention over each sequence (t, n_heads d_kv), or with
 * first_row_only just each sequence's first row (n, n_heads d_kv). */
static rt5_status self_attention(rt5__workspace *ws, int32_t layer, int32_t t, size_t n,
                                 bool first_row_only)
{
    const rt5__t5_config *cfg = &ws->model->config;
    const rt5__linear *lin = ws->c->lin + (size_t)layer * RT5__N_PLANS;
    rt5_status st;
    TIMED(norm, rms_rows(ws, ws->x, ws->h, ws->model->weights.blocks[layer].ln_attn, t));
    TIMED(gemm, st = rt5__linear_run(&lin[RT5__PLAN_QKV], &ws->bind[RT5__PLAN_QKV], ws->stream, ws->x, ws->qkv, t));
    if (st != RT5_OK)
        return st;
    rt5__attention_args args = {
        .qkv = ws->qkv, .out = ws->attn, .seq_off = ws->seq_off, .n_seq = n, .n_heads = cfg->n_heads,
        .d_kv = cfg->d_kv, .bias_tab = ws->bias_tab, .max_length = ws->max_length,
        .scratch = ws->attn_scratch, .n_threads = ws->n_threads, .first_row_only = first_row_only};
    TIMED(attention, rt5__attention_run(ws->c->kernels, &args));
    return RT5_OK;
}

static rt5_status block(rt5__workspace *ws, int32_t layer, int32_t t, size_t n)
{
    const rt5__block_weights *bw = &ws->model->weights.blocks[layer];
    const rt5__linear *lin = ws->c->lin + (size_t)layer * RT5__N_PLANS;
    rt5_status st = self_attention(ws, layer, t, n, false);
    if (st != RT5_OK)
        return st;
    TIMED(gemm, st = rt5__linear_run(&lin[RT5__PLAN_O], &ws->bind[RT5__PLAN_O], ws->stream, ws->attn, ws->h, t));
    if (st != RT5_OK)
        return st;
    TIMED(norm, rms_rows(ws, ws->x, ws->h, bw->ln_ff, t));
    return feed_forward(ws, lin, ws->x, ws->h, t);
}

/* The last block: keys and values need every token, but only each
 * sequence's first row reaches the head, so attention, o and the FFN run on
 * those n rows only. The rows are gathered compactly into x (free once qkv
 * exists); h then serves as the FFN input. Result: x[0..n). */
static rt5_status last_block(rt5__workspace *ws, int32_t layer, int32_t t, size_t n)
{
    const rt5_model *m = ws->model;
    const rt5__t5_config *cfg = &m->config;
    const rt5__block_weights *bw = &m->weights.blocks[layer];
    const rt5__linear *lin = ws->c->lin + (size_t)layer * RT5__N_PLANS;
    size_t d = (size_t)cfg->d_model;
    int32_t rows = (int32_t)n;
    rt5_status st = self_attention(ws, layer, t, n, true);
    if (st != RT5_OK)
        return st;
    double t0 = rt5__now_seconds();
    for (size_t s = 0; s < n; s++)
        memcpy(ws->x + s * d, ws->h + (size_t)ws->seq_off[s] * d, d * sizeof(float));
    int32_t padded = padded_rows(ws->c, rows);
    memset(ws->x + (size_t)rows * d, 0, (size_t)(padded - rows) * d * sizeof(float));
    memset(ws->attn + (size_t)rows * cfg->n_heads * cfg->d_kv, 0,
           (size_t)(padded - rows) * cfg->n_heads * cfg->d_kv * sizeof(float));
    ws->prof.other += rt5__now_seconds() - t0;
    TIMED(gemm, st = rt5__linear_run(&lin[RT5__PLAN_O], &ws->bind[RT5__PLAN_O], ws->stream, ws->attn, ws->x, rows));
    if (st != RT5_OK)
        return st;
    TIMED(norm, rms_rows(ws, ws->h, ws->x, bw->ln_ff, rows));
    memset(ws->h + (size_t)rows * d, 0, (size_t)(padded - rows) * d * sizeof(float));
    return feed_forward(ws, lin, ws->h, ws->x, rows);
}

/* score = w2 . LayerNorm(t) + b2, eps config.head_eps, in double, for one
 * row's t = W1 . x + b1 (d). */
static float head_tail(const rt5_model *m, const double *t)
{
    const rt5__model_weights *w = &m->weights;
    int32_t d = m->config.d_model;
    double mean = 0, var = 0;
    for (int32_t i = 0; i < d; i++)
        mean += t[i];
    mean /= d;
    for (int32_t i = 0; i < d; i++)
        var += (t[i] - mean) * (t[i] - mean);
    double inv = 1.0 / sqrt(var / d + (double)m->config.head_eps), score = w->head_b2[0];
    for (int32_t i = 0; i < d; i++)
        score += (double)w->head_w2[i] * ((t[i] - mean) * inv * w->head_ln_w[i] + w->head_ln_b[i]);
    return (float)score;
}

/*
 * The final RMSNorm and the head on the first rows, x[0..n). W1 (d x d, 4
 * MiB in f32 for t5-3b) is read once per group of rows, each of its rows
 * dotted (dot_f64, in double) with every normalized row of the group while it
 * sits in L1: one row at a time re-read all of W1 per sequence, most of the
 * "other" time. The group's t = W1 . h + b1, (group, d) doubles, lives in qkv
 * (free after the last block's attention, (rows, 3 inner) floats) when that
 * holds all n rows, else in head_tmp one row at a time.
 */
static void finish(rt5__workspace *ws, size_t n, float *scores)
{
    const rt5_model *m = ws->model;
    const rt5__kernels *k = ws->c->kernels;
    const rt5__model_weights *w = &m->weights;
    size_t d = (size_t)m->config.d_model, inner = (size_t)m->config.n_heads * m->config.d_kv;
    for (size_t s = 0; s < n; s++)
        k->rms_norm(ws->h + s * d, ws->x + s * d, w->final_ln, (int)d, m->config.eps);
    size_t qkv_floats = (size_t)padded_rows(ws->c, ws->max_tokens) * 3 * inner;
    size_t group = 2 * d * n <= qkv_floats ? n : 1;
    double *t = group > 1 ? (double *)ws->qkv : ws->head_tmp; /* (group, d) */
    for (size_t s0 = 0; s0 < n; s0 += group) {
        size_t g = RT5_MIN(group, n - s0);
        for (size_t i = 0; i < d; i++)
            for (size_t s = 0; s < g; s++)
                t[s * d + i] = w->head_b1[i] + k->dot_f64(w->head_w1 + i * d, ws->h + (s0 + s) * d, (int)d);
        for (size_t s = 0; s < g; s++)
            scores[s0 + s] = head_tail(m, t + s * d);
    }
}

rt5_status rt5__forward_score(rt5__workspace *ws, const rt5_seq *seqs, size_t n, float *scores, rt5__errmsg *err)
{
    if (n == 0)
        return RT5_OK;
    if (!seqs || !scores)
        return rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "NULL sequences or scores");
    rt5_status st = check_batch(ws, seqs, n, err);
    if (st != RT5_OK)
        return st;
#ifdef _OPENMP
    omp_set_num_threads(ws->n_threads); /* this thread's oneDNN calls use it */
#endif
    int32_t t;
    TIMED(other, t = gather(ws, seqs, n));
    int32_t last = ws->model->config.n_layers - 1;
    for (int32_t l = 0; l < last && st == RT5_OK; l++)
        st = block(ws, l, t, n);
    if (st == RT5_OK)
        st = last_block(ws, last, t, n);
    if (st != RT5_OK)
        return rt5__fail(err, st, "oneDNN failed while running the batch");
    TIMED(other, finish(ws, n, scores));
    ws->prof.batches++, ws->prof.sequences += n, ws->prof.tokens += (uint64_t)t;
    return RT5_OK;
}
