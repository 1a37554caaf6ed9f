/*
 * cmd_info.c -- `rankt5 info [--model PATH]`: what this CPU runs (the
 * instruction set in use, the kernel table, which dtypes compute here and
 * what --dtype auto picks), then, given a checkpoint, load it exactly as
 * scoring would (every tensor validated, weights prepared) and print the
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
    printf("Usage: rankt5 info [--model PATH] [options]\n\n"
           "Prints what this CPU runs: the instruction set in use (after RT5_MAX_ISA), the\n"
           "kernel table, the dtypes that compute here and what --dtype auto picks. With\n"
           "--model, also loads the checkpoint, checks every tensor against the T5\n"
           "configuration inferred from the tensor shapes, and prints that configuration.\n\n"
           "PATH is one of:\n"
           "  pytorch_model.bin     a torch.save zip archive (read without running its pickle)\n"
           "  model.safetensors     a safetensors file\n"
           "  *.index.json          a sharded checkpoint's index\n"
           "  a folder              holding one of the above, and optionally config.json\n\n"
           "Options:\n"
           "  --model PATH          the checkpoint (optional: without it, the CPU only)\n"
           "  --config FILE         a Hugging Face config.json; by default the config.json\n"
           "                        beside the checkpoint is used when there is one. It sets\n"
           "                        layer_norm_epsilon and relative_attention_max_distance and\n"
           "                        is checked against the tensor shapes\n"
           "  --dtype f32|bf16|int8|auto  the compute dtype to prepare (default f32)\n"
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

/* "f32 int8" and so on: the dtypes that compute on this CPU. */
static void runnable_dtypes(char *buf, size_t cap)
{
    static const rt5_dtype all[] = {RT5_DTYPE_F32, RT5_DTYPE_BF16, RT5_DTYPE_INT8};
    buf[0] = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (rt5_cpu_dtype_supported(all[i], NULL) == RT5_OK)
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? " " : "", rt5_dtype_name(all[i]));
}

static void print_cpu_text(void)
{
    rt5_cpu_info c;
    rt5_cpu_get_info(&c);
    char dtypes[64];
    runnable_dtypes(dtypes, sizeof dtypes);
    const char *why = NULL;
    rt5_cpu_dtype_supported(RT5_DTYPE_BF16, &why);
    printf("cpu isa          %s", c.isa);
    if (c.isa_cap)
        printf(" (CPU has %s; capped at %s)", c.isa_detected, c.isa_cap);
    printf("\n");
    if (c.note[0])
        printf("cpu note         %s\n", c.note);
    printf("kernels          %s (attention, norms); oneDNN for the products\n", c.kernels);
    printf("dtypes native    %s\n", dtypes);
    printf("int8 products    %s\n", c.int8_vnni ? "VNNI: u8 x s8 summed exactly in s32"
                                                : "no VNNI: each product runs as two exact halves (8-bit accuracy, "
                                                  "twice the multiplies)");
    if (why)
        printf("bf16             refused: %s\n", why);
    printf("dtype auto       %s\n", rt5_dtype_name(rt5_dtype_resolve(RT5_DTYPE_AUTO)));
}

static json_t *cpu_json(void)
{
    rt5_cpu_info c;
    rt5_cpu_get_info(&c);
    json_t *dtypes = json_array();
    static const rt5_dtype all[] = {RT5_DTYPE_F32, RT5_DTYPE_BF16, RT5_DTYPE_INT8};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (rt5_cpu_dtype_supported(all[i], NULL) == RT5_OK)
            json_array_append_new(dtypes, json_string(rt5_dtype_name(all[i])));
    const char *why = NULL;
    rt5_cpu_dtype_supported(RT5_DTYPE_BF16, &why);
    return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b, s:o, s:s, s:s?, s:s}", "isa", c.isa, "isa_detected",
                     c.isa_detected, "isa_cap", c.isa_cap, "kernels", c.kernels, "bf16_native", c.bf16_native,
                     "int8_vnni", c.int8_vnni, "dtypes", dtypes, "auto_dtype",
                     rt5_dtype_name(rt5_dtype_resolve(RT5_DTYPE_AUTO)), "bf16_refused", why, "note", c.note);
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
    print_cpu_text();
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
        json_object_set_new(o, "cpu", cpu_json());
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
    if (!o.model_path) { /* the CPU alone */
        if (!o.json) {
            print_cpu_text();
            return CLI_EXIT_OK;
        }
        json_t *c = json_pack("{s:o}", "cpu", cpu_json());
        char *text = c ? json_dumps(c, JSON_INDENT(2)) : NULL;
        json_decref(c);
        if (!text)
            return cli_error(CMD, "out of memory");
        printf("%s\n", text);
        free(text);
        return CLI_EXIT_OK;
    }
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
