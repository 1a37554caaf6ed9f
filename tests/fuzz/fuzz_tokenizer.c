/*
 * fuzz_tokenizer.c -- libFuzzer target for the tokenizer: the model parsers
 * and the encoder on arbitrary bytes.
 *
 * The first input byte picks what the rest is:
 *   0  a spiece.model (protobuf) loaded from memory, then used to encode
 *   1  a tokenizer.json loaded from memory, then used to encode
 *   2  text for the real T5 tokenizers (spiece.model and both tokenizer.json
 *      files from $RT5_SHARED_DIR/tokenizer or ../shared/tokenizer)
 *   3  a (query, document) pair for the real tokenizers, with the length
 *      cap, truncation strategy and template chosen by the next bytes
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
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        fuzz_model(data, size, RT5_TOKENIZER_SENTENCEPIECE);
    } else if (mode == 1) {
        fuzz_model(data, size, RT5_TOKENIZER_HF_JSON);
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
