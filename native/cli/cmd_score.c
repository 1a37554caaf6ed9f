/*
 * cmd_score.c -- rankt5 score: JSON Lines of (query, document) pairs or
 * pre-tokenized ids in, one {"score": x} line out per line in, same order.
 *
 * Input is read in chunks of --chunk lines (default 1024) so that inputs of
 * any size stream in bounded memory while each engine call still gets
 * enough pairs to sort into well-packed batches. A malformed line stops the
 * run with "line N: reason" and exit status 1; the scores of the chunks
 * before it have already been written. With -o FILE the output is written
 * to a temporary file and renamed only when every line succeeded.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir_files.h"
#include "scorer.h"

static const char CMD[] = "score";

typedef struct score_args {
    cli_scorer_opts scorer;
    const char *input;  /* NULL/"-" = stdin  */
    const char *output; /* NULL/"-" = stdout */
    long chunk;
    bool quiet;
} score_args;

static void print_help(void)
{
    printf("Usage: rankt5 score --model PATH --tokenizer FILE [options] < pairs.jsonl\n\n"
           "Scores (query, document) pairs with a RankT5 cross-encoder. Each input line is a\n"
           "JSON object, either\n"
           "  {\"query\": \"...\", \"document\": \"...\"}   text, encoded as query </s> document </s>\n"
           "  {\"ids\": [13959, 1, 8, 1]}              token ids already encoded, ending with 1\n"
           "and gives one output line {\"score\": <logit>} in the same order. Scores are raw\n"
           "logits: compare them within a query, higher is more relevant.\n\n"
           "%s\n"
           "Input/output:\n"
           "  --input FILE        read FILE instead of standard input\n"
           "  -o, --output FILE   write FILE (atomically: renamed into place at the end)\n"
           "  --chunk N           lines scored per engine call (default 1024)\n"
           "  --quiet             no summary line on stderr\n\n"
           "Example:\n"
           "  echo '{\"query\": \"what is rankt5\", \"document\": \"RankT5 is a reranker.\"}' |\n"
           "    rankt5 score --model pytorch_model.bin --tokenizer spiece.model\n",
           cli_scorer_help);
}

static int parse_args(int argc, char **argv, score_args *a)
{
    memset(a, 0, sizeof *a);
    cli_scorer_default_opts(&a->scorer);
    a->chunk = 1024;
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
        } else if (strcmp(argv[i], "--quiet") == 0) {
            a->quiet = true;
        } else if ((v = cli_opt_value("--input", argc, argv, &i, &missing))) {
            a->input = v;
        } else if ((v = cli_opt_value("--output", argc, argv, &i, &missing)) ||
                   (v = cli_opt_value("-o", argc, argv, &i, &missing))) {
            a->output = v;
        } else if ((v = cli_opt_value("--chunk", argc, argv, &i, &missing))) {
            if (!cli_parse_long(v, 1, 1 << 20, &a->chunk))
                return cli_usage_error(CMD, "--chunk wants an integer in [1, 1048576], not '%s'", v);
        } else if (missing) {
            return cli_usage_error(CMD, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ one line */

static bool add_ids_array(cli_scorer *s, json_t *arr, char *why, size_t cap)
{
    size_t n = json_array_size(arr);
    if (n > (size_t)s->max_length) {
        snprintf(why, cap, "\"ids\" has %zu ids, more than --max-length %d", n, (int)s->max_length);
        return false;
    }
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT32_MAX) {
            snprintf(why, cap, "\"ids\"[%zu] is not a non-negative integer", i);
            free(ids);
            return false;
        }
        ids[i] = (int32_t)json_integer_value(v);
    }
    bool ok = cli_scorer_add_ids(s, ids, n, why, cap);
    free(ids);
    return ok;
}

