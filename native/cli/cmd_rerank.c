/*
 * cmd_rerank.c -- rankt5 rerank: rescore the top K documents of each query
 * of a TREC run and write a new run sorted by the model's score; or, with
 * no --run, rerank JSON Lines {"query", "documents"} from stdin.
 *
 * TREC mode, in order:
 *  1. read the run, rank each query's documents by the run's score, keep K;
 *  2. read the queries TSV (small); scan the collection TSV once, keeping
 *     only the passages the remaining work needs (a 3 GB MS MARCO
 *     collection costs the memory of the run's passages only);
 *  3. score queries in groups of about --group-pairs pairs and write each
 *     finished query's lines with one write() followed by fsync() to
 *     "OUT.partial", which is renamed to OUT when the last query is done.
 *
 * Resuming (--resume): OUT.partial only ever grows by whole queries, so
 * after a kill it holds complete queries plus at most one torn query at the
 * end. Restarted with the same arguments, rerank reads OUT.partial, checks
 * that its queries are a prefix of this run's queries in order, drops a
 * last query whose line count is short or whose last line is unterminated
 * (ftruncate), and continues with the next query. Query groups are fixed by
 * the run alone, and a group is always scored whole (the queries of a
 * partly written group are scored again, only the missing ones written), so
 * every batch and every score is the same as in an uninterrupted run: the
 * output is byte-for-byte identical.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir_files.h"
#include "scorer.h"

static const char CMD[] = "rerank";

typedef struct rerank_args {
    cli_scorer_opts scorer;
    const char *run, *queries, *collection, *output, *input, *tag;
    long top;         /* -1 = default (100 for runs, all for JSON Lines) */
    long group_pairs; /* pairs per engine call, whole queries            */
    bool resume, skip_missing, quiet;
} rerank_args;

static void print_help(void)
{
    printf(
        "Usage: rankt5 rerank --model PATH --tokenizer FILE --run RUN --queries Q.tsv\n"
        "                     --collection C.tsv [--top K] -o OUT [options]\n"
        "       rankt5 rerank --model PATH --tokenizer FILE < requests.jsonl\n\n"
        "Rescores the top K documents of every query of a TREC run (lines 'qid Q0 docid rank\n"
        "score tag') with a RankT5 cross-encoder and writes a TREC run sorted by the new\n"
        "scores. Query and passage texts come from MS MARCO-style TSVs ('id<TAB>text'); only\n"
        "the passages the run needs are kept from the collection.\n\n"
        "Without --run, reads JSON Lines {\"query\": \"...\", \"documents\": [\"...\", ...]}\n"
        "(documents may also be {\"text\": \"...\"} objects) and writes one line per request:\n"
        "{\"results\": [{\"index\": i, \"score\": s}, ...]}, best first.\n\n"
        "%s\n"
        "Run options:\n"
        "  --run FILE          the TREC run to rerank (e.g. BM25's)\n"
        "  --queries FILE      id<TAB>query text\n"
        "  --collection FILE   id<TAB>passage text (streamed)\n"
        "  --top K             rescore the first K documents of each query, by the run's\n"
        "                      score (default 100; 0 = all); the others are dropped\n"
        "  -o, --output FILE   the reranked run ('-' = standard output)\n"
        "  --tag T             run tag of the output (default rankt5)\n"
        "  --resume            continue a killed run from FILE.partial (same arguments)\n"
        "  --skip-missing      skip documents missing from the collection (counted) instead\n"
        "                      of stopping with an error\n"
        "  --group-pairs N     pairs scored per engine call, in whole queries (default 64)\n"
        "  --quiet             no progress or summary on stderr\n\n"
        "JSON Lines options:\n"
        "  --input FILE        read FILE instead of standard input\n"
        "  -o, --output FILE   write FILE instead of standard output\n"
        "  --top K             keep the K best results per request (default all)\n\n"
        "While OUT is being written it is named OUT.partial and grows one whole query at a\n"
        "time; it is renamed to OUT at the end. After a crash or kill, run the same command\n"
        "with --resume: finished queries are kept, nothing is repeated or lost.\n\n"
        "Example:\n"
        "  rankt5 rerank --model pytorch_model.bin --tokenizer spiece.model \\\n"
        "      --run bm25.trec --queries queries.dev.tsv --collection collection.tsv \\\n"
        "      --top 100 -o rankt5.trec\n",
        cli_scorer_help);
}

