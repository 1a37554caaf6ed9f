/*
 * text_buffers.c -- the growable strings and token lists one encode call
 * works in, and the UTF-8 decoding rules the two tokenizer families use.
 *
 * Every byte of a working string carries the offset of the original input
 * byte it came from, so a token can be traced back to the text (the text
 * template's truncation needs to know which tokens belong to the document).
 */
#include <stdlib.h>
#include <string.h>

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

static bool is_trail(unsigned char c) { return (c & 0xC0) == 0x80; }

static bool is_valid_cp(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

/* sentencepiece's string_util::DecodeUTF8: overlong forms, surrogates and
 * truncated sequences are errors that consume one byte. */
uint32_t rt5__utf8_decode_spm(const char *s, size_t n, size_t *mblen)
{
    const unsigned char *b = (const unsigned char *)s;
    *mblen = 1;
    if (b[0] < 0x80)
        return b[0];
    if (n >= 2 && (b[0] & 0xE0) == 0xC0) {
        uint32_t cp = ((uint32_t)(b[0] & 0x1F) << 6) | (b[1] & 0x3F);
        if (is_trail(b[1]) && cp >= 0x80 && is_valid_cp(cp)) {
            *mblen = 2;
            return cp;
        }
    } else if (n >= 3 && (b[0] & 0xF0) == 0xE0) {
        uint32_t cp = ((uint32_t)(b[0] & 0x0F) << 12) | ((uint32_t)(b[1] & 0x3F) << 6) |
                      (b[2] & 0x3F);
        if (is_trail(b[1]) && is_trail(b[2]) && cp >= 0x800 && is_valid_cp(cp)) {
            *mblen = 3;
            return cp;
        }
    } else if (n >= 4 && (b[0] & 0xF8) == 0xF0) {
        uint32_t cp = ((uint32_t)(b[0] & 0x07) << 18) | ((uint32_t)(b[1] & 0x3F) << 12) |
                      ((uint32_t)(b[2] & 0x3F) << 6) | (b[3] & 0x3F);
        if (is_trail(b[1]) && is_trail(b[2]) && is_trail(b[3]) && cp >= 0x10000 &&
            is_valid_cp(cp)) {
            *mblen = 4;
            return cp;
        }
    }
    return 0xFFFD;
}

uint32_t rt5__utf8_decode(const char *s, size_t n, size_t *mblen)
{
    const unsigned char *b = (const unsigned char *)s;
    if (b[0] < 0x80 || n < 2) {
        *mblen = 1;
        return b[0];
    }
    if (b[0] < 0xE0 || n < 3) {
        *mblen = 2;
        return ((uint32_t)(b[0] & 0x1F) << 6) | (b[1] & 0x3F);
    }
    if (b[0] < 0xF0 || n < 4) {
        *mblen = 3;
        return ((uint32_t)(b[0] & 0x0F) << 12) | ((uint32_t)(b[1] & 0x3F) << 6) | (b[2] & 0x3F);
    }
    *mblen = 4;
    return ((uint32_t)(b[0] & 0x07) << 18) | ((uint32_t)(b[1] & 0x3F) << 12) |
           ((uint32_t)(b[2] & 0x3F) << 6) | (b[3] & 0x3F);
}

bool rt5__is_unicode_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}
