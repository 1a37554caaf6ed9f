/*
 * bench_forward.c -- pairs/s of the forward pass on an MS MARCO-like length
 * mix, with the time split (GEMM / attention / norms / other) from the
 * forward pass's own timers, and the process's resident memory.
 *
 *   bench_forward --model CKPT [--config JSON] [--pairs 64] [--threads 2]
 *                 [--batch-tokens 2048] [--repeat 3] [--seed 1]
 *                 [--dump-pairs FILE] [--scores FILE]
 *
 * Pairs: query 6-12 tokens, passage 40-200 tokens, random ids, each as
 * query </s> passage </s>; batches are filled in input order up to
 * --batch-tokens. --dump-pairs writes them (one batch per "batch" line, one
 * pair per line of ids) so bench/pytorch_baseline.py runs exactly the same
 * batches; --scores writes our scores for comparison with its.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "kernels/kernels.h"
#include "model/forward.h"
#include "rankt5.h"

typedef struct options {
    const char *model, *config, *dump_pairs, *scores_path;
    int pairs, threads, batch_tokens, repeat;
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

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.pairs = 64, .threads = 2, .batch_tokens = 2048, .repeat = 3, .seed = 1};
    for (int i = 1; i < argc; i += 2) { /* --option value pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_forward: %s needs a value\n", a);
            return 0;
        }
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--config")) o->config = v;
        else if (!strcmp(a, "--dump-pairs")) o->dump_pairs = v;
        else if (!strcmp(a, "--scores")) o->scores_path = v;
        else if (!strcmp(a, "--pairs")) o->pairs = atoi(v);
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--batch-tokens")) o->batch_tokens = atoi(v);
        else if (!strcmp(a, "--repeat")) o->repeat = atoi(v);
        else if (!strcmp(a, "--seed")) o->seed = (unsigned)atoi(v);
        else {
            fprintf(stderr, "bench_forward: unknown option %s\n", a);
            return 0;
        }
    }
    if (!o->model || o->pairs <= 0 || o->repeat <= 0 || o->batch_tokens < 512) {
        fprintf(stderr, "usage: bench_forward --model CKPT [--config JSON] [--pairs N] [--threads N] "
                        "[--batch-tokens N>=512] [--repeat N] [--seed N] [--dump-pairs FILE] [--scores FILE]\n");
        return 0;
    }
    return 1;
}

/* MS MARCO-like pairs: ids in [3, vocab - 100). */
static rt5_seq *make_pairs(const options *o, int32_t vocab, size_t *total_tokens)
{
    rt5_seq *seqs = calloc((size_t)o->pairs, sizeof *seqs);
    rng = 0x9E3779B97F4A7C15ull ^ o->seed;
    *total_tokens = 0;
    for (int i = 0; i < o->pairs; i++) {
        int q = uniform(6, 12), d = uniform(40, 200), n = q + d + 2;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
        for (int t = 0; t < n; t++)
            ids[t] = 3 + (int32_t)(next_u32() % (unsigned)(vocab - 103));
        ids[q] = 1, ids[n - 1] = 1; /* </s> after the query and at the end */
        seqs[i] = (rt5_seq){ids, (size_t)n};
        *total_tokens += (size_t)n;
    }
    return seqs;
}

/* Batch b covers seqs[starts[b], starts[b+1]). */
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

