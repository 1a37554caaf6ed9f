/*
 * linear.c -- oneDNN matmuls for the forward pass (see linear.h).
 *
 * Why fixed row counts: oneDNN 2.6's fast f32 matmul (brgemm) needs the row
 * count when the primitive is made; with a run-time row count it falls back
 * to a GEMM that repacks the weights on every call (16-100 GFLOP/s instead of
 * ~180-220 at our shapes on 2 Zen 4 cores, bench notes in docs/model.md).
 * Cutting M into chunks of 1024/512/.../8 rows keeps the packed weights and
 * costs little: each chunk still streams the whole weight matrix, but even 8-
 * to 16-row products run near full speed.
 *
 * Batch invariance. A pair's f32 score must not depend on what shares its
 * batch, so every row must meet the same summation order whatever chunk it
 * lands in. oneDNN's brgemm (AVX-512) gives that for every chunk size. On
 * CPUs without AVX-512 the matmul is gemm:jit, which takes a "no-copy" path
 * when 1/M + 1/N >= 0.0038 (M rows, N outputs) and a packed one otherwise,
 * and the two sum K in different orders (up to ~125 ulp apart); the no-copy
 * path also changes order with the row count (8, 32, 56, 88, ...) and, for
 * small products, with the thread count (it splits K among threads). The
 * packed path gave the same bits for every row count >= T and 1..16
 * threads at all t5-3b shapes (oneDNN 2.6, AVX2). So there the engine picks
 * the row counts itself, once per plan:
 *   N > 263 and the packed path reachable within 1024 rows: only chunks of
 *     at least T rows, T the smallest multiple of 8 past the threshold (360
 *     for N = 1024, 272 for N = 12288 or 16384); a smaller batch is padded
 *     to T rows. The packed path runs at about twice the no-copy rate, which
 *     pays for part of the padding (docs/performance.md, "CPU classes").
 *   otherwise (widths of tiny test models only): own_gemm -- the kernel
 *     table's gemm on plain (k, n) weights, 8 rows at a time; each output
 *     sums k in order whatever the batch or thread count.
 * Padding rows are computed and ignored; the caller sizes its buffers with
 * rt5__gemm_plan_rows. On every CPU each chunk size must also run chunk 0's
 * oneDNN kernel (rt5__plan_make_pd), or it is dropped.
 */
#include "model/linear.h"

#include "kernels/kernels.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int32_t rt5__chunk_rows[RT5__N_CHUNKS] = {1024, 512, 256, 128, 64, 32, 16, 8};

rt5_status rt5__linear_make_attr(dnnl_primitive_attr_t *attr, rt5__epilogue epi, rt5__errmsg *err)
{
    dnnl_post_ops_t ops = NULL;
    DNNL_TRY(dnnl_primitive_attr_create(attr), "attr create");
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    if (epi == RT5__EPI_NONE)
        return RT5_OK;
    DNNL_TRY(dnnl_post_ops_create(&ops), "post-ops create");
    dnnl_status_t st = epi == RT5__EPI_RELU ? dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0, 0)
                                            : dnnl_post_ops_append_sum(ops, 1.0f);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(*attr, ops);
    dnnl_post_ops_destroy(ops);
    DNNL_TRY(st, "post-ops setup");
    return RT5_OK;
}

/* One primitive for rows x (k -> n); wmd NULL lets oneDNN pick the layout. */
static rt5_status make_prim(rt5__gemm_plan *plan, int idx, dnnl_engine_t engine, const dnnl_memory_desc_t *wmd,
                            dnnl_primitive_attr_t attr, bool *same, rt5__errmsg *err)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sd = {plan->rows[idx], plan->k}, wd = {plan->k, plan->n}, dd = {plan->rows[idx], plan->n};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_ab), "src md");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab), "dst md");
    if (wmd)
        wei = *wmd;
    else
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_f32, dnnl_format_tag_any), "weights md");
    dnnl_matmul_desc_t desc;
    DNNL_TRY(dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst), "matmul desc");
    dnnl_primitive_desc_t pd;
    rt5_status rs = rt5__plan_make_pd(plan, &desc, attr, engine, &pd, same, err);
    if (rs != RT5_OK)
        return rs;
    if (!wmd)
        plan->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (idx == 0)
        plan->gemm_jit = strncmp(plan->impl, "gemm:", 5) == 0;
    plan->scratch_md[idx] = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sb = dnnl_memory_desc_get_size(&plan->scratch_md[idx]);
    plan->scratch_bytes = RT5_MAX(plan->scratch_bytes, sb);
    dnnl_status_t st = dnnl_primitive_create(&plan->prims[idx], pd);
    dnnl_primitive_desc_destroy(pd);
    DNNL_TRY(st, "matmul primitive");
    return RT5_OK;
}

