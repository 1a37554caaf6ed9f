/*
 * test_tokenizer.c -- the T5 tokenizer against its references.
 *
 * Differential: ids for tests/fixtures/tokenizer/corpus.jsonl were produced
 * by the real sentencepiece (Debian's spm_encode 0.1.97; the Python package
 * for texts containing a newline) and Hugging Face `tokenizers` (see
 * tests/gen/gen_tokenizer_fixtures.py and versions.json); every text must match
 * exactly, for spiece.model and for both tokenizer.json files, and so must
 * the truncated pair encodings in pairs.jsonl. (tests/test_tokenizer_spm.sh
 * also compares against spm_encode live, on raw bytes.)
 *
 * Robustness: truncated and corrupted model files give an error with a
 * message, never a crash; buffers, templates and threads behave as the
 * header promises.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "harness.h"
#include "rankt5.h"

#define FIX "tests/fixtures/tokenizer/"

static rt5_tokenizer *load_shared(const char *name)
{
    const char *env = getenv("RANKT5_T5_SPIECE");
    const char *path = (env && strcmp(name, "t5-spiece.model") == 0) ? env : NULL;
    char rel[256];
    snprintf(rel, sizeof rel, "tokenizer/%s", name);
    if (!path)
        path = rt5t_shared_path(rel);
    rt5_tokenizer *tok = NULL;
    rt5_status st = rt5_tokenizer_load(path, NULL, &tok);
    if (st != RT5_OK) {
        fprintf(stderr, "  cannot load %s: %s\n", path, rt5_tokenizer_last_error(tok));
        rt5_tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

/* Splits buf in place into lines (the last, empty one dropped). */
static size_t split_lines(char *buf, char ***lines)
{
    size_t n = 0, cap = 1024;
    *lines = malloc(cap * sizeof **lines);
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        if (n == cap)
            *lines = realloc(*lines, (cap *= 2) * sizeof **lines);
        (*lines)[n++] = p;
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    return n;
}

