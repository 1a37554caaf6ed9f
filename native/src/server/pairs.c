/*
 * pairs.c -- request -> encoded pairs (see pairs.h). Runs on the HTTP
 * threads; the tokenizer is shared and thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/pairs.h"

#define T5_EOS_ID 1

void rt5__pairs_split(size_t n_first, size_t n_second, size_t budget, size_t *keep_first,
                      size_t *keep_second)
{
    if (n_first + n_second <= budget) {
        *keep_first = n_first;
        *keep_second = n_second;
        return;
    }
    /* With a <= b: the short part keeps all it can up to half, the long one
     * the rest; when both exceed half the long one gets the odd token. */
    bool swap = n_first > n_second;
    size_t a = swap ? n_second : n_first, b;
    b = a > budget ? a : (a > budget - a ? a : budget - a);
    if (a + b > budget) {
        a = budget / 2;
        b = a + budget % 2;
    }
    a = a < (swap ? n_second : n_first) ? a : (swap ? n_second : n_first);
    b = b < (swap ? n_first : n_second) ? b : (swap ? n_first : n_second);
    *keep_first = swap ? b : a;
    *keep_second = swap ? a : b;
}

/* A growable id buffer for one text. */
typedef struct idbuf {
    int32_t *ids;
    size_t n, cap;
} idbuf;

static rt5_status encode_text(const rt5_tokenizer *tok, const char *text, size_t len, idbuf *b)
{
    for (;;) {
        rt5_status st = rt5_tokenizer_encode(tok, text, len, b->ids, b->cap, &b->n);
        if (st != RT5_ERR_BUFFER_TOO_SMALL)
            return st;
        size_t cap = b->n + 16;
        int32_t *p = realloc(b->ids, cap * sizeof *p);
        if (!p)
            return RT5_ERR_OUT_OF_MEMORY;
        b->ids = p;
        b->cap = cap;
    }
}

/* Copies the kept part of src (from the end when left) into dst. */
static int32_t *take(int32_t *dst, const idbuf *src, size_t keep, bool left)
{
    if (keep) /* an empty text has no buffer at all */
        memcpy(dst, src->ids + (left ? src->n - keep : 0), keep * sizeof *dst);
    return dst + keep;
}

/* The explicit path: query encoded once, each document on its own. */
typedef struct composer {
    const rt5_tokenizer *tok;
    const rt5__rerank_request *req;
    size_t budget; /* max_length minus the two </s> */
    idbuf query, doc;
} composer;

static rt5_status compose_pair(composer *c, size_t i, int32_t *out, size_t *n_out, size_t *n_cut)
{
    rt5_status st = encode_text(c->tok, c->req->docs[i], c->req->doc_lens[i], &c->doc);
    if (st != RT5_OK)
        return st;
    size_t n_doc = c->doc.n;
    bool left = c->req->truncate_left;
    if (c->req->max_tokens_per_doc && n_doc > c->req->max_tokens_per_doc)
        n_doc = c->req->max_tokens_per_doc;
    size_t keep_q, keep_d;
    rt5__pairs_split(c->query.n, n_doc, c->budget, &keep_q, &keep_d);
    if (!c->req->truncate && (keep_q < c->query.n || keep_d < n_doc))
        return RT5_ERR_TOO_LONG;
    idbuf capped = c->doc;
    capped.n = n_doc;
    if (left && n_doc < c->doc.n)
        capped.ids = c->doc.ids + (c->doc.n - n_doc);
    int32_t *p = take(out, &c->query, keep_q, left);
    *p++ = T5_EOS_ID;
    p = take(p, &capped, keep_d, left);
    *p++ = T5_EOS_ID;
    *n_out = (size_t)(p - out);
    *n_cut = c->query.n + c->doc.n - keep_q - keep_d;
    return RT5_OK;
}

static int pair_error(rt5__api_error *err, const rt5__rerank_request *req, size_t i, rt5_status st,
                      int32_t max_length)
{
    const char *field = req->api == RT5__API_TEI ? "texts" : "documents";
    err->http_status = st == RT5_ERR_OUT_OF_MEMORY ? 500 : 422;
    if (st == RT5_ERR_TOO_LONG)
        snprintf(err->message, sizeof err->message,
                 "\"%s[%zu]\" with the query is longer than %d tokens and truncation is off", field,
                 i, (int)max_length);
    else
        snprintf(err->message, sizeof err->message, "\"%s[%zu]\" could not be tokenized: %s", field, i,
                 rt5_status_str(st));
    return err->http_status;
}

