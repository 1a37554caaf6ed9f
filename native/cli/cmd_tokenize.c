/*
 * cmd_tokenize.c -- `rankt5 tokenize`: text or (query, document) pairs in,
 * T5 token ids out, one output line per input line, in order.
 *
 * Input is JSON Lines ({"text": ...} or {"query": ..., "document": ...}) or,
 * with --lines, raw bytes one text per line (for text that is not valid
 * UTF-8, exactly as spm_encode reads it). A malformed line stops the run
 * with its line number; nothing is written for it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *CMD = "tokenize";

typedef struct tokenize_opts {
    const char *tokenizer_path;
    const char *output_path;
    rt5_tokenizer_kind kind;
    bool lines;
    bool pieces;
    bool ids_only;
    rt5_pair_params pair;
} tokenize_opts;

static void print_help(void)
{
    printf("Usage: rankt5 tokenize --tokenizer FILE [options] < input > output\n\n"
           "Turns text into the token ids of a T5 model. Reads JSON Lines on stdin:\n"
           "  {\"text\": \"...\"}                      -> {\"ids\": [...]}  (no </s> appended)\n"
           "  {\"query\": \"...\", \"document\": \"...\"} -> {\"ids\": [...], \"truncated\": N}\n"
           "     pair encoding: ids(query) </s> ids(document) </s>, cut to --max-length\n\n"
           "Options:\n"
           "  --tokenizer FILE     spiece.model (SentencePiece) or tokenizer.json (Hugging Face);\n"
           "                       the kind is detected from the contents\n"
           "  --kind auto|spm|hf   force the tokenizer kind (default auto)\n"
           "  --lines              read raw bytes, one text per line (any bytes; invalid UTF-8\n"
           "                       is handled as sentencepiece does)\n"
           "  --pieces             also print the piece strings (\"pieces\": [...])\n"
           "  --format json|ids    ids: print ids space-separated, like spm_encode\n"
           "                       --output_format=id (default json)\n"
           "  --max-length N       pair length cap, specials included (default 512; 0 = none)\n"
           "  --truncation S       longest_first (default, as Hugging Face), only_second,\n"
           "                       only_first, none (a pair that is too long is an error)\n"
           "  --template STR       encode pairs as one text, e.g.\n"
           "                       'Query: {query} Document: {document}', then </s>\n"
           "  -o FILE              write to FILE (atomically) instead of stdout\n\n"
           "Example:\n"
           "  echo '{\"text\": \"Hello world\"}' | rankt5 tokenize --tokenizer spiece.model\n"
           "  {\"ids\": [8774, 296]}\n");
}

static bool parse_truncation(const char *s, rt5_truncation *out)
{
    static const struct { const char *name; rt5_truncation value; } names[] = {
        {"longest_first", RT5_TRUNCATE_LONGEST_FIRST}, {"only_second", RT5_TRUNCATE_ONLY_SECOND},
        {"only_first", RT5_TRUNCATE_ONLY_FIRST}, {"none", RT5_TRUNCATE_NONE},
        {"do_not_truncate", RT5_TRUNCATE_NONE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].value;
            return true;
        }
    }
    return false;
}

static bool parse_kind(const char *s, rt5_tokenizer_kind *out)
{
    if (strcmp(s, "auto") == 0)
        *out = RT5_TOKENIZER_AUTO;
    else if (strcmp(s, "spm") == 0 || strcmp(s, "sentencepiece") == 0)
        *out = RT5_TOKENIZER_SENTENCEPIECE;
    else if (strcmp(s, "hf") == 0 || strcmp(s, "json") == 0)
        *out = RT5_TOKENIZER_HF_JSON;
    else
        return false;
    return true;
}

/* Returns -1 when parsing succeeded, else the exit status. */
static int parse_args(int argc, char **argv, tokenize_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pair = rt5_pair_default_params();
    o->output_path = "-";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--lines") == 0) {
            o->lines = true;
        } else if (strcmp(a, "--pieces") == 0) {
            o->pieces = true;
        } else if (!v) {
            return cli_usage_error(CMD, "unknown option or missing value: %s", a);
        } else if (strcmp(a, "--tokenizer") == 0) {
            o->tokenizer_path = argv[++i];
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            o->output_path = argv[++i];
        } else if (strcmp(a, "--kind") == 0) {
            if (!parse_kind(argv[++i], &o->kind))
                return cli_usage_error(CMD, "--kind must be auto, spm or hf");
        } else if (strcmp(a, "--format") == 0) {
            i++;
            if (strcmp(v, "ids") != 0 && strcmp(v, "json") != 0)
                return cli_usage_error(CMD, "--format must be json or ids");
            o->ids_only = strcmp(v, "ids") == 0;
        } else if (strcmp(a, "--max-length") == 0) {
            if (!cli_parse_long(argv[++i], 0, 1 << 30, &n) || n == 1)
                return cli_usage_error(CMD, "--max-length must be 0 or an integer >= 2");
            o->pair.max_length = (int32_t)n;
        } else if (strcmp(a, "--truncation") == 0) {
            if (!parse_truncation(argv[++i], &o->pair.truncation))
                return cli_usage_error(CMD, "--truncation must be longest_first, only_second, "
                                            "only_first or none");
        } else if (strcmp(a, "--template") == 0) {
            o->pair.text_template = argv[++i];
            if (!strstr(v, "{query}") || !strstr(v, "{document}"))
                return cli_usage_error(CMD, "--template must contain {query} and {document}");
        } else {
            return cli_usage_error(CMD, "unknown option: %s", a);
        }
    }
    if (!o->tokenizer_path)
        return cli_usage_error(CMD, "--tokenizer FILE is required");
    if (o->pieces && o->ids_only)
        return cli_usage_error(CMD, "--pieces needs --format json");
    return -1;
}