/* Parses "1 2 3" into ids; returns the count. */
static size_t parse_ids(const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    char *end;
    for (;;) {
        long v = strtol(s, &end, 10);
        if (end == s || n == cap)
            return n;
        ids[n++] = (int32_t)v;
        s = end;
    }
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* Encodes every corpus text with tokenizer `name` and compares with the
 * expected ids file; returns the number of mismatches. */
static void check_corpus(const char *name, const char *expected_file)
{
    rt5_tokenizer *tok = load_shared(name);
    REQUIRE(tok);
    char *corpus = slurp(rt5t_path(FIX "corpus.jsonl"), NULL);
    char *expected = slurp(rt5t_path(expected_file), NULL);
    REQUIRE(corpus && expected);
    char **texts, **rows;
    size_t n_texts = split_lines(corpus, &texts), n_rows = split_lines(expected, &rows);
    CHECK_EQ_INT(n_texts, n_rows);
    size_t mismatches = 0, total_ids = 0;
    static int32_t want[65536], got[65536];
    for (size_t i = 0; i < n_texts && i < n_rows; i++) {
        json_error_t err;
        json_t *obj = json_loads(texts[i], JSON_ALLOW_NUL, &err);
        json_t *text = json_object_get(obj, "text");
        REQUIRE(json_is_string(text));
        size_t n_want = parse_ids(rows[i], want, 65536), n_got = 0;
        rt5_status st = rt5_tokenizer_encode(tok, json_string_value(text), json_string_length(text),
                                             got, 65536, &n_got);
        total_ids += n_want;
        if (st != RT5_OK || n_got != n_want || memcmp(got, want, n_got * sizeof *got) != 0) {
            if (mismatches++ < 10) {
                fprintf(stderr, "  %s line %zu: %s\n", name, i + 1, texts[i]);
                print_ids("expected", want, n_want);
                print_ids("rankt5  ", got, n_got);
            }
        }
        json_decref(obj);
    }
    fprintf(stderr, "  %s: %zu/%zu texts identical (%zu ids)\n", name, n_texts - mismatches,
            n_texts, total_ids);
    CHECK_EQ_INT(mismatches, 0);
    free(texts);
    free(rows);
    free(corpus);
    free(expected);
    rt5_tokenizer_free(tok);
}

TEST(test_tokenizer_spm_matches_sentencepiece)
{
    check_corpus("t5-spiece.model", FIX "expected_spm.ids");
}

TEST(test_tokenizer_hub_json_matches_tokenizers)
{
    check_corpus("t5-tokenizer.json", FIX "expected_t5-tokenizer.ids");
}

TEST(test_tokenizer_reconverted_json_matches_tokenizers)
{
    check_corpus("t5-tokenizer-reconverted.json", FIX "expected_t5-tokenizer-reconverted.ids");
}

static rt5_truncation truncation_of(const char *s)
{
    if (strcmp(s, "only_second") == 0)
        return RT5_TRUNCATE_ONLY_SECOND;
    if (strcmp(s, "only_first") == 0)
        return RT5_TRUNCATE_ONLY_FIRST;
    return RT5_TRUNCATE_LONGEST_FIRST;
}

static void check_pairs(const char *name)
{
    rt5_tokenizer *tok = load_shared(name);
    REQUIRE(tok);
    char *buf = slurp(rt5t_path(FIX "pairs.jsonl"), NULL);
    REQUIRE(buf);
    char **lines;
    size_t n = split_lines(buf, &lines), mismatches = 0, errors = 0;
    static int32_t got[65536];
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_loads(lines[i], JSON_ALLOW_NUL, NULL);
        json_t *q = json_object_get(row, "query"), *d = json_object_get(row, "document");
        json_t *exp = json_object_get(row, name);
        REQUIRE(json_is_string(q) && json_is_string(d) && json_is_object(exp));
        rt5_pair_params p = rt5_pair_default_params();
        p.max_length = (int32_t)json_integer_value(json_object_get(row, "max_length"));
        p.truncation = truncation_of(json_string_value(json_object_get(row, "truncation")));
        size_t n_got = 0, cut = 0;
        rt5_status st = rt5_tokenizer_encode_pair(tok, &p, json_string_value(q), json_string_length(q),
                                                  json_string_value(d), json_string_length(d), got,
                                                  65536, &n_got, &cut);
        json_t *ids = json_object_get(exp, "ids");
        bool ok;
        if (!ids) { /* tokenizers refused: we must refuse too */
            ok = st == RT5_ERR_TOO_LONG;
            errors++;
        } else {
            ok = st == RT5_OK && n_got == json_array_size(ids) &&
                 (long long)cut == json_integer_value(json_object_get(exp, "truncated"));
            for (size_t k = 0; ok && k < n_got; k++)
                ok = got[k] == json_integer_value(json_array_get(ids, k));
        }
        if (!ok && mismatches++ < 5)
            fprintf(stderr, "  %s pair line %zu differs (status %d, %zu ids, cut %zu)\n", name,
                    i + 1, st, n_got, cut);
        json_decref(row);
    }
    fprintf(stderr, "  %s: %zu/%zu pairs identical (%zu refused by both)\n", name, n - mismatches,
            n, errors);
    CHECK_EQ_INT(mismatches, 0);
    free(lines);
    free(buf);
    rt5_tokenizer_free(tok);
}

TEST(test_tokenizer_pairs_match_tokenizers)
{
    check_pairs("t5-tokenizer.json");
    check_pairs("t5-tokenizer-reconverted.json");
}

/* The spiece model follows the same pair rules (the DEVELOPERS.md recipe:
 * sp(query) </s> sp(document) </s>). On the ASCII pairs where sentencepiece
 * and the Hub file agree per text, the pair ids must agree too. */
TEST(test_tokenizer_spm_pair_layout)
{
    rt5_tokenizer *tok = load_shared("t5-spiece.model");
    REQUIRE(tok);
    int32_t q[64], d[64], pair[256];
    size_t nq, nd, np, cut;
    REQUIRE(rt5_tokenizer_encode(tok, "what is rankt5", 14, q, 64, &nq) == RT5_OK);
    REQUIRE(rt5_tokenizer_encode(tok, "A reranker.", 11, d, 64, &nd) == RT5_OK);
    REQUIRE(rt5_tokenizer_encode_pair(tok, NULL, "what is rankt5", 14, "A reranker.", 11, pair, 256,
                                      &np, &cut) == RT5_OK);
    CHECK_EQ_INT(np, nq + nd + 2);
    CHECK(memcmp(pair, q, nq * sizeof *q) == 0);
    CHECK_EQ_INT(pair[nq], 1);
    CHECK(memcmp(pair + nq + 1, d, nd * sizeof *d) == 0);
    CHECK_EQ_INT(pair[np - 1], 1);
    CHECK_EQ_INT(cut, 0);
    rt5_tokenizer_free(tok);
}

