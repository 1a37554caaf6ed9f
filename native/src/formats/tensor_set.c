/*
 * tensor_set.c -- opening a checkpoint path as a set of named tensor views.
 *
 * Owns the dispatch by content (torch zip, safetensors, a sharded
 * *.index.json, a directory holding one of them), the mappings, and the
 * checks shared by every format: each view's extent lies inside its storage
 * (shape x strides, overflow-checked) and no name appears twice. The format
 * readers (torch.c, safetensors.c) only append views.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/json_file.h"
#include "formats/tensor_set.h"

static const struct {
    const char *name;
    size_t size;
} elem_info[RT5__ELEM_COUNT] = {
    [RT5__ELEM_F32] = {"F32", 4}, [RT5__ELEM_F16] = {"F16", 2}, [RT5__ELEM_BF16] = {"BF16", 2},
    [RT5__ELEM_F64] = {"F64", 8}, [RT5__ELEM_I8] = {"I8", 1},   [RT5__ELEM_U8] = {"U8", 1},
    [RT5__ELEM_I16] = {"I16", 2}, [RT5__ELEM_I32] = {"I32", 4}, [RT5__ELEM_I64] = {"I64", 8},
    [RT5__ELEM_BOOL] = {"BOOL", 1},
};

size_t rt5__elem_size(rt5__elem_type type)
{
    return (unsigned)type < RT5__ELEM_COUNT ? elem_info[type].size : 0;
}

const char *rt5__elem_name(rt5__elem_type type)
{
    return (unsigned)type < RT5__ELEM_COUNT ? elem_info[type].name : "?";
}

int64_t rt5__tensor_numel(const rt5__tensor_view *view)
{
    int64_t n = 1;
    for (int32_t d = 0; d < view->n_dims; d++)
        n *= view->shape[d]; /* cannot overflow: checked by _place */
    return n;
}

/* ------------------------------------------------------------- building */

rt5__tensor_set *rt5__tensor_set_new(void)
{
    return calloc(1, sizeof(rt5__tensor_set));
}

rt5_status rt5__tensor_set_map(rt5__tensor_set *set, const char *path,
                               const rt5__mapped_file **file_out, rt5__errmsg *err)
{
    if (!rt5__grow_zeroed((void **)&set->files, &set->cap_files, set->n_files + 1, sizeof *set->files))
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    rt5__mapped_file *file = &set->files[set->n_files];
    rt5_status st = rt5__mapped_file_open(path, file, err);
    if (st != RT5_OK)
        return st;
    set->n_files++;
    set->bytes_mapped += file->size;
    *file_out = file;
    return RT5_OK;
}

rt5__tensor_view *rt5__tensor_set_add(rt5__tensor_set *set, const char *name)
{
    if (!rt5__grow_zeroed((void **)&set->tensors, &set->cap_tensors, set->n_tensors + 1, sizeof *set->tensors))
        return NULL;
    rt5__tensor_view *v = &set->tensors[set->n_tensors];
    memset(v, 0, sizeof *v);
    v->name = strdup(name);
    if (!v->name)
        return NULL;
    v->storage_id = (int32_t)set->n_tensors;
    set->n_tensors++;
    return v;
}

rt5_status rt5__tensor_set_add_metadata(rt5__tensor_set *set, const char *key, const char *value,
                                        rt5__errmsg *err)
{
    size_t cap = set->cap_metadata;
    if (!rt5__grow_zeroed((void **)&set->metadata_keys, &cap, set->n_metadata + 1, sizeof(char *)) ||
        !rt5__grow_zeroed((void **)&set->metadata_values, &set->cap_metadata, set->n_metadata + 1,
                          sizeof(char *)))
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    set->metadata_keys[set->n_metadata] = k;
    set->metadata_values[set->n_metadata++] = v;
    return RT5_OK;
}

void rt5__tensor_view_set_contiguous_strides(rt5__tensor_view *view)
{
    int64_t stride = 1;
    for (int32_t d = view->n_dims; d-- > 0;) {
        view->strides[d] = stride;
        /* On overflow saturate: _place then reports the shape as too big. */
        if (__builtin_mul_overflow(stride, view->shape[d] > 0 ? view->shape[d] : 1, &stride))
            stride = INT64_MAX;
    }
}