static int parse_args(int argc, char **argv, rerank_args *a)
{
    memset(a, 0, sizeof *a);
    cli_scorer_default_opts(&a->scorer);
    a->top = -1;
    a->group_pairs = 64;
    a->tag = "rankt5";
    static const struct {
        const char *name;
        size_t offset;
    } strings[] = {
        {"--run", offsetof(rerank_args, run)},
        {"--queries", offsetof(rerank_args, queries)},
        {"--collection", offsetof(rerank_args, collection)},
        {"--output", offsetof(rerank_args, output)},
        {"-o", offsetof(rerank_args, output)},
        {"--input", offsetof(rerank_args, input)},
        {"--tag", offsetof(rerank_args, tag)},
    };
    for (int i = 1; i < argc; i++) {
        int r = cli_scorer_parse_opt(&a->scorer, CMD, argc, argv, &i);
        if (r < 0)
            return -r;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return -1;
        }
        if (strcmp(argv[i], "--resume") == 0 || strcmp(argv[i], "--skip-missing") == 0 ||
            strcmp(argv[i], "--quiet") == 0) {
            bool *flag = argv[i][2] == 'r' ? &a->resume : argv[i][2] == 's' ? &a->skip_missing
                                                                              : &a->quiet;
            *flag = true;
            continue;
        }
        bool missing = false, matched = false;
        const char *v;
        for (size_t k = 0; k < sizeof strings / sizeof strings[0] && !matched && !missing; k++) {
            if ((v = cli_opt_value(strings[k].name, argc, argv, &i, &missing))) {
                *(const char **)((char *)a + strings[k].offset) = v;
                matched = true;
            }
        }
        if (matched)
            continue;
        if (!missing && (v = cli_opt_value("--top", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 0, 100000000, &a->top))
                return cli_usage_error(CMD, "--top wants a non-negative integer, not '%s'", v);
        } else if (!missing && (v = cli_opt_value("--group-pairs", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 1 << 20, &a->group_pairs))
                return cli_usage_error(CMD, "--group-pairs wants an integer in [1, 1048576]");
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        }
    }
    return 0;
}

static int check_run_args(const rerank_args *a)
{
    if (!a->queries || !a->collection)
        return cli_usage_error(CMD, "--run needs --queries FILE and --collection FILE");
    if (!a->output)
        return cli_usage_error(CMD, "--run needs -o OUT (the reranked run; '-' = stdout)");
    if (a->resume && strcmp(a->output, "-") == 0)
        return cli_usage_error(CMD, "--resume needs -o FILE, not standard output");
    if (a->input)
        return cli_usage_error(CMD, "--input is for JSON Lines mode (without --run)");
    if (strchr(a->tag, ' ') || strchr(a->tag, '\t') || !*a->tag)
        return cli_usage_error(CMD, "--tag must be one word");
    return 0;
}

/* ------------------------------------------------------------ the plan */

/* One query of the job: its run entry, its text, its group, and which of
 * its top-K documents are present in the collection. */
typedef struct plan_query {
    ir_run_query *run;
    const char *text;
    size_t text_len;
    size_t group;     /* queries of one group are scored together       */
    size_t n_present; /* documents found in the collection              */
} plan_query;

