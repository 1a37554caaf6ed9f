/*
 * cmd_bench.c -- rankt5 bench: how fast is this model in this dtype on this
 * machine, and where does the time go? One compute dtype of the forward pass
 * on an MS MARCO-like length mix: pairs/s, tokens/s, the time split, the
 * achieved GEMM rate, peak resident memory and time to first score.
 * eval/bench/run_all.sh runs it for f32, bf16 and int8 next to the PyTorch
 * baseline.
 *
 * The pairs come from a fixed random stream per --seed (query 6-12 tokens,
 * passage 40-200, random ids, query </s> passage </s>, batches filled in
 * order up to --batch-tokens), and --dump-pairs writes them so that
 * eval/bench/pytorch_baseline.py and eval/bench/bench_lowp_pytorch.py score the very
 * same batches.
 *
 * Time split (sums to the measured runs): gemm = oneDNN matmuls only;
 * convert = f32 -> bf16 / u8 conversion of GEMM inputs, the s32 -> f32
 * rescale and int8 outlier channels (0 in f32); attention; norms (RMSNorm,
 * gated activation); other (embedding gather, head) and glue (outside every
 * timer). GFLOP/s counts the useful GEMM flops (no padding rows; the last
 * block computes the attention output and FFN on each sequence's first row
 * only) over the gemm seconds. Peak memory is VmHWM, the process's
 * high-water resident set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/forward.h"
#include "scorer.h"

typedef struct options {
    const char *model, *config, *dump_pairs, *scores_path, *dtype;
    int pairs, threads, batch_tokens, repeat, json;
    unsigned seed;
} options;

static unsigned long long rng;
static unsigned next_u32(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng >> 16);
}
static int uniform(int lo, int hi) /* inclusive */
{
    return lo + (int)(next_u32() % (unsigned)(hi - lo + 1));
}

/* A /proc/self/status field in KiB (VmRSS, VmHWM), -1 if absent. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = strtol(line + len + 1, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static const char CMD[] = "bench";

static void print_help(void)
{
    printf("Usage: rankt5 bench --model PATH [options]\n\n"
           "Measures the forward pass on random MS MARCO-like pairs (query 6-12 tokens,\n"
           "passage 40-200): pairs/s and tokens/s (median of --repeat runs), where the time\n"
           "goes (GEMMs, low-precision conversion, attention, norms, other), the GEMM rate\n"
           "achieved, peak resident memory and the time from start to the first score.\n\n"
           "Options:\n"
           "  --model PATH        checkpoint (required); --config FILE as for score\n"
           "  --dtype T           f32 (default), bf16 or int8\n"
           "  --threads N         threads (default 2)\n"
           "  --pairs N           pairs per run (default 64)\n"
           "  --batch-tokens N    token budget of a batch, >= 512 (default 2048)\n"
           "  --repeat N          timed runs after a warm-up batch (default 3)\n"
           "  --seed N            pair generator seed (default 1)\n"
           "  --dump-pairs FILE   write the batches for eval/bench/bench_lowp_pytorch.py\n"
           "  --scores FILE       write the scores, one per line\n"
           "  --json              one JSON line instead of text\n\n"
           "eval/bench/run_all.sh runs this for every dtype beside PyTorch; docs/performance.md\n"
           "explains the figures.\n");
}

/* --pairs/--threads/--batch-tokens/--repeat/--seed N: true if argv[*i] is
 * one of them (*rc then 0, or a usage error's exit status). */
static bool int_option(int argc, char **argv, int *i, options *o, int *rc)
{
    const struct {
        const char *name;
        int *slot;
        long min;
    } opts[] = {{"--pairs", &o->pairs, 1},   {"--threads", &o->threads, 1}, {"--batch-tokens", &o->batch_tokens, 512},
                {"--repeat", &o->repeat, 1}, {"--seed", (int *)&o->seed, 0}};
    *rc = 0;
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        bool missing = false;
        long n;
        const char *v = cli_opt_value(opts[k].name, argc, argv, i, &missing);
        if (missing)
            *rc = cli_usage_error(CMD, "%s needs a value", opts[k].name);
        else if (v && !cli_parse_long(v, opts[k].min, 1 << 24, &n))
            *rc = cli_usage_error(CMD, "%s wants an integer >= %ld, not '%s'", opts[k].name, opts[k].min, v);
        else if (v)
            *opts[k].slot = (int)n;
        if (v || missing)
            return true;
    }
    return false;
}

