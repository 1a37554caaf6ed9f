/*
 * fuzz_server_request.c -- libFuzzer target for the server's request parser
 * and response renderer (native/src/server/api.c), without a socket.
 *
 * Input: first byte picks the API (mod 3: Cohere, Jina, TEI), the rest is
 * the request body. A parse either succeeds or names an HTTP status in
 * 400..499 with a message; a success is rendered with made-up logits and
 * the rendered body must itself be valid JSON. Errors are rendered too.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

static void must(int cond)
{
    if (!cond)
        __builtin_trap();
}

static void check_json(char *text, size_t len)
{
    must(text != NULL);
    json_error_t e;
    json_t *t = json_loadb(text, len, 0, &e);
    must(t != NULL);
    json_decref(t);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rt5__api api = (rt5__api)(data[0] % 3);
    rt5__api_limits limits = {1000, (data[0] & 4) != 0};
    rt5__rerank_request req;
    rt5__api_error err;
    int status = rt5__api_parse(api, data + 1, size - 1, &limits, &req, &err);
    if (status) {
        must(status >= 400 && status < 500);
        must(err.message[0] != 0);
        size_t len = 0;
        check_json(rt5__api_render_error(api, status, err.message, "fuzz", &len), len);
        return 0;
    }
    must(req.n_docs >= 1 && req.n_docs <= limits.max_docs && req.top_n >= 1 && req.top_n <= req.n_docs);
    float *logits = malloc(req.n_docs * sizeof *logits);
    must(logits != NULL);
    for (size_t i = 0; i < req.n_docs; i++) /* ties, negatives and a NaN */
        logits[i] = i == 3 ? __builtin_nanf("") : (float)((int)(req.doc_lens[i] % 7) - 3);
    rt5__rerank_outcome out = {logits, req.n_docs * 3, req.n_docs / 2, req.n_docs, 512, "fuzz", "model"};
    size_t len = 0;
    check_json(rt5__api_render_result(&req, &out, &len), len);
    free(logits);
    rt5__rerank_request_free(&req);
    return 0;
}
