/*
 * json_file.c -- reading a small JSON file whole and parsing it with jansson
 * (see json_file.h). Shared by the shard index reader and config.json.
 */
#include <stdlib.h>

#include "core/mapped_file.h"
#include "formats/json_file.h"

rt5_status rt5__json_read_file(const char *path, json_t **root, rt5__errmsg *err)
{
    *root = NULL;
    uint8_t *text;
    size_t size;
    rt5_status st = rt5__read_file(path, &text, &size, err);
    if (st != RT5_OK)
        return st;
    json_error_t jerr;
    *root = json_loadb((const char *)text, size, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!*root)
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: line %d: %s", path, jerr.line, jerr.text);
    return RT5_OK;
}