rt5_status rt5__gemm_plan_init(rt5__gemm_plan *plan, dnnl_engine_t engine, int32_t k, int32_t n,
                               rt5__epilogue epi, rt5__errmsg *err)
{
    return rt5__gemm_plan_init_dtype(plan, engine, k, n, epi, RT5_DTYPE_F32, err);
}

rt5_status rt5__plan_make_pd(rt5__gemm_plan *plan, const dnnl_matmul_desc_t *desc, dnnl_primitive_attr_t attr,
                             dnnl_engine_t engine, dnnl_primitive_desc_t *pd, bool *same, rt5__errmsg *err)
{
    *same = true;
    if (plan->impl[0] == 0) {
        DNNL_TRY(dnnl_primitive_desc_create(pd, desc, attr, engine, NULL), "matmul primitive desc");
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
            snprintf(plan->impl, sizeof plan->impl, "%s", impl);
        return RT5_OK;
    }
    /* oneDNN lists its implementations best first: take the first that is
     * chunk 0's (AMX and AVX-512 bf16 kernels, say, round differently) */
    dnnl_primitive_desc_iterator_t it;
    DNNL_TRY(dnnl_primitive_desc_iterator_create(&it, desc, attr, engine, NULL), "matmul primitive desc");
    dnnl_primitive_desc_t first = NULL;
    *pd = NULL;
    do {
        dnnl_primitive_desc_t cand = dnnl_primitive_desc_iterator_fetch(it);
        const char *impl = NULL;
        if (!cand)
            break;
        if (dnnl_primitive_desc_query(cand, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
            strcmp(impl, plan->impl) == 0) {
            *pd = cand;
            break;
        }
        if (!first)
            first = cand;
        else
            dnnl_primitive_desc_destroy(cand);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
    if (*pd) {
        if (first)
            dnnl_primitive_desc_destroy(first);
        return RT5_OK;
    }
    *same = false, *pd = first;
    return first ? RT5_OK : rt5__fail(err, RT5_ERR_UNSUPPORTED, "oneDNN has no matmul for a %d x %d product here",
                                      plan->k, plan->n);
}

void rt5__plan_drop_chunk(rt5__gemm_plan *plan, int i)
{
    if (plan->prims[i])
        dnnl_primitive_destroy(plan->prims[i]);
    if (plan->prims_bf16_dst[i])
        dnnl_primitive_destroy(plan->prims_bf16_dst[i]);
    for (int j = i; j + 1 < plan->n_rows; j++) {
        plan->rows[j] = plan->rows[j + 1], plan->prims[j] = plan->prims[j + 1];
        plan->prims_bf16_dst[j] = plan->prims_bf16_dst[j + 1], plan->scratch_md[j] = plan->scratch_md[j + 1];
    }
    plan->n_rows--;
    plan->rows[plan->n_rows] = 0, plan->prims[plan->n_rows] = NULL, plan->prims_bf16_dst[plan->n_rows] = NULL;
}

static bool has_rows(const rt5__gemm_plan *plan, int32_t rows)
{
    for (int i = 0; i < plan->n_rows; i++)
        if (plan->rows[i] == rows)
            return true;
    return false;
}

void rt5__plans_common_rows(rt5__gemm_plan *plans, int n)
{
    for (int p = 0; p < n; p++)
        for (int q = 0; q < n && plans[p].dtype != RT5_DTYPE_F32; q++)
            for (int i = 0; q != p && plans[q].dtype != RT5_DTYPE_F32 && i < plans[p].n_rows; i++)
                if (plans[p].n_rows > 1 && !has_rows(&plans[q], plans[p].rows[i]))
                    rt5__plan_drop_chunk(&plans[p], i--);
}

/* oneDNN 2.6's gemm:jit takes its no-copy path when 1/M + 1/N >= 0.0038
 * (computed in double, as there). */
static bool gemm_jit_no_copy(int32_t m, int32_t n)
{
    return 1.0 / m + 1.0 / n >= 0.0038;
}

/* The gemm:jit row counts of a plan with n outputs, or own_gemm (see the
 * top of the file). */
static void gemm_jit_rows(rt5__gemm_plan *plan)
{
    static const int32_t packed[] = {1024, 896, 768, 640, 512, 448, 384};
    int32_t t = RT5__ROW_ALIGN;
    while (t <= RT5__MAX_CHUNK && gemm_jit_no_copy(t, plan->n))
        t += RT5__ROW_ALIGN;
    plan->n_rows = 0;
    memset(plan->rows, 0, sizeof plan->rows);
    if (t > RT5__MAX_CHUNK) {
        plan->own_gemm = true;
        return;
    }
    for (size_t i = 0; i < RT5_ARRAY_LEN(packed) && packed[i] >= t; i++)
        plan->rows[plan->n_rows++] = packed[i];
    if (plan->n_rows == 0 || plan->rows[plan->n_rows - 1] != t)
        plan->rows[plan->n_rows++] = t;
}

/* brgemm and the low-precision plans: the largest chunk that fits, the
 * smallest (padded) when none does. gemm:jit: the largest chunk when left
 * exceeds it, else the smallest that holds left, padding the rest. */
int rt5__plan_pick_chunk(const rt5__gemm_plan *plan, int32_t left)
{
    int c = 0;
    if (!plan->gemm_jit) {
        while (c + 1 < plan->n_rows && plan->rows[c] > left)
            c++;
        return c;
    }
    if (left >= plan->rows[0])
        return 0;
    while (c + 1 < plan->n_rows && plan->rows[c + 1] >= left)
        c++;
    return c;
}

int32_t rt5__gemm_plan_rows(const rt5__gemm_plan *plan, int32_t m)
{
    int32_t rows = rt5__round_rows(m);
    if (plan->own_gemm || plan->n_rows == 0)
        return rows;
    int32_t done = 0;
    while (done < rows)
        done += plan->rows[rt5__plan_pick_chunk(plan, rows - done)];
    return done;
}

rt5_status rt5__gemm_plan_init_dtype(rt5__gemm_plan *plan, dnnl_engine_t engine, int32_t k, int32_t n,
                                     rt5__epilogue epi, rt5_dtype dtype, rt5__errmsg *err)
{
    memset(plan, 0, sizeof *plan);
    plan->k = k, plan->n = n, plan->epilogue = epi, plan->dtype = dtype;
    memcpy(plan->rows, rt5__chunk_rows, sizeof plan->rows);
    plan->n_rows = RT5__N_CHUNKS;
    if (dtype != RT5_DTYPE_F32)
        return rt5__lowp_plan_init(plan, engine, err);
    dnnl_primitive_attr_t attr = NULL;
    rt5_status st = rt5__linear_make_attr(&attr, epi, err);
    /* The largest chunk chooses the packed layout and tells which matmul
     * oneDNN runs here; on gemm:jit the row counts are ours to choose. */
    bool same = true;
    if (st == RT5_OK)
        st = make_prim(plan, 0, engine, NULL, attr, &same, err);
    if (st == RT5_OK && plan->gemm_jit) {
        gemm_jit_rows(plan);
        dnnl_primitive_destroy(plan->prims[0]);
        plan->prims[0] = NULL;
        plan->scratch_bytes = 0;
        if (plan->own_gemm) /* weights as plain (k, n) rows for the kernel */
            st = dnnl_memory_desc_init_by_tag(&plan->weights_md, 2, (dnnl_dims_t){k, n}, dnnl_f32, dnnl_ab) ==
                         dnnl_success ? RT5_OK : rt5__fail(err, RT5_ERR_INTERNAL, "oneDNN: plain weights md");
        else
            st = make_prim(plan, 0, engine, NULL, attr, &same, err);
    }
    /* The others must accept the packed layout (they do for every f32 shape
     * we measured; if not, load fails loudly) and run chunk 0's kernel: a
     * size that would not is dropped (its rows are padded to a smaller
     * chunk), so that no row's arithmetic depends on its batch. */
    for (int i = 1; st == RT5_OK && i < plan->n_rows; i++) {
        st = make_prim(plan, i, engine, &plan->weights_md, attr, &same, err);
        if (st == RT5_OK && !same)
            rt5__plan_drop_chunk(plan, i--);
    }
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (st != RT5_OK)
        rt5__gemm_plan_destroy(plan);
    return st;
}

void rt5__gemm_plan_destroy(rt5__gemm_plan *plan)
{
    for (int i = 0; i < RT5__N_CHUNKS; i++) {
        if (plan->prims[i])
            dnnl_primitive_destroy(plan->prims[i]);
        if (plan->prims_bf16_dst[i])
            dnnl_primitive_destroy(plan->prims_bf16_dst[i]);
    }
    memset(plan->prims, 0, sizeof plan->prims);
    memset(plan->prims_bf16_dst, 0, sizeof plan->prims_bf16_dst);
}

/* Allocates lin->weights in the plan's packed layout and reorders into it
 * the weights w, stored in layout user_md. */
static rt5_status reorder_in(rt5__linear *lin, const dnnl_memory_desc_t *user_md, const void *w, dnnl_engine_t engine,
                             dnnl_stream_t stream, rt5__errmsg *err)
{
    const rt5__gemm_plan *plan = lin->plan;
    DNNL_TRY(dnnl_memory_create(&lin->weights, &plan->weights_md, engine, DNNL_MEMORY_ALLOCATE),
             "packed weights");
    return rt5__linear_reorder(user_md, w, &plan->weights_md, lin->weights, engine, stream, err);
}

rt5_status rt5__linear_reorder(const dnnl_memory_desc_t *from_md, const void *from, const dnnl_memory_desc_t *to_md,
                               dnnl_memory_t to, dnnl_engine_t engine, dnnl_stream_t stream, rt5__errmsg *err)
{
    dnnl_memory_t user;
    DNNL_TRY(dnnl_memory_create(&user, from_md, engine, (void *)from), "user weights memory");
    dnnl_primitive_desc_t rpd;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&rpd, from_md, engine, to_md, engine, NULL);
    dnnl_primitive_t r = NULL;
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&r, rpd);
        dnnl_primitive_desc_destroy(rpd);
    }
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, to}};
        st = dnnl_primitive_execute(r, stream, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(stream);
    }
    if (r)
        dnnl_primitive_destroy(r);
    dnnl_memory_destroy(user);
    DNNL_TRY(st, "weight layout reorder");
    return RT5_OK;
}

