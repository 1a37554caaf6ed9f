/*
 * spm_model.c -- Google's SentencePiece model (spiece.model): loaded and run
 * by libsentencepiece (sp_bridge.cc), the library behind the reference
 * spm_encode, so the ids are exact by construction.
 *
 * What stays here is what the library cannot do for us:
 *   - a guard run before the bytes are handed over (rt5__spm_check). The
 *     library parses the protobuf safely (errors come back as a status) but
 *     trusts the precompiled charsmap inside it: a hostile double array or
 *     replacement offset makes its normalizer read out of bounds. The guard
 *     walks only the framing of the top-level fields and of the specs,
 *     reads trainer_spec.model_type and validates every charsmap blob
 *     (rt5__charsmap_check). It also refuses a file cut at a field boundary
 *     (valid protobuf without its specs: "truncated file?"), which the
 *     library would load.
 *   - the public vocabulary: the model's pieces plus T5's 100 sentinels
 *     <extra_id_99>..<extra_id_0> as ids 32000..32099, which are part of
 *     the model's vocabulary but not of the file.
 *   - tokens with their original byte ranges (for the text template's
 *     truncation), from the offsets the library reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/sp_bridge.h"
#include "tokenizer/tokenizer_internal.h"

/* ------------------------------------------------------------- guard */

typedef struct pb_reader {
    const uint8_t *p, *end;
} pb_reader;

typedef struct pb_field {
    uint32_t number;
    int wire;            /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t varint;     /* wire 0 */
    const uint8_t *data; /* wire 2 */
    size_t len;
} pb_field;

static bool pb_varint(pb_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return false;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false; /* more than 10 bytes */
}

/* Steps over the next field; false on malformed or truncated framing. */
static bool pb_next(pb_reader *r, pb_field *f)
{
    uint64_t key, n;
    if (!pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return false;
    f->number = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->varint = 0;
    f->data = NULL;
    f->len = 0;
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->varint);
    case 1:
    case 5:
        n = f->wire == 1 ? 8 : 4;
        break;
    case 2:
        if (!pb_varint(r, &n))
            return false;
        left = (size_t)(r->end - r->p);
        f->data = r->p;
        f->len = (size_t)n;
        break;
    default:
        return false; /* groups (3, 4), which no model uses, and reserved types */
    }
    if (n > left)
        return false;
    r->p += n;
    return true;
}

typedef struct spm_guard {
    size_t n_pieces;
    bool has_trainer, has_normalizer;
    uint64_t model_type; /* the last known value wins, as in the library */
} spm_guard;

/* Walks one spec sub-message: trainer_spec's model_type, or (normalizer)
 * every precompiled_charsmap, each checked. Repeated specs merge in
 * protobuf, so every occurrence is checked. */
static rt5_status check_spec(const pb_field *spec, bool normalizer, spm_guard *g, rt5__errmsg *err)
{
    const char *name = normalizer ? "normalizer_spec" : "trainer_spec";
    pb_reader r = {spec->data, spec->data + spec->len};
    pb_field f;
    while (r.p < r.end) {
        if (!pb_next(&r, &f))
            return rt5__fail(err, RT5_ERR_FORMAT, "%s: malformed or truncated protobuf", name);
        if (!normalizer && f.number == 3 && f.wire == 0 && f.varint >= 1 && f.varint <= 4)
            g->model_type = f.varint; /* UNIGRAM, BPE, WORD, CHAR */
        if (normalizer && f.number == 2 && f.wire == 2) {
            rt5_status st = rt5__charsmap_check(f.data, f.len, err);
            if (st != RT5_OK) {
                rt5__errmsg_prefix(err, "normalizer_spec");
                return st;
            }
        }
    }
    return RT5_OK;
}

