/*
 * cmd_eval.c -- rankt5 eval: nDCG@k, MRR(@k), MAP(@k), recall@k and P@k of
 * a TREC run against TREC qrels, each number equal to trec_eval's with the
 * flags printed beside it, so a rerank can be checked end to end without
 * trec_eval.
 *
 * What "equal to trec_eval" takes (read from trec_eval 9.0.x's source:
 * pytrec_eval bundles 9.0.5, Anserini's regression pages were made with 9.x):
 *   - ranking: score rounded to float, descending; ties by docid in
 *     descending strcmp order; the run's rank column is ignored
 *     (form_res_rels.c, ir_run_rank_trec_eval);
 *   - nDCG@k (ndcg_cut.k): gain = grade (whatever -l says), discount
 *     log2(rank + 1), ideal DCG@k from all the query's judged grades;
 *   - binary measures (recip_rank, map, map_cut, recall, P) count a grade
 *     >= -l (--rel-level) as relevant; map and recall divide by the number
 *     of such judged documents, P@k by k; mrr@k is recip_rank under -M k;
 *   - the mean: by default over every judged query, a query the run lacks
 *     counting 0 (trec_eval -c, as Anserini's and Pyserini's regressions
 *     run it); --run-queries-only averages over the queries in both files
 *     (trec_eval without -c). Queries of the run that the qrels lack are
 *     skipped either way.
 * Checked against pytrec_eval on real TREC DL 2019 qrels by
 * tests/test_cli_eval_trec.sh (fixtures from tests/gen_eval_fixtures.py).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir_files.h"
#include "scorer.h"

static const char CMD[] = "eval";

typedef enum metric_kind { METRIC_MRR, METRIC_NDCG, METRIC_MAP, METRIC_RECALL, METRIC_PRECISION } metric_kind;

typedef struct metric {
    metric_kind kind;
    size_t k; /* cutoff; SIZE_MAX for bare mrr and map */
    char name[32];
    double sum;
} metric;

#define MAX_METRICS 16

typedef struct eval_args {
    const char *run, *qrels;
    metric metrics[MAX_METRICS];
    size_t n_metrics;
    long rel_level;
    int digits;
    bool run_queries_only, per_query;
} eval_args;

/* Named sets of metrics and relevance level (--preset). */
typedef struct preset {
    const char *name, *metrics;
    long rel_level;
} preset;

static const preset PRESETS[] = {
    /* TREC DL passage: NIST grades 0-3, grade >= 2 relevant for binary
     * measures; Anserini reports map, ndcg_cut.10, recall.100/1000. */
    {"dl", "ndcg@10,mrr@10,map,recall@100,recall@1000", 2},
    /* MS MARCO passage dev: one grade (1); the official measure is MRR@10. */
    {"msmarco", "mrr@10,recall@1000", 1},
};

static void print_help(void)
{
    printf("Usage: rankt5 eval --run RUN --qrels QRELS [--preset dl|msmarco] [--metrics LIST] [options]\n\n"
           "Scores a TREC run ('qid Q0 docid rank score tag') against TREC qrels\n"
           "('qid 0 docid grade') and prints one line per metric with the trec_eval\n"
           "command that gives the same number.\n\n"
           "Options:\n"
           "  --preset NAME       dl: ndcg@10,mrr@10,map,recall@100,recall@1000 with --rel-level 2\n"
           "                      (TREC DL passage, as Anserini reports it); msmarco:\n"
           "                      mrr@10,recall@1000 with --rel-level 1 (MS MARCO dev)\n"
           "  --metrics LIST      comma-separated, from ndcg@K, mrr@K, mrr, map, map@K,\n"
           "                      recall@K, p@K (default mrr@10,ndcg@10,recall@100,recall@1000)\n"
           "  --rel-level N       grade a document needs to count as relevant for mrr, map,\n"
           "                      recall and p (default 1; TREC DL passage uses 2). nDCG\n"
           "                      always uses the grade as the gain, as trec_eval does\n"
           "  --run-queries-only  average over the queries in both files (trec_eval without\n"
           "                      -c); the default averages over every judged query, those\n"
           "                      missing from the run counting 0 (trec_eval -c)\n"
           "  --per-query         also print each query's values\n"
           "  --digits N          decimals printed (default 4, at most 17)\n\n"
           "Ranking is trec_eval's: by score (compared as float) descending, ties by docid\n"
           "in descending byte order; the rank column is ignored. A document listed twice\n"
           "for a query is an error, as in trec_eval.\n\n"
           "Examples:\n"
           "  rankt5 eval --run rankt5.trec --qrels qrels.dl19-passage.txt --preset dl\n"
           "  rankt5 eval --run rankt5.trec --qrels qrels.dev.small.tsv --preset msmarco\n");
}

