/*
 * cmd_eval.c -- rankt5 eval: MRR@k, nDCG@k, recall@k and P@k of a TREC run
 * against TREC qrels, so a rerank can be checked end to end without
 * trec_eval.
 *
 * Conventions follow trec_eval's defaults: documents are ranked by the
 * run's score (descending; ties keep the run's rank order), nDCG uses the
 * grade as the gain and log2(rank + 1) as the discount, binary metrics count
 * a document relevant when its grade is >= --rel-level (default 1; TREC DL
 * passage tasks use 2), and the mean is over the queries that appear in both
 * the run and the qrels (--all-queries also counts judged queries the run
 * lacks, with 0, as the MS MARCO MRR script does).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir_files.h"
#include "scorer.h"

static const char CMD[] = "eval";

typedef enum metric_kind { METRIC_MRR, METRIC_NDCG, METRIC_RECALL, METRIC_PRECISION } metric_kind;

typedef struct metric {
    metric_kind kind;
    size_t k;
    char name[32];
    double sum;
} metric;

#define MAX_METRICS 16

typedef struct eval_args {
    const char *run, *qrels;
    metric metrics[MAX_METRICS];
    size_t n_metrics;
    long rel_level;
    bool all_queries, per_query;
} eval_args;

static void print_help(void)
{
    printf("Usage: rankt5 eval --run RUN --qrels QRELS [--metrics LIST] [options]\n\n"
           "Scores a TREC run ('qid Q0 docid rank score tag') against TREC qrels\n"
           "('qid 0 docid grade') and prints one line per metric.\n\n"
           "Options:\n"
           "  --metrics LIST   comma-separated, from mrr@K, ndcg@K, recall@K, p@K\n"
           "                   (default mrr@10,ndcg@10,recall@100,recall@1000)\n"
           "  --rel-level N    grade a document needs to count as relevant for mrr, recall\n"
           "                   and p (default 1; TREC DL passage ranking uses 2)\n"
           "  --all-queries    average over every judged query, counting those missing from\n"
           "                   the run as 0 (default: queries in both, like trec_eval)\n"
           "  --per-query      also print each query's values\n\n"
           "Documents are ranked by the run's score, ties in run order; nDCG's gain is the\n"
           "grade and its discount log2(rank + 1), as in trec_eval.\n\n"
           "Example:\n"
           "  rankt5 eval --run rankt5.trec --qrels qrels.dev.tsv --metrics mrr@10,ndcg@10\n");
}

static bool parse_metric(const char *text, size_t len, metric *m)
{
    static const struct {
        const char *prefix;
        metric_kind kind;
    } kinds[] = {{"mrr@", METRIC_MRR}, {"ndcg@", METRIC_NDCG}, {"recall@", METRIC_RECALL},
                 {"p@", METRIC_PRECISION}};
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        long k;
        if (strncmp(buf, kinds[i].prefix, n) == 0 && cli_parse_long(buf + n, 1, 100000000, &k)) {
            memset(m, 0, sizeof *m);
            m->kind = kinds[i].kind;
            m->k = (size_t)k;
            memcpy(m->name, buf, len + 1);
            return true;
        }
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
            return cli_usage_error(CMD, "unknown metric '%.*s' (use mrr@K, ndcg@K, recall@K, p@K)",
                                   (int)len, p);
        p += len + (p[len] == ',');
    }
    if (a->n_metrics == 0)
        return cli_usage_error(CMD, "--metrics is empty");
    return 0;
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->rel_level = 1;
    const char *metrics = "mrr@10,ndcg@10,recall@100,recall@1000";
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return -1;
        } else if (strcmp(argv[i], "--all-queries") == 0) {
            a->all_queries = true;
        } else if (strcmp(argv[i], "--per-query") == 0) {
            a->per_query = true;
        } else if ((v = cli_opt_value("--run", argc, argv, &i, &missing))) {
            a->run = v;
        } else if ((v = cli_opt_value("--qrels", argc, argv, &i, &missing))) {
            a->qrels = v;
        } else if ((v = cli_opt_value("--metrics", argc, argv, &i, &missing))) {
            metrics = v;
        } else if ((v = cli_opt_value("--rel-level", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 1000, &a->rel_level))
                return cli_usage_error(CMD, "--rel-level wants an integer in [1, 1000]");
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        }
    }
    if (!a->run || !a->qrels)
        return cli_usage_error(CMD, "--run RUN and --qrels QRELS are required");
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

/* One metric of one query. docs is NULL (n 0) for a query the run lacks. */
static double metric_value(const metric *m, const ir_qrels *qrels, const char *qid,
                           const ir_run_doc *docs, size_t n, int *grades, size_t n_grades,
                           long level)
{
    size_t k = m->k < n ? m->k : n, hits = 0;
    double dcg = 0;
    for (size_t i = 0; i < k; i++) {
        int g = ir_qrels_grade(qrels, qid, docs[i].docid);
        if (m->kind == METRIC_MRR && g >= level)
            return 1.0 / (double)(i + 1);
        hits += g >= level;
        dcg += g > 0 ? g / log2((double)i + 2.0) : 0.0;
    }
    switch (m->kind) {
    case METRIC_MRR:
        return 0.0;
    case METRIC_NDCG: {
        double ideal = ideal_dcg(grades, n_grades, m->k);
        return ideal > 0 ? dcg / ideal : 0.0;
    }
    case METRIC_RECALL: {
        size_t relevant = count_relevant(grades, n_grades, level);
        return relevant ? (double)hits / (double)relevant : 0.0;
    }
    case METRIC_PRECISION:
        return (double)hits / (double)m->k;
    }
    return 0.0;
}

static void eval_query(eval_args *a, const ir_qrels *qrels, const char *qid,
                       const ir_run_query *rq, struct ir_qrels_query *jq)
{
    if (a->per_query)
        printf("%s", qid);
    for (size_t m = 0; m < a->n_metrics; m++) {
        double v = metric_value(&a->metrics[m], qrels, qid, rq ? rq->docs : NULL,
                                rq ? rq->n_docs : 0, jq->grades, jq->n, a->rel_level);
        a->metrics[m].sum += v;
        if (a->per_query)
            printf("\t%s=%.4f", a->metrics[m].name, v);
    }
    if (a->per_query)
        printf("\n");
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
        eval_query(a, qrels, rq->qid, rq, &qrels->per_query[j]);
        n_eval++;
    }
    size_t n_missing = 0;
    for (size_t c = 0; a->all_queries && c < qrels->qids.cap; c++) {
        const char *qid = qrels->qids.keys[c];
        if (!qid || ir_strmap_get(&run->qids, qid, strlen(qid), NULL))
            continue;
        eval_query(a, qrels, qid, NULL, &qrels->per_query[qrels->qids.values[c]]);
        n_missing++;
    }
    size_t n = n_eval + n_missing;
    if (n == 0)
        return cli_error(CMD, "no query of %s is judged in %s", a->run, a->qrels);
    printf("%s: %zu quer%s evaluated", a->run, n, n == 1 ? "y" : "ies");
    if (n_missing)
        printf(" (%zu judged but missing from the run, counted as 0)", n_missing);
    if (n_unjudged)
        printf(" (%zu unjudged skipped)", n_unjudged);
    printf("\n");
    for (size_t m = 0; m < a->n_metrics; m++)
        printf("%-12s %.4f\n", a->metrics[m].name, a->metrics[m].sum / (double)n);
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
    ir_run_rank_and_cut(&run, 0);
    rc = evaluate(&a, &run, &qrels);
    ir_run_free(&run);
    ir_qrels_free(&qrels);
    return rc;
}
