/*
 * hf_json.c -- reads a Hugging Face tokenizer.json for a Unigram (T5)
 * tokenizer and runs its pipeline exactly as the `tokenizers` library does.
 *
 * Supported pieces (what T5 files use, old and new):
 *   model          Unigram (with or without the "type" key of 2020 files)
 *   normalizer     Precompiled, Strip, Replace (a literal, or a regex that
 *                  is one character repeated: "X{n,}", "X+"), Sequence
 *   pre_tokenizer  WhitespaceSplit, Metaspace (add_prefix_space or
 *                  prepend_scheme, split), Sequence
 *   added_tokens   matched on the raw text, leftmost-longest, before
 *                  normalization (normalized=false, no strip options)
 * Anything else is RT5_ERR_UNSUPPORTED with the component's name, never a
 * silent approximation.
 *
 * Encoding order: split the raw text around added tokens; normalize each
 * other segment; pre-tokenize it into spans; run the Viterbi on each span.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* ------------------------------------------------------------- base64 */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with '=' padding; false on any other character. */
static bool b64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        return false;
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < n && in[i] != '='; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            free(buf);
            return false;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (uint8_t)(acc >> bits);
        }
    }
    for (; i < n; i++) {
        if (in[i] != '=') {
            free(buf);
            return false;
        }
    }
    *out = buf;
    *out_len = len;
    return true;
}

/* --------------------------------------------------------- components */

static const char *type_of(json_t *obj)
{
    json_t *t = json_object_get(obj, "type");
    return json_is_string(t) ? json_string_value(t) : "";
}

static bool get_bool(json_t *obj, const char *key, bool fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

static rt5_status load_precompiled(rt5_tokenizer *tok, json_t *norm, rt5__hf_normalizer *out)
{
    json_t *map = json_object_get(norm, "precompiled_charsmap");
    if (!json_is_string(map))
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "Precompiled: no precompiled_charsmap string");
    if (tok->charsmap.units)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "two Precompiled normalizers");
    uint8_t *blob;
    size_t len;
    if (!b64_decode(json_string_value(map), json_string_length(map), &blob, &len))
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "Precompiled: charsmap is not base64");
    rt5_status st = rt5__charsmap_parse(&tok->charsmap, blob, len, &tok->err);
    free(blob);
    out->kind = RT5__HF_NORM_PRECOMPILED;
    return st;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Accepts a regex that is one literal character repeated: "X{n,}" or "X+". */
static bool parse_repeat_regex(const char *re, rt5__hf_normalizer *out)
{
    size_t clen;
    size_t n = strlen(re);
    if (n == 0 || strchr(".[]()\\|*?^$", re[0]))
        return false;
    rt5__utf8_decode(re, n, &clen);
    const char *rest = re + clen;
    if (strcmp(rest, "+") == 0) {
        out->repeat_min = 1;
    } else {
        unsigned long m;
        char tail[4] = {0};
        if (sscanf(rest, "{%lu,%3s", &m, tail) != 2 || strcmp(tail, "}") != 0 || m == 0 ||
            m > 1000)
            return false;
        out->repeat_min = (uint32_t)m;
    }
    out->is_repeat = true;
    out->pattern = dup_bytes(re, clen);
    out->pattern_len = clen;
    return true;
}

static rt5_status load_replace(rt5_tokenizer *tok, json_t *norm, rt5__hf_normalizer *out)
{
    out->kind = RT5__HF_NORM_REPLACE;
    json_t *pattern = json_object_get(norm, "pattern");
    json_t *content = json_object_get(norm, "content");
    json_t *lit = json_object_get(pattern, "String");
    json_t *re = json_object_get(pattern, "Regex");
    if (!json_is_string(content) || (!json_is_string(lit) && !json_is_string(re)))
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "Replace: needs pattern and content");
    if (json_is_string(lit)) {
        if (json_string_length(lit) == 0)
            return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "Replace: empty pattern");
        out->pattern = dup_bytes(json_string_value(lit), json_string_length(lit));
        out->pattern_len = json_string_length(lit);
    } else if (!parse_repeat_regex(json_string_value(re), out)) {
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED,
                         "Replace: regex \"%s\" is not supported (only \"X{n,}\" and \"X+\")",
                         json_string_value(re));
    }
    out->content = dup_bytes(json_string_value(content), json_string_length(content));
    out->content_len = json_string_length(content);
    if (!out->pattern || !out->content)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    return RT5_OK;
}

typedef rt5_status (*step_loader)(rt5_tokenizer *tok, json_t *step, int depth);

/* A "Sequence" step: loads each item of list in order, one level deeper. */
static rt5_status load_sequence(rt5_tokenizer *tok, json_t *list, int depth, step_loader load)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        rt5_status st = load(tok, item, depth + 1);
        if (st != RT5_OK)
            return st;
    }
    return RT5_OK;
}