rt5_status rt5__linear_pack_plain(rt5__linear *lin, const void *w, dnnl_data_type_t t, dnnl_engine_t engine,
                                  dnnl_stream_t stream, rt5__errmsg *err)
{
    dnnl_memory_desc_t user_md;
    dnnl_dims_t wd = {lin->plan->k, lin->plan->n};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&user_md, 2, wd, t, dnnl_ba), "user weights md");
    return reorder_in(lin, &user_md, w, engine, stream, err);
}

/* ------------------------------------------------------------ stored layouts */

rt5_status rt5__linear_layout_name(const dnnl_memory_desc_t *md, const char **name, rt5__errmsg *err)
{
    for (int t = dnnl_format_tag_undef + 1; t < dnnl_format_tag_last; t++) {
        dnnl_memory_desc_t probe;
        if (dnnl_memory_desc_init_by_tag(&probe, md->ndims, md->dims, md->data_type, (dnnl_format_tag_t)t) ==
                dnnl_success &&
            dnnl_memory_desc_equal(&probe, md)) {
            *name = dnnl_fmt_tag2str((dnnl_format_tag_t)t);
            return RT5_OK;
        }
    }
    return rt5__fail(err, RT5_ERR_UNSUPPORTED, "oneDNN chose a weight layout that no format tag names; "
                     "save with the portable layout instead");
}

