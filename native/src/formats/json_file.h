/*
 * json_file.h -- a small JSON file (a config.json, a shard index) read and
 * parsed in one step, with the error naming the file and the line.
 */
#ifndef RT5_FORMATS_JSON_FILE_H
#define RT5_FORMATS_JSON_FILE_H

#include <jansson.h>

#include "core/common.h"

/* Reads path and parses it (duplicate keys rejected) into *root, which the
 * caller json_decref()s. On failure *root is NULL and err says
 * "path: line N: what" (or why the file could not be read). */
rt5_status rt5__json_read_file(const char *path, json_t **root, rt5__errmsg *err);

#endif /* RT5_FORMATS_JSON_FILE_H */
