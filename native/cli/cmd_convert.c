/*
 * cmd_convert.c -- `rankt5 convert`: load a checkpoint in a compute dtype
 * (which converts, quantizes and packs its weights) and save the result with
 * rt5_model_save as one .safetensors file that later loads without doing any
 * of that again. Then load the written file back and check that it scores a
 * few probe sequences exactly as the model it came from did.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char CMD[] = "convert";

typedef struct convert_opts {
    const char *model_path, *out_path;
    rt5_model_params params;
    rt5_save_params save;
    bool dtype_given, verify;
} convert_opts;

static void print_help(void)
{
    printf("Usage: rankt5 convert --model PATH --dtype f32|bf16|int8 -o OUT.safetensors [options]\n\n"
           "Writes the model's weights as rankt5 computes with them -- bf16 weights, or int8\n"
           "weights with their per-channel scales, smoothing factors and f32 outlier columns,\n"
           "already in the blocked layout the matrix products use on this CPU -- so that\n"
           "loading OUT quantizes and packs nothing: it is used in place from the file.\n"
           "Scores from OUT equal those of `--model PATH --dtype T`, bit for bit; convert\n"
           "checks that on a few probe inputs after writing.\n\n"
           "Options:\n"
           "  --model PATH        the checkpoint to convert (any format `rankt5 info` reads)\n"
           "  --dtype T           f32, bf16 or int8 (required). f32 keeps the weights and only\n"
           "                      pre-packs them: the fastest load of an exact model\n"
           "  -o, --output FILE   the file to write (written to a temporary name, then renamed)\n"
           "  --portable          store torch's row-major layout instead of this CPU's packed one:\n"
           "                      any machine loads it, reordering the weights once per load\n"
           "  --config FILE       config.json for the source checkpoint (as for score)\n"
           "  --no-verify         skip reading OUT back\n"
           "  -v, --verbose       print the load steps\n\n"
           "Using the result: pass OUT as --model to score, rerank, serve, bench or info; it\n"
           "computes in the dtype it was converted to (--dtype may be left out).\n\n"
           "Example:\n"
           "  rankt5 convert --model rankT5-3b/pytorch_model.bin --dtype int8 -o rankt5-3b-int8.safetensors\n"
           "  rankt5 rerank --model rankt5-3b-int8.safetensors --tokenizer spiece.model ...\n");
}

static int parse_args(int argc, char **argv, convert_opts *o)
{
    o->params = rt5_model_default_params();
    o->save = rt5_save_default_params();
    o->verify = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_opt(CMD, argc, argv, &i, &o->model_path, &o->params, &o->dtype_given);
        if (r < 0)
            return -r;
        if (r > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return -1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            o->out_path = argv[++i];
        } else if (strcmp(a, "--portable") == 0) {
            o->save.portable = 1;
        } else if (strcmp(a, "--no-verify") == 0) {
            o->verify = false;
        } else {
            return cli_usage_error(CMD, a[0] == '-' && strcmp(a, "-o") != 0 && strcmp(a, "--output") != 0
                                            ? "unknown option '%s'" : "option '%s' needs a value", a);
        }
    }
    if (!o->model_path)
        return cli_usage_error(CMD, "--model PATH is required");
    if (!o->dtype_given)
        return cli_usage_error(CMD, "--dtype is required (f32, bf16 or int8)");
    if (!o->out_path)
        return cli_usage_error(CMD, "-o OUT.safetensors is required");
    return 0;
}

/* The same file under two names (or the input itself) would be replaced
 * while it is still mapped for reading. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

#define N_PROBES 3
#define PROBE_LEN 24

/* Scores N_PROBES fixed id sequences (ids spread over the vocabulary,
 * ending in </s>) with model into scores. */
