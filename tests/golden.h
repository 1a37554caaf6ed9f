/*
 * golden.h -- the golden fixtures of tests/fixtures/golden/golden.json
 * (tiny RankT5 models scored by transformers in tests/gen/gen_golden.py), read
 * once into the file-level `models` table by load_golden(). Shared by the
 * forward-pass and low-precision tests; each test binary gets its own copy.
 */
#ifndef RT5_TEST_GOLDEN_H
#define RT5_TEST_GOLDEN_H

#include <jansson.h>
#include <stdio.h>

#include "harness.h"
#include "rankt5.h"

#define GOLDEN "tests/fixtures/golden/"

typedef struct golden_pair {
    char label[64];
    int32_t *ids;
    size_t n_ids;
    double f64, f32;
} golden_pair;

typedef struct golden_model {
    char name[64];
    int32_t vocab;
    golden_pair *pairs;
    size_t n_pairs;
} golden_model;

static golden_model *models;
static size_t n_models;

static void load_golden(void)
{
    if (models)
        return;
    json_error_t jerr;
    json_t *root = json_load_file(rt5t_path(GOLDEN "golden.json"), 0, &jerr);
    if (!root) {
        fprintf(stderr, "  golden.json: %s\n", jerr.text);
        return;
    }
    json_t *jm = json_object_get(root, "models");
    n_models = json_array_size(jm);
    models = calloc(n_models, sizeof *models);
    for (size_t i = 0; i < n_models; i++) {
        json_t *m = json_array_get(jm, i), *jp = json_object_get(m, "pairs");
        snprintf(models[i].name, sizeof models[i].name, "%s", json_string_value(json_object_get(m, "name")));
        models[i].vocab = (int32_t)json_integer_value(json_object_get(m, "vocab_size"));
        models[i].n_pairs = json_array_size(jp);
        models[i].pairs = calloc(models[i].n_pairs, sizeof(golden_pair));
        for (size_t k = 0; k < models[i].n_pairs; k++) {
            json_t *p = json_array_get(jp, k), *ids = json_object_get(p, "ids");
            golden_pair *g = &models[i].pairs[k];
            snprintf(g->label, sizeof g->label, "%s", json_string_value(json_object_get(p, "label")));
            g->n_ids = json_array_size(ids);
            g->ids = malloc(sizeof(int32_t) * (g->n_ids ? g->n_ids : 1));
            for (size_t t = 0; t < g->n_ids; t++)
                g->ids[t] = (int32_t)json_integer_value(json_array_get(ids, t));
            g->f64 = json_real_value(json_object_get(p, "score_f64"));
            g->f32 = json_real_value(json_object_get(p, "score_f32"));
        }
    }
    json_decref(root);
}

/* Golden model gm from its file GOLDEN<name>.<ext> ("bin" or
 * "safetensors") with its config.json, in compute dtype dt; NULL (and the
 * loader's message on stderr) on failure. */
static rt5_model *golden_load(const golden_model *gm, const char *ext, rt5_dtype dt)
{
    char config[4300], path[4300];
    int n1 = snprintf(config, sizeof config, "%s%s.config.json", rt5t_path(GOLDEN), gm->name);
    int n2 = snprintf(path, sizeof path, "%s%s.%s", rt5t_path(GOLDEN), gm->name, ext);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof config || (size_t)n2 >= sizeof path)
        return NULL;
    rt5_model_params mp = rt5_model_default_params();
    mp.config_path = config;
    mp.compute_dtype = dt;
    rt5_model *model = NULL;
    rt5_status st = rt5_model_load(path, &mp, &model);
    if (st != RT5_OK) {
        fprintf(stderr, "  load %s (%s): %s: %s\n", path, rt5_dtype_name(dt), rt5_status_str(st),
                model ? rt5_model_last_error(model) : "");
        rt5_model_free(model);
        return NULL;
    }
    return model;
}

#endif /* RT5_TEST_GOLDEN_H */
