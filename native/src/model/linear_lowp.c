/*
 * linear_lowp.c -- the bf16 and int8 halves of the linear layer (linear.h):
 * plans, weight packing, per-session buffers and the run, for
 * plan->dtype == RT5_DTYPE_BF16 or RT5_DTYPE_INT8. linear.c dispatches here.
 *
 * The interface stays f32 in, f32 out, so the forward pass does not change
 * with the dtype; each chunk of rows is converted on the way in:
 *
 *   BF16: x (rows, k) f32 -> bf16 (round to nearest even) -> oneDNN matmul
 *         with bf16 weights packed once at load, f32 accumulation and f32
 *         dst, the same post-ops as f32 (ReLU, or the residual sum).
 *   INT8: x (rows, k) f32 -> u8, each row (token) with its own scale sx and
 *         zero point zp (asymmetric, so ReLU outputs use the full 0..255 and
 *         signed rows keep 0 exact) -> oneDNN u8 x s8 -> s32 matmul against
 *         weights quantized per output channel (symmetric s8, scale sw[n])
 *         -> y = sx * sw[n] * (acc - zp * colsum[n]) (+ ReLU or += residual),
 *         where colsum[n] = sum_k Wq[n][k] folds the zero point out exactly.
 *         An optional per-input-channel smoothing vector divides activation
 *         column j and multiplies weight column j (SmoothQuant-style), which
 *         moves outlier channels' range from the activations to the weights.
 *
 * Why u8 and not s8 activations: VNNI's vpdpbusd multiplies u8 by s8; with
 * s8 activations oneDNN would have to add compensation itself.
 */
#include "model/linear.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/cpu.h"
#include "kernels/kernels.h"
#include "kernels/lowp.h"

/* Rows converted and multiplied at a time. Smaller than RT5__MAX_CHUNK so
 * that the per-session buffers (the s32 products of a 16384-wide layer are
 * 4 bytes x rows x 16384) stay small next to the weights; the weights are
 * re-read per 256 rows, from L3 (they are 12-17 MB in int8). */
#define LOWP_MAX_ROWS 256

/* Element-wise passes over fewer values than this run on the calling thread.
 * Every parallel region ends in a barrier that waits for the other thread
 * to be scheduled: a few microseconds on an idle machine, milliseconds on a
 * busy one (measured on the shared 2-core box: with the convert passes of a
 * 1024-wide input or output in regions of their own, convert took 33% of an
 * int8 pass; with those passes -- 50-80 us each -- serial, 16-19%). At 2^19
 * the (256, 1024) passes run here and the (256, 4096+) ones are shared. */
#define PARALLEL_MIN ((size_t)1 << 19)

static dnnl_data_type_t src_type(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? dnnl_u8 : dnnl_bf16;
}
static dnnl_data_type_t wei_type(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? dnnl_s8 : dnnl_bf16;
}
static dnnl_data_type_t dst_type(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? dnnl_s32 : dnnl_f32;
}
static size_t src_elem(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? 1 : 2;
}

/* The primitive for chunk idx into *prim; bf16_dst: write bf16 instead of
 * the dtype's usual dst. The first one chooses the packed weight layout. */
static rt5_status make_prim(rt5__gemm_plan *plan, int idx, dnnl_engine_t engine, dnnl_primitive_attr_t attr,
                            bool bf16_dst, dnnl_primitive_t *prim, bool *same, rt5__errmsg *err)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sd = {plan->rows[idx], plan->k}, wd = {plan->k, plan->n}, dd = {plan->rows[idx], plan->n};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, src_type(plan->dtype), dnnl_ab), "src md");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, bf16_dst ? dnnl_bf16 : dst_type(plan->dtype), dnnl_ab),
             "dst md");
    if (idx > 0 || bf16_dst)
        wei = plan->weights_md;
    else
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wei, 2, wd, wei_type(plan->dtype), dnnl_format_tag_any),
                 "weights md");
    dnnl_matmul_desc_t desc;
    DNNL_TRY(dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst), "matmul desc");
    dnnl_primitive_desc_t pd;
    rt5_status rs = rt5__plan_make_pd(plan, &desc, attr, engine, &pd, same, err);
    if (rs != RT5_OK)
        return rs;
    if (idx == 0 && !bf16_dst)
        plan->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    /* the binding's scratchpad memory gets the larger of the two sets' */
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sb = dnnl_memory_desc_get_size(smd);
    if (!bf16_dst || sb > dnnl_memory_desc_get_size(&plan->scratch_md[idx]))
        plan->scratch_md[idx] = *smd;
    plan->scratch_bytes = RT5_MAX(plan->scratch_bytes, sb);
    dnnl_status_t st = dnnl_primitive_create(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    DNNL_TRY(st, "low-precision matmul primitive");
    return RT5_OK;
}

