/*
 * charsmap.c -- sentencepiece's precompiled normalization map and the two
 * ways the T5 tokenizers apply it.
 *
 * The blob (NormalizerSpec.precompiled_charsmap, and the base64 text of a
 * tokenizer.json Precompiled normalizer) is:
 *   uint32 little-endian  T = byte size of the trie
 *   T bytes               darts-clone double array, 32-bit units
 *   rest                  replacement strings, each NUL-terminated
 * A trie value is the offset of a replacement string in `rest`.
 *
 * sentencepiece normalizes the whole text greedily with the LONGEST rule
 * matching at each position. Hugging Face's Precompiled normalizer walks
 * extended grapheme clusters and, for a cluster under 6 bytes, applies the
 * SHORTEST rule that matches its start, dropping the rest of the cluster;
 * other clusters go code point by code point. Both are reproduced here, bug
 * for bug, because the ids of the model depend on them.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* darts-clone unit fields. */
static inline uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static inline bool unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static inline uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFFu); }

static rt5__charsmap_match make_match(const rt5__charsmap *map, size_t key_len, uint32_t value);

/* Fills map->ascii and map->ascii_continues by walking the trie once per
 * ASCII byte: a child with label d of the node reached by c (the test the
 * search itself makes) means a longer key may start with c. */
static void build_ascii_tables(rt5__charsmap *map)
{
    size_t root = unit_offset(map->units[0]);
    for (unsigned c = 1; c < 128; c++) {
        size_t pos = root ^ c;
        if (pos >= map->n_units || unit_label(map->units[pos]) != c)
            continue;
        uint32_t u = map->units[pos];
        pos ^= unit_offset(u);
        if (unit_has_leaf(u) && pos < map->n_units)
            map->ascii[c] = make_match(map, 1, unit_value(map->units[pos]));
        for (unsigned d = 0; d < 256; d++) {
            size_t child = pos ^ d;
            if (child < map->n_units && unit_label(map->units[child]) == d) {
                map->ascii_continues[c] = true;
                map->ascii_then_ascii[c] |= d < 0x80;
            }
        }
    }
}

rt5_status rt5__charsmap_parse(rt5__charsmap *map, const uint8_t *blob, size_t len,
                               rt5__errmsg *err)
{
    memset(map, 0, sizeof *map);
    if (len == 0)
        return RT5_OK; /* no rules: identity normalization */
    if (len < 4)
        return rt5__fail(err, RT5_ERR_FORMAT, "precompiled charsmap truncated (%zu bytes)", len);
    uint32_t trie_bytes = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                          (uint32_t)blob[3] << 24;
    if (trie_bytes % 4 != 0 || trie_bytes >= len - 4 + 1 || trie_bytes == 0)
        return rt5__fail(err, RT5_ERR_FORMAT,
                         "precompiled charsmap: trie size %u does not fit the %zu-byte blob",
                         trie_bytes, len);
    map->n_units = trie_bytes / 4;
    map->strings_len = len - 4 - trie_bytes;
    map->units = malloc(trie_bytes);
    map->strings = malloc(map->strings_len + 1);
    if (!map->units || !map->strings) {
        rt5__charsmap_free(map);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory for the charsmap");
    }
    for (size_t i = 0; i < map->n_units; i++) {
        const uint8_t *p = blob + 4 + 4 * i;
        map->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24;
    }
    memcpy(map->strings, blob + 4 + trie_bytes, map->strings_len);
    map->strings[map->strings_len] = 0; /* every lookup ends inside the copy */
    build_ascii_tables(map);
    return RT5_OK;
}

void rt5__charsmap_free(rt5__charsmap *map)
{
    free(map->units);
    free(map->strings);
    memset(map, 0, sizeof *map);
}

static rt5__charsmap_match make_match(const rt5__charsmap *map, size_t key_len, uint32_t value)
{
    rt5__charsmap_match m = {0, NULL, 0};
    if (value > map->strings_len)
        return m; /* a rule pointing outside the strings: treated as no rule */
    m.key_len = key_len;
    m.repl = map->strings + value;
    m.repl_len = strlen(m.repl);
    return m;
}

/* One byte down the double-array trie from *pos: -1 if no key continues
 * with c, 1 if a key ends here (its value in *value), else 0. */