/* 0 ok, -1 help printed, else an exit status. */
static int parse(int argc, char **argv, options *o, rt5_dtype *dtype)
{
    *o = (options){.pairs = 64, .threads = 2, .batch_tokens = 2048, .repeat = 3, .seed = 1, .dtype = "f32"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        int rc;
        if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help();
            return -1;
        } else if ((v = cli_opt_value("--model", argc, argv, &i, &missing))) {
            o->model = v;
        } else if ((v = cli_opt_value("--config", argc, argv, &i, &missing))) {
            o->config = v;
        } else if ((v = cli_opt_value("--dtype", argc, argv, &i, &missing))) {
            if (!cli_parse_dtype(v, dtype) || *dtype == RT5_DTYPE_F16)
                return cli_usage_error(CMD, "--dtype wants f32, bf16, int8 or auto, not '%s'", v);
            *dtype = rt5_dtype_resolve(*dtype);
            o->dtype = rt5_dtype_name(*dtype);
        } else if ((v = cli_opt_value("--dump-pairs", argc, argv, &i, &missing))) {
            o->dump_pairs = v;
        } else if ((v = cli_opt_value("--scores", argc, argv, &i, &missing))) {
            o->scores_path = v;
        } else if (int_option(argc, argv, &i, o, &rc)) {
            if (rc != 0)
                return rc;
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", a);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", a);
        }
    }
    if (!o->model)
        return cli_usage_error(CMD, "--model PATH is required");
    return 0;
}

static void free_pairs(rt5_seq *seqs, int n)
{
    for (int i = 0; seqs && i < n; i++)
        free((void *)seqs[i].ids);
    free(seqs);
}

/* MS MARCO-like pairs: ids in [3, vocab - 100); the same stream of random
 * numbers for a given seed. NULL when memory runs out. */
static rt5_seq *make_pairs(const options *o, int32_t vocab, size_t *total_tokens)
{
    rt5_seq *seqs = calloc((size_t)o->pairs, sizeof *seqs);
    rng = 0x9E3779B97F4A7C15ull ^ o->seed;
    *total_tokens = 0;
    for (int i = 0; seqs && i < o->pairs; i++) {
        int q = uniform(6, 12), d = uniform(40, 200), n = q + d + 2;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
        if (!ids) {
            free_pairs(seqs, i);
            return NULL;
        }
        for (int t = 0; t < n; t++)
            ids[t] = 3 + (int32_t)(next_u32() % (unsigned)(vocab - 103));
        ids[q] = 1, ids[n - 1] = 1;
        seqs[i] = (rt5_seq){ids, (size_t)n};
        *total_tokens += (size_t)n;
    }
    return seqs;
}

static int make_batches(const rt5_seq *seqs, int n, int budget, int *starts)
{
    int nb = 0, tokens = 0;
    starts[0] = 0;
    for (int i = 0; i < n; i++) {
        if (tokens + (int)seqs[i].n_ids > budget) {
            starts[++nb] = i;
            tokens = 0;
        }
        tokens += (int)seqs[i].n_ids;
    }
    starts[++nb] = n;
    return nb;
}