static bool parse_metric(const char *text, size_t len, metric *m)
{
    static const struct {
        const char *prefix;
        metric_kind kind;
        bool bare; /* also valid without @K */
    } kinds[] = {{"mrr", METRIC_MRR, true},       {"ndcg", METRIC_NDCG, false},
                 {"map", METRIC_MAP, true},       {"recall", METRIC_RECALL, false},
                 {"p", METRIC_PRECISION, false}};
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        long k = 0;
        if (strncmp(buf, kinds[i].prefix, n) != 0)
            continue;
        if (buf[n] == 0 && kinds[i].bare) {
            k = -1;
        } else if (buf[n] != '@' || !cli_parse_long(buf + n + 1, 1, 100000000, &k)) {
            continue;
        }
        memset(m, 0, sizeof *m);
        m->kind = kinds[i].kind;
        m->k = k < 0 ? SIZE_MAX : (size_t)k;
        memcpy(m->name, buf, len + 1);
        return true;
    }
    return false;
}

static int parse_metrics(const char *list, eval_args *a)
{
    a->n_metrics = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (a->n_metrics == MAX_METRICS)
            return cli_usage_error(CMD, "at most %d metrics", MAX_METRICS);
        if (!parse_metric(p, len, &a->metrics[a->n_metrics++]))
            return cli_usage_error(CMD,
                                   "unknown metric '%.*s' (use ndcg@K, mrr@K, mrr, map, map@K, "
                                   "recall@K, p@K)",
                                   (int)len, p);
        p += len + (p[len] == ',');
    }
    if (a->n_metrics == 0)
        return cli_usage_error(CMD, "--metrics is empty");
    return 0;
}

static const preset *find_preset(const char *name)
{
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    return NULL;
}

/* Options given explicitly win over the preset's, whatever their order. */
static int parse_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->digits = 4;
    const char *metrics = NULL;
    const preset *pre = NULL;
    long rel_level = 0;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        long n;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return -1;
        } else if (strcmp(argv[i], "--run-queries-only") == 0) {
            a->run_queries_only = true;
        } else if (strcmp(argv[i], "--all-queries") == 0) {
            a->run_queries_only = false; /* the default since trec_eval -c became it */
        } else if (strcmp(argv[i], "--per-query") == 0) {
            a->per_query = true;
        } else if ((v = cli_opt_value("--run", argc, argv, &i, &missing))) {
            a->run = v;
        } else if ((v = cli_opt_value("--qrels", argc, argv, &i, &missing))) {
            a->qrels = v;
        } else if ((v = cli_opt_value("--metrics", argc, argv, &i, &missing))) {
            metrics = v;
        } else if ((v = cli_opt_value("--preset", argc, argv, &i, &missing))) {
            if (!(pre = find_preset(v)))
                return cli_usage_error(CMD, "unknown preset '%s' (use dl or msmarco)", v);
        } else if ((v = cli_opt_value("--rel-level", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 1000, &rel_level))
                return cli_usage_error(CMD, "--rel-level wants an integer in [1, 1000]");
        } else if ((v = cli_opt_value("--digits", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 17, &n))
                return cli_usage_error(CMD, "--digits wants an integer in [1, 17]");
            a->digits = (int)n;
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        }
    }
    if (!a->run || !a->qrels)
        return cli_usage_error(CMD, "--run RUN and --qrels QRELS are required");
    a->rel_level = rel_level ? rel_level : pre ? pre->rel_level : 1;
    if (!metrics)
        metrics = pre ? pre->metrics : "mrr@10,ndcg@10,recall@100,recall@1000";
    return parse_metrics(metrics, a);
}

/* ------------------------------------------------------------ metrics */

static int compare_grades_desc(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a < b) - (a > b);
}

/* Ideal DCG@k from the query's judged grades (sorted in place). */
static double ideal_dcg(int *grades, size_t n, size_t k)
{
    qsort(grades, n, sizeof *grades, compare_grades_desc);
    double dcg = 0;
    for (size_t i = 0; i < n && i < k && grades[i] > 0; i++)
        dcg += grades[i] / log2((double)i + 2.0);
    return dcg;
}

static size_t count_relevant(const int *grades, size_t n, long level)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += grades[i] >= level;
    return r;
}

/* What one query's metrics are computed from. */
typedef struct query_view {
    const ir_qrels *qrels;
    const char *qid;
    const ir_run_doc *docs; /* (n_docs) in trec_eval's order; NULL if the run lacks the query */
    size_t n_docs;
    int *grades; /* (n_grades) every judged grade of the query */
    size_t n_grades;
    long level;
} query_view;

/* One metric of one query, computed as trec_eval's m_<measure>.c does. */
static double metric_value(const metric *m, const query_view *q)
{
    size_t k = m->k < q->n_docs ? m->k : q->n_docs, hits = 0;
    double dcg = 0, precision_sum = 0;
    for (size_t i = 0; i < k; i++) {
        int g = ir_qrels_grade(q->qrels, q->qid, q->docs[i].docid);
        if (g >= q->level) {
            if (m->kind == METRIC_MRR)
                return 1.0 / (double)(i + 1);
            hits++;
            precision_sum += (double)hits / (double)(i + 1);
        }
        dcg += g > 0 ? g / log2((double)i + 2.0) : 0.0;
    }
    size_t relevant = count_relevant(q->grades, q->n_grades, q->level);
    switch (m->kind) {
    case METRIC_MRR:
        return 0.0;
    case METRIC_NDCG: {
        double ideal = ideal_dcg(q->grades, q->n_grades, m->k);
        return ideal > 0 ? dcg / ideal : 0.0;
    }
    case METRIC_MAP:
        return relevant ? precision_sum / (double)relevant : 0.0;
    case METRIC_RECALL:
        return relevant ? (double)hits / (double)relevant : 0.0;
    case METRIC_PRECISION:
        return (double)hits / (double)m->k;
    }
    return 0.0;
}

