/*
 * quantize.c -- outlier handling for the int8 path: per-input-channel
 * smoothing factors for each product of a block, chosen from the weights
 * alone at load (no calibration data), folded into the weights and applied
 * to the activations while they are quantized (linear_lowp.c).
 *
 * The problem: T5's activations have a few channels far larger than the
 * rest -- hidden-state channels that survive every RMSNorm, and feed-forward
 * channels whose ReLU outputs dwarf the others. With one scale per token,
 * such a channel stretches the quantization step for the whole row and the
 * ordinary channels keep only a few levels.
 *
 * The fix (SmoothQuant's, with alpha = 1/2): for a product X . W^T whose
 * input channel j has typical magnitude a[j] and whose weight column j has
 * maximum m[j] = max_n |W[n][j]|, divide X[:, j] by s[j] = sqrt(a[j] / m[j])
 * and multiply W[:, j] by it. The product is unchanged; activation and
 * weight ranges meet halfway, and the per-channel weight scales absorb the
 * rest. a[j] is estimated from the weights:
 *   hidden channel scale  h[j] = RMS over (a sample of) the vocabulary of the
 *                                embedding column j, relative to its mean
 *   q/k/v and wi inputs   a[j] = |ln[j]| h[j]        (RMSNorm output)
 *   o input (head dims)   a[c] = || Wv[c][:] * ln h ||  (what v carries)
 *   wo input (ReLU FFN)   a[f] = || Wi[f][:] * ln h ||  (what relu(wi) carries)
 * Smoothing alone cannot tame a channel 50x the others (the weights' column
 * then stretches every row's scale), so channels whose estimate exceeds 6x
 * the median (at most k/16, and 64) leave the int8 product altogether: their
 * activations are set aside in f32 while a row is quantized and added back
 * as x[:, j] . W[:, j]^T in f32 after the rescale (LLM.int8()'s
 * decomposition, with the channels fixed at load instead of found per
 * batch). The estimates only have to rank channels roughly.
 * docs/performance.md has the measured effect of each step.
 */
#include "model/quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ALPHA 0.5
static float *smoothing(const float *a, const float *const *parts, const int32_t *rows, int n_parts, int32_t k);

/* h[j]: RMS of embedding column j over 512 consecutive vocabulary rows from
 * the first quarter's end (ordinary tokens), normalized to mean 1. One
 * contiguous 2 MB block on purpose: reading rows spread over the table would
 * fault the whole mapped table (126 MB for t5-3b) into memory through the
 * kernel's read-around, and it is otherwise touched row by row. */
static void hidden_scale(const rt5_model *m, float *h)
{
    int32_t d = m->config.d_model, v = m->config.vocab_size, n_rows = RT5_MIN(v, 512);
    int32_t first = RT5_MIN(v / 4, v - n_rows);
    double *acc = calloc((size_t)d, sizeof(double));
    int32_t rows = 0;
    if (!acc) {
        for (int32_t j = 0; j < d; j++)
            h[j] = 1.0f;
        return;
    }
    for (int32_t r = first; r < first + n_rows; r++, rows++)
        for (int32_t j = 0; j < d; j++) {
            double e = m->weights.embed[(size_t)r * d + j];
            acc[j] += e * e;
        }
    double mean = 0;
    for (int32_t j = 0; j < d; j++)
        mean += acc[j] = sqrt(acc[j] / rows);
    mean /= d;
    for (int32_t j = 0; j < d; j++)
        h[j] = mean > 0 ? (float)(acc[j] / mean) : 1.0f;
    free(acc);
}

