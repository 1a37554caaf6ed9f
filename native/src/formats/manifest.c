/*
 * manifest.c -- reads a model folder's manifest.json (see manifest.h): the
 * file names under "files" are resolved inside the folder and must exist,
 * so a user who forgot to put the weights there is told which file is
 * missing rather than "no checkpoint in this folder".
 */
#include "formats/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/json_file.h"

static char *manifest_path(const char *dir)
{
    size_t n = strlen(dir) + sizeof "/manifest.json";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/manifest.json", dir);
    return p;
}

bool rt5__manifest_present(const char *dir)
{
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    char *p = manifest_path(dir);
    bool found = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return found;
}

/* files.<key>.path, resolved in dir; *out stays NULL when the key is absent. */
static rt5_status file_entry(const json_t *files, const char *key, const char *dir,
                             const char *manifest, char **out, rt5__errmsg *err)
{
    const json_t *entry = json_object_get(files, key);
    if (!entry)
        return RT5_OK;
    const json_t *name = json_object_get(entry, "path");
    const char *s = json_string_value(name);
    if (!s || !*s || strchr(s, '/') || strcmp(s, "..") == 0)
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: files.%s.path must be a file name in the folder",
                         manifest, key);
    size_t n = strlen(dir) + strlen(s) + 2;
    *out = malloc(n);
    if (!*out)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    snprintf(*out, n, "%s/%s", dir, s);
    struct stat st;
    if (stat(*out, &st) != 0)
        return rt5__fail(err, RT5_ERR_IO, "%s: files.%s names %s, which is not in %s (the folder's "
                         "README.md says where to get it)", manifest, key, s, dir);
    return RT5_OK;
}

static rt5_status read_fields(const json_t *root, const char *dir, const char *path,
                              rt5__manifest *m, rt5__errmsg *err)
{
    if (!json_is_object(root))
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: not a JSON object", path);
    const json_t *files = json_object_get(root, "files");
    if (files && !json_is_object(files))
        return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"files\" must be an object", path);
    rt5_status st = file_entry(files, "weights", dir, path, &m->weights, err);
    if (st == RT5_OK)
        st = file_entry(files, "tokenizer", dir, path, &m->tokenizer, err);
    if (st == RT5_OK)
        st = file_entry(files, "config", dir, path, &m->config, err);
    if (st != RT5_OK)
        return st;
    const json_t *tpl = json_object_get(root, "template");
    if (tpl && !json_is_null(tpl)) {
        const char *s = json_string_value(tpl);
        if (!s || !strstr(s, "{query}") || !strstr(s, "{document}"))
            return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"template\" must be null or a string with "
                             "{query} and {document}", path);
        if (!(m->text_template = strdup(s)))
            return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    const json_t *len = json_object_get(root, "max_length");
    if (len) {
        json_int_t v = json_integer_value(len);
        if (!json_is_integer(len) || v < 3 || v > 1 << 20)
            return rt5__fail(err, RT5_ERR_FORMAT, "%s: \"max_length\" must be an integer from 3 to %d",
                             path, 1 << 20);
        m->max_length = (int32_t)v;
    }
    return RT5_OK;
}

rt5_status rt5__manifest_read(const char *dir, rt5__manifest *m, rt5__errmsg *err)
{
    memset(m, 0, sizeof *m);
    char *path = manifest_path(dir);
    if (!path)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    json_t *root;
    rt5_status st = rt5__json_read_file(path, &root, err);
    if (st == RT5_OK) {
        st = read_fields(root, dir, path, m, err);
        json_decref(root);
    }
    free(path);
    if (st != RT5_OK)
        rt5__manifest_free(m);
    return st;
}

void rt5__manifest_free(rt5__manifest *m)
{
    free(m->weights);
    free(m->tokenizer);
    free(m->config);
    free(m->text_template);
    memset(m, 0, sizeof *m);
}
