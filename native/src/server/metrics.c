/*
 * metrics.c -- counters and fixed-bucket histograms rendered in the
 * Prometheus text format (version 0.0.4). Names are prefixed rankt5_.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

static const double k_seconds_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10,   30};
static const double k_pairs_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
static const double k_tokens_bounds[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};

/* The status codes the server answers with, in slot order; the last slot
 * counts anything else. */
static const int k_status_slots[RT5__N_STATUS_SLOTS - 1] = {200, 400, 401, 404, 405, 413,
                                                            422, 429, 500, 503, 504};

static void hist_init(rt5__histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->n_bounds = n < RT5__HIST_MAX_BOUNDS ? n : RT5__HIST_MAX_BOUNDS;
}

static void hist_observe(rt5__histogram *h, double v)
{
    size_t b = 0;
    while (b < h->n_bounds && v > h->bounds[b])
        b++;
    h->counts[b]++;
    h->sum += v;
    h->count++;
}

void rt5__metrics_init(rt5__metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    size_t ns = sizeof k_seconds_bounds / sizeof k_seconds_bounds[0];
    hist_init(&m->request_seconds, k_seconds_bounds, ns);
    hist_init(&m->queue_seconds, k_seconds_bounds, ns);
    hist_init(&m->tokenize_seconds, k_seconds_bounds, ns);
    hist_init(&m->inference_seconds, k_seconds_bounds, ns);
    hist_init(&m->batch_pairs, k_pairs_bounds, sizeof k_pairs_bounds / sizeof k_pairs_bounds[0]);
    hist_init(&m->request_docs, k_pairs_bounds, sizeof k_pairs_bounds / sizeof k_pairs_bounds[0]);
    hist_init(&m->batch_tokens, k_tokens_bounds, sizeof k_tokens_bounds / sizeof k_tokens_bounds[0]);
}

void rt5__metrics_destroy(rt5__metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

const char *rt5__endpoint_path(rt5__endpoint ep)
{
    static const char *paths[RT5__EP_COUNT] = {"/v2/rerank", "/v1/rerank", "/rerank", "/health",
                                               "/info",      "/metrics",   "other"};
    return (unsigned)ep < RT5__EP_COUNT ? paths[ep] : "other";
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < RT5__N_STATUS_SLOTS - 1; i++)
        if (k_status_slots[i] == status)
            return i;
    return RT5__N_STATUS_SLOTS - 1;
}

void rt5__metrics_request(rt5__metrics *m, rt5__endpoint ep, int http_status, double seconds)
{
    if ((unsigned)ep >= RT5__EP_COUNT)
        ep = RT5__EP_OTHER;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][status_slot(http_status)]++;
    if (http_status == 429)
        m->rejected_overload_total++;
    if (ep <= RT5__EP_TEI)
        hist_observe(&m->request_seconds, seconds);
    pthread_mutex_unlock(&m->mu);
}

void rt5__metrics_rerank(rt5__metrics *m, size_t n_docs, size_t tokens, size_t truncated_docs,
                         size_t truncated_tokens, double tokenize_s, double queue_s)
{
    pthread_mutex_lock(&m->mu);
    m->pairs_total += n_docs;
    m->tokens_total += tokens;
    m->truncated_docs_total += truncated_docs;
    m->truncated_tokens_total += truncated_tokens;
    hist_observe(&m->request_docs, (double)n_docs);
    hist_observe(&m->tokenize_seconds, tokenize_s);
    hist_observe(&m->queue_seconds, queue_s);
    pthread_mutex_unlock(&m->mu);
}

