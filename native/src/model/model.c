/*
 * model.c -- rt5_model_load and the rest of the public model API.
 *
 * Loading is: open the checkpoint as tensor views (native/src/formats), infer the
 * T5 configuration from shapes and an optional config.json (config.c), bind
 * and validate every weight (weights.c), and finally let the forward pass
 * pack them for the compute dtype (rt5__forward_prepare). Nothing is
 * computed before every tensor has been checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cpu.h"
#include "kernels/kernels.h"
#include "formats/manifest.h"
#include "model/converted.h"
#include "model/weights.h"

RT5_API const char *rt5_dtype_name(rt5_dtype dtype)
{
    switch (dtype) {
    case RT5_DTYPE_F32: return "f32";
    case RT5_DTYPE_F16: return "f16";
    case RT5_DTYPE_BF16: return "bf16";
    case RT5_DTYPE_INT8: return "int8";
    case RT5_DTYPE_AUTO: return "auto";
    }
    return "?";
}

RT5_API rt5_model_params rt5_model_default_params(void)
{
    return (rt5_model_params){.compute_dtype = RT5_DTYPE_F32, .config_path = NULL, .verbose = 0};
}

/* config.json beside the checkpoint (or inside it, for a folder). */
static char *default_config_path(const char *path)
{
    struct stat st;
    size_t n = strlen(path) + 16;
    char *p = malloc(n);
    if (!p)
        return NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(p, n, "%s/config.json", path);
    } else {
        const char *slash = strrchr(path, '/');
        snprintf(p, n, "%.*sconfig.json", slash ? (int)(slash - path + 1) : 0, path);
    }
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(p);
        return NULL;
    }
    return p;
}

static rt5_status load_config(rt5_model *m, const char *path, const rt5_model_params *params,
                              const char *prefix)
{
    rt5_status st = rt5__t5_config_infer(m->tensors, prefix, &m->config, &m->err);
    if (st != RT5_OK)
        return st;
    char *found = params->config_path ? NULL : default_config_path(path);
    const char *config = params->config_path ? params->config_path : found;
    if (config) {
        if (params->verbose)
            fprintf(stderr, "rankt5: reading %s\n", config);
        st = rt5__t5_config_apply_json(config, &m->config, &m->err);
    }
    free(found);
    return st;
}

static void log_config(const rt5_model *m)
{
    const rt5__t5_config *c = &m->config;
    fprintf(stderr, "rankt5: T5 encoder d_model=%d d_ff=%d heads=%d d_kv=%d layers=%d vocab=%d "
            "buckets=%d max_distance=%d ffn=%s eps=%g\n", c->d_model, c->d_ff, c->n_heads, c->d_kv,
            c->n_layers, c->vocab_size, c->num_buckets, c->max_distance,
            c->gated_gelu ? "gated-gelu" : "relu", (double)c->eps);
}

static rt5_status load_files(rt5_model *m, const char *path, const rt5_model_params *params)
{
    if (params->verbose)
        fprintf(stderr, "rankt5: opening %s\n", path);
    rt5_status st = rt5__tensor_set_open(path, &m->tensors, &m->err);
    const char *prefix = "";
    bool converted = st == RT5_OK && rt5__converted_detect(m->tensors);
    if (st == RT5_OK && converted) { /* rt5_model_save's files: config in the metadata */
        st = rt5__converted_open(m, params->compute_dtype);
        if (st == RT5_OK && params->config_path)
            st = rt5__model_add_warning(m, "config %s ignored: a converted file carries its configuration",
                                        params->config_path);
    }
    else if (st == RT5_OK)
        st = rt5__t5_key_prefix(m->tensors, &prefix, &m->err);
    if (st == RT5_OK && !converted)
        st = load_config(m, path, params, prefix);
    if (st == RT5_OK && params->verbose)
        log_config(m);
    if (st == RT5_OK)
        st = rt5__model_bind_weights(m, prefix);
    if (st != RT5_OK && m->tensors)
        rt5__errmsg_prefix(&m->err, "%s", path); /* the formats name it already */
    return st;
}

/* A folder with a manifest.json (models/<name>/) stands for the weights file
 * and config.json it names; any other path is loaded as it is. */
static rt5_status load_steps(rt5_model *m, const char *path, const rt5_model_params *params)
{
    if (!rt5__manifest_present(path))
        return load_files(m, path, params);
    rt5__manifest man;
    rt5_status st = rt5__manifest_read(path, &man, &m->err);
    if (st != RT5_OK)
        return st;
    rt5_model_params p = *params;
    if (!p.config_path)
        p.config_path = man.config;
    if (params->verbose && man.weights)
        fprintf(stderr, "rankt5: %s/manifest.json names %s\n", path, man.weights);
    st = load_files(m, man.weights ? man.weights : path, &p);
    rt5__manifest_free(&man);
    return st;
}

rt5_status rt5__model_load_unprepared(const char *path, const rt5_model_params *params,
                                      rt5_model **out)
{
    double t0 = rt5__now_seconds();
    rt5_model_params defaults = rt5_model_default_params();
    if (!out)
        return RT5_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return RT5_ERR_OUT_OF_MEMORY;
    rt5_model *m = *out;
    if (!params)
        params = &defaults;
    /* auto: chosen now, from this CPU; a converted file keeps its own dtype */
    m->compute_dtype = params->compute_dtype;
    rt5_model_params resolved = *params;
    if (params->compute_dtype == RT5_DTYPE_AUTO) {
        m->compute_dtype = rt5_dtype_resolve(RT5_DTYPE_AUTO);
        resolved.compute_dtype = RT5_DTYPE_F32; /* for a converted file: "as stored" */
        params = &resolved;
    }
    rt5_status st = path ? load_steps(m, path, params)
                         : rt5__fail(&m->err, RT5_ERR_INVALID_ARGUMENT, "no model path given");
    m->load_seconds = rt5__now_seconds() - t0;
    return st;
}

