/*
 * tokenizer.c -- the public tokenizer API: loading (format detection),
 * single-text encoding, and the (query, document) pair encoding used for
 * scoring, with Hugging Face's truncation rules and the text template.
 *
 * Encoding allocates its scratch per call (rt5__tok_scratch) and never
 * writes to the tokenizer, so one loaded tokenizer serves all threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mapped_file.h"
#include "formats/manifest.h"
#include "tokenizer/sp_bridge.h"
#include "tokenizer/tokenizer_internal.h"

RT5_API rt5_tokenizer_params rt5_tokenizer_default_params(void)
{
    return (rt5_tokenizer_params){RT5_TOKENIZER_AUTO};
}

RT5_API rt5_pair_params rt5_pair_default_params(void)
{
    return (rt5_pair_params){512, RT5_TRUNCATE_LONGEST_FIRST, NULL};
}

/* ------------------------------------------------------------ loading */

static void tokenizer_release(rt5_tokenizer *tok)
{
    free(tok->piece_bytes);
    free(tok->piece_off);
    rt5__sp_free(tok->sp);
    free(tok->score_d);
    rt5__da_free(&tok->trie);
    rt5__charsmap_free(&tok->charsmap);
    for (int i = 0; i < tok->hf.n_norms; i++) {
        free(tok->hf.norms[i].pattern);
        free(tok->hf.norms[i].content);
    }
    for (size_t i = 0; i < tok->hf.n_added; i++)
        free(tok->hf.added[i].content);
    free(tok->hf.added);
}

/* A tokenizer.json starts (after whitespace) with '{'; a ModelProto starts
 * with field 1 (pieces) as length-delimited: byte 0x0A. */