typedef struct rerank_job {
    const rerank_args *args;
    ir_run run;
    ir_texts queries, passages;
    plan_query *plan;        /* (run.n_queries)                              */
    size_t *group_start;     /* (n_groups + 1) first query of each group     */
    size_t n_groups;
    size_t first_to_write;   /* queries before it are already in the output  */
    size_t first_group;      /* the group that contains first_to_write       */
    uint64_t keep_bytes;     /* bytes of OUT.partial to keep on resume       */
    size_t n_missing;        /* documents skipped (--skip-missing)           */
    size_t pairs_total;      /* pairs to score from first_group on           */
    char *partial_path;
    int out_fd;
    size_t written_this_process;
    bool created_partial;    /* this process created OUT.partial            */
    long kill_after;         /* RANKT5_TEST_KILL_AFTER_QUERIES, -1 = off     */
} rerank_job;

static int load_run_and_queries(rerank_job *job)
{
    const rerank_args *a = job->args;
    char err[IR_ERR_CAP];
    if (!ir_run_read(a->run, &job->run, err, sizeof err))
        return cli_error(CMD, "%s", err);
    ir_run_rank_and_cut(&job->run, (size_t)(a->top < 0 ? 100 : a->top));
    if (!ir_texts_read_all(a->queries, &job->queries, err, sizeof err))
        return cli_error(CMD, "%s", err);
    size_t n = job->run.n_queries;
    job->plan = calloc(n ? n : 1, sizeof *job->plan);
    job->group_start = calloc(n + 1, sizeof *job->group_start);
    if (!job->plan || !job->group_start)
        return cli_error(CMD, "out of memory");
    for (size_t i = 0; i < n; i++) {
        plan_query *p = &job->plan[i];
        p->run = &job->run.queries[i];
        p->text = ir_texts_get(&job->queries, p->run->qid, &p->text_len);
        if (!p->text)
            return cli_error(CMD, "query '%s' of %s (line %zu) is not in %s", p->run->qid, a->run,
                             p->run->n_docs ? p->run->docs[0].line : (size_t)0, a->queries);
    }
    return CLI_EXIT_OK;
}

/* Groups depend on the run and --top only, never on what was already
 * written or found, so a resumed run forms exactly the same batches. */
static void plan_groups(rerank_job *job)
{
    size_t pairs = 0, n = job->run.n_queries;
    job->n_groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || pairs >= (size_t)job->args->group_pairs) {
            job->group_start[job->n_groups++] = i;
            pairs = 0;
        }
        job->plan[i].group = job->n_groups - 1;
        pairs += job->plan[i].run->n_docs;
    }
    job->group_start[job->n_groups] = n;
}

/* ------------------------------------------------------------ resuming */

static int partial_mismatch(const rerank_job *job, const char *why)
{
    return cli_error(CMD,
                     "%s does not continue this run (%s); it was written with other arguments. "
                     "Remove it, or run without --resume to start over",
                     job->partial_path, why);
}

/* Reads OUT.partial: the queries it holds must come in this run's order.
 * Sets first_to_write to the last query found (which may be torn: decided
 * once the collection is read) and keeps the block for that check. */
static int scan_partial(rerank_job *job, ir_out_block **last, ir_out_block **blocks_out,
                        size_t *n_blocks_out)
{
    char err[IR_ERR_CAP];
    ir_out_block *blocks;
    size_t n_blocks;
    if (!ir_out_scan(job->partial_path, &blocks, &n_blocks, err, sizeof err))
        return cli_error(CMD, "%s", err);
    *blocks_out = blocks;
    *n_blocks_out = n_blocks;
    *last = NULL;
    job->first_to_write = 0;
    job->keep_bytes = 0;
    size_t next = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        if (!blocks[b].qid[0]) { /* a torn line: drop it */
            job->keep_bytes = blocks[b].start;
            break;
        }
        size_t q;
        if (!ir_strmap_get(&job->run.qids, blocks[b].qid, strlen(blocks[b].qid), &q) || q < next) {
            char why[256];
            snprintf(why, sizeof why, "query '%.100s' %s", blocks[b].qid,
                     q < next ? "is out of order" : "is not in the run");
            return partial_mismatch(job, why);
        }
        bool is_last = b + 1 == n_blocks || !blocks[b + 1].qid[0];
        if (!is_last && blocks[b].n_lines > job->plan[q].run->n_docs) {
            char why[256];
            snprintf(why, sizeof why, "query '%.100s' has %zu lines, more than --top allows",
                     blocks[b].qid, blocks[b].n_lines);
            return partial_mismatch(job, why);
        }
        next = q + 1;
        job->first_to_write = q;
        job->keep_bytes = blocks[b].end;
        *last = &blocks[b];
    }
    return CLI_EXIT_OK;
}

