/*
 * hf_encode.c -- runs a loaded tokenizer.json pipeline on one text, in the
 * order of the `tokenizers` library:
 *   1. bytes that are not valid UTF-8 become U+FFFD, one per byte (the
 *      library only accepts strings; this is sentencepiece's rule);
 *   2. added tokens are split out of the raw text, leftmost-longest;
 *   3. every other segment is normalized, pre-tokenized into spans and each
 *      span goes through the Viterbi search separately.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static bool clean_utf8(const char *text, size_t len, rt5__tstr *out)
{
    out->len = 0;
    if (!rt5__tstr_reserve(out, len))
        return false;
    for (size_t pos = 0; pos < len;) {
        size_t mblen;
        uint32_t cp = rt5__utf8_decode_spm(text + pos, len - pos, &mblen);
        bool ok = (cp == 0xFFFD && mblen != 3)
                      ? rt5__tstr_append(out, "\xEF\xBF\xBD", 3, (uint32_t)pos)
                      : rt5__tstr_reserve(out, mblen);
        if (!ok)
            return false;
        if (!(cp == 0xFFFD && mblen != 3)) {
            for (size_t i = 0; i < mblen; i++) {
                out->bytes[out->len] = text[pos + i];
                out->orig[out->len++] = (uint32_t)(pos + i);
            }
        }
        pos += mblen;
    }
    return true;
}

static void swap_tstr(rt5__tstr *a, rt5__tstr *b)
{
    rt5__tstr t = *a;
    *a = *b;
    *b = t;
}

/* ------------------------------------------------------- normalizers */

static void strip(const rt5__hf_normalizer *n, rt5__tstr *s)
{
    size_t lo = 0, hi = s->len, clen;
    if (s->len == 0)
        return;
    while (n->strip_left && lo < hi && rt5__is_unicode_space(rt5__utf8_decode(s->bytes + lo, hi - lo, &clen)))
        lo += clen;
    while (n->strip_right && hi > lo) {
        size_t start = hi - 1;
        while (start > lo && ((unsigned char)s->bytes[start] & 0xC0) == 0x80)
            start--;
        if (!rt5__is_unicode_space(rt5__utf8_decode(s->bytes + start, hi - start, &clen)))
            break;
        hi = start;
    }
    memmove(s->bytes, s->bytes + lo, hi - lo);
    memmove(s->orig, s->orig + lo, (hi - lo) * sizeof *s->orig);
    s->len = hi - lo;
}

/* Length of a match of n's pattern at s[pos], or 0. */
static size_t match_at(const rt5__hf_normalizer *n, const rt5__tstr *s, size_t pos)
{
    size_t pl = n->pattern_len, count = 0, at = pos;
    if (!n->is_repeat)
        return s->len - pos >= pl && memcmp(s->bytes + pos, n->pattern, pl) == 0 ? pl : 0;
    while (s->len - at >= pl && memcmp(s->bytes + at, n->pattern, pl) == 0) {
        at += pl;
        count++;
    }
    return count >= n->repeat_min ? at - pos : 0;
}

static bool replace(const rt5__hf_normalizer *n, const rt5__tstr *in, rt5__tstr *out)
{
    out->len = 0;
    for (size_t pos = 0; pos < in->len;) {
        size_t m = match_at(n, in, pos);
        bool ok = m ? rt5__tstr_append(out, n->content, n->content_len, in->orig[pos])
                    : rt5__tstr_append(out, in->bytes + pos, 1, in->orig[pos]);
        if (!ok)
            return false;
        pos += m ? m : 1;
    }
    return true;
}

static bool normalize(const rt5_tokenizer *tok, rt5__tok_scratch *s)
{
    for (int i = 0; i < tok->hf.n_norms; i++) {
        const rt5__hf_normalizer *n = &tok->hf.norms[i];
        if (n->kind == RT5__HF_NORM_STRIP) {
            strip(n, &s->norm);
            continue;
        }
        bool ok = n->kind == RT5__HF_NORM_PRECOMPILED ? rt5__hf_precompiled(&tok->charsmap, &s->norm, &s->tmp)
                                                      : replace(n, &s->norm, &s->tmp);
        if (!ok)
            return false;
        swap_tstr(&s->norm, &s->tmp);
    }
    return true;
}

/* ---------------------------------------------------- pre-tokenizers */

static bool whitespace_split(const rt5__tstr *buf, const rt5__spanlist *in, rt5__spanlist *out)
{
    for (size_t k = 0; k < in->len; k++) {
        size_t pos = in->items[k].begin, end = in->items[k].end, word = SIZE_MAX, clen;
        while (pos <= end) {
            bool space = pos == end || rt5__is_unicode_space(rt5__utf8_decode(buf->bytes + pos, end - pos, &clen));
            if (pos == end)
                clen = 1;
            if (space && word != SIZE_MAX) {
                if (!rt5__spanlist_push(out, word, pos, buf->orig[word]))
                    return false;
                word = SIZE_MAX;
            } else if (!space && word == SIZE_MAX) {
                word = pos;
            }
            pos += clen;
        }
    }
    return true;
}

static bool starts_with(const char *s, size_t n, const char *prefix, size_t pn)
{
    return n >= pn && memcmp(s, prefix, pn) == 0;
}

/* Metaspace on one span: spaces become the replacement, the replacement is
 * prepended per the scheme (never to an empty span), then the result is
 * split before each replacement character (MergedWithNext). */