rt5_status rt5__lowp_plan_init(rt5__gemm_plan *plan, dnnl_engine_t engine, rt5__errmsg *err)
{
    if (plan->dtype != RT5_DTYPE_BF16 && plan->dtype != RT5_DTYPE_INT8)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "compute dtype %s is not supported (f32, bf16 or int8)",
                         rt5_dtype_name(plan->dtype));
    if (plan->dtype == RT5_DTYPE_BF16 && !rt5__cpu_bf16_native())
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "%s", rt5__cpu_get()->bf16_why);
    /* u8 x s8 products and zp * colsum must stay inside s32: 255 * 127 * k */
    if (plan->dtype == RT5_DTYPE_INT8 && plan->k > INT32_MAX / (255 * 127))
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "int8: %d input features would overflow the s32 products "
                         "(at most %d)", plan->k, INT32_MAX / (255 * 127));
    /* without VNNI, each product runs as two whose pair sums fit s16 */
    plan->u8_split = !rt5__cpu_int8_vnni();
    dnnl_primitive_attr_t attr = NULL;
    /* bf16 keeps the f32 post-ops; int8 rescales in rt5__dequant_row. */
    rt5__epilogue epi = plan->dtype == RT5_DTYPE_INT8 ? RT5__EPI_NONE : plan->epilogue;
    rt5_status st = rt5__linear_make_attr(&attr, epi, err);
    bool chain = plan->dtype == RT5_DTYPE_BF16 && plan->epilogue == RT5__EPI_RELU;
    /* Chunk 0 (1024 rows) picks the weight layout and the kernel; a smaller
     * size whose best kernel is another one (AVX-512 bf16 instead of AMX for
     * 8 rows, say, which rounds differently) is dropped, so a row's result
     * does not depend on its batch. Chunks over LOWP_MAX_ROWS are not run. */
    for (int i = 0; st == RT5_OK && i < plan->n_rows; i++) {
        bool same = true, same_bf16 = true;
        st = make_prim(plan, i, engine, attr, false, &plan->prims[i], &same, err);
        if (st == RT5_OK && chain)
            st = make_prim(plan, i, engine, attr, true, &plan->prims_bf16_dst[i], &same_bf16, err);
        if (st == RT5_OK && (!same || !same_bf16))
            rt5__plan_drop_chunk(plan, i--);
    }
    while (st == RT5_OK && plan->n_rows > 0 && plan->rows[0] > LOWP_MAX_ROWS)
        rt5__plan_drop_chunk(plan, 0);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (st != RT5_OK)
        rt5__gemm_plan_destroy(plan);
    return st;
}

/* ------------------------------------------------------------ packing */

