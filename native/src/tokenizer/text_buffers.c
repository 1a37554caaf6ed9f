/*
 * text_buffers.c -- the growable strings and token lists one encode call
 * works in, and the UTF-8 decoding rules the two tokenizer families use.
 *
 * Every byte of a working string carries the offset of the original input
 * byte it came from, so a token can be traced back to the text (the text
 * template's truncation needs to know which tokens belong to the document).
 *
 * The Unicode work (decoding, White_Space, extended grapheme clusters) is
 * utf8proc's.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer/tokenizer_internal.h"

bool rt5__tstr_reserve(rt5__tstr *s, size_t extra)
{
    size_t need;
    if (!rt5__add_size(s->len, extra, &need))
        return false;
    if (need <= s->cap)
        return true;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    size_t orig_bytes;
    if (!rt5__mul_size(cap, sizeof(uint32_t), &orig_bytes))
        return false;
    char *bytes = realloc(s->bytes, cap);
    if (!bytes)
        return false;
    s->bytes = bytes;
    uint32_t *orig = realloc(s->orig, orig_bytes);
    if (!orig)
        return false;
    s->orig = orig;
    s->cap = cap;
    return true;
}

bool rt5__tstr_append(rt5__tstr *s, const char *bytes, size_t n, uint32_t orig)
{
    if (n == 0)
        return true;
    if (!rt5__tstr_reserve(s, n))
        return false;
    memcpy(s->bytes + s->len, bytes, n);
    for (size_t i = 0; i < n; i++)
        s->orig[s->len + i] = orig;
    s->len += n;
    return true;
}

void rt5__tstr_free(rt5__tstr *s)
{
    free(s->bytes);
    free(s->orig);
    memset(s, 0, sizeof *s);
}

bool rt5__toklist_push(rt5__toklist *l, int32_t id, uint32_t orig)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(rt5__token))
            return false;
        rt5__token *items = realloc(l->items, cap * sizeof(rt5__token));
        if (!items)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = (rt5__token){id, orig, orig};
    return true;
}

bool rt5__spanlist_push(rt5__spanlist *l, size_t begin, size_t end, uint32_t orig_shift)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        if (cap > SIZE_MAX / sizeof(rt5__span))
            return false;
        rt5__span *items = realloc(l->items, cap * sizeof(rt5__span));
        if (!items)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = (rt5__span){begin, end, orig_shift};
    return true;
}

void rt5__tok_scratch_free(rt5__tok_scratch *s)
{
    rt5__tstr_free(&s->input);
    rt5__tstr_free(&s->norm);
    rt5__tstr_free(&s->tmp);
    rt5__tstr_free(&s->pre);
    free(s->spans[0].items);
    free(s->spans[1].items);
    free(s->best);
    free(s->out.items);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------- Unicode (utf8proc) */

uint32_t rt5__utf8_decode_spm(const char *s, size_t n, size_t *mblen)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)RT5_MIN(n, 4), &cp);
    if (len <= 0) { /* overlong, surrogate, truncated, out of range */
        *mblen = 1;
        return 0xFFFD;
    }
    *mblen = (size_t)len;
    return (uint32_t)cp;
}

uint32_t rt5__utf8_decode(const char *s, size_t n, size_t *mblen)
{
    uint32_t cp = rt5__utf8_decode_spm(s, n, mblen);
    return cp == 0xFFFD && *mblen == 1 ? (unsigned char)s[0] : cp;
}

bool rt5__is_unicode_space(uint32_t c)
{
    if (c < 0x80)
        return (c >= 0x09 && c <= 0x0D) || c == 0x20;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return c == 0x85 || cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

size_t rt5__grapheme_next(const char *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    if (n == 0)
        return 0;
    /* ASCII followed by ASCII: a boundary unless it is CR LF. */
    if (b[0] < 0x80 && (n == 1 || b[1] < 0x80) && !(b[0] == '\r' && n > 1 && b[1] == '\n'))
        return 1;
    size_t len;
    utf8proc_int32_t prev = (utf8proc_int32_t)rt5__utf8_decode(s, n, &len), state = 0;
    size_t pos = len;
    while (pos < n) {
        utf8proc_int32_t next = (utf8proc_int32_t)rt5__utf8_decode(s + pos, n - pos, &len);
        if (utf8proc_grapheme_break_stateful(prev, next, &state))
            break;
        prev = next;
        pos += len;
    }
    return pos;
}
