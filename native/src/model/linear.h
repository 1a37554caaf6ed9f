/*
 * linear.h -- the forward pass's matrix products, y = x . W^T, behind a small
 * interface so that compute types (f32 now; bf16/int8 later) differ only here.
 *
 * A "plan" is one GEMM shape (in_features k, out_features n, an epilogue) and
 * owns oneDNN matmul primitives for a fixed set of row counts; a batch of M
 * rows runs as a few chunks of those sizes (M rounded up to 8). The weights of
 * a "linear" are packed once, at load, into the blocked layout those
 * primitives prefer (the same layout for every row count). Primitives use a
 * caller-provided scratchpad, so running allocates nothing and one plan can
 * serve many sessions at once; each session binds its own memory objects
 * (rt5__linear_binding) to its buffers.
 */
#ifndef RT5_MODEL_LINEAR_H
#define RT5_MODEL_LINEAR_H

#include <oneapi/dnnl/dnnl.h>

#include "core/common.h"
#include "core/cpu.h"

/* Row counts a batch is cut into; M is first rounded up to RT5__ROW_ALIGN. */
#define RT5__ROW_ALIGN 8
#define RT5__N_CHUNKS 8
#define RT5__MAX_CHUNK 1024

typedef enum rt5__epilogue {
    RT5__EPI_NONE = 0,   /* y  = x . W^T                                  */
    RT5__EPI_RELU,       /* y  = max(0, x . W^T)                          */
    RT5__EPI_ACCUMULATE, /* y += x . W^T (the residual add, fused)        */
    RT5__EPI_COUNT
} rt5__epilogue;

typedef struct rt5__gemm_plan {
    int32_t k, n;
    rt5__epilogue epilogue;
    rt5_dtype dtype;                          /* F32, BF16 or INT8 (linear_lowp.c) */
    bool u8_split;                            /* INT8 without VNNI: run each product
                                                 as two exact halves (lowp.h) */
    dnnl_memory_desc_t weights_md;            /* packed layout, (k, n)     */
    /* F32: the row counts of prims[], largest first (n_rows of them; 0
     * after). rt5__chunk_rows on oneDNN's brgemm; on its gemm:jit (CPUs
     * without AVX-512) the sizes that keep every row on one summation order
     * (linear.c, "batch invariance"). BF16/INT8 use rt5__chunk_rows. */
    int32_t rows[RT5__N_CHUNKS];
    int32_t n_rows;
    bool gemm_jit;                            /* F32: oneDNN runs gemm:jit */
    bool own_gemm;                            /* F32 on gemm:jit, widths whose rows
                                                 gemm:jit cannot keep on one order:
                                                 the kernel table's gemm instead  */
    char impl[64];                            /* oneDNN's implementation of chunk 0;
                                                 every chunk runs the same one   */
    dnnl_primitive_t prims[RT5__N_CHUNKS];    /* rows = rows[i] (f32), or
                                                 rt5__chunk_rows[i]        */
    dnnl_memory_desc_t scratch_md[RT5__N_CHUNKS];
    size_t scratch_bytes;                     /* max over the chunks       */
    /* BF16 + ReLU plans only: the same products writing bf16, so that the
     * FFN's inner activations go straight into the next GEMM's input
     * (rt5__linear_run_ffn). */
    dnnl_primitive_t prims_bf16_dst[RT5__N_CHUNKS];
} rt5__gemm_plan;

typedef struct rt5__linear {
    const rt5__gemm_plan *plan;
    dnnl_memory_t weights; /* packed copy, owned */
    size_t packed_bytes;
    /* INT8 only (owned): y[n] = w_scale[n] * sx * (acc[n] - zp_x * w_colsum[n]) */
    float *w_scale;    /* (n) per output channel: max|W[n][:]| / 127        */
    int32_t *w_colsum; /* (n) sum over k of the quantized W[n][:]           */
    float *inv_smooth; /* (k) or NULL: activation column j is multiplied by
                          inv_smooth[j] before quantization (the weights'
                          column j was multiplied by 1/inv_smooth[j]); 0 marks
                          an outlier channel                                */
    int32_t n_outliers;    /* INT8: input channels kept out of the int8 product
                              and added in f32: y += x[:, idx] . w^T        */
    int32_t *outlier_idx;  /* (n_outliers)                                  */
    float *outlier_w;      /* (n_outliers, n) their f32 weight columns      */
    bool borrowed;         /* the INT8 arrays above point into a converted
                              file's mapping (rt5__linear_adopt's caller)
                              and are not freed                             */
} rt5__linear;

#define RT5__MAX_OUTLIERS 64

