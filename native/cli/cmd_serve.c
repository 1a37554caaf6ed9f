/*
 * cmd_serve.c -- `rankt5 serve`: load a model and tokenizer, start the HTTP
 * server (native/src/server) and run until SIGTERM or SIGINT, then drain: stop
 * accepting, finish every admitted request, exit 0.
 *
 * Signals are blocked before any thread starts and taken with sigwait() on
 * the main thread, so no handler ever runs inside the server's threads.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "scorer.h"
#include "server/server.h"

#define CMD "serve"

static void print_help(void)
{
    printf(
        "Usage: rankt5 serve --model PATH --tokenizer FILE [options]\n\n"
        "Serves a T5-encoder reranker over HTTP in the shapes of three rerank APIs, so\n"
        "existing clients work unchanged:\n"
        "  POST /v2/rerank   Cohere v2     {model, query, documents, top_n?, max_tokens_per_doc?}\n"
        "  POST /v1/rerank   Jina, llama.cpp {model?, query, documents, top_n?, return_documents?}\n"
        "  POST /rerank      text-embeddings-inference {query, texts, truncate?, raw_scores?, return_text?}\n"
        "  GET  /health, /info, /metrics (Prometheus)\n\n"
        "relevance_score is sigmoid(logit) unless raw scores are asked for; RankT5 logits\n"
        "rank documents within one query and are not comparable across queries.\n\n"
        "Model:\n"
        "  --model PATH             checkpoint (.bin, .safetensors, or a directory)\n"
        "  --tokenizer FILE         T5 spiece.model or tokenizer.json\n"
        "  --dtype f32|bf16|f16|int8|auto  compute dtype (default f32; auto: see rankt5 info)\n"
        "  --model-name NAME        name reported by /info and Jina's \"model\" (default: file name)\n"
        "  --threads N              engine threads (default: all cores)\n"
        "  --workers N              engine batches scored concurrently (default: the engine's\n"
        "                           choice; threads are split among them)\n"
        "  --max-length N           pair length limit, specials included (default 512)\n"
        "Network:\n"
        "  --host ADDR              numeric address to bind (default 127.0.0.1)\n"
        "  --port N                 port (default 8080; 0 picks a free one)\n"
        "  --port-file FILE         write the bound port to FILE once listening\n"
        "  --api-key KEY            require \"Authorization: Bearer KEY\" (not on /health)\n"
        "  --api-key-file FILE      the same, key read from FILE's first line\n"
        "  --http-threads N         HTTP I/O threads (default 2); they never run the model\n"
        "  --max-connections N      open connections (default 512)\n"
        "Limits and batching:\n"
        "  --max-batch-tokens N     tokens per packed engine batch (default 4096)\n"
        "  --max-docs-per-request N documents per request, 413 beyond (default 1000)\n"
        "  --max-payload BYTES      request body size, 413 beyond (default 4194304)\n"
        "  --max-queue N            admitted requests, 429 + Retry-After beyond (default 32)\n"
        "  --timeout S              idle connection timeout; requests queued longer get 503\n"
        "                           (default 60)\n"
        "  --batch-window-ms MS     wait this long to batch concurrent requests (default 2)\n"
        "  --raw-scores             relevance_score is the raw logit by default\n"
        "  --verbose                log one line per request to stderr\n\n"
        "Example:\n"
        "  rankt5 serve --model rankt5-3b/pytorch_model.bin --tokenizer spiece.model --port 8080\n"
        "  curl -s localhost:8080/v2/rerank -H 'Content-Type: application/json' \\\n"
        "       -d '{\"model\":\"rankt5\",\"query\":\"what is rust\",\"documents\":[\"a metal oxide\",\"a language\"]}'\n"
        "See docs/server.md.\n");
}

typedef struct serve_opts {
    const char *model, *tokenizer, *port_file, *api_key_file, *model_name;
    rt5_dtype dtype;
    long threads, workers;
    rt5__server_params sp;
    char api_key[512];
} serve_opts;

static bool read_key_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    size_t n = ok ? strlen(out) : 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = 0;
    return ok && n > 0;
}

/* Parses one "--name value" option at argv[*i]; returns -1 if unknown, a
 * CLI exit code on a bad value, 0 when consumed. */
