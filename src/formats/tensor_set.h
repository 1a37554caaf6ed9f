/*
 * tensor_set.h -- the format-neutral result of reading a checkpoint: named
 * tensor views into memory-mapped files.
 *
 * This is the contract between src/formats (zip, pickle, torch, safetensors:
 * they know nothing of T5) and src/model (which binds names to a T5
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

#endif /* RT5_FORMATS_TENSOR_SET_H */
