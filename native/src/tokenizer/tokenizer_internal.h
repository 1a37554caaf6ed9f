/*
 * tokenizer_internal.h -- the parts of the T5 tokenizer that native/src/tokenizer/
 * files share: the loaded vocabulary, the libsentencepiece processor, the
 * trie and precompiled character map of a tokenizer.json, the Hugging Face pipeline description and the
 * growable scratch buffers one encode call uses.
 *
 * A loaded rt5_tokenizer is immutable; every encode call owns its scratch
 * (rt5__tok_scratch), so any number of threads may encode at once.
 *
 * Two families share one engine:
 *  - SPM: Google's spiece.model, loaded and encoded by libsentencepiece
 *    itself (sp_bridge.cc), after a guard that validates what the library
 *    trusts (spm_model.c).
 *  - HF: a tokenizer.json, behaving exactly as the `tokenizers` library
 *    (special tokens split out first, grapheme-wise Precompiled
 *    normalization over utf8proc's clusters, pre-tokenizers, one Unigram
 *    search per pre-token in f64, which libsentencepiece's float search
 *    does not reproduce on ties: see unigram.c).
 */
#ifndef RT5_TOKENIZER_INTERNAL_H
#define RT5_TOKENIZER_INTERNAL_H

#include "core/common.h"

/* Caps on what a model file may declare (far above any real tokenizer). */
#define RT5__TOK_MAX_PIECES (1 << 20)
#define RT5__TOK_MAX_PIECE_LEN 4096

/* ------------------------------------------------------------------ trie */

/* A base/check double-array trie over byte strings: the transition from
 * node s on byte c goes to t = base[s] + c when check[t] == s. Node 0 is
 * the root. value is the piece id ending at a node, or -1. */
typedef struct rt5__da_node {
    int32_t base;
    int32_t check;
    int32_t value;
} rt5__da_node;

typedef struct rt5__da_trie {
    rt5__da_node *nodes;
    size_t n_nodes;
} rt5__da_trie;

/* Builds the trie of keys[i] (len lens[i]) -> values[i]. Duplicate keys keep
 * the value listed last. */
rt5_status rt5__da_build(rt5__da_trie *trie, const char *const *keys, const uint32_t *lens,
                         const int32_t *values, size_t n_keys, rt5__errmsg *err);
void rt5__da_free(rt5__da_trie *trie);
/* The value of exactly key, or -1. */
int32_t rt5__da_lookup(const rt5__da_trie *trie, const char *key, size_t len);

/* ------------------------------------------------- precompiled char map */

/* A replacement: the string the rule maps the matched prefix to. */
typedef struct rt5__charsmap_match {
    size_t key_len;      /* bytes of input matched; 0 = no rule */
    const char *repl;    /* replacement bytes                    */
    size_t repl_len;
} rt5__charsmap_match;

/* sentencepiece's precompiled normalization rules: a darts-clone double
 * array (32-bit units) mapping UTF-8 prefixes to offsets into a block of
 * NUL-terminated replacement strings. The ASCII tables are derived at load
 * so the common case skips the trie walk: ascii[c] is the rule for the
 * one-byte key c, ascii_continues[c] whether any longer key starts with c. */
typedef struct rt5__charsmap {
    uint32_t *units;
    size_t n_units;
    char *strings;
    size_t strings_len;
    rt5__charsmap_match ascii[128];
    bool ascii_continues[128];
} rt5__charsmap;

rt5_status rt5__charsmap_parse(rt5__charsmap *map, const uint8_t *blob, size_t len,
                               rt5__errmsg *err);
void rt5__charsmap_free(rt5__charsmap *map);

/* True when ASCII byte c (1..127) is left alone by every rule. */
static inline bool rt5__charsmap_ascii_plain(const rt5__charsmap *map, unsigned char c)
{
    return c > 0 && c < 0x80 && !map->ascii[c].key_len && !map->ascii_continues[c];
}

/* spm_precompiled's rule (tokenizers): the shortest matching prefix, with
 * the search stopped at a NUL byte. */