static bool metaspace_span(const rt5__hf_pretok *m, const rt5__tstr *in, rt5__span sp,
                           rt5__tstr *out, rt5__spanlist *spans)
{
    if (sp.end == sp.begin)
        return true;
    const char *rep = m->replacement;
    size_t rl = m->replacement_len, start = out->len;
    bool has_prefix = in->bytes[sp.begin] == ' ' ||
                      starts_with(in->bytes + sp.begin, sp.end - sp.begin, rep, rl);
    bool prepend = !has_prefix && (m->prepend == RT5__PREPEND_ALWAYS ||
                                   (m->prepend == RT5__PREPEND_FIRST && sp.orig_shift == 0));
    if (prepend && !rt5__tstr_append(out, rep, rl, in->orig[sp.begin]))
        return false;
    for (size_t i = sp.begin; i < sp.end; i++) {
        bool ok = in->bytes[i] == ' ' ? rt5__tstr_append(out, rep, rl, in->orig[i])
                                      : rt5__tstr_append(out, in->bytes + i, 1, in->orig[i]);
        if (!ok)
            return false;
    }
    if (!m->split)
        return rt5__spanlist_push(spans, start, out->len, out->orig[start]);
    size_t piece = start;
    for (size_t i = start + 1; i + rl <= out->len; i++) {
        if (out->bytes[i] != rep[0] || memcmp(out->bytes + i, rep, rl) != 0)
            continue;
        if (!rt5__spanlist_push(spans, piece, i, out->orig[piece]))
            return false;
        piece = i;
    }
    return rt5__spanlist_push(spans, piece, out->len, out->orig[piece]);
}

/* Runs the pre-tokenizers over s->norm; returns the buffer the final spans
 * (in s->spans[0]) point into. */
static const rt5__tstr *pretokenize(const rt5_tokenizer *tok, rt5__tok_scratch *s,
                                    uint32_t orig_shift)
{
    const rt5__tstr *cur = &s->norm;
    s->spans[0].len = 0;
    if (!rt5__spanlist_push(&s->spans[0], 0, s->norm.len, orig_shift))
        return NULL;
    for (int i = 0; i < tok->hf.n_pretoks; i++) {
        const rt5__hf_pretok *p = &tok->hf.pretoks[i];
        s->spans[1].len = 0;
        if (p->kind == RT5__HF_PRE_WHITESPACE_SPLIT) {
            if (!whitespace_split(cur, &s->spans[0], &s->spans[1]))
                return NULL;
        } else {
            rt5__tstr *out = cur == &s->pre ? &s->tmp : &s->pre;
            out->len = 0;
            for (size_t k = 0; k < s->spans[0].len; k++)
                if (!metaspace_span(p, cur, s->spans[0].items[k], out, &s->spans[1]))
                    return NULL;
            cur = out;
        }
        rt5__spanlist t = s->spans[0];
        s->spans[0] = s->spans[1];
        s->spans[1] = t;
    }
    return cur;
}

/* ------------------------------------------------------------ driver */

static bool encode_segment(const rt5_tokenizer *tok, rt5__tok_scratch *s, size_t begin, size_t end)
{
    if (begin == end)
        return true;
    s->norm.len = 0;
    if (!rt5__tstr_reserve(&s->norm, end - begin))
        return false;
    memcpy(s->norm.bytes, s->input.bytes + begin, end - begin);
    memcpy(s->norm.orig, s->input.orig + begin, (end - begin) * sizeof *s->norm.orig);
    s->norm.len = end - begin;
    if (!normalize(tok, s))
        return false;
    const rt5__tstr *buf = pretokenize(tok, s, s->input.orig[begin]);
    if (!buf)
        return false;
    for (size_t k = 0; k < s->spans[0].len; k++)
        if (!rt5__unigram_encode(tok, buf, s->spans[0].items[k].begin, s->spans[0].items[k].end, s))
            return false;
    return true;
}

/* The longest added token at pos, or NULL. */
static const rt5__added_token *added_at(const rt5_tokenizer *tok, const rt5__tstr *in, size_t pos)
{
    unsigned char c = (unsigned char)in->bytes[pos];
    if (!(tok->hf.added_first_byte[c >> 3] & (1u << (c & 7))))
        return NULL;
    const rt5__added_token *best = NULL;
    for (size_t i = 0; i < tok->hf.n_added; i++) {
        const rt5__added_token *t = &tok->hf.added[i];
        if (t->len <= in->len - pos && memcmp(in->bytes + pos, t->content, t->len) == 0 &&
            (!best || t->len > best->len))
            best = t;
    }
    return best;
}

bool rt5__hf_encode_text(const rt5_tokenizer *tok, const char *text, size_t len,
                         rt5__tok_scratch *s)
{
    if (!clean_utf8(text, len, &s->input))
        return false;
    size_t seg = 0;
    for (size_t pos = 0; pos < s->input.len;) {
        const rt5__added_token *t = added_at(tok, &s->input, pos);
        if (!t) {
            pos++;
            continue;
        }
        if (!encode_segment(tok, s, seg, pos) || !rt5__toklist_push(&s->out, t->id, s->input.orig[pos]))
            return false;
        s->out.items[s->out.len - 1].orig_last = s->input.orig[pos + t->len - 1];
        pos += t->len;
        seg = pos;
    }
    return encode_segment(tok, s, seg, s->input.len);
}
