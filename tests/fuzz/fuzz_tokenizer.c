/*
 * fuzz_tokenizer.c -- libFuzzer target for the tokenizer: the model parsers
 * and the encoder on arbitrary bytes.
 *
 * The first input byte b picks what the rest is (b % 4 below 0xF8):
 *   0  a spiece.model (protobuf) loaded from memory, then used to encode
 *   1  a tokenizer.json loaded from memory, then used to encode
 *   2  text for the real T5 tokenizers (spiece.model and both tokenizer.json
 *      files from $RT5_SHARED_DIR/tokenizer or ../shared/tokenizer)
 *   3  a (query, document) pair for the real tokenizers, with the length
 *      cap, truncation strategy and template chosen by the next bytes
 *   4  (b >= 0xF8) pieces and options wrapped into a well-framed ModelProto
 *      (build_model), so that most inputs pass the guard and reach
 *      libsentencepiece's model initialization (empty, duplicate, NUL-laden
 *      pieces, every piece type, missing <unk>, byte fallback) and its
 *      encoder, on the rest of the input as text
 * Seeds live in tests/fuzz/corpus/fuzz_tokenizer/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankt5.h"

static rt5_tokenizer *real[3];
static int real_loaded;

static void load_real(void)
{
    if (real_loaded)
        return;
    real_loaded = 1;
    const char *names[3] = {"t5-spiece.model", "t5-tokenizer.json", "t5-tokenizer-reconverted.json"};
    const char *root = getenv("RT5_SHARED_DIR");
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tokenizer/%s", root ? root : "../shared", names[i]);
        if (rt5_tokenizer_load(path, NULL, &real[i]) != RT5_OK) {
            rt5_tokenizer_free(real[i]);
            real[i] = NULL;
        }
    }
}

static void encode_text(const rt5_tokenizer *tok, const uint8_t *text, size_t n)
{
    int32_t ids[1024];
    size_t n_ids = 0;
    rt5_status st = rt5_tokenizer_encode(tok, (const char *)text, n, ids, 1024, &n_ids);
    if (st == RT5_OK)
        for (size_t i = 0; i < n_ids; i++)
            if (ids[i] < 0 || ids[i] >= rt5_tokenizer_vocab_size(tok))
                __builtin_trap(); /* an id outside the vocabulary */
    if (st == RT5_ERR_BUFFER_TOO_SMALL && n_ids <= 1024)
        __builtin_trap();
}

static void fuzz_model(const uint8_t *data, size_t size, rt5_tokenizer_kind kind)
{
    rt5_tokenizer_params params = rt5_tokenizer_default_params();
    params.kind = kind;
    rt5_tokenizer *tok = NULL;
    if (rt5_tokenizer_load_from_memory(data, size, &params, &tok) == RT5_OK) {
        static const char *texts[] = {"", " ", "Hello world", "  caf\xc3\xa9  \xef\xac\x81 </s>x",
                                      "\xff\xfe\x80 \xe2\x96\x81\xe2\x96\x81 a", "\xe6\x95\xb0\xe6\x8d\xae"};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            encode_text(tok, (const uint8_t *)texts[i], strlen(texts[i]));
        encode_text(tok, data, size < 512 ? size : 512);
        size_t len;
        rt5_tokenizer_piece(tok, rt5_tokenizer_vocab_size(tok) - 1, &len);
    } else if (tok && !rt5_tokenizer_last_error(tok)[0]) {
        __builtin_trap(); /* a failure must say why */
    }
    rt5_tokenizer_free(tok);
}

/* ------------------------------------------- a ModelProto around bytes */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            __builtin_trap();
    }
    memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

static void put_varint(buf *b, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7F) | (v > 0x7F ? 0x80 : 0);
        put(b, &byte, 1);
        v >>= 7;
    } while (v);
}

static void put_field(buf *b, uint32_t field, const buf *msg)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, msg->len);
    put(b, msg->p, msg->len);
}

static void put_flag(buf *b, uint32_t field, int on)
{
    put_varint(b, (uint64_t)field << 3);
    put_varint(b, on ? 1 : 0);
}

/* Input: one options byte, then pieces as [type][score][len % 16][bytes];
 * a length byte of 15 (mod 16) ends the pieces and the rest is text.
 * Returns the serialized model; *text and *text_len get the text. */
