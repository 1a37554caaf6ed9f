/*
 * cmd_compare.c -- rankt5 compare: does a reduced-precision model rank like
 * the f32 one on the user's own data?
 *
 * Reads JSON Lines of pairs (as rankt5 score does, plus an optional "qid"
 * that groups documents into queries; without it the query text groups
 * them), scores every pair with the model in f32, then -- after freeing the
 * f32 model, so the two are never resident together -- with the same
 * checkpoint in --dtype, on exactly the same token ids. Reports the score
 * error (max, mean; absolute and |a-b|/max(1,|b|)), per-query Kendall tau and
 * top-k overlap (mean and worst query), and both runs' pairs/s.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rankstats.h"
#include "ir_files.h"
#include "scorer.h"

static const char CMD[] = "compare";

typedef struct compare_args {
    cli_scorer_opts scorer;
    const char *input;
    const char *reference; /* --reference: the f32 checkpoint (default --model) */
    long top_k;
    bool json, per_query;
} compare_args;

static void print_help(void)
{
    printf("Usage: rankt5 compare --model PATH --tokenizer FILE --dtype bf16|int8 [options] < pairs.jsonl\n\n"
           "Scores the same pairs with the model in f32 and in --dtype and reports how far the\n"
           "reduced-precision scores are from f32: max and mean score error, per-query Kendall tau\n"
           "and top-k overlap, and the speed of each. Use it to check a bf16 or int8 model on\n"
           "your own data before trusting its rankings. Input lines are JSON objects:\n"
           "  {\"qid\": \"q1\", \"query\": \"...\", \"document\": \"...\"}   (qid optional: the query\n"
           "                                                       text groups documents)\n"
           "  {\"qid\": \"q1\", \"ids\": [13959, 1, 8, 1]}            token ids, ending with 1\n\n"
           "%s\n"
           "Compare options:\n"
           "  --input FILE        read FILE instead of standard input\n"
           "  --reference PATH    the f32 checkpoint to compare against (default: --model). Needed\n"
           "                      when --model is a file from `rankt5 convert`, which computes\n"
           "                      only in its own dtype: --reference pytorch_model.bin\n"
           "  --top K             overlap of the top K documents per query (default 10)\n"
           "  --per-query         also print one line per query\n"
           "  --json              print one JSON object instead of text\n\n"
           "The f32 model is freed before the --dtype one is loaded, so memory peaks at the f32\n"
           "model's. Example:\n"
           "  rankt5 compare --model pytorch_model.bin --tokenizer spiece.model --dtype int8 \\\n"
           "      --input dev-pairs.jsonl\n",
           cli_scorer_help);
}

static int parse_args(int argc, char **argv, compare_args *a)
{
    memset(a, 0, sizeof *a);
    cli_scorer_default_opts(&a->scorer);
    a->scorer.dtype = RT5_DTYPE_INT8;
    a->top_k = 10;
    for (int i = 1; i < argc; i++) {
        int r = cli_scorer_parse_opt(&a->scorer, CMD, argc, argv, &i);
        if (r < 0)
            return -r;
        if (r > 0)
            continue;
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return -1;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--per-query") == 0) {
            a->per_query = true;
        } else if ((v = cli_opt_value("--input", argc, argv, &i, &missing))) {
            a->input = v;
        } else if ((v = cli_opt_value("--reference", argc, argv, &i, &missing))) {
            a->reference = v;
        } else if ((v = cli_opt_value("--top", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 1000000, &a->top_k))
                return cli_usage_error(CMD, "--top wants an integer >= 1, not '%s'", v);
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        }
    }
    if (a->scorer.dtype == RT5_DTYPE_F32)
        return cli_usage_error(CMD, "--dtype must be bf16 or int8: f32 is what it is compared against");
    return 0;
}

/* ------------------------------------------------------------ input */

typedef struct groups {
    char **key; /* (n) qid or query text of each pair, owned */
    size_t n, cap;
} groups;

static bool add_key(groups *g, const char *key)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 1024;
        char **k = realloc(g->key, cap * sizeof *k);
        if (!k)
            return false;
        g->key = k, g->cap = cap;
    }
    return (g->key[g->n++] = strdup(key)) != NULL;
}