TEST(test_tokenizer_t5_specials)
{
    const char *names[] = {"t5-spiece.model", "t5-tokenizer.json", "t5-tokenizer-reconverted.json"};
    for (int k = 0; k < 3; k++) {
        rt5_tokenizer *tok = load_shared(names[k]);
        REQUIRE(tok);
        CHECK_EQ_INT(rt5_tokenizer_vocab_size(tok), 32100);
        size_t len;
        const char *p = rt5_tokenizer_piece(tok, 1, &len);
        CHECK(p && len == 4 && memcmp(p, "</s>", 4) == 0);
        p = rt5_tokenizer_piece(tok, 0, &len);
        CHECK(p && len == 5 && memcmp(p, "<pad>", 5) == 0);
        p = rt5_tokenizer_piece(tok, 2, &len);
        CHECK(p && len == 5 && memcmp(p, "<unk>", 5) == 0);
        p = rt5_tokenizer_piece(tok, 32099, &len);
        CHECK(p && len == 12 && memcmp(p, "<extra_id_0>", 12) == 0);
        p = rt5_tokenizer_piece(tok, 32000, &len);
        CHECK(p && len == 13 && memcmp(p, "<extra_id_99>", 13) == 0);
        CHECK(rt5_tokenizer_piece(tok, 32100, &len) == NULL);
        CHECK(rt5_tokenizer_piece(tok, -1, &len) == NULL);
        rt5_tokenizer_free(tok);
    }
}

TEST(test_tokenizer_buffer_too_small_reports_size)
{
    rt5_tokenizer *tok = load_shared("t5-spiece.model");
    REQUIRE(tok);
    int32_t ids[2];
    size_t n = 0;
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "Hello world, again", 18, ids, 2, &n),
                 RT5_ERR_BUFFER_TOO_SMALL);
    CHECK(n > 2);
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "", 0, NULL, 0, &n), RT5_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(rt5_tokenizer_encode(NULL, "x", 1, ids, 2, &n), RT5_ERR_INVALID_ARGUMENT);
    rt5_tokenizer_free(tok);
}

/* Every prefix length and a sweep of byte flips of the real model must load
 * or fail cleanly with a message. */
TEST(test_tokenizer_corrupt_model_fails_cleanly)
{
    size_t n;
    const char *env = getenv("RANKT5_T5_SPIECE");
    char *bytes = slurp(env ? env : rt5t_shared_path("tokenizer/t5-spiece.model"), &n);
    REQUIRE(bytes);
    size_t failures = 0;
    size_t cuts[] = {0, 1, 2, 3, 5, 10, 100, 1000, 50000, n / 2, n - 237600, n - 1000, n - 10, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rt5_tokenizer *tok = NULL;
        rt5_status st = rt5_tokenizer_load_from_memory((const uint8_t *)bytes, cuts[i], NULL, &tok);
        if (st != RT5_OK) {
            failures++;
            CHECK(tok && strlen(rt5_tokenizer_last_error(tok)) > 0);
        } else {
            int32_t ids[64];
            size_t k;
            rt5_tokenizer_encode(tok, "still works?", 12, ids, 64, &k);
        }
        rt5_tokenizer_free(tok);
    }
    CHECK(failures >= 10);
    /* Any cut before the normalizer_spec ends (the last ~237 kB) must fail,
     * even one at a protobuf field boundary. */
    size_t loaded = 0;
    for (size_t cut = 0; cut < n - 237600; cut += 1013) {
        rt5_tokenizer *tok = NULL;
        loaded += rt5_tokenizer_load_from_memory((const uint8_t *)bytes, cut, NULL, &tok) == RT5_OK;
        rt5_tokenizer_free(tok);
    }
    CHECK_EQ_INT(loaded, 0);
    for (size_t pos = 0; pos < n; pos += n / 97) {
        char saved = bytes[pos];
        bytes[pos] ^= (char)0x5A;
        rt5_tokenizer *tok = NULL;
        if (rt5_tokenizer_load_from_memory((const uint8_t *)bytes, n, NULL, &tok) == RT5_OK) {
            int32_t ids[256];
            size_t k;
            rt5_tokenizer_encode(tok, "caf\xc3\xa9 \xef\xac\x81 x  y", 13, ids, 256, &k);
        } else {
            CHECK(strlen(rt5_tokenizer_last_error(tok)) > 0);
        }
        rt5_tokenizer_free(tok);
        bytes[pos] = saved;
    }
    free(bytes);
}

