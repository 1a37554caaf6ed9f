/*
 * converted.c -- converted model files: rt5_model_save writes them, the
 * loader reads them (rt5__converted_open / _bind / _adopt).
 *
 * A converted file is one .safetensors file holding
 *   - the tensors that stay f32 in every dtype, under their T5 names without
 *     a prefix (shared.weight, block 0's relative attention bias, each
 *     block's two layer norms, the final norm, the score head);
 *   - per block and product P (qkv = q, k, v stacked; o; wi, or wi_0 and
 *     wi_1 stacked; wo), under "rankt5.encoder.block.<i>.<P>.":
 *       weight       the (k, n) product weights in the product's dtype, in
 *                    the layout named by metadata "rankt5.<P>.layout" (a
 *                    oneDNN format tag: "ba" is torch's row-major (n, k),
 *                    shape [n, k]; a blocked tag is stored 1-D)
 *       scale        int8: F32 (n), per output channel
 *       colsum       int8: I32 (n), sum over k of the s8 weights
 *       inv_smooth   int8: F32 (k), the activations' smoothing factors
 *                    (0 marks an outlier channel), when smoothing is on
 *       outlier_idx  int8: I32 (n_outliers), input channels computed in f32
 *       outlier_w    int8: F32 (n_outliers, n), their f32 weight columns
 *   - metadata: rankt5.format ("rankt5-converted/1"), rankt5.dtype,
 *     rankt5.scheme (a sentence), rankt5.config (the T5 configuration as
 *     config.json keys; shapes alone cannot tell d_kv or d_ff any more),
 *     rankt5.<P>.dtype and rankt5.<P>.layout, rankt5.onednn.
 * The writer aligns every tensor whose size is a multiple of 64 bytes to 64
 * bytes, so a blocked weight whose layout is the one this CPU's products
 * want is used straight from the mapping; any other layout is reordered
 * once at load by oneDNN, which builds the layout from its tag name -- the
 * file never supplies strides. Everything is checked before use: sizes
 * against the layouts, shapes and dtypes of the int8 arrays, outlier
 * indices against k.
 */
#include "model/converted.h"

#include <jansson.h>
#include <oneapi/dnnl/dnnl_version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "formats/safetensors.h"

static const char *const product_names[RT5__N_PLANS] = {"qkv", "o", "wi", "wo"};

#define MAX_DIM (1 << 20)

/* ------------------------------------------------------------ metadata */

static const char *meta_get(const rt5__tensor_set *set, const char *key)
{
    for (size_t i = 0; i < set->n_metadata; i++)
        if (strcmp(set->metadata_keys[i], key) == 0)
            return set->metadata_values[i];
    return NULL;
}

bool rt5__converted_detect(const rt5__tensor_set *set)
{
    return meta_get(set, "rankt5.format") != NULL;
}

static bool parse_dtype(const char *s, rt5_dtype *out)
{
    static const rt5_dtype all[] = {RT5_DTYPE_F32, RT5_DTYPE_BF16, RT5_DTYPE_INT8};
    for (size_t i = 0; s && i < RT5_ARRAY_LEN(all); i++)
        if (strcmp(s, rt5_dtype_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

static rt5__elem_type weight_elem(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? RT5__ELEM_I8 : dt == RT5_DTYPE_BF16 ? RT5__ELEM_BF16 : RT5__ELEM_F32;
}

static dnnl_data_type_t weight_dnnl(rt5_dtype dt)
{
    return dt == RT5_DTYPE_INT8 ? dnnl_s8 : dt == RT5_DTYPE_BF16 ? dnnl_bf16 : dnnl_f32;
}

/* An integer config key in [1, max]. */
static rt5_status config_int(json_t *root, const char *key, int64_t max, int32_t *out, rt5__errmsg *err)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return rt5__fail(err, RT5_ERR_FORMAT, "metadata rankt5.config: \"%s\" is missing or not an integer in "
                         "[1, %lld]", key, (long long)max);
    *out = (int32_t)json_integer_value(v);
    return RT5_OK;
}

static rt5_status config_eps(json_t *root, const char *key, float *out, rt5__errmsg *err)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1)
        return rt5__fail(err, RT5_ERR_FORMAT, "metadata rankt5.config: \"%s\" is missing or not a number in "
                         "(0, 1]", key);
    *out = (float)json_number_value(v);
    return RT5_OK;
}