/* A session's memory objects for one plan: src/dst/scratchpad per chunk. */
typedef struct rt5__linear_binding {
    dnnl_memory_t src[RT5__N_CHUNKS], dst[RT5__N_CHUNKS], scratch[RT5__N_CHUNKS];
    dnnl_memory_t dst_bf16[RT5__N_CHUNKS]; /* BF16 + ReLU plans: bf16 dst */
    /* BF16/INT8 (linear_lowp.c, owned): one chunk's converted rows */
    void *lowp_src;          /* (256, k) bf16 or u8 (linear_lowp.c)         */
    int32_t *acc;            /* INT8: (256, n) s32 products                 */
    float *row_scale;        /* INT8: (256) per-token scale                 */
    int32_t *row_zp;         /* INT8: (256) per-token zero point            */
    float *outlier_x;        /* INT8: (256, RT5__MAX_OUTLIERS)              */
    float *row_tmp;          /* INT8 ReLU: one (n) row per thread            */
    /* INT8 with u8_split (no VNNI): the high halves of the codes and their
     * products, src_hi/dst_hi bound to them per chunk (lowp.h) */
    uint8_t *lowp_src_hi;    /* (256, k) u8                                 */
    int32_t *acc_hi;         /* (256, n) s32                                */
    dnnl_memory_t src_hi[RT5__N_CHUNKS], dst_hi[RT5__N_CHUNKS];
    int32_t n_tmp_rows;
    double convert_seconds;  /* time spent converting/quantizing/rescaling  */
} rt5__linear_binding;

extern const int32_t rt5__chunk_rows[RT5__N_CHUNKS];

/* Creates the primitives of a plan on engine. */
rt5_status rt5__gemm_plan_init(rt5__gemm_plan *plan, dnnl_engine_t engine, int32_t k, int32_t n,
                               rt5__epilogue epi, rt5__errmsg *err);
void rt5__gemm_plan_destroy(rt5__gemm_plan *plan);

/* Same as rt5__gemm_plan_init for a compute dtype: F32 (linear.c), BF16
 * (bf16 src and weights, f32 dst and post-ops) or INT8 (u8 per-token src,
 * s8 per-channel weights, s32 products rescaled by linear_lowp.c). */
rt5_status rt5__gemm_plan_init_dtype(rt5__gemm_plan *plan, dnnl_engine_t engine, int32_t k, int32_t n,
                                     rt5__epilogue epi, rt5_dtype dtype, rt5__errmsg *err);

/* The low-precision halves of the functions below (linear_lowp.c); the
 * public ones dispatch to them on plan->dtype. */
rt5_status rt5__lowp_plan_init(rt5__gemm_plan *plan, dnnl_engine_t engine, rt5__errmsg *err);
rt5_status rt5__lowp_pack(rt5__linear *lin, dnnl_engine_t engine, dnnl_stream_t stream, const float *w,
                          rt5__errmsg *err);
void rt5__lowp_destroy(rt5__linear *lin);
rt5_status rt5__lowp_bind(rt5__linear_binding *b, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                          void *scratchpad, rt5__errmsg *err);
void rt5__lowp_unbind(rt5__linear_binding *b);
rt5_status rt5__lowp_run(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream,
                         const float *x, float *y, int32_t m);

/* Returns from the calling function (which has an rt5__errmsg *err in scope)
 * when a oneDNN call fails: RT5_ERR_OUT_OF_MEMORY, RT5_ERR_UNSUPPORTED when
 * oneDNN has no implementation for this CPU, else RT5_ERR_INTERNAL. */
#define DNNL_TRY(call, what)                                                              \
    do {                                                                                  \
        dnnl_status_t st_ = (call);                                                       \
        if (st_ == dnnl_unimplemented)                                                    \
            return rt5__fail(err, RT5_ERR_UNSUPPORTED, "oneDNN has no %s for this CPU "   \
                             "(instruction set in use: %s)", what,                        \
                             rt5__isa_name(rt5__cpu_get()->isa));                         \
        if (st_ != dnnl_success)                                                          \
            return rt5__fail(err, st_ == dnnl_out_of_memory ? RT5_ERR_OUT_OF_MEMORY       \
                                                            : RT5_ERR_INTERNAL,           \
                             "oneDNN: %s failed (status %d)", what, (int)st_);            \
    } while (0)

/* A primitive attribute with a user scratchpad and the epilogue as oneDNN
 * post-ops (eltwise ReLU, or sum for the fused residual add). */
rt5_status rt5__linear_make_attr(dnnl_primitive_attr_t *attr, rt5__epilogue epi, rt5__errmsg *err);

/* Allocates lin->weights in lin->plan's packed layout and reorders into it a
 * plain (n, k) row-major weight w of element type t -- a (k, n) matrix in
 * "ba" order -- converting the elements on the way when the plan's type
 * differs (f32 -> bf16). Used by every compute dtype. */
rt5_status rt5__linear_pack_plain(rt5__linear *lin, const void *w, dnnl_data_type_t t, dnnl_engine_t engine,
                                  dnnl_stream_t stream, rt5__errmsg *err);

/* Reorders weights stored in layout from_md at from into the memory `to`
 * (layout to_md). */
rt5_status rt5__linear_reorder(const dnnl_memory_desc_t *from_md, const void *from, const dnnl_memory_desc_t *to_md,
                               dnnl_memory_t to, dnnl_engine_t engine, dnnl_stream_t stream, rt5__errmsg *err);

/*
 * Stored layouts (converted files): a layout is named by its oneDNN format
 * tag ("ba" = torch's row-major (n, k); "BA16a64b4a" = a blocked layout the
 * int8 products use on AVX-512 machines), which oneDNN itself turns back
 * into a memory descriptor -- a file never supplies strides or offsets.
 */
