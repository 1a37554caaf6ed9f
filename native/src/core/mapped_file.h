/*
 * mapped_file.h -- read-only memory maps of whole files.
 *
 * Checkpoints are used in place: tensors point into the mapping. An empty
 * file maps to a valid zero-length view (data == NULL, size == 0).
 */
#ifndef RT5_CORE_MAPPED_FILE_H
#define RT5_CORE_MAPPED_FILE_H

#include "core/common.h"

typedef struct rt5__mapped_file {
    const uint8_t *data;
    size_t size;
} rt5__mapped_file;

/* Maps path read-only. On failure fills err with the path and the reason. */
rt5_status rt5__mapped_file_open(const char *path, rt5__mapped_file *out, rt5__errmsg *err);
void rt5__mapped_file_close(rt5__mapped_file *file);

/* Reads a whole (small) file into a malloc'd buffer with a NUL appended
 * (not counted in *size). For config and tokenizer files. */
rt5_status rt5__read_file(const char *path, uint8_t **out, size_t *size, rt5__errmsg *err);

#endif /* RT5_CORE_MAPPED_FILE_H */