/* ------------------------------------------------------------- output */

typedef struct id_buf {
    int32_t *ids;
    size_t cap;
} id_buf;

/* Writes ids joined by sep; printf per number would cost more than the
 * tokenization itself. */
static void write_ids(FILE *out, const int32_t *ids, size_t n, const char *sep)
{
    char buf[4096];
    size_t used = 0, sep_len = strlen(sep);
    for (size_t i = 0; i < n; i++) {
        if (used > sizeof buf - 32) {
            fwrite(buf, 1, used, out);
            used = 0;
        }
        if (i) {
            memcpy(buf + used, sep, sep_len);
            used += sep_len;
        }
        char digits[16];
        int k = 0;
        uint32_t v = ids[i] < 0 ? (uint32_t)0 - (uint32_t)ids[i] : (uint32_t)ids[i];
        do {
            digits[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        if (ids[i] < 0)
            buf[used++] = '-';
        while (k)
            buf[used++] = digits[--k];
    }
    fwrite(buf, 1, used, out);
}

static bool write_result(FILE *out, const rt5_tokenizer *tok, const tokenize_opts *o,
                         const int32_t *ids, size_t n, long truncated)
{
    if (o->ids_only) {
        write_ids(out, ids, n, " ");
        return fputc('\n', out) != EOF;
    }
    fputs("{\"ids\": [", out);
    write_ids(out, ids, n, ", ");
    fputc(']', out);
    if (o->pieces) {
        fputs(", \"pieces\": [", out);
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            const char *p = rt5_tokenizer_piece(tok, ids[i], &len);
            json_t *s = json_stringn(p ? p : "", p ? len : 0);
            char *text = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
            fprintf(out, "%s%s", i ? ", " : "", text ? text : "\"\"");
            free(text);
            json_decref(s);
        }
        fputc(']', out);
    }
    if (truncated >= 0)
        fprintf(out, ", \"truncated\": %ld", truncated);
    fputs("}\n", out);
    return !ferror(out);
}

/* Runs an encode with a buffer that grows when the text needs more ids. */
static rt5_status encode_one(const rt5_tokenizer *tok, const tokenize_opts *o, id_buf *buf,
                             const char *a, size_t al, const char *b, size_t bl, bool pair,
                             size_t *n, size_t *cut)
{
    for (;;) {
        rt5_status st = pair ? rt5_tokenizer_encode_pair(tok, &o->pair, a, al, b, bl, buf->ids,
                                                         buf->cap, n, cut)
                             : rt5_tokenizer_encode(tok, a, al, buf->ids, buf->cap, n);
        if (st != RT5_ERR_BUFFER_TOO_SMALL)
            return st;
        int32_t *grown = realloc(buf->ids, *n * sizeof *grown);
        if (!grown)
            return RT5_ERR_OUT_OF_MEMORY;
        buf->ids = grown;
        buf->cap = *n;
    }
}

/* One JSON Lines record; returns an exit status, or -1 when it went well. */
static int handle_json(const rt5_tokenizer *tok, const tokenize_opts *o, id_buf *buf, FILE *out,
                       const char *line, size_t len, size_t lineno)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        return cli_error(CMD, "stdin line %zu: not a JSON object%s%s", lineno, obj ? "" : ": ",
                         obj ? "" : jerr.text);
    }
    json_t *text = json_object_get(obj, "text");
    json_t *q = json_object_get(obj, "query"), *d = json_object_get(obj, "document");
    int rc = -1;
    size_t n = 0, cut = 0;
    rt5_status st;
    if (json_is_string(text)) {
        st = encode_one(tok, o, buf, json_string_value(text), json_string_length(text), NULL, 0,
                        false, &n, NULL);
    } else if (json_is_string(q) && json_is_string(d)) {
        st = encode_one(tok, o, buf, json_string_value(q), json_string_length(q),
                        json_string_value(d), json_string_length(d), true, &n, &cut);
    } else {
        json_decref(obj);
        return cli_error(CMD, "stdin line %zu: expected a string \"text\", or string \"query\" "
                              "and \"document\" fields", lineno);
    }
    if (st != RT5_OK)
        rc = cli_error(CMD, "stdin line %zu: %s", lineno,
                       st == RT5_ERR_TOO_LONG ? "the pair is longer than --max-length and "
                                                "--truncation does not allow cutting it"
                                              : rt5_status_str(st));
    else if (!write_result(out, tok, o, buf->ids, n, json_is_string(text) ? -1 : (long)cut))
        rc = cli_error(CMD, "write error: %s", strerror(errno));
    json_decref(obj);
    return rc;
}