/* The tag name of a (k, n) weight layout md (RT5_ERR_UNSUPPORTED if none). */
rt5_status rt5__linear_layout_name(const dnnl_memory_desc_t *md, const char **name, rt5__errmsg *err);
/* The (k, n) descriptor of element type t in the layout called name. */
rt5_status rt5__linear_layout_md(const char *name, int32_t k, int32_t n, dnnl_data_type_t t, dnnl_memory_desc_t *md,
                                 rt5__errmsg *err);
/* Binds weights stored in layout md at data (dnnl_memory_desc_get_size(md)
 * bytes) to lin: used in place when md is the plan's layout and data is
 * 64-byte aligned (*in_place = true), else reordered into an owned packed
 * copy. The INT8 arrays are the caller's to set. */
rt5_status rt5__linear_adopt(rt5__linear *lin, const rt5__gemm_plan *plan, const dnnl_memory_desc_t *md,
                             const void *data, dnnl_engine_t engine, dnnl_stream_t stream, bool *in_place,
                             rt5__errmsg *err);

/* Packs W given as n_parts row blocks of a torch (n, k) weight -- parts[i]
 * is (rows[i], k) row-major and sum(rows) == plan->n -- so q, k and v (or
 * wi_0 and wi_1) become one product. */
rt5_status rt5__linear_pack(rt5__linear *lin, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                            dnnl_stream_t stream, const float *const *parts, const int32_t *rows,
                            int n_parts, rt5__errmsg *err);
void rt5__linear_destroy(rt5__linear *lin);

/* Binds a session's scratchpad (plan->scratch_bytes at least) to a plan. */
rt5_status rt5__linear_bind(rt5__linear_binding *b, const rt5__gemm_plan *plan, dnnl_engine_t engine,
                            void *scratchpad, rt5__errmsg *err);
void rt5__linear_unbind(rt5__linear_binding *b);

/* y[M][n] (=, or += for ACCUMULATE) x[M][k] . W^T, contiguous rows. x and y
 * must have room for M rounded up to RT5__ROW_ALIGN rows: the padding rows
 * are computed and ignored. */
rt5_status rt5__linear_run(const rt5__linear *lin, rt5__linear_binding *b, dnnl_stream_t stream,
                           const float *x, float *y, int32_t m);

/*
 * The ReLU feed-forward in one call: y[M][d] += relu(x[M][d] . Wi^T) . Wo^T,
 * with tmp (RT5__MAX_CHUNK rows of wi's n floats) for the inner activations
 * in f32. In bf16 the first product writes bf16 straight into the second's
 * input; in int8 its s32 products are rescaled, ReLU'd and quantized per
 * token to u8 in one pass: the (M, d_ff) activations never go through f32
 * memory. M at most RT5__MAX_CHUNK.
 */
rt5_status rt5__linear_run_ffn(const rt5__linear *wi, rt5__linear_binding *bwi, const rt5__linear *wo,
                               rt5__linear_binding *bwo, dnnl_stream_t stream, const float *x, float *tmp,
                               float *y, int32_t m);
rt5_status rt5__lowp_run_ffn(const rt5__linear *wi, rt5__linear_binding *bwi, const rt5__linear *wo,
                             rt5__linear_binding *bwo, dnnl_stream_t stream, const float *x, float *y, int32_t m);

/* Rows M is padded to. */
static inline int32_t rt5__round_rows(int32_t m)
{
    return (m + RT5__ROW_ALIGN - 1) / RT5__ROW_ALIGN * RT5__ROW_ALIGN;
}

/* The chunk (index into plan->rows) for the next rows of a batch with left
 * rows still to do (linear.c). */
int rt5__plan_pick_chunk(const rt5__gemm_plan *plan, int32_t left);

/* A primitive descriptor for desc whose implementation is plan->impl when
 * oneDNN has one for this shape (*same = true), else its first choice
 * (*same = false); plan->impl "" takes the first choice and records it. */
rt5_status rt5__plan_make_pd(rt5__gemm_plan *plan, const dnnl_matmul_desc_t *desc, dnnl_primitive_attr_t attr,
                             dnnl_engine_t engine, dnnl_primitive_desc_t *pd, bool *same, rt5__errmsg *err);

/* Removes chunk i of a plan (its primitives and row count). */
void rt5__plan_drop_chunk(rt5__gemm_plan *plan, int i);

/* Keeps in each bf16/int8 plan of plans[0..n) only the row counts all of
 * them have, so that the FFN's two products (rt5__linear_run_ffn) can run
 * the same chunks. */
void rt5__plans_common_rows(rt5__gemm_plan *plans, int n);

/* Rows of x and y that rt5__linear_run touches for a batch of m rows: m
 * rounded up to RT5__ROW_ALIGN, or more where an f32 plan pads a small batch
 * to its smallest chunk (see linear.c). Never less than for a smaller m. */
int32_t rt5__gemm_plan_rows(const rt5__gemm_plan *plan, int32_t m);

#endif /* RT5_MODEL_LINEAR_H */
