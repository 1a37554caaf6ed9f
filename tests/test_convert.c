/*
 * test_convert.c -- converted files (rt5_model_save + loading them).
 *
 * For every golden model (tiny RankT5s scored by transformers), dtype and
 * layout: the converted file must score every golden input exactly as the
 * checkpoint loaded in that dtype does (bit for bit: it holds the very
 * weights, scales and layout the forward pass used), within the dtype's
 * tolerance of transformers' float64 scores, and say in rt5_model_info that
 * it is converted and how many products it used in place. Then damaged
 * converted files -- a header or a value changed the way a bad copy or a
 * hostile file would -- must be refused with a message naming the problem.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "rankt5.h"

/* A converted file with default parameters: F32 means "as stored". */
static rt5_model *load_converted(const char *path)
{
    rt5_model *model = NULL;
    if (rt5_model_load(path, NULL, &model) != RT5_OK) {
        fprintf(stderr, "  load %s: %s\n", path, rt5_model_last_error(model));
        rt5_model_free(model);
        return NULL;
    }
    return model;
}

/* All golden pairs of gm in one batch. */
static bool score_all(const rt5_model *model, const golden_model *gm, float *out)
{
    rt5_seq *seqs = calloc(gm->n_pairs, sizeof *seqs);
    for (size_t k = 0; k < gm->n_pairs; k++)
        seqs[k] = (rt5_seq){gm->pairs[k].ids, gm->pairs[k].n_ids};
    rt5_session_params sp = rt5_session_default_params();
    sp.max_length = 1024, sp.max_batch_tokens = 16384;
    rt5_session *s = NULL;
    bool ok = rt5_session_create(model, &sp, &s) == RT5_OK && rt5_session_score(s, seqs, gm->n_pairs, out) == RT5_OK;
    rt5_session_free(s);
    free(seqs);
    return ok;
}

static const char *tmp_path(const char *tag)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/rt5-test-convert-%ld-%s.safetensors", (long)getpid(), tag);
    return buf;
}

static void check_round_trip(rt5_dtype dt, int portable, double tol)
{
    load_golden();
    REQUIRE(n_models >= 4);
    for (size_t i = 0; i < n_models; i++) {
        const golden_model *gm = &models[i];
        rt5_model *src = golden_load(gm, "safetensors", dt);
        REQUIRE(src);
        float *want = calloc(gm->n_pairs, sizeof(float)), *got = calloc(gm->n_pairs, sizeof(float));
        REQUIRE(score_all(src, gm, want));
        const char *out = tmp_path(rt5_dtype_name(dt));
        rt5_save_params sp = rt5_save_default_params();
        sp.portable = portable;
        CHECK_EQ_INT(rt5_model_save(src, out, &sp), RT5_OK);
        rt5_model_info si;
        rt5_model_get_info(src, &si);
        rt5_model_free(src);

        rt5_model *conv = load_converted(out);
        REQUIRE(conv);
        rt5_model_info ci;
        CHECK_EQ_INT(rt5_model_get_info(conv, &ci), RT5_OK);
        CHECK_EQ_INT(ci.converted, 1);
        CHECK_EQ_INT(ci.compute_dtype, dt);
        CHECK_EQ_INT(ci.file_dtype, dt);
        CHECK_EQ_INT(ci.n_layers, si.n_layers);
        CHECK_EQ_INT(ci.d_ff, si.d_ff);
        CHECK_EQ_INT(ci.gated_gelu, si.gated_gelu);
        CHECK(ci.n_params == si.n_params);
        CHECK(fabs(ci.layer_norm_epsilon - si.layer_norm_epsilon) <= 1e-12);
        CHECK_EQ_INT(ci.n_warnings, 0);
        /* packed: every product straight from the mapping on the CPU that
         * wrote it; portable: every one reordered */
        CHECK_EQ_INT(ci.n_linears_in_place, portable ? 0 : 4 * ci.n_layers);
        REQUIRE(score_all(conv, gm, got));
        size_t same = 0;
        double worst = 0;
        for (size_t k = 0; k < gm->n_pairs; k++) {
            same += memcmp(&got[k], &want[k], sizeof(float)) == 0;
            worst = fmax(worst, fabs(got[k] - gm->pairs[k].f64) / fmax(1.0, fabs(gm->pairs[k].f64)));
        }
        fprintf(stderr, "  %-15s %-4s %-8s: %zu/%zu scores identical to the checkpoint's; max err vs HF f64 %.2e\n",
                gm->name, rt5_dtype_name(dt), portable ? "portable" : "packed", same, gm->n_pairs, worst);
        CHECK(same == gm->n_pairs);
        CHECK(worst <= tol);
        rt5_model_free(conv);
        unlink(out);
        free(want), free(got);
    }
}

TEST(test_convert_f32_packed)
{
    check_round_trip(RT5_DTYPE_F32, 0, 1e-5);
}