static int parse_valued(serve_opts *o, const char *name, const char *v)
{
    long n = 0;
    rt5__server_params *p = &o->sp;
#define NUM(opt, lo, hi, dst)                                                          \
    if (strcmp(name, opt) == 0) {                                                      \
        if (!cli_parse_long(v, lo, hi, &n))                                            \
            return cli_usage_error(CMD, "%s wants an integer in [%ld, %ld], got '%s'", \
                                   opt, (long)(lo), (long)(hi), v);                    \
        dst = n;                                                                       \
        return 0;                                                                      \
    }
    if (strcmp(name, "--model") == 0) { o->model = v; return 0; }
    if (strcmp(name, "--tokenizer") == 0) { o->tokenizer = v; return 0; }
    if (strcmp(name, "--host") == 0) { p->host = v; return 0; }
    if (strcmp(name, "--port-file") == 0) { o->port_file = v; return 0; }
    if (strcmp(name, "--api-key") == 0) { snprintf(o->api_key, sizeof o->api_key, "%s", v); return 0; }
    if (strcmp(name, "--api-key-file") == 0) { o->api_key_file = v; return 0; }
    if (strcmp(name, "--model-name") == 0) { o->model_name = v; return 0; }
    if (strcmp(name, "--dtype") == 0) {
        if (!cli_parse_dtype(v, &o->dtype))
            return cli_usage_error(CMD, "--dtype wants f32, bf16, f16, int8 or auto, got '%s'", v);
        return 0;
    }
    NUM("--port", 0, 65535, p->port)
    NUM("--threads", 0, 1024, o->threads)
    NUM("--workers", 0, 256, o->workers)
    NUM("--max-length", 8, 65536, p->max_length)
    NUM("--http-threads", 1, 64, p->http_threads)
    NUM("--max-connections", 4, 100000, p->max_connections)
    NUM("--max-batch-tokens", 64, 1L << 22, p->max_batch_tokens)
    NUM("--max-docs-per-request", 1, 1000000, p->max_docs)
    NUM("--max-payload", 1024, 1L << 32, p->max_payload)
    NUM("--max-queue", 1, 1000000, p->max_queue)
    NUM("--timeout", 1, 86400, p->timeout_s)
    if (strcmp(name, "--batch-window-ms") == 0) {
        if (!cli_parse_long(v, 0, 10000, &n))
            return cli_usage_error(CMD, "--batch-window-ms wants milliseconds in [0, 10000], got '%s'", v);
        p->batch_window_s = (double)n / 1e3;
        return 0;
    }
#undef NUM
    return -1;
}