static void format_dims(const int64_t *dims, int32_t n, char *buf, size_t cap)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, cap, "[");
    for (int32_t d = 0; d < n && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, d ? ", %lld" : "%lld", (long long)dims[d]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

static bool is_contiguous(const rt5__tensor_view *v)
{
    int64_t expected = 1;
    for (int32_t d = v->n_dims; d-- > 0;) {
        if (v->shape[d] != 1 && v->strides[d] != expected)
            return false;
        expected *= v->shape[d];
    }
    return true;
}

rt5_status rt5__tensor_view_place(rt5__tensor_view *view, const uint8_t *base,
                                  uint64_t storage_bytes, int64_t offset, rt5__errmsg *err)
{
    uint64_t esize = rt5__elem_size(view->type), numel = 1, last = (uint64_t)offset;
    bool empty = false, ok = offset >= 0 && view->n_dims >= 0 && view->n_dims <= RT5__MAX_DIMS;
    for (int32_t d = 0; ok && d < view->n_dims; d++) {
        int64_t n = view->shape[d], s = view->strides[d];
        ok = n >= 0 && s >= 0 && !__builtin_mul_overflow(numel, (uint64_t)n, &numel);
        empty |= n == 0;
        uint64_t reach;
        if (ok && n > 0)
            ok = !__builtin_mul_overflow((uint64_t)(n - 1), (uint64_t)s, &reach) &&
                 !__builtin_add_overflow(last, reach, &last);
    }
    char shape[128], strides[128];
    format_dims(view->shape, RT5_MIN(view->n_dims, RT5__MAX_DIMS), shape, sizeof shape);
    format_dims(view->strides, RT5_MIN(view->n_dims, RT5__MAX_DIMS), strides, sizeof strides);
    uint64_t end_bytes = 0;
    if (ok && !empty)
        ok = !__builtin_mul_overflow(last + 1, esize, &end_bytes) && numel <= INT64_MAX / esize;
    if (!ok)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': shape %s with strides %s at offset "
                         "%lld overflows", view->name, shape, strides, (long long)offset);
    uint64_t start_bytes = (uint64_t)offset * esize; /* offset <= last, no overflow */
    if (empty ? start_bytes > storage_bytes : end_bytes > storage_bytes)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': shape %s with strides %s at offset "
                         "%lld reaches byte %llu, beyond its storage of %llu bytes", view->name,
                         shape, strides, (long long)offset,
                         (unsigned long long)(empty ? start_bytes : end_bytes),
                         (unsigned long long)storage_bytes);
    view->data = base + start_bytes;
    view->n_bytes = empty ? 0 : end_bytes - start_bytes;
    view->contiguous = empty || is_contiguous(view);
    return RT5_OK;
}

/* ------------------------------------------------------------- lookup */

const rt5__tensor_view *rt5__tensor_set_find(const rt5__tensor_set *set, const char *name)
{
    for (size_t i = 0; set && i < set->n_tensors; i++)
        if (strcmp(set->tensors[i].name, name) == 0)
            return &set->tensors[i];
    return NULL;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const rt5__tensor_view *const *)a)->name,
                  (*(const rt5__tensor_view *const *)b)->name);
}

/* Two tensors with one name would make binding ambiguous. */
static rt5_status check_unique_names(const rt5__tensor_set *set, rt5__errmsg *err)
{
    const rt5__tensor_view **sorted = malloc((set->n_tensors + 1) * sizeof *sorted);
    if (!sorted)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < set->n_tensors; i++)
        sorted[i] = &set->tensors[i];
    qsort(sorted, set->n_tensors, sizeof *sorted, name_cmp);
    rt5_status st = RT5_OK;
    for (size_t i = 1; i < set->n_tensors && st == RT5_OK; i++)
        if (strcmp(sorted[i]->name, sorted[i - 1]->name) == 0)
            st = rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s' appears twice", sorted[i]->name);
    free(sorted);
    return st;
}

/* ------------------------------------------------------------- opening */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads one mapped file by its content. */
static rt5_status read_by_content(rt5__tensor_set *set, const char *path, rt5__errmsg *err)
{
    const rt5__mapped_file *file = NULL;
    rt5_status st = rt5__tensor_set_map(set, path, &file, err);
    if (st != RT5_OK)
        return st;
    const uint8_t *b = file->data;
    size_t n = file->size;
    if (n >= 4 && b[0] == 'P' && b[1] == 'K')
        st = rt5__torch_read_memory(set, b, n, err);
    else if (n >= 2 && b[0] == 0x80 && b[1] >= 1 && b[1] <= 5)
        st = rt5__fail(err, RT5_ERR_UNSUPPORTED, "legacy torch format (written by torch < 1.6 or "
                       "with _use_new_zipfile_serialization=False); re-save it with a newer torch: "
                       "torch.save(torch.load(old), new)");
    else if (n >= 262 && memcmp(b + 257, "ustar", 5) == 0)
        st = rt5__fail(err, RT5_ERR_UNSUPPORTED, "legacy tar-based torch format; re-save it with "
                       "a newer torch: torch.save(torch.load(old), new)");
    else if (n >= 9 && b[8] == '{')
        st = rt5__safetensors_read_memory(set, b, n, err);
    else
        st = rt5__fail(err, RT5_ERR_FORMAT, "not a checkpoint: expected a torch zip (.bin/.pt), "
                       "a .safetensors file or a *.index.json");
    if (st != RT5_OK)
        rt5__errmsg_prefix(err, "%s", path);
    return st;
}