static inline int trie_step(const rt5__charsmap *map, size_t *pos, unsigned char c, uint32_t *value)
{
    *pos ^= c;
    if (*pos >= map->n_units)
        return -1;
    uint32_t u = map->units[*pos];
    if (unit_label(u) != c)
        return -1;
    *pos ^= unit_offset(u);
    if (!unit_has_leaf(u))
        return 0;
    if (*pos >= map->n_units)
        return -1;
    *value = unit_value(map->units[*pos]);
    return 1;
}

/* darts-clone's commonPrefixSearch with an explicit key length (so a NUL
 * byte is an ordinary label), keeping sentencepiece's 32-result buffer. */
rt5__charsmap_match rt5__charsmap_longest(const rt5__charsmap *map, const char *s, size_t n)
{
    rt5__charsmap_match none = {0, NULL, 0};
    unsigned char c0 = n ? (unsigned char)s[0] : 0;
    if (c0 > 0 && c0 < 0x80 &&
        (!map->ascii_continues[c0] ||
         (!map->ascii_then_ascii[c0] && (n == 1 || (unsigned char)s[1] < 0x80))))
        return map->ascii[c0]; /* no longer key can match: the one-byte rule or none */
    if (map->n_units == 0)
        return none;
    size_t best_len = 0, n_results = 0;
    uint32_t best_value = 0, value = 0;
    size_t pos = unit_offset(map->units[0]);
    for (size_t i = 0; i < n; i++) {
        int r = trie_step(map, &pos, (unsigned char)s[i], &value);
        if (r < 0)
            break;
        if (r > 0 && n_results++ < 32) {
            best_len = i + 1;
            best_value = value;
        }
    }
    return best_len ? make_match(map, best_len, best_value) : none;
}

/* spm_precompiled's common_prefix_search: stops at a NUL byte; the caller
 * takes the first (shortest) result. */
rt5__charsmap_match rt5__charsmap_shortest(const rt5__charsmap *map, const char *s, size_t n)
{
    rt5__charsmap_match none = {0, NULL, 0};
    unsigned char c0 = n ? (unsigned char)s[0] : 0;
    if (c0 > 0 && c0 < 0x80 && (map->ascii[c0].key_len || !map->ascii_continues[c0]))
        return map->ascii[c0]; /* the one-byte rule is the shortest */
    if (map->n_units == 0)
        return none;
    size_t pos = unit_offset(map->units[0]);
    uint32_t value = 0;
    for (size_t i = 0; i < n && s[i] != 0; i++) {
        int r = trie_step(map, &pos, (unsigned char)s[i], &value);
        if (r < 0)
            break;
        if (r > 0)
            return make_match(map, i + 1, value);
    }
    return none;
}

/* ------------------------------------------------------ sentencepiece */

typedef struct spm_prefix {
    const char *s;   /* normalized bytes of the prefix */
    size_t n;
    size_t consumed; /* input bytes it stands for      */
} spm_prefix;

/* Normalizer::NormalizePrefix: a rule, else one valid code point, else one
 * invalid byte that becomes U+FFFD. */
static spm_prefix spm_normalize_prefix(const rt5_tokenizer *tok, const char *s, size_t n)
{
    rt5__charsmap_match m = rt5__charsmap_longest(&tok->charsmap, s, n);
    if (m.key_len)
        return (spm_prefix){m.repl, m.repl_len, m.key_len};
    size_t mblen;
    uint32_t cp = rt5__utf8_decode_spm(s, n, &mblen);
    if (cp == 0xFFFD && mblen != 3)
        return (spm_prefix){"\xEF\xBF\xBD", 3, 1};
    return (spm_prefix){s, mblen, mblen};
}

static bool ends_with(const rt5__tstr *out, size_t start, const char *suffix, size_t n)
{
    return out->len - start >= n && memcmp(out->bytes + out->len - n, suffix, n) == 0;
}

static bool spm_add_space(const rt5_tokenizer *tok, rt5__tstr *out, uint32_t orig)
{
    return tok->escape_whitespaces ? rt5__tstr_append(out, "\xE2\x96\x81", 3, orig)
                                   : rt5__tstr_append(out, " ", 1, orig);
}