/* Once the collection is read: is the last query of OUT.partial whole? */
static void settle_last_block(rerank_job *job, const ir_out_block *last)
{
    if (!last) {
        job->first_to_write = 0;
        return;
    }
    size_t q = job->first_to_write;
    if (last->complete_line && last->n_lines == job->plan[q].n_present) {
        job->first_to_write = q + 1;
    } else {
        job->keep_bytes = last->start;
        if (!job->args->quiet)
            fprintf(stderr, "rankt5 rerank: dropping %zu line(s) of the unfinished query '%s'\n",
                    last->n_lines, last->qid);
    }
}

/* ------------------------------------------------------------ passages */

static int want_passages(rerank_job *job, size_t from_query)
{
    for (size_t i = from_query; i < job->run.n_queries; i++) {
        ir_run_query *q = job->plan[i].run;
        for (size_t j = 0; j < q->n_docs; j++)
            if (!ir_texts_want(&job->passages, q->docs[j].docid, strlen(q->docs[j].docid)))
                return cli_error(CMD, "out of memory");
    }
    return CLI_EXIT_OK;
}

static int check_missing(rerank_job *job, size_t from_query)
{
    const rerank_args *a = job->args;
    job->n_missing = 0;
    job->pairs_total = 0;
    for (size_t i = from_query; i < job->run.n_queries; i++) {
        plan_query *p = &job->plan[i];
        p->n_present = 0;
        for (size_t j = 0; j < p->run->n_docs; j++) {
            const ir_run_doc *d = &p->run->docs[j];
            if (ir_texts_get(&job->passages, d->docid, NULL)) {
                p->n_present++;
                continue;
            }
            if (!a->skip_missing)
                return cli_error(CMD,
                                 "document '%s' (query '%s', %s:%zu) is not in %s; "
                                 "--skip-missing skips such documents",
                                 d->docid, p->run->qid, a->run, d->line, a->collection);
            job->n_missing++;
        }
        job->pairs_total += p->n_present;
    }
    return CLI_EXIT_OK;
}

static int load_passages(rerank_job *job, size_t from_query)
{
    char err[IR_ERR_CAP];
    size_t found = 0;
    int rc = want_passages(job, from_query);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!ir_texts_read_wanted(job->args->collection, &job->passages, &found, err, sizeof err))
        return cli_error(CMD, "%s", err);
    return check_missing(job, from_query);
}

/* ------------------------------------------------------------ output */

/* Opens and locks OUT.partial before anything reads it, so a second rerank
 * on the same output fails fast instead of interleaving writes. The lock is
 * on the inode: check that it is still the one the path names (a run that
 * just finished renames its partial file away). */