static bool add_line(cli_scorer *s, groups *g, const char *line, size_t len, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(why, cap, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
        return false;
    }
    bool ok = false;
    json_t *q = json_object_get(obj, "query"), *d = json_object_get(obj, "document");
    json_t *ids = json_object_get(obj, "ids"), *qid = json_object_get(obj, "qid");
    const char *key = json_is_string(qid) ? json_string_value(qid) : json_is_string(q) ? json_string_value(q) : "";
    if (!json_is_object(obj)) {
        snprintf(why, cap, "expected a JSON object");
    } else if (qid && !json_is_string(qid)) {
        snprintf(why, cap, "\"qid\" must be a string");
    } else if (ids) {
        size_t n = json_array_size(ids);
        int32_t *buf = malloc((n ? n : 1) * sizeof *buf);
        ok = buf && json_is_array(ids);
        for (size_t i = 0; ok && i < n; i++) {
            json_t *v = json_array_get(ids, i);
            ok = json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT32_MAX;
            if (ok)
                buf[i] = (int32_t)json_integer_value(v);
        }
        if (!ok)
            snprintf(why, cap, "\"ids\" must be an array of token ids");
        else
            ok = cli_scorer_add_ids(s, buf, n, why, cap);
        free(buf);
    } else if (!json_is_string(q) || !json_is_string(d)) {
        snprintf(why, cap, "expected {\"query\": string, \"document\": string} or {\"ids\": [...]}");
    } else {
        ok = cli_scorer_add_pair(s, json_string_value(q), json_string_length(q), json_string_value(d),
                                 json_string_length(d), why, cap);
    }
    if (ok && !add_key(g, key)) {
        snprintf(why, cap, "out of memory");
        ok = false;
    }
    json_decref(obj);
    return ok;
}

static int read_pairs(cli_scorer *s, groups *g, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0, line = 0;
    long len;
    int rc = CLI_EXIT_OK;
    cli_scorer_clear(s);
    while (rc == CLI_EXIT_OK && (len = ir_read_line(in, &buf, &cap, NULL)) >= 0) {
        line++;
        char why[512];
        if (len == 0)
            continue;
        if (!add_line(s, g, buf, (size_t)len, why, sizeof why))
            rc = cli_error(CMD, "line %zu: %s", line, why);
    }
    if (rc == CLI_EXIT_OK && ferror(in))
        rc = cli_error(CMD, "reading the input failed after line %zu", line);
    if (rc == CLI_EXIT_OK && s->n == 0)
        rc = cli_error(CMD, "no pairs in the input");
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ metrics */

typedef struct summary {
    double max_abs, mean_abs, max_rel, mean_tau, min_tau, mean_overlap, min_overlap;
    size_t n_queries;
    const char *worst_tau_query, *worst_overlap_query;
} summary;

static const char *const *sort_keys;
static int by_key(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int c = strcmp(sort_keys[i], sort_keys[j]);
    return c ? c : (i > j) - (i < j);
}

static int summarize(const groups *g, const float *ref, const float *got, size_t n, size_t top_k, bool per_query,
                     summary *out)
{
    size_t *order = malloc(n * sizeof *order), *scratch = malloc(2 * n * sizeof *scratch);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    if (!order || !scratch || !a || !b) {
        free(order), free(scratch), free(a), free(b);
        return cli_error(CMD, "out of memory");
    }
    summary s = {.min_tau = 1, .min_overlap = 1};
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        s.max_abs = fmax(s.max_abs, e), s.mean_abs += e / (double)n;
        s.max_rel = fmax(s.max_rel, e / fmax(1.0, fabs(ref[i])));
        order[i] = i;
    }
    sort_keys = (const char *const *)g->key;
    qsort(order, n, sizeof *order, by_key);
    for (size_t q0 = 0; q0 < n;) {
        size_t q1 = q0;
        while (q1 < n && strcmp(g->key[order[q1]], g->key[order[q0]]) == 0)
            q1++;
        for (size_t i = q0; i < q1; i++)
            a[i - q0] = got[order[i]], b[i - q0] = ref[order[i]];
        double tau = rt5__kendall_tau(a, b, q1 - q0), ov = rt5__topk_overlap(a, b, q1 - q0, top_k, scratch);
        if (per_query)
            printf("query %s: %zu documents, Kendall tau %.4f, top-%zu overlap %.3f\n", g->key[order[q0]], q1 - q0,
                   tau, top_k, ov);
        s.mean_tau += tau, s.mean_overlap += ov, s.n_queries++;
        if (tau < s.min_tau || !s.worst_tau_query)
            s.min_tau = fmin(s.min_tau, tau), s.worst_tau_query = g->key[order[q0]];
        if (ov < s.min_overlap || !s.worst_overlap_query)
            s.min_overlap = fmin(s.min_overlap, ov), s.worst_overlap_query = g->key[order[q0]];
        q0 = q1;
    }
    s.mean_tau /= (double)s.n_queries, s.mean_overlap /= (double)s.n_queries;
    *out = s;
    free(order), free(scratch), free(a), free(b);
    return CLI_EXIT_OK;
}

