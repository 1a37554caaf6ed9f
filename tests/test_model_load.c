/*
 * test_model_load.c -- rt5_model loading against checkpoints written by real
 * torch.save and the safetensors library (tests/gen/gen_checkpoint_fixtures.py):
 * the inferred configuration, and every tensor's values compared with the
 * values the generator wrote beside each checkpoint (*.values.txt).
 */
#include <stdint.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "harness.h"
#include "model/weights.h"

#define FIX "tests/fixtures/checkpoints/"

/* A per-process file name, so concurrent test runs never collide. */
static void tmp_name(char *buf, size_t cap, const char *stem)
{
    snprintf(buf, cap, "%s.%ld", stem, (long)getpid());
}

/* ------------------------------------------------------------- helpers */

/* The float pointer the model bound for a checkpoint key, or NULL. */
static const float *bound_pointer(const rt5_model *m, const char *key, int *is_embed_alias)
{
    const rt5__model_weights *w = &m->weights;
    *is_embed_alias = 0;
    if (strncmp(key, "model.", 6) == 0)
        key += 6;
    static const struct {
        const char *name;
        size_t offset;
    } top[] = {
        {"shared.weight", offsetof(rt5__model_weights, embed)},
        {"encoder.final_layer_norm.weight", offsetof(rt5__model_weights, final_ln)},
        {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
         offsetof(rt5__model_weights, rel_bias)},
        {"first_transform.weight", offsetof(rt5__model_weights, head_w1)},
        {"first_transform.bias", offsetof(rt5__model_weights, head_b1)},
        {"layer_norm.weight", offsetof(rt5__model_weights, head_ln_w)},
        {"layer_norm.bias", offsetof(rt5__model_weights, head_ln_b)},
        {"linear.weight", offsetof(rt5__model_weights, head_w2)},
        {"linear.bias", offsetof(rt5__model_weights, head_b2)},
    };
    if (strcmp(key, "encoder.embed_tokens.weight") == 0) {
        *is_embed_alias = 1;
        return w->embed;
    }
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (strcmp(key, top[i].name) == 0)
            return *(const float *const *)((const char *)w + top[i].offset);
    int block, layer, n = 0;
    char rest[128];
    if (sscanf(key, "encoder.block.%d.layer.%d.%127s%n", &block, &layer, rest, &n) != 3 ||
        block < 0 || block >= m->config.n_layers)
        return NULL;
    const rt5__block_weights *b = &w->blocks[block];
    static const struct {
        const char *name;
        size_t offset;
    } blk[] = {
        {"layer_norm.weight", 0}, {"SelfAttention.q.weight", offsetof(rt5__block_weights, q)},
        {"SelfAttention.k.weight", offsetof(rt5__block_weights, k)},
        {"SelfAttention.v.weight", offsetof(rt5__block_weights, v)},
        {"SelfAttention.o.weight", offsetof(rt5__block_weights, o)},
        {"DenseReluDense.wi.weight", offsetof(rt5__block_weights, wi)},
        {"DenseReluDense.wi_0.weight", offsetof(rt5__block_weights, wi_0)},
        {"DenseReluDense.wi_1.weight", offsetof(rt5__block_weights, wi_1)},
        {"DenseReluDense.wo.weight", offsetof(rt5__block_weights, wo)},
    };
    if (strcmp(rest, "layer_norm.weight") == 0)
        return layer == 0 ? b->ln_attn : b->ln_ff;
    for (size_t i = 1; i < sizeof blk / sizeof blk[0]; i++)
        if (strcmp(rest, blk[i].name) == 0)
            return *(const float *const *)((const char *)b + blk[i].offset);
    return NULL;
}

/* Compares every line "key shape v0 v1 ..." of a values file with the
 * model's bound weights. Returns the number of elements compared, or -1. */
