/*
 * cmd_info.c -- `rankt5 info --model PATH`: load a checkpoint exactly as
 * scoring would (every tensor validated, weights prepared), then print the
 * inferred T5 configuration, parameter count, dtypes, bytes mapped, load
 * time and any warnings. A bad file exits 1 with the loader's message.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *CMD = "info";

typedef struct info_opts {
    const char *model_path;
    rt5_model_params params;
    bool json;
} info_opts;

static void print_help(void)
{
    printf("Usage: rankt5 info --model PATH [options]\n\n"
           "Loads a checkpoint, checks every tensor against the T5 configuration inferred\n"
           "from the tensor shapes, and prints that configuration.\n\n"
           "PATH is one of:\n"
           "  pytorch_model.bin     a torch.save zip archive (read without running its pickle)\n"
           "  model.safetensors     a safetensors file\n"
           "  *.index.json          a sharded checkpoint's index\n"
           "  a folder              holding one of the above, and optionally config.json\n\n"
           "Options:\n"
           "  --model PATH          the checkpoint (required)\n"
           "  --config FILE         a Hugging Face config.json; by default the config.json\n"
           "                        beside the checkpoint is used when there is one. It sets\n"
           "                        layer_norm_epsilon and relative_attention_max_distance and\n"
           "                        is checked against the tensor shapes\n"
           "  --dtype f32|bf16|int8 the compute dtype to prepare (default f32)\n"
           "  --json                print one JSON object instead of text\n"
           "  -v, --verbose         print the load steps to stderr\n\n"
           "Example:\n"
           "  rankt5 info --model naver-rankT5-3b/pytorch_model.bin\n");
}

static int parse_args(int argc, char **argv, info_opts *o)
{
    o->params = rt5_model_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_opt(CMD, argc, argv, &i, &o->model_path, &o->params, NULL);
        if (r < 0)
            return -r;
        if (r > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return -1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", a);
        }
    }
    if (!o->model_path)
        return cli_usage_error(CMD, "--model PATH is required");
    return 0;
}

/* 2851598337 -> "2,851,598,337" */
static void with_commas(uint64_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t at = 0;
    for (int i = 0; i < n && at + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[at++] = ',';
        buf[at++] = digits[i];
    }
    buf[at] = 0;
}

static void print_text(const char *path, const rt5_model *model, const rt5_model_info *in)
{
    char params[40], bytes[40];
    with_commas(in->n_params, params, sizeof params);
    with_commas(in->bytes_mapped, bytes, sizeof bytes);
    printf("model            %s\n", path);
    printf("architecture     T5 encoder + RankT5 score head\n");
    printf("d_model          %d\n", in->d_model);
    printf("d_ff             %d\n", in->d_ff);
    printf("heads            %d x d_kv %d\n", in->n_heads, in->d_kv);
    printf("layers           %d\n", in->n_layers);
    printf("vocab            %d\n", in->vocab_size);
    printf("relative buckets %d (max distance %d)\n", in->num_buckets, in->max_distance);
    printf("feed-forward     %s\n", in->gated_gelu ? "gated-gelu (wi_0, wi_1)" : "relu (wi)");
    printf("layer_norm eps   %g\n", (double)in->layer_norm_epsilon);
    printf("parameters       %s (%.2f M)\n", params, (double)in->n_params / 1e6);
    printf("file dtype       %s\n", rt5_dtype_name(in->file_dtype));
    printf("compute dtype    %s\n", rt5_dtype_name(in->compute_dtype));
    if (in->converted)
        printf("converted file   yes: %d of %d block products used in place from the file%s\n",
               in->n_linears_in_place, 4 * in->n_layers,
               in->n_linears_in_place < 4 * in->n_layers ? " (the rest reordered for this CPU at load)" : "");
    printf("bytes mapped     %s (%.2f GiB)\n", bytes, (double)in->bytes_mapped / (1u << 30));
    printf("load time        %.3f s\n", in->load_seconds);
    printf("warnings         %d\n", in->n_warnings);
    for (int32_t i = 0; i < in->n_warnings; i++)
        printf("  %s\n", rt5_model_warning(model, i));
}

static int print_json(const char *path, const rt5_model *model, const rt5_model_info *in)
{
    json_t *warnings = json_array();
    for (int32_t i = 0; i < in->n_warnings; i++)
        json_array_append_new(warnings, json_string(rt5_model_warning(model, i)));
    json_t *o = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:I, s:s, s:s, s:I, s:f, s:o}",
        "model", path, "d_model", in->d_model, "d_ff", in->d_ff, "num_heads", in->n_heads,
        "d_kv", in->d_kv, "num_layers", in->n_layers, "vocab_size", in->vocab_size,
        "relative_attention_num_buckets", in->num_buckets, "relative_attention_max_distance",
        in->max_distance, "feed_forward_proj", in->gated_gelu ? "gated-gelu" : "relu",
        "layer_norm_epsilon", (double)in->layer_norm_epsilon, "n_params", (json_int_t)in->n_params,
        "file_dtype", rt5_dtype_name(in->file_dtype), "compute_dtype",
        rt5_dtype_name(in->compute_dtype), "bytes_mapped", (json_int_t)in->bytes_mapped,
        "load_seconds", in->load_seconds, "warnings", warnings);
    if (o) {
        json_object_set_new(o, "converted", json_boolean(in->converted));
        json_object_set_new(o, "linears_in_place", json_integer(in->n_linears_in_place));
    }
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (!text)
        return cli_error(CMD, "out of memory");
    printf("%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

int rt5_cli_info(int argc, char **argv)
{
    info_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    rt5_model *model = NULL;
    rt5_status st = rt5_model_load(o.model_path, &o.params, &model);
    if (st != RT5_OK) {
        rc = cli_error(CMD, "%s (%s)", rt5_model_last_error(model), rt5_status_str(st));
        rt5_model_free(model);
        return rc;
    }
    rt5_model_info info;
    rt5_model_get_info(model, &info);
    for (int32_t i = 0; i < info.n_warnings; i++)
        cli_warn(CMD, "%s", rt5_model_warning(model, i));
    rc = o.json ? print_json(o.model_path, model, &info) : (print_text(o.model_path, model, &info),
                                                          CLI_EXIT_OK);
    rt5_model_free(model);
    return rc;
}