TEST(test_tokenizer_bad_files_give_clear_errors)
{
    static const struct { const char *bytes; const char *needle; } cases[] = {
        {"", "no pieces"},
        {"\x0a\xff\xff\xff\xff\x0f", "malformed or truncated"},
        {"{", "tokenizer.json"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "only Unigram"},
        {"{\"model\": {\"vocab\": [[\"a\", 0.0]], \"unk_id\": 5}}", "unk_id"},
        {"{\"model\": {\"vocab\": [[\"<unk>\", 0.0], [\"</s>\", 0.0]], \"unk_id\": 0},"
         " \"normalizer\": {\"type\": \"NFKC\"}}", "NFKC"},
        {"{\"model\": {\"vocab\": [[\"<unk>\", 0.0], [\"</s>\", 0.0]], \"unk_id\": 0},"
         " \"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"!!\"}}", "base64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt5_tokenizer *tok = NULL;
        rt5_status st = rt5_tokenizer_load_from_memory((const uint8_t *)cases[i].bytes,
                                                       strlen(cases[i].bytes), NULL, &tok);
        CHECK(st != RT5_OK);
        REQUIRE(tok);
        if (!strstr(rt5_tokenizer_last_error(tok), cases[i].needle)) {
            fprintf(stderr, "  case %zu: \"%s\" lacks \"%s\"\n", i, rt5_tokenizer_last_error(tok),
                    cases[i].needle);
            CHECK(0);
        }
        CHECK_EQ_INT(rt5_tokenizer_vocab_size(tok), 0);
        rt5_tokenizer_free(tok);
    }
    rt5_tokenizer *tok = NULL;
    CHECK_EQ_INT(rt5_tokenizer_load("/nonexistent/spiece.model", NULL, &tok), RT5_ERR_IO);
    CHECK(tok && strstr(rt5_tokenizer_last_error(tok), "/nonexistent/spiece.model"));
    rt5_tokenizer_free(tok);
}

/* A tiny spiece.model written field by field: pieces <unk>, </s>, "▁x" and
 * "▁a", and a precompiled charsmap of one rule, "a" -> "x", as a darts-clone
 * double array of 512 units: the root's children sit at 256 ^ byte, the
 * unit for 'a' (at 256 ^ 0x61) has a leaf whose value unit is unit 256.
 * rule_value is the rule's offset into the replacement strings ("x\0"),
 * root where the root's children start (256 in a valid array). */
static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t put_message(uint8_t *out, uint32_t field, const uint8_t *body, size_t len)
{
    size_t n = put_varint(out, (uint64_t)field << 3 | 2);
    n += put_varint(out + n, len);
    memcpy(out + n, body, len);
    return n + len;
}

static size_t tiny_model_with_charsmap(uint8_t *out, uint32_t rule_value, uint32_t root)
{
    static const struct { const char *piece; uint8_t type; } pieces[] = {
        {"<unk>", 2}, {"</s>", 3}, {"\xe2\x96\x81x", 1}, {"\xe2\x96\x81" "a", 1}};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) {
        uint8_t body[32];
        size_t len = strlen(pieces[i].piece), b = 0;
        body[b++] = 0x0A; /* 1: piece */
        body[b++] = (uint8_t)len;
        memcpy(body + b, pieces[i].piece, len);
        b += len;
        memcpy(body + b, "\x15\x00\x00\x80\xbf", 5); /* 2: score -1.0f */
        b += 5;
        body[b++] = 0x18; /* 3: type */
        body[b++] = pieces[i].type;
        n += put_message(out + n, 1, body, b);
    }
    n += put_message(out + n, 2, (const uint8_t *)"\x18\x01", 2); /* model_type UNIGRAM */
    static uint8_t blob[4 + 512 * 4 + 2];
    uint32_t units[512] = {0};
    units[0] = root << 10;                        /* root: children at 256 ^ c */
    units[256 ^ 0x61] = 0x61 | 1u << 8 | 0x61u << 10; /* 'a', has a leaf; next = 256 */
    units[256] = 1u << 31 | rule_value;           /* the leaf's value */
    uint32_t trie_bytes = sizeof units;
    memcpy(blob, &trie_bytes, 4);
    memcpy(blob + 4, units, sizeof units);
    memcpy(blob + 4 + sizeof units, "x", 2);
    uint8_t spec[sizeof blob + 8];
    size_t s = put_message(spec, 2, blob, sizeof blob); /* 2: precompiled_charsmap */
    return n + put_message(out + n, 3, spec, s);
}

