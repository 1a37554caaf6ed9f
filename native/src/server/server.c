/*
 * server.c -- the libmicrohttpd front end of `rankt5 serve` (see server.h):
 * daemon lifecycle, routing, auth, limits, the suspend/resume hand-off to
 * the scheduler, response headers and graceful shutdown.
 *
 * A request's life: first call of the access handler (headers only) routes
 * it and answers at once what needs no body (GET endpoints, 401, 404, 405,
 * 413 by Content-Length, 503 while draining). Body chunks are appended up
 * to --max-payload. The final call parses, tokenizes and submits a job;
 * the connection is suspended until the worker's done() resumes it, and the
 * next call renders the response. s->mu orders suspend before resume.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "server/api.h"
#include "server/metrics.h"
#include "server/pairs.h"
#include "server/queue.h"
#include "server/server.h"

struct rt5__server {
    rt5__server_params p;
    rt5_model_info info;
    bool have_info;
    const rt5_tokenizer *tok;
    rt5__queue *sched;
    rt5__metrics metrics;
    struct MHD_Daemon *daemon;
    int port;
    atomic_bool draining;
    bool stopped;
    pthread_mutex_t mu;    /* suspend/resume hand-off; in-flight count */
    pthread_cond_t idle;   /* signalled when inflight drops to zero   */
    size_t inflight;
    atomic_ullong next_id;
    uint64_t id_seed;
    double t_start;
};

typedef enum req_state {
    RS_RECEIVING, /* POST body arriving                                  */
    RS_GET,       /* a GET route, answered on the call after the headers */
    RS_QUEUED,    /* job with the scheduler, connection suspended        */
    RS_SCORED,    /* job done, response to render                        */
    RS_ANSWERED
} req_state;

typedef struct request {
    rt5__server *s;
    struct MHD_Connection *conn;
    rt5__endpoint ep;
    bool is_api;
    rt5__api api;
    double t_start;
    char *body;
    size_t len, cap;
    bool too_large;
    rt5__rerank_request req;
    rt5__pairs pairs;
    float *scores;
    double tokenize_s;
    rt5__job job;
    req_state state;
    bool suspended;
    char id[40];
} request;

rt5__server_params rt5__server_default_params(void)
{
    rt5__server_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8080;
    p.max_docs = 1000;
    p.max_payload = 4u << 20;
    p.max_queue = 32;
    p.max_connections = 512;
    p.max_batch_tokens = 4096;
    p.batch_window_s = 0.002;
    p.timeout_s = 60;
    p.max_length = 512;
    p.http_threads = 2;
    p.retry_after_s = 1;
    p.model_name = "rankt5";
    p.dtype_name = "f32";
    return p;
}

/* ---------------------------------------------------------------- ids */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed)
            seed = 0;
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return seed ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
}

/* A UUID-v4-shaped id, as Cohere's responses carry. */
static void make_request_id(rt5__server *s, char out[40])
{
    uint64_t n = atomic_fetch_add(&s->next_id, 1);
    uint64_t a = splitmix64(s->id_seed ^ (n * 2)), b = splitmix64(s->id_seed ^ (n * 2 + 1));
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffull));
}

/* ---------------------------------------------------------------- responses */

static void add_timing_header(struct MHD_Response *resp, const char *name, double seconds)
{
    char v[32];
    snprintf(v, sizeof v, "%.3f", seconds * 1e3);
    MHD_add_response_header(resp, name, v);
}

static void add_count_header(struct MHD_Response *resp, const char *name, size_t n)
{
    char v[32];
    snprintf(v, sizeof v, "%zu", n);
    MHD_add_response_header(resp, name, v);
}

/* A response over body (malloc'd, taken) with the headers every answer
 * carries; NULL when memory ran out. */
