/*
 * api.h -- the three rerank wire formats the server speaks, as pure functions
 * over request bytes: parse + validate a body into an rt5__rerank_request,
 * render results or errors back into the shape each API's own clients expect.
 *
 *   RT5__API_COHERE  POST /v2/rerank  Cohere v2: {model, query, documents,
 *                    top_n?, max_tokens_per_doc?, return_documents?}
 *   RT5__API_JINA    POST /v1/rerank  Jina (and llama.cpp): {model?, query,
 *                    documents, top_n?, return_documents? (default true)}
 *   RT5__API_TEI     POST /rerank     text-embeddings-inference: {query,
 *                    texts, truncate?, truncation_direction?, raw_scores?,
 *                    return_text?} -> a bare array
 *
 * Nothing here touches a socket, a tokenizer or the engine, so the fuzz
 * target (tests/fuzz/fuzz_server_request.c) and the unit tests drive it directly.
 */
#ifndef RT5_SERVER_API_H
#define RT5_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt5__api {
    RT5__API_COHERE = 0,
    RT5__API_JINA = 1,
    RT5__API_TEI = 2
} rt5__api;

/* Limits the parser enforces (413 beyond them). */
typedef struct rt5__api_limits {
    size_t max_docs;        /* documents per request                        */
    bool raw_scores;        /* server default for relevance_score: logits    */
} rt5__api_limits;

/* A validated request. Strings are borrowed from the parsed JSON, which the
 * request owns; free with rt5__rerank_request_free. */
typedef struct rt5__rerank_request {
    rt5__api api;
    void *json;              /* the parsed document (json_t *)               */
    const char *model;       /* NULL when absent                             */
    const char *query;
    size_t query_len;
    size_t n_docs;
    const char **docs;       /* (n_docs) UTF-8, may contain no NUL           */
    size_t *doc_lens;        /* (n_docs)                                     */
    size_t top_n;            /* results to return; n_docs when absent        */
    size_t max_tokens_per_doc; /* 0 = no cap beyond the pair limit           */
    bool return_documents;
    bool raw_scores;         /* scores are logits, not sigmoid(logit)        */
    bool truncate;           /* false: a too-long pair is an error           */
    bool truncate_left;      /* cut tokens from the start instead of the end */
} rt5__rerank_request;

/* An error to answer with: the HTTP status and a message naming the field. */
typedef struct rt5__api_error {
    int http_status;
    char message[320];
} rt5__api_error;

/* Parses and validates body. Returns 0 and fills *out, or returns the HTTP
 * status (400, 413) with err filled and *out left empty. */
int rt5__api_parse(rt5__api api, const uint8_t *body, size_t len, const rt5__api_limits *limits,
                   rt5__rerank_request *out, rt5__api_error *err);
void rt5__rerank_request_free(rt5__rerank_request *req);

/* What the engine produced for a request, for rendering. */
typedef struct rt5__rerank_outcome {
    const float *logits;      /* (n_docs) in input order                    */
    size_t total_tokens;      /* tokens of all pairs, specials included     */
    size_t truncated_docs;    /* pairs that truncation shortened            */
    size_t truncated_tokens;  /* tokens truncation removed, all pairs       */
    size_t max_length;        /* the pair limit, for the warning text       */
    const char *request_id;   /* Cohere's "id"                              */
    const char *model_name;   /* what Jina's "model" echoes when absent     */
} rt5__rerank_outcome;

/* The success body (malloc'd, caller frees; NULL when memory ran out). */
char *rt5__api_render_result(const rt5__rerank_request *req, const rt5__rerank_outcome *out,
                             size_t *len);

/* An error body in the API's own shape (malloc'd; NULL when memory ran out):
 * Cohere {"id", "message"}, Jina {"detail", "error": {...}} (FastAPI and
 * OpenAI/llama.cpp style), TEI {"error", "error_type"}. */
char *rt5__api_render_error(rt5__api api, int http_status, const char *message,
                            const char *request_id, size_t *len);

/* relevance_score from a logit: sigmoid unless raw. */
double rt5__api_relevance(float logit, bool raw);

/* Fills order[0..n) with document indices by descending logit, NaN last,
 * ties by index (stable). */
void rt5__api_rank(const float *logits, size_t n, size_t *order);

#endif /* RT5_SERVER_API_H */
