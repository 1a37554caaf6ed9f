/*
 * safetensors.c -- reading and writing the safetensors format.
 *
 * Reading: the JSON header (jansson, duplicates rejected, at most 100 MB as
 * in the reference implementation) names each tensor's dtype, shape and
 * [begin, end) in the data area. Every number is checked: end - begin must
 * equal numel x element size without overflow, and the tensors, sorted by
 * begin, must tile the data area exactly (the reference library's rule), so
 * no two tensors share bytes and no offset points outside the file.
 *
 * Writing: header then data, to a temporary file renamed into place.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/safetensors.h"

#define MAX_HEADER_BYTES 100000000u

static const struct {
    const char *name;
    rt5__elem_type type;
} dtype_names[] = {
    {"F32", RT5__ELEM_F32}, {"F16", RT5__ELEM_F16}, {"BF16", RT5__ELEM_BF16},
    {"F64", RT5__ELEM_F64}, {"I8", RT5__ELEM_I8},   {"U8", RT5__ELEM_U8},
    {"I16", RT5__ELEM_I16}, {"I32", RT5__ELEM_I32}, {"I64", RT5__ELEM_I64},
    {"BOOL", RT5__ELEM_BOOL},
};

/* ------------------------------------------------------------- reading */

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static rt5_status parse_dtype(const char *key, json_t *dtype, rt5__elem_type *out, rt5__errmsg *err)
{
    const char *name = json_string_value(dtype);
    for (size_t i = 0; name && i < RT5_ARRAY_LEN(dtype_names); i++) {
        if (strcmp(name, dtype_names[i].name) == 0) {
            *out = dtype_names[i].type;
            return RT5_OK;
        }
    }
    if (!name)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': \"dtype\" is not a string", key);
    return rt5__fail(err, RT5_ERR_UNSUPPORTED, "tensor '%s': dtype '%.20s' is not supported", key,
                     name);
}

static rt5_status parse_shape(const char *key, json_t *shape, rt5__tensor_view *v, rt5__errmsg *err)
{
    if (!json_is_array(shape) || json_array_size(shape) > RT5__MAX_DIMS)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': \"shape\" is not an array of at most "
                         "%d sizes", key, RT5__MAX_DIMS);
    v->n_dims = (int32_t)json_array_size(shape);
    for (int32_t d = 0; d < v->n_dims; d++) {
        json_t *n = json_array_get(shape, (size_t)d);
        if (!json_is_integer(n) || json_integer_value(n) < 0)
            return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': shape[%d] is not a size", key, d);
        v->shape[d] = json_integer_value(n);
    }
    rt5__tensor_view_set_contiguous_strides(v);
    return RT5_OK;
}

static rt5_status parse_offsets(const char *key, json_t *offsets, span *out, rt5__errmsg *err)
{
    json_t *b = json_array_get(offsets, 0), *e = json_array_get(offsets, 1);
    if (json_array_size(offsets) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b))
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': \"data_offsets\" is not [begin, end] "
                         "with 0 <= begin <= end", key);
    out->begin = (uint64_t)json_integer_value(b);
    out->end = (uint64_t)json_integer_value(e);
    out->name = key;
    return RT5_OK;
}

/* One header entry -> one view in the data area [data, data + data_size). */
static rt5_status parse_entry(rt5__tensor_set *set, const char *key, json_t *info,
                              const uint8_t *data, uint64_t data_size, span *sp, rt5__errmsg *err)
{
    if (!json_is_object(info))
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': header entry is not an object", key);
    rt5__tensor_view *v = rt5__tensor_set_add(set, key);
    if (!v)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    rt5_status st = parse_dtype(key, json_object_get(info, "dtype"), &v->type, err);
    if (st == RT5_OK)
        st = parse_shape(key, json_object_get(info, "shape"), v, err);
    if (st == RT5_OK)
        st = parse_offsets(key, json_object_get(info, "data_offsets"), sp, err);
    if (st != RT5_OK)
        return st;
    if (sp->end > data_size)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu) point past "
                         "the data area (%llu bytes)", key, (unsigned long long)sp->begin,
                         (unsigned long long)sp->end, (unsigned long long)data_size);
    st = rt5__tensor_view_place(v, data + sp->begin, sp->end - sp->begin, 0, err);
    if (st == RT5_OK && v->n_bytes != sp->end - sp->begin)
        st = rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': data_offsets span %llu bytes but shape "
                       "and dtype need %llu", key, (unsigned long long)(sp->end - sp->begin),
                       (unsigned long long)v->n_bytes);
    return st;
}

