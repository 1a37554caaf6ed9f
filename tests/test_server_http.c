/*
 * test_server_http.c -- the HTTP server in-process, over loopback sockets:
 * every endpoint and response shape, auth, limits, error statuses, 429
 * under overload, concurrency without lost or mixed-up responses, and the
 * graceful drain. The engine is replaced by a fake scorer whose score is a
 * function of the token ids, so each relevance_score proves which pair it
 * belongs to; the tokenizer is the real one from ../shared. End-to-end runs
 * with the real engine are in tests/test_server.sh.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "server/server.h"

/* ---------------------------------------------------------------- fake */

typedef struct fake_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int gate_closed;
    int in_call;
} fake_engine;

static fake_engine g_fake = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static float fake_score_of(const int32_t *ids, size_t n)
{
    double v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 0.5 + (double)(ids[i] % 97) / 97.0;
    return (float)(v - 1.0);
}

static rt5_status fake_score(void *ctx, const rt5_seq *seqs, size_t n, float *scores)
{
    fake_engine *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->in_call++;
    pthread_cond_broadcast(&f->cv);
    while (f->gate_closed)
        pthread_cond_wait(&f->cv, &f->mu);
    f->in_call--;
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < n; i++)
        scores[i] = fake_score_of(seqs[i].ids, seqs[i].n_ids);
    return RT5_OK;
}

static void gate(int closed)
{
    pthread_mutex_lock(&g_fake.mu);
    g_fake.gate_closed = closed;
    pthread_cond_broadcast(&g_fake.cv);
    pthread_mutex_unlock(&g_fake.mu);
}

static void wait_engine_busy(void)
{
    pthread_mutex_lock(&g_fake.mu);
    while (g_fake.in_call == 0)
        pthread_cond_wait(&g_fake.cv, &g_fake.mu);
    pthread_mutex_unlock(&g_fake.mu);
}

/* ---------------------------------------------------------------- client */

typedef struct http_resp {
    int status;
    char *raw;   /* whole response, NUL-terminated */
    char *body;  /* into raw */
} http_resp;

static void resp_free(http_resp *r)
{
    free(r->raw);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port)
{
    signal(SIGPIPE, SIG_IGN); /* a server that closes first must not kill the test */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request on a fresh connection (Connection: close); 0 on success. */
static int http(int port, const char *method, const char *path, const char *headers, const char *body,
                http_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = connect_to(port);
    if (fd < 0)
        return -1;
    size_t blen = body ? strlen(body) : 0;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                     method, path, blen, headers ? headers : "");
    if (write_all(fd, head, (size_t)n) != 0 || (blen && write_all(fd, body, blen) != 0)) {
        /* the server may answer (413) and close before reading the body */
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    out->raw = buf;
    if (sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
        return -1;
    char *sep = strstr(buf, "\r\n\r\n");
    out->body = sep ? sep + 4 : buf + len;
    return 0;
}

/* One request on an open keep-alive connection; reads exactly one response
 * (headers and Content-Length bytes). 0 on success. */
static int http_keepalive(int fd, const char *method, const char *path, const char *body, http_resp *out)
{
    memset(out, 0, sizeof *out);
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n",
                     method, path, blen);
    if (write_all(fd, head, (size_t)n) != 0 || (blen && write_all(fd, body, blen) != 0))
        return -1;
    size_t cap = 65536, len = 0, want = (size_t)-1;
    char *buf = calloc(1, cap);
    while (len < want && len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = 0;
        char *sep = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (sep && cl && cl < sep)
            want = (size_t)(sep + 4 - buf) + strtoul(cl + 17, NULL, 10);
    }
    out->raw = buf;
    char *sep = strstr(buf, "\r\n\r\n");
    out->body = sep ? sep + 4 : buf + len;
    return sscanf(buf, "HTTP/1.%*d %d", &out->status) == 1 && len == want ? 0 : -1;
}

/* The value of header name (case-insensitive) copied into v, or NULL. */
static const char *header(const http_resp *r, const char *name, char *v, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(r->raw, "\r\n"); p && p < r->body; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *s = p + 3 + nl;
            while (*s == ' ')
                s++;
            size_t k = strcspn(s, "\r");
            snprintf(v, cap, "%.*s", (int)(k < cap ? k : cap - 1), s);
            return v;
        }
    }
    return NULL;
}

static json_t *body_json(const http_resp *r)
{
    json_error_t e;
    return json_loads(r->body, 0, &e);
}

/* ---------------------------------------------------------------- fixture */