static rt5_status config_from_json(json_t *root, rt5__t5_config *c, rt5__errmsg *err)
{
    rt5_status st;
    if ((st = config_int(root, "d_model", MAX_DIM, &c->d_model, err)) ||
        (st = config_int(root, "d_ff", MAX_DIM, &c->d_ff, err)) ||
        (st = config_int(root, "num_heads", 4096, &c->n_heads, err)) ||
        (st = config_int(root, "d_kv", MAX_DIM, &c->d_kv, err)) ||
        (st = config_int(root, "num_layers", 4096, &c->n_layers, err)) ||
        (st = config_int(root, "vocab_size", 1 << 24, &c->vocab_size, err)) ||
        (st = config_int(root, "relative_attention_num_buckets", 1 << 16, &c->num_buckets, err)) ||
        (st = config_int(root, "relative_attention_max_distance", MAX_DIM, &c->max_distance, err)) ||
        (st = config_eps(root, "layer_norm_epsilon", &c->eps, err)) ||
        (st = config_eps(root, "rankt5_head_layer_norm_epsilon", &c->head_eps, err)))
        return st;
    if ((int64_t)c->n_heads * c->d_kv > MAX_DIM)
        return rt5__fail(err, RT5_ERR_FORMAT, "metadata rankt5.config: num_heads x d_kv is too large");
    const char *ffn = json_string_value(json_object_get(root, "feed_forward_proj"));
    if (!ffn || (strcmp(ffn, "relu") != 0 && strcmp(ffn, "gated-gelu") != 0))
        return rt5__fail(err, RT5_ERR_FORMAT, "metadata rankt5.config: \"feed_forward_proj\" must be \"relu\" or "
                         "\"gated-gelu\"");
    c->gated_gelu = strcmp(ffn, "gated-gelu") == 0;
    return RT5_OK;
}

static rt5_status read_config(const rt5__tensor_set *set, rt5__t5_config *cfg, rt5__errmsg *err)
{
    const char *text = meta_get(set, "rankt5.config");
    if (!text)
        return rt5__fail(err, RT5_ERR_FORMAT, "converted file without metadata rankt5.config");
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return rt5__fail(err, RT5_ERR_FORMAT, "metadata rankt5.config is not a JSON object");
    }
    rt5_status st = config_from_json(root, cfg, err);
    json_decref(root);
    return st;
}

/* rankt5.<P>.dtype and rankt5.<P>.layout of every product. */
static rt5_status read_products(rt5_model *m)
{
    rt5__converted *conv = m->converted;
    for (int p = 0; p < RT5__N_PLANS; p++) {
        char key[64];
        snprintf(key, sizeof key, "rankt5.%s.dtype", product_names[p]);
        if (!parse_dtype(meta_get(m->tensors, key), &conv->plan_dtype[p]))
            return rt5__fail(&m->err, RT5_ERR_FORMAT, "metadata %s is missing or not f32, bf16 or int8", key);
        snprintf(key, sizeof key, "rankt5.%s.layout", product_names[p]);
        const char *layout = meta_get(m->tensors, key);
        if (!layout || strlen(layout) >= sizeof conv->layout_name[p])
            return rt5__fail(&m->err, RT5_ERR_FORMAT, "metadata %s is missing or too long", key);
        strcpy(conv->layout_name[p], layout);
        int32_t k, n;
        rt5__plan_shape(&m->config, p, &k, &n);
        rt5_status st = rt5__linear_layout_md(layout, k, n, weight_dnnl(conv->plan_dtype[p]), &conv->layout[p],
                                              &m->err);
        if (st != RT5_OK)
            return rt5__errmsg_prefix(&m->err, "metadata %s", key), st;
    }
    return RT5_OK;
}

/* A converted file computes in its own dtype; F32 (the default) means "as
 * stored", anything else must match. */
static rt5_status settle_dtype(rt5_model *m, rt5_dtype stored, rt5_dtype requested)
{
    if (requested == stored) {
        m->compute_dtype = stored;
        return RT5_OK;
    }
    if (requested != RT5_DTYPE_F32)
        return rt5__fail(&m->err, RT5_ERR_UNSUPPORTED, "this file was converted to %s and computes only in %s; "
                         "convert the original checkpoint for %s", rt5_dtype_name(stored), rt5_dtype_name(stored),
                         rt5_dtype_name(requested));
    m->compute_dtype = stored; /* F32 is the default: "as stored" */
    return RT5_OK;
}

