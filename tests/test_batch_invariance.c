/*
 * test_batch_invariance.c -- a pair's score does not depend on what shares
 * its batch. One set of pairs is scored together, one by one, and in random
 * chunks, with 1 and 2 threads, and the scores are compared as bytes: in
 * f32, int8, and bf16 where this CPU computes it (skipped with the reason
 * otherwise). The suite runs this natively and again capped at AVX2
 * (tests/run.sh), where oneDNN's f32 matmul is gemm:jit and the engine has
 * to choose its row chunks itself (native/src/model/linear.c).
 *
 * Two models: the golden tiny gated-GELU model (widths < 264: gemm:jit's
 * no-copy path for every product) and a random ReLU model written here with
 * d_ff 640, so that its wi product crosses gemm:jit's packed-path threshold
 * (448 rows at 640 outputs) -- the case behind the issue. Its scores are
 * compared only with themselves, so random weights serve.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "rankt5.h"

/* ------------------------------------------------------------ the wide model */

enum { W_D = 64, W_HEADS = 4, W_FF = 640, W_LAYERS = 2, W_VOCAB = 320, W_BUCKETS = 32 };

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

typedef struct tensor {
    char name[96];
    int64_t rows, cols; /* cols 0: a vector of rows values */
    float scale;        /* entries uniform in [-scale, scale), or all 1 if 0 */
} tensor;

static int add(tensor *t, int n, const char *name, int64_t rows, int64_t cols, float scale)
{
    snprintf(t[n].name, sizeof t[n].name, "%s", name);
    t[n].rows = rows, t[n].cols = cols, t[n].scale = scale;
    return n + 1;
}