rt5_status rt5__spm_check(const uint8_t *bytes, size_t n, rt5__errmsg *err)
{
    spm_guard g = {0, false, false, 1};
    pb_reader r = {bytes, bytes + n};
    pb_field f;
    while (r.p < r.end) {
        size_t at = (size_t)(r.p - bytes);
        if (!pb_next(&r, &f))
            return rt5__fail(err, RT5_ERR_FORMAT,
                             "not a SentencePiece model: malformed or truncated protobuf at byte %zu",
                             at);
        if (f.wire != 2)
            continue;
        rt5_status st = RT5_OK;
        if (f.number == 1 && ++g.n_pieces > RT5__TOK_MAX_PIECES)
            return rt5__fail(err, RT5_ERR_FORMAT, "more than %d pieces", RT5__TOK_MAX_PIECES);
        if (f.number == 2 || f.number == 3) {
            *(f.number == 2 ? &g.has_trainer : &g.has_normalizer) = true;
            st = check_spec(&f, f.number == 3, &g, err);
        }
        if (st != RT5_OK)
            return st;
    }
    if (g.n_pieces == 0)
        return rt5__fail(err, RT5_ERR_FORMAT, "not a SentencePiece model: no pieces");
    /* Every trained model has both specs after its pieces; their absence is
     * how a file cut at a field boundary shows. */
    if (!g.has_trainer || !g.has_normalizer)
        return rt5__fail(err, RT5_ERR_FORMAT,
                         "SentencePiece model without %s after %zu pieces: truncated file?",
                         !g.has_trainer ? "trainer_spec" : "normalizer_spec", g.n_pieces);
    if (g.model_type != 1)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED,
                         "model_type %llu: only UNIGRAM (1) models are supported",
                         (unsigned long long)g.model_type);
    return RT5_OK;
}

/* ------------------------------------------------------------ loading */

/* The public vocabulary: the library's pieces, then T5's sentinels (id
 * n + k is <extra_id_{99-k}>, never produced from text). */
static rt5_status copy_vocab(rt5_tokenizer *tok)
{
    int32_t n = rt5__sp_size(tok->sp);
    size_t bytes = 100 * 16, len;
    for (int32_t i = 0; i < n; i++) {
        rt5__sp_piece(tok->sp, i, &len);
        if (len > RT5__TOK_MAX_PIECE_LEN)
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "piece %d: %zu bytes long", i, len);
        bytes += len;
    }
    tok->piece_bytes = malloc(bytes);
    tok->piece_off = calloc((size_t)n + 101, sizeof *tok->piece_off);
    if (!tok->piece_bytes || !tok->piece_off)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory for %d pieces", n);
    size_t used = 0;
    tok->unk_id = tok->eos_id = tok->pad_id = -1;
    for (int32_t i = 0; i < n + 100; i++) {
        char name[32];
        const char *p = name;
        if (i < n) {
            p = rt5__sp_piece(tok->sp, i, &len);
        } else {
            len = (size_t)snprintf(name, sizeof name, "<extra_id_%d>", 99 - (i - n));
        }
        memcpy(tok->piece_bytes + used, p, len);
        used += len;
        tok->piece_off[i + 1] = (uint32_t)used;
        rt5__sp_piece_kind kind = i < n ? rt5__sp_kind(tok->sp, i) : RT5__SP_CONTROL;
        if (kind == RT5__SP_UNKNOWN && tok->unk_id < 0)
            tok->unk_id = i;
        if (i < n && kind == RT5__SP_CONTROL && len == 4 && memcmp(p, "</s>", 4) == 0)
            tok->eos_id = i;
        if (i < n && kind == RT5__SP_CONTROL && len == 5 && memcmp(p, "<pad>", 5) == 0)
            tok->pad_id = i;
    }
    tok->n_pieces = n + 100;
    return RT5_OK;
}

rt5_status rt5__spm_load(rt5_tokenizer *tok, const uint8_t *bytes, size_t n)
{
    rt5_status st = rt5__spm_check(bytes, n, &tok->err);
    if (st == RT5_OK)
        st = rt5__sp_load(bytes, n, &tok->sp, &tok->err);
    if (st == RT5_OK)
        st = copy_vocab(tok);
    return st;
}

/* ----------------------------------------------------------- encoding */

typedef struct spm_emit_ctx {
    rt5__toklist *out;
    uint32_t orig_base;
} spm_emit_ctx;

/* A token starts at the first original byte it covers and ends at its
 * last; a token that covers none (begin == end) is placed at begin. */
static bool spm_emit(void *ctx, int32_t id, const char *piece, size_t piece_len, uint32_t begin,
                     uint32_t end)
{
    spm_emit_ctx *c = ctx;
    if (!rt5__toklist_push(c->out, id, c->orig_base + begin))
        return false;
    c->out->items[c->out->len - 1].orig_last = c->orig_base + (end > begin ? end - 1 : begin);
    return true;
}

bool rt5__spm_encode_text(const rt5_tokenizer *tok, const char *text, size_t len,
                          rt5__tok_scratch *s)
{
    spm_emit_ctx ctx = {&s->out, 0};
    return rt5__sp_encode(tok->sp, text, len, spm_emit, &ctx) == RT5_OK;
}