static int parse_args(serve_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return -1;
        }
        if (strcmp(a, "--raw-scores") == 0) { o->sp.raw_scores = true; continue; }
        if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) { o->sp.log_requests = true; continue; }
        if (strncmp(a, "--", 2) != 0)
            return cli_usage_error(CMD, "unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error(CMD, "%s needs a value", a);
        int rc = parse_valued(o, a, argv[++i]);
        if (rc < 0)
            return cli_usage_error(CMD, "unknown option '%s'", a);
        if (rc > 0)
            return rc;
    }
    struct stat st;
    if (!o->tokenizer && o->model && stat(o->model, &st) == 0 && S_ISDIR(st.st_mode))
        o->tokenizer = o->model; /* a model folder holds its tokenizer */
    if (!o->model || !o->tokenizer)
        return cli_usage_error(CMD, "--model and --tokenizer are required (--tokenizer may be left "
                               "out when --model is a folder holding one)");
    if (o->api_key[0] && o->api_key_file)
        return cli_usage_error(CMD, "give --api-key or --api-key-file, not both");
    if (o->api_key_file && !read_key_file(o->api_key_file, o->api_key, sizeof o->api_key))
        return cli_error(CMD, "cannot read an API key from '%s'", o->api_key_file);
    o->sp.api_key = o->api_key[0] ? o->api_key : NULL;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int write_port_file(const char *path, int port)
{
    cli_atomic_file f;
    if (!cli_atomic_open(&f, path))
        return cli_error(CMD, "cannot write '%s': %s", path, strerror(errno));
    fprintf(f.fp, "%d\n", port);
    if (!cli_atomic_commit(&f))
        return cli_error(CMD, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

typedef struct loaded {
    rt5_tokenizer *tok;
    rt5_model *model;
    rt5_engine *engine;
    rt5_model_info info;
} loaded;

static void unload(loaded *l)
{
    rt5_engine_free(l->engine);
    rt5_model_free(l->model);
    rt5_tokenizer_free(l->tok);
}

static int load_all(serve_opts *o, loaded *l)
{
    memset(l, 0, sizeof *l);
    int rc = cli_load_tokenizer(CMD, o->tokenizer, &l->tok);
    if (rc != CLI_EXIT_OK)
        return rc;
    rt5_model_params mp = rt5_model_default_params();
    mp.compute_dtype = o->dtype;
    if ((rc = cli_load_model(CMD, o->model, &mp, &l->model)) != CLI_EXIT_OK)
        return rc;
    if (rt5_model_get_info(l->model, &l->info) == RT5_OK) {
        o->sp.model_info = &l->info;
        o->sp.dtype_name = rt5_dtype_name(l->info.compute_dtype); /* a converted file's own */
    }
    rt5_engine_params ep = rt5_engine_default_params();
    ep.n_threads = (int32_t)o->threads;
    ep.n_workers = (int32_t)o->workers;
    ep.max_batch_tokens = o->sp.max_batch_tokens;
    ep.max_length = o->sp.max_length;
    int32_t tok_vocab = rt5_tokenizer_vocab_size(l->tok);
    if (o->sp.model_info && tok_vocab > l->info.vocab_size)
        return cli_error(CMD, "the tokenizer has %d ids but the model's vocabulary only %d rows: "
                         "not a tokenizer for this model", (int)tok_vocab, (int)l->info.vocab_size);
    if ((rc = cli_create_engine(CMD, l->model, &ep, &l->engine)) != CLI_EXIT_OK)
        return rc;
    /* One scheduler step feeds every engine worker a couple of batches. */
    rt5_engine_params used;
    if (rt5_engine_get_params(l->engine, &used) == RT5_OK) {
        size_t per_step = 2 * (size_t)(used.n_workers > 0 ? used.n_workers : 1);
        o->sp.step_tokens = (per_step < 4 ? 4 : per_step) * (size_t)used.max_batch_tokens;
        o->sp.engine_threads = used.n_threads;
        o->sp.engine_workers = used.n_workers;
    }
    return 0;
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

int rt5_cli_serve(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof o);
    o.sp = rt5__server_default_params();
    o.dtype = RT5_DTYPE_F32;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    o.sp.model_name = o.model_name ? o.model_name : base_name(o.model);
    o.sp.model_path = o.model;
    o.sp.tokenizer_path = o.tokenizer;
    o.sp.dtype_name = rt5_dtype_name(o.dtype);

    /* Block the stop signals in every thread we are about to start. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    loaded l;
    if ((rc = load_all(&o, &l)) != 0) {
        unload(&l);
        return rc;
    }
    rt5__server *srv = NULL;
    char err[256] = "";
    rt5_status st = rt5__server_start(&o.sp, l.tok, l.engine, &srv, err, sizeof err);
    if (st != RT5_OK) {
        unload(&l);
        return cli_error(CMD, "%s", err);
    }
    int port = rt5__server_port(srv);
    fprintf(stderr,
            "rankt5 serve: listening on %s:%d (model %s, %s, %d threads in %d workers, max %zu docs/request, "
            "queue %zu)\n",
            o.sp.host, port, o.sp.model_name, o.sp.dtype_name, (int)o.sp.engine_threads,
            (int)o.sp.engine_workers, o.sp.max_docs, o.sp.max_queue);
    if (o.port_file && (rc = write_port_file(o.port_file, port)) != 0) {
        rt5__server_free(srv);
        unload(&l);
        return rc;
    }
    int sig = wait_for_signal(&stop);
    fprintf(stderr, "rankt5 serve: %s: draining (no new connections; finishing admitted requests)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    size_t left = rt5__server_shutdown(srv, 30.0);
    rt5__server_free(srv);
    unload(&l);
    if (left) {
        cli_warn(CMD, "%zu requests were still open after 30 s and were dropped", left);
        return CLI_EXIT_ERROR;
    }
    fprintf(stderr, "rankt5 serve: stopped cleanly\n");
    return CLI_EXIT_OK;
}