static struct MHD_Response *make_response(request *r, int status, char *body, size_t len, const char *type)
{
    if (!body)
        return NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "x-request-id", r->id);
    if (status == 429 || status == 503) {
        char v[16];
        snprintf(v, sizeof v, "%d", r->s->p.retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (status == 503 || status == 413) /* draining, or a body left unread */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return resp;
}

/* Stamps x-total-time, queues resp, counts and logs the answer. */
static enum MHD_Result queue_response(request *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    double total = rt5__now_seconds() - r->t_start;
    add_timing_header(resp, "x-total-time", total);
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    rt5__metrics_request(&r->s->metrics, r->ep, status, total);
    r->state = RS_ANSWERED;
    if (r->s->p.log_requests)
        fprintf(stderr, "rankt5 serve: %s %d %.1f ms\n", rt5__endpoint_path(r->ep), status, total * 1e3);
    return ok;
}

static enum MHD_Result send_body(request *r, int status, char *body, size_t len, const char *type)
{
    return queue_response(r, status, make_response(r, status, body, len, type));
}

static enum MHD_Result send_error(request *r, int status, const char *message)
{
    size_t len = 0;
    rt5__api api = r->is_api ? r->api : RT5__API_TEI; /* {"error", "error_type"} elsewhere */
    char *body = rt5__api_render_error(api, status, message, r->id, &len);
    return send_body(r, status, body, len, "application/json");
}

/* ---------------------------------------------------------------- GET routes */

static enum MHD_Result send_json(request *r, int status, json_t *tree)
{
    char *text = tree ? json_dumps(tree, JSON_COMPACT) : NULL;
    json_decref(tree);
    if (!text)
        return send_error(r, 500, "out of memory");
    return send_body(r, status, text, strlen(text), "application/json");
}

static enum MHD_Result route_health(request *r)
{
    bool draining = atomic_load(&r->s->draining);
    return send_json(r, draining ? 503 : 200,
                     json_pack("{s:s}", "status", draining ? "shutting down" : "ok"));
}

static json_t *model_config_json(const rt5__server *s)
{
    if (!s->have_info)
        return json_null();
    const rt5_model_info *i = &s->info;
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:f, s:s, s:s, s:I, s:b}", "d_model",
                     i->d_model, "d_ff", i->d_ff, "n_heads", i->n_heads, "d_kv", i->d_kv, "n_layers",
                     i->n_layers, "vocab_size", i->vocab_size, "num_buckets", i->num_buckets,
                     "max_distance", i->max_distance, "gated_gelu", i->gated_gelu != 0,
                     "layer_norm_epsilon", (double)i->layer_norm_epsilon, "file_dtype", rt5_dtype_name(i->file_dtype),
                     "compute_dtype", rt5_dtype_name(i->compute_dtype), "n_params",
                     (json_int_t)i->n_params, "converted", i->converted != 0);
}

static json_t *limits_json(const rt5__server *s)
{
    const rt5__server_params *p = &s->p;
    return json_pack("{s:I, s:I, s:I, s:I, s:i, s:I, s:i, s:f, s:f, s:i, s:i}", "max_docs_per_request",
                     (json_int_t)p->max_docs, "max_payload_bytes", (json_int_t)p->max_payload,
                     "max_queue", (json_int_t)p->max_queue, "max_connections",
                     (json_int_t)p->max_connections, "max_batch_tokens", (int)p->max_batch_tokens,
                     "step_tokens", (json_int_t)p->step_tokens, "max_length", (int)p->max_length,
                     "timeout_s", p->timeout_s, "batch_window_ms", p->batch_window_s * 1e3,
                     "engine_threads", (int)p->engine_threads, "engine_workers", (int)p->engine_workers);
}

static enum MHD_Result route_info(request *r)
{
    const rt5__server *s = r->s;
    const rt5__server_params *p = &s->p;
    json_t *info = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:o, s:o, s:s, s:b, s:b, s:[s,s,s], s:s, s:s, s:I, s:i, s:I, s:i}",
        "model", p->model_name, "version", rt5_version(), "model_path", p->model_path, "tokenizer_path",
        p->tokenizer_path, "dtype", p->dtype_name, "config", model_config_json(s), "limits",
        limits_json(s), "score", p->raw_scores ? "logit" : "sigmoid(logit)", "auth",
        p->api_key != NULL, "raw_scores_default", p->raw_scores, "endpoints", "/v2/rerank",
        "/v1/rerank", "/rerank",
        /* text-embeddings-inference's /info keys, for its clients */
        "model_id", p->model_name, "model_dtype", p->dtype_name, "max_concurrent_requests",
        (json_int_t)p->max_queue, "max_input_length", (int)p->max_length, "max_client_batch_size",
        (json_int_t)p->max_docs, "max_batch_tokens", (int)p->max_batch_tokens);
    return send_json(r, 200, info);
}