/* Per output channel symmetric s8: fills w_scale, w_colsum and q (n, k). */
static void quantize_weights(rt5__linear *lin, const float *w, int8_t *q)
{
    const rt5__gemm_plan *plan = lin->plan;
    const float *col_mul = NULL;
    float *smooth = NULL;
    if (lin->inv_smooth) { /* the weights take the inverse of the activations' factor */
        smooth = malloc(sizeof(float) * (size_t)plan->k);
        if (smooth)
            for (int32_t j = 0; j < plan->k; j++) /* 0: an outlier channel, computed apart */
                smooth[j] = lin->inv_smooth[j] > 0 ? 1.0f / lin->inv_smooth[j] : 0.0f;
        col_mul = smooth;
    }
#ifdef _OPENMP
#pragma omp parallel for
#endif
    for (int32_t r = 0; r < plan->n; r++)
        lin->w_scale[r] = rt5__quantize_weight_row_s8(q + (size_t)r * plan->k, w + (size_t)r * plan->k, col_mul,
                                                       plan->k, &lin->w_colsum[r]);
    free(smooth);
}

rt5_status rt5__lowp_pack(rt5__linear *lin, dnnl_engine_t engine, dnnl_stream_t stream, const float *w,
                          rt5__errmsg *err)
{
    const rt5__gemm_plan *plan = lin->plan;
    if (plan->dtype == RT5_DTYPE_BF16)
        return rt5__linear_pack_plain(lin, w, dnnl_f32, engine, stream, err);
    size_t n = (size_t)plan->n, k = (size_t)plan->k;
    lin->w_scale = malloc(sizeof(float) * n);
    lin->w_colsum = malloc(sizeof(int32_t) * n);
    /* mmap, not malloc: after glibc frees one such block it raises its mmap
     * threshold, later ones come from the heap and stay resident */
    int8_t *q = mmap(NULL, n * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        q = NULL;
    rt5_status st = RT5_OK;
    if (!lin->w_scale || !lin->w_colsum || !q)
        st = rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "quantizing weights (%zu x %zu)", n, k);
    if (st == RT5_OK) {
        quantize_weights(lin, w, q);
        st = rt5__linear_pack_plain(lin, q, dnnl_s8, engine, stream, err);
    }
    if (q)
        munmap(q, n * k);
    return st;
}

void rt5__lowp_destroy(rt5__linear *lin)
{
    if (lin->borrowed) /* pointers into a converted file's mapping */
        lin->w_scale = NULL, lin->w_colsum = NULL, lin->inv_smooth = NULL, lin->outlier_idx = NULL,
        lin->outlier_w = NULL;
    free(lin->w_scale);
    free(lin->w_colsum);
    free(lin->inv_smooth);
    free(lin->outlier_idx);
    free(lin->outlier_w);
    lin->w_scale = NULL, lin->w_colsum = NULL, lin->inv_smooth = NULL;
    lin->outlier_idx = NULL, lin->outlier_w = NULL, lin->n_outliers = 0;
}

/* ------------------------------------------------------------ sessions */