rt5__charsmap_match rt5__charsmap_shortest(const rt5__charsmap *map, const char *s, size_t n);

/* Validates a charsmap blob completely, as libsentencepiece will use it:
 * from every state reachable from the root, every input byte must stay
 * inside the double array, and every rule must point at a NUL-terminated
 * string inside the blob. libsentencepiece checks none of this. */
rt5_status rt5__charsmap_check(const uint8_t *blob, size_t len, rt5__errmsg *err);

/* ------------------------------------------------------------- scratch */

/* A growable byte string with one original-text offset per byte. */
typedef struct rt5__tstr {
    char *bytes;
    uint32_t *orig;
    size_t len, cap;
} rt5__tstr;

bool rt5__tstr_reserve(rt5__tstr *s, size_t extra);
bool rt5__tstr_append(rt5__tstr *s, const char *bytes, size_t n, uint32_t orig);
void rt5__tstr_free(rt5__tstr *s);

/* One token of an encoding: its id and the original bytes where it starts
 * and where its last byte came from (tokens made only of inserted bytes,
 * such as </s>, have orig_last == orig). */
typedef struct rt5__token {
    int32_t id;
    uint32_t orig;
    uint32_t orig_last;
} rt5__token;

typedef struct rt5__toklist {
    rt5__token *items;
    size_t len, cap;
} rt5__toklist;

bool rt5__toklist_push(rt5__toklist *l, int32_t id, uint32_t orig);

/* Viterbi lattice cell: the best path ending at a byte position. */
typedef struct rt5__best_node {
    double score;
    int32_t id;
    int32_t starts_at; /* -1: not reached */
} rt5__best_node;

/* A pre-token: bytes [begin, end) of a working string; orig_shift is the
 * original offset of the text it was cut from (Metaspace "first" uses it). */
typedef struct rt5__span {
    size_t begin, end;
    uint32_t orig_shift;
} rt5__span;

typedef struct rt5__spanlist {
    rt5__span *items;
    size_t len, cap;
} rt5__spanlist;

bool rt5__spanlist_push(rt5__spanlist *l, size_t begin, size_t end, uint32_t orig_shift);

/* Everything one encode call needs, grown on demand, freed at the end. */
typedef struct rt5__tok_scratch {
    rt5__tstr input;  /* cleaned input (HF: invalid UTF-8 replaced)   */
    rt5__tstr norm;   /* normalized text                              */
    rt5__tstr tmp;    /* a second buffer for chained normalizers      */
    rt5__tstr pre;    /* Metaspace output                             */
    rt5__spanlist spans[2];
    rt5__best_node *best;
    size_t best_cap;
    rt5__toklist out;
} rt5__tok_scratch;

void rt5__tok_scratch_free(rt5__tok_scratch *s);

/* ------------------------------------------------- Hugging Face pipeline */

typedef enum rt5__hf_norm_kind {
    RT5__HF_NORM_PRECOMPILED = 1,
    RT5__HF_NORM_STRIP = 2,
    RT5__HF_NORM_REPLACE = 3
} rt5__hf_norm_kind;

typedef struct rt5__hf_normalizer {
    rt5__hf_norm_kind kind;
    bool strip_left, strip_right;     /* Strip                               */
    /* Replace: a literal pattern, or (is_repeat) a run of at least
     * repeat_min copies of the one character in pattern ("X{n,}", "X+"). */
    char *pattern;
    size_t pattern_len;
    bool is_repeat;
    uint32_t repeat_min;
    char *content;
    size_t content_len;
} rt5__hf_normalizer;

typedef enum rt5__hf_pre_kind {
    RT5__HF_PRE_WHITESPACE_SPLIT = 1,
    RT5__HF_PRE_METASPACE = 2
} rt5__hf_pre_kind;

typedef enum rt5__prepend_scheme {
    RT5__PREPEND_ALWAYS = 0,
    RT5__PREPEND_FIRST = 1,
    RT5__PREPEND_NEVER = 2
} rt5__prepend_scheme;

