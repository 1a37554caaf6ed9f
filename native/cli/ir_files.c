/*
 * ir_files.c -- readers for TREC runs, qrels and id<TAB>text TSVs, and the
 * block scanner behind rankt5 rerank --resume (see ir_files.h).
 *
 * Lines are read with getline (any length, embedded NULs kept as data) and
 * parsed from (pointer, length); fields are split on spaces and tabs. Keys
 * live in an open-addressing hash map (FNV-1a, linear probing, load <= 1/2)
 * so that a run with millions of (query, document) lines and a collection
 * scan stay linear.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_files.h"

/* Quoted fields in messages are cut to this many bytes. */
#define IR_CLAMP_LEN(n) ((n) > 200 ? (size_t)200 : (n))

static void set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static char *dup_bytes(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

/* Grows *p (of *cap elements of size elem) to hold at least need. */
static bool ensure_cap(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return false;
        n *= 2;
    }
    size_t bytes;
    if (__builtin_mul_overflow(n, elem, &bytes))
        return false;
    void *q = realloc(*p, bytes);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

long ir_read_line(FILE *fp, char **buf, size_t *cap, bool *had_newline)
{
    ssize_t n = getline(buf, cap, fp);
    if (n < 0)
        return -1;
    bool nl = n > 0 && (*buf)[n - 1] == '\n';
    if (nl)
        n--;
    if (n > 0 && (*buf)[n - 1] == '\r')
        n--;
    (*buf)[n] = 0;
    if (had_newline)
        *had_newline = nl;
    return (long)n;
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* What a line handler gets besides the line: the file's name and the error
 * buffer for messages, and the reader's own state. */
typedef struct line_reader {
    const char *path;
    char *err;
    size_t err_cap;
    void *state;
} line_reader;

/* Returns false after writing r->err to stop the reading. */
typedef bool (*line_handler)(const line_reader *r, const char *text, size_t len, size_t line);

/* Calls on_line for each line of r->path (numbered from 1) but the empty
 * ones, and with skip_blank the ones of spaces and tabs only. Opening and
 * read errors are reported here. */
static bool read_lines(const line_reader *r, bool skip_blank, line_handler on_line)
{
    FILE *fp = fopen(r->path, "rb");
    if (!fp) {
        set_err(r->err, r->err_cap, "%s: cannot open: %s", r->path, strerror(errno));
        return false;
    }
    char *buf = NULL;
    size_t cap = 0, line = 0;
    long len;
    bool ok = true;
    while (ok && (len = ir_read_line(fp, &buf, &cap, NULL)) >= 0) {
        line++;
        if (len == 0 || (skip_blank && is_blank(buf, (size_t)len)))
            continue;
        ok = on_line(r, buf, (size_t)len, line);
    }
    if (ok && ferror(fp)) {
        set_err(r->err, r->err_cap, "%s: read error: %s", r->path, strerror(errno));
        ok = false;
    }
    free(buf);
    fclose(fp);
    return ok;
}

/* ------------------------------------------------------------ string map */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Keys never hold NUL bytes (the parsers reject them), so a stored key's
 * length is its strlen; strnlen keeps the comparison inside the key. */
static bool key_equals(const char *key, const char *s, size_t len)
{
    return strnlen(key, len + 1) == len && memcmp(key, s, len) == 0;
}

static bool has_nul(const char *s, size_t len)
{
    return memchr(s, 0, len) != NULL;
}

static size_t find_slot(const ir_strmap *m, const char *key, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)hash_bytes(key, len) & mask;
    while (m->keys[i] && !key_equals(m->keys[i], key, len))
        i = (i + 1) & mask;
    return i;
}

bool ir_strmap_get(const ir_strmap *m, const char *key, size_t len, size_t *value)
{
    if (m->cap == 0)
        return false;
    size_t i = find_slot(m, key, len);
    if (!m->keys[i])
        return false;
    if (value)
        *value = m->values[i];
    return true;
}

static bool rehash(ir_strmap *m, size_t new_cap)
{
    ir_strmap next = {calloc(new_cap, sizeof(char *)), calloc(new_cap, sizeof(size_t)), new_cap,
                      m->count};
    if (!next.keys || !next.values) {
        free(next.keys);
        free(next.values);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = find_slot(&next, m->keys[i], strlen(m->keys[i]));
        next.keys[j] = m->keys[i];
        next.values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    *m = next;
    return true;
}

bool ir_strmap_put(ir_strmap *m, const char *key, size_t len, size_t value, bool *inserted,
                   size_t *value_out)
{
    if ((m->count + 1) * 2 > m->cap && !rehash(m, m->cap ? m->cap * 2 : 64))
        return false;
    size_t i = find_slot(m, key, len);
    bool fresh = m->keys[i] == NULL;
    if (fresh) {
        if (!(m->keys[i] = dup_bytes(key, len)))
            return false;
        m->values[i] = value;
        m->count++;
    }
    if (inserted)
        *inserted = fresh;
    if (value_out)
        *value_out = m->values[i];
    return true;
}

void ir_strmap_free(ir_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ fields */

/* Splits on runs of spaces/tabs into at most max fields; returns the count
 * (max + 1 when there are more). */
static size_t split_fields(const char *s, size_t len, const char **f, size_t *flen, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        if (n == max)
            return max + 1;
        f[n] = s + start;
        flen[n] = i - start;
        n++;
    }
    return n;
}

/* Copies a field into buf as a C string for strtol/strtod; false if it is
 * empty or too long to be a number. */
static bool field_cstr(const char *s, size_t len, char *buf, size_t cap)
{
    if (len == 0 || len >= cap)
        return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    return true;
}

static bool parse_long_field(const char *s, size_t len, long *out)
{
    char buf[32];
    if (!field_cstr(s, len, buf, sizeof buf))
        return false;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_double_field(const char *s, size_t len, double *out)
{
    char buf[64];
    if (!field_cstr(s, len, buf, sizeof buf))
        return false;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool ir_parse_run_line(const char *line, size_t len, ir_run_fields *out, char *why,
                       size_t why_cap)
{
    const char *f[6];
    size_t fl[6];
    size_t n = split_fields(line, len, f, fl, 6);
    if (n != 6) {
        set_err(why, why_cap, "expected 6 fields 'qid Q0 docid rank score tag', found %s%zu",
                n > 6 ? "more than " : "", n > 6 ? (size_t)6 : n);
        return false;
    }
    if (has_nul(f[0], fl[0]) || has_nul(f[2], fl[2])) {
        set_err(why, why_cap, "a NUL byte in the query or document id");
        return false;
    }
    if (!parse_long_field(f[3], fl[3], &out->rank)) {
        set_err(why, why_cap, "rank '%.*s' is not an integer", (int)IR_CLAMP_LEN(fl[3]), f[3]);
        return false;
    }
    if (!parse_double_field(f[4], fl[4], &out->score)) {
        set_err(why, why_cap, "score '%.*s' is not a finite number", (int)IR_CLAMP_LEN(fl[4]),
                f[4]);
        return false;
    }
    out->qid = f[0];
    out->qid_len = fl[0];
    out->docid = f[2];
    out->docid_len = fl[2];
    out->tag = f[5];
    out->tag_len = fl[5];
    return true;
}

/* ------------------------------------------------------------ runs */

static ir_run_query *run_query(ir_run *run, const char *qid, size_t len)
{
    size_t index;
    bool fresh;
    if (!ir_strmap_put(&run->qids, qid, len, run->n_queries, &fresh, &index))
        return NULL;
    if (!fresh)
        return &run->queries[index];
    if (!ensure_cap((void **)&run->queries, &run->cap_queries, run->n_queries + 1,
                    sizeof *run->queries))
        return NULL;
    ir_run_query *q = &run->queries[run->n_queries];
    memset(q, 0, sizeof *q);
    if (!(q->qid = dup_bytes(qid, len)))
        return NULL;
    run->n_queries++;
    return q;
}

static bool add_run_doc(ir_run *run, const ir_run_fields *f, size_t line, const char *path,
                        char *err, size_t err_cap)
{
    ir_run_query *q = run_query(run, f->qid, f->qid_len);
    if (!q || !ensure_cap((void **)&q->docs, &q->cap_docs, q->n_docs + 1, sizeof *q->docs)) {
        set_err(err, err_cap, "%s: out of memory", path);
        return false;
    }
    ir_run_doc *d = &q->docs[q->n_docs];
    d->docid = dup_bytes(f->docid, f->docid_len);
    d->score = f->score;
    d->rank = f->rank;
    d->line = line;
    if (!d->docid) {
        set_err(err, err_cap, "%s: out of memory", path);
        return false;
    }
    q->n_docs++;
    run->n_lines++;
    return true;
}

static int compare_docid_then_line(const void *a, const void *b)
{
    const ir_run_doc *x = *(const ir_run_doc *const *)a, *y = *(const ir_run_doc *const *)b;
    int c = strcmp(x->docid, y->docid);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* A docid repeated within one query is an error naming both lines. Checked
 * per query by sorting pointers, so a run of millions of lines needs no
 * run-wide map. */
static bool check_repeats(const ir_run *run, const char *path, char *err, size_t err_cap)
{
    const ir_run_doc **order = NULL;
    size_t cap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < run->n_queries; i++) {
        const ir_run_query *q = &run->queries[i];
        if (!ensure_cap((void **)&order, &cap, q->n_docs, sizeof *order)) {
            set_err(err, err_cap, "%s: out of memory", path);
            ok = false;
            break;
        }
        for (size_t j = 0; j < q->n_docs; j++)
            order[j] = &q->docs[j];
        qsort(order, q->n_docs, sizeof *order, compare_docid_then_line);
        for (size_t j = 1; ok && j < q->n_docs; j++) {
            if (strcmp(order[j - 1]->docid, order[j]->docid) == 0) {
                set_err(err, err_cap, "%s:%zu: document '%.200s' repeats line %zu of query '%.200s'",
                        path, order[j]->line, order[j]->docid, order[j - 1]->line, q->qid);
                ok = false;
            }
        }
    }
    free(order);
    return ok;
}

static bool run_line(const line_reader *r, const char *text, size_t len, size_t line)
{
    ir_run_fields f;
    char why[256];
    if (!ir_parse_run_line(text, len, &f, why, sizeof why)) {
        set_err(r->err, r->err_cap, "%s:%zu: %s", r->path, line, why);
        return false;
    }
    return add_run_doc(r->state, &f, line, r->path, r->err, r->err_cap);
}

bool ir_run_read(const char *path, ir_run *run, char *err, size_t err_cap)
{
    memset(run, 0, sizeof *run);
    line_reader r = {path, err, err_cap, run};
    bool ok = read_lines(&r, true, run_line);
    if (ok)
        ok = check_repeats(run, path, err, err_cap);
    if (!ok)
        ir_run_free(run);
    return ok;
}

static int compare_run_docs(const void *a, const void *b)
{
    const ir_run_doc *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

void ir_run_rank_and_cut(ir_run *run, size_t top_k)
{
    for (size_t i = 0; i < run->n_queries; i++) {
        ir_run_query *q = &run->queries[i];
        qsort(q->docs, q->n_docs, sizeof *q->docs, compare_run_docs);
        while (top_k && q->n_docs > top_k)
            free(q->docs[--q->n_docs].docid);
    }
}

/* trec_eval 9.x keeps scores as float (trec_format.h: "float sim"; 10.0
 * moved to double), so two scores equal in float are a tie there even when
 * the run's text tells them apart. The double -> float conversion rounds to
 * nearest as atof-then-assign does in trec_eval (C11 Annex F). */
static int compare_trec_eval(const void *a, const void *b)
{
    const ir_run_doc *x = a, *y = b;
    float sx = (float)x->score, sy = (float)y->score;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(y->docid, x->docid);
}

void ir_run_rank_trec_eval(ir_run *run)
{
    for (size_t i = 0; i < run->n_queries; i++)
        qsort(run->queries[i].docs, run->queries[i].n_docs, sizeof *run->queries[i].docs,
              compare_trec_eval);
}

void ir_run_free(ir_run *run)
{
    for (size_t i = 0; i < run->n_queries; i++) {
        for (size_t j = 0; j < run->queries[i].n_docs; j++)
            free(run->queries[i].docs[j].docid);
        free(run->queries[i].docs);
        free(run->queries[i].qid);
    }
    free(run->queries);
    ir_strmap_free(&run->qids);
    memset(run, 0, sizeof *run);
}

/* ------------------------------------------------------------ TSV texts */

bool ir_parse_tsv_line(const char *line, size_t len, const char **id, size_t *id_len,
                       const char **text, size_t *text_len)
{
    const char *tab = memchr(line, '\t', len);
    if (!tab || has_nul(line, (size_t)(tab - line)))
        return false;
    *id = line;
    *id_len = (size_t)(tab - line);
    *text = tab + 1;
    *text_len = len - *id_len - 1;
    return true;
}

static bool texts_add(ir_texts *t, const char *id, size_t id_len, size_t *index, bool *fresh)
{
    if (!ir_strmap_put(&t->ids, id, id_len, t->n, fresh, index))
        return false;
    if (!*fresh)
        return true;
    size_t cap = t->cap;
    if (!ensure_cap((void **)&t->texts, &cap, t->n + 1, sizeof *t->texts))
        return false;
    size_t cap2 = t->cap;
    if (!ensure_cap((void **)&t->lens, &cap2, t->n + 1, sizeof *t->lens))
        return false;
    t->cap = cap < cap2 ? cap : cap2;
    t->texts[t->n] = NULL;
    t->lens[t->n] = 0;
    t->n++;
    return true;
}

static bool set_text(ir_texts *t, size_t index, const char *text, size_t len)
{
    t->texts[index] = dup_bytes(text, len);
    t->lens[index] = len;
    return t->texts[index] != NULL;
}

bool ir_texts_want(ir_texts *t, const char *id, size_t len)
{
    size_t index;
    bool fresh;
    return texts_add(t, id, len, &index, &fresh);
}

/* Reads path line by line; keep_all: every row (repeats are errors);
 * otherwise only rows whose id is already wanted (first row wins). */
typedef struct tsv_state {
    ir_texts *t;
    bool keep_all; /* every line (ids must be unique), or only the wanted ids */
    size_t found;
} tsv_state;

static bool tsv_line(const line_reader *r, const char *line_text, size_t len, size_t line)
{
    tsv_state *st = r->state;
    ir_texts *t = st->t;
    const char *id, *text;
    size_t id_len, text_len, index;
    if (!ir_parse_tsv_line(line_text, len, &id, &id_len, &text, &text_len) || id_len == 0) {
        const char *tab = memchr(line_text, '\t', len);
        set_err(r->err, r->err_cap, "%s:%zu: expected 'id<TAB>text'%s", r->path, line,
                !tab ? " (no tab found)"
                : tab == line_text ? " (the id is empty)" : " (a NUL byte in the id)");
        return false;
    }
    bool ok = true;
    if (st->keep_all) {
        bool fresh;
        if (!texts_add(t, id, id_len, &index, &fresh) ||
            (fresh && !set_text(t, index, text, text_len))) {
            set_err(r->err, r->err_cap, "%s: out of memory", r->path);
            ok = false;
        } else if (!fresh) {
            set_err(r->err, r->err_cap, "%s:%zu: id '%.*s' appears twice", r->path, line,
                    (int)IR_CLAMP_LEN(id_len), id);
            ok = false;
        }
        st->found++;
    } else if (ir_strmap_get(&t->ids, id, id_len, &index) && !t->texts[index]) {
        if (!set_text(t, index, text, text_len)) {
            set_err(r->err, r->err_cap, "%s: out of memory", r->path);
            ok = false;
        }
        st->found++;
    }
    return ok;
}

static bool read_tsv(const char *path, ir_texts *t, bool keep_all, size_t *n_found, char *err,
                     size_t err_cap)
{
    tsv_state st = {t, keep_all, 0};
    line_reader r = {path, err, err_cap, &st};
    bool ok = read_lines(&r, false, tsv_line);
    if (n_found)
        *n_found = st.found;
    return ok;
}

bool ir_texts_read_all(const char *path, ir_texts *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    bool ok = read_tsv(path, out, true, NULL, err, err_cap);
    if (!ok)
        ir_texts_free(out);
    return ok;
}

bool ir_texts_read_wanted(const char *path, ir_texts *t, size_t *n_found, char *err,
                          size_t err_cap)
{
    return read_tsv(path, t, false, n_found, err, err_cap);
}

const char *ir_texts_get(const ir_texts *t, const char *id, size_t *len)
{
    size_t index;
    if (!ir_strmap_get(&t->ids, id, strlen(id), &index) || !t->texts[index])
        return NULL;
    if (len)
        *len = t->lens[index];
    return t->texts[index];
}

void ir_texts_free(ir_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->texts[i]);
    free(t->texts);
    free(t->lens);
    ir_strmap_free(&t->ids);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------ qrels */

typedef enum qrels_added { QRELS_ADDED, QRELS_REPEATED, QRELS_NO_MEMORY } qrels_added;

static qrels_added qrels_add(ir_qrels *q, const char *qid, size_t qid_len, const char *docid,
                             size_t docid_len, int grade)
{
    size_t index;
    bool fresh;
    if (!ir_strmap_put(&q->qids, qid, qid_len, q->n_queries, &fresh, &index))
        return QRELS_NO_MEMORY;
    if (fresh) {
        if (!ensure_cap((void **)&q->per_query, &q->cap_queries, q->n_queries + 1,
                        sizeof *q->per_query))
            return QRELS_NO_MEMORY;
        memset(&q->per_query[q->n_queries++], 0, sizeof *q->per_query);
    }
    char *key = malloc(qid_len + docid_len + 2);
    if (!key)
        return QRELS_NO_MEMORY;
    memcpy(key, qid, qid_len);
    key[qid_len] = '\t';
    memcpy(key + qid_len + 1, docid, docid_len);
    bool ok = ir_strmap_put(&q->pairs, key, qid_len + 1 + docid_len, (size_t)grade, &fresh, NULL);
    free(key);
    if (!ok)
        return QRELS_NO_MEMORY;
    if (!fresh)
        return QRELS_REPEATED;
    struct ir_qrels_query *pq = &q->per_query[index];
    if (!ensure_cap((void **)&pq->grades, &pq->cap, pq->n + 1, sizeof *pq->grades))
        return QRELS_NO_MEMORY;
    pq->grades[pq->n++] = grade;
    return QRELS_ADDED;
}

static bool qrels_line(const line_reader *r, const char *text, size_t len, size_t line)
{
    const char *f[4];
    size_t fl[4];
    long grade;
    size_t n = split_fields(text, len, f, fl, 4);
    if (n != 4 || has_nul(f[0], fl[0]) || has_nul(f[2], fl[2])) {
        set_err(r->err, r->err_cap, "%s:%zu: expected 4 fields 'qid iter docid relevance'%s",
                r->path, line, n == 4 ? " (a NUL byte in an id)" : "");
        return false;
    }
    if (!parse_long_field(f[3], fl[3], &grade) || grade < -1 || grade > 1000) {
        set_err(r->err, r->err_cap, "%s:%zu: relevance '%.*s' is not an integer in [-1, 1000]",
                r->path, line, (int)IR_CLAMP_LEN(fl[3]), f[3]);
        return false;
    }
    switch (qrels_add(r->state, f[0], fl[0], f[2], fl[2], grade < 0 ? 0 : (int)grade)) {
    case QRELS_ADDED:
        return true;
    case QRELS_REPEATED:
        set_err(r->err, r->err_cap,
                "%s:%zu: document '%.*s' of query '%.*s' is judged a second time (trec_eval "
                "refuses repeated judgments too)",
                r->path, line, (int)IR_CLAMP_LEN(fl[2]), f[2], (int)IR_CLAMP_LEN(fl[0]), f[0]);
        return false;
    case QRELS_NO_MEMORY:
        break;
    }
    set_err(r->err, r->err_cap, "%s: out of memory", r->path);
    return false;
}

bool ir_qrels_read(const char *path, ir_qrels *q, char *err, size_t err_cap)
{
    memset(q, 0, sizeof *q);
    line_reader r = {path, err, err_cap, q};
    bool ok = read_lines(&r, true, qrels_line);
    if (!ok)
        ir_qrels_free(q);
    return ok;
}

int ir_qrels_grade(const ir_qrels *q, const char *qid, const char *docid)
{
    size_t ql = strlen(qid), dl = strlen(docid);
    char stack_key[256];
    char *key = ql + dl + 2 <= sizeof stack_key ? stack_key : malloc(ql + dl + 2);
    if (!key)
        return 0;
    memcpy(key, qid, ql);
    key[ql] = '\t';
    memcpy(key + ql + 1, docid, dl);
    size_t grade = 0;
    bool found = ir_strmap_get(&q->pairs, key, ql + 1 + dl, &grade);
    if (key != stack_key)
        free(key);
    return found ? (int)grade : 0;
}

void ir_qrels_free(ir_qrels *q)
{
    for (size_t i = 0; i < q->n_queries; i++)
        free(q->per_query[i].grades);
    free(q->per_query);
    ir_strmap_free(&q->pairs);
    ir_strmap_free(&q->qids);
    memset(q, 0, sizeof *q);
}

/* ------------------------------------------------------------ rerank output */

static bool out_block_start(ir_out_block **blocks, size_t *n, size_t *cap, const char *qid,
                            size_t qid_len, uint64_t start)
{
    if (!ensure_cap((void **)blocks, cap, *n + 1, sizeof **blocks))
        return false;
    ir_out_block *b = &(*blocks)[*n];
    memset(b, 0, sizeof *b);
    b->start = b->end = start;
    if (!(b->qid = dup_bytes(qid, qid_len)))
        return false;
    (*n)++;
    return true;
}

bool ir_out_scan(const char *path, ir_out_block **blocks_out, size_t *n_out, char *err,
                 size_t err_cap)
{
    *blocks_out = NULL;
    *n_out = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return true;
        set_err(err, err_cap, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    ir_out_block *blocks = NULL;
    ir_strmap seen = {0};
    size_t n = 0, cap_blocks = 0, line = 0, cap = 0;
    char *buf = NULL;
    uint64_t offset = 0;
    bool ok = true, newline = true;
    long len;
    while (ok && (len = ir_read_line(fp, &buf, &cap, &newline)) >= 0) {
        line++;
        uint64_t start = offset;
        offset = (uint64_t)ftello(fp);
        ir_run_fields f;
        char why[256];
        if (!ir_parse_run_line(buf, (size_t)len, &f, why, sizeof why)) {
            if (!newline) { /* a torn last line: a block of its own, qid "" */
                if (!out_block_start(&blocks, &n, &cap_blocks, "", 0, start)) {
                    set_err(err, err_cap, "%s: out of memory", path);
                    ok = false;
                    break;
                }
                blocks[n - 1].n_lines = 1;
                blocks[n - 1].end = offset;
                break;
            }
            set_err(err, err_cap, "%s:%zu: %s", path, line, why);
            ok = false;
            break;
        }
        bool same = n > 0 && key_equals(blocks[n - 1].qid, f.qid, f.qid_len);
        if (!same) {
            bool fresh;
            if (!ir_strmap_put(&seen, f.qid, f.qid_len, n, &fresh, NULL) ||
                (fresh && !out_block_start(&blocks, &n, &cap_blocks, f.qid, f.qid_len, start))) {
                set_err(err, err_cap, "%s: out of memory", path);
                ok = false;
                break;
            }
            if (!fresh) {
                set_err(err, err_cap,
                        "%s:%zu: query '%.*s' comes back after other queries: this file was "
                        "not written by rankt5 rerank",
                        path, line, (int)IR_CLAMP_LEN(f.qid_len), f.qid);
                ok = false;
                break;
            }
        }
        blocks[n - 1].n_lines++;
        blocks[n - 1].end = offset;
        blocks[n - 1].complete_line = newline;
    }
    if (ok && ferror(fp)) {
        set_err(err, err_cap, "%s: read error: %s", path, strerror(errno));
        ok = false;
    }
    free(buf);
    fclose(fp);
    ir_strmap_free(&seen);
    if (!ok) {
        ir_out_blocks_free(blocks, n);
        return false;
    }
    *blocks_out = blocks;
    *n_out = n;
    return true;
}

void ir_out_blocks_free(ir_out_block *blocks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(blocks[i].qid);
    free(blocks);
}