static rt5_status parse_metadata(rt5__tensor_set *set, json_t *meta, rt5__errmsg *err)
{
    if (!json_is_object(meta))
        return rt5__fail(err, RT5_ERR_FORMAT, "\"__metadata__\" is not an object");
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return rt5__fail(err, RT5_ERR_FORMAT, "__metadata__['%s'] is not a string", key);
        rt5_status st = rt5__tensor_set_add_metadata(set, key, json_string_value(value), err);
        if (st != RT5_OK)
            return st;
    }
    return RT5_OK;
}

/* Sorted by begin, the spans must tile [0, data_size) exactly. */
static rt5_status check_tiling(span *spans, size_t n, uint64_t data_size, rt5__errmsg *err)
{
    qsort(spans, n, sizeof *spans, span_cmp);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].begin < at)
            return rt5__fail(err, RT5_ERR_FORMAT, "tensors '%s' and '%s' overlap",
                             spans[i - 1].name, spans[i].name);
        if (spans[i].begin > at)
            return rt5__fail(err, RT5_ERR_FORMAT, "gap in the data area before tensor '%s' "
                             "(offset %llu, expected %llu)", spans[i].name,
                             (unsigned long long)spans[i].begin, (unsigned long long)at);
        at = spans[i].end;
    }
    if (at != data_size)
        return rt5__fail(err, RT5_ERR_FORMAT, "data area holds %llu bytes but the tensors cover "
                         "%llu", (unsigned long long)data_size, (unsigned long long)at);
    return RT5_OK;
}

static rt5_status parse_header(rt5__tensor_set *set, json_t *root, const uint8_t *data,
                               uint64_t data_size, rt5__errmsg *err)
{
    span *spans = calloc(json_object_size(root) + 1, sizeof *spans);
    if (!spans)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n = 0;
    rt5_status st = RT5_OK;
    const char *key;
    json_t *info;
    json_object_foreach(root, key, info) {
        if (strcmp(key, "__metadata__") == 0)
            st = parse_metadata(set, info, err);
        else
            st = parse_entry(set, key, info, data, data_size, &spans[n++], err);
        if (st != RT5_OK)
            break;
    }
    if (st == RT5_OK)
        st = check_tiling(spans, n, data_size, err);
    free(spans);
    return st;
}