/* libsentencepiece trusts a charsmap blindly; rankt5 checks it first. A
 * valid rule is applied by the library, a rule pointing outside its strings
 * and a root whose children lie outside the array are refused. */
TEST(test_tokenizer_spm_charsmap_is_checked_before_the_library)
{
    static uint8_t model[4096];
    size_t n = tiny_model_with_charsmap(model, 0, 256);
    rt5_tokenizer *tok = NULL;
    REQUIRE(rt5_tokenizer_load_from_memory(model, n, NULL, &tok) == RT5_OK);
    int32_t ids[8];
    size_t k = 0;
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "a", 1, ids, 8, &k), RT5_OK);
    CHECK_EQ_INT(k, 1);
    CHECK_EQ_INT(ids[0], 2); /* "a" -> "x" -> "▁x" */
    rt5_tokenizer_free(tok);

    n = tiny_model_with_charsmap(model, 1000, 256);
    CHECK(rt5_tokenizer_load_from_memory(model, n, NULL, &tok) == RT5_ERR_FORMAT);
    CHECK(tok && strstr(rt5_tokenizer_last_error(tok), "outside its replacement strings"));
    rt5_tokenizer_free(tok);

    n = tiny_model_with_charsmap(model, 0, 4096); /* past the 512 units */
    CHECK(rt5_tokenizer_load_from_memory(model, n, NULL, &tok) == RT5_ERR_FORMAT);
    CHECK(tok && strstr(rt5_tokenizer_last_error(tok), "precompiled charsmap"));
    rt5_tokenizer_free(tok);
}

TEST(test_tokenizer_template_cuts_document_first)
{
    rt5_tokenizer *tok = load_shared("t5-tokenizer.json");
    REQUIRE(tok);
    const char *q = "what is a reranker";
    const char *d = "A reranker reorders the documents that a first-stage retriever returned, "
                    "using a stronger but slower model such as a cross-encoder.";
    rt5_pair_params p = rt5_pair_default_params();
    p.text_template = "Query: {query} Document: {document} Relevant:";
    int32_t full[256], cut_ids[256], whole[256];
    size_t n_full, n_cut, n_whole, cut = 99;
    REQUIRE(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), full, 256, &n_full,
                                      &cut) == RT5_OK);
    CHECK_EQ_INT(cut, 0);
    /* Untruncated, the template is one text followed by </s>. */
    char text[512];
    snprintf(text, sizeof text, "Query: %s Document: %s Relevant:", q, d);
    REQUIRE(rt5_tokenizer_encode(tok, text, strlen(text), whole, 256, &n_whole) == RT5_OK);
    CHECK_EQ_INT(n_full, n_whole + 1);
    CHECK(memcmp(full, whole, n_whole * sizeof *whole) == 0);
    CHECK_EQ_INT(full[n_full - 1], 1);
    /* Cut to 20: the query part and the template's tail survive. */
    p.max_length = 20;
    REQUIRE(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), cut_ids, 256, &n_cut,
                                      &cut) == RT5_OK);
    CHECK_EQ_INT(n_cut, 20);
    CHECK_EQ_INT(cut, n_full - 20);
    CHECK(memcmp(cut_ids, full, 13 * sizeof *full) == 0); /* "Query: ... Document:" */
    CHECK(memcmp(cut_ids + n_cut - 4, full + n_full - 4, 4 * sizeof *full) == 0); /* " Relevant:</s>" */
    CHECK(memcmp(cut_ids + 13, full + 13, 3 * sizeof *full) == 0); /* the document's start */
    p.truncation = RT5_TRUNCATE_NONE;
    CHECK_EQ_INT(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), cut_ids, 256, &n_cut,
                                           &cut), RT5_ERR_TOO_LONG);
    rt5_tokenizer_free(tok);
}