/* Parameters of the block products, which the binder does not see. */
static uint64_t product_params(const rt5__t5_config *c)
{
    uint64_t sum = 0;
    for (int p = 0; p < RT5__N_PLANS; p++) {
        int32_t k, n;
        rt5__plan_shape(c, p, &k, &n);
        sum += (uint64_t)k * (uint64_t)n;
    }
    return sum * (uint64_t)c->n_layers;
}

rt5_status rt5__converted_open(rt5_model *m, rt5_dtype requested)
{
    const char *format = meta_get(m->tensors, "rankt5.format");
    if (!format || strcmp(format, RT5__CONVERTED_FORMAT) != 0)
        return rt5__fail(&m->err, RT5_ERR_UNSUPPORTED, "converted file of format '%s'; this build reads '%s'",
                         format ? format : "?", RT5__CONVERTED_FORMAT);
    rt5_dtype stored;
    if (!parse_dtype(meta_get(m->tensors, "rankt5.dtype"), &stored))
        return rt5__fail(&m->err, RT5_ERR_FORMAT, "metadata rankt5.dtype is missing or not f32, bf16 or int8");
    m->converted = calloc(1, sizeof *m->converted);
    if (!m->converted)
        return rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    rt5_status st = read_config(m->tensors, &m->config, &m->err);
    if (st == RT5_OK)
        st = read_products(m);
    if (st == RT5_OK)
        st = settle_dtype(m, stored, requested);
    if (st == RT5_OK) {
        m->converted->linears = calloc((size_t)m->config.n_layers * RT5__N_PLANS, sizeof *m->converted->linears);
        if (!m->converted->linears)
            st = rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return st;
}

void rt5__converted_free(rt5__converted *conv)
{
    if (conv)
        free(conv->linears);
    free(conv);
}

/* ------------------------------------------------------------ binding */

typedef struct stored_lookup {
    rt5_model *m;
    bool *used;
    int32_t layer;
    int plan;
} stored_lookup;

/* The view rankt5.encoder.block.<layer>.<P>.<part>, checked: type, rank,
 * shape (d1 < 0: 1-D), contiguous and aligned to its element. NULL with
 * *st == RT5_OK when absent and optional. */
static const rt5__tensor_view *stored_view(stored_lookup *q, const char *part, rt5__elem_type type, int64_t d0,
                                           int64_t d1, bool required, rt5_status *st)
{
    char key[128];
    snprintf(key, sizeof key, "rankt5.encoder.block.%d.%s.%s", q->layer, product_names[q->plan], part);
    const rt5__tensor_view *v = rt5__tensor_set_find(q->m->tensors, key);
    *st = RT5_OK;
    if (!v) {
        if (required)
            *st = rt5__fail(&q->m->err, RT5_ERR_SHAPE, "converted file: missing tensor '%s'", key);
        return NULL;
    }
    int32_t dims = d1 < 0 ? 1 : 2;
    bool shape_ok = v->n_dims == dims && v->shape[0] == d0 && (dims == 1 || v->shape[1] == d1);
    char want[64];
    if (dims == 2)
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)d0, (long long)d1);
    else
        snprintf(want, sizeof want, "[%lld]", (long long)d0);
    if (v->type != type || !shape_ok || !v->contiguous)
        *st = rt5__fail(&q->m->err, RT5_ERR_SHAPE, "converted file: tensor '%s' should be a contiguous %s "
                        "tensor of shape %s; found %s with %d dimension(s), first %lld", key, rt5__elem_name(type),
                        want, rt5__elem_name(v->type), v->n_dims, (long long)(v->n_dims > 0 ? v->shape[0] : 0));
    else if ((uintptr_t)v->data % rt5__elem_size(type) != 0)
        *st = rt5__fail(&q->m->err, RT5_ERR_FORMAT, "converted file: tensor '%s' is not aligned to its elements "
                        "in the file (not written by rankt5?)", key);
    if (*st != RT5_OK)
        return NULL;
    q->used[v - q->m->tensors->tensors] = true;
    return v;
}

