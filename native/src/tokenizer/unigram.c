/*
 * unigram.c -- `tokenizers`' Viterbi search of a unigram language model,
 * for tokenizer.json files: the most probable split of a pre-token into
 * vocabulary pieces.
 *
 * It is the "optimized" search of sentencepiece as ported to Rust: best[i]
 * holds the best path ending at byte i; from each character start the trie
 * yields every piece beginning there. A character that no piece starts with
 * gets an <unk> edge scored min_score - 10. Consecutive unknowns are fused
 * and the fused string is looked up as a piece.
 *
 * Why not libsentencepiece, which runs spiece.model: it keeps path scores
 * as float, `tokenizers` in f64, and exact ties come out differently. Run
 * over a ModelProto built from the JSON vocabulary, the library's search
 * disagreed with `tokenizers` on 2 (Hub file) and 3 (re-converted file) of
 * the 2548 fixture texts, every one a tie such as U+2034 (NFKC: three
 * primes) after other characters in the same word, split as `′ ′′` instead
 * of `′′ ′`. So this search stays, in f64 only.
 */
#include <stdlib.h>

#include "tokenizer/tokenizer_internal.h"

static bool reserve_best(rt5__tok_scratch *s, size_t n)
{
    if (n <= s->best_cap)
        return true;
    size_t cap = s->best_cap ? s->best_cap : 256;
    while (cap < n) {
        if (cap > SIZE_MAX / 2 / sizeof(rt5__best_node))
            return false;
        cap *= 2;
    }
    rt5__best_node *best = realloc(s->best, cap * sizeof *best);
    if (!best)
        return false;
    s->best = best;
    s->best_cap = cap;
    return true;
}

/* sentencepiece's OneCharLen: the UTF-8 length announced by a lead byte. */
static inline size_t one_char_len(unsigned char c)
{
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

static void viterbi(const rt5_tokenizer *tok, const unsigned char *t, size_t size,
                    rt5__best_node *best)
{
    const rt5__da_node *nodes = tok->trie.nodes;
    const double unk_d = tok->min_score_d - 10.0;
    for (size_t i = 0; i <= size; i++)
        best[i] = (rt5__best_node){0.0, -1, -1};
    size_t start = 0;
    while (start < size) {
        const double till = best[start].score;
        size_t mblen = RT5_MIN(one_char_len(t[start]), size - start);
        bool has_single = false;
        int32_t s = 0;
        for (size_t k = start; k < size; k++) {
            int32_t next = nodes[s].base + t[k];
            if (nodes[next].check != s)
                break;
            s = next;
            int32_t id = nodes[s].value;
            if (id < 0)
                continue;
            rt5__best_node *target = &best[k + 1];
            double cand = tok->score_d[id] + till;
            if (target->starts_at < 0 || cand > target->score) {
                target->score = cand;
                target->starts_at = (int32_t)start;
                target->id = id;
            }
            has_single |= k + 1 - start == mblen;
        }
        if (!has_single) {
            rt5__best_node *target = &best[start + mblen];
            double cand = unk_d + till;
            if (target->starts_at < 0 || cand > target->score) {
                target->score = cand;
                target->starts_at = (int32_t)start;
                target->id = tok->unk_id;
            }
        }
        start += mblen;
    }
}

/* Replaces each run of <unk> tokens in items[first..len) by one token,
 * looked up as a string (it may be a piece). */
static void fuse_unknowns(const rt5_tokenizer *tok, const unsigned char *t, size_t size,
                          rt5__toklist *out, size_t first)
{
    size_t w = first, r = first;
    while (r < out->len) {
        if (out->items[r].id != tok->unk_id) {
            out->items[w++] = out->items[r++];
            continue;
        }
        size_t q = r;
        while (q + 1 < out->len && out->items[q + 1].id == tok->unk_id)
            q++;
        int32_t id = tok->unk_id;
        if (q > r) {
            size_t from = out->items[r].orig;
            size_t to = q + 1 < out->len ? out->items[q + 1].orig : size;
            int32_t found = rt5__da_lookup(&tok->trie, (const char *)t + from, to - from);
            if (found >= 0)
                id = found;
        }
        out->items[w++] = (rt5__token){id, out->items[r].orig, 0};
        r = q + 1;
    }
    out->len = w;
}

bool rt5__unigram_encode(const rt5_tokenizer *tok, const rt5__tstr *norm, size_t begin, size_t end,
                         rt5__tok_scratch *s)
{
    size_t size = end - begin;
    if (size == 0)
        return true;
    if (size >= INT32_MAX || !reserve_best(s, size + 1))
        return false;
    const unsigned char *t = (const unsigned char *)norm->bytes + begin;
    viterbi(tok, t, size, s->best);
    /* Backtrack (tokens come out last first), then restore the order. The
     * orig field holds the start relative to begin until the end. */
    size_t first = s->out.len;
    for (size_t e = size; e > 0; e = (size_t)s->best[e].starts_at)
        if (!rt5__toklist_push(&s->out, s->best[e].id, (uint32_t)s->best[e].starts_at))
            return false;
    for (size_t i = first, j = s->out.len - 1; i < j; i++, j--) {
        rt5__token tmp = s->out.items[i];
        s->out.items[i] = s->out.items[j];
        s->out.items[j] = tmp;
    }
    fuse_unknowns(tok, t, size, &s->out, first);
    /* Relative starts to original offsets; a token ends where the next starts. */
    size_t next_start = size;
    for (size_t i = s->out.len; i-- > first;) {
        rt5__token *t = &s->out.items[i];
        size_t rel = t->orig;
        t->orig = norm->orig[begin + rel];
        t->orig_last = norm->orig[begin + next_start - 1];
        next_start = rel;
    }
    return true;
}
