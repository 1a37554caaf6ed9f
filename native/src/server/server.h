/*
 * server.h -- `rankt5 serve`: the HTTP front end (libmicrohttpd) over the
 * scheduler and the engine.
 *
 * Threads: libmicrohttpd's pool receives requests, checks auth and limits,
 * parses JSON and tokenizes (the tokenizer is thread-safe); a request that
 * is valid becomes a scheduler job and its connection is suspended. The
 * scheduler's single worker is the only thread that touches the engine;
 * when a job is scored it resumes the connection and an HTTP thread renders
 * the response. Nothing on an HTTP thread runs the model.
 */
#ifndef RT5_SERVER_SERVER_H
#define RT5_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rankt5.h"
#include "server/queue.h"

typedef struct rt5__server_params {
    const char *host;         /* default "127.0.0.1"; numeric IPv4/IPv6 or
                                 "localhost"                                */
    int port;                 /* default 8080; 0 = any free port            */
    const char *api_key;      /* NULL: no auth; else "Authorization: Bearer" */
    size_t max_docs;          /* default 1000 documents per request         */
    size_t max_payload;       /* default 4 MiB per request body             */
    size_t max_queue;         /* default 32 admitted requests               */
    size_t max_connections;   /* default 512 open connections               */
    int32_t max_batch_tokens; /* the engine's, reported by /info (4096)     */
    size_t step_tokens;       /* tokens per engine call; 0 = 4 x batch      */
    double batch_window_s;    /* default 0.002                              */
    double timeout_s;         /* default 60: idle connections and requests
                                 still queued after this are dropped / 503  */
    int32_t max_length;       /* default 512: pair limit, specials included */
    bool raw_scores;          /* default false: relevance = sigmoid(logit)  */
    int http_threads;         /* default 2                                  */
    int retry_after_s;        /* default 1: Retry-After on 429 / 503        */
    const char *model_name;   /* reported by /info and Jina's "model"       */
    const char *model_path;   /* reported by /info                          */
    const char *tokenizer_path;
    const char *dtype_name;   /* reported by /info, e.g. "f32"              */
    const rt5_model_info *model_info; /* may be NULL; copied               */
    bool log_requests;        /* one line per request on stderr            */
    int32_t engine_threads;   /* reported by /info (0 = unknown)           */
    int32_t engine_workers;
} rt5__server_params;

typedef struct rt5__server rt5__server;

rt5__server_params rt5__server_default_params(void);

/* Starts serving with the engine (the served path). err gets a message on
 * failure. The tokenizer and engine are borrowed until rt5__server_free. */
rt5_status rt5__server_start(const rt5__server_params *params, const rt5_tokenizer *tok,
                             rt5_engine *engine, rt5__server **out, char *err, size_t err_cap);

/* Same with another scorer in the engine's place: for unit tests only. */
rt5_status rt5__server_start_with_scorer(const rt5__server_params *params, const rt5_tokenizer *tok,
                                         rt5__score_fn score, void *score_ctx, rt5__server **out,
                                         char *err, size_t err_cap);

/* The port actually bound (useful with port 0). */
int rt5__server_port(const rt5__server *s);

/* Graceful stop: refuses new connections, answers 503 to new requests on
 * open ones, finishes every admitted request, waits up to drain_s for the
 * responses to go out, then stops. Returns the requests still unanswered
 * (0 on a clean drain). */
size_t rt5__server_shutdown(rt5__server *s, double drain_s);

/* Shuts down (if not yet) and frees. */
void rt5__server_free(rt5__server *s);

#endif /* RT5_SERVER_SERVER_H */