static rt5_tokenizer *g_tok;

static rt5_tokenizer *tokenizer(void)
{
    if (g_tok)
        return g_tok;
    const char *path = getenv("RANKT5_T5_SPIECE");
    if (!path)
        path = rt5t_shared_path("tokenizer/t5-spiece.model");
    rt5_tokenizer *tok = NULL;
    if (rt5_tokenizer_load(path, NULL, &tok) != RT5_OK) {
        rt5_tokenizer_free(tok);
        return NULL;
    }
    return g_tok = tok;
}

static rt5__server *start_server(rt5__server_params *p)
{
    p->host = "127.0.0.1";
    p->port = 0;
    p->http_threads = 2;
    rt5__server *s = NULL;
    char err[256];
    if (rt5__server_start_with_scorer(p, tokenizer(), fake_score, &g_fake, &s, err, sizeof err) != RT5_OK) {
        fprintf(stderr, "  server start failed: %s\n", err);
        return NULL;
    }
    return s;
}

static double expected_score(const char *q, const char *d)
{
    int32_t ids[512];
    size_t n = 0, cut = 0;
    rt5_pair_params pp = rt5_pair_default_params();
    if (rt5_tokenizer_encode_pair(g_tok, &pp, q, strlen(q), d, strlen(d), ids, 512, &n, &cut) != RT5_OK)
        return NAN;
    return fake_score_of(ids, n);
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

#define NEED_TOKENIZER()                                                   \
    do {                                                                   \
        if (!tokenizer())                                                  \
            SKIP("T5 tokenizer not available (../shared/tokenizer)");      \
    } while (0)

static const char *k_docs[4] = {"Rust is a systems programming language.", "Iron oxide forms on steel.",
                                "The weather is nice today.", "Cargo builds Rust code."};

/* ---------------------------------------------------------------- tests */

TEST(test_server_http_cohere_jina_tei_shapes_and_scores)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    CHECK(port > 0);
    const char *q = "what is rust";
    char body[1024];
    snprintf(body, sizeof body,
             "{\"model\":\"rankt5\",\"query\":\"%s\",\"documents\":[\"%s\",\"%s\",\"%s\",\"%s\"],"
             "\"top_n\":3,\"return_documents\":true}", q, k_docs[0], k_docs[1], k_docs[2], k_docs[3]);
    http_resp r;
    REQUIRE(http(port, "POST", "/v2/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    json_t *t = body_json(&r);
    REQUIRE(t);
    json_t *results = json_object_get(t, "results");
    CHECK_EQ_INT(json_array_size(results), 3);
    double prev = 2.0;
    for (size_t k = 0; k < json_array_size(results); k++) {
        json_t *it = json_array_get(results, k);
        size_t idx = (size_t)json_integer_value(json_object_get(it, "index"));
        REQUIRE(idx < 4);
        double score = json_real_value(json_object_get(it, "relevance_score"));
        CHECK_NEAR(score, sigmoid(expected_score(q, k_docs[idx])), 1e-6);
        CHECK(score <= prev);
        prev = score;
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(it, "document"), "text")), k_docs[idx]);
    }
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(t, "meta"), "api_version"),
                                                   "version")), "2");
    char v[64];
    CHECK(header(&r, "x-queue-time", v, sizeof v) != NULL);
    CHECK(header(&r, "x-inference-time", v, sizeof v) != NULL);
    CHECK(header(&r, "x-total-time", v, sizeof v) != NULL);
    CHECK(header(&r, "x-tokenization-time", v, sizeof v) != NULL);
    CHECK(header(&r, "x-total-tokens", v, sizeof v) && atoi(v) > 20);
    CHECK(header(&r, "x-truncated-documents", v, sizeof v) && strcmp(v, "0") == 0);
    json_decref(t);
    resp_free(&r);

    /* Jina: documents returned by default, model echoed */
    snprintf(body, sizeof body, "{\"model\":\"jina-reranker-v2\",\"query\":\"%s\",\"documents\":[\"%s\",\"%s\"]}",
             q, k_docs[0], k_docs[1]);
    REQUIRE(http(port, "POST", "/v1/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    t = body_json(&r);
    REQUIRE(t);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "model")), "jina-reranker-v2");
    CHECK(json_integer_value(json_object_get(json_object_get(t, "usage"), "total_tokens")) > 10);
    json_t *first = json_array_get(json_object_get(t, "results"), 0);
    CHECK(json_is_object(json_object_get(first, "document")));
    json_decref(t);
    resp_free(&r);

    /* TEI: a bare array, raw logits on request */
    snprintf(body, sizeof body, "{\"query\":\"%s\",\"texts\":[\"%s\",\"%s\"],\"raw_scores\":true,"
             "\"return_text\":true}", q, k_docs[2], k_docs[3]);
    REQUIRE(http(port, "POST", "/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    t = body_json(&r);
    REQUIRE(json_is_array(t) && json_array_size(t) == 2);
    for (size_t k = 0; k < 2; k++) {
        json_t *it = json_array_get(t, k);
        size_t idx = (size_t)json_integer_value(json_object_get(it, "index"));
        REQUIRE(idx < 2);
        CHECK_NEAR(json_real_value(json_object_get(it, "score")), expected_score(q, k_docs[2 + idx]), 1e-6);
        CHECK_EQ_STR(json_string_value(json_object_get(it, "text")), k_docs[2 + idx]);
    }
    json_decref(t);
    resp_free(&r);
    rt5__server_free(s);
}

TEST(test_server_http_health_info_metrics)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    p.max_docs = 7;
    p.model_name = "tiny-test";
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    http_resp r;
    REQUIRE(http(port, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    REQUIRE(http(port, "GET", "/info", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    json_t *t = body_json(&r);
    REQUIRE(t);
    CHECK_EQ_STR(json_string_value(json_object_get(t, "model")), "tiny-test");
    CHECK_EQ_STR(json_string_value(json_object_get(t, "version")), rt5_version());
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(t, "limits"), "max_docs_per_request")), 7);
    CHECK_EQ_INT(json_integer_value(json_object_get(t, "max_client_batch_size")), 7);
    json_decref(t);
    resp_free(&r);
    REQUIRE(http(port, "POST", "/rerank", NULL, "{\"query\":\"a\",\"texts\":[\"b\"]}", &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    REQUIRE(http(port, "POST", "/rerank", NULL, "{\"query\":", &r) == 0);
    CHECK_EQ_INT(r.status, 400);
    resp_free(&r);
    REQUIRE(http(port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    char v[128];
    CHECK(header(&r, "content-type", v, sizeof v) && strstr(v, "text/plain"));
    CHECK(strstr(r.body, "rankt5_http_requests_total{endpoint=\"/rerank\",status=\"200\"} 1\n"));
    CHECK(strstr(r.body, "rankt5_http_requests_total{endpoint=\"/rerank\",status=\"400\"} 1\n"));
    CHECK(strstr(r.body, "rankt5_http_requests_total{endpoint=\"/health\",status=\"200\"} 1\n"));
    CHECK(strstr(r.body, "rankt5_pairs_total 1\n"));
    CHECK(strstr(r.body, "rankt5_batches_total 1\n"));
    CHECK(strstr(r.body, "rankt5_queue_duration_seconds_count 1\n"));
    CHECK(strstr(r.body, "rankt5_tokenize_duration_seconds_count 1\n"));
    CHECK(strstr(r.body, "rankt5_inference_duration_seconds_count 1\n"));
    CHECK(strstr(r.body, "rankt5_queue_requests 0\n"));
    resp_free(&r);
    rt5__server_free(s);
}

/* Expects status (and, when needle, a body containing it), then a healthy
 * server. */
static void expect_status(int port, const char *method, const char *path, const char *headers,
                          const char *body, int status, const char *needle)
{
    http_resp r;
    if (http(port, method, path, headers, body, &r) != 0) {
        CHECK(!"request failed");
        resp_free(&r);
        return;
    }
    if (r.status != status || (needle && !strstr(r.body, needle)))
        fprintf(stderr, "  %s %s: got %d %s, want %d with %s\n", method, path, r.status, r.body, status,
                needle ? needle : "-");
    CHECK_EQ_INT(r.status, status);
    if (needle)
        CHECK(strstr(r.body, needle) != NULL);
    resp_free(&r);
    REQUIRE(http(port, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
}

TEST(test_server_http_errors_have_the_right_status)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    p.api_key = "sekret";
    p.max_docs = 5;
    p.max_payload = 4096;
    p.max_length = 32;
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    const char *auth = "Authorization: Bearer sekret\r\n";
    const char *ok_body = "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"d\"]}";
    expect_status(port, "POST", "/v2/rerank", auth, ok_body, 200, "\"results\"");
    expect_status(port, "POST", "/v2/rerank", NULL, ok_body, 401, "\"message\"");
    expect_status(port, "POST", "/v2/rerank", "Authorization: Bearer wrong\r\n", ok_body, 401, NULL);
    expect_status(port, "POST", "/v2/rerank", "Authorization: sekret\r\n", ok_body, 401, NULL);
    expect_status(port, "GET", "/info", NULL, NULL, 401, NULL);
    expect_status(port, "GET", "/v2/rerank", auth, NULL, 405, NULL);
    expect_status(port, "POST", "/nope", auth, ok_body, 404, NULL);
    expect_status(port, "POST", "/v2/rerank", auth, "{\"model\":\"m\",", 400, "malformed JSON");
    expect_status(port, "POST", "/v2/rerank", auth, "{\"model\":\"m\",\"documents\":[\"d\"]}", 400,
                  "\\\"query\\\"");
    expect_status(port, "POST", "/v1/rerank", auth, "{\"query\":\"q\",\"documents\":[1]}", 400,
                  "\\\"documents[0]\\\"");
    expect_status(port, "POST", "/rerank", auth, "{\"query\":\"q\",\"texts\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}",
                  413, "\"error_type\":\"Validation\"");
    char *big = malloc(8192);
    snprintf(big, 8192, "{\"query\":\"q\",\"texts\":[\"%0*d\"]}", 5000, 7);
    expect_status(port, "POST", "/rerank", auth, big, 413, NULL);
    free(big);
    /* a body announced far over the limit is refused before it is sent */
    int fd = connect_to(port);
    REQUIRE(fd >= 0);
    const char *huge = "POST /rerank HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\n"
                       "Content-Length: 100000000000\r\n\r\n";
    REQUIRE(write_all(fd, huge, strlen(huge)) == 0);
    char buf[2048] = {0};
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    CHECK(got > 0 && strncmp(buf, "HTTP/1.1 413", 12) == 0 && strstr(buf, "\"Validation\"") != NULL);
    /* a pair over max_length with truncation off */
    expect_status(port, "POST", "/rerank", auth,
                  "{\"query\":\"q\",\"texts\":[\"short\", \"one two three four five six seven eight nine ten "
                  "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty "
                  "twentyone twentytwo twentythree twentyfour twentyfive twentysix\"],\"truncate\":false}",
                  422, "texts[1]");
    rt5__server_free(s);
}

TEST(test_server_http_truncation_is_reported)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    p.max_length = 16;
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    const char *long_doc = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"%s\",\"short\"]}", long_doc);
    http_resp r;
    REQUIRE(http(port, "POST", "/v2/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    char v[64];
    CHECK(header(&r, "x-truncated-documents", v, sizeof v) && strcmp(v, "1") == 0);
    CHECK(header(&r, "x-truncated-tokens", v, sizeof v) && atoi(v) > 0);
    json_t *t = body_json(&r);
    json_t *meta = json_object_get(t, "meta");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(meta, "truncation"), "documents")), 1);
    CHECK(json_array_size(json_object_get(meta, "warnings")) == 1);
    json_decref(t);
    resp_free(&r);

    /* max_tokens_per_doc above every document's length changes nothing:
     * the explicit join equals the tokenizer's pair encoding */
    snprintf(body, sizeof body, "{\"model\":\"m\",\"query\":\"what is it\",\"documents\":[\"%s\"],"
             "\"max_tokens_per_doc\":4000}", "a short text");
    REQUIRE(http(port, "POST", "/v2/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    t = body_json(&r);
    double got = json_real_value(json_object_get(json_array_get(json_object_get(t, "results"), 0),
                                                 "relevance_score"));
    CHECK_NEAR(got, sigmoid(expected_score("what is it", "a short text")), 1e-6);
    json_decref(t);
    resp_free(&r);

    /* a cap of 2 tokens per document is reported too */
    snprintf(body, sizeof body, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"%s\"],"
             "\"max_tokens_per_doc\":2}", "a short text of several words");
    REQUIRE(http(port, "POST", "/v2/rerank", NULL, body, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(header(&r, "x-truncated-documents", v, sizeof v) && strcmp(v, "1") == 0);
    CHECK(header(&r, "x-total-tokens", v, sizeof v) && atoi(v) <= 2 + 2 + 3);
    resp_free(&r);
    rt5__server_free(s);
}

/* ---------------------------------------------------------------- concurrency */

typedef struct client_arg {
    int port, id, n_requests, ok, wrong, status_429;
    char last_retry_after[16];
} client_arg;

static void *client_main(void *arg)
{
    client_arg *c = arg;
    for (int i = 0; i < c->n_requests; i++) {
        char d0[64], d1[64], body[256];
        snprintf(d0, sizeof d0, "client %d request %d first", c->id, i);
        snprintf(d1, sizeof d1, "second document %d of client %d", i, c->id);
        snprintf(body, sizeof body, "{\"query\":\"q%d\",\"texts\":[\"%s\",\"%s\"],\"raw_scores\":true}", i, d0, d1);
        http_resp r;
        if (http(c->port, "POST", "/rerank", NULL, body, &r) != 0) {
            c->wrong++;
            resp_free(&r);
            continue;
        }
        if (r.status == 429) {
            c->status_429++;
            header(&r, "retry-after", c->last_retry_after, sizeof c->last_retry_after);
            resp_free(&r);
            continue;
        }
        json_t *t = body_json(&r);
        char q[16];
        snprintf(q, sizeof q, "q%d", i);
        int good = r.status == 200 && json_array_size(t) == 2;
        for (size_t k = 0; good && k < 2; k++) {
            json_t *it = json_array_get(t, k);
            int idx = (int)json_integer_value(json_object_get(it, "index"));
            double want = expected_score(q, idx == 0 ? d0 : d1);
            good = fabs(json_real_value(json_object_get(it, "score")) - want) < 1e-5;
        }
        c->ok += good;
        c->wrong += !good;
        json_decref(t);
        resp_free(&r);
    }
    return NULL;
}

TEST(test_server_http_concurrent_clients_get_their_own_answers)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    p.max_queue = 64;
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    enum { N = 8 };
    pthread_t th[N];
    client_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (client_arg){rt5__server_port(s), i, 25, 0, 0, 0, ""};
        pthread_create(&th[i], NULL, client_main, &args[i]);
    }
    int ok = 0, wrong = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
        wrong += args[i].wrong + args[i].status_429;
    }
    CHECK_EQ_INT(ok, N * 25);
    CHECK_EQ_INT(wrong, 0);
    rt5__server_free(s);
}

typedef struct bg_request {
    int port;
    int status;
    pthread_t th;
} bg_request;

static void *bg_main(void *arg)
{
    bg_request *b = arg;
    http_resp r;
    b->status = http(b->port, "POST", "/v1/rerank", NULL, "{\"query\":\"q\",\"documents\":[\"held\"]}", &r) == 0
                    ? r.status : -1;
    resp_free(&r);
    return NULL;
}

/* Polls /metrics until n requests are admitted; false after ~10 s. */
static int wait_queue_depth(int port, int n)
{
    char want[64];
    snprintf(want, sizeof want, "rankt5_queue_requests %d\n", n);
    for (int tries = 0; tries < 2000; tries++) {
        http_resp r;
        int found = http(port, "GET", "/metrics", NULL, NULL, &r) == 0 && strstr(r.body, want) != NULL;
        resp_free(&r);
        if (found)
            return 1;
        usleep(5000);
    }
    return 0;
}

TEST(test_server_http_overload_answers_429_with_retry_after)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    p.max_queue = 2;
    p.retry_after_s = 3;
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    gate(1);
    bg_request held[2] = {{port, 0, 0}, {port, 0, 0}};
    pthread_create(&held[0].th, NULL, bg_main, &held[0]);
    wait_engine_busy(); /* the first is inside the engine */
    pthread_create(&held[1].th, NULL, bg_main, &held[1]);
    REQUIRE(wait_queue_depth(port, 2)); /* the second is queued behind the first */
    http_resp r;
    REQUIRE(http(port, "POST", "/v1/rerank", NULL, "{\"query\":\"q\",\"documents\":[\"x\"]}", &r) == 0);
    int saw_429 = r.status == 429;
    char v[16];
    CHECK(header(&r, "retry-after", v, sizeof v) && strcmp(v, "3") == 0);
    CHECK(strstr(r.body, "\"rate_limit_error\"") != NULL);
    resp_free(&r);
    CHECK(saw_429);
    gate(0);
    pthread_join(held[0].th, NULL);
    pthread_join(held[1].th, NULL);
    CHECK_EQ_INT(held[0].status, 200);
    CHECK_EQ_INT(held[1].status, 200);
    rt5__server_free(s);
}

typedef struct bg_shutdown {
    rt5__server *s;
    size_t left;
    pthread_t th;
} bg_shutdown;

static void *shutdown_main(void *arg)
{
    bg_shutdown *b = arg;
    b->left = rt5__server_shutdown(b->s, 10.0);
    return NULL;
}

TEST(test_server_http_graceful_shutdown_finishes_admitted_requests)
{
    NEED_TOKENIZER();
    rt5__server_params p = rt5__server_default_params();
    rt5__server *s = start_server(&p);
    REQUIRE(s);
    int port = rt5__server_port(s);
    /* a keep-alive connection opened before the drain */
    int keep = connect_to(port);
    REQUIRE(keep >= 0);
    http_resp r;
    REQUIRE(http_keepalive(keep, "GET", "/health", NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    gate(1);
    bg_request held[3] = {{port, 0, 0}, {port, 0, 0}, {port, 0, 0}};
    for (int i = 0; i < 3; i++)
        pthread_create(&held[i].th, NULL, bg_main, &held[i]);
    wait_engine_busy();
    REQUIRE(wait_queue_depth(port, 3)); /* the other two are admitted behind it */
    bg_shutdown sd = {s, 99, 0};
    pthread_create(&sd.th, NULL, shutdown_main, &sd);
    usleep(100000);
    /* no new connections while draining */
    int fd = connect_to(port);
    CHECK(fd < 0);
    if (fd >= 0)
        close(fd);
    /* a new request on the open connection: 503, and the connection closes */
    REQUIRE(http_keepalive(keep, "POST", "/v1/rerank", "{\"query\":\"q\",\"documents\":[\"late\"]}", &r) == 0);
    CHECK_EQ_INT(r.status, 503);
    CHECK(strstr(r.body, "shutting down") != NULL);
    char v[32];
    CHECK(header(&r, "connection", v, sizeof v) && strcasecmp(v, "close") == 0);
    CHECK(header(&r, "retry-after", v, sizeof v) != NULL);
    resp_free(&r);
    close(keep);
    gate(0);
    pthread_join(sd.th, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(held[i].th, NULL);
        CHECK_EQ_INT(held[i].status, 200);
    }
    CHECK_EQ_INT(sd.left, 0);
    rt5__server_free(s);
}

/* ---------------------------------------------------------------- pairs */

#include "server/pairs.h"

/* The explicit join (used for max_tokens_per_doc and left truncation) must
 * give the tokenizer's own pair encoding whenever the cap does not bind,
 * truncation of either or both parts included. */
TEST(test_server_pairs_explicit_join_equals_encode_pair)
{
    NEED_TOKENIZER();
    static const char *texts[] = {
        "",
        "short",
        "what is the boiling point of water at sea level",
        ("Rust is a multi-paradigm, general-purpose programming language that emphasizes performance, "
         "type safety, and concurrency. It enforces memory safety without a garbage collector."),
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen",
    };
    size_t n = sizeof texts / sizeof texts[0];
    int32_t max_lengths[] = {512, 24, 17, 9};
    for (size_t m = 0; m < sizeof max_lengths / sizeof max_lengths[0]; m++) {
        for (size_t qi = 0; qi < n; qi++) {
            for (size_t di = 0; di < n; di++) {
                rt5__rerank_request req = {0};
                req.api = RT5__API_COHERE;
                req.query = texts[qi];
                req.query_len = strlen(texts[qi]);
                req.docs = &texts[di];
                size_t len = strlen(texts[di]);
                req.doc_lens = &len;
                req.n_docs = req.top_n = 1;
                req.truncate = true;
                req.max_tokens_per_doc = 100000; /* forces the explicit path, never binds */
                rt5__pairs got;
                rt5__api_error err;
                REQUIRE(rt5__pairs_encode(g_tok, &req, max_lengths[m], &got, &err) == 0);
                int32_t want[512];
                size_t n_want = 0, cut = 0;
                rt5_pair_params pp = rt5_pair_default_params();
                pp.max_length = max_lengths[m];
                REQUIRE(rt5_tokenizer_encode_pair(g_tok, &pp, texts[qi], req.query_len, texts[di], len, want,
                                                  512, &n_want, &cut) == RT5_OK);
                int same = got.seqs[0].n_ids == n_want &&
                           memcmp(got.seqs[0].ids, want, n_want * sizeof *want) == 0 &&
                           got.truncated_tokens == cut;
                if (!same)
                    fprintf(stderr, "  max_length %d, query %zu, document %zu: %zu ids (cut %zu) vs %zu (cut %zu)\n",
                            (int)max_lengths[m], qi, di, got.seqs[0].n_ids, got.truncated_tokens, n_want, cut);
                CHECK(same);
                rt5__pairs_free(&got);
            }
        }
    }
}