rt5_status rt5__lowp_bind(rt5__linear_binding *b, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                          void *scratchpad, rt5__errmsg *err)
{
    memset(b, 0, sizeof *b);
    size_t rows = LOWP_MAX_ROWS, k = (size_t)plan->k, n = (size_t)plan->n;
    b->lowp_src = aligned_alloc(64, (rows * k * src_elem(plan->dtype) + 63) / 64 * 64);
    if (plan->dtype == RT5_DTYPE_INT8) {
        b->acc = aligned_alloc(64, rows * n * sizeof(int32_t));
        b->row_scale = malloc(rows * sizeof(float));
        b->row_zp = malloc(rows * sizeof(int32_t));
        b->outlier_x = calloc(rows * RT5__MAX_OUTLIERS, sizeof(float));
#ifdef _OPENMP
        b->n_tmp_rows = plan->epilogue == RT5__EPI_RELU ? omp_get_max_threads() : 0;
#else
        b->n_tmp_rows = plan->epilogue == RT5__EPI_RELU ? 1 : 0;
#endif
        b->row_tmp = b->n_tmp_rows ? malloc((size_t)b->n_tmp_rows * n * sizeof(float)) : NULL;
        if (plan->u8_split) {
            b->lowp_src_hi = aligned_alloc(64, (rows * k + 63) / 64 * 64);
            b->acc_hi = aligned_alloc(64, rows * n * sizeof(int32_t));
            if (!b->lowp_src_hi || !b->acc_hi)
                return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "session: int8 split buffers for a %zu x %zu product",
                                 k, n);
        }
    }
    if (!b->lowp_src || (plan->dtype == RT5_DTYPE_INT8 && (!b->acc || !b->row_scale || !b->row_zp ||
                                                          !b->outlier_x || (b->n_tmp_rows && !b->row_tmp))))
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "session: low-precision buffers for a %zu x %zu product", k, n);
    for (int i = 0; i < plan->n_rows; i++) {
        dnnl_memory_desc_t src, dst;
        dnnl_dims_t sd = {plan->rows[i], plan->k}, dd = {plan->rows[i], plan->n};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, src_type(plan->dtype), dnnl_ab), "src md");
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dst_type(plan->dtype), dnnl_ab), "dst md");
        DNNL_TRY(dnnl_memory_create(&b->src[i], &src, engine, b->lowp_src), "src memory");
        DNNL_TRY(dnnl_memory_create(&b->dst[i], &dst, engine,
                                    plan->dtype == RT5_DTYPE_INT8 ? (void *)b->acc : DNNL_MEMORY_NONE),
                 "dst memory");
        DNNL_TRY(dnnl_memory_create(&b->scratch[i], &plan->scratch_md[i], engine, scratchpad), "scratchpad memory");
        if (b->lowp_src_hi) {
            DNNL_TRY(dnnl_memory_create(&b->src_hi[i], &src, engine, b->lowp_src_hi), "src memory");
            DNNL_TRY(dnnl_memory_create(&b->dst_hi[i], &dst, engine, b->acc_hi), "dst memory");
        }
        if (plan->prims_bf16_dst[i]) {
            DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_bf16, dnnl_ab), "bf16 dst md");
            DNNL_TRY(dnnl_memory_create(&b->dst_bf16[i], &dst, engine, DNNL_MEMORY_NONE), "bf16 dst memory");
        }
    }
    return RT5_OK;
}

/* Frees the low-precision buffers; linear.c's unbind destroys the memory
 * objects. A no-op on an f32 binding. */
void rt5__lowp_unbind(rt5__linear_binding *b)
{
    free(b->lowp_src);
    free(b->acc);
    free(b->row_scale);
    free(b->row_zp);
    free(b->outlier_x);
    free(b->row_tmp);
    free(b->lowp_src_hi);
    free(b->acc_hi);
    for (int i = 0; i < RT5__N_CHUNKS; i++) {
        if (b->src_hi[i])
            dnnl_memory_destroy(b->src_hi[i]);
        if (b->dst_hi[i])
            dnnl_memory_destroy(b->dst_hi[i]);
        b->src_hi[i] = NULL, b->dst_hi[i] = NULL;
    }
    b->lowp_src_hi = NULL, b->acc_hi = NULL;
    b->lowp_src = NULL, b->acc = NULL, b->row_scale = NULL, b->row_zp = NULL;
    b->outlier_x = NULL, b->row_tmp = NULL;
}

/* ------------------------------------------------------------ the run */

static void convert_chunk(const rt5__linear *lin, rt5__linear_binding *b, const float *x, int32_t rows)
{
    const rt5__gemm_plan *plan = lin->plan;
    size_t k = (size_t)plan->k;
    if (plan->dtype == RT5_DTYPE_BF16) {
        uint16_t *dst = b->lowp_src;
#ifdef _OPENMP
#pragma omp parallel for if ((size_t)rows * k >= PARALLEL_MIN)
#endif
        for (int32_t r = 0; r < rows; r++)
            rt5__f32_to_bf16(dst + (size_t)r * k, x + (size_t)r * k, k);
        return;
    }
    uint8_t *dst = b->lowp_src;
    const rt5__kernels *kern = rt5__kernels_get();
#ifdef _OPENMP
#pragma omp parallel for if ((size_t)rows * k >= PARALLEL_MIN)
#endif
    for (int32_t r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * k;
        kern->quantize_row_u8(dst + (size_t)r * k, row, lin->inv_smooth, (int)k, &b->row_scale[r], &b->row_zp[r]);
        for (int32_t o = 0; o < lin->n_outliers; o++)
            b->outlier_x[(size_t)r * RT5__MAX_OUTLIERS + o] = row[lin->outlier_idx[o]];
    }
}