rt5_status rt5__linear_layout_md(const char *name, int32_t k, int32_t n, dnnl_data_type_t t, dnnl_memory_desc_t *md,
                                 rt5__errmsg *err)
{
    dnnl_dims_t dims = {k, n};
    for (int tag = dnnl_format_tag_undef + 1; tag < dnnl_format_tag_last; tag++) {
        const char *s = dnnl_fmt_tag2str((dnnl_format_tag_t)tag);
        /* "any" and the "undef"/"last" names describe no stored bytes */
        if (!s || strcmp(s, name) != 0 || tag == dnnl_format_tag_any)
            continue;
        if (dnnl_memory_desc_init_by_tag(md, 2, dims, t, (dnnl_format_tag_t)tag) == dnnl_success)
            return RT5_OK;
        break;
    }
    return rt5__fail(err, RT5_ERR_FORMAT, "weight layout '%s' is not a 2-D oneDNN format tag this build knows",
                     name);
}

rt5_status rt5__linear_adopt(rt5__linear *lin, const rt5__gemm_plan *plan, const dnnl_memory_desc_t *md,
                             const void *data, dnnl_engine_t engine, dnnl_stream_t stream, bool *in_place,
                             rt5__errmsg *err)
{
    lin->plan = plan;
    lin->packed_bytes = dnnl_memory_desc_get_size(&plan->weights_md);
    *in_place = dnnl_memory_desc_equal(md, &plan->weights_md) && ((uintptr_t)data & 63) == 0;
    if (!*in_place)
        return reorder_in(lin, md, data, engine, stream, err);
    /* oneDNN only reads a matmul's weights, so the read-only mapping serves */
    DNNL_TRY(dnnl_memory_create(&lin->weights, &plan->weights_md, engine, (void *)data), "stored weights memory");
    return RT5_OK;
}

