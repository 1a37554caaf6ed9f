/*
 * manifest.h -- a model folder's manifest.json (models/<name>/manifest.json):
 * which file in the folder holds the weights, which the tokenizer, and the
 * pair template and length the model was trained with. It lets one folder
 * path stand for a whole model everywhere a model path is taken.
 *
 * Only the keys the loaders act on are read here; the rest of the manifest
 * (source, sizes, sha256, architecture) is for people and models/README.md.
 */
#ifndef RT5_FORMATS_MANIFEST_H
#define RT5_FORMATS_MANIFEST_H

#include "core/common.h"

typedef struct rt5__manifest {
    char *weights;       /* folder/<files.weights.path>; NULL if not named  */
    char *tokenizer;     /* folder/<files.tokenizer.path>; NULL if not named */
    char *config;        /* folder/<files.config.path>; NULL if not named   */
    char *text_template; /* "template", or NULL for Hugging Face's pair form */
    int32_t max_length;  /* "max_length", 0 when absent                     */
} rt5__manifest;

/* True when dir is a folder holding a manifest.json. */
bool rt5__manifest_present(const char *dir);

/* Reads dir/manifest.json into *m (zeroed first; rt5__manifest_free frees
 * it). Each file it names must exist in the folder: a missing one is
 * RT5_ERR_IO with a message naming the manifest, the key and the file. */
rt5_status rt5__manifest_read(const char *dir, rt5__manifest *m, rt5__errmsg *err);

void rt5__manifest_free(rt5__manifest *m);

#endif /* RT5_FORMATS_MANIFEST_H */