/* y[j0 .. j0+len) of row r += its outlier channels' f32 products. */
static void add_outliers(const rt5__linear *lin, const rt5__linear_binding *b, int32_t r, float *y, int32_t j0,
                         int32_t len)
{
    int32_t n = lin->plan->n;
    for (int32_t o = 0; o < lin->n_outliers; o++) {
        float xv = b->outlier_x[(size_t)r * RT5__MAX_OUTLIERS + o];
        const float *w = lin->outlier_w + (size_t)o * n + j0;
        if (xv != 0.0f)
            for (int32_t j = 0; j < len; j++)
                y[j] += xv * w[j];
    }
}

static void relu_inplace(float *y, int32_t n)
{
    for (int32_t j = 0; j < n; j++)
        y[j] = y[j] > 0.0f ? y[j] : 0.0f;
}

/* Outputs of at least this many bytes (a whole call's, all chunks) are
 * written with non-temporal stores: about the L3 size, so that they would
 * not stay in cache until they are read. */
#define STREAM_MIN_BYTES ((size_t)32 << 20)

/* y rows of the chunk from the s32 products, in column blocks so that
 * both cores share even a few-row chunk of a wide output. stream: a large
 * plain output (see STREAM_MIN_BYTES), written past the caches. */
static void dequant_chunk(const rt5__linear *lin, const rt5__linear_binding *b, float *y, int32_t rows,
                          bool stream)
{
    const rt5__gemm_plan *plan = lin->plan;
    /* ReLU comes after the outlier channels are added back */
    rt5__dequant_mode mode = plan->epilogue == RT5__EPI_ACCUMULATE ? RT5__DEQUANT_ACCUMULATE
                             : stream && plan->epilogue == RT5__EPI_NONE && lin->n_outliers == 0
                                 ? RT5__DEQUANT_SET_STREAM
                                 : RT5__DEQUANT_SET;
    int32_t n = plan->n, block = 512, n_blocks = (n + block - 1) / block;
    const rt5__kernels *kern = rt5__kernels_get();
#ifdef _OPENMP
#pragma omp parallel for collapse(2) if ((size_t)rows * n >= PARALLEL_MIN)
#endif
    for (int32_t r = 0; r < rows; r++)
        for (int32_t cb = 0; cb < n_blocks; cb++) {
            int32_t j0 = cb * block, len = RT5_MIN(block, n - j0);
            float *yr = y + (size_t)r * n + j0;
            kern->dequant_row(yr, b->acc + (size_t)r * n + j0, len, b->row_scale[r], b->row_zp[r], lin->w_scale + j0,
                             lin->w_colsum + j0, mode);
            add_outliers(lin, b, r, yr, j0, len);
            if (plan->epilogue == RT5__EPI_RELU)
                relu_inplace(yr, len);
        }
}

static dnnl_status_t execute(dnnl_primitive_t prim, const rt5__linear *lin, dnnl_memory_t src, dnnl_memory_t dst,
                             dnnl_memory_t scratch, dnnl_stream_t stream)
{
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, lin->weights},
                               {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCRATCHPAD, scratch}};
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, 4, args);
    return st == dnnl_success ? dnnl_stream_wait(stream) : st;
}

/* The s32 products of chunk c into b->acc. With u8_split (no VNNI) the codes
 * are halved first and the two exact products summed (lowp.h): the same
 * integers VNNI computes, at twice the multiply count. */