/* Appends one normalized prefix, escaping spaces; updates *is_prev_space. */
static bool spm_emit(const rt5_tokenizer *tok, spm_prefix p, uint32_t orig, bool *is_prev_space,
                     rt5__tstr *out)
{
    const char *sp = p.s;
    size_t n = p.n;
    while (*is_prev_space && n > 0 && sp[0] == ' ') {
        sp++;
        n--;
    }
    if (n == 0)
        return true;
    if (!rt5__tstr_reserve(out, 3 * n))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (tok->escape_whitespaces && sp[i] == ' ') {
            memcpy(out->bytes + out->len, "\xE2\x96\x81", 3);
            out->orig[out->len] = out->orig[out->len + 1] = out->orig[out->len + 2] = orig;
            out->len += 3;
        } else {
            out->bytes[out->len] = sp[i];
            out->orig[out->len++] = orig;
        }
    }
    *is_prev_space = sp[n - 1] == ' ';
    return true;
}

/* sentencepiece's Normalizer::Normalize (0.1.9x), appending to out. */
bool rt5__spm_normalize(const rt5_tokenizer *tok, const char *text, size_t len, uint32_t orig_base,
                        rt5__tstr *out)
{
    const size_t start = out->len;
    size_t pos = 0;
    if (tok->remove_extra_whitespaces) { /* leading whitespace */
        while (pos < len) {
            spm_prefix p = spm_normalize_prefix(tok, text + pos, len - pos);
            if (!(p.n == 1 && p.s[0] == ' '))
                break;
            pos += p.consumed;
        }
    }
    if (pos >= len)
        return true;
    if (!tok->treat_whitespace_as_suffix && tok->add_dummy_prefix &&
        !spm_add_space(tok, out, orig_base + (uint32_t)pos))
        return false;
    bool is_prev_space = tok->remove_extra_whitespaces;
    while (pos < len) {
        spm_prefix p = spm_normalize_prefix(tok, text + pos, len - pos);
        if (!spm_emit(tok, p, orig_base + (uint32_t)pos, &is_prev_space, out))
            return false;
        pos += p.consumed;
        if (!tok->remove_extra_whitespaces)
            is_prev_space = false;
    }
    if (tok->remove_extra_whitespaces) { /* trailing whitespace */
        const char *space = tok->escape_whitespaces ? "\xE2\x96\x81" : " ";
        size_t n = strlen(space);
        while (ends_with(out, start, space, n))
            out->len -= n;
    }
    if (tok->treat_whitespace_as_suffix && tok->add_dummy_prefix &&
        !spm_add_space(tok, out, orig_base + (uint32_t)len))
        return false;
    return true;
}

/* ------------------------------------------------------ Hugging Face */

/* tokenizers' Precompiled::normalize over a valid UTF-8 string. */
bool rt5__hf_precompiled(const rt5__charsmap *map, const rt5__tstr *in, rt5__tstr *out)
{
    out->len = 0;
    size_t pos = 0;
    while (pos < in->len) {
        /* A run of plain ASCII, each byte its own cluster (the next byte is
         * ASCII too, and CR is left to the cluster rules), is copied as is. */
        size_t run = pos;
        while (run < in->len && rt5__charsmap_ascii_plain(map, (unsigned char)in->bytes[run]) &&
               in->bytes[run] != '\r' &&
               (run + 1 == in->len || (unsigned char)in->bytes[run + 1] < 0x80))
            run++;
        if (run > pos) {
            if (!rt5__tstr_reserve(out, run - pos))
                return false;
            memcpy(out->bytes + out->len, in->bytes + pos, run - pos);
            memcpy(out->orig + out->len, in->orig + pos, (run - pos) * sizeof *out->orig);
            out->len += run - pos;
            pos = run;
            continue;
        }
        size_t g = rt5__grapheme_next(in->bytes + pos, in->len - pos);
        if (g < 6) {
            rt5__charsmap_match m = rt5__charsmap_shortest(map, in->bytes + pos, g);
            if (m.key_len) {
                if (!rt5__tstr_append(out, m.repl, m.repl_len, in->orig[pos]))
                    return false;
                pos += g;
                continue;
            }
        }
        for (size_t end = pos + g; pos < end;) {
            size_t clen;
            rt5__utf8_decode(in->bytes + pos, end - pos, &clen);
            rt5__charsmap_match m = rt5__charsmap_shortest(map, in->bytes + pos, clen);
            bool ok = m.key_len ? rt5__tstr_append(out, m.repl, m.repl_len, in->orig[pos])
                                : rt5__tstr_append(out, in->bytes + pos, clen, in->orig[pos]);
            if (!ok)
                return false;
            pos += clen;
        }
    }
    return true;
}