/* Parses one input line and appends its pair to the chunk. */
static bool add_line(cli_scorer *s, const char *line, size_t len, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(why, cap, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
        return false;
    }
    bool ok = false;
    json_t *q = json_object_get(obj, "query"), *d = json_object_get(obj, "document");
    json_t *ids = json_object_get(obj, "ids");
    if (!json_is_object(obj)) {
        snprintf(why, cap, "expected a JSON object");
    } else if (ids) {
        if (!json_is_array(ids))
            snprintf(why, cap, "\"ids\" must be an array of token ids");
        else
            ok = add_ids_array(s, ids, why, cap);
    } else if (!json_is_string(q) || !json_is_string(d)) {
        snprintf(why, cap, "expected {\"query\": string, \"document\": string} or {\"ids\": [...]}"
                           "; %s is %s",
                 json_is_string(q) ? "\"document\"" : "\"query\"",
                 (json_is_string(q) ? d : q) ? "not a string" : "missing");
    } else {
        ok = cli_scorer_add_pair(s, json_string_value(q), json_string_length(q),
                                 json_string_value(d), json_string_length(d), why, cap);
    }
    json_decref(obj);
    return ok;
}

/* ------------------------------------------------------------ the run */

static bool write_scores(FILE *out, const cli_scorer *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (fprintf(out, "{\"score\": %.9g}\n", (double)s->scores[i]) < 0)
            return false;
    return fflush(out) == 0;
}

static int score_stream(cli_scorer *s, FILE *in, FILE *out, long chunk, size_t *n_lines)
{
    char *buf = NULL;
    size_t cap = 0, line = 0;
    long len;
    int rc = CLI_EXIT_OK;
    bool eof = false;
    while (rc == CLI_EXIT_OK && !eof) {
        cli_scorer_clear(s);
        while (s->n < (size_t)chunk) {
            if ((len = ir_read_line(in, &buf, &cap, NULL)) < 0) {
                eof = true;
                break;
            }
            line++;
            char why[512];
            if (!add_line(s, buf, (size_t)len, why, sizeof why)) {
                rc = cli_error(CMD, "line %zu: %s", line, why);
                break;
            }
        }
        if (rc == CLI_EXIT_OK && ferror(in))
            rc = cli_error(CMD, "reading the input failed after line %zu", line);
        if (rc == CLI_EXIT_OK && s->n > 0)
            rc = cli_scorer_run(s, CMD);
        if (rc == CLI_EXIT_OK && !write_scores(out, s))
            rc = cli_error(CMD, "writing the output failed");
        if (s->progress)
            cli_progress_update(s->progress, s->progress_base);
    }
    free(buf);
    *n_lines = line;
    return rc;
}

int rt5_cli_score(int argc, char **argv)
{
    score_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    FILE *in = stdin;
    if (a.input && strcmp(a.input, "-") != 0 && !(in = fopen(a.input, "rb")))
        return cli_error(CMD, "%s: cannot open: %s", a.input, strerror(errno));
    cli_scorer s;
    rc = cli_scorer_open(&s, CMD, &a.scorer);
    cli_atomic_file out = {0};
    if (rc == CLI_EXIT_OK && !cli_atomic_open(&out, a.output ? a.output : "-"))
        rc = cli_error(CMD, "%s: cannot create: %s", a.output, strerror(errno));
    if (rc == CLI_EXIT_OK) {
        cli_progress progress;
        cli_progress_start(&progress, "pairs", 0);
        progress.tty = false; /* the total is unknown: summary only */
        s.progress = &progress;
        size_t n_lines = 0;
        cli_scorer_catch_interrupts();
        rc = score_stream(&s, in, out.fp, a.chunk, &n_lines);
        if (rc == CLI_EXIT_INTERRUPTED)
            cli_warn(CMD, "interrupted after %zu input lines", n_lines);
        if (rc == CLI_EXIT_OK && !cli_atomic_commit(&out))
            rc = cli_error(CMD, "%s: cannot write: %s", a.output, strerror(errno));
        if (rc == CLI_EXIT_OK && !a.quiet) {
            cli_progress_finish(&progress);
            if (s.n_truncated)
                cli_warn(CMD, "%zu pair(s) were cut to --max-length %ld tokens", s.n_truncated,
                         a.scorer.max_length);
        }
    }
    if (rc != CLI_EXIT_OK)
        cli_atomic_abort(&out);
    if (s.engine || s.model || s.tok)
        cli_scorer_close(&s);
    if (in != stdin)
        fclose(in);
    return rc;
}