static rt5_status bind_int8_arrays(stored_lookup *q, rt5__stored_linear *s, int32_t k, int32_t n)
{
    rt5_status st;
    const rt5__tensor_view *v = stored_view(q, "scale", RT5__ELEM_F32, n, -1, true, &st);
    if (!v)
        return st;
    s->scale = (const float *)v->data;
    if (!(v = stored_view(q, "colsum", RT5__ELEM_I32, n, -1, true, &st)))
        return st;
    s->colsum = (const int32_t *)v->data;
    for (int32_t j = 0; j < n; j++) /* a sum of k values in [-127, 127]; keeps zp * colsum in range */
        if (s->colsum[j] < -127 * k || s->colsum[j] > 127 * k)
            return rt5__fail(&q->m->err, RT5_ERR_FORMAT, "converted file: '%s' entry %d is %d, not a sum of %d "
                             "int8 weights", v->name, j, s->colsum[j], k);
    if ((v = stored_view(q, "inv_smooth", RT5__ELEM_F32, k, -1, false, &st)))
        s->inv_smooth = (const float *)v->data;
    if (st != RT5_OK)
        return st;
    char key[128];
    snprintf(key, sizeof key, "rankt5.encoder.block.%d.%s.outlier_idx", q->layer, product_names[q->plan]);
    const rt5__tensor_view *idx = rt5__tensor_set_find(q->m->tensors, key);
    if (!idx)
        return RT5_OK;
    int64_t n_out = idx->n_dims == 1 ? idx->shape[0] : -1;
    if (n_out < 1 || n_out > RT5_MIN(RT5__MAX_OUTLIERS, k) || !s->inv_smooth)
        return rt5__fail(&q->m->err, RT5_ERR_SHAPE, "converted file: tensor '%s' should list 1 to %d input "
                         "channels, beside an inv_smooth tensor", key, RT5_MIN(RT5__MAX_OUTLIERS, k));
    if (!(v = stored_view(q, "outlier_idx", RT5__ELEM_I32, n_out, -1, true, &st)))
        return st;
    s->outlier_idx = (const int32_t *)v->data;
    for (int64_t o = 0; o < n_out; o++)
        if (s->outlier_idx[o] < 0 || s->outlier_idx[o] >= k)
            return rt5__fail(&q->m->err, RT5_ERR_FORMAT, "converted file: '%s' holds channel %d, outside [0, %d)",
                             key, s->outlier_idx[o], k);
    if (!(v = stored_view(q, "outlier_w", RT5__ELEM_F32, n_out, n, true, &st)))
        return st;
    s->outlier_w = (const float *)v->data;
    s->n_outliers = (int32_t)n_out;
    return RT5_OK;
}

static rt5_status bind_product(rt5_model *m, bool *used, int32_t layer, int plan)
{
    rt5__converted *conv = m->converted;
    rt5__stored_linear *s = &conv->linears[(size_t)layer * RT5__N_PLANS + (size_t)plan];
    stored_lookup q = {.m = m, .used = used, .layer = layer, .plan = plan};
    int32_t k, n;
    rt5__plan_shape(&m->config, plan, &k, &n);
    rt5__elem_type type = weight_elem(conv->plan_dtype[plan]);
    size_t bytes = dnnl_memory_desc_get_size(&conv->layout[plan]);
    bool plain = strcmp(conv->layout_name[plan], "ba") == 0;
    rt5_status st;
    const rt5__tensor_view *w = stored_view(&q, "weight", type, plain ? n : (int64_t)(bytes / rt5__elem_size(type)),
                                            plain ? k : -1, true, &st);
    if (!w)
        return st;
    if (w->n_bytes != bytes)
        return rt5__fail(&m->err, RT5_ERR_SHAPE, "converted file: tensor '%s' holds %llu bytes; layout %s of a "
                         "%d x %d product needs %zu", w->name, (unsigned long long)w->n_bytes,
                         conv->layout_name[plan], k, n, bytes);
    s->weights = w->data;
    return conv->plan_dtype[plan] == RT5_DTYPE_INT8 ? bind_int8_arrays(&q, s, k, n) : RT5_OK;
}

rt5_status rt5__converted_bind(rt5_model *m, bool *used)
{
    m->n_params += product_params(&m->config);
    m->file_dtype = m->compute_dtype;
    for (int32_t l = 0; l < m->config.n_layers; l++)
        for (int p = 0; p < RT5__N_PLANS; p++) {
            rt5_status st = bind_product(m, used, l, p);
            if (st != RT5_OK)
                return st;
        }
    return RT5_OK;
}

