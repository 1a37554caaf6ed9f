/*
 * safetensors.h -- the safetensors writer (the reader is reached through
 * rt5__tensor_set_open / rt5__safetensors_read_memory in tensor_set.h).
 *
 * File layout: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {"k": "v"}}, then the data area; offsets are relative to
 * the data area, which the tensors cover exactly, without gaps or overlap.
 */
#ifndef RT5_FORMATS_SAFETENSORS_H
#define RT5_FORMATS_SAFETENSORS_H

#include "formats/tensor_set.h"

typedef struct rt5__safetensors_tensor {
    const char *name;
    rt5__elem_type type;
    int32_t n_dims;
    int64_t shape[RT5__MAX_DIMS];
    const void *data;  /* numel x element size bytes, row-major */
} rt5__safetensors_tensor;

/* Writes tensors (and optional metadata pairs) to path atomically: into
 * "<path>.tmp.<pid>", fsync'd, then renamed. The header is padded with
 * spaces so that the data area starts at a multiple of 64 bytes; tensors
 * whose size is a multiple of 64 bytes come first (each then starts
 * 64-byte aligned), and within that order larger elements first, so every
 * tensor is aligned at least to its element size. */
rt5_status rt5__safetensors_write(const char *path, const rt5__safetensors_tensor *tensors,
                                  size_t n_tensors, const char *const *metadata_keys,
                                  const char *const *metadata_values, size_t n_metadata,
                                  rt5__errmsg *err);

#endif /* RT5_FORMATS_SAFETENSORS_H */
