/*
 * config.c -- the T5 configuration of a checkpoint.
 *
 * The released reranker ships no config: every dimension is read off tensor
 * shapes (d_model and vocab from the embedding, heads and buckets from block
 * 0's relative attention bias, d_kv from q, d_ff from wi/wi_0, layers from
 * the highest block index, ReLU vs gated-GELU from wi vs wi_0/wi_1). A
 * config.json, when present, supplies what shapes cannot tell
 * (layer_norm_epsilon, relative_attention_max_distance) and is checked
 * against the shapes for everything else.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_file.h"
#include "model/weights.h"

#define T5_DEFAULT_EPS 1e-6f
#define T5_DEFAULT_MAX_DISTANCE 128
#define HEAD_LAYER_NORM_EPS 1e-12f
#define MAX_LAYERS 4096

const rt5__tensor_view *rt5__t5_find(const rt5__tensor_set *set, const char *prefix, char *key,
                                     size_t key_cap, const char *fmt, ...)
{
    int n = snprintf(key, key_cap, "%s", prefix);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < key_cap)
        vsnprintf(key + n, key_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return rt5__tensor_set_find(set, key);
}

rt5_status rt5__t5_key_prefix(const rt5__tensor_set *set, const char **prefix, rt5__errmsg *err)
{
    static const char *const prefixes[] = {"model.", ""};
    char key[256];
    for (size_t i = 0; i < RT5_ARRAY_LEN(prefixes); i++) {
        if (rt5__t5_find(set, prefixes[i], key, sizeof key, "shared.weight") ||
            rt5__t5_find(set, prefixes[i], key, sizeof key, "encoder.embed_tokens.weight")) {
            *prefix = prefixes[i];
            return RT5_OK;
        }
    }
    return rt5__fail(err, RT5_ERR_SHAPE, "no embedding table: expected 'model.shared.weight' or "
                     "'model.encoder.embed_tokens.weight' (or the same without 'model.')");
}

/* A required 2-D tensor's shape, or an error naming its key. */
static rt5_status shape2(const rt5__tensor_set *set, const char *prefix, const char *suffix,
                         int64_t *rows, int64_t *cols, rt5__errmsg *err)
{
    char key[256];
    const rt5__tensor_view *v = rt5__t5_find(set, prefix, key, sizeof key, "%s", suffix);
    if (!v)
        return rt5__fail(err, RT5_ERR_SHAPE, "missing tensor '%s' (needed to infer the "
                         "configuration)", key);
    if (v->n_dims != 2 || v->shape[0] <= 0 || v->shape[1] <= 0 || v->shape[0] > INT32_MAX ||
        v->shape[1] > INT32_MAX)
        return rt5__fail(err, RT5_ERR_SHAPE, "tensor '%s': expected a non-empty matrix, found %d "
                         "dimensions", key, v->n_dims);
    *rows = v->shape[0];
    *cols = v->shape[1];
    return RT5_OK;
}

/* 1 + the highest N of any "<prefix>encoder.block.N." key. */
static int32_t count_blocks(const rt5__tensor_set *set, const char *prefix)
{
    char stem[64];
    snprintf(stem, sizeof stem, "%sencoder.block.", prefix);
    size_t n_stem = strlen(stem);
    long top = -1;
    for (size_t i = 0; i < set->n_tensors; i++) {
        const char *name = set->tensors[i].name;
        if (strncmp(name, stem, n_stem) != 0)
            continue;
        char *end;
        long b = strtol(name + n_stem, &end, 10);
        if (end != name + n_stem && *end == '.' && b >= 0 && b < MAX_LAYERS && b > top)
            top = b;
    }
    return (int32_t)(top + 1);
}

rt5_status rt5__t5_config_infer(const rt5__tensor_set *set, const char *prefix,
                                rt5__t5_config *cfg, rt5__errmsg *err)
{
    memset(cfg, 0, sizeof *cfg);
    int64_t vocab, d_model, buckets, heads, inner, d_model_q, d_ff, d_model_wi;
    char key[256];
    const char *embed = rt5__t5_find(set, prefix, key, sizeof key, "shared.weight")
                            ? "shared.weight" : "encoder.embed_tokens.weight";
    bool gated = rt5__t5_find(set, prefix, key, sizeof key,
                              "encoder.block.0.layer.1.DenseReluDense.wi_0.weight") != NULL;
    rt5_status st = shape2(set, prefix, embed, &vocab, &d_model, err);
    if (st == RT5_OK)
        st = shape2(set, prefix, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias"
                    ".weight", &buckets, &heads, err);
    if (st == RT5_OK)
        st = shape2(set, prefix, "encoder.block.0.layer.0.SelfAttention.q.weight", &inner,
                    &d_model_q, err);
    if (st == RT5_OK)
        st = shape2(set, prefix, gated ? "encoder.block.0.layer.1.DenseReluDense.wi_0.weight"
                                       : "encoder.block.0.layer.1.DenseReluDense.wi.weight",
                    &d_ff, &d_model_wi, err);
    if (st != RT5_OK)
        return st;
    if (inner % heads != 0)
        return rt5__fail(err, RT5_ERR_SHAPE, "q has %lld rows, not a multiple of the %lld heads "
                         "of the relative attention bias", (long long)inner, (long long)heads);
    cfg->d_model = (int32_t)d_model;
    cfg->vocab_size = (int32_t)vocab;
    cfg->num_buckets = (int32_t)buckets;
    cfg->n_heads = (int32_t)heads;
    cfg->d_kv = (int32_t)(inner / heads);
    cfg->d_ff = (int32_t)d_ff;
    cfg->gated_gelu = gated;
    cfg->n_layers = count_blocks(set, prefix);
    cfg->eps = T5_DEFAULT_EPS;
    cfg->max_distance = T5_DEFAULT_MAX_DISTANCE;
    cfg->head_eps = HEAD_LAYER_NORM_EPS;
    return RT5_OK;
}