rt5_status rt5__converted_adopt(rt5_model *m, int32_t layer, int plan, rt5__linear *lin, const rt5__gemm_plan *gemm,
                                dnnl_engine_t engine, dnnl_stream_t stream, bool *in_place)
{
    rt5__converted *conv = m->converted;
    const rt5__stored_linear *s = &conv->linears[(size_t)layer * RT5__N_PLANS + (size_t)plan];
    rt5_status st = rt5__linear_adopt(lin, gemm, &conv->layout[plan], s->weights, engine, stream, in_place, &m->err);
    if (st != RT5_OK)
        return st;
    conv->n_in_place += *in_place;
    if (!*in_place) /* reordered into an owned copy: one copy resident */
        rt5__forward_release_mapped(m, s->weights, dnnl_memory_desc_get_size(&conv->layout[plan]));
    if (gemm->dtype == RT5_DTYPE_INT8) { /* read-only from the mapping; never written through */
        lin->borrowed = true;
        lin->w_scale = (float *)s->scale, lin->w_colsum = (int32_t *)s->colsum;
        lin->inv_smooth = (float *)s->inv_smooth;
        lin->outlier_idx = (int32_t *)s->outlier_idx, lin->outlier_w = (float *)s->outlier_w;
        lin->n_outliers = s->n_outliers;
    }
    return RT5_OK;
}

/* ------------------------------------------------------------ saving */

RT5_API rt5_save_params rt5_save_default_params(void)
{
    return (rt5_save_params){.portable = 0};
}

typedef struct save_list {
    rt5__safetensors_tensor *t;
    size_t n, cap;
    char (*names)[128];
    void **plain;       /* row-major copies made for a portable file */
    size_t *plain_bytes;
    size_t n_plain;
} save_list;

static void add_tensor(save_list *l, const char *name, rt5__elem_type type, const void *data, int64_t d0, int64_t d1)
{
    rt5__safetensors_tensor *t = &l->t[l->n];
    snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
    *t = (rt5__safetensors_tensor){.name = l->names[l->n], .type = type, .n_dims = d1 < 0 ? 1 : 2, .data = data};
    t->shape[0] = d0;
    t->shape[1] = d1 < 0 ? 0 : d1;
    l->n++;
}

static void add_plain_tensors(save_list *l, const rt5_model *m)
{
    const rt5__t5_config *c = &m->config;
    const rt5__model_weights *w = &m->weights;
    char key[128];
    add_tensor(l, "shared.weight", RT5__ELEM_F32, w->embed, c->vocab_size, c->d_model);
    add_tensor(l, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", RT5__ELEM_F32, w->rel_bias,
               c->num_buckets, c->n_heads);
    for (int32_t i = 0; i < c->n_layers; i++) {
        snprintf(key, sizeof key, "encoder.block.%d.layer.0.layer_norm.weight", i);
        add_tensor(l, key, RT5__ELEM_F32, w->blocks[i].ln_attn, c->d_model, -1);
        snprintf(key, sizeof key, "encoder.block.%d.layer.1.layer_norm.weight", i);
        add_tensor(l, key, RT5__ELEM_F32, w->blocks[i].ln_ff, c->d_model, -1);
    }
    add_tensor(l, "encoder.final_layer_norm.weight", RT5__ELEM_F32, w->final_ln, c->d_model, -1);
    add_tensor(l, "first_transform.weight", RT5__ELEM_F32, w->head_w1, c->d_model, c->d_model);
    add_tensor(l, "first_transform.bias", RT5__ELEM_F32, w->head_b1, c->d_model, -1);
    add_tensor(l, "layer_norm.weight", RT5__ELEM_F32, w->head_ln_w, c->d_model, -1);
    add_tensor(l, "layer_norm.bias", RT5__ELEM_F32, w->head_ln_b, c->d_model, -1);
    add_tensor(l, "linear.weight", RT5__ELEM_F32, w->head_w2, 1, c->d_model);
    add_tensor(l, "linear.bias", RT5__ELEM_F32, w->head_b2, 1, -1);
}