static rt5_status probe_scores(const rt5_model *model, float *scores, char *why, size_t why_cap)
{
    rt5_model_info info;
    rt5_model_get_info(model, &info);
    int32_t ids[N_PROBES][PROBE_LEN];
    rt5_seq seqs[N_PROBES];
    uint32_t x = 12345u;
    for (int s = 0; s < N_PROBES; s++) {
        int len = PROBE_LEN - 6 * s;
        for (int t = 0; t < len - 1; t++) {
            x = x * 1664525u + 1013904223u;
            ids[s][t] = 2 + (int32_t)((x >> 8) % (uint32_t)(info.vocab_size > 2 ? info.vocab_size - 2 : 1));
        }
        ids[s][len - 1] = 1;
        seqs[s] = (rt5_seq){.ids = ids[s], .n_ids = (size_t)len};
    }
    rt5_session *session = NULL;
    rt5_status st = rt5_session_create(model, NULL, &session);
    if (st == RT5_OK)
        st = rt5_session_score(session, seqs, N_PROBES, scores);
    if (st != RT5_OK)
        snprintf(why, why_cap, "%s", session ? rt5_session_last_error(session) : rt5_status_str(st));
    rt5_session_free(session);
    return st;
}

/* Loads the written file and compares its probe scores with the source's. */
static int verify(const convert_opts *o, const float *expected)
{
    rt5_model *back = NULL;
    rt5_model_params mp = rt5_model_default_params();
    mp.compute_dtype = o->params.compute_dtype;
    rt5_status st = rt5_model_load(o->out_path, &mp, &back);
    float got[N_PROBES];
    char why[512] = "";
    if (st != RT5_OK)
        snprintf(why, sizeof why, "%s", rt5_model_last_error(back));
    else
        st = probe_scores(back, got, why, sizeof why);
    rt5_model_info info = {0};
    if (back)
        rt5_model_get_info(back, &info);
    rt5_model_free(back);
    if (st != RT5_OK)
        return cli_error(CMD, "%s was written but does not load back: %s", o->out_path, why);
    for (int i = 0; i < N_PROBES; i++)
        if (memcmp(&got[i], &expected[i], sizeof got[i]) != 0)
            return cli_error(CMD, "%s loads back but scores probe %d as %.9g instead of %.9g", o->out_path, i,
                             (double)got[i], (double)expected[i]);
    fprintf(stderr, "rankt5 convert: checked: %s loads in %.2f s (%d of %d products in place) and scores %d probe "
            "inputs identically\n", o->out_path, info.load_seconds, info.n_linears_in_place, 4 * info.n_layers,
            N_PROBES);
    return CLI_EXIT_OK;
}

static int convert(const convert_opts *o, rt5_model *model)
{
    float expected[N_PROBES];
    char why[512] = "";
    if (o->verify && probe_scores(model, expected, why, sizeof why) != RT5_OK)
        return cli_error(CMD, "%s: scoring probe inputs failed: %s", o->model_path, why);
    fprintf(stderr, "rankt5 convert: writing %s (%s, %s layout)\n", o->out_path,
            rt5_dtype_name(o->params.compute_dtype), o->save.portable ? "portable row-major" : "this CPU's packed");
    double t0 = cli_now();
    rt5_status st = rt5_model_save(model, o->out_path, &o->save);
    if (st != RT5_OK)
        return cli_error(CMD, "%s (%s)", rt5_model_last_error(model), rt5_status_str(st));
    struct stat sb;
    double gib = stat(o->out_path, &sb) == 0 ? (double)sb.st_size / (1u << 30) : 0;
    fprintf(stderr, "rankt5 convert: wrote %s: %.2f GiB in %.1f s\n", o->out_path, gib, cli_now() - t0);
    return o->verify ? verify(o, expected) : CLI_EXIT_OK;
}

int rt5_cli_convert(int argc, char **argv)
{
    convert_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (same_file(o.model_path, o.out_path))
        return cli_error(CMD, "-o %s is the input file; write the converted model to a new file", o.out_path);
    fprintf(stderr, "rankt5 convert: loading %s as %s\n", o.model_path, rt5_dtype_name(o.params.compute_dtype));
    rt5_model *model = NULL;
    double t0 = cli_now();
    rt5_status st = rt5_model_load(o.model_path, &o.params, &model);
    if (st != RT5_OK) {
        rc = cli_error(CMD, "%s (%s)", rt5_model_last_error(model), rt5_status_str(st));
        rt5_model_free(model);
        return rc;
    }
    for (int32_t i = 0; rt5_model_warning(model, i); i++)
        cli_warn(CMD, "%s", rt5_model_warning(model, i));
    fprintf(stderr, "rankt5 convert: loaded in %.1f s\n", cli_now() - t0);
    rc = convert(&o, model);
    rt5_model_free(model);
    return rc;
}