typedef struct rt5__hf_pretok {
    rt5__hf_pre_kind kind;
    char replacement[8]; /* Metaspace: UTF-8 of the replacement char */
    size_t replacement_len;
    rt5__prepend_scheme prepend;
    bool split;
} rt5__hf_pretok;

#define RT5__HF_MAX_STEPS 16

/* An added token that is split out of the raw text before normalization. */
typedef struct rt5__added_token {
    char *content;
    size_t len;
    int32_t id;
} rt5__added_token;

typedef struct rt5__hf_pipeline {
    rt5__hf_normalizer norms[RT5__HF_MAX_STEPS];
    int n_norms;
    rt5__hf_pretok pretoks[RT5__HF_MAX_STEPS];
    int n_pretoks;
    rt5__added_token *added;
    size_t n_added;
    uint8_t added_first_byte[32]; /* bitmap of the added tokens' first bytes */
} rt5__hf_pipeline;

/* ------------------------------------------------------------ tokenizer */

struct rt5_tokenizer {
    rt5__errmsg err;
    rt5_tokenizer_kind kind;     /* SENTENCEPIECE or HF_JSON once loaded */
    bool loaded;

    /* Vocabulary: n_pieces entries, piece i = piece_bytes[off[i]..off[i+1]). */
    int32_t n_pieces;
    char *piece_bytes;
    uint32_t *piece_off;
    int32_t unk_id, eos_id, pad_id;

    /* SPM: the model, loaded and run by libsentencepiece. */
    struct rt5__sp *sp;

    /* HF: scores (f64, as in the JSON), their minimum and the trie of every
     * piece for the Unigram search (unigram.c), the Precompiled map. */
    double *score_d;
    double min_score_d;
    rt5__da_trie trie;
    rt5__charsmap charsmap;

    rt5__hf_pipeline hf;
};

/* Loaders (spm_model.c, hf_json.c): fill a zeroed tokenizer. */
rt5_status rt5__spm_load(rt5_tokenizer *tok, const uint8_t *bytes, size_t n);
rt5_status rt5__hf_load(rt5_tokenizer *tok, const uint8_t *bytes, size_t n);

/* The guard run on spiece.model bytes before libsentencepiece sees them. */
rt5_status rt5__spm_check(const uint8_t *bytes, size_t n, rt5__errmsg *err);

/* tokenizers' Precompiled normalizer. */
bool rt5__hf_precompiled(const rt5__charsmap *map, const rt5__tstr *in, rt5__tstr *out);

/* tokenizers' Unigram search (f64) over norm[begin..end), tokens appended
 * to s->out with consecutive unknowns fused. */
bool rt5__unigram_encode(const rt5_tokenizer *tok, const rt5__tstr *norm, size_t begin, size_t end,
                         rt5__tok_scratch *s);

/* Whole-text encoders (the public encode is one of them). */
bool rt5__spm_encode_text(const rt5_tokenizer *tok, const char *text, size_t len,
                          rt5__tok_scratch *s);
bool rt5__hf_encode_text(const rt5_tokenizer *tok, const char *text, size_t len,
                         rt5__tok_scratch *s);

/* Unicode helpers over utf8proc (text_buffers.c). */
/* Extended grapheme clusters (UAX #29): the byte length of the cluster
 * starting at s[0] of a valid UTF-8 string of n bytes. */
size_t rt5__grapheme_next(const char *s, size_t n);
/* Decodes one code point; invalid UTF-8 gives 0xFFFD with *mblen 1 (one
 * replacement per bad byte, sentencepiece's rule). */
uint32_t rt5__utf8_decode_spm(const char *s, size_t n, size_t *mblen);
/* Decodes one code point of VALID UTF-8. */
uint32_t rt5__utf8_decode(const char *s, size_t n, size_t *mblen);
/* Rust's char::is_whitespace (Unicode White_Space). */
bool rt5__is_unicode_space(uint32_t cp);

#endif /* RT5_TOKENIZER_INTERNAL_H */