RT5_API rt5_status rt5_model_load(const char *path, const rt5_model_params *params,
                                  rt5_model **out)
{
    double t0 = rt5__now_seconds();
    rt5_status st = rt5__model_load_unprepared(path, params, out);
    if (st != RT5_OK)
        return st;
    rt5_model *m = *out;
    if ((unsigned)m->compute_dtype > RT5_DTYPE_INT8)
        return rt5__fail(&m->err, RT5_ERR_INVALID_ARGUMENT, "unknown compute dtype %d",
                         (int)m->compute_dtype);
    const char *why = NULL;
    if (m->compute_dtype != RT5_DTYPE_F16 && rt5_cpu_dtype_supported(m->compute_dtype, &why) != RT5_OK)
        return rt5__fail(&m->err, RT5_ERR_UNSUPPORTED, "%s%s", m->converted ? "this file computes in bf16: " : "",
                         why);
    st = rt5__forward_prepare(m);
    if (st != RT5_OK && m->err.text[0] == 0)
        rt5__fail(&m->err, st, "preparing the forward pass failed: %s", rt5_status_str(st));
    m->load_seconds = rt5__now_seconds() - t0;
    if (st == RT5_OK && params && params->verbose)
        fprintf(stderr, "rankt5: model ready in %.3f s\n", m->load_seconds);
    return st;
}

RT5_API void rt5_model_free(rt5_model *model)
{
    if (!model)
        return;
    rt5__forward_release(model);
    for (size_t i = 0; i < model->n_owned; i++)
        free(model->owned[i]);
    free(model->owned);
    for (int32_t i = 0; i < model->n_warnings; i++)
        free(model->warnings[i]);
    free(model->warnings);
    free(model->weights.blocks);
    rt5__converted_free(model->converted);
    rt5__tensor_set_free(model->tensors);
    free(model);
}

RT5_API const char *rt5_model_last_error(const rt5_model *model)
{
    if (!model)
        return "no model (out of memory or invalid argument)";
    return model->err.text;
}

RT5_API rt5_status rt5_model_get_info(const rt5_model *model, rt5_model_info *info)
{
    if (!model || !info || !model->tensors)
        return RT5_ERR_INVALID_ARGUMENT;
    const rt5__t5_config *c = &model->config;
    *info = (rt5_model_info){
        .d_model = c->d_model, .d_ff = c->d_ff, .n_heads = c->n_heads, .d_kv = c->d_kv,
        .n_layers = c->n_layers, .vocab_size = c->vocab_size, .num_buckets = c->num_buckets,
        .max_distance = c->max_distance, .gated_gelu = c->gated_gelu,
        .layer_norm_epsilon = c->eps, .file_dtype = model->file_dtype,
        .compute_dtype = model->compute_dtype, .n_params = model->n_params,
        .bytes_mapped = model->tensors->bytes_mapped, .load_seconds = model->load_seconds,
        .n_warnings = model->n_warnings, .converted = model->converted != NULL,
        .n_linears_in_place = model->converted ? model->converted->n_in_place : 0,
    };
    return RT5_OK;
}

RT5_API const char *rt5_model_warning(const rt5_model *model, int32_t i)
{
    if (!model || i < 0 || i >= model->n_warnings)
        return NULL;
    return model->warnings[i];
}

/* ------------------------------------------------------------ the CPU */

RT5_API rt5_status rt5_cpu_get_info(rt5_cpu_info *info)
{
    if (!info)
        return RT5_ERR_INVALID_ARGUMENT;
    const rt5__cpu *c = rt5__cpu_get();
    *info = (rt5_cpu_info){
        .isa = rt5__isa_name(c->isa), .isa_detected = rt5__isa_name(c->detected), .isa_cap = c->cap,
        .kernels = rt5__kernels_get()->name, .bf16_native = rt5__cpu_bf16_native(),
        .int8_vnni = rt5__cpu_int8_vnni(), .note = c->note,
    };
    return RT5_OK;
}

RT5_API rt5_status rt5_cpu_dtype_supported(rt5_dtype dtype, const char **why)
{
    const char *reason = NULL;
    switch (rt5_dtype_resolve(dtype)) {
    case RT5_DTYPE_F32:
    case RT5_DTYPE_INT8: break;
    case RT5_DTYPE_BF16: reason = rt5__cpu_bf16_native() ? NULL : rt5__cpu_get()->bf16_why; break;
    case RT5_DTYPE_F16: reason = "f16 is a storage dtype only: compute in f32, bf16, int8 or auto"; break;
    default: reason = "unknown compute dtype: want f32, bf16, int8 or auto"; break;
    }
    if (why)
        *why = reason;
    return reason ? RT5_ERR_UNSUPPORTED : RT5_OK;
}

RT5_API rt5_dtype rt5_dtype_resolve(rt5_dtype dtype)
{
    if (dtype != RT5_DTYPE_AUTO)
        return dtype;
    return rt5__cpu_int8_vnni() ? RT5_DTYPE_INT8 : RT5_DTYPE_F32;
}
