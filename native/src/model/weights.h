/*
 * weights.h -- internal steps of rt5_model_load: the T5 configuration from
 * tensor shapes and config.json (config.c), and the binding of tensors to
 * rt5__model_weights (weights.c).
 *
 * Key names: the T5 encoder keys are looked up under a prefix ("model." in
 * the released reranker, "" for a checkpoint saved from the encoder itself);
 * the score head (first_transform, layer_norm, linear) is always top-level.
 */
#ifndef RT5_MODEL_WEIGHTS_H
#define RT5_MODEL_WEIGHTS_H

#include "model/model.h"

/* "model." or "", from where the embedding table is found. */
rt5_status rt5__t5_key_prefix(const rt5__tensor_set *set, const char **prefix, rt5__errmsg *err);

/* The view named prefix + formatted suffix, or NULL. The full key is
 * written to key (for messages). */
const rt5__tensor_view *rt5__t5_find(const rt5__tensor_set *set, const char *prefix, char *key,
                                     size_t key_cap, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Infers d_model, vocab, heads, buckets, d_kv, d_ff, layers and the FFN kind
 * from tensor shapes; eps and max_distance get their T5 defaults. */
rt5_status rt5__t5_config_infer(const rt5__tensor_set *set, const char *prefix,
                                rt5__t5_config *cfg, rt5__errmsg *err);

/* Applies a config.json: takes layer_norm_epsilon and
 * relative_attention_max_distance from it, and checks every dimension it
 * states against the inferred one (RT5_ERR_SHAPE naming the key if not). */
rt5_status rt5__t5_config_apply_json(const char *path, rt5__t5_config *cfg, rt5__errmsg *err);

/* Binds every tensor the configuration needs into model->weights (checking
 * shapes and dtypes, converting f16/bf16 or strided tensors to owned f32
 * buffers), sets n_params and file_dtype, and warns about unused keys. */
rt5_status rt5__model_bind_weights(rt5_model *model, const char *prefix);

/* Appends a load warning (rt5_model_warning). */
rt5_status rt5__model_add_warning(rt5_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Everything rt5_model_load does except rt5__forward_prepare: open, infer,
 * bind. For tests of the binding alone. On failure *out carries the error
 * (unless memory ran out); free it with rt5_model_free either way. */
rt5_status rt5__model_load_unprepared(const char *path, const rt5_model_params *params,
                                      rt5_model **out);

#endif /* RT5_MODEL_WEIGHTS_H */