static dnnl_status_t int8_execute(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream, int c)
{
    const rt5__gemm_plan *plan = lin->plan;
    if (!plan->u8_split)
        return execute(plan->prims[c], lin, b->src[c], b->dst[c], b->scratch[c], stream);
    size_t rows = (size_t)plan->rows[c], k = (size_t)plan->k, n = (size_t)plan->n;
    rt5__u8_split(b->lowp_src, b->lowp_src_hi, rows * k);
    dnnl_status_t st = execute(plan->prims[c], lin, b->src[c], b->dst[c], b->scratch[c], stream);
    if (st == dnnl_success)
        st = execute(plan->prims[c], lin, b->src_hi[c], b->dst_hi[c], b->scratch[c], stream);
    if (st != dnnl_success)
        return st;
#ifdef _OPENMP
#pragma omp parallel for if (rows * n >= PARALLEL_MIN)
#endif
    for (size_t r = 0; r < rows; r++)
        rt5__add_s32(b->acc + r * n, b->acc_hi + r * n, n);
    return dnnl_success;
}

/* Chunk c of rows whose input already sits converted in b->lowp_src: the
 * product, then (int8) the rescale into y (stream_y: see dequant_chunk). */
static rt5_status product_chunk(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream, int c,
                                float *y, bool stream_y)
{
    dnnl_status_t st = dnnl_success;
    if (lin->plan->dtype == RT5_DTYPE_BF16)
        st = dnnl_memory_set_data_handle(b->dst[c], y);
    if (st == dnnl_success)
        st = lin->plan->dtype == RT5_DTYPE_INT8 ? int8_execute(lin, b, stream, c)
                                                : execute(lin->plan->prims[c], lin, b->src[c], b->dst[c], b->scratch[c],
                                                          stream);
    if (st != dnnl_success)
        return RT5_ERR_INTERNAL;
    if (lin->plan->dtype == RT5_DTYPE_INT8) {
        double t0 = rt5__now_seconds();
        dequant_chunk(lin, b, y, lin->plan->rows[c], stream_y);
        b->convert_seconds += rt5__now_seconds() - t0;
    }
    return RT5_OK;
}

static void timed_convert(const rt5__linear *lin, rt5__linear_binding *b, const float *x, int32_t rows)
{
    double t0 = rt5__now_seconds();
    convert_chunk(lin, b, x, rows);
    b->convert_seconds += rt5__now_seconds() - t0;
}

rt5_status rt5__lowp_run(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream,
                         const float *x, float *y, int32_t m)
{
    const rt5__gemm_plan *plan = lin->plan;
    int32_t rows = rt5__round_rows(m), done = 0;
    bool stream_y = (size_t)rows * (size_t)plan->n * sizeof(float) >= STREAM_MIN_BYTES;
    while (done < rows) {
        int c = rt5__plan_pick_chunk(plan, rows - done);
        timed_convert(lin, b, x + (size_t)done * plan->k, plan->rows[c]);
        rt5_status st = product_chunk(lin, b, stream, c, y + (size_t)done * plan->n, stream_y);
        if (st != RT5_OK)
            return st;
        done += plan->rows[c];
    }
    return RT5_OK;
}

/* One row r of requant_chunk through tmp (n floats). Without outlier
 * channels in wi, ReLU can come with the rescale and the range with it (one
 * fused kernel); with them, the f32 outlier products go in before ReLU. */
static void requant_row(const rt5__kernels *kern, const rt5__linear *wi, const rt5__linear_binding *bwi,
                        const rt5__linear *wo, rt5__linear_binding *bwo, int32_t r, float *tmp)
{
    int32_t n = wi->plan->n;
    uint8_t *q = (uint8_t *)bwo->lowp_src + (size_t)r * n;
    const int32_t *acc = bwi->acc + (size_t)r * n;
    if (wi->n_outliers == 0) {
        kern->requant_row_relu_u8(q, tmp, acc, n, bwi->row_scale[r], bwi->row_zp[r], wi->w_scale, wi->w_colsum,
                                  wo->inv_smooth, &bwo->row_scale[r], &bwo->row_zp[r]);
    } else {
        kern->dequant_row(tmp, acc, n, bwi->row_scale[r], bwi->row_zp[r], wi->w_scale, wi->w_colsum,
                          RT5__DEQUANT_SET);
        add_outliers(wi, bwi, r, tmp, 0, n);
        relu_inplace(tmp, n);
        kern->quantize_row_u8(q, tmp, wo->inv_smooth, n, &bwo->row_scale[r], &bwo->row_zp[r]);
    }
    for (int32_t o = 0; o < wo->n_outliers; o++) /* wo's outlier inputs: the f32 ReLU outputs */
        bwo->outlier_x[(size_t)r * RT5__MAX_OUTLIERS + o] = tmp[wo->outlier_idx[o]];
}