rt5_status rt5__linear_pack(rt5__linear *lin, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                            dnnl_stream_t stream, const float *const *parts, const int32_t *rows,
                            int n_parts, rt5__errmsg *err)
{
    rt5__linear keep = *lin; /* int8 outlier handling, set beforehand by quantize.c */
    memset(lin, 0, sizeof *lin);
    lin->plan = plan, lin->inv_smooth = keep.inv_smooth, lin->n_outliers = keep.n_outliers;
    lin->outlier_idx = keep.outlier_idx, lin->outlier_w = keep.outlier_w;
    const float *src = parts[0];
    float *joined = NULL;
    if (n_parts > 1) { /* stack the row blocks: (sum rows, k) */
        size_t bytes = (size_t)plan->n * (size_t)plan->k * sizeof(float), at = 0;
        joined = malloc(bytes);
        if (!joined)
            return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "packing weights: %zu bytes", bytes);
        for (int i = 0; i < n_parts; i++) {
            size_t part = (size_t)rows[i] * (size_t)plan->k;
            memcpy(joined + at, parts[i], part * sizeof(float));
            at += part;
        }
        src = joined;
    }
    rt5_status st = RT5_OK;
    if (plan->dtype != RT5_DTYPE_F32)
        st = rt5__lowp_pack(lin, engine, stream, src, err);
    else
        st = rt5__linear_pack_plain(lin, src, dnnl_f32, engine, stream, err);
    lin->packed_bytes = dnnl_memory_desc_get_size(&plan->weights_md);
    free(joined);
    return st;
}

void rt5__linear_destroy(rt5__linear *lin)
{
    rt5__lowp_destroy(lin);
    if (lin->weights)
        dnnl_memory_destroy(lin->weights);
    lin->weights = NULL;
}

rt5_status rt5__linear_bind(rt5__linear_binding *b, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                            void *scratchpad, rt5__errmsg *err)
{
    if (plan->dtype != RT5_DTYPE_F32)
        return rt5__lowp_bind(b, plan, engine, scratchpad, err);
    memset(b, 0, sizeof *b);
    for (int i = 0; i < plan->n_rows; i++) {
        dnnl_memory_desc_t src, dst;
        dnnl_dims_t sd = {plan->rows[i], plan->k}, dd = {plan->rows[i], plan->n};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_ab), "src md");
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab), "dst md");
        /* handles are placeholders until run sets them */
        DNNL_TRY(dnnl_memory_create(&b->src[i], &src, engine, DNNL_MEMORY_NONE), "src memory");
        DNNL_TRY(dnnl_memory_create(&b->dst[i], &dst, engine, DNNL_MEMORY_NONE), "dst memory");
        DNNL_TRY(dnnl_memory_create(&b->scratch[i], &plan->scratch_md[i], engine, scratchpad), "scratchpad memory");
    }
    return RT5_OK;
}