TEST(test_convert_bf16_packed)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_round_trip(RT5_DTYPE_BF16, 0, 1e-2);
}

TEST(test_convert_int8_packed)
{
    check_round_trip(RT5_DTYPE_INT8, 0, 3e-2);
}

TEST(test_convert_portable)
{
    check_round_trip(RT5_DTYPE_F32, 1, 1e-5);
    check_round_trip(RT5_DTYPE_INT8, 1, 3e-2);
}

TEST(test_convert_portable_bf16)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_round_trip(RT5_DTYPE_BF16, 1, 1e-2);
}

/* A converted file computes only in its dtype; F32 means "as stored". */
TEST(test_convert_dtype_request)
{
    load_golden();
    REQUIRE(n_models > 0);
    rt5_model *src = golden_load(&models[0], "safetensors", RT5_DTYPE_INT8);
    REQUIRE(src);
    const char *out = tmp_path("req");
    CHECK_EQ_INT(rt5_model_save(src, out, NULL), RT5_OK);
    rt5_model_free(src);
    rt5_model_params mp = rt5_model_default_params();
    mp.compute_dtype = RT5_DTYPE_BF16;
    rt5_model *m = NULL;
    CHECK_EQ_INT(rt5_model_load(out, &mp, &m), RT5_ERR_UNSUPPORTED);
    CHECK(m && strstr(rt5_model_last_error(m), "converted to int8"));
    rt5_model_free(m);
    mp.compute_dtype = RT5_DTYPE_INT8;
    m = NULL;
    CHECK_EQ_INT(rt5_model_load(out, &mp, &m), RT5_OK);
    rt5_model_free(m);
    unlink(out);
}

/* ------------------------------------------------------------ damaged files */

typedef struct st_file {
    json_t *header;
    uint8_t *data;
    size_t data_bytes;
} st_file;

static bool read_st(const char *path, st_file *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    uint8_t len8[8];
    bool ok = fread(len8, 1, 8, fp) == 8;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n |= (uint64_t)len8[i] << (8 * i);
    char *text = ok ? malloc(n + 1) : NULL;
    ok = text && fread(text, 1, n, fp) == n;
    if (ok) {
        text[n] = 0;
        f->header = json_loads(text, 0, NULL);
        long at = ftell(fp);
        fseek(fp, 0, SEEK_END);
        f->data_bytes = (size_t)(ftell(fp) - at);
        fseek(fp, at, SEEK_SET);
        f->data = malloc(f->data_bytes + 1);
        ok = f->header && f->data && fread(f->data, 1, f->data_bytes, fp) == f->data_bytes;
    }
    free(text);
    fclose(fp);
    return ok;
}

static bool write_st(const char *path, const st_file *f)
{
    char *text = json_dumps(f->header, JSON_COMPACT);
    FILE *fp = fopen(path, "wb");
    bool ok = text && fp;
    if (ok) {
        size_t n = strlen(text), padded = (n + 8 + 63) / 64 * 64 - 8; /* keep the data 64-byte aligned */
        uint8_t len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
        ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(text, 1, n, fp) == n;
        for (size_t i = n; ok && i < padded; i++)
            ok = fputc(' ', fp) != EOF;
        ok = ok && fwrite(f->data, 1, f->data_bytes, fp) == f->data_bytes;
    }
    if (fp)
        ok = fclose(fp) == 0 && ok;
    free(text);
    return ok;
}

static void set_meta(st_file *f, const char *key, const char *value)
{
    json_t *meta = json_object_get(f->header, "__metadata__");
    if (value)
        json_object_set_new(meta, key, json_string(value));
    else
        json_object_del(meta, key);
}

/* The data bytes of tensor name (NULL if absent). */
static uint8_t *tensor_data(st_file *f, const char *name)
{
    json_t *off = json_object_get(json_object_get(f->header, name), "data_offsets");
    return off ? f->data + json_integer_value(json_array_get(off, 0)) : NULL;
}

/* Loads the damaged copy: it must fail with status want and a message
 * containing phrase. */
static void expect_refused(const st_file *f, rt5_status want, const char *phrase, const char *what)
{
    const char *path = tmp_path("damaged");
    REQUIRE(write_st(path, f));
    rt5_model *m = NULL;
    rt5_status st = rt5_model_load(path, NULL, &m);
    const char *msg = m ? rt5_model_last_error(m) : "";
    fprintf(stderr, "  %-40s -> %s: %s\n", what, rt5_status_str(st), msg);
    CHECK_EQ_INT(st, want);
    CHECK(strstr(msg, phrase) != NULL);
    rt5_model_free(m);
    unlink(path);
}