rt5_status rt5__safetensors_read_memory(rt5__tensor_set *set, const uint8_t *bytes, size_t size,
                                        rt5__errmsg *err)
{
    if (size < 8)
        return rt5__fail(err, RT5_ERR_FORMAT, "safetensors file of %zu bytes is truncated", size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | bytes[i];
    if (n > MAX_HEADER_BYTES || n > size - 8)
        return rt5__fail(err, RT5_ERR_FORMAT, "safetensors header length %llu is larger than the "
                         "file (%zu bytes) or the 100 MB limit", (unsigned long long)n, size);
    if (n < 2 || bytes[8] != '{')
        return rt5__fail(err, RT5_ERR_FORMAT, "safetensors header is not a JSON object");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rt5__fail(err, RT5_ERR_FORMAT, "safetensors header: JSON error at byte %d: %s",
                         jerr.position, jerr.text);
    rt5_status st = json_is_object(root)
                        ? parse_header(set, root, bytes + 8 + n, size - 8 - n, err)
                        : rt5__fail(err, RT5_ERR_FORMAT, "safetensors header is not a JSON object");
    json_decref(root);
    return st;
}

/* ------------------------------------------------------------- writing */

#define WRITE_ALIGN 64

static size_t tensor_bytes(const rt5__safetensors_tensor *t, bool *ok)
{
    size_t n = rt5__elem_size(t->type);
    for (int32_t d = 0; d < t->n_dims; d++)
        *ok = *ok && t->shape[d] >= 0 && rt5__mul_size(n, (size_t)t->shape[d], &n);
    return n;
}

/* Data order: first the tensors whose size is a multiple of WRITE_ALIGN
 * bytes (so each of them starts WRITE_ALIGN-aligned: a reader can hand them
 * to SIMD code or oneDNN in place), then the rest; within each group larger
 * elements first, so every tensor stays aligned to its element size. */
static size_t *write_order(const rt5__safetensors_tensor *t, size_t n)
{
    size_t *order = malloc((n + 1) * sizeof *order), k = 0;
    for (int group = 0; order && group < 2; group++)
        for (size_t esize = 8; esize >= 1; esize /= 2)
            for (size_t i = 0; i < n; i++) {
                bool ok = true;
                bool aligned = tensor_bytes(&t[i], &ok) % WRITE_ALIGN == 0;
                if (rt5__elem_size(t[i].type) == esize && aligned == (group == 0))
                    order[k++] = i;
            }
    return order;
}

static json_t *build_header(const rt5__safetensors_tensor *t, const size_t *order, size_t n,
                            const char *const *mk, const char *const *mv, size_t n_meta,
                            rt5__errmsg *err)
{
    json_t *root = json_object(), *meta = n_meta ? json_object() : NULL;
    bool ok = root != NULL && (n_meta == 0 || meta != NULL);
    for (size_t i = 0; ok && i < n_meta; i++)
        ok = json_object_set_new(meta, mk[i], json_string(mv[i])) == 0;
    if (meta && ok)
        ok = json_object_set_new(root, "__metadata__", meta) == 0;
    else
        json_decref(meta);
    uint64_t at = 0;
    for (size_t k = 0; ok && k < n; k++) {
        const rt5__safetensors_tensor *x = &t[order[k]];
        size_t bytes = tensor_bytes(x, &ok);
        json_t *shape = json_array(), *info = json_object();
        for (int32_t d = 0; shape && d < x->n_dims; d++)
            json_array_append_new(shape, json_integer(x->shape[d]));
        json_object_set_new(info, "dtype", json_string(rt5__elem_name(x->type)));
        json_object_set_new(info, "shape", shape);
        json_object_set_new(info, "data_offsets",
                            json_pack("[II]", (json_int_t)at, (json_int_t)(at + bytes)));
        bool fresh = ok && info && !json_object_get(root, x->name) &&
                     strcmp(x->name, "__metadata__") != 0;
        if (fresh)
            ok = json_object_set_new(root, x->name, info) == 0; /* steals info */
        else
            json_decref(info);
        ok = ok && fresh;
        at += bytes;
    }
    if (!ok) {
        json_decref(root);
        rt5__fail(err, RT5_ERR_INVALID_ARGUMENT, "cannot build safetensors header (bad shape, "
                  "duplicate name or out of memory)");
        return NULL;
    }
    return root;
}

static bool write_all(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n;
}

static rt5_status write_body(FILE *f, const char *json, const rt5__safetensors_tensor *t,
                             const size_t *order, size_t n)
{
    /* the data area starts WRITE_ALIGN-aligned in the file (the JSON may end
     * in spaces; the reference library pads to 8 the same way) */
    size_t len = strlen(json), padded = (len + 8 + WRITE_ALIGN - 1) / WRITE_ALIGN * WRITE_ALIGN - 8;
    uint8_t head[8];
    for (int i = 0; i < 8; i++)
        head[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    bool ok = write_all(f, head, 8) && write_all(f, json, len);
    for (size_t i = len; ok && i < padded; i++)
        ok = fputc(' ', f) != EOF;
    for (size_t k = 0; ok && k < n; k++) {
        bool fine = true;
        ok = write_all(f, t[order[k]].data, tensor_bytes(&t[order[k]], &fine));
    }
    return ok ? RT5_OK : RT5_ERR_IO;
}

rt5_status rt5__safetensors_write(const char *path, const rt5__safetensors_tensor *tensors,
                                  size_t n_tensors, const char *const *metadata_keys,
                                  const char *const *metadata_values, size_t n_metadata,
                                  rt5__errmsg *err)
{
    size_t *order = write_order(tensors, n_tensors);
    if (!order)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    json_t *header = build_header(tensors, order, n_tensors, metadata_keys, metadata_values,
                                  n_metadata, err);
    char *json = header ? json_dumps(header, JSON_COMPACT) : NULL;
    json_decref(header);
    size_t n_tmp = strlen(path) + 32;
    char *tmp = malloc(n_tmp);
    rt5_status st = header ? RT5_OK : RT5_ERR_INVALID_ARGUMENT;
    if (st == RT5_OK && (!json || !tmp))
        st = rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    FILE *f = NULL;
    if (st == RT5_OK) {
        snprintf(tmp, n_tmp, "%s.tmp.%ld", path, (long)getpid());
        f = fopen(tmp, "wb");
        if (!f)
            st = rt5__fail(err, RT5_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    if (f) {
        st = write_body(f, json, tensors, order, n_tensors);
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            st = RT5_ERR_IO;
        if (fclose(f) != 0)
            st = RT5_ERR_IO;
        if (st == RT5_OK && rename(tmp, path) != 0)
            st = RT5_ERR_IO;
        if (st != RT5_OK) {
            rt5__fail(err, st, "%s: write failed: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(json);
    free(order);
    return st;
}
