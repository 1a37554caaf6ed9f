/*
 * metrics.h -- the server's Prometheus counters and histograms.
 *
 * Every update takes one mutex: updates happen a few times per request and
 * per engine batch, far from the model's hot path, and a lock keeps the
 * histogram sums and counts consistent with each other for a scrape.
 */
#ifndef RT5_SERVER_METRICS_H
#define RT5_SERVER_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt5__endpoint {
    RT5__EP_COHERE = 0, /* POST /v2/rerank */
    RT5__EP_JINA,       /* POST /v1/rerank */
    RT5__EP_TEI,        /* POST /rerank    */
    RT5__EP_HEALTH,
    RT5__EP_INFO,
    RT5__EP_METRICS,
    RT5__EP_OTHER,      /* anything else (404s)  */
    RT5__EP_COUNT
} rt5__endpoint;

#define RT5__HIST_MAX_BOUNDS 16

typedef struct rt5__histogram {
    const double *bounds; /* (n_bounds) ascending upper bounds, +Inf implied */
    size_t n_bounds;
    uint64_t counts[RT5__HIST_MAX_BOUNDS + 1]; /* per bucket, not cumulative */
    double sum;
    uint64_t count;
} rt5__histogram;

#define RT5__N_STATUS_SLOTS 12

typedef struct rt5__metrics {
    pthread_mutex_t mu;
    uint64_t requests[RT5__EP_COUNT][RT5__N_STATUS_SLOTS];
    uint64_t pairs_total, tokens_total, truncated_docs_total, truncated_tokens_total;
    uint64_t batches_total, rejected_overload_total;
    rt5__histogram request_seconds, queue_seconds, tokenize_seconds, inference_seconds;
    rt5__histogram batch_pairs, batch_tokens, request_docs;
} rt5__metrics;

void rt5__metrics_init(rt5__metrics *m);
void rt5__metrics_destroy(rt5__metrics *m);

const char *rt5__endpoint_path(rt5__endpoint ep);

/* One finished HTTP request: its endpoint, status and wall time. */
void rt5__metrics_request(rt5__metrics *m, rt5__endpoint ep, int http_status, double seconds);
/* One scored rerank request: its stage times and token counts. */
void rt5__metrics_rerank(rt5__metrics *m, size_t n_docs, size_t tokens, size_t truncated_docs,
                         size_t truncated_tokens, double tokenize_s, double queue_s);
/* One engine call of the scheduler. */
void rt5__metrics_batch(rt5__metrics *m, size_t n_pairs, size_t n_tokens, double seconds);

/* Prometheus text exposition (malloc'd; NULL when memory ran out). The
 * gauges are sampled by the caller. */
char *rt5__metrics_render(rt5__metrics *m, size_t queue_requests, size_t queue_pairs,
                          size_t inflight_requests, size_t *len);

#endif /* RT5_SERVER_METRICS_H */