TEST(test_tokenizer_longest_first_arithmetic)
{
    /* tokenizers' rule, with budget B = max_length - 2 and s the shorter:
     * the longer gets max(s, B - s); if s + that exceeds B, both get B/2
     * and the longer the odd token. */
    rt5_tokenizer *tok = load_shared("t5-spiece.model");
    REQUIRE(tok);
    const char *q = "the of and to in is for";      /* 7 one-piece words */
    const char *d = "you that it was on are as be"; /* 8 */
    int32_t ids[64];
    size_t n, cut;
    rt5_pair_params p = rt5_pair_default_params();
    p.max_length = 11; /* budget 9: 4 + 5 */
    REQUIRE(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), ids, 64, &n, &cut) == RT5_OK);
    CHECK_EQ_INT(n, 11);
    CHECK_EQ_INT(cut, 6);
    CHECK_EQ_INT(ids[4], 1); /* query kept 4, the longer document 5 */
    p.max_length = 14; /* budget 12: 7 + max(7, 5) > 12, so 6 + 6 */
    REQUIRE(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), ids, 64, &n, &cut) == RT5_OK);
    CHECK_EQ_INT(ids[6], 1);
    CHECK_EQ_INT(n, 14);
    p.max_length = 16; /* budget 14: the shorter query stays whole, 7 + 7 */
    REQUIRE(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), ids, 64, &n, &cut) == RT5_OK);
    CHECK_EQ_INT(ids[7], 1);
    CHECK_EQ_INT(cut, 1);
    p.truncation = RT5_TRUNCATE_ONLY_SECOND;
    p.max_length = 9; /* the query alone fills it: the document cannot keep a token */
    CHECK_EQ_INT(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), ids, 64, &n, &cut),
                 RT5_ERR_TOO_LONG);
    p.max_length = 1;
    CHECK_EQ_INT(rt5_tokenizer_encode_pair(tok, &p, q, strlen(q), d, strlen(d), ids, 64, &n, &cut),
                 RT5_ERR_INVALID_ARGUMENT);
    rt5_tokenizer_free(tok);
}

typedef struct thread_job {
    const rt5_tokenizer *tok;
    char **texts;
    size_t n;
    int32_t *expected; /* n rows of up to 8192 ids */
    size_t *expected_n;
    int failures;
} thread_job;

static void *encode_all(void *arg)
{
    thread_job *job = arg;
    static _Thread_local int32_t ids[8192];
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < job->n; i++) {
            size_t n = 0;
            rt5_tokenizer_encode(job->tok, job->texts[i], strlen(job->texts[i]), ids, 8192, &n);
            if (n != job->expected_n[i] || memcmp(ids, job->expected + 8192 * i, n * sizeof *ids) != 0)
                job->failures++;
        }
    }
    return NULL;
}

TEST(test_tokenizer_is_thread_safe)
{
    const char *names[] = {"t5-spiece.model", "t5-tokenizer.json"};
    for (int k = 0; k < 2; k++) {
        rt5_tokenizer *tok = load_shared(names[k]);
        REQUIRE(tok);
        char *corpus = slurp(rt5t_path(FIX "corpus.jsonl"), NULL);
        REQUIRE(corpus);
        char **lines;
        size_t n = split_lines(corpus, &lines);
        n = n > 400 ? 400 : n; /* the raw JSON lines are fine as texts here */
        int32_t *expected = malloc(n * 8192 * sizeof *expected);
        size_t *expected_n = malloc(n * sizeof *expected_n);
        for (size_t i = 0; i < n; i++)
            rt5_tokenizer_encode(tok, lines[i], strlen(lines[i]), expected + 8192 * i, 8192, &expected_n[i]);
        thread_job jobs[4];
        pthread_t threads[4];
        for (int t = 0; t < 4; t++) {
            jobs[t] = (thread_job){tok, lines, n, expected, expected_n, 0};
            pthread_create(&threads[t], NULL, encode_all, &jobs[t]);
        }
        for (int t = 0; t < 4; t++) {
            pthread_join(threads[t], NULL);
            CHECK_EQ_INT(jobs[t].failures, 0);
        }
        free(expected);
        free(expected_n);
        free(lines);
        free(corpus);
        rt5_tokenizer_free(tok);
    }
}