static void eval_query(eval_args *a, query_view *q)
{
    if (a->per_query)
        printf("%s", q->qid);
    for (size_t m = 0; m < a->n_metrics; m++) {
        double v = metric_value(&a->metrics[m], q);
        a->metrics[m].sum += v;
        if (a->per_query)
            printf("\t%s=%.*f", a->metrics[m].name, a->digits, v);
    }
    if (a->per_query)
        printf("\n");
}

/* The trec_eval flags that give metric m's number ("-c -l 2 -m map"). */
static void trec_eval_flags(const eval_args *a, const metric *m, char *buf, size_t cap)
{
    char level[16] = "", measure[48];
    if (m->kind != METRIC_NDCG && a->rel_level != 1)
        snprintf(level, sizeof level, "-l %ld ", a->rel_level);
    switch (m->kind) {
    case METRIC_MRR:
        if (m->k == SIZE_MAX)
            snprintf(measure, sizeof measure, "-m recip_rank");
        else
            snprintf(measure, sizeof measure, "-M %zu -m recip_rank", m->k);
        break;
    case METRIC_NDCG:
        snprintf(measure, sizeof measure, "-m ndcg_cut.%zu", m->k);
        break;
    case METRIC_MAP:
        if (m->k == SIZE_MAX)
            snprintf(measure, sizeof measure, "-m map");
        else
            snprintf(measure, sizeof measure, "-m map_cut.%zu", m->k);
        break;
    case METRIC_RECALL:
        snprintf(measure, sizeof measure, "-m recall.%zu", m->k);
        break;
    case METRIC_PRECISION:
        snprintf(measure, sizeof measure, "-m P.%zu", m->k);
        break;
    }
    snprintf(buf, cap, "%s%s%s", a->run_queries_only ? "" : "-c ", level, measure);
}

static int evaluate(eval_args *a, ir_run *run, ir_qrels *qrels)
{
    size_t n_eval = 0, n_unjudged = 0;
    for (size_t i = 0; i < run->n_queries; i++) {
        size_t j;
        const ir_run_query *rq = &run->queries[i];
        if (!ir_strmap_get(&qrels->qids, rq->qid, strlen(rq->qid), &j)) {
            n_unjudged++;
            continue;
        }
        struct ir_qrels_query *jq = &qrels->per_query[j];
        query_view q = {qrels, rq->qid, rq->docs, rq->n_docs, jq->grades, jq->n, a->rel_level};
        eval_query(a, &q);
        n_eval++;
    }
    size_t n_missing = 0;
    for (size_t c = 0; !a->run_queries_only && c < qrels->qids.cap; c++) {
        const char *qid = qrels->qids.keys[c];
        if (!qid || ir_strmap_get(&run->qids, qid, strlen(qid), NULL))
            continue;
        struct ir_qrels_query *jq = &qrels->per_query[qrels->qids.values[c]];
        query_view q = {qrels, qid, NULL, 0, jq->grades, jq->n, a->rel_level};
        eval_query(a, &q);
        n_missing++;
    }
    size_t n = n_eval + n_missing;
    if (n_eval == 0)
        return cli_error(CMD, "no query of %s is judged in %s", a->run, a->qrels);
    printf("%s: %zu quer%s evaluated", a->run, n, n == 1 ? "y" : "ies");
    if (n_missing)
        printf(" (%zu judged but missing from the run, counted as 0)", n_missing);
    if (n_unjudged)
        printf(" (%zu not in the qrels, skipped)", n_unjudged);
    printf("\n");
    for (size_t m = 0; m < a->n_metrics; m++) {
        char flags[96];
        trec_eval_flags(a, &a->metrics[m], flags, sizeof flags);
        printf("%-12s %.*f   trec_eval %s\n", a->metrics[m].name, a->digits,
               a->metrics[m].sum / (double)n, flags);
    }
    return CLI_EXIT_OK;
}

int rt5_cli_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    ir_run run;
    ir_qrels qrels;
    char err[IR_ERR_CAP];
    if (!ir_run_read(a.run, &run, err, sizeof err))
        return cli_error(CMD, "%s", err);
    if (!ir_qrels_read(a.qrels, &qrels, err, sizeof err)) {
        ir_run_free(&run);
        return cli_error(CMD, "%s", err);
    }
    ir_run_rank_trec_eval(&run);
    rc = evaluate(&a, &run, &qrels);
    ir_run_free(&run);
    ir_qrels_free(&qrels);
    return rc;
}
