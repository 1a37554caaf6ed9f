/*
 * spm_model.c -- reads Google's SentencePiece model (spiece.model), a
 * protobuf ModelProto, straight from the wire format.
 *
 * Only what encoding needs is kept:
 *   ModelProto        1 pieces (repeated), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece     1 piece (string), 2 score (float), 3 type (enum)
 *   TrainerSpec       3 model_type (1 = UNIGRAM), 24 treat_whitespace_as_suffix,
 *                     35 byte_fallback, 42 eos_id
 *   NormalizerSpec    2 precompiled_charsmap, 3 add_dummy_prefix,
 *                     4 remove_extra_whitespaces, 5 escape_whitespaces
 * Everything else is skipped by wire type. Every length is checked against
 * the bytes that remain, so a truncated or corrupt file is a FORMAT error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

typedef struct pb_reader {
    const uint8_t *p, *end;
} pb_reader;

typedef struct pb_field {
    uint32_t number;
    int wire;          /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t varint;   /* wire 0, and fixed32/64 raw bits         */
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

/* Reads the next field; false on malformed or truncated input. */
static bool pb_next(pb_reader *r, pb_field *f)
{
    uint64_t key;
    if (!pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return false;
    f->number = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->varint);
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if (left < n)
            return false;
        f->varint = 0;
        for (size_t i = 0; i < n; i++)
            f->varint |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return true;
    }
    case 2: {
        uint64_t n;
        if (!pb_varint(r, &n) || n > (uint64_t)(r->end - r->p))
            return false;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return true;
    }
    default:
        return false; /* groups (3, 4) and reserved types */
    }
}

static float pb_float(const pb_field *f)
{
    uint32_t bits = (uint32_t)f->varint;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* What the first pass over the file found. */
typedef struct spm_header {
    size_t n_pieces;
    size_t piece_bytes;
    const uint8_t *trainer;
    size_t trainer_len;
    const uint8_t *normalizer;
    size_t normalizer_len;
} spm_header;

static rt5_status scan_model(const uint8_t *bytes, size_t n, spm_header *h, rt5__errmsg *err)
{
    memset(h, 0, sizeof *h);
    pb_reader r = {bytes, bytes + n};
    pb_field f;
    while (r.p < r.end) {
        size_t at = (size_t)(r.p - bytes);
        if (!pb_next(&r, &f))
            return rt5__fail(err, RT5_ERR_FORMAT,
                             "not a SentencePiece model: malformed or truncated protobuf at byte %zu",
                             at);
        if (f.number == 1 && f.wire == 2) {
            if (++h->n_pieces > RT5__TOK_MAX_PIECES)
                return rt5__fail(err, RT5_ERR_FORMAT, "more than %d pieces", RT5__TOK_MAX_PIECES);
            h->piece_bytes += f.len; /* an upper bound of the piece strings */
        } else if (f.number == 2 && f.wire == 2) {
            h->trainer = f.data;
            h->trainer_len = f.len;
        } else if (f.number == 3 && f.wire == 2) {
            h->normalizer = f.data;
            h->normalizer_len = f.len;
        }
    }
    if (h->n_pieces == 0)
        return rt5__fail(err, RT5_ERR_FORMAT, "not a SentencePiece model: no pieces");
    /* Every trained model has both specs after its pieces. A file cut at a
     * field boundary is still valid protobuf (sentencepiece would load the
     * surviving pieces); their absence is how such a cut shows. */
    if (!h->trainer || !h->normalizer)
        return rt5__fail(err, RT5_ERR_FORMAT,
                         "SentencePiece model without %s after %zu pieces: truncated file?",
                         !h->trainer ? "trainer_spec" : "normalizer_spec", h->n_pieces);
    return RT5_OK;
}

static rt5_status read_piece(rt5_tokenizer *tok, const uint8_t *data, size_t len, size_t *used)
{
    pb_reader r = {data, data + len};
    pb_field f;
    const uint8_t *piece = NULL;
    size_t piece_len = 0;
    float score = 0.0f;
    uint64_t type = RT5__PIECE_NORMAL;
    int32_t i = tok->n_pieces;
    while (r.p < r.end) {
        if (!pb_next(&r, &f))
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "piece %d: malformed protobuf", i);
        if (f.number == 1 && f.wire == 2) {
            piece = f.data;
            piece_len = f.len;
        } else if (f.number == 2 && f.wire == 5) {
            score = pb_float(&f);
        } else if (f.number == 3 && f.wire == 0) {
            type = f.varint;
        }
    }
    if (!piece || piece_len == 0)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "piece %d: empty piece", i);
    if (piece_len > RT5__TOK_MAX_PIECE_LEN)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "piece %d: %zu bytes long", i, piece_len);
    if (type < RT5__PIECE_NORMAL || type > RT5__PIECE_BYTE)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "piece %d: unknown type %llu", i,
                         (unsigned long long)type);
    memcpy(tok->piece_bytes + *used, piece, piece_len);
    *used += piece_len;
    tok->piece_off[i + 1] = (uint32_t)*used;
    tok->score_f[i] = score;
    tok->score_d[i] = score;
    tok->type[i] = (uint8_t)type;
    tok->n_pieces++;
    return RT5_OK;
}