TEST(test_tokenizer_load_from_memory_equals_file)
{
    size_t n;
    char *bytes = slurp(rt5t_shared_path("tokenizer/t5-tokenizer.json"), &n);
    REQUIRE(bytes);
    rt5_tokenizer *a = NULL, *b = load_shared("t5-tokenizer.json");
    rt5_tokenizer_params params = rt5_tokenizer_default_params();
    params.kind = RT5_TOKENIZER_HF_JSON;
    REQUIRE(rt5_tokenizer_load_from_memory((const uint8_t *)bytes, n, &params, &a) == RT5_OK);
    free(bytes); /* the tokenizer keeps no pointer into the caller's bytes */
    REQUIRE(b);
    const char *text = "Ｆｕｌｌ-width ﬁ and e\xcc\x81 </s> <extra_id_7>!";
    int32_t x[64], y[64];
    size_t nx, ny;
    CHECK_EQ_INT(rt5_tokenizer_encode(a, text, strlen(text), x, 64, &nx), RT5_OK);
    CHECK_EQ_INT(rt5_tokenizer_encode(b, text, strlen(text), y, 64, &ny), RT5_OK);
    CHECK(nx == ny && memcmp(x, y, nx * sizeof *x) == 0);
    rt5_tokenizer_free(a);
    rt5_tokenizer_free(b);
    /* Forcing the wrong kind is a clean error. */
    params.kind = RT5_TOKENIZER_SENTENCEPIECE;
    rt5_tokenizer *c = NULL;
    CHECK(rt5_tokenizer_load_from_memory((const uint8_t *)"{}", 2, &params, &c) != RT5_OK);
    rt5_tokenizer_free(c);
}

/* Invalid UTF-8 through the JSON tokenizer: each bad byte becomes U+FFFD,
 * as sentencepiece does (the test_tokenizer_spm.sh run checks the spm side). */
TEST(test_tokenizer_invalid_utf8_in_json_tokenizer)
{
    rt5_tokenizer *tok = load_shared("t5-tokenizer.json");
    REQUIRE(tok);
    int32_t x[64], y[64];
    size_t nx, ny;
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "a\xff\xc3 b", 5, x, 64, &nx), RT5_OK);
    const char *same = "a\xef\xbf\xbd\xef\xbf\xbd b";
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, same, strlen(same), y, 64, &ny), RT5_OK);
    CHECK(nx == ny && memcmp(x, y, nx * sizeof *x) == 0);
    rt5_tokenizer_free(tok);
}

/* A model directory: tokenizer.json is preferred over spiece.model (the model
 * card's AutoTokenizer behaviour); "</s>" typed as text tells them apart. */
TEST(test_tokenizer_directory_prefers_tokenizer_json)
{
    char dir[] = "/tmp/rt5_tokdir_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char link_spm[512], link_json[512], target[8192];
    snprintf(link_spm, sizeof link_spm, "%s/spiece.model", dir);
    snprintf(link_json, sizeof link_json, "%s/tokenizer.json", dir);
    const char *env = getenv("RANKT5_T5_SPIECE");
    REQUIRE(realpath(env ? env : rt5t_shared_path("tokenizer/t5-spiece.model"), target));
    CHECK(symlink(target, link_spm) == 0);
    int32_t ids[16];
    size_t n = 0;
    rt5_tokenizer *tok = NULL;
    REQUIRE(rt5_tokenizer_load(dir, NULL, &tok) == RT5_OK);
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "</s>", 4, ids, 16, &n), RT5_OK);
    CHECK(n > 1); /* sentencepiece: text pieces */
    rt5_tokenizer_free(tok);
    REQUIRE(realpath(rt5t_shared_path("tokenizer/t5-tokenizer.json"), target));
    CHECK(symlink(target, link_json) == 0);
    REQUIRE(rt5_tokenizer_load(dir, NULL, &tok) == RT5_OK);
    CHECK_EQ_INT(rt5_tokenizer_encode(tok, "</s>", 4, ids, 16, &n), RT5_OK);
    CHECK(n == 1 && ids[0] == 1); /* tokenizers: the special token */
    rt5_tokenizer_free(tok);
    unlink(link_spm);
    unlink(link_json);
    tok = NULL;
    CHECK_EQ_INT(rt5_tokenizer_load(dir, NULL, &tok), RT5_ERR_IO);
    CHECK(tok && strstr(rt5_tokenizer_last_error(tok), "neither"));
    rt5_tokenizer_free(tok);
    rmdir(dir);
}