TEST(test_convert_damaged_files_refused)
{
    /* the outlier fixture: its int8 products have f32 outlier channels */
    char config[4300], path[4300];
    snprintf(config, sizeof config, "%s", rt5t_path("tests/fixtures/lowp/outlier.config.json"));
    snprintf(path, sizeof path, "%s", rt5t_path("tests/fixtures/lowp/outlier.safetensors"));
    rt5_model_params mp = rt5_model_default_params();
    mp.config_path = config;
    mp.compute_dtype = RT5_DTYPE_INT8;
    rt5_model *src = NULL;
    REQUIRE(rt5_model_load(path, &mp, &src) == RT5_OK);
    const char *good = tmp_path("good");
    REQUIRE(rt5_model_save(src, good, NULL) == RT5_OK);
    rt5_model_info info;
    rt5_model_get_info(src, &info);
    rt5_model_free(src);
    st_file orig = {0};
    REQUIRE(read_st(good, &orig));

#define DAMAGE(edit, want, phrase, what)                                                   \
    do {                                                                                   \
        st_file f = {json_deep_copy(orig.header), malloc(orig.data_bytes), orig.data_bytes}; \
        memcpy(f.data, orig.data, orig.data_bytes);                                        \
        edit;                                                                              \
        expect_refused(&f, want, phrase, what);                                            \
        json_decref(f.header);                                                             \
        free(f.data);                                                                      \
    } while (0)

    DAMAGE(set_meta(&f, "rankt5.format", "rankt5-converted/9"), RT5_ERR_UNSUPPORTED, "rankt5-converted/9",
           "newer format");
    DAMAGE(set_meta(&f, "rankt5.dtype", "fp8"), RT5_ERR_FORMAT, "rankt5.dtype", "unknown dtype");
    DAMAGE(set_meta(&f, "rankt5.config", "{\"d_model\": 16}"), RT5_ERR_FORMAT, "d_ff", "config missing d_ff");
    DAMAGE(set_meta(&f, "rankt5.config", "[1, 2]"), RT5_ERR_FORMAT, "rankt5.config", "config not an object");
    DAMAGE(set_meta(&f, "rankt5.config", NULL), RT5_ERR_FORMAT, "rankt5.config", "config missing");
    DAMAGE(set_meta(&f, "rankt5.wi.layout", "ZZ99q"), RT5_ERR_FORMAT, "ZZ99q", "unknown layout tag");
    DAMAGE(set_meta(&f, "rankt5.wi.layout", "any"), RT5_ERR_FORMAT, "any", "layout 'any'");
    DAMAGE(set_meta(&f, "rankt5.qkv.dtype", "bf16"), RT5_ERR_SHAPE, "qkv.weight", "product dtype mismatch");
    {
        /* a larger d_ff than the stored products were made for */
        json_t *cfg = json_loads(json_string_value(json_object_get(json_object_get(orig.header, "__metadata__"),
                                                                   "rankt5.config")), 0, NULL);
        json_object_set_new(cfg, "d_ff", json_integer(json_integer_value(json_object_get(cfg, "d_ff")) * 2));
        char *text = json_dumps(cfg, JSON_COMPACT);
        DAMAGE(set_meta(&f, "rankt5.config", text), RT5_ERR_SHAPE, "wi.weight", "config d_ff doubled");
        free(text);
        json_object_set_new(cfg, "d_ff", json_integer(1 << 30));
        text = json_dumps(cfg, JSON_COMPACT);
        DAMAGE(set_meta(&f, "rankt5.config", text), RT5_ERR_FORMAT, "d_ff", "config d_ff huge");
        free(text);
        json_decref(cfg);
    }
    DAMAGE(json_object_set(f.header, "rankt5.encoder.block.0.o.renamed",
                           json_object_get(f.header, "rankt5.encoder.block.0.o.scale"));
           json_object_del(f.header, "rankt5.encoder.block.0.o.scale"),
           RT5_ERR_SHAPE, "block.0.o.scale", "missing scale tensor");
    {
        int32_t bad = 1 << 30; /* not a sum of k int8 weights: zp * colsum would overflow */
        DAMAGE(memcpy(tensor_data(&f, "rankt5.encoder.block.1.wi.colsum"), &bad, sizeof bad), RT5_ERR_FORMAT,
               "not a sum of", "colsum out of range");
    }
    {
        /* an outlier channel index past k: would index outside a row */
        const char *name = NULL;
        char key[128];
        for (int l = 0; l < info.n_layers && !name; l++)
            for (int p = 0; p < 4 && !name; p++) {
                static const char *const prods[4] = {"qkv", "o", "wi", "wo"};
                snprintf(key, sizeof key, "rankt5.encoder.block.%d.%s.outlier_idx", l, prods[p]);
                if (json_object_get(orig.header, key))
                    name = key;
            }
        if (name) {
            int32_t bad = 1 << 20;
            DAMAGE(memcpy(tensor_data(&f, name), &bad, sizeof bad), RT5_ERR_FORMAT, "outside", "outlier index past k");
        }
        CHECK(name != NULL); /* the fixture has outlier channels */
    }
#undef DAMAGE
    json_decref(orig.header);
    free(orig.data);
    unlink(good);
}