int main(int argc, char **argv)
{
    options o;
    if (!parse(argc, argv, &o))
        return 2;
    long rss0 = rss_kib();
    rt5_model_params mp = rt5_model_default_params();
    mp.config_path = o.config;
    rt5_model *model = NULL;
    double t0 = rt5__now_seconds();
    rt5_status st = rt5_model_load(o.model, &mp, &model);
    if (st != RT5_OK) {
        fprintf(stderr, "bench_forward: %s\n", model ? rt5_model_last_error(model) : rt5_status_str(st));
        rt5_model_free(model);
        return 1;
    }
    double load_s = rt5__now_seconds() - t0;
    rt5_model_info info;
    rt5_model_get_info(model, &info);
    size_t packed, released;
    rt5__forward_memory(model, &packed, &released);
    long rss_loaded = rss_kib();

    rt5_session_params sp = rt5_session_default_params();
    sp.n_threads = o.threads, sp.max_batch_tokens = o.batch_tokens;
    rt5_session *s = NULL;
    if ((st = rt5_session_create(model, &sp, &s)) != RT5_OK) {
        fprintf(stderr, "bench_forward: session: %s\n", rt5_session_last_error(s));
        return 1;
    }
    size_t tokens;
    rt5_seq *seqs = make_pairs(&o, info.vocab_size, &tokens);
    int *starts = malloc(sizeof(int) * ((size_t)o.pairs + 1));
    int nb = make_batches(seqs, o.pairs, o.batch_tokens, starts);
    if (o.dump_pairs)
        dump_pairs(o.dump_pairs, seqs, starts, nb);
    float *scores = calloc((size_t)o.pairs, sizeof(float));

    /* warm-up: the first batch (first-touch of the workspace, oneDNN JIT) */
    rt5_session_score(s, seqs, (size_t)(starts[1] - starts[0]), scores);
    double *runs = calloc((size_t)o.repeat, sizeof(double));
    rt5__profile before = *rt5__session_profile(s);
    for (int r = 0; r < o.repeat; r++) {
        double a = rt5__now_seconds();
        for (int b = 0; b < nb && st == RT5_OK; b++)
            st = rt5_session_score(s, seqs + starts[b], (size_t)(starts[b + 1] - starts[b]), scores + starts[b]);
        runs[r] = rt5__now_seconds() - a;
    }
    if (st != RT5_OK) {
        fprintf(stderr, "bench_forward: %s\n", rt5_session_last_error(s));
        return 1;
    }
    rt5__profile p = *rt5__session_profile(s);
    double gemm = p.gemm - before.gemm, att = p.attention - before.attention, norm = p.norm - before.norm;
    double other = p.other - before.other, timed = gemm + att + norm + other;
    double sum_runs = 0;
    for (int r = 0; r < o.repeat; r++)
        sum_runs += runs[r];
    double glue = sum_runs - timed; /* outside the timers: session checks, loops */
    qsort(runs, (size_t)o.repeat, sizeof(double), cmp_double);
    double median = runs[o.repeat / 2];
    /* GEMM flops per token per layer: 2 (3 d inner + inner d + (1 or 2) d ff + ff d) */
    double d = info.d_model, inner = (double)info.n_heads * info.d_kv, ff = info.d_ff;
    double flops = 2.0 * (4 * d * inner + (info.gated_gelu ? 3 : 2) * d * ff) * info.n_layers * (double)tokens;

    printf("model %s: d_model %d, d_ff %d, heads %d x %d, layers %d; load %.2f s; packed %.1f MiB, "
           "mapping pages released %.1f MiB; RSS %.1f MiB before load, %.1f MiB after\n",
           o.model, info.d_model, info.d_ff, info.n_heads, info.d_kv, info.n_layers, load_s, packed / 1048576.0,
           released / 1048576.0, rss0 / 1024.0, rss_loaded / 1024.0);
    printf("session: %d threads, batch budget %d tokens, workspace %.1f MiB, kernels %s\n", o.threads,
           o.batch_tokens, rt5__session_workspace_bytes(s) / 1048576.0, rt5__kernels_get()->name);
    printf("pairs %d (%zu tokens, %.1f per pair) in %d batches; %d runs, median %.3f s\n", o.pairs, tokens,
           (double)tokens / o.pairs, nb, o.repeat, median);
    printf("throughput: %.2f pairs/s, %.0f tokens/s, GEMM %.1f GFLOP/s while in GEMM\n", o.pairs / median,
           tokens / median, flops * o.repeat / gemm / 1e9);
    printf("time split: gemm %.1f%%  attention %.1f%%  norms %.1f%%  other %.1f%%  glue %.1f%%  (non-GEMM %.1f%%)\n",
           100 * gemm / sum_runs, 100 * att / sum_runs, 100 * norm / sum_runs, 100 * other / sum_runs,
           100 * glue / sum_runs, 100 * (sum_runs - gemm) / sum_runs);
    if (o.scores_path) {
        FILE *f = fopen(o.scores_path, "w");
        for (int i = 0; f && i < o.pairs; i++)
            fprintf(f, "%.9g\n", scores[i]);
        if (f)
            fclose(f);
    }
    rt5_session_free(s);
    rt5_model_free(model);
    return 0;
}