static int encode_all(const rt5_tokenizer *tok, const rt5__rerank_request *req, int32_t max_length,
                      rt5__pairs *out, size_t *lens, rt5__api_error *err)
{
    bool explicit_path = req->truncate_left || req->max_tokens_per_doc;
    composer c = {tok, req, (size_t)max_length - 2, {0}, {0}};
    rt5_pair_params pp = rt5_pair_default_params();
    pp.max_length = max_length;
    pp.truncation = req->truncate ? RT5_TRUNCATE_LONGEST_FIRST : RT5_TRUNCATE_NONE;
    rt5_status st = explicit_path ? encode_text(tok, req->query, req->query_len, &c.query) : RT5_OK;
    int status = 0;
    for (size_t i = 0; i < req->n_docs && st == RT5_OK; i++) {
        int32_t *dst = out->ids + i * (size_t)max_length;
        size_t n = 0, cut = 0;
        if (explicit_path)
            st = compose_pair(&c, i, dst, &n, &cut);
        else
            st = rt5_tokenizer_encode_pair(tok, &pp, req->query, req->query_len, req->docs[i],
                                           req->doc_lens[i], dst, (size_t)max_length, &n, &cut);
        if (st == RT5_OK && (n == 0 || n > (size_t)max_length))
            st = RT5_ERR_INTERNAL;
        if (st != RT5_OK) {
            status = pair_error(err, req, i, st, max_length);
            break;
        }
        lens[i] = n;
        out->total_tokens += n;
        out->truncated_docs += cut > 0;
        out->truncated_tokens += cut;
    }
    if (explicit_path && st != RT5_OK && !status)
        status = pair_error(err, req, 0, st, max_length);
    free(c.query.ids);
    free(c.doc.ids);
    return status;
}

/* Packs the fixed-stride rows back to back so a request holds only the
 * tokens it has. */
static void pack(rt5__pairs *out, const size_t *lens, int32_t max_length)
{
    size_t off = 0;
    for (size_t i = 0; i < out->n; i++) {
        memmove(out->ids + off, out->ids + i * (size_t)max_length, lens[i] * sizeof *out->ids);
        out->seqs[i].n_ids = lens[i];
        off += lens[i];
    }
    int32_t *shrunk = realloc(out->ids, (off ? off : 1) * sizeof *out->ids);
    if (shrunk)
        out->ids = shrunk;
    off = 0;
    for (size_t i = 0; i < out->n; i++) {
        out->seqs[i].ids = out->ids + off;
        off += lens[i];
    }
}

int rt5__pairs_encode(const rt5_tokenizer *tok, const rt5__rerank_request *req, int32_t max_length,
                      rt5__pairs *out, rt5__api_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_length < 4) {
        err->http_status = 500;
        snprintf(err->message, sizeof err->message, "server max_length %d is too small", (int)max_length);
        return 500;
    }
    size_t cells;
    if (__builtin_mul_overflow(req->n_docs, (size_t)max_length, &cells))
        cells = SIZE_MAX;
    size_t *lens = calloc(req->n_docs ? req->n_docs : 1, sizeof *lens);
    out->seqs = calloc(req->n_docs ? req->n_docs : 1, sizeof *out->seqs);
    out->ids = cells < SIZE_MAX / sizeof(int32_t) ? malloc((cells ? cells : 1) * sizeof(int32_t)) : NULL;
    if (!lens || !out->seqs || !out->ids) {
        free(lens);
        rt5__pairs_free(out);
        err->http_status = 500;
        snprintf(err->message, sizeof err->message, "out of memory encoding %zu documents", req->n_docs);
        return 500;
    }
    out->n = req->n_docs;
    int status = encode_all(tok, req, max_length, out, lens, err);
    if (!status)
        pack(out, lens, max_length);
    free(lens);
    if (status)
        rt5__pairs_free(out);
    return status;
}

void rt5__pairs_free(rt5__pairs *p)
{
    if (!p)
        return;
    free(p->ids);
    free(p->seqs);
    memset(p, 0, sizeof *p);
}
