/*
 * model.h -- the internal shape of a loaded rt5_model, shared by the weight
 * binding (model.c, weights.c: checkpoint -> T5 config + weight views) and
 * the forward pass (forward.c and friends: weights -> packed compute form).
 *
 * Conventions: a Linear weight is kept as torch stores it, row-major
 * [out_features][in_features] f32, so y = x . W^T. All pointers here point
 * either into the checkpoint mapping (f32 contiguous tensors are used in
 * place) or into buffers the model owns (converted from f16/bf16 at load).
 */
#ifndef RT5_MODEL_MODEL_H
#define RT5_MODEL_MODEL_H

#include "core/common.h"
#include "formats/tensor_set.h"

typedef struct rt5__t5_config {
    int32_t d_model;      /* hidden size (1024 for t5-3b)                    */
    int32_t d_ff;         /* feed-forward inner size (16384 for t5-3b)       */
    int32_t n_heads;      /* attention heads (32)                            */
    int32_t d_kv;         /* per-head size (128); n_heads*d_kv may != d_model */
    int32_t n_layers;     /* encoder blocks (24)                             */
    int32_t vocab_size;   /* rows of the embedding table (32128)             */
    int32_t num_buckets;  /* relative attention buckets (32)                 */
    int32_t max_distance; /* relative_attention_max_distance (128)           */
    bool gated_gelu;      /* wi_0/wi_1 with gelu_new instead of ReLU wi      */
    float eps;            /* encoder RMSNorm epsilon (1e-6)                  */
    float head_eps;       /* score head LayerNorm epsilon (1e-12)            */
} rt5__t5_config;

typedef struct rt5__block_weights {
    const float *ln_attn;   /* (d_model)                                    */
    const float *q, *k, *v; /* (n_heads*d_kv, d_model)                      */
    const float *o;         /* (d_model, n_heads*d_kv)                      */
    const float *ln_ff;     /* (d_model)                                    */
    const float *wi;        /* (d_ff, d_model), ReLU variant; NULL if gated */
    const float *wi_0;      /* (d_ff, d_model), gated: GELU branch          */
    const float *wi_1;      /* (d_ff, d_model), gated: linear branch        */
    const float *wo;        /* (d_model, d_ff)                              */
} rt5__block_weights;

typedef struct rt5__model_weights {
    const float *embed;      /* (vocab_size, d_model)                       */
    const float *rel_bias;   /* (num_buckets, n_heads), block 0's table     */
    rt5__block_weights *blocks; /* (n_layers), owned                        */
    const float *final_ln;   /* (d_model)                                   */
    const float *head_w1;    /* first_transform.weight (d_model, d_model)   */
    const float *head_b1;    /* first_transform.bias (d_model)              */
    const float *head_ln_w;  /* layer_norm.weight (d_model)                 */
    const float *head_ln_b;  /* layer_norm.bias (d_model)                   */
    const float *head_w2;    /* linear.weight (1, d_model)                  */
    const float *head_b2;    /* linear.bias (1)                             */
} rt5__model_weights;

/* Opaque state of the forward pass (packed weights for the compute dtype),
 * created by rt5__forward_prepare and freed by rt5__forward_release. */
typedef struct rt5__compute rt5__compute;

/* What a converted file (converted.c) stores beyond the plain tensors: the
 * block products as the forward pass uses them. NULL for checkpoints. */
typedef struct rt5__converted rt5__converted;

struct rt5_model {
    rt5__errmsg err;
    rt5__tensor_set *tensors;  /* the mapped checkpoint                    */
    rt5__t5_config config;
    rt5__model_weights weights;
    void **owned;              /* f32 buffers converted at load, freed last */
    size_t n_owned;
    char **warnings;           /* "unknown key ..." and the like            */
    int32_t n_warnings;
    rt5_dtype file_dtype;
    rt5_dtype compute_dtype;
    uint64_t n_params;
    double load_seconds;
    rt5__compute *compute;
    rt5__converted *converted;
};

/* Implemented by the forward pass: pack weights for model->compute_dtype
 * (called once at the end of rt5_model_load) and release them. */
rt5_status rt5__forward_prepare(rt5_model *model);
void rt5__forward_release(rt5_model *model);

#endif /* RT5_MODEL_MODEL_H */