/* The torch-layout (n, k) copy of a packed product, for portable files. */
static rt5_status unpack(save_list *l, const rt5__linear *lin, dnnl_engine_t engine, dnnl_stream_t stream,
                         const void **out, rt5__errmsg *err)
{
    const rt5__gemm_plan *plan = lin->plan;
    dnnl_memory_desc_t plain_md;
    dnnl_dims_t dims = {plan->k, plan->n};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain_md, 2, dims, plan->weights_md.data_type, dnnl_ba), "plain md");
    size_t bytes = dnnl_memory_desc_get_size(&plain_md);
    /* mmap: large blocks handed back whole when freed */
    void *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "saving: %zu bytes for a portable copy", bytes);
    l->plain[l->n_plain] = buf, l->plain_bytes[l->n_plain++] = bytes;
    dnnl_memory_t to;
    DNNL_TRY(dnnl_memory_create(&to, &plain_md, engine, buf), "plain memory");
    void *packed = NULL;
    dnnl_status_t ds = dnnl_memory_get_data_handle(lin->weights, &packed);
    rt5_status st = ds == dnnl_success
                        ? rt5__linear_reorder(&plan->weights_md, packed, &plain_md, to, engine, stream, err)
                        : rt5__fail(err, RT5_ERR_INTERNAL, "oneDNN: weights handle");
    dnnl_memory_destroy(to);
    *out = buf;
    return st;
}

static rt5_status add_product(save_list *l, const rt5_model *m, int32_t layer, int p, bool portable,
                              dnnl_engine_t engine, dnnl_stream_t stream, rt5__errmsg *err)
{
    const rt5__linear *lin = rt5__forward_linear(m, layer, p);
    const rt5__gemm_plan *plan = lin->plan;
    rt5__elem_type type = weight_elem(plan->dtype);
    char key[128];
    snprintf(key, sizeof key, "rankt5.encoder.block.%d.%s.weight", layer, product_names[p]);
    const void *data = NULL;
    rt5_status st = RT5_OK;
    if (portable) {
        st = unpack(l, lin, engine, stream, &data, err);
        add_tensor(l, key, type, data, plan->n, plan->k);
    } else {
        if (dnnl_memory_get_data_handle(lin->weights, (void **)&data) != dnnl_success)
            return rt5__fail(err, RT5_ERR_INTERNAL, "oneDNN: weights handle");
        add_tensor(l, key, type, data, (int64_t)(lin->packed_bytes / rt5__elem_size(type)), -1);
    }
    if (st != RT5_OK || plan->dtype != RT5_DTYPE_INT8)
        return st;
#define PART(part, t, p_, d0, d1)                                                                  \
    do {                                                                                           \
        snprintf(key, sizeof key, "rankt5.encoder.block.%d.%s.%s", layer, product_names[p], part); \
        add_tensor(l, key, t, p_, d0, d1);                                                         \
    } while (0)
    PART("scale", RT5__ELEM_F32, lin->w_scale, plan->n, -1);
    PART("colsum", RT5__ELEM_I32, lin->w_colsum, plan->n, -1);
    if (lin->inv_smooth)
        PART("inv_smooth", RT5__ELEM_F32, lin->inv_smooth, plan->k, -1);
    if (lin->n_outliers > 0) {
        PART("outlier_idx", RT5__ELEM_I32, lin->outlier_idx, lin->n_outliers, -1);
        PART("outlier_w", RT5__ELEM_F32, lin->outlier_w, lin->n_outliers, plan->n);
    }
#undef PART
    return RT5_OK;
}

static char *config_json(const rt5__t5_config *c)
{
    json_t *root = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:f}", "d_model", c->d_model, "d_ff",
                             c->d_ff, "num_heads", c->n_heads, "d_kv", c->d_kv, "num_layers", c->n_layers,
                             "vocab_size", c->vocab_size, "relative_attention_num_buckets", c->num_buckets,
                             "relative_attention_max_distance", c->max_distance, "feed_forward_proj",
                             c->gated_gelu ? "gated-gelu" : "relu", "layer_norm_epsilon", (double)c->eps,
                             "rankt5_head_layer_norm_epsilon", (double)c->head_eps);
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(root);
    return s;
}

static const char *scheme_text(rt5_dtype dt)
{
    switch (dt) {
    case RT5_DTYPE_BF16:
        return "bf16 block products: weights rounded to bf16 (nearest even), activations rounded to bf16 per "
               "product, f32 accumulation; embeddings, norms, attention and the score head in f32";
    case RT5_DTYPE_INT8:
        return "int8 block products: s8 weights, symmetric per output channel (scale), after per-input-channel "
               "smoothing estimated from the weights (inv_smooth); u8 activations with a per-token scale and zero "
               "point computed at run time; s32 accumulation rescaled to f32 (colsum folds the zero point out); "
               "input channels in outlier_idx computed in f32 (outlier_w); embeddings, norms, attention and the "
               "score head in f32";
    default:
        return "f32 block products in oneDNN's packed layout; everything in f32";
    }
}