/* a[r] = || W[r][:] * x_scale || for the rows r of a (rows, k) weight. */
static void carried_scale(const float *w, int32_t rows, int32_t k, const float *x_scale, float *a)
{
    for (int32_t r = 0; r < rows; r++) {
        double s = 0;
        for (int32_t j = 0; j < k; j++) {
            double t = (double)w[(size_t)r * k + j] * x_scale[j];
            s += t * t;
        }
        a[r] = (float)sqrt(s);
    }
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* Channels whose estimated scale exceeds OUTLIER_RATIO x the median go
 * around the int8 product in f32 (at most k / 16 of them, and
 * RT5__MAX_OUTLIERS): sets lin->outlier_idx/outlier_w (W's column j of the
 * stacked row blocks, (n_outliers, n)) and marks them 0 in inv. */
#define OUTLIER_RATIO 6.0f
static rt5_status pick_outliers(rt5__linear *lin, const float *a, const float *const *parts, const int32_t *rows,
                                int n_parts, int32_t k, float *inv)
{
    float *sorted = malloc(sizeof(float) * (size_t)k);
    if (!sorted)
        return RT5_ERR_OUT_OF_MEMORY;
    memcpy(sorted, a, sizeof(float) * (size_t)k);
    qsort(sorted, (size_t)k, sizeof(float), cmp_float);
    float limit = OUTLIER_RATIO * sorted[k / 2];
    free(sorted);
    int32_t cap = RT5_MIN(RT5__MAX_OUTLIERS, k / 16), n = 0, total_rows = 0;
    for (int p = 0; p < n_parts; p++)
        total_rows += rows[p];
    int32_t idx[RT5__MAX_OUTLIERS];
    for (int32_t j = 0; j < k && n < cap; j++)
        if (a[j] > limit)
            idx[n++] = j;
    if (n == 0)
        return RT5_OK;
    lin->outlier_idx = malloc(sizeof(int32_t) * (size_t)n);
    lin->outlier_w = malloc(sizeof(float) * (size_t)n * total_rows);
    if (!lin->outlier_idx || !lin->outlier_w)
        return RT5_ERR_OUT_OF_MEMORY;
    for (int32_t o = 0; o < n; o++) {
        lin->outlier_idx[o] = idx[o];
        inv[idx[o]] = 0.0f;
        for (int p = 0, at = 0; p < n_parts; at += rows[p], p++)
            for (int32_t r = 0; r < rows[p]; r++)
                lin->outlier_w[(size_t)o * total_rows + at + r] = parts[p][(size_t)r * k + idx[o]];
    }
    lin->n_outliers = n;
    return RT5_OK;
}

/* inv_smooth[j] = 1 / s[j], s[j] = a[j]^alpha / max_n |W[n][j]|^(1-alpha)
 * over the row blocks of W, normalized to geometric mean 1; outlier
 * channels (pick_outliers) get 0. Sets lin->inv_smooth (or leaves it NULL
 * when out of memory). */
static void smooth_linear(rt5__linear *lin, const float *a, const float *const *parts, const int32_t *rows,
                          int n_parts, int32_t k)
{
    lin->inv_smooth = smoothing(a, parts, rows, n_parts, k);
    if (lin->inv_smooth && pick_outliers(lin, a, parts, rows, n_parts, k, lin->inv_smooth) != RT5_OK) {
        free(lin->inv_smooth);
        lin->inv_smooth = NULL;
    }
}

static float *smoothing(const float *a, const float *const *parts, const int32_t *rows, int n_parts, int32_t k)
{
    const char *env = getenv("RT5_INT8_ALPHA");
    double alpha = env ? atof(env) : DEFAULT_ALPHA;
    float *inv = malloc(sizeof(float) * (size_t)k), *wmax = calloc((size_t)k, sizeof(float));
    if (!inv || !wmax) {
        free(inv), free(wmax);
        return NULL;
    }
    for (int p = 0; p < n_parts; p++)
        for (int32_t r = 0; r < rows[p]; r++)
            for (int32_t j = 0; j < k; j++) { /* not fmaxf: a libm call per weight */
                float v = fabsf(parts[p][(size_t)r * k + j]);
                wmax[j] = v > wmax[j] ? v : wmax[j];
            }
    double log_sum = 0;
    for (int32_t j = 0; j < k; j++) {
        double s = a[j] > 0 && wmax[j] > 0 ? pow(a[j], alpha) / pow(wmax[j], 1 - alpha) : 1.0;
        inv[j] = (float)(1.0 / s);
        log_sum += log(inv[j]);
    }
    float norm = (float)exp(-log_sum / k);
    for (int32_t j = 0; j < k; j++)
        inv[j] *= norm;
    free(wmax);
    return inv;
}

rt5_status rt5__int8_block_smoothing(const rt5_model *m, int32_t layer, rt5__linear *qkv, rt5__linear *o,
                                     rt5__linear *wi, rt5__linear *wo, rt5__errmsg *err)
{
    const rt5__t5_config *cfg = &m->config;
    const rt5__block_weights *bw = &m->weights.blocks[layer];
    int32_t d = cfg->d_model, inner = cfg->n_heads * cfg->d_kv, ff = cfg->d_ff;
    size_t big = (size_t)RT5_MAX(RT5_MAX(d, inner), ff);
    float *h = malloc(sizeof(float) * (size_t)d), *xs = malloc(sizeof(float) * (size_t)d);
    float *a = malloc(sizeof(float) * big);
    rt5_status st = RT5_OK;
    const char *off = getenv("RT5_INT8_SMOOTHING");
    if (off && strcmp(off, "off") == 0)
        goto done;
    if (!h || !xs || !a) {
        st = rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "int8 smoothing: out of memory");
        goto done;
    }
    hidden_scale(m, h);
    /* q/k/v input: RMSNorm(h) * ln_attn */
    for (int32_t j = 0; j < d; j++)
        xs[j] = fabsf(bw->ln_attn[j]) * h[j];
    const float *qkv_parts[3] = {bw->q, bw->k, bw->v};
    int32_t qkv_rows[3] = {inner, inner, inner};
    smooth_linear(qkv, xs, qkv_parts, qkv_rows, 3, d);
    carried_scale(bw->v, inner, d, xs, a); /* o input: what v carries */
    smooth_linear(o, a, &bw->o, &d, 1, inner);
    /* wi input: RMSNorm(h) * ln_ff */
    for (int32_t j = 0; j < d; j++)
        xs[j] = fabsf(bw->ln_ff[j]) * h[j];
    const float *wi_parts[2] = {cfg->gated_gelu ? bw->wi_0 : bw->wi, bw->wi_1};
    int32_t wi_rows[2] = {ff, ff};
    smooth_linear(wi, xs, wi_parts, wi_rows, cfg->gated_gelu ? 2 : 1, d);
    if (!cfg->gated_gelu) { /* wo input: relu(wi) */
        carried_scale(bw->wi, ff, d, xs, a);
        smooth_linear(wo, a, &bw->wo, &d, 1, ff);
    }
    if (!qkv->inv_smooth || !o->inv_smooth || !wi->inv_smooth || (!cfg->gated_gelu && !wo->inv_smooth))
        st = rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "int8 smoothing: out of memory");
done:
    free(h), free(xs), free(a);
    return st;
}