void rt5__linear_unbind(rt5__linear_binding *b)
{
    rt5__lowp_unbind(b);
    for (int i = 0; i < RT5__N_CHUNKS; i++) {
        if (b->src[i])
            dnnl_memory_destroy(b->src[i]);
        if (b->dst[i])
            dnnl_memory_destroy(b->dst[i]);
        if (b->scratch[i])
            dnnl_memory_destroy(b->scratch[i]);
        if (b->dst_bf16[i])
            dnnl_memory_destroy(b->dst_bf16[i]);
    }
    memset(b, 0, sizeof *b);
}

/* y = x . W (+ y, or ReLU) with the kernel table's gemm on plain (k, n)
 * weights, in blocks of 8 rows shared among the threads: each output sums k
 * in order whatever the rows and threads (own_gemm plans). */
static rt5_status own_gemm_run(const rt5__linear *lin, const float *x, float *y, int32_t m)
{
    const rt5__gemm_plan *plan = lin->plan;
    const rt5__kernels *kern = rt5__kernels_get();
    const float *w = NULL;
    if (dnnl_memory_get_data_handle(lin->weights, (void **)&w) != dnnl_success || !w)
        return RT5_ERR_INTERNAL;
    int32_t rows = rt5__round_rows(m), k = plan->k, n = plan->n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t r = 0; r < rows; r += RT5__ROW_ALIGN) {
        const float *xr = x + (size_t)r * k;
        float *yr = y + (size_t)r * n;
        if (plan->epilogue == RT5__EPI_ACCUMULATE) {
            kern->gemm_acc(RT5__ROW_ALIGN, n, k, xr, (size_t)k, w, (size_t)n, yr, (size_t)n);
            continue;
        }
        kern->gemm_set(RT5__ROW_ALIGN, n, k, xr, (size_t)k, w, (size_t)n, yr, (size_t)n);
        if (plan->epilogue == RT5__EPI_RELU)
            for (size_t j = 0; j < (size_t)RT5__ROW_ALIGN * n; j++)
                yr[j] = yr[j] > 0.0f ? yr[j] : 0.0f;
    }
    return RT5_OK;
}

rt5_status rt5__linear_run(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream,
                           const float *x, float *y, int32_t m)
{
    const rt5__gemm_plan *plan = lin->plan;
    if (plan->dtype != RT5_DTYPE_F32)
        return rt5__lowp_run(lin, b, stream, x, y, m);
    if (plan->own_gemm)
        return own_gemm_run(lin, x, y, m);
    int32_t rows = rt5__round_rows(m), done = 0;
    while (done < rows) {
        int c = rt5__plan_pick_chunk(plan, rows - done);
        dnnl_status_t st = dnnl_memory_set_data_handle(b->src[c], (void *)(x + (size_t)done * plan->k));
        if (st == dnnl_success)
            st = dnnl_memory_set_data_handle(b->dst[c], y + (size_t)done * plan->n);
        if (st == dnnl_success) {
            dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, b->src[c]},
                                       {DNNL_ARG_WEIGHTS, lin->weights},
                                       {DNNL_ARG_DST, b->dst[c]},
                                       {DNNL_ARG_SCRATCHPAD, b->scratch[c]}};
            st = dnnl_primitive_execute(plan->prims[c], stream, 4, args);
        }
        if (st != dnnl_success)
            return RT5_ERR_INTERNAL;
        done += plan->rows[c];
    }
    return dnnl_stream_wait(stream) == dnnl_success ? RT5_OK : RT5_ERR_INTERNAL;
}

rt5_status rt5__linear_run_ffn(const rt5__linear *wi, rt5__linear_binding *bwi, const rt5__linear *wo,
                               rt5__linear_binding *bwo, dnnl_stream_t stream, const float *x, float *tmp,
                               float *y, int32_t m)
{
    if (wi->plan->dtype != RT5_DTYPE_F32)
        return rt5__lowp_run_ffn(wi, bwi, wo, bwo, stream, x, y, m);
    rt5_status st = rt5__linear_run(wi, bwi, stream, x, tmp, m);
    return st == RT5_OK ? rt5__linear_run(wo, bwo, stream, tmp, y, m) : st;
}