static rt5_status write_file(rt5_model *m, const char *path, save_list *l, bool portable)
{
    char version[32], *config = config_json(&m->config);
    const dnnl_version_t *v = dnnl_version();
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    const char *keys[5 + 2 * RT5__N_PLANS], *values[5 + 2 * RT5__N_PLANS];
    char key_text[2 * RT5__N_PLANS][48];
    size_t n = 0;
    keys[n] = "rankt5.format", values[n++] = RT5__CONVERTED_FORMAT;
    keys[n] = "rankt5.dtype", values[n++] = rt5_dtype_name(m->compute_dtype);
    keys[n] = "rankt5.scheme", values[n++] = scheme_text(m->compute_dtype);
    keys[n] = "rankt5.config", values[n++] = config ? config : "";
    keys[n] = "rankt5.onednn", values[n++] = version;
    rt5_status st = config ? RT5_OK : rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (int p = 0; p < RT5__N_PLANS && st == RT5_OK; p++) {
        const rt5__gemm_plan *plan = rt5__forward_linear(m, 0, p)->plan;
        snprintf(key_text[2 * p], sizeof key_text[0], "rankt5.%s.dtype", product_names[p]);
        keys[n] = key_text[2 * p], values[n++] = rt5_dtype_name(plan->dtype);
        snprintf(key_text[2 * p + 1], sizeof key_text[0], "rankt5.%s.layout", product_names[p]);
        keys[n] = key_text[2 * p + 1], values[n] = "ba";
        if (!portable)
            st = rt5__linear_layout_name(&plan->weights_md, &values[n], &m->err);
        n++;
    }
    if (st == RT5_OK)
        st = rt5__safetensors_write(path, l->t, l->n, keys, values, n, &m->err);
    free(config);
    return st;
}

static rt5_status save_steps(rt5_model *m, const char *path, bool portable, save_list *l)
{
    const rt5__t5_config *c = &m->config;
    l->cap = 16 + (size_t)c->n_layers * (2 + RT5__N_PLANS * 6);
    l->t = calloc(l->cap, sizeof *l->t);
    l->names = calloc(l->cap, sizeof *l->names);
    l->plain = calloc((size_t)c->n_layers * RT5__N_PLANS, sizeof *l->plain);
    l->plain_bytes = calloc((size_t)c->n_layers * RT5__N_PLANS, sizeof *l->plain_bytes);
    if (!l->t || !l->names || !l->plain || !l->plain_bytes)
        return rt5__fail(&m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    dnnl_engine_t engine = NULL;
    dnnl_stream_t stream = NULL;
    rt5_status st = RT5_OK;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
        st = rt5__fail(&m->err, RT5_ERR_INTERNAL, "oneDNN: no CPU engine or stream");
    add_plain_tensors(l, m);
    for (int32_t layer = 0; layer < c->n_layers && st == RT5_OK; layer++)
        for (int p = 0; p < RT5__N_PLANS && st == RT5_OK; p++)
            st = add_product(l, m, layer, p, portable, engine, stream, &m->err);
    if (st == RT5_OK)
        st = write_file(m, path, l, portable);
    if (stream)
        dnnl_stream_destroy(stream);
    if (engine)
        dnnl_engine_destroy(engine);
    return st;
}

RT5_API rt5_status rt5_model_save(rt5_model *model, const char *path, const rt5_save_params *params)
{
    if (!model)
        return RT5_ERR_INVALID_ARGUMENT;
    if (!path || !model->compute)
        return rt5__fail(&model->err, RT5_ERR_INVALID_ARGUMENT, "rt5_model_save: %s",
                         path ? "the model is not loaded" : "no output path");
    rt5_save_params defaults = rt5_save_default_params();
    if (!params)
        params = &defaults;
    save_list l = {0};
    rt5_status st = save_steps(model, path, params->portable != 0, &l);
    for (size_t i = 0; i < l.n_plain; i++)
        munmap(l.plain[i], l.plain_bytes[i]);
    free(l.t), free(l.names), free(l.plain), free(l.plain_bytes);
    return st;
}