static rt5_tokenizer_kind detect_kind(const uint8_t *bytes, size_t n)
{
    size_t i = 0;
    while (i < n && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r'))
        i++;
    if (i < n && bytes[i] == '{')
        return RT5_TOKENIZER_HF_JSON;
    return RT5_TOKENIZER_SENTENCEPIECE;
}

static rt5_status load_bytes(rt5_tokenizer *tok, const uint8_t *bytes, size_t n,
                             const rt5_tokenizer_params *params)
{
    rt5_tokenizer_kind kind = params ? params->kind : RT5_TOKENIZER_AUTO;
    if (kind != RT5_TOKENIZER_AUTO && kind != RT5_TOKENIZER_SENTENCEPIECE &&
        kind != RT5_TOKENIZER_HF_JSON)
        return rt5__fail(&tok->err, RT5_ERR_INVALID_ARGUMENT, "unknown tokenizer kind %d",
                         (int)kind);
    if (kind == RT5_TOKENIZER_AUTO)
        kind = detect_kind(bytes, n);
    tok->kind = kind;
    rt5_status st = kind == RT5_TOKENIZER_HF_JSON ? rt5__hf_load(tok, bytes, n)
                                                  : rt5__spm_load(tok, bytes, n);
    if (st == RT5_OK && tok->eos_id < 0)
        st = rt5__fail(&tok->err, RT5_ERR_FORMAT, "the vocabulary has no </s> token");
    if (st != RT5_OK) {
        tokenizer_release(tok);
        rt5__errmsg saved = tok->err;
        memset(tok, 0, sizeof *tok);
        tok->err = saved;
        return st;
    }
    tok->loaded = true;
    return RT5_OK;
}

RT5_API rt5_status rt5_tokenizer_load_from_memory(const uint8_t *bytes, size_t n_bytes,
                                                  const rt5_tokenizer_params *params,
                                                  rt5_tokenizer **out)
{
    if (!out)
        return RT5_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return RT5_ERR_OUT_OF_MEMORY;
    if (!bytes && n_bytes)
        return rt5__fail(&(*out)->err, RT5_ERR_INVALID_ARGUMENT, "NULL bytes");
    return load_bytes(*out, bytes ? bytes : (const uint8_t *)"", n_bytes, params);
}

/* A model directory (a Hub snapshot) holds tokenizer.json and/or
 * spiece.model. tokenizer.json wins: it is what the model card's
 * AutoTokenizer loads. Returns a malloc'd path, or NULL when neither exists. */
static char *pick_in_directory(const char *dir)
{
    static const char *names[] = {"tokenizer.json", "spiece.model"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(n);
        if (!p)
            return NULL;
        snprintf(p, n, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            return p;
        free(p);
    }
    return NULL;
}

RT5_API rt5_status rt5_tokenizer_load(const char *path, const rt5_tokenizer_params *params,
                                      rt5_tokenizer **out)
{
    if (!out)
        return RT5_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return RT5_ERR_OUT_OF_MEMORY;
    if (!path)
        return rt5__fail(&(*out)->err, RT5_ERR_INVALID_ARGUMENT, "NULL path");
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
        char *inside = NULL;
        if (rt5__manifest_present(path)) { /* models/<name>/: the file it names */
            rt5__manifest man;
            rt5_status st = rt5__manifest_read(path, &man, &(*out)->err);
            if (st != RT5_OK)
                return st;
            inside = man.tokenizer;
            man.tokenizer = NULL;
            rt5__manifest_free(&man);
        }
        if (!inside)
            inside = pick_in_directory(path);
        if (!inside)
            return rt5__fail(&(*out)->err, RT5_ERR_IO,
                             "%s: directory has neither tokenizer.json nor spiece.model", path);
        rt5_tokenizer_free(*out);
        rt5_status st2 = rt5_tokenizer_load(inside, params, out);
        free(inside);
        return st2;
    }
    rt5__mapped_file file;
    rt5_status st = rt5__mapped_file_open(path, &file, &(*out)->err);
    if (st != RT5_OK)
        return st;
    st = load_bytes(*out, file.data ? file.data : (const uint8_t *)"", file.size, params);
    rt5__mapped_file_close(&file);
    if (st != RT5_OK)
        rt5__errmsg_prefix(&(*out)->err, "%s", path);
    return st;
}

RT5_API void rt5_tokenizer_free(rt5_tokenizer *tok)
{
    if (!tok)
        return;
    tokenizer_release(tok);
    free(tok);
}

RT5_API const char *rt5_tokenizer_last_error(const rt5_tokenizer *tok)
{
    return tok ? tok->err.text : "no tokenizer (out of memory?)";
}

RT5_API int32_t rt5_tokenizer_vocab_size(const rt5_tokenizer *tok)
{
    return tok && tok->loaded ? tok->n_pieces : 0;
}

RT5_API const char *rt5_tokenizer_piece(const rt5_tokenizer *tok, int32_t id, size_t *len)
{
    if (!tok || !tok->loaded || id < 0 || id >= tok->n_pieces)
        return NULL;
    if (len)
        *len = tok->piece_off[id + 1] - tok->piece_off[id];
    return tok->piece_bytes + tok->piece_off[id];
}

/* ----------------------------------------------------------- encoding */

/* Encodes text into s->out (appending). */
static rt5_status encode_into(const rt5_tokenizer *tok, const char *text, size_t len,
                              rt5__tok_scratch *s)
{
    if (len >= UINT32_MAX)
        return RT5_ERR_TOO_LONG;
    if (!text && len)
        return RT5_ERR_INVALID_ARGUMENT;
    if (!text)
        text = "";
    bool ok = tok->kind == RT5_TOKENIZER_HF_JSON ? rt5__hf_encode_text(tok, text, len, s)
                                                 : rt5__spm_encode_text(tok, text, len, s);
    return ok ? RT5_OK : RT5_ERR_OUT_OF_MEMORY;
}

static rt5_status copy_ids(const rt5__token *items, size_t n, int32_t *ids, size_t cap,
                           size_t *n_ids)
{
    if (n_ids)
        *n_ids = n;
    for (size_t i = 0; i < n && i < cap; i++)
        ids[i] = items[i].id;
    return n > cap ? RT5_ERR_BUFFER_TOO_SMALL : RT5_OK;
}

RT5_API rt5_status rt5_tokenizer_encode(const rt5_tokenizer *tok, const char *text, size_t len,
                                        int32_t *ids, size_t cap, size_t *n_ids)
{
    if (!tok || !tok->loaded || (!ids && cap))
        return RT5_ERR_INVALID_ARGUMENT;
    rt5__tok_scratch s = {0};
    rt5_status st = encode_into(tok, text, len, &s);
    if (st == RT5_OK)
        st = copy_ids(s.out.items, s.out.len, ids, cap, n_ids);
    rt5__tok_scratch_free(&s);
    return st;
}

/* tokenizers' truncate_encodings for a pair: new lengths of the two
 * sequences so that n1 + n2 <= budget. */
static rt5_status truncate_pair(rt5_truncation how, size_t budget, size_t *n1, size_t *n2)
{
    if (*n1 + *n2 <= budget)
        return RT5_OK;
    size_t excess = *n1 + *n2 - budget;
    switch (how) {
    case RT5_TRUNCATE_ONLY_SECOND:
        if (*n2 <= excess) /* tokenizers: "sequence to truncate too short" */
            return RT5_ERR_TOO_LONG;
        *n2 -= excess;
        return RT5_OK;
    case RT5_TRUNCATE_ONLY_FIRST:
        if (*n1 <= excess)
            return RT5_ERR_TOO_LONG;
        *n1 -= excess;
        return RT5_OK;
    case RT5_TRUNCATE_LONGEST_FIRST: {
        bool swap = *n1 > *n2;
        size_t a = swap ? *n2 : *n1, b; /* a: the shorter */
        b = a > budget ? a : RT5_MAX(a, budget - a);
        if (a + b > budget) {
            a = budget / 2;
            b = a + budget % 2;
        }
        *n1 = swap ? b : a;
        *n2 = swap ? a : b;
        return RT5_OK;
    }
    default:
        return RT5_ERR_TOO_LONG;
    }
}

/* Removes up to want tokens that cover original bytes in [lo, hi), last
 * first; returns how many it removed. */
static size_t remove_span_tokens(rt5__toklist *l, uint32_t lo, uint32_t hi, size_t want)
{
    /* Mark from the end (id -1), then compact once: linear in the length. */
    size_t removed = 0;
    for (size_t i = l->len; i-- > 0 && removed < want;) {
        if (l->items[i].orig_last < lo || l->items[i].orig >= hi)
            continue;
        l->items[i].id = -1;
        removed++;
    }
    size_t w = 0;
    for (size_t r = 0; r < l->len; r++)
        if (l->items[r].id >= 0)
            l->items[w++] = l->items[r];
    l->len = w;
    return removed;
}

/* Fills the template; q_at and d_at get the offsets of the (first) query
 * and document in the filled text. */
static char *fill_template(const char *tpl, const char *q, size_t ql, const char *d, size_t dl,
                           size_t *len, size_t *q_at, size_t *d_at)
{
    size_t tl = strlen(tpl), cap = tl + 1, n = 0;
    for (const char *p = tpl; (p = strchr(p, '{')) != NULL; p++)
        cap += ql + dl; /* generous: each brace could be a field */
    char *out = malloc(cap);
    if (!out)
        return NULL;
    *q_at = *d_at = SIZE_MAX;
    for (size_t i = 0; i < tl;) {
        if (strncmp(tpl + i, "{query}", 7) == 0) {
            if (*q_at == SIZE_MAX)
                *q_at = n;
            memcpy(out + n, q, ql);
            n += ql;
            i += 7;
        } else if (strncmp(tpl + i, "{document}", 10) == 0) {
            if (*d_at == SIZE_MAX)
                *d_at = n;
            memcpy(out + n, d, dl);
            n += dl;
            i += 10;
        } else {
            out[n++] = tpl[i++];
        }
    }
    *len = n;
    return out;
}

static rt5_status encode_template(const rt5_tokenizer *tok, const rt5_pair_params *p,
                                  const char *q, size_t ql, const char *d, size_t dl,
                                  rt5__tok_scratch *s, size_t *n_truncated)
{
    size_t len, q_at, d_at;
    if (!strstr(p->text_template, "{query}") || !strstr(p->text_template, "{document}"))
        return RT5_ERR_INVALID_ARGUMENT;
    char *text = fill_template(p->text_template, q, ql, d, dl, &len, &q_at, &d_at);
    if (!text)
        return RT5_ERR_OUT_OF_MEMORY;
    rt5_status st = encode_into(tok, text, len, s);
    free(text);
    if (st != RT5_OK)
        return st;
    size_t limit = p->max_length > 0 ? (size_t)p->max_length - 1 : SIZE_MAX;
    if (s->out.len > limit) {
        size_t excess = s->out.len - limit, cut = 0;
        rt5_truncation how = p->truncation;
        if (how == RT5_TRUNCATE_LONGEST_FIRST || how == RT5_TRUNCATE_ONLY_SECOND)
            cut += remove_span_tokens(&s->out, (uint32_t)d_at, (uint32_t)(d_at + dl), excess);
        if (how == RT5_TRUNCATE_LONGEST_FIRST || how == RT5_TRUNCATE_ONLY_FIRST)
            cut += remove_span_tokens(&s->out, (uint32_t)q_at, (uint32_t)(q_at + ql), excess - cut);
        if (cut < excess)
            return RT5_ERR_TOO_LONG;
        *n_truncated = cut;
    }
    return rt5__toklist_push(&s->out, tok->eos_id, 0) ? RT5_OK : RT5_ERR_OUT_OF_MEMORY;
}

static rt5_status encode_hf_pair(const rt5_tokenizer *tok, const rt5_pair_params *p,
                                 const char *q, size_t ql, const char *d, size_t dl,
                                 rt5__tok_scratch *s, size_t *n_truncated)
{
    rt5_status st = encode_into(tok, q, ql, s);
    size_t nq = s->out.len;
    if (st == RT5_OK)
        st = encode_into(tok, d, dl, s);
    if (st != RT5_OK)
        return st;
    size_t nd = s->out.len - nq, keep_q = nq, keep_d = nd;
    if (p->max_length > 0) {
        st = truncate_pair(p->truncation, (size_t)p->max_length - 2, &keep_q, &keep_d);
        if (st != RT5_OK)
            return st;
    }
    *n_truncated = (nq - keep_q) + (nd - keep_d);
    /* Layout: q[0..keep_q) </s> d[0..keep_d) </s>; the push makes room. */
    if (!rt5__toklist_push(&s->out, 0, 0))
        return RT5_ERR_OUT_OF_MEMORY;
    memmove(s->out.items + keep_q + 1, s->out.items + nq, keep_d * sizeof *s->out.items);
    s->out.items[keep_q] = (rt5__token){tok->eos_id, 0, 0};
    s->out.len = keep_q + 1 + keep_d;
    return rt5__toklist_push(&s->out, tok->eos_id, 0) ? RT5_OK : RT5_ERR_OUT_OF_MEMORY;
}

RT5_API rt5_status rt5_tokenizer_encode_pair(const rt5_tokenizer *tok, const rt5_pair_params *params,
                                             const char *query, size_t query_len,
                                             const char *document, size_t document_len,
                                             int32_t *ids, size_t cap, size_t *n_ids,
                                             size_t *n_truncated)
{
    rt5_pair_params p = params ? *params : rt5_pair_default_params();
    if (!tok || !tok->loaded || (!ids && cap) || p.max_length < 0 ||
        (p.max_length > 0 && p.max_length < 2) || (unsigned)p.truncation > RT5_TRUNCATE_NONE)
        return RT5_ERR_INVALID_ARGUMENT;
    if (n_truncated)
        *n_truncated = 0;
    size_t cut = 0;
    rt5__tok_scratch s = {0};
    rt5_status st = p.text_template
                 ? encode_template(tok, &p, query, query_len, document, document_len, &s, &cut)
                 : encode_hf_pair(tok, &p, query, query_len, document, document_len, &s, &cut);
    if (st == RT5_OK) {
        if (n_truncated)
            *n_truncated = cut;
        st = copy_ids(s.out.items, s.out.len, ids, cap, n_ids);
    }
    rt5__tok_scratch_free(&s);
    return st;
}