static long compare_values(const rt5_model *m, const char *values_rel, uint64_t *params)
{
    FILE *f = fopen(rt5t_path(values_rel), "r");
    if (!f) {
        fprintf(stderr, "  cannot open %s\n", values_rel);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long compared = 0, mismatches = 0;
    *params = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#')
            continue;
        char *save = NULL, *key = strtok_r(line, " \n", &save), *shape = strtok_r(NULL, " \n", &save);
        if (!key || !shape)
            continue;
        int alias;
        const float *p = bound_pointer(m, key, &alias);
        if (!p) {
            fprintf(stderr, "  key %s not bound\n", key);
            mismatches++;
            continue;
        }
        long i = 0;
        for (char *tok = strtok_r(NULL, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
            float want = strtof(tok, NULL);
            if (memcmp(&p[i], &want, sizeof want) != 0 && mismatches++ < 5)
                fprintf(stderr, "  %s[%ld]: got %.9g, want %.9g\n", key, i, (double)p[i],
                        (double)want);
            compared++;
        }
        if (!alias)
            *params += (uint64_t)i;
    }
    free(line);
    fclose(f);
    return mismatches ? -1 : compared;
}

static rt5_model *load_ok(const char *rel, const rt5_model_params *params)
{
    rt5_model *m = NULL;
    rt5_status st = rt5__model_load_unprepared(rt5t_path(rel), params, &m);
    if (st != RT5_OK) {
        fprintf(stderr, "  load %s: %s: %s\n", rel, rt5_status_str(st), rt5_model_last_error(m));
        rt5_model_free(m);
        return NULL;
    }
    return m;
}

static void check_tiny_config(const rt5_model *m, bool gated)
{
    const rt5__t5_config *c = &m->config;
    CHECK_EQ_INT(c->d_model, 16);
    CHECK_EQ_INT(c->d_ff, 32);
    CHECK_EQ_INT(c->n_heads, 2);
    CHECK_EQ_INT(c->d_kv, 4);
    CHECK_EQ_INT(c->n_layers, 2);
    CHECK_EQ_INT(c->vocab_size, 40);
    CHECK_EQ_INT(c->num_buckets, 8);
    CHECK_EQ_INT(c->gated_gelu, gated);
    CHECK_EQ_INT(c->max_distance, 128);
    CHECK(c->eps == 1e-6f);
    CHECK(c->head_eps == 1e-12f);
}

/* Loads ckpt, checks the config, file dtype and every value. */
static void check_fixture(const char *ckpt, const char *values, bool gated, rt5_dtype dtype)
{
    rt5_model *m = load_ok(ckpt, NULL);
    REQUIRE(m != NULL);
    check_tiny_config(m, gated);
    CHECK_EQ_INT(m->file_dtype, dtype);
    uint64_t params = 0;
    long n = compare_values(m, values, &params);
    CHECK(n > 4000);
    CHECK_EQ_INT(m->n_params, params);
    rt5_model_info info;
    CHECK_EQ_INT(rt5_model_get_info(m, &info), RT5_OK);
    CHECK_EQ_INT(info.n_params, params);
    CHECK_EQ_INT(info.n_warnings, 0);
    CHECK(info.bytes_mapped > 0);
    rt5_model_free(m);
}

/* ------------------------------------------------------------- tests */

TEST(test_model_load_torch_bin_all_dtypes_match_python_values)
{
    check_fixture(FIX "relu_f32.bin", FIX "relu_f32.values.txt", false, RT5_DTYPE_F32);
    check_fixture(FIX "relu_f16.bin", FIX "relu_f16.values.txt", false, RT5_DTYPE_F16);
    check_fixture(FIX "relu_bf16.bin", FIX "relu_bf16.values.txt", false, RT5_DTYPE_BF16);
    check_fixture(FIX "gated_f32.bin", FIX "gated_f32.values.txt", true, RT5_DTYPE_F32);
    check_fixture(FIX "gated_f16.bin", FIX "gated_f16.values.txt", true, RT5_DTYPE_F16);
    check_fixture(FIX "gated_bf16.bin", FIX "gated_bf16.values.txt", true, RT5_DTYPE_BF16);
}

TEST(test_model_load_safetensors_all_dtypes_match_python_values)
{
    check_fixture(FIX "relu_f32.safetensors", FIX "relu_f32.values.txt", false, RT5_DTYPE_F32);
    check_fixture(FIX "relu_f16.safetensors", FIX "relu_f16.values.txt", false, RT5_DTYPE_F16);
    check_fixture(FIX "relu_bf16.safetensors", FIX "relu_bf16.values.txt", false, RT5_DTYPE_BF16);
    check_fixture(FIX "gated_f32.safetensors", FIX "gated_f32.values.txt", true, RT5_DTYPE_F32);
    check_fixture(FIX "gated_f16.safetensors", FIX "gated_f16.values.txt", true, RT5_DTYPE_F16);
    check_fixture(FIX "gated_bf16.safetensors", FIX "gated_bf16.values.txt", true, RT5_DTYPE_BF16);
}

TEST(test_model_load_f32_weights_are_used_in_place_and_tied_once)
{
    rt5_model *m = load_ok(FIX "relu_f32.bin", NULL);
    REQUIRE(m != NULL);
    CHECK_EQ_INT(m->n_owned, 0); /* nothing copied */
    const rt5__mapped_file *file = &m->tensors->files[0];
    const uint8_t *lo = file->data, *hi = file->data + file->size;
    const uint8_t *embed = (const uint8_t *)m->weights.embed;
    CHECK(embed >= lo && embed < hi);
    const rt5__tensor_view *shared = rt5__tensor_set_find(m->tensors, "model.shared.weight");
    const rt5__tensor_view *tok = rt5__tensor_set_find(m->tensors, "model.encoder.embed_tokens.weight");
    REQUIRE(shared && tok);
    CHECK(shared->data == tok->data);             /* one storage in the file */
    CHECK_EQ_INT(shared->storage_id, tok->storage_id);
    CHECK_EQ_INT(m->n_params, 640 + 8 * 2 + 2 * (16 + 4 * 128 + 16 + 2 * 512) + 16 + 321);
    rt5_model_free(m);
}

TEST(test_model_load_f16_is_converted_once_into_owned_buffers)
{
    rt5_model *m = load_ok(FIX "gated_f16.bin", NULL);
    REQUIRE(m != NULL);
    /* 1 embed + 1 rel bias + 2 x 9 block tensors + final ln + 6 head */
    CHECK_EQ_INT(m->n_owned, 1 + 1 + 2 * 9 + 1 + 6);
    rt5_model_free(m);
}

TEST(test_model_load_strided_and_offset_views_are_gathered)
{
    rt5_model *m = load_ok(FIX "relu_f32_strided.bin", NULL);
    REQUIRE(m != NULL);
    const rt5__tensor_view *w = rt5__tensor_set_find(m->tensors, "first_transform.weight");
    const rt5__tensor_view *b = rt5__tensor_set_find(m->tensors, "linear.bias");
    REQUIRE(w && b);
    CHECK(!w->contiguous);
    CHECK_EQ_INT(w->strides[0], 1);
    CHECK_EQ_INT(w->strides[1], 16);
    CHECK(b->contiguous);
    CHECK_EQ_INT(m->n_owned, 1); /* only the transposed one needs a copy */
    uint64_t params;
    CHECK(compare_values(m, FIX "relu_f32.values.txt", &params) > 4000);
    rt5_model_free(m);
}

TEST(test_model_load_sharded_folder_reads_index_and_config)
{
    rt5_model *m = load_ok(FIX "relu_f32_sharded", NULL);
    REQUIRE(m != NULL);
    CHECK_EQ_INT(m->tensors->n_files, 2);
    CHECK_EQ_INT(m->config.max_distance, 64);
    CHECK(m->config.eps == 1e-5f);
    uint64_t params;
    CHECK(compare_values(m, FIX "relu_f32.values.txt", &params) > 4000);
    rt5_model_free(m);
}

TEST(test_model_load_sharded_torch_bins_with_index)
{
    rt5_model *m = load_ok(FIX "gated_bf16_sharded_bin", NULL);
    REQUIRE(m != NULL);
    CHECK_EQ_INT(m->tensors->n_files, 2);
    check_tiny_config(m, true);
    CHECK_EQ_INT(m->file_dtype, RT5_DTYPE_BF16);
    uint64_t params;
    CHECK(compare_values(m, FIX "gated_bf16.values.txt", &params) > 4000);
    CHECK_EQ_INT(m->n_params, params);
    rt5_model_free(m);
}

TEST(test_model_load_keys_without_model_prefix)
{
    rt5_model *m = load_ok(FIX "relu_f32_noprefix.safetensors", NULL);
    REQUIRE(m != NULL);
    check_tiny_config(m, false);
    uint64_t params;
    CHECK(compare_values(m, FIX "relu_f32.values.txt", &params) > 4000);
    rt5_model_free(m);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(test_model_load_config_json_is_checked_against_shapes)
{
    char path[] = "/tmp/rt5_config_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    rt5_model_params params = rt5_model_default_params();
    params.config_path = path;
    rt5_model *m = NULL;

    write_text(path, "{\"num_heads\": 3, \"d_model\": 16}");
    CHECK_EQ_INT(rt5__model_load_unprepared(rt5t_path(FIX "relu_f32.bin"), &params, &m), RT5_ERR_SHAPE);
    CHECK(strstr(rt5_model_last_error(m), "num_heads") != NULL);
    CHECK(strstr(rt5_model_last_error(m), "is 3 but") != NULL);
    rt5_model_free(m);

    write_text(path, "{\"feed_forward_proj\": \"gated-gelu\"}");
    CHECK_EQ_INT(rt5__model_load_unprepared(rt5t_path(FIX "relu_f32.bin"), &params, &m), RT5_ERR_SHAPE);
    CHECK(strstr(rt5_model_last_error(m), "feed_forward_proj") != NULL);
    rt5_model_free(m);

    write_text(path, "{\"layer_norm_epsilon\": 1e-3, \"relative_attention_max_distance\": 32, "
                     "\"num_heads\": 2, \"d_kv\": 4, \"feed_forward_proj\": \"relu\"}");
    CHECK_EQ_INT(rt5__model_load_unprepared(rt5t_path(FIX "relu_f32.bin"), &params, &m), RT5_OK);
    CHECK(m->config.eps == 1e-3f);
    CHECK_EQ_INT(m->config.max_distance, 32);
    rt5_model_free(m);

    write_text(path, "{\"layer_norm_epsilon\": ");
    CHECK_EQ_INT(rt5__model_load_unprepared(rt5t_path(FIX "relu_f32.bin"), &params, &m), RT5_ERR_FORMAT);
    CHECK(strstr(rt5_model_last_error(m), path) != NULL);
    rt5_model_free(m);
    unlink(path);
}

/* Copies a fixture's tensors into a new safetensors file, with one tensor
 * renamed (to NULL: dropped) or reshaped, to test validation messages. */
static int rewrite_fixture(const char *out, const char *victim, const char *new_name,
                           int64_t new_rows)
{
    rt5__tensor_set *set = NULL;
    rt5__errmsg err;
    if (rt5__tensor_set_open(rt5t_path(FIX "relu_f32.safetensors"), &set, &err) != RT5_OK)
        return -1;
    rt5__safetensors_tensor *t = calloc(set->n_tensors + 1, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; i < set->n_tensors; i++) {
        const rt5__tensor_view *v = &set->tensors[i];
        bool is_victim = strcmp(v->name, victim) == 0;
        if (is_victim && !new_name && new_rows == 0)
            continue;
        t[n] = (rt5__safetensors_tensor){is_victim && new_name ? new_name : v->name, v->type,
                                         v->n_dims, {0}, v->data};
        memcpy(t[n].shape, v->shape, sizeof t[n].shape);
        if (is_victim && new_rows)
            t[n].shape[0] = new_rows; /* fewer rows: reads a prefix of the data */
        n++;
    }
    int rc = rt5__safetensors_write(out, t, n, NULL, NULL, 0, &err) == RT5_OK ? 0 : -1;
    free(t);
    rt5__tensor_set_free(set);
    return rc;
}

TEST(test_model_load_missing_wrong_shape_and_unknown_keys)
{
    char out[256];
    tmp_name(out, sizeof out, "/tmp/rt5_test_model_load.safetensors");
    rt5_model *m = NULL;
    const char *k = "model.encoder.block.1.layer.0.SelfAttention.k.weight";

    REQUIRE(rewrite_fixture(out, k, NULL, 0) == 0);
    CHECK_EQ_INT(rt5__model_load_unprepared(out, NULL, &m), RT5_ERR_SHAPE);
    CHECK(strstr(rt5_model_last_error(m), "missing tensor") != NULL);
    CHECK(strstr(rt5_model_last_error(m), k) != NULL);
    CHECK(strstr(rt5_model_last_error(m), "[8, 16]") != NULL);
    rt5_model_free(m);

    REQUIRE(rewrite_fixture(out, k, NULL, 5) == 0);
    CHECK_EQ_INT(rt5__model_load_unprepared(out, NULL, &m), RT5_ERR_SHAPE);
    CHECK(strstr(rt5_model_last_error(m), "expected shape [8, 16], found [5, 16]") != NULL);
    rt5_model_free(m);

    REQUIRE(rewrite_fixture(out, "layer_norm.bias", "extra.bias", 0) == 0);
    CHECK_EQ_INT(rt5__model_load_unprepared(out, NULL, &m), RT5_ERR_SHAPE); /* head bias missing */
    CHECK(strstr(rt5_model_last_error(m), "'layer_norm.bias'") != NULL);
    rt5_model_free(m);

    REQUIRE(rewrite_fixture(out, "linear.bias", NULL, 1) == 0); /* unchanged copy */
    REQUIRE(rt5__model_load_unprepared(out, NULL, &m) == RT5_OK);
    CHECK_EQ_INT(m->n_warnings, 0);
    rt5_model_free(m);
    unlink(out);
}

/* Writes relu_f32.safetensors' tensors plus `extra` (may be NULL) to out;
 * a tensor of extra's name replaces the original. */
static int write_with(const char *out, const rt5__safetensors_tensor *extra, size_t n_extra)
{
    rt5__tensor_set *set = NULL;
    rt5__errmsg err;
    if (rt5__tensor_set_open(rt5t_path(FIX "relu_f32.safetensors"), &set, &err) != RT5_OK)
        return -1;
    rt5__safetensors_tensor *t = calloc(set->n_tensors + n_extra + 1, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; i < set->n_tensors; i++) {
        const rt5__tensor_view *v = &set->tensors[i];
        bool replaced = false;
        for (size_t e = 0; e < n_extra; e++)
            replaced |= strcmp(extra[e].name, v->name) == 0;
        if (replaced)
            continue;
        t[n] = (rt5__safetensors_tensor){v->name, v->type, v->n_dims, {0}, v->data};
        memcpy(t[n].shape, v->shape, sizeof t[n].shape);
        n++;
    }
    for (size_t e = 0; e < n_extra; e++)
        t[n++] = extra[e];
    int rc = rt5__safetensors_write(out, t, n, NULL, NULL, 0, &err) == RT5_OK ? 0 : -1;
    free(t);
    rt5__tensor_set_free(set);
    return rc;
}

TEST(test_model_load_unknown_keys_and_untied_embedding_warn)
{
    char out[256];
    tmp_name(out, sizeof out, "/tmp/rt5_test_model_load_warn.safetensors");
    float extra_data[3] = {1, 2, 3}, other_embed[40 * 16];
    for (int i = 0; i < 40 * 16; i++)
        other_embed[i] = (float)i;
    rt5__safetensors_tensor extra[3] = {
        {"model.decoder.block.0.layer.0.SelfAttention.q.weight", RT5__ELEM_F32, 1, {3}, extra_data},
        {"lm_head.weight", RT5__ELEM_F32, 1, {3}, extra_data},
        {"model.encoder.embed_tokens.weight", RT5__ELEM_F32, 2, {40, 16}, other_embed},
    };
    REQUIRE(write_with(out, extra, 3) == 0);
    rt5_model *m = NULL;
    REQUIRE(rt5__model_load_unprepared(out, NULL, &m) == RT5_OK);
    REQUIRE(m->n_warnings == 3);
    CHECK(strstr(rt5_model_warning(m, 0), "'model.encoder.embed_tokens.weight' differs from "
                                          "'model.shared.weight'") != NULL);
    CHECK_EQ_STR(rt5_model_warning(m, 1),
                 "unknown key 'model.decoder.block.0.layer.0.SelfAttention.q.weight' ignored");
    CHECK_EQ_STR(rt5_model_warning(m, 2), "unknown key 'lm_head.weight' ignored");
    CHECK(rt5_model_warning(m, 3) == NULL);
    CHECK(m->weights.embed[1] != 1.0f); /* shared.weight, not the other table */
    rt5_model_free(m);

    /* An integer tensor where a float weight belongs. */
    int64_t bias[1] = {7};
    rt5__safetensors_tensor wrong = {"linear.bias", RT5__ELEM_I64, 1, {1}, bias};
    REQUIRE(write_with(out, &wrong, 1) == 0);
    CHECK_EQ_INT(rt5__model_load_unprepared(out, NULL, &m), RT5_ERR_SHAPE);
    CHECK(strstr(rt5_model_last_error(m), "tensor 'linear.bias': dtype I64, expected F32, F16 "
                                          "or BF16") != NULL);
    CHECK(strstr(rt5_model_last_error(m), out) != NULL);
    rt5_model_free(m);
    unlink(out);
}

TEST(test_model_load_public_api_prepares_and_reports_info)
{
    rt5_model_params params = rt5_model_default_params();
    CHECK_EQ_INT(params.compute_dtype, RT5_DTYPE_F32);
    CHECK(params.config_path == NULL);
    rt5_model *m = NULL;
    rt5_status st = rt5_model_load(rt5t_path(FIX "gated_f16.safetensors"), &params, &m);
    if (st != RT5_OK)
        fprintf(stderr, "  %s\n", rt5_model_last_error(m));
    REQUIRE(st == RT5_OK);
    rt5_model_info info;
    REQUIRE(rt5_model_get_info(m, &info) == RT5_OK);
    CHECK_EQ_INT(info.gated_gelu, 1);
    CHECK_EQ_INT(info.file_dtype, RT5_DTYPE_F16);
    CHECK_EQ_INT(info.compute_dtype, RT5_DTYPE_F32);
    CHECK(info.layer_norm_epsilon == 1e-6f);
    CHECK(info.load_seconds > 0);
    CHECK(m->compute != NULL);
    rt5_model_free(m);
}

TEST(test_model_load_errors_name_the_path)
{
    rt5_model *m = NULL;
    CHECK_EQ_INT(rt5_model_load("/nonexistent/model.bin", NULL, &m), RT5_ERR_IO);
    REQUIRE(m != NULL);
    CHECK(strstr(rt5_model_last_error(m), "/nonexistent/model.bin") != NULL);
    rt5_model_free(m);
    CHECK_EQ_INT(rt5_model_load(NULL, NULL, &m), RT5_ERR_INVALID_ARGUMENT);
    rt5_model_free(m);
    CHECK_EQ_STR(rt5_dtype_name(RT5_DTYPE_BF16), "bf16");
    rt5_model_info info;
    CHECK_EQ_INT(rt5_model_get_info(NULL, &info), RT5_ERR_INVALID_ARGUMENT);
    CHECK(rt5_model_warning(NULL, 0) == NULL);
    rt5_model_free(NULL);
}