/* int8: wi's s32 products of a chunk -> ReLU -> u8 rows of wo's input. */
static void requant_chunk(const rt5__linear *wi, const rt5__linear_binding *bwi, const rt5__linear *wo,
                          rt5__linear_binding *bwo, int32_t rows)
{
    int32_t n = wi->plan->n;
    const rt5__kernels *kern = rt5__kernels_get();
#ifdef _OPENMP
#pragma omp parallel for num_threads(RT5_MIN(omp_get_max_threads(), bwi->n_tmp_rows)) if ((size_t)rows * n >= PARALLEL_MIN)
#endif
    for (int32_t r = 0; r < rows; r++) {
#ifdef _OPENMP
        float *tmp = bwi->row_tmp + (size_t)omp_get_thread_num() * n;
#else
        float *tmp = bwi->row_tmp; /* one thread, one row */
        (void)n;
#endif
        requant_row(kern, wi, bwi, wo, bwo, r, tmp);
    }
}

/* wi's product of chunk c, leaving wo's input converted in bwo->lowp_src. */
static rt5_status inner_chunk(const rt5__linear *wi, rt5__linear_binding *bwi, const rt5__linear *wo,
                              rt5__linear_binding *bwo, dnnl_stream_t stream, int c)
{
    dnnl_status_t st;
    if (wi->plan->dtype == RT5_DTYPE_BF16) {
        st = dnnl_memory_set_data_handle(bwi->dst_bf16[c], bwo->lowp_src);
        if (st == dnnl_success)
            st = execute(wi->plan->prims_bf16_dst[c], wi, bwi->src[c], bwi->dst_bf16[c], bwi->scratch[c], stream);
        return st == dnnl_success ? RT5_OK : RT5_ERR_INTERNAL;
    }
    st = int8_execute(wi, bwi, stream, c);
    if (st != dnnl_success)
        return RT5_ERR_INTERNAL;
    double t0 = rt5__now_seconds();
    requant_chunk(wi, bwi, wo, bwo, wi->plan->rows[c]);
    bwi->convert_seconds += rt5__now_seconds() - t0;
    return RT5_OK;
}

rt5_status rt5__lowp_run_ffn(const rt5__linear *wi, rt5__linear_binding *bwi, const rt5__linear *wo,
                             rt5__linear_binding *bwo, dnnl_stream_t stream, const float *x, float *y, int32_t m)
{
    if (wi->plan->epilogue != RT5__EPI_RELU || wo->plan->k != wi->plan->n ||
        (wi->plan->dtype == RT5_DTYPE_BF16 && !wi->plan->prims_bf16_dst[0]) || wi->plan->n_rows != wo->plan->n_rows ||
        memcmp(wi->plan->rows, wo->plan->rows, sizeof wi->plan->rows) != 0) /* rt5__plans_common_rows */
        return RT5_ERR_INTERNAL;
    int32_t rows = rt5__round_rows(m), done = 0;
    while (done < rows) {
        int c = rt5__plan_pick_chunk(wi->plan, rows - done);
        timed_convert(wi, bwi, x + (size_t)done * wi->plan->k, wi->plan->rows[c]);
        rt5_status st = inner_chunk(wi, bwi, wo, bwo, stream, c);
        if (st == RT5_OK)
            st = product_chunk(wo, bwo, stream, c, y + (size_t)done * wo->plan->n, false);
        if (st != RT5_OK)
            return st;
        done += wi->plan->rows[c];
    }
    return RT5_OK;
}