static rt5_status load_normalizer(rt5_tokenizer *tok, json_t *norm, int depth)
{
    if (json_is_null(norm) || !norm)
        return RT5_OK;
    const char *type = type_of(norm);
    if (strcmp(type, "Sequence") == 0 && depth < 4)
        return load_sequence(tok, json_object_get(norm, "normalizers"), depth, load_normalizer);
    if (tok->hf.n_norms >= RT5__HF_MAX_STEPS)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "more than %d normalizers",
                         RT5__HF_MAX_STEPS);
    rt5__hf_normalizer *out = &tok->hf.norms[tok->hf.n_norms++];
    memset(out, 0, sizeof *out);
    if (strcmp(type, "Precompiled") == 0)
        return load_precompiled(tok, norm, out);
    if (strcmp(type, "Replace") == 0)
        return load_replace(tok, norm, out);
    if (strcmp(type, "Strip") == 0) {
        out->kind = RT5__HF_NORM_STRIP;
        out->strip_left = get_bool(norm, "strip_left", true);
        out->strip_right = get_bool(norm, "strip_right", true);
        return RT5_OK;
    }
    tok->hf.n_norms--;
    return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "normalizer \"%s\" is not supported", type);
}

static rt5_status load_metaspace(rt5_tokenizer *tok, json_t *pre, rt5__hf_pretok *out)
{
    json_t *rep = json_object_get(pre, "replacement");
    const char *r = json_is_string(rep) ? json_string_value(rep) : "\xE2\x96\x81";
    size_t rl = strlen(r), clen;
    if (rl == 0 || rl > 4 || (rt5__utf8_decode(r, rl, &clen), clen != rl))
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "Metaspace: replacement must be one character");
    out->kind = RT5__HF_PRE_METASPACE;
    memcpy(out->replacement, r, rl);
    out->replacement_len = rl;
    out->prepend = get_bool(pre, "add_prefix_space", true) ? RT5__PREPEND_ALWAYS : RT5__PREPEND_NEVER;
    json_t *scheme = json_object_get(pre, "prepend_scheme");
    if (json_is_string(scheme)) {
        const char *s = json_string_value(scheme);
        if (strcmp(s, "always") == 0)
            out->prepend = RT5__PREPEND_ALWAYS;
        else if (strcmp(s, "first") == 0)
            out->prepend = RT5__PREPEND_FIRST;
        else if (strcmp(s, "never") == 0)
            out->prepend = RT5__PREPEND_NEVER;
        else
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "Metaspace: prepend_scheme \"%s\"", s);
    }
    out->split = get_bool(pre, "split", true);
    return RT5_OK;
}

static rt5_status load_pretokenizer(rt5_tokenizer *tok, json_t *pre, int depth)
{
    if (json_is_null(pre) || !pre)
        return RT5_OK;
    const char *type = type_of(pre);
    if (strcmp(type, "Sequence") == 0 && depth < 4)
        return load_sequence(tok, json_object_get(pre, "pretokenizers"), depth, load_pretokenizer);
    if (tok->hf.n_pretoks >= RT5__HF_MAX_STEPS)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "more than %d pre-tokenizers",
                         RT5__HF_MAX_STEPS);
    rt5__hf_pretok *out = &tok->hf.pretoks[tok->hf.n_pretoks++];
    memset(out, 0, sizeof *out);
    if (strcmp(type, "WhitespaceSplit") == 0) {
        out->kind = RT5__HF_PRE_WHITESPACE_SPLIT;
        return RT5_OK;
    }
    if (strcmp(type, "Metaspace") == 0)
        return load_metaspace(tok, pre, out);
    tok->hf.n_pretoks--;
    return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "pre_tokenizer \"%s\" is not supported", type);
}

/* --------------------------------------------------------- vocabulary */

static rt5_status load_vocab(rt5_tokenizer *tok, json_t *model)
{
    const char *type = type_of(model);
    if (*type && strcmp(type, "Unigram") != 0)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "model type \"%s\": only Unigram", type);
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_array(vocab) || json_array_size(vocab) == 0)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "model.vocab: not a Unigram vocabulary");
    if (get_bool(model, "byte_fallback", false))
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "byte_fallback is not supported");
    size_t n = json_array_size(vocab), bytes = 0;
    if (n > RT5__TOK_MAX_PIECES)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "model.vocab: %zu entries", n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *p = json_array_get(e, 0), *sc = json_array_get(e, 1);
        if (!json_is_string(p) || !json_is_number(sc) || json_string_length(p) > RT5__TOK_MAX_PIECE_LEN)
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "model.vocab[%zu]: not [piece, score]", i);
        bytes += json_string_length(p);
    }
    tok->piece_bytes = malloc(bytes + 1);
    tok->piece_off = calloc(n + 1, sizeof *tok->piece_off);
    tok->score_d = calloc(n, sizeof *tok->score_d);
    if (!tok->piece_bytes || !tok->piece_off || !tok->score_d)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory for the vocabulary");
    size_t used = 0;
    tok->min_score_d = INFINITY;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *p = json_array_get(e, 0);
        memcpy(tok->piece_bytes + used, json_string_value(p), json_string_length(p));
        used += json_string_length(p);
        tok->piece_off[i + 1] = (uint32_t)used;
        tok->score_d[i] = json_number_value(json_array_get(e, 1));
        if (tok->score_d[i] < tok->min_score_d)
            tok->min_score_d = tok->score_d[i];
    }
    tok->n_pieces = (int32_t)n;
    json_t *unk = json_object_get(model, "unk_id");
    if (!json_is_integer(unk) || json_integer_value(unk) < 0 || json_integer_value(unk) >= (json_int_t)n)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "model.unk_id must be a vocabulary id");
    tok->unk_id = (int32_t)json_integer_value(unk);
    return RT5_OK;
}