/* A shard name from an index must stay inside the index's folder. */
static bool safe_shard_name(const char *name)
{
    return *name && !strchr(name, '/') && !strchr(name, '\\') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Loads every shard the weight map names (each once, in first-seen order)
 * and checks that each listed tensor came from the shard it is listed in. */
static rt5_status read_shards(rt5__tensor_set *set, const char *dir, json_t *map, rt5__errmsg *err)
{
    size_t n_keys = json_object_size(map);
    size_t *first = calloc(n_keys + 1, sizeof *first), *last = calloc(n_keys + 1, sizeof *last);
    const char **shards = calloc(n_keys + 1, sizeof *shards);
    size_t n_shards = 0;
    rt5_status st = (first && last && shards) ? RT5_OK
                                              : rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value) {
        if (st != RT5_OK)
            break;
        const char *shard = json_string_value(value);
        if (!shard || !safe_shard_name(shard)) {
            st = rt5__fail(err, RT5_ERR_FORMAT, "weight_map['%s'] is not a file name in the "
                           "index's folder", key);
            break;
        }
        size_t s = 0;
        while (s < n_shards && strcmp(shards[s], shard) != 0)
            s++;
        if (s < n_shards)
            continue;
        shards[n_shards] = shard;
        first[n_shards] = set->n_tensors;
        char *path = join_path(dir, shard);
        st = path ? read_by_content(set, path, err)
                  : rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
        free(path);
        last[n_shards++] = set->n_tensors;
    }
    json_object_foreach(map, key, value) {
        if (st != RT5_OK)
            break;
        size_t s = 0;
        while (s < n_shards && strcmp(shards[s], json_string_value(value)) != 0)
            s++;
        const rt5__tensor_view *v = rt5__tensor_set_find(set, key);
        size_t at = v ? (size_t)(v - set->tensors) : 0;
        if (!v || at < first[s] || at >= last[s])
            st = rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s' is listed in shard '%s' but not "
                           "found there", key, json_string_value(value));
    }
    free(first);
    free(last);
    free(shards);
    return st;
}

static rt5_status read_index(rt5__tensor_set *set, const char *path, rt5__errmsg *err)
{
    json_t *root;
    rt5_status st = rt5__json_read_file(path, &root, err);
    if (st != RT5_OK)
        return st;
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map) || json_object_size(map) == 0)
        st = rt5__fail(err, RT5_ERR_FORMAT, "%s: no \"weight_map\" object", path);
    if (st == RT5_OK) {
        char *dir = dir_of(path);
        st = dir ? read_shards(set, dir, map, err)
                 : rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
        free(dir);
        if (st != RT5_OK)
            rt5__errmsg_prefix(err, "%s", path);
    }
    json_decref(root);
    return st;
}

/* Well-known checkpoint names inside a model folder, preferred first. */
static const char *const folder_candidates[] = {
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
    "pytorch_model.bin.index.json",
};

/* Picks the checkpoint inside a folder: a well-known name, else the only
 * *.safetensors / *.bin / *.index.json file. Returns a malloc'd path. */
static rt5_status pick_in_folder(const char *dir, char **out, rt5__errmsg *err)
{
    *out = NULL;
    struct stat st;
    for (size_t i = 0; i < RT5_ARRAY_LEN(folder_candidates); i++) {
        char *p = join_path(dir, folder_candidates[i]);
        if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            *out = p;
            return RT5_OK;
        }
        free(p);
    }
    DIR *d = opendir(dir);
    if (!d)
        return rt5__fail(err, RT5_ERR_IO, "%s: cannot list folder", dir);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".safetensors") && !ends_with(e->d_name, ".bin") &&
            !ends_with(e->d_name, ".index.json"))
            continue;
        if (found++ == 0)
            *out = join_path(dir, e->d_name);
    }
    closedir(d);
    if (found == 1 && *out)
        return RT5_OK;
    free(*out);
    *out = NULL;
    return rt5__fail(err, RT5_ERR_IO, found ? "%s: several checkpoint files; name one"
                                            : "%s: no model.safetensors, pytorch_model.bin or "
                                              "*.index.json in this folder", dir);
}

static rt5_status open_path(rt5__tensor_set *set, const char *path, rt5__errmsg *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rt5__fail(err, RT5_ERR_IO, "%s: no such file or folder", path);
    if (S_ISDIR(st.st_mode)) {
        char *file;
        rt5_status s = pick_in_folder(path, &file, err);
        if (s == RT5_OK)
            s = open_path(set, file, err);
        free(file);
        return s;
    }
    if (ends_with(path, ".json"))
        return read_index(set, path, err);
    return read_by_content(set, path, err);
}

rt5_status rt5__tensor_set_open(const char *path, rt5__tensor_set **out, rt5__errmsg *err)
{
    *out = NULL;
    rt5__tensor_set *set = rt5__tensor_set_new();
    if (!set)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    rt5_status st = open_path(set, path, err);
    if (st == RT5_OK)
        st = check_unique_names(set, err);
    if (st != RT5_OK) {
        rt5__tensor_set_free(set);
        return st;
    }
    *out = set;
    return RT5_OK;
}

void rt5__tensor_set_free(rt5__tensor_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_tensors; i++)
        free(set->tensors[i].name);
    for (size_t i = 0; i < set->n_files; i++)
        rt5__mapped_file_close(&set->files[i]);
    for (size_t i = 0; i < set->n_metadata; i++) {
        free(set->metadata_keys[i]);
        free(set->metadata_values[i]);
    }
    free(set->tensors);
    free(set->files);
    free(set->metadata_keys);
    free(set->metadata_values);
    free(set);
}