static int open_output(rerank_job *job)
{
    const char *out = job->args->output;
    if (strcmp(out, "-") == 0) {
        job->out_fd = STDOUT_FILENO;
        return CLI_EXIT_OK;
    }
    job->created_partial = access(job->partial_path, F_OK) != 0;
    job->out_fd = open(job->partial_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (job->out_fd < 0)
        return cli_error(CMD, "%s: cannot create: %s", job->partial_path, strerror(errno));
    struct stat by_fd, by_path;
    if (flock(job->out_fd, LOCK_EX | LOCK_NB) != 0 || fstat(job->out_fd, &by_fd) != 0 ||
        stat(job->partial_path, &by_path) != 0 || by_fd.st_ino != by_path.st_ino ||
        by_fd.st_dev != by_path.st_dev) {
        job->created_partial = false;
        return cli_error(CMD, "%s is being written by another rankt5 rerank", job->partial_path);
    }
    return CLI_EXIT_OK;
}

/* Cuts OUT.partial to the queries kept (all of them are whole). */
static int truncate_output(rerank_job *job)
{
    if (job->out_fd == STDOUT_FILENO)
        return CLI_EXIT_OK;
    if (ftruncate(job->out_fd, (off_t)job->keep_bytes) != 0 ||
        lseek(job->out_fd, (off_t)job->keep_bytes, SEEK_SET) < 0)
        return cli_error(CMD, "%s: cannot truncate: %s", job->partial_path, strerror(errno));
    return CLI_EXIT_OK;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* The test hook behind tests/test_cli_rerank_resume.sh: after N queries,
 * write half of the next query's lines and die as a kill -9 would. */
static void maybe_die(rerank_job *job, const char *block, size_t len)
{
    if (job->kill_after < 0 || job->written_this_process < (size_t)job->kill_after)
        return;
    if (write_all(job->out_fd, block, len / 2))
        fsync(job->out_fd);
    raise(SIGKILL);
}

typedef struct ranked {
    size_t doc;  /* index in the query's run documents */
    float score;
} ranked;

static int compare_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static bool buf_printf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool buf_printf(text_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return false;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return true;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return false;
        b->data = d;
        b->cap = cap;
    }
}

/* Formats one query's reranked lines and writes them in one write + fsync.
 * scores are those of the query's present documents, in run order. */
static int write_query(rerank_job *job, const plan_query *p, const float *scores, ranked *tmp,
                       text_buf *buf)
{
    size_t n = 0;
    for (size_t j = 0; j < p->run->n_docs; j++)
        if (ir_texts_get(&job->passages, p->run->docs[j].docid, NULL)) {
            tmp[n] = (ranked){j, scores[n]};
            n++;
        }
    qsort(tmp, n, sizeof *tmp, compare_ranked);
    buf->len = 0;
    if (buf->cap == 0 && !(buf->data = malloc(buf->cap = 4096)))
        return cli_error(CMD, "out of memory");
    for (size_t r = 0; r < n; r++)
        if (!buf_printf(buf, "%s Q0 %s %zu %.8g %s\n", p->run->qid,
                        p->run->docs[tmp[r].doc].docid, r + 1, (double)tmp[r].score,
                        job->args->tag))
            return cli_error(CMD, "out of memory");
    maybe_die(job, buf->data, buf->len);
    bool to_file = job->out_fd != STDOUT_FILENO;
    if (!write_all(job->out_fd, buf->data, buf->len) || (to_file && fsync(job->out_fd) != 0))
        return cli_error(CMD, "%s: cannot write: %s",
                         to_file ? job->partial_path : "standard output", strerror(errno));
    job->written_this_process++;
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ scoring */

static int score_group(rerank_job *job, cli_scorer *s, size_t g, ranked **tmp, size_t *tmp_cap,
                       text_buf *buf)
{
    size_t first = job->group_start[g], end = job->group_start[g + 1];
    char why[512];
    cli_scorer_clear(s);
    for (size_t i = first; i < end; i++) {
        const plan_query *p = &job->plan[i];
        for (size_t j = 0; j < p->run->n_docs; j++) {
            size_t len;
            const char *text = ir_texts_get(&job->passages, p->run->docs[j].docid, &len);
            if (text && !cli_scorer_add_pair(s, p->text, p->text_len, text, len, why, sizeof why))
                return cli_error(CMD, "query '%s', document '%s': %s", p->run->qid,
                                 p->run->docs[j].docid, why);
        }
    }
    int rc = s->n ? cli_scorer_run(s, CMD) : CLI_EXIT_OK;
    size_t offset = 0;
    for (size_t i = first; i < end && rc == CLI_EXIT_OK; i++) {
        const plan_query *p = &job->plan[i];
        if (p->run->n_docs > *tmp_cap) {
            ranked *t = realloc(*tmp, p->run->n_docs * sizeof *t);
            if (!t)
                return cli_error(CMD, "out of memory");
            *tmp = t;
            *tmp_cap = p->run->n_docs;
        }
        if (i >= job->first_to_write && p->n_present > 0)
            rc = write_query(job, p, s->scores + offset, *tmp, buf);
        offset += p->n_present;
    }
    return rc;
}

static int score_all(rerank_job *job, cli_scorer *s)
{
    cli_progress progress;
    cli_progress_start(&progress, "pairs", job->pairs_total);
    if (job->args->quiet)
        progress.tty = false;
    s->progress = &progress;
    ranked *tmp = NULL;
    size_t tmp_cap = 0;
    text_buf buf = {0};
    int rc = CLI_EXIT_OK;
    for (size_t g = job->first_group; g < job->n_groups && rc == CLI_EXIT_OK; g++)
        rc = score_group(job, s, g, &tmp, &tmp_cap, &buf);
    free(tmp);
    free(buf.data);
    s->progress = NULL;
    if (rc == CLI_EXIT_OK && !job->args->quiet) {
        cli_progress_finish(&progress);
        if (job->n_missing)
            cli_warn(CMD, "skipped %zu document(s) missing from %s", job->n_missing,
                     job->args->collection);
        if (s->n_truncated)
            cli_warn(CMD, "%zu pair(s) were cut to --max-length %ld tokens", s->n_truncated,
                     (long)s->max_length);
    }
    return rc;
}

/* ------------------------------------------------------------ TREC mode */

static int prepare_resume(rerank_job *job)
{
    ir_out_block *blocks = NULL, *last = NULL;
    size_t n_blocks = 0;
    int rc = CLI_EXIT_OK;
    bool resuming = job->args->resume;
    if (resuming)
        rc = scan_partial(job, &last, &blocks, &n_blocks);
    if (rc == CLI_EXIT_OK) {
        job->first_group = job->run.n_queries ? job->plan[job->first_to_write].group : 0;
        rc = load_passages(job, job->run.n_queries ? job->group_start[job->first_group] : 0);
    }
    if (rc == CLI_EXIT_OK) {
        settle_last_block(job, last);
        if (resuming && !job->args->quiet && job->first_to_write > 0)
            fprintf(stderr, "rankt5 rerank: resuming after %zu complete quer%s in %s\n",
                    job->first_to_write, job->first_to_write == 1 ? "y" : "ies",
                    job->partial_path);
    }
    ir_out_blocks_free(blocks, n_blocks);
    return rc;
}

static int finish_output(rerank_job *job)
{
    if (job->out_fd == STDOUT_FILENO)
        return CLI_EXIT_OK;
    if (fsync(job->out_fd) != 0 || rename(job->partial_path, job->args->output) != 0)
        return cli_error(CMD, "%s: cannot rename to %s: %s", job->partial_path,
                         job->args->output, strerror(errno));
    return CLI_EXIT_OK;
}

static int rerank_run(const rerank_args *a)
{
    rerank_job job = {0};
    job.args = a;
    job.out_fd = -1;
    const char *kill_env = getenv("RANKT5_TEST_KILL_AFTER_QUERIES");
    job.kill_after = kill_env ? atol(kill_env) : -1;
    size_t plen = strlen(a->output) + sizeof ".partial";
    job.partial_path = malloc(plen);
    if (!job.partial_path)
        return cli_error(CMD, "out of memory");
    snprintf(job.partial_path, plen, "%s.partial", a->output);
    if (!a->resume && strcmp(a->output, "-") != 0 && access(job.partial_path, F_OK) == 0 &&
        !a->quiet)
        cli_warn(CMD, "starting over: %s from an earlier run is discarded (--resume continues "
                      "it)", job.partial_path);

    int rc = load_run_and_queries(&job);
    if (rc == CLI_EXIT_OK)
        plan_groups(&job);
    if (rc == CLI_EXIT_OK && a->resume && access(job.partial_path, F_OK) != 0 &&
        access(a->output, F_OK) == 0) {
        if (!a->quiet)
            fprintf(stderr, "rankt5 rerank: %s is complete; nothing to resume\n", a->output);
        rc = -1;
    }
    if (rc == CLI_EXIT_OK)
        rc = open_output(&job);
    if (rc == CLI_EXIT_OK)
        rc = prepare_resume(&job);
    if (rc == CLI_EXIT_OK)
        rc = truncate_output(&job);
    cli_scorer s = {0};
    cli_scorer_opts so = a->scorer;
    if (rc == CLI_EXIT_OK)
        rc = cli_scorer_open(&s, CMD, &so);
    if (rc == CLI_EXIT_OK) {
        cli_scorer_catch_interrupts();
        rc = score_all(&job, &s);
    }
    if (rc == CLI_EXIT_INTERRUPTED)
        fprintf(stderr,
                "\nrankt5 rerank: interrupted; %s holds every finished query. Run the same "
                "command with --resume to continue.\n",
                job.out_fd == STDOUT_FILENO ? "the output" : job.partial_path);
    if (rc == CLI_EXIT_OK)
        rc = finish_output(&job);
    if (s.engine)
        cli_scorer_close(&s);
    /* An error before anything was written leaves no file behind. */
    if (rc > 0 && job.created_partial && job.written_this_process == 0)
        unlink(job.partial_path);
    if (job.out_fd > STDOUT_FILENO)
        close(job.out_fd);
    ir_run_free(&job.run);
    ir_texts_free(&job.queries);
    ir_texts_free(&job.passages);
    free(job.plan);
    free(job.group_start);
    free(job.partial_path);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ------------------------------------------------------------ JSON Lines */

typedef struct jsonl_request {
    size_t first_pair, n_docs;
} jsonl_request;

/* Appends the pairs of one {"query", "documents"} line. */
static bool add_request(cli_scorer *s, const char *line, size_t len, jsonl_request *req,
                        char *why, size_t cap)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(why, cap, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
        return false;
    }
    json_t *q = json_object_get(obj, "query"), *docs = json_object_get(obj, "documents");
    bool ok = json_is_object(obj) && json_is_string(q) && json_is_array(docs);
    if (!ok)
        snprintf(why, cap, "expected {\"query\": string, \"documents\": [string, ...]}");
    req->first_pair = s->n;
    req->n_docs = ok ? json_array_size(docs) : 0;
    for (size_t i = 0; ok && i < req->n_docs; i++) {
        json_t *d = json_array_get(docs, i);
        if (json_is_object(d))
            d = json_object_get(d, "text");
        if (!json_is_string(d)) {
            snprintf(why, cap, "\"documents\"[%zu] is neither a string nor {\"text\": string}", i);
            ok = false;
        } else {
            char inner[256];
            ok = cli_scorer_add_pair(s, json_string_value(q), json_string_length(q),
                                     json_string_value(d), json_string_length(d), inner,
                                     sizeof inner);
            if (!ok)
                snprintf(why, cap, "\"documents\"[%zu]: %s", i, inner);
        }
    }
    json_decref(obj);
    return ok;
}

static bool write_results(FILE *out, const cli_scorer *s, const jsonl_request *req, long top,
                          ranked *tmp)
{
    for (size_t i = 0; i < req->n_docs; i++)
        tmp[i] = (ranked){i, s->scores[req->first_pair + i]};
    qsort(tmp, req->n_docs, sizeof *tmp, compare_ranked);
    size_t n = top > 0 && (size_t)top < req->n_docs ? (size_t)top : req->n_docs;
    fputs("{\"results\": [", out);
    for (size_t r = 0; r < n; r++)
        fprintf(out, "%s{\"index\": %zu, \"score\": %.9g}", r ? ", " : "", tmp[r].doc,
                (double)tmp[r].score);
    return fputs("]}\n", out) >= 0;
}

static int rerank_group(cli_scorer *s, FILE *out, const jsonl_request *reqs, size_t n_reqs,
                        long top)
{
    int rc = s->n ? cli_scorer_run(s, CMD) : CLI_EXIT_OK;
    ranked *tmp = malloc((s->n ? s->n : 1) * sizeof *tmp);
    if (!tmp)
        return cli_error(CMD, "out of memory");
    for (size_t r = 0; r < n_reqs && rc == CLI_EXIT_OK; r++)
        if (!write_results(out, s, &reqs[r], top, tmp))
            rc = cli_error(CMD, "writing the output failed");
    free(tmp);
    if (rc == CLI_EXIT_OK && fflush(out) != 0)
        rc = cli_error(CMD, "writing the output failed");
    return rc;
}

static int rerank_jsonl_stream(cli_scorer *s, FILE *in, FILE *out, const rerank_args *a)
{
    jsonl_request *reqs = NULL;
    size_t n_reqs = 0, cap_reqs = 0, line = 0, cap = 0;
    char *buf = NULL;
    int rc = CLI_EXIT_OK;
    bool eof = false;
    while (rc == CLI_EXIT_OK && !eof) {
        cli_scorer_clear(s);
        n_reqs = 0;
        while (s->n < (size_t)a->group_pairs && n_reqs < 1024) {
            long len = ir_read_line(in, &buf, &cap, NULL);
            if (len < 0) {
                eof = true;
                break;
            }
            line++;
            if (n_reqs == cap_reqs) {
                cap_reqs = cap_reqs ? cap_reqs * 2 : 64;
                jsonl_request *r = realloc(reqs, cap_reqs * sizeof *r);
                if (!r) {
                    rc = cli_error(CMD, "out of memory");
                    break;
                }
                reqs = r;
            }
            char why[512];
            if (!add_request(s, buf, (size_t)len, &reqs[n_reqs], why, sizeof why)) {
                rc = cli_error(CMD, "line %zu: %s", line, why);
                break;
            }
            n_reqs++;
        }
        if (rc == CLI_EXIT_OK && ferror(in))
            rc = cli_error(CMD, "reading the input failed after line %zu", line);
        if (rc == CLI_EXIT_OK)
            rc = rerank_group(s, out, reqs, n_reqs, a->top);
    }
    free(buf);
    free(reqs);
    return rc;
}

static int rerank_jsonl(const rerank_args *a)
{
    if (a->queries || a->collection || a->resume || a->skip_missing)
        return cli_usage_error(CMD, "--queries, --collection, --resume and --skip-missing need "
                                    "--run (without --run, JSON Lines are read)");
    FILE *in = stdin;
    if (a->input && strcmp(a->input, "-") != 0 && !(in = fopen(a->input, "rb")))
        return cli_error(CMD, "%s: cannot open: %s", a->input, strerror(errno));
    cli_scorer s;
    cli_scorer_opts so = a->scorer;
    int rc = cli_scorer_open(&s, CMD, &so);
    cli_atomic_file out = {0};
    if (rc == CLI_EXIT_OK && !cli_atomic_open(&out, a->output ? a->output : "-"))
        rc = cli_error(CMD, "%s: cannot create: %s", a->output, strerror(errno));
    if (rc == CLI_EXIT_OK) {
        cli_progress progress;
        cli_progress_start(&progress, "pairs", 0);
        progress.tty = false;
        s.progress = &progress;
        rc = rerank_jsonl_stream(&s, in, out.fp, a);
        if (rc == CLI_EXIT_OK && !cli_atomic_commit(&out))
            rc = cli_error(CMD, "%s: cannot write: %s", a->output, strerror(errno));
        if (rc == CLI_EXIT_OK && !a->quiet)
            cli_progress_finish(&progress);
    }
    if (rc != CLI_EXIT_OK)
        cli_atomic_abort(&out);
    if (s.engine || s.model || s.tok)
        cli_scorer_close(&s);
    if (in != stdin)
        fclose(in);
    return rc;
}

int rt5_cli_rerank(int argc, char **argv)
{
    rerank_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (!a.run)
        return rerank_jsonl(&a);
    if ((rc = check_run_args(&a)) != 0)
        return rc;
    return rerank_run(&a);
}