static rt5_status read_trainer(rt5_tokenizer *tok, const spm_header *h)
{
    static const uint8_t none[1];
    const uint8_t *at = h->trainer ? h->trainer : none; /* an absent message is empty */
    pb_reader r = {at, at + h->trainer_len};
    pb_field f;
    uint64_t model_type = 1, byte_fallback = 0;
    while (r.p < r.end) {
        if (!pb_next(&r, &f))
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "trainer_spec: malformed protobuf");
        if (f.wire != 0)
            continue;
        if (f.number == 3)
            model_type = f.varint;
        else if (f.number == 24)
            tok->treat_whitespace_as_suffix = f.varint != 0;
        else if (f.number == 35)
            byte_fallback = f.varint;
    }
    if (model_type != 1)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED,
                         "model_type %llu: only UNIGRAM (1) models are supported",
                         (unsigned long long)model_type);
    if (byte_fallback)
        return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "byte_fallback models are not supported");
    return RT5_OK;
}

static rt5_status read_normalizer(rt5_tokenizer *tok, const spm_header *h)
{
    tok->add_dummy_prefix = tok->remove_extra_whitespaces = tok->escape_whitespaces = true;
    static const uint8_t none[1];
    const uint8_t *at = h->normalizer ? h->normalizer : none; /* an absent message is empty */
    pb_reader r = {at, at + h->normalizer_len};
    pb_field f;
    const uint8_t *blob = NULL;
    size_t blob_len = 0;
    while (r.p < r.end) {
        if (!pb_next(&r, &f))
            return rt5__fail(&tok->err, RT5_ERR_FORMAT, "normalizer_spec: malformed protobuf");
        if (f.number == 2 && f.wire == 2) {
            blob = f.data;
            blob_len = f.len;
        } else if (f.wire == 0 && f.number == 3) {
            tok->add_dummy_prefix = f.varint != 0;
        } else if (f.wire == 0 && f.number == 4) {
            tok->remove_extra_whitespaces = f.varint != 0;
        } else if (f.wire == 0 && f.number == 5) {
            tok->escape_whitespaces = f.varint != 0;
        }
    }
    rt5_status st = rt5__charsmap_parse(&tok->charsmap, blob, blob_len, &tok->err);
    if (st != RT5_OK)
        rt5__errmsg_prefix(&tok->err, "normalizer_spec");
    return st;
}

static rt5_status alloc_vocab(rt5_tokenizer *tok, size_t n_pieces, size_t piece_bytes)
{
    tok->piece_bytes = malloc(piece_bytes + 1);
    tok->piece_off = calloc(n_pieces + 1, sizeof *tok->piece_off);
    tok->score_f = calloc(n_pieces, sizeof *tok->score_f);
    tok->score_d = calloc(n_pieces, sizeof *tok->score_d);
    tok->type = calloc(n_pieces, 1);
    if (!tok->piece_bytes || !tok->piece_off || !tok->score_f || !tok->score_d || !tok->type)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory for %zu pieces",
                         n_pieces);
    return RT5_OK;
}