static void dump_pairs(const char *path, const rt5_seq *seqs, const int *starts, int nb)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    for (int b = 0; b < nb; b++) {
        fprintf(f, "batch\n");
        for (int i = starts[b]; i < starts[b + 1]; i++) {
            for (size_t t = 0; t < seqs[i].n_ids; t++)
                fprintf(f, t ? " %d" : "%d", seqs[i].ids[t]);
            fprintf(f, "\n");
        }
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Useful GEMM flops of one batch: every block's q/k/v on all tokens; every
 * block but the last also o and the FFN on all tokens, the last on the n
 * first rows only. */
static double batch_flops(const rt5_model_info *in, const rt5_seq *seqs, int n)
{
    double t = 0;
    for (int i = 0; i < n; i++)
        t += (double)seqs[i].n_ids;
    double d = in->d_model, inner = (double)in->n_heads * in->d_kv, ff = in->d_ff;
    double qkv = 2.0 * 3 * d * inner, rest = 2.0 * (inner * d + (in->gated_gelu ? 3 : 2) * d * ff);
    return in->n_layers * qkv * t + (in->n_layers - 1) * rest * t + rest * n;
}

typedef struct result {
    double load_s, first_score_s, median, pairs_s, tokens_s, gflops;
    double gemm, convert, attention, norm, other, glue, total;
    long rss_loaded_kib, peak_kib;
    size_t packed, released;
} result;

static void print_text(const options *o, const rt5_model_info *in, const result *r, size_t tokens, int nb,
                       const rt5_session *s)
{
    printf("model %s: compute %s, d_model %d, d_ff %d, %d x %d heads, %d layers; load %.2f s, first score %.2f s "
           "after start\n",
           o->model, o->dtype, in->d_model, in->d_ff, in->n_heads, in->d_kv, in->n_layers, r->load_s,
           r->first_score_s);
    printf("memory: packed weights %.1f MiB, mapping released %.1f MiB, RSS after load %.1f MiB, peak RSS "
           "%.1f MiB, workspace %.1f MiB\n",
           r->packed / 1048576.0, r->released / 1048576.0, r->rss_loaded_kib / 1024.0, r->peak_kib / 1024.0,
           rt5__session_workspace_bytes(s) / 1048576.0);
    printf("pairs %d (%zu tokens) in %d batches, %d threads; %d runs, median %.3f s\n", o->pairs, tokens, nb,
           o->threads, o->repeat, r->median);
    printf("throughput: %.2f pairs/s, %.0f tokens/s; GEMM %.1f GFLOP/s while in GEMM\n", r->pairs_s, r->tokens_s,
           r->gflops);
    printf("time split: gemm %.1f%%  convert %.1f%%  attention %.1f%%  norms %.1f%%  other %.1f%%  glue %.1f%%\n",
           100 * r->gemm / r->total, 100 * r->convert / r->total, 100 * r->attention / r->total,
           100 * r->norm / r->total, 100 * r->other / r->total, 100 * r->glue / r->total);
}

static void print_json(const options *o, const rt5_model_info *in, const result *r, size_t tokens)
{
    /* the products' weights in the compute dtype, everything else f32 */
    double inner = (double)in->n_heads * in->d_kv;
    double gemm_params = in->n_layers * (4 * in->d_model * inner + (in->gated_gelu ? 3 : 2) * (double)in->d_model * in->d_ff);
    double elem = o->dtype[0] == 'i' ? 1 : o->dtype[0] == 'b' ? 2 : 4;
    double weight_mib = (gemm_params * elem + ((double)in->n_params - gemm_params) * 4) / 1048576.0;
    printf("{\"dtype\": \"%s\", \"n_layers\": %d, \"n_params\": %.0f, \"weights_mib\": %.1f, "
           "\"peak_over_weights\": %.3f, \"threads\": %d, \"pairs\": %d, \"tokens\": %zu, \"median_s\": %.4f, "
           "\"pairs_per_s\": %.3f, \"tokens_per_s\": %.1f, \"gemm_gflops\": %.1f, \"load_s\": %.3f, "
           "\"first_score_s\": %.3f, \"peak_rss_mib\": %.1f, \"rss_loaded_mib\": %.1f, \"packed_mib\": %.1f, "
           "\"split\": {\"gemm\": %.4f, \"convert\": %.4f, \"attention\": %.4f, \"norm\": %.4f, \"other\": %.4f, "
           "\"glue\": %.4f}}\n",
           o->dtype, in->n_layers, (double)in->n_params, weight_mib, r->peak_kib / 1024.0 / weight_mib, o->threads,
           o->pairs, tokens, r->median, r->pairs_s, r->tokens_s, r->gflops, r->load_s,
           r->first_score_s, r->peak_kib / 1024.0, r->rss_loaded_kib / 1024.0, r->packed / 1048576.0,
           r->gemm / r->total, r->convert / r->total, r->attention / r->total, r->norm / r->total,
           r->other / r->total, r->glue / r->total);
}

int rt5_cli_bench(int argc, char **argv)
{
    double start = rt5__now_seconds();
    options o;
    rt5_model_params mp = rt5_model_default_params();
    int rc = parse(argc, argv, &o, &mp.compute_dtype);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    mp.config_path = o.config;
    rt5_model *model = NULL;
    result r = {0};
    rt5_status st = rt5_model_load(o.model, &mp, &model);
    if (st != RT5_OK) {
        cli_error(CMD, "%s: %s", o.model, model ? rt5_model_last_error(model) : rt5_status_str(st));
        rt5_model_free(model);
        return CLI_EXIT_ERROR;
    }
    r.load_s = rt5__now_seconds() - start;
    rt5_model_info info;
    rt5_model_get_info(model, &info);
    rt5__forward_memory(model, &r.packed, &r.released);
    r.rss_loaded_kib = status_kib("VmRSS");

    rt5_session_params sp = rt5_session_default_params();
    sp.n_threads = o.threads, sp.max_batch_tokens = o.batch_tokens;
    rt5_session *s = NULL;
    if ((st = rt5_session_create(model, &sp, &s)) != RT5_OK) {
        cli_error(CMD, "session: %s", rt5_session_last_error(s));
        rt5_session_free(s);
        rt5_model_free(model);
        return CLI_EXIT_ERROR;
    }
    size_t tokens;
    rt5_seq *seqs = make_pairs(&o, info.vocab_size, &tokens);
    int *starts = malloc(sizeof(int) * ((size_t)o.pairs + 1));
    float *scores = calloc((size_t)o.pairs, sizeof(float));
    double *runs = calloc((size_t)o.repeat, sizeof(double));
    if (!seqs || !starts || !scores || !runs) {
        rc = cli_error(CMD, "out of memory for %d pairs", o.pairs);
        goto done;
    }
    int nb = make_batches(seqs, o.pairs, o.batch_tokens, starts);
    if (o.dump_pairs)
        dump_pairs(o.dump_pairs, seqs, starts, nb);
    double flops = 0;
    for (int b = 0; b < nb; b++)
        flops += batch_flops(&info, seqs + starts[b], starts[b + 1] - starts[b]);

    /* the first pair alone: the time a user waits for a first score */
    st = rt5_session_score(s, seqs, 1, scores);
    r.first_score_s = rt5__now_seconds() - start;
    /* warm-up: the first batch (first touch of the workspace, oneDNN JIT) */
    if (st == RT5_OK)
        st = rt5_session_score(s, seqs, (size_t)(starts[1] - starts[0]), scores);
    rt5__profile before = *rt5__session_profile(s);
    double conv0 = rt5__session_convert_seconds(s);
    for (int rep = 0; rep < o.repeat && st == RT5_OK; rep++) {
        double a = rt5__now_seconds();
        for (int b = 0; b < nb && st == RT5_OK; b++)
            st = rt5_session_score(s, seqs + starts[b], (size_t)(starts[b + 1] - starts[b]), scores + starts[b]);
        runs[rep] = rt5__now_seconds() - a;
    }
    if (st != RT5_OK) {
        rc = cli_error(CMD, "%s", rt5_session_last_error(s));
        goto done;
    }
    rt5__profile p = *rt5__session_profile(s);
    r.convert = rt5__session_convert_seconds(s) - conv0;
    r.gemm = p.gemm - before.gemm - r.convert, r.attention = p.attention - before.attention;
    r.norm = p.norm - before.norm, r.other = p.other - before.other;
    for (int rep = 0; rep < o.repeat; rep++)
        r.total += runs[rep];
    r.glue = r.total - (r.gemm + r.convert + r.attention + r.norm + r.other);
    qsort(runs, (size_t)o.repeat, sizeof(double), cmp_double);
    r.median = runs[o.repeat / 2];
    r.pairs_s = o.pairs / r.median, r.tokens_s = (double)tokens / r.median;
    r.gflops = flops * o.repeat / r.gemm / 1e9;
    r.peak_kib = status_kib("VmHWM");
    if (o.json)
        print_json(&o, &info, &r, tokens);
    else
        print_text(&o, &info, &r, tokens, nb, s);
    if (o.scores_path) {
        FILE *f = fopen(o.scores_path, "w");
        for (int i = 0; f && i < o.pairs; i++)
            fprintf(f, "%.9g\n", scores[i]);
        if (f)
            fclose(f);
    }
    rc = CLI_EXIT_OK;
done:
    free(runs);
    free(scores);
    free(starts);
    free_pairs(seqs, o.pairs);
    rt5_session_free(s);
    rt5_model_free(model);
    return rc;
}