/* ------------------------------------------------------------- config.json */

/* If key is in the JSON, it must equal the inferred value. */
static rt5_status check_int(json_t *root, const char *key, int32_t inferred, const char *path,
                            rt5__errmsg *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return RT5_OK;
    if (!json_is_integer(v))
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"%s\" is not an integer", path, key);
    if (json_integer_value(v) != inferred)
        return rt5__fail(err, RT5_ERR_SHAPE, "%s: \"%s\" is %lld but the checkpoint's tensors "
                         "give %d", path, key, (long long)json_integer_value(v), inferred);
    return RT5_OK;
}

static rt5_status check_ffn(json_t *root, const rt5__t5_config *cfg, const char *path,
                            rt5__errmsg *err)
{
    json_t *v = json_object_get(root, "feed_forward_proj");
    if (!v)
        return RT5_OK;
    const char *proj = json_string_value(v);
    if (!proj)
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"feed_forward_proj\" is not a string", path);
    bool gated = strcmp(proj, "gated-gelu") == 0;
    if (!gated && strcmp(proj, "relu") != 0)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "%s: feed_forward_proj '%.40s' is not "
                         "supported (only 'relu' and 'gated-gelu')", path, proj);
    if (gated != cfg->gated_gelu)
        return rt5__fail(err, RT5_ERR_SHAPE, "%s: feed_forward_proj is '%s' but the checkpoint "
                         "has %s", path, proj, cfg->gated_gelu ? "wi_0/wi_1 (gated-gelu)"
                                                               : "wi (relu)");
    return RT5_OK;
}

static rt5_status take_overrides(json_t *root, rt5__t5_config *cfg, const char *path,
                                 rt5__errmsg *err)
{
    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    if (eps && (!json_is_number(eps) || !(json_number_value(eps) > 0) ||
                json_number_value(eps) > 1))
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"layer_norm_epsilon\" is not a number in "
                         "(0, 1]", path);
    if (eps)
        cfg->eps = (float)json_number_value(eps);
    json_t *dist = json_object_get(root, "relative_attention_max_distance");
    if (dist && (!json_is_integer(dist) || json_integer_value(dist) < 1 ||
                 json_integer_value(dist) > (1 << 20)))
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"relative_attention_max_distance\" is not a "
                         "positive integer", path);
    if (dist)
        cfg->max_distance = (int32_t)json_integer_value(dist);
    return RT5_OK;
}

static rt5_status apply_root(json_t *root, rt5__t5_config *cfg, const char *path, rt5__errmsg *err)
{
    const struct {
        const char *key;
        int32_t value;
    } dims[] = {
        {"d_model", cfg->d_model},
        {"d_ff", cfg->d_ff},
        {"num_heads", cfg->n_heads},
        {"d_kv", cfg->d_kv},
        {"num_layers", cfg->n_layers},
        {"vocab_size", cfg->vocab_size},
        {"relative_attention_num_buckets", cfg->num_buckets},
    };
    for (size_t i = 0; i < RT5_ARRAY_LEN(dims); i++) {
        rt5_status st = check_int(root, dims[i].key, dims[i].value, path, err);
        if (st != RT5_OK)
            return st;
    }
    rt5_status st = check_ffn(root, cfg, path, err);
    return st == RT5_OK ? take_overrides(root, cfg, path, err) : st;
}

rt5_status rt5__t5_config_apply_json(const char *path, rt5__t5_config *cfg, rt5__errmsg *err)
{
    json_t *root;
    rt5_status st = rt5__json_read_file(path, &root, err);
    if (st != RT5_OK)
        return st;
    st = json_is_object(root) ? apply_root(root, cfg, path, err)
                              : rt5__fail(err, RT5_ERR_FORMAT, "%s: not a JSON object", path);
    json_decref(root);
    return st;
}