static buf build_model(const uint8_t *d, size_t n, const uint8_t **text, size_t *text_len)
{
    buf model = {0}, piece = {0}, spec = {0};
    uint8_t opts = n ? d[0] : 0;
    size_t pos = n ? 1 : 0;
    if (opts & 1) { /* an <unk> first, as trained models have */
        put(&piece, "\x0a\x05<unk>\x18\x02", 9);
        put_field(&model, 1, &piece);
    }
    while (pos + 3 <= n && d[pos + 2] % 16 != 15) {
        size_t len = d[pos + 2] % 16;
        if (pos + 3 + len > n)
            break;
        float score = (float)(int8_t)d[pos + 1] / 4.0f;
        uint8_t score_bytes[5] = {0x15};
        memcpy(score_bytes + 1, &score, 4);
        piece.len = 0;
        put_varint(&piece, 1 << 3 | 2);
        put_varint(&piece, len);
        put(&piece, d + pos + 3, len);
        put(&piece, score_bytes, 5);
        put_varint(&piece, 3 << 3);
        put_varint(&piece, d[pos] % 8); /* 0 and 7 are not valid types */
        put_field(&model, 1, &piece);
        pos += 3 + len;
    }
    spec.len = 0;
    put_varint(&spec, 3 << 3);
    put_varint(&spec, 1); /* UNIGRAM */
    put_flag(&spec, 24, opts & 2); /* treat_whitespace_as_suffix */
    put_flag(&spec, 35, opts & 4); /* byte_fallback */
    put_field(&model, 2, &spec);
    spec.len = 0;
    put_flag(&spec, 3, opts & 8);  /* add_dummy_prefix */
    put_flag(&spec, 4, opts & 16); /* remove_extra_whitespaces */
    put_flag(&spec, 5, opts & 32); /* escape_whitespaces */
    put_field(&model, 3, &spec);
    free(piece.p);
    free(spec.p);
    pos = pos + 3 <= n ? pos + 3 : n;
    *text = d + pos;
    *text_len = n - pos;
    return model;
}

static void fuzz_built_model(const uint8_t *data, size_t size)
{
    const uint8_t *text;
    size_t text_len;
    buf model = build_model(data, size, &text, &text_len);
    rt5_tokenizer_params params = rt5_tokenizer_default_params();
    params.kind = RT5_TOKENIZER_SENTENCEPIECE;
    rt5_tokenizer *tok = NULL;
    if (rt5_tokenizer_load_from_memory(model.p ? model.p : (const uint8_t *)"", model.len, &params,
                                       &tok) == RT5_OK) {
        encode_text(tok, text, text_len);
        encode_text(tok, (const uint8_t *)"  caf\xc3\xa9 \xff a\xe2\x96\x81" "b  ", 17);
        for (int32_t i = 0; i < rt5_tokenizer_vocab_size(tok); i++) {
            size_t len;
            if (!rt5_tokenizer_piece(tok, i, &len))
                __builtin_trap();
        }
    } else if (tok && !rt5_tokenizer_last_error(tok)[0]) {
        __builtin_trap();
    }
    rt5_tokenizer_free(tok);
    free(model.p);
}

static void fuzz_pair(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    rt5_pair_params p = rt5_pair_default_params();
    p.max_length = data[0] < 2 ? 0 : data[0];
    p.truncation = (rt5_truncation)(data[1] % 4);
    if (data[1] & 0x80)
        p.text_template = "Query: {query} Document: {document} Relevant:";
    data += 2;
    size -= 2;
    const uint8_t *sep = memchr(data, '|', size);
    size_t ql = sep ? (size_t)(sep - data) : size / 2;
    const uint8_t *d = data + ql + (sep ? 1 : 0);
    size_t dl = size - (size_t)(d - data);
    for (int i = 0; i < 3; i++) {
        if (!real[i])
            continue;
        int32_t ids[1024];
        size_t n = 0, cut = 0;
        rt5_status st = rt5_tokenizer_encode_pair(real[i], &p, (const char *)data, ql, (const char *)d,
                                                  dl, ids, 1024, &n, &cut);
        if (st == RT5_OK && p.max_length > 0 && n > (size_t)p.max_length)
            __builtin_trap(); /* truncation must respect the cap */
        if (st == RT5_OK && (n < 1 || ids[n - 1] != 1))
            __builtin_trap(); /* a pair always ends in </s> */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] >= 0xF8 ? 4 : data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        fuzz_model(data, size, RT5_TOKENIZER_SENTENCEPIECE);
    } else if (mode == 1) {
        fuzz_model(data, size, RT5_TOKENIZER_HF_JSON);
    } else if (mode == 4) {
        fuzz_built_model(data, size);
    } else {
        load_real();
        if (mode == 2) {
            for (int i = 0; i < 3; i++)
                if (real[i])
                    encode_text(real[i], data, size);
        } else {
            fuzz_pair(data, size);
        }
    }
    return 0;
}
