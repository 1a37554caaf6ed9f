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
 * libsentencepiece applies the map itself for spiece.model (the LONGEST rule
 * matching at each position) but trusts the blob blindly, so
 * rt5__charsmap_check validates a blob completely before the library gets
 * it. Hugging Face's Precompiled normalizer is not sentencepiece's
 * algorithm: it walks extended grapheme clusters (utf8proc's) and, for a
 * cluster under 6 bytes, applies the SHORTEST rule that matches its start,
 * dropping the rest of the cluster; other clusters go code point by code
 * point. That is reproduced here, bug for bug, because the ids of the model
 * depend on it.
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
static rt5_status split_blob(const uint8_t *blob, size_t len, size_t *n_units, rt5__errmsg *err);

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
    rt5_status st = split_blob(blob, len, &map->n_units, err);
    if (st != RT5_OK)
        return st;
    size_t trie_bytes = 4 * map->n_units;
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

/* ------------------------------------------------------ validation */

/* The bounds of a blob: the trie's units and the strings after them. */
static rt5_status split_blob(const uint8_t *blob, size_t len, size_t *n_units, rt5__errmsg *err)
{
    if (len < 4)
        return rt5__fail(err, RT5_ERR_FORMAT, "precompiled charsmap truncated (%zu bytes)", len);
    uint32_t trie_bytes = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                          (uint32_t)blob[3] << 24;
    if (trie_bytes % 4 != 0 || trie_bytes > len - 4 || trie_bytes == 0)
        return rt5__fail(err, RT5_ERR_FORMAT,
                         "precompiled charsmap: trie size %u does not fit the %zu-byte blob",
                         trie_bytes, len);
    *n_units = trie_bytes / 4;
    return RT5_OK;
}

/* Every state darts-clone's search can reach is a position p (after the
 * offset of the unit that led there); from p, input byte c reads unit
 * p ^ c, so all of (p | 0xFF) must be inside the array, and a key ending
 * at p reads its value from unit p. A depth-first walk over every label
 * from the root checks each reachable state once. */
rt5_status rt5__charsmap_check(const uint8_t *blob, size_t len, rt5__errmsg *err)
{
    size_t n = 0;
    if (len == 0)
        return RT5_OK; /* no rules */
    rt5_status st = split_blob(blob, len, &n, err);
    if (st != RT5_OK)
        return st;
    const uint8_t *units = blob + 4, *strings = units + 4 * n;
    size_t strings_len = len - 4 - 4 * n;
#define UNIT(i) ((uint32_t)units[4 * (i)] | (uint32_t)units[4 * (i) + 1] << 8 | \
                 (uint32_t)units[4 * (i) + 2] << 16 | (uint32_t)units[4 * (i) + 3] << 24)
    uint8_t *seen = calloc(n, 1);
    size_t *stack = malloc(n * sizeof *stack), depth = 0;
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory checking the charsmap");
    }
    size_t root = unit_offset(UNIT(0));
    const char *bad = NULL;
    if ((root | 0xFF) >= n)
        bad = "the root's children lie outside the trie";
    else
        stack[depth++] = root, seen[root] = 1;
    while (!bad && depth > 0) {
        size_t p = stack[--depth];
        for (unsigned c = 0; c < 256 && !bad; c++) {
            uint32_t u = UNIT(p ^ c);
            if (unit_label(u) != c)
                continue;
            size_t next = (p ^ c) ^ unit_offset(u);
            if ((next | 0xFF) >= n) {
                bad = "a transition leaves the trie";
            } else if (unit_has_leaf(u)) {
                uint32_t v = unit_value(UNIT(next));
                if (v >= strings_len || !memchr(strings + v, 0, strings_len - v))
                    bad = "a rule points outside its replacement strings";
            }
            if (!bad && !seen[next]) {
                seen[next] = 1;
                stack[depth++] = next;
            }
        }
    }
#undef UNIT
    free(seen);
    free(stack);
    return bad ? rt5__fail(err, RT5_ERR_FORMAT, "precompiled charsmap: %s", bad) : RT5_OK;
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