/* The tensors of a RankT5 checkpoint (encoder + head) of the sizes above. */
static int wide_tensors(tensor *t)
{
    int n = 0;
    char k[96];
    n = add(t, n, "shared.weight", W_VOCAB, W_D, 1.0f);
    n = add(t, n, "encoder.final_layer_norm.weight", W_D, 0, 0);
    n = add(t, n, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", W_BUCKETS, W_HEADS, 0.5f);
    for (int l = 0; l < W_LAYERS; l++) {
        static const char *qkvo[4] = {"q", "k", "v", "o"};
        for (int p = 0; p < 4; p++) {
            snprintf(k, sizeof k, "encoder.block.%d.layer.0.SelfAttention.%s.weight", l, qkvo[p]);
            n = add(t, n, k, W_D, W_D, 0.2f);
        }
        snprintf(k, sizeof k, "encoder.block.%d.layer.0.layer_norm.weight", l);
        n = add(t, n, k, W_D, 0, 0);
        snprintf(k, sizeof k, "encoder.block.%d.layer.1.DenseReluDense.wi.weight", l);
        n = add(t, n, k, W_FF, W_D, 0.2f);
        snprintf(k, sizeof k, "encoder.block.%d.layer.1.DenseReluDense.wo.weight", l);
        n = add(t, n, k, W_D, W_FF, 0.06f);
        snprintf(k, sizeof k, "encoder.block.%d.layer.1.layer_norm.weight", l);
        n = add(t, n, k, W_D, 0, 0);
    }
    n = add(t, n, "first_transform.weight", W_D, W_D, 0.2f);
    n = add(t, n, "first_transform.bias", W_D, 0, 0.1f);
    n = add(t, n, "layer_norm.weight", W_D, 0, 0);
    n = add(t, n, "layer_norm.bias", W_D, 0, 0.1f);
    n = add(t, n, "linear.weight", 1, W_D, 0.2f);
    n = add(t, n, "linear.bias", 1, 0, 0.1f);
    return n;
}

/* Writes the wide model as a safetensors file at path. */
static bool write_wide_model(const char *path)
{
    tensor t[64];
    int n = wide_tensors(t);
    static char header[16384];
    size_t at = 0, offset = 0;
    at += (size_t)snprintf(header + at, sizeof header - at, "{");
    for (int i = 0; i < n; i++) {
        size_t count = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1);
        if (t[i].cols)
            at += (size_t)snprintf(header + at, sizeof header - at, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i ? "," : "", t[i].name, (long long)t[i].rows,
                                   (long long)t[i].cols, offset, offset + 4 * count);
        else
            at += (size_t)snprintf(header + at, sizeof header - at, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i ? "," : "", t[i].name, (long long)t[i].rows,
                                   offset, offset + 4 * count);
        offset += 4 * count;
    }
    at += (size_t)snprintf(header + at, sizeof header - at, "}");
    while (at % 8) /* the data starts 8-byte aligned */
        header[at++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    uint64_t len = at;
    bool ok = fwrite(&len, 8, 1, f) == 1 && fwrite(header, 1, at, f) == at;
    for (int i = 0; ok && i < n; i++) {
        size_t count = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1);
        for (size_t j = 0; ok && j < count; j++) {
            float v = t[i].scale == 0 ? 1.0f : urand() * t[i].scale;
            ok = fwrite(&v, 4, 1, f) == 1;
        }
    }
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------------------ the pairs */

enum { N_PAIRS = 24, MAX_IDS = 160 };
static int32_t ids[N_PAIRS][MAX_IDS];
static rt5_seq seqs[N_PAIRS];

/* Pairs of 4 .. 150 ids below vocab (1 = </s> closes each). */
static void make_pairs(int32_t vocab)
{
    for (int i = 0; i < N_PAIRS; i++) {
        size_t len = 4 + (size_t)((urand() + 1.0f) * 73.0f);
        for (size_t j = 0; j < len; j++)
            ids[i][j] = 2 + (int32_t)((urand() + 1.0f) * 0.5f * (float)(vocab - 3));
        ids[i][len - 1] = 1;
        seqs[i] = (rt5_seq){ids[i], len};
    }
}

/* ------------------------------------------------------------ scoring */

/* Scores seqs[0..N_PAIRS) in consecutive batches of the given sizes
 * (sizes[k] pairs each, summing to N_PAIRS) with a fresh session of n_threads. */
static bool score_in(const rt5_model *model, int n_threads, const int *sizes, int n_sizes, float *out)
{
    rt5_session_params sp = rt5_session_default_params();
    sp.n_threads = n_threads, sp.max_batch_tokens = 8192;
    rt5_session *s = NULL;
    if (rt5_session_create(model, &sp, &s) != RT5_OK) {
        fprintf(stderr, "  session: %s\n", rt5_session_last_error(s));
        rt5_session_free(s);
        return false;
    }
    bool ok = true;
    for (int k = 0, at = 0; ok && k < n_sizes; at += sizes[k++])
        ok = rt5_session_score(s, seqs + at, (size_t)sizes[k], out + at) == RT5_OK;
    if (!ok)
        fprintf(stderr, "  score: %s\n", rt5_session_last_error(s));
    rt5_session_free(s);
    return ok;
}

/* A random cut of N_PAIRS into batches of 1 .. 7 pairs; returns the count. */
static int random_cut(int *sizes)
{
    int n = 0;
    for (int left = N_PAIRS; left > 0; n++) {
        int k = 1 + (int)((urand() + 1.0f) * 3.5f);
        sizes[n] = k < left ? k : left;
        left -= sizes[n];
    }
    return n;
}

static bool same_bytes(const float *want, const float *got, const char *what)
{
    for (int i = 0; i < N_PAIRS; i++)
        if (memcmp(&want[i], &got[i], sizeof(float)) != 0) {
            fprintf(stderr, "  %s: pair %d scores %.9g, %.9g together (first of the differences)\n", what, i,
                    (double)got[i], (double)want[i]);
            return false;
        }
    return true;
}

/* Together with 1 thread is the reference; every other way must match it. */
static void check_model(rt5_model *model, const char *name)
{
    rt5_model_info info;
    REQUIRE(rt5_model_get_info(model, &info) == RT5_OK);
    make_pairs(info.vocab_size);
    float want[N_PAIRS], got[N_PAIRS];
    int all[1] = {N_PAIRS}, ones[N_PAIRS], sizes[N_PAIRS];
    for (int i = 0; i < N_PAIRS; i++)
        ones[i] = 1;
    REQUIRE(score_in(model, 1, all, 1, want));
    int checked = 0;
    for (int threads = 1; threads <= 2; threads++) {
        char what[128];
        snprintf(what, sizeof what, "%s %s, %d thread(s), together", name, rt5_dtype_name(info.compute_dtype),
                 threads);
        CHECK(score_in(model, threads, all, 1, got) && same_bytes(want, got, what));
        snprintf(what, sizeof what, "%s %s, %d thread(s), one by one", name, rt5_dtype_name(info.compute_dtype),
                 threads);
        CHECK(score_in(model, threads, ones, N_PAIRS, got) && same_bytes(want, got, what));
        for (int r = 0; r < 3; r++) {
            int n = random_cut(sizes);
            snprintf(what, sizeof what, "%s %s, %d thread(s), random cut %d (%d batches)", name,
                     rt5_dtype_name(info.compute_dtype), threads, r, n);
            CHECK(score_in(model, threads, sizes, n, got) && same_bytes(want, got, what));
        }
        checked += 5;
    }
    fprintf(stderr, "  %s %s: %d pairs in %d batchings at 1 and 2 threads, byte-identical to together\n", name,
            rt5_dtype_name(info.compute_dtype), N_PAIRS, checked);
}

static void check_wide(rt5_dtype dt)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/rt5-test-invariance-%d.safetensors", (int)getpid());
    rng = 0x9E3779B97F4A7C15ull;
    REQUIRE(write_wide_model(path));
    rt5_model_params mp = rt5_model_default_params();
    mp.compute_dtype = dt;
    rt5_model *model = NULL;
    rt5_status st = rt5_model_load(path, &mp, &model);
    if (st != RT5_OK)
        fprintf(stderr, "  load: %s\n", rt5_model_last_error(model));
    remove(path);
    REQUIRE(st == RT5_OK);
    check_model(model, "wide random model (d_ff 640)");
    rt5_model_free(model);
}

static void check_golden_gated(rt5_dtype dt)
{
    load_golden();
    REQUIRE(n_models > 0);
    const golden_model *gm = NULL;
    for (size_t i = 0; i < n_models; i++)
        if (strcmp(models[i].name, "tiny_gated") == 0)
            gm = &models[i];
    REQUIRE(gm);
    rt5_model *model = golden_load(gm, "safetensors", dt);
    REQUIRE(model);
    check_model(model, "tiny_gated");
    rt5_model_free(model);
}

TEST(test_batch_invariance_f32_wide)
{
    check_wide(RT5_DTYPE_F32);
}

TEST(test_batch_invariance_f32_tiny)
{
    check_golden_gated(RT5_DTYPE_F32);
}

TEST(test_batch_invariance_int8_wide)
{
    check_wide(RT5_DTYPE_INT8);
}

TEST(test_batch_invariance_int8_tiny)
{
    check_golden_gated(RT5_DTYPE_INT8);
}

TEST(test_batch_invariance_bf16_wide)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_wide(RT5_DTYPE_BF16);
}

TEST(test_batch_invariance_bf16_tiny)
{
    SKIP_UNLESS_DTYPE(RT5_DTYPE_BF16);
    check_golden_gated(RT5_DTYPE_BF16);
}
