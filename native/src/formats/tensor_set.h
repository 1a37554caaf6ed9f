/*
 * tensor_set.h -- the format-neutral result of reading a checkpoint: named
 * tensor views into memory-mapped files.
 *
 * This is the contract between native/src/formats (zip, pickle, torch, safetensors:
 * they know nothing of T5) and native/src/model (which binds names to a T5
 * configuration). A view never owns its bytes: they live in one of the set's
 * mappings, bounds-checked when the set was built.
 */
#ifndef RT5_FORMATS_TENSOR_SET_H
#define RT5_FORMATS_TENSOR_SET_H

#include "core/common.h"
#include "core/mapped_file.h"

typedef enum rt5__elem_type {
    RT5__ELEM_F32 = 0,
    RT5__ELEM_F16,
    RT5__ELEM_BF16,
    RT5__ELEM_F64,
    RT5__ELEM_I8,
    RT5__ELEM_U8,
    RT5__ELEM_I16,
    RT5__ELEM_I32,
    RT5__ELEM_I64,
    RT5__ELEM_BOOL,
    RT5__ELEM_COUNT
} rt5__elem_type;

/* Bytes per element and a short name ("F32", "BF16", ...). */
size_t rt5__elem_size(rt5__elem_type type);
const char *rt5__elem_name(rt5__elem_type type);

#define RT5__MAX_DIMS 8

typedef struct rt5__tensor_view {
    char *name;                     /* owned by the set                  */
    rt5__elem_type type;
    int32_t n_dims;
    int64_t shape[RT5__MAX_DIMS];
    int64_t strides[RT5__MAX_DIMS]; /* in elements, torch convention     */
    const uint8_t *data;            /* first element, inside a mapping   */
    uint64_t n_bytes;               /* extent covered by shape x strides */
    int32_t storage_id;             /* views sharing a storage share it  */
    bool contiguous;                /* row-major, no gaps                */
} rt5__tensor_view;

typedef struct rt5__tensor_set {
    rt5__tensor_view *tensors;
    size_t n_tensors;
    rt5__mapped_file *files;        /* the mappings the views point into */
    size_t n_files;
    uint64_t bytes_mapped;
    /* "key=value" metadata (safetensors __metadata__), may be empty. */
    char **metadata_keys;
    char **metadata_values;
    size_t n_metadata;
    size_t cap_tensors, cap_files, cap_metadata; /* growth bookkeeping   */
} rt5__tensor_set;

/*
 * Opens a checkpoint: a torch zip (.bin/.pt), a .safetensors file, a
 * sharded safetensors index (*.index.json), or a directory holding one of
 * them. On failure err names the file and the offending part.
 */
rt5_status rt5__tensor_set_open(const char *path, rt5__tensor_set **out, rt5__errmsg *err);
void rt5__tensor_set_free(rt5__tensor_set *set);

/* The view named name, or NULL. */
const rt5__tensor_view *rt5__tensor_set_find(const rt5__tensor_set *set, const char *name);

/* Number of elements of a view (product of its shape; 1 for a scalar). */
int64_t rt5__tensor_numel(const rt5__tensor_view *view);

/* ---- building a set (used by the format readers, not by native/src/model) ---- */

/* Maps path read-only and adds it to the set's files; *file_out is the
 * mapping (its address stays valid until the set is freed). */
rt5_status rt5__tensor_set_map(rt5__tensor_set *set, const char *path,
                               const rt5__mapped_file **file_out, rt5__errmsg *err);

/* Appends a view called name (copied); the caller fills type, shape and
 * strides, then calls rt5__tensor_view_place. NULL when out of memory. */
rt5__tensor_view *rt5__tensor_set_add(rt5__tensor_set *set, const char *name);

/* Points view at element `offset` of a storage of storage_bytes bytes at
 * base, after checking that every element the shape and strides reach lies
 * inside the storage (overflow-checked); sets n_bytes and contiguous. */
rt5_status rt5__tensor_view_place(rt5__tensor_view *view, const uint8_t *base,
                                  uint64_t storage_bytes, int64_t offset, rt5__errmsg *err);

/* Row-major strides for view->shape. */
void rt5__tensor_view_set_contiguous_strides(rt5__tensor_view *view);

/* Adds one key=value metadata pair (both copied). */
rt5_status rt5__tensor_set_add_metadata(rt5__tensor_set *set, const char *key, const char *value,
                                        rt5__errmsg *err);

/* Readers of the individual formats over bytes in memory (a mapping the
 * set holds, or a test's buffer): each appends views into bytes, which must
 * outlive the set. */
rt5_status rt5__torch_read_memory(rt5__tensor_set *set, const uint8_t *bytes, size_t size,
                                  rt5__errmsg *err);
rt5_status rt5__safetensors_read_memory(rt5__tensor_set *set, const uint8_t *bytes, size_t size,
                                        rt5__errmsg *err);

/* An empty set, for the readers above. */
rt5__tensor_set *rt5__tensor_set_new(void);

#endif /* RT5_FORMATS_TENSOR_SET_H */