static enum MHD_Result route_metrics(request *r)
{
    size_t jobs = 0, pairs = 0, inflight;
    rt5__queue_depth(r->s->sched, &jobs, &pairs);
    pthread_mutex_lock(&r->s->mu);
    inflight = r->s->inflight;
    pthread_mutex_unlock(&r->s->mu);
    size_t len = 0;
    char *text = rt5__metrics_render(&r->s->metrics, jobs, pairs, inflight, &len);
    if (!text)
        return send_error(r, 500, "out of memory");
    return send_body(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result route_get(request *r)
{
    switch (r->ep) {
    case RT5__EP_HEALTH: return route_health(r);
    case RT5__EP_INFO: return route_info(r);
    default: return route_metrics(r);
    }
}

/* ---------------------------------------------------------------- rerank */

static void free_request(request *r)
{
    rt5__rerank_request_free(&r->req);
    rt5__pairs_free(&r->pairs);
    free(r->scores);
    free(r->body);
    free(r);
}

static void on_scored(rt5__job *job, void *user)
{
    request *r = user;
    rt5__server *s = r->s;
    pthread_mutex_lock(&s->mu);
    r->state = RS_SCORED;
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result respond_scored(request *r)
{
    const rt5__job *job = &r->job;
    if (job->status == RT5_ERR_CANCELLED) {
        char msg[128];
        snprintf(msg, sizeof msg, "request waited %.1f s in the queue, over the server's timeout",
                 job->queue_seconds);
        return send_error(r, 503, msg);
    }
    if (job->status != RT5_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "scoring failed: %s", rt5_status_str(job->status));
        return send_error(r, 500, msg);
    }
    rt5__rerank_outcome out = {r->scores, r->pairs.total_tokens, r->pairs.truncated_docs,
                               r->pairs.truncated_tokens, (size_t)r->s->p.max_length, r->id,
                               r->s->p.model_name};
    size_t len = 0;
    char *body = rt5__api_render_result(&r->req, &out, &len);
    if (!body)
        return send_error(r, 500, "out of memory rendering the response");
    struct MHD_Response *resp = make_response(r, 200, body, len, "application/json");
    if (!resp)
        return MHD_NO;
    add_timing_header(resp, "x-tokenization-time", r->tokenize_s);
    add_timing_header(resp, "x-queue-time", job->queue_seconds);
    add_timing_header(resp, "x-inference-time", job->inference_seconds);
    add_count_header(resp, "x-documents", r->req.n_docs);
    add_count_header(resp, "x-total-tokens", r->pairs.total_tokens);
    add_count_header(resp, "x-truncated-documents", r->pairs.truncated_docs);
    add_count_header(resp, "x-truncated-tokens", r->pairs.truncated_tokens);
    add_count_header(resp, "x-batches", job->n_batches);
    rt5__metrics_rerank(&r->s->metrics, r->req.n_docs, r->pairs.total_tokens, r->pairs.truncated_docs,
                        r->pairs.truncated_tokens, r->tokenize_s, job->queue_seconds);
    return queue_response(r, 200, resp);
}

static enum MHD_Result submit(request *r)
{
    rt5__server *s = r->s;
    r->scores = calloc(r->pairs.n, sizeof *r->scores);
    if (!r->scores)
        return send_error(r, 500, "out of memory");
    r->job = (rt5__job){.seqs = r->pairs.seqs, .n_seqs = r->pairs.n, .scores = r->scores,
                        .done = on_scored, .user = r};
    /* s->mu is held from submit to suspend: on_scored (which takes it) can
     * only resume a connection that is already suspended. */
    pthread_mutex_lock(&s->mu);
    r->state = RS_QUEUED;
    rt5__submit_result sub = rt5__queue_submit(s->sched, &r->job);
    bool answer_now = false;
    if (sub == RT5__SUBMIT_OK && r->state == RS_QUEUED) {
        MHD_suspend_connection(r->conn);
        r->suspended = true;
    } else if (sub == RT5__SUBMIT_OK) {
        answer_now = true; /* cannot happen while the lock is held; kept for safety */
    }
    pthread_mutex_unlock(&s->mu);
    switch (sub) {
    case RT5__SUBMIT_OK:
        break;
    case RT5__SUBMIT_FULL:
        r->state = RS_ANSWERED;
        return send_error(r, 429, "the server is at capacity (request queue full); retry later");
    case RT5__SUBMIT_CLOSED:
        return send_error(r, 503, "the server is shutting down");
    case RT5__SUBMIT_INVALID:
        return send_error(r, 500, "a pair is longer than one engine step");
    }
    return answer_now ? respond_scored(r) : MHD_YES;
}

static enum MHD_Result handle_body(request *r)
{
    rt5__server *s = r->s;
    if (r->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body is larger than this server's limit of %zu bytes",
                 s->p.max_payload);
        return send_error(r, 413, msg);
    }
    if (atomic_load(&s->draining))
        return send_error(r, 503, "the server is shutting down");
    rt5__api_limits limits = {s->p.max_docs, s->p.raw_scores};
    rt5__api_error err;
    if (rt5__api_parse(r->api, (const uint8_t *)r->body, r->len, &limits, &r->req, &err))
        return send_error(r, err.http_status, err.message);
    free(r->body);
    r->body = NULL;
    double t0 = rt5__now_seconds();
    if (rt5__pairs_encode(s->tok, &r->req, s->p.max_length, &r->pairs, &err))
        return send_error(r, err.http_status, err.message);
    r->tokenize_s = rt5__now_seconds() - t0;
    return submit(r);
}

static void append_body(request *r, const char *data, size_t n)
{
    if (r->too_large || r->len + n > r->s->p.max_payload) {
        r->too_large = true;
        return;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n)
            cap *= 2;
        char *p = realloc(r->body, cap);
        if (!p) {
            r->too_large = true;
            return;
        }
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

/* ---------------------------------------------------------------- routing */

static bool authorized(const rt5__server *s, struct MHD_Connection *c)
{
    if (!s->p.api_key)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t a = strlen(h), b = strlen(s->p.api_key);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++) /* constant time over the key */
        diff |= (unsigned char)h[i] ^ (unsigned char)s->p.api_key[i];
    return diff == 0;
}

static void route(request *r, const char *url)
{
    static const struct { const char *path; rt5__endpoint ep; int api; } routes[] = {
        {"/v2/rerank", RT5__EP_COHERE, RT5__API_COHERE}, {"/v1/rerank", RT5__EP_JINA, RT5__API_JINA},
        {"/rerank", RT5__EP_TEI, RT5__API_TEI},          {"/health", RT5__EP_HEALTH, -1},
        {"/info", RT5__EP_INFO, -1},                     {"/metrics", RT5__EP_METRICS, -1},
    };
    r->ep = RT5__EP_OTHER;
    for (size_t i = 0; i < RT5_ARRAY_LEN(routes); i++) {
        if (strcmp(url, routes[i].path) == 0) {
            r->ep = routes[i].ep;
            r->is_api = routes[i].api >= 0;
            r->api = r->is_api ? (rt5__api)routes[i].api : RT5__API_TEI;
        }
    }
}

/* Bodies announced over the limit but at most this big are read and thrown
 * away, so that a client which writes its whole body before reading gets
 * its 413 instead of a reset connection; larger ones are refused at once. */
#define RT5_SERVER_DISCARD_LIMIT ((unsigned long long)64 << 20)

/* The announced body size, or 0 when there is no Content-Length. */
static unsigned long long content_length(const request *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    errno = 0;
    unsigned long long n = strtoull(cl, NULL, 10);
    return errno == ERANGE ? ULLONG_MAX : n;
}

/* The first call: headers only. Answers what needs no body. */
static enum MHD_Result begin_request(request *r, const char *method)
{
    rt5__server *s = r->s;
    if (r->ep == RT5__EP_OTHER)
        return send_error(r, 404, "no such endpoint; try POST /v2/rerank, /v1/rerank or /rerank");
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (r->is_api ? !post : !get)
        return send_error(r, 405, r->is_api ? "this endpoint takes POST" : "this endpoint takes GET");
    if (r->ep != RT5__EP_HEALTH && !authorized(s, r->conn))
        return send_error(r, 401, "invalid or missing API key (send \"Authorization: Bearer <key>\")");
    if (get) {
        /* Answered on the next call: a response queued while MHD is still
         * in the headers phase would cost the client its keep-alive. */
        r->state = RS_GET;
        return MHD_YES;
    }
    if (atomic_load(&s->draining))
        return send_error(r, 503, "the server is shutting down");
    unsigned long long announced = content_length(r);
    if (announced > s->p.max_payload) {
        r->too_large = true; /* handle_body answers 413 once it is drained */
        if (announced > RT5_SERVER_DISCARD_LIMIT)
            return handle_body(r);
    }
    return MHD_YES;
}

static request *request_new(rt5__server *s, struct MHD_Connection *c, const char *url)
{
    request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->conn = c;
    r->t_start = rt5__now_seconds();
    make_request_id(s, r->id);
    route(r, url);
    pthread_mutex_lock(&s->mu);
    s->inflight++;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    rt5__server *s = cls;
    request *r = *con_cls;
    if (!r) {
        r = request_new(s, c, url);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return begin_request(r, method);
    }
    if (*upload_size) {
        if (r->state == RS_RECEIVING)
            append_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    switch (r->state) {
    case RS_RECEIVING: return handle_body(r);
    case RS_GET: return route_get(r);
    case RS_SCORED: return respond_scored(r);
    default: return MHD_YES;
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    rt5__server *s = cls;
    request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    /* A queued job still points at r: the worker finishes it before any
     * connection can complete (it is suspended), so this cannot be one. */
    free_request(r);
    pthread_mutex_lock(&s->mu);
    if (--s->inflight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- lifecycle */

static rt5_status engine_score(void *ctx, const rt5_seq *seqs, size_t n, float *scores)
{
    return rt5_engine_score((rt5_engine *)ctx, seqs, n, scores);
}

static int bind_address(const char *host, int port, struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof *ss);
    if (!host || strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -1;
}

static rt5_status start_daemon(rt5__server *s, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    if (bind_address(s->p.host, s->p.port, &ss, &flags) != 0) {
        snprintf(err, cap, "--host '%s' is not a numeric IPv4 or IPv6 address", s->p.host);
        return RT5_ERR_INVALID_ARGUMENT;
    }
    unsigned threads = s->p.http_threads > 0 ? (unsigned)s->p.http_threads : 1;
    unsigned timeout = s->p.timeout_s > 0 ? (unsigned)(s->p.timeout_s + 0.5) : 0;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)s->p.port, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, cap, "cannot listen on %s:%d (in use, or not allowed?)", s->p.host, s->p.port);
        return RT5_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->p.port;
    return RT5_OK;
}

static rt5_status start(const rt5__server_params *params, const rt5_tokenizer *tok, rt5__score_fn score,
                        void *ctx, rt5__server **out, char *err, size_t cap)
{
    *out = NULL;
    rt5__server *s = calloc(1, sizeof *s);
    if (!s)
        return RT5_ERR_OUT_OF_MEMORY;
    s->p = *params;
    if (params->model_info) {
        s->info = *params->model_info;
        s->have_info = true;
        s->p.model_info = NULL;
    }
    if (s->p.step_tokens == 0)
        s->p.step_tokens = 4 * (size_t)(s->p.max_batch_tokens > 0 ? s->p.max_batch_tokens : 4096);
    if (s->p.step_tokens < (size_t)s->p.max_length)
        s->p.step_tokens = (size_t)s->p.max_length;
    s->tok = tok;
    s->id_seed = random_seed();
    s->t_start = rt5__now_seconds();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    rt5__metrics_init(&s->metrics);
    rt5__queue_params sp = rt5__queue_default_params();
    sp.max_queue = s->p.max_queue ? s->p.max_queue : 1;
    sp.step_tokens = s->p.step_tokens;
    sp.batch_window_s = s->p.batch_window_s;
    sp.queue_timeout_s = s->p.timeout_s;
    sp.score = score;
    sp.score_ctx = ctx;
    sp.metrics = &s->metrics;
    rt5_status st = rt5__queue_create(&sp, &s->sched);
    if (st != RT5_OK)
        snprintf(err, cap, "cannot start the scheduler: %s", rt5_status_str(st));
    else
        st = start_daemon(s, err, cap);
    if (st != RT5_OK) {
        s->stopped = true;
        rt5__server_free(s);
        return st;
    }
    *out = s;
    return RT5_OK;
}

rt5_status rt5__server_start(const rt5__server_params *params, const rt5_tokenizer *tok,
                             rt5_engine *engine, rt5__server **out, char *err, size_t err_cap)
{
    return start(params, tok, engine_score, engine, out, err, err_cap);
}

rt5_status rt5__server_start_with_scorer(const rt5__server_params *params, const rt5_tokenizer *tok,
                                         rt5__score_fn score, void *score_ctx, rt5__server **out,
                                         char *err, size_t err_cap)
{
    return start(params, tok, score, score_ctx, out, err, err_cap);
}

int rt5__server_port(const rt5__server *s)
{
    return s ? s->port : 0;
}

static size_t wait_idle(rt5__server *s, double drain_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)drain_s;
    until.tv_nsec += (long)((drain_s - (double)(time_t)drain_s) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &until) == ETIMEDOUT)
            break;
    size_t left = s->inflight;
    pthread_mutex_unlock(&s->mu);
    return left;
}

size_t rt5__server_shutdown(rt5__server *s, double drain_s)
{
    if (!s || s->stopped)
        return 0;
    atomic_store(&s->draining, true);
    if (s->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    rt5__queue_close(s->sched); /* every admitted job is answered */
    size_t left = s->daemon ? wait_idle(s, drain_s) : 0;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    s->stopped = true;
    return left;
}

void rt5__server_free(rt5__server *s)
{
    if (!s)
        return;
    rt5__server_shutdown(s, 30.0);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    rt5__queue_free(s->sched);
    rt5__metrics_destroy(&s->metrics);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
