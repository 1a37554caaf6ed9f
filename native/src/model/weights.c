/*
 * weights.c -- binding checkpoint tensors to the T5 reranker's weights.
 *
 * For each weight the configuration needs, the tensor is looked up by key,
 * its shape and dtype checked (the error names the key, the expected and the
 * found shape), and a const float* set: straight into the mapping when the
 * file holds contiguous, aligned f32 (no copy: the 5 GB release is used in
 * place), otherwise into an f32 buffer converted once here and owned by the
 * model. Keys nobody asked for are reported as warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/converted.h"
#include "model/weights.h"

#define MAX_UNKNOWN_WARNINGS 32

typedef struct binder {
    rt5_model *model;
    const char *prefix;
    bool *used;               /* (n_tensors) keys consumed so far         */
    size_t cap_owned;
    const uint8_t **counted;  /* data of views already in n_params        */
    size_t n_counted;
} binder;

#define add_warning rt5__model_add_warning

/* ------------------------------------------------------------- conversion */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0 && man == 0) {
        bits = sign;
    } else if (exp == 0) { /* subnormal: normalise the mantissa */
        uint32_t shift = 0;
        while (!(man & 0x400u)) {
            man <<= 1;
            shift++;
        }
        bits = sign | ((113u - shift) << 23) | ((man & 0x3ffu) << 13);
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float element_to_float(const uint8_t *p, rt5__elem_type type)
{
    uint16_t h;
    float f;
    switch (type) {
    case RT5__ELEM_F16:
        memcpy(&h, p, 2);
        return half_to_float(h);
    case RT5__ELEM_BF16:
        memcpy(&h, p, 2);
        return bf16_to_float(h);
    default:
        memcpy(&f, p, 4);
        return f;
    }
}

/* Copies a view into dst (numel floats, row-major), walking its strides. */
static void gather_f32(const rt5__tensor_view *v, float *dst)
{
    size_t esize = rt5__elem_size(v->type);
    int64_t numel = rt5__tensor_numel(v), index[RT5__MAX_DIMS] = {0};
    for (int64_t i = 0; i < numel; i++) {
        int64_t at = 0;
        for (int32_t d = 0; d < v->n_dims; d++)
            at += index[d] * v->strides[d];
        dst[i] = element_to_float(v->data + (size_t)at * esize, v->type);
        for (int32_t d = v->n_dims; d-- > 0;) { /* odometer increment */
            if (++index[d] < v->shape[d])
                break;
            index[d] = 0;
        }
    }
}

static rt5_status keep_owned(binder *b, void *buf)
{
    rt5_model *m = b->model;
    if (m->n_owned == b->cap_owned) {
        size_t cap = b->cap_owned ? b->cap_owned * 2 : 64;
        void **grown = realloc(m->owned, cap * sizeof *grown);
        if (!grown) {
            free(buf);
            return rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory converting weights");
        }
        m->owned = grown;
        b->cap_owned = cap;
    }
    m->owned[m->n_owned++] = buf;
    return RT5_OK;
}

/* f32 in place when possible, else an owned converted copy. */
static rt5_status as_f32(binder *b, const rt5__tensor_view *v, const float **out)
{
    if (v->type == RT5__ELEM_F32 && v->contiguous && ((uintptr_t)v->data % sizeof(float)) == 0) {
        *out = (const float *)(const void *)v->data;
        return RT5_OK;
    }
    size_t bytes;
    if (!rt5__mul_size((size_t)rt5__tensor_numel(v), sizeof(float), &bytes))
        return rt5__fail(&b->model->err, RT5_ERR_OUT_OF_MEMORY, "tensor '%s' is too large",
                         v->name);
    float *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return rt5__fail(&b->model->err, RT5_ERR_OUT_OF_MEMORY, "out of memory converting '%s' "
                         "to f32", v->name);
    gather_f32(v, buf);
    *out = buf;
    return keep_owned(b, buf);
}

/* ------------------------------------------------------------- binding */

static void format_shape(const int64_t *dims, int32_t n, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int32_t d = 0; d < n && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, d ? ", %lld" : "%lld", (long long)dims[d]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

static void count_params(binder *b, const rt5__tensor_view *v)
{
    for (size_t i = 0; i < b->n_counted; i++)
        if (b->counted[i] == v->data)
            return; /* a tied view of a storage already counted */
    b->counted[b->n_counted++] = v->data;
    b->model->n_params += (uint64_t)rt5__tensor_numel(v);
}

/* Looks up prefix+suffix (or the top-level name when top is set), checks
 * it against the expected shape (n dims) and binds it. */
static rt5_status bind_key(binder *b, bool top, const char *suffix, int32_t n, int64_t d0,
                           int64_t d1, const float **out)
{
    rt5_model *m = b->model;
    char key[256], want[64], found[128];
    const rt5__tensor_view *v = rt5__t5_find(m->tensors, top ? "" : b->prefix, key, sizeof key,
                                             "%s", suffix);
    int64_t dims[2] = {d0, d1};
    format_shape(dims, n, want, sizeof want);
    if (!v)
        return rt5__fail(&m->err, RT5_ERR_SHAPE, "missing tensor '%s' (expected shape %s)", key,
                         want);
    format_shape(v->shape, v->n_dims, found, sizeof found);
    if (v->n_dims != n || v->shape[0] != d0 || (n == 2 && v->shape[1] != d1))
        return rt5__fail(&m->err, RT5_ERR_SHAPE, "tensor '%s': expected shape %s, found %s", key,
                         want, found);
    if (v->type != RT5__ELEM_F32 && v->type != RT5__ELEM_F16 && v->type != RT5__ELEM_BF16)
        return rt5__fail(&m->err, RT5_ERR_SHAPE, "tensor '%s': dtype %s, expected F32, F16 or "
                         "BF16", key, rt5__elem_name(v->type));
    /* A view whose elements overlap (a stride of 0, as .expand() saves)
     * would be inflated by the conversion: a memory bomb in a small file. */
    uint64_t need = (uint64_t)rt5__tensor_numel(v) * rt5__elem_size(v->type);
    if (need > v->n_bytes)
        return rt5__fail(&m->err, RT5_ERR_SHAPE, "tensor '%s': its %s elements overlap in the "
                         "file (a stride of 0?); save it with .contiguous()", key, found);
    b->used[v - m->tensors->tensors] = true;
    if (!out)
        return RT5_OK; /* checked only */
    count_params(b, v);
    return as_f32(b, v, out);
}

#define MAT(suffix, r, c, out) bind_key(b, false, suffix, 2, r, c, out)
#define VEC(suffix, n, out) bind_key(b, false, suffix, 1, n, 0, out)

static rt5_status bind_block(binder *b, int32_t i, rt5__block_weights *w)
{
    const rt5__t5_config *c = &b->model->config;
    int64_t d = c->d_model, inner = (int64_t)c->n_heads * c->d_kv, ff = c->d_ff;
    char k[9][96];
    const char *attn = "layer.0.SelfAttention", *dense = "layer.1.DenseReluDense";
    snprintf(k[0], sizeof k[0], "encoder.block.%d.layer.0.layer_norm.weight", i);
    snprintf(k[1], sizeof k[1], "encoder.block.%d.%s.q.weight", i, attn);
    snprintf(k[2], sizeof k[2], "encoder.block.%d.%s.k.weight", i, attn);
    snprintf(k[3], sizeof k[3], "encoder.block.%d.%s.v.weight", i, attn);
    snprintf(k[4], sizeof k[4], "encoder.block.%d.%s.o.weight", i, attn);
    snprintf(k[5], sizeof k[5], "encoder.block.%d.layer.1.layer_norm.weight", i);
    snprintf(k[6], sizeof k[6], "encoder.block.%d.%s.wo.weight", i, dense);
    snprintf(k[7], sizeof k[7], "encoder.block.%d.%s.%s.weight", i, dense, c->gated_gelu ? "wi_0" : "wi");
    snprintf(k[8], sizeof k[8], "encoder.block.%d.%s.wi_1.weight", i, dense);
    rt5_status st;
    if (b->model->converted) /* the products are stored apart: converted.c */
        return (st = VEC(k[0], d, &w->ln_attn)) ? st : VEC(k[5], d, &w->ln_ff);
    if ((st = VEC(k[0], d, &w->ln_attn)) || (st = MAT(k[1], inner, d, &w->q)) ||
        (st = MAT(k[2], inner, d, &w->k)) || (st = MAT(k[3], inner, d, &w->v)) ||
        (st = MAT(k[4], d, inner, &w->o)) || (st = VEC(k[5], d, &w->ln_ff)) ||
        (st = MAT(k[6], d, ff, &w->wo)))
        return st;
    if (!c->gated_gelu)
        return MAT(k[7], ff, d, &w->wi);
    if ((st = MAT(k[7], ff, d, &w->wi_0)) != RT5_OK)
        return st;
    return MAT(k[8], ff, d, &w->wi_1);
}

/* shared.weight is the table transformers uses (it re-ties
 * encoder.embed_tokens to it); embed_tokens alone is accepted too. */
static rt5_status bind_embedding(binder *b)
{
    rt5_model *m = b->model;
    const rt5__t5_config *c = &m->config;
    char key[256];
    const rt5__tensor_view *shared = rt5__t5_find(m->tensors, b->prefix, key, sizeof key,
                                                  "shared.weight");
    const rt5__tensor_view *tok = rt5__t5_find(m->tensors, b->prefix, key, sizeof key,
                                               "encoder.embed_tokens.weight");
    rt5_status st = MAT(shared ? "shared.weight" : "encoder.embed_tokens.weight", c->vocab_size,
                        c->d_model, &m->weights.embed);
    if (st != RT5_OK || !shared || !tok)
        return st;
    if (tok->data == shared->data && tok->type == shared->type) { /* tied: same bytes */
        b->used[tok - m->tensors->tensors] = true;
        return RT5_OK;
    }
    if ((st = MAT("encoder.embed_tokens.weight", c->vocab_size, c->d_model, NULL)) != RT5_OK)
        return st;
    if (tok->type == shared->type && tok->n_bytes == shared->n_bytes && tok->contiguous &&
        shared->contiguous && memcmp(tok->data, shared->data, tok->n_bytes) == 0)
        return RT5_OK; /* stored twice but equal */
    return add_warning(m, "'%s' differs from '%sshared.weight'; using shared.weight as "
                       "transformers does", key, b->prefix);
}

static rt5_status bind_head(binder *b)
{
    rt5__model_weights *w = &b->model->weights;
    int64_t d = b->model->config.d_model;
    rt5_status st;
    if ((st = bind_key(b, true, "first_transform.weight", 2, d, d, &w->head_w1)) ||
        (st = bind_key(b, true, "first_transform.bias", 1, d, 0, &w->head_b1)) ||
        (st = bind_key(b, true, "layer_norm.weight", 1, d, 0, &w->head_ln_w)) ||
        (st = bind_key(b, true, "layer_norm.bias", 1, d, 0, &w->head_ln_b)) ||
        (st = bind_key(b, true, "linear.weight", 2, 1, d, &w->head_w2)))
        return st;
    return bind_key(b, true, "linear.bias", 1, 1, 0, &w->head_b2);
}

rt5_status rt5__model_add_warning(rt5_model *m, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char **grown = realloc(m->warnings, ((size_t)m->n_warnings + 1) * sizeof *grown);
    char *copy = strdup(text);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            m->warnings = grown;
        return rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    m->warnings = grown;
    m->warnings[m->n_warnings++] = copy;
    return RT5_OK;
}

static rt5_status warn_unused(binder *b)
{
    const rt5__tensor_set *set = b->model->tensors;
    size_t n_unused = 0;
    rt5_status st = RT5_OK;
    for (size_t i = 0; i < set->n_tensors && st == RT5_OK; i++) {
        if (b->used[i] || n_unused++ >= MAX_UNKNOWN_WARNINGS)
            continue;
        st = add_warning(b->model, "unknown key '%s' ignored", set->tensors[i].name);
    }
    if (st == RT5_OK && n_unused > MAX_UNKNOWN_WARNINGS)
        st = add_warning(b->model, "... and %zu more unknown keys ignored",
                         n_unused - MAX_UNKNOWN_WARNINGS);
    return st;
}

static rt5_dtype file_dtype_of(const rt5__tensor_view *v)
{
    return v->type == RT5__ELEM_F16 ? RT5_DTYPE_F16
           : v->type == RT5__ELEM_BF16 ? RT5_DTYPE_BF16 : RT5_DTYPE_F32;
}

static rt5_status bind_all(binder *b)
{
    rt5_model *m = b->model;
    const rt5__t5_config *c = &m->config;
    rt5_status st = bind_embedding(b);
    if (st == RT5_OK)
        st = MAT("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                 c->num_buckets, c->n_heads, &m->weights.rel_bias);
    for (int32_t i = 0; i < c->n_layers && st == RT5_OK; i++)
        st = bind_block(b, i, &m->weights.blocks[i]);
    if (st == RT5_OK)
        st = VEC("encoder.final_layer_norm.weight", c->d_model, &m->weights.final_ln);
    if (st == RT5_OK)
        st = bind_head(b);
    return st;
}

rt5_status rt5__model_bind_weights(rt5_model *model, const char *prefix)
{
    size_t n = model->tensors->n_tensors;
    binder b = {.model = model, .prefix = prefix};
    b.used = calloc(n + 1, sizeof *b.used);
    b.counted = calloc(n + 1, sizeof *b.counted);
    model->weights.blocks = calloc((size_t)model->config.n_layers + 1, sizeof *model->weights.blocks);
    rt5_status st = RT5_OK;
    if (!b.used || !b.counted || !model->weights.blocks)
        st = rt5__fail(&model->err, RT5_ERR_OUT_OF_MEMORY, "out of memory binding weights");
    if (st == RT5_OK)
        st = bind_all(&b);
    if (st == RT5_OK) {
        char key[256];
        const rt5__tensor_view *embed = rt5__t5_find(model->tensors, prefix, key, sizeof key,
                                                     "shared.weight");
        if (!embed)
            embed = rt5__t5_find(model->tensors, prefix, key, sizeof key,
                                 "encoder.embed_tokens.weight");
        model->file_dtype = file_dtype_of(embed);
        if (model->converted)
            st = rt5__converted_bind(model, b.used);
        if (st == RT5_OK)
            st = warn_unused(&b);
    }
    free(b.used);
    free(b.counted);
    return st;
}