void rt5__metrics_batch(rt5__metrics *m, size_t n_pairs, size_t n_tokens, double seconds)
{
    pthread_mutex_lock(&m->mu);
    m->batches_total++;
    hist_observe(&m->batch_pairs, (double)n_pairs);
    hist_observe(&m->batch_tokens, (double)n_tokens);
    hist_observe(&m->inference_seconds, seconds);
    pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------- text */

typedef struct strbuf {
    char *data;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
}

static void render_hist(strbuf *b, const char *name, const char *help, const rt5__histogram *h)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->n_bounds; i++) {
        cumulative += h->counts[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cumulative);
    }
    cumulative += h->counts[h->n_bounds];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
    sb_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

static void render_counter(strbuf *b, const char *name, const char *help, uint64_t v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
              (unsigned long long)v);
}

static void render_gauge(strbuf *b, const char *name, const char *help, size_t v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %zu\n", name, help, name, name, v);
}

static void render_requests(strbuf *b, const rt5__metrics *m)
{
    const char *name = "rankt5_http_requests_total";
    sb_printf(b, "# HELP %s HTTP requests answered, by endpoint and status code.\n# TYPE %s counter\n",
              name, name);
    for (int ep = 0; ep < RT5__EP_COUNT; ep++) {
        for (size_t s = 0; s < RT5__N_STATUS_SLOTS; s++) {
            if (!m->requests[ep][s])
                continue;
            char code[8];
            if (s < RT5__N_STATUS_SLOTS - 1)
                snprintf(code, sizeof code, "%d", k_status_slots[s]);
            else
                snprintf(code, sizeof code, "other");
            sb_printf(b, "%s{endpoint=\"%s\",status=\"%s\"} %llu\n", name,
                      rt5__endpoint_path((rt5__endpoint)ep), code,
                      (unsigned long long)m->requests[ep][s]);
        }
    }
}

char *rt5__metrics_render(rt5__metrics *m, size_t queue_requests, size_t queue_pairs,
                          size_t inflight_requests, size_t *len)
{
    strbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.data)
        return NULL;
    b.data[0] = 0;
    pthread_mutex_lock(&m->mu);
    render_requests(&b, m);
    render_gauge(&b, "rankt5_queue_requests", "Rerank requests admitted and not yet answered.",
                 queue_requests);
    render_gauge(&b, "rankt5_queue_pairs", "Pairs waiting for or in the engine.", queue_pairs);
    render_gauge(&b, "rankt5_inflight_http_requests", "HTTP requests being received or answered.",
                 inflight_requests);
    render_counter(&b, "rankt5_pairs_total", "Query-document pairs scored.", m->pairs_total);
    render_counter(&b, "rankt5_tokens_total", "Tokens scored, special tokens included.", m->tokens_total);
    render_counter(&b, "rankt5_truncated_documents_total", "Pairs shortened by truncation.",
                   m->truncated_docs_total);
    render_counter(&b, "rankt5_truncated_tokens_total", "Tokens removed by truncation.",
                   m->truncated_tokens_total);
    render_counter(&b, "rankt5_batches_total", "Engine calls made by the scheduler.", m->batches_total);
    render_counter(&b, "rankt5_rejected_overload_total", "Requests answered 429 because the queue was full.",
                   m->rejected_overload_total);
    render_hist(&b, "rankt5_request_duration_seconds", "Wall time of rerank requests, receipt to response.",
                &m->request_seconds);
    render_hist(&b, "rankt5_queue_duration_seconds", "Time a rerank request waited for the engine.",
                &m->queue_seconds);
    render_hist(&b, "rankt5_tokenize_duration_seconds", "Time spent tokenizing a rerank request.",
                &m->tokenize_seconds);
    render_hist(&b, "rankt5_inference_duration_seconds", "Wall time of one engine call.",
                &m->inference_seconds);
    render_hist(&b, "rankt5_batch_pairs", "Pairs per engine call.", &m->batch_pairs);
    render_hist(&b, "rankt5_batch_tokens", "Tokens per engine call.", &m->batch_tokens);
    render_hist(&b, "rankt5_request_documents", "Documents per rerank request.", &m->request_docs);
    pthread_mutex_unlock(&m->mu);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}