static int run(const rt5_tokenizer *tok, const tokenize_opts *o, FILE *out)
{
    char *line = NULL;
    size_t line_cap = 0, lineno = 0;
    id_buf buf = {NULL, 0};
    ssize_t got;
    int rc = -1;
    while (rc < 0 && (got = getline(&line, &line_cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        if (len && line[len - 1] == '\n')
            len--;
        if (o->lines) {
            size_t n = 0;
            rt5_status st = encode_one(tok, o, &buf, line, len, NULL, 0, false, &n, NULL);
            if (st != RT5_OK)
                rc = cli_error(CMD, "stdin line %zu: %s", lineno, rt5_status_str(st));
            else if (!write_result(out, tok, o, buf.ids, n, -1))
                rc = cli_error(CMD, "write error: %s", strerror(errno));
        } else {
            rc = handle_json(tok, o, &buf, out, line, len, lineno);
        }
    }
    if (rc < 0 && ferror(stdin))
        rc = cli_error(CMD, "read error on stdin: %s", strerror(errno));
    free(line);
    free(buf.ids);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

int rt5_cli_tokenize(int argc, char **argv)
{
    tokenize_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    rt5_tokenizer_params params = rt5_tokenizer_default_params();
    params.kind = o.kind;
    rt5_tokenizer *tok = NULL;
    rt5_status st = rt5_tokenizer_load(o.tokenizer_path, &params, &tok);
    if (st != RT5_OK) {
        rc = cli_error(CMD, "cannot load tokenizer: %s", rt5_tokenizer_last_error(tok));
        rt5_tokenizer_free(tok);
        return rc;
    }
    cli_atomic_file out;
    if (!cli_atomic_open(&out, o.output_path)) {
        rt5_tokenizer_free(tok);
        return cli_error(CMD, "%s: cannot open for writing: %s", o.output_path, strerror(errno));
    }
    rc = run(tok, &o, out.fp);
    if (rc == CLI_EXIT_OK && !cli_atomic_commit(&out))
        rc = cli_error(CMD, "%s: cannot write: %s", o.output_path, strerror(errno));
    else if (rc != CLI_EXIT_OK)
        cli_atomic_abort(&out);
    rt5_tokenizer_free(tok);
    return rc;
}