/* T5 models add 100 sentinel tokens after the SentencePiece vocabulary:
 * id n + k is <extra_id_{99-k}>. They are never produced from text by
 * sentencepiece, but they are part of the model's vocabulary. */
static rt5_status add_t5_sentinels(rt5_tokenizer *tok, size_t *used)
{
    for (int k = 0; k < 100; k++) {
        char name[32];
        int len = snprintf(name, sizeof name, "<extra_id_%d>", 99 - k);
        memcpy(tok->piece_bytes + *used, name, (size_t)len);
        *used += (size_t)len;
        int32_t i = tok->n_pieces++;
        tok->piece_off[i + 1] = (uint32_t)*used;
        tok->type[i] = RT5__PIECE_CONTROL;
    }
    return RT5_OK;
}

static rt5_status check_pieces(rt5_tokenizer *tok, int32_t n_model)
{
    tok->unk_id = tok->eos_id = tok->pad_id = -1;
    for (int32_t i = 0; i < n_model; i++) {
        const char *p = tok->piece_bytes + tok->piece_off[i];
        size_t len = tok->piece_off[i + 1] - tok->piece_off[i];
        if (tok->type[i] == RT5__PIECE_UNKNOWN) {
            if (tok->unk_id >= 0)
                return rt5__fail(&tok->err, RT5_ERR_FORMAT, "two unknown pieces (%d and %d)",
                                 tok->unk_id, i);
            tok->unk_id = i;
        } else if (tok->type[i] == RT5__PIECE_USER_DEFINED) {
            return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED,
                             "piece %d is USER_DEFINED: not supported", i);
        } else if (tok->type[i] == RT5__PIECE_BYTE) {
            return rt5__fail(&tok->err, RT5_ERR_UNSUPPORTED, "piece %d is a BYTE piece", i);
        }
        if (tok->type[i] == RT5__PIECE_CONTROL && len == 4 && memcmp(p, "</s>", 4) == 0)
            tok->eos_id = i;
        if (tok->type[i] == RT5__PIECE_CONTROL && len == 5 && memcmp(p, "<pad>", 5) == 0)
            tok->pad_id = i;
    }
    if (tok->unk_id < 0)
        return rt5__fail(&tok->err, RT5_ERR_FORMAT, "no unknown piece (<unk>) in the model");
    return RT5_OK;
}

rt5_status rt5__spm_load(rt5_tokenizer *tok, const uint8_t *bytes, size_t n)
{
    spm_header h;
    rt5_status st = scan_model(bytes, n, &h, &tok->err);
    if (st != RT5_OK)
        return st;
    size_t piece_bytes = h.piece_bytes + 100 * 16;
    st = alloc_vocab(tok, h.n_pieces + 100, piece_bytes);
    if (st != RT5_OK)
        return st;
    pb_reader r = {bytes, bytes + n};
    pb_field f;
    size_t used = 0;
    while (r.p < r.end && pb_next(&r, &f))
        if (f.number == 1 && f.wire == 2 && (st = read_piece(tok, f.data, f.len, &used)) != RT5_OK)
            return st;
    int32_t n_model = tok->n_pieces;
    if ((st = read_trainer(tok, &h)) != RT5_OK || (st = read_normalizer(tok, &h)) != RT5_OK ||
        (st = check_pieces(tok, n_model)) != RT5_OK || (st = add_t5_sentinels(tok, &used)) != RT5_OK)
        return st;
    bool *include = calloc((size_t)tok->n_pieces, sizeof *include);
    if (!include)
        return rt5__fail(&tok->err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    /* sentencepiece's Viterbi sees NORMAL and USER_DEFINED pieces; UNUSED
     * ones are in its trie but skipped, which is the same as absent. */
    for (int32_t i = 0; i < n_model; i++)
        include[i] = tok->type[i] == RT5__PIECE_NORMAL;
    st = rt5__vocab_build_trie(tok, include);
    free(include);
    if (st == RT5_OK) {
        tok->min_score_f = 3.4028235e38f;
        for (int32_t i = 0; i < n_model; i++)
            if (tok->type[i] == RT5__PIECE_NORMAL && tok->score_f[i] < tok->min_score_f)
                tok->min_score_f = tok->score_f[i];
    }
    return st;
}