static void print_summary(const compare_args *a, const summary *s, size_t n, double t32, double tlow)
{
    const char *dt = rt5_dtype_name(a->scorer.dtype);
    if (a->json) {
        printf("{\"dtype\": \"%s\", \"pairs\": %zu, \"queries\": %zu, \"max_abs_error\": %.6g, "
               "\"mean_abs_error\": %.6g, \"max_rel_error\": %.6g, \"kendall_tau_mean\": %.6f, "
               "\"kendall_tau_min\": %.6f, \"top_k\": %ld, \"top_k_overlap_mean\": %.6f, "
               "\"top_k_overlap_min\": %.6f, \"f32_pairs_per_s\": %.3f, \"%s_pairs_per_s\": %.3f}\n",
               dt, n, s->n_queries, s->max_abs, s->mean_abs, s->max_rel, s->mean_tau, s->min_tau, a->top_k,
               s->mean_overlap, s->min_overlap, n / t32, dt, n / tlow);
        return;
    }
    printf("rankt5 compare: %zu pairs in %zu queries, f32 against %s on the same token ids\n", n, s->n_queries, dt);
    printf("  score error      max %.3g, mean %.3g (relative |a-b|/max(1,|b|): max %.3g)\n", s->max_abs, s->mean_abs,
           s->max_rel);
    printf("  Kendall tau      mean %.4f, worst query %.4f (%s)\n", s->mean_tau, s->min_tau, s->worst_tau_query);
    printf("  top-%ld overlap   mean %.4f, worst query %.3f (%s)\n", a->top_k, s->mean_overlap, s->min_overlap,
           s->worst_overlap_query);
    printf("  speed            f32 %.2f pairs/s, %s %.2f pairs/s (%.2fx)\n", n / t32, dt, n / tlow, t32 / tlow);
}

/* ------------------------------------------------------------ the run */

/* The reference must compute in f32: a converted bf16/int8 file would be
 * compared with itself. */
static int check_reference(const cli_scorer *s, const char *path)
{
    rt5_model_info info;
    rt5_model_get_info(s->model, &info);
    if (info.compute_dtype == RT5_DTYPE_F32)
        return CLI_EXIT_OK;
    return cli_error(CMD, "%s is a converted %s file and cannot be the f32 reference; give the checkpoint it "
                     "came from with --reference PATH", path, rt5_dtype_name(info.compute_dtype));
}

/* Scores s's pairs with a second model of dtype into out; returns seconds. */
static int score_with(const compare_args *a, cli_scorer *s, rt5_dtype dtype, float *out, double *seconds)
{
    cli_scorer_opts o = a->scorer;
    o.dtype = dtype;
    cli_scorer other;
    int rc = cli_scorer_open(&other, CMD, &o);
    if (rc != CLI_EXIT_OK)
        return rc;
    for (size_t i = 0; i < s->n; i++)
        s->seqs[i] = (rt5_seq){s->ids + s->offset[i], s->len[i]};
    double t0 = cli_now();
    rt5_status st = rt5_engine_score(other.engine, s->seqs, s->n, out);
    *seconds = cli_now() - t0;
    if (st != RT5_OK)
        rc = cli_error(CMD, "scoring in %s failed: %s", rt5_dtype_name(dtype), rt5_engine_last_error(other.engine));
    cli_scorer_close(&other);
    return rc;
}

int rt5_cli_compare(int argc, char **argv)
{
    compare_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    FILE *in = stdin;
    if (a.input && strcmp(a.input, "-") != 0 && !(in = fopen(a.input, "rb")))
        return cli_error(CMD, "%s: cannot open: %s", a.input, strerror(errno));
    /* The input is encoded once, with an f32 scorer's tokenizer and checks;
     * its model is freed before the reduced-precision one loads. */
    cli_scorer_opts o32 = a.scorer;
    o32.dtype = RT5_DTYPE_F32;
    if (a.reference)
        o32.model_path = a.reference;
    cli_scorer s;
    groups g = {0};
    float *ref = NULL, *got = NULL;
    double t32 = 0, tlow = 0;
    rc = cli_scorer_open(&s, CMD, &o32);
    if (rc == CLI_EXIT_OK)
        rc = check_reference(&s, o32.model_path);
    if (rc == CLI_EXIT_OK)
        rc = read_pairs(&s, &g, in);
    if (rc == CLI_EXIT_OK) {
        ref = malloc(s.n * sizeof *ref), got = malloc(s.n * sizeof *got);
        if (!ref || !got)
            rc = cli_error(CMD, "out of memory for %zu scores", s.n);
    }
    if (rc == CLI_EXIT_OK) {
        double t0 = cli_now();
        rc = cli_scorer_run(&s, CMD);
        t32 = cli_now() - t0;
        if (rc == CLI_EXIT_OK)
            memcpy(ref, s.scores, s.n * sizeof *ref);
        rt5_engine_free(s.engine), s.engine = NULL;
        rt5_model_free(s.model), s.model = NULL;
    }
    if (rc == CLI_EXIT_OK)
        rc = score_with(&a, &s, a.scorer.dtype, got, &tlow);
    summary sum = {0};
    if (rc == CLI_EXIT_OK)
        rc = summarize(&g, ref, got, s.n, (size_t)a.top_k, a.per_query && !a.json, &sum);
    if (rc == CLI_EXIT_OK)
        print_summary(&a, &sum, s.n, t32, tlow);
    for (size_t i = 0; i < g.n; i++)
        free(g.key[i]);
    free(g.key), free(ref), free(got);
    if (s.tok || s.ids)
        cli_scorer_close(&s);
    if (in != stdin)
        fclose(in);
    return rc;
}