/* The trie of the whole vocabulary (tokenizers' trie holds every piece). */
static rt5_status build_trie(rt5_tokenizer *tok)
{
    size_t n = (size_t)tok->n_pieces;
    const char **keys = malloc(n * sizeof *keys);
    uint32_t *lens = malloc(n * sizeof *lens);
    int32_t *values = malloc(n * sizeof *values);
    rt5_status st = RT5_ERR_OUT_OF_MEMORY;
    if (keys && lens && values) {
        for (size_t i = 0; i < n; i++) {
            keys[i] = tok->piece_bytes + tok->piece_off[i];
            lens[i] = tok->piece_off[i + 1] - tok->piece_off[i];
            values[i] = (int32_t)i;
        }
        st = rt5__da_build(&tok->trie, keys, lens, values, n, &tok->err);
    } else {
        rt5__fail(&tok->err, st, "out of memory building the vocabulary trie");
    }
    free(keys);
    free(lens);
    free(values);
    return st;
}

/* The id of an exact piece string (the last one if listed twice), or -1. */
static int32_t find_piece(const rt5_tokenizer *tok, const char *s, size_t n)
{
    return rt5__da_lookup(&tok->trie, s, n);
}

static rt5_status load_added_tokens(rt5_tokenizer *tok, json_t *added)
{
    size_t n = json_array_size(added), i;
    json_t *item;
    tok->hf.added = calloc(n ? n : 1, sizeof *tok->hf.added);
    if (!tok->hf.added)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    json_array_foreach(added, i, item)
    {
        json_t *content = json_object_get(item, "content"), *id = json_object_get(item, "id");
        if (!json_is_string(content) || json_string_length(content) == 0 || !json_is_integer(id) ||
            json_integer_value(id) < 0 || json_integer_value(id) >= tok->n_pieces)
            return rt5__fail(&tok->err, RT5_ERR_FORMAT,
                             "added_tokens[%zu]: needs content and an id inside the vocabulary", i);
        if (get_bool(item, "normalized", false) || get_bool(item, "lstrip", false) ||
            get_bool(item, "rstrip", false) || get_bool(item, "single_word", false))
            return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED,
                             "added_tokens[%zu]: normalized/lstrip/rstrip/single_word tokens are not supported",
                             i);
        rt5__added_token *t = &tok->hf.added[tok->hf.n_added++];
        t->len = json_string_length(content);
        t->content = dup_bytes(json_string_value(content), t->len);
        t->id = (int32_t)json_integer_value(id);
        if (!t->content)
            return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
        unsigned char c = (unsigned char)t->content[0];
        tok->hf.added_first_byte[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    return RT5_OK;
}

/* </s> from the post-processor's special tokens, else from the vocabulary. */
static void find_specials(rt5_tokenizer *tok, json_t *root)
{
    json_t *ids = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "post_processor"), "special_tokens"),
                        "</s>"),
        "ids");
    json_t *first = json_array_get(ids, 0);
    tok->eos_id = find_piece(tok, "</s>", 4);
    if (json_is_integer(first) && json_integer_value(first) >= 0 &&
        json_integer_value(first) < tok->n_pieces)
        tok->eos_id = (int32_t)json_integer_value(first);
    tok->pad_id = find_piece(tok, "<pad>", 5);
}

rt5_status rt5__hf_load(rt5_tokenizer *tok, const uint8_t *bytes, size_t n)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)bytes, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "tokenizer.json: line %d column %d: %s",
                         jerr.line, jerr.column, jerr.text);
    rt5_status st = RT5_OK;
    if (!json_is_object(root) || !json_is_object(json_object_get(root, "model")))
        st = rt5__fail(&tok->err, RT5_ERR_FORMAT, "tokenizer.json: no \"model\" object");
    if (st == RT5_OK)
        st = load_vocab(tok, json_object_get(root, "model"));
    if (st == RT5_OK)
        st = build_trie(tok);
    if (st == RT5_OK)
        st = load_normalizer(tok, json_object_get(root, "normalizer"), 0);
    if (st == RT5_OK)
        st = load_pretokenizer(tok, json_object_get(root, "pre_tokenizer"), 0);
    if (st == RT5_OK)
        st = load_added_tokens(tok, json_object_get(root, "added_tokens"));
    if (st == RT5_OK)
        find_specials(tok, root);
    json_decref(root);
    return st;
}
