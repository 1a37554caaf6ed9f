/*
 * api.c -- request parsing and response rendering for the Cohere v2, Jina
 * and text-embeddings-inference rerank APIs (see api.h).
 *
 * Parsing is jansson's (depth-limited, UTF-8-checked, overflow-checked
 * numbers) followed by field validation that names the offending field, so a
 * client sees "\"documents[3]\" must be a string" rather than a bare 400.
 * Unknown fields are ignored, as the original services do.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/api.h"

static int fail(rt5__api_error *err, int status, const char *fmt, const char *field)
{
    err->http_status = status;
    snprintf(err->message, sizeof err->message, fmt, field);
    return status;
}

/* The field names differ per API: Cohere/Jina say "documents", TEI "texts". */
static const char *docs_field(rt5__api api)
{
    return api == RT5__API_TEI ? "texts" : "documents";
}

/* A string field; a Jina/Cohere-v1 object {"text": "..."} is accepted too
 * when allow_object. Returns 0, or 400 naming field. */
static int take_text(json_t *value, const char *field, bool allow_object, const char **s,
                     size_t *len, rt5__api_error *err)
{
    if (allow_object && json_is_object(value))
        value = json_object_get(value, "text");
    if (!json_is_string(value))
        return fail(err, 400, allow_object ? "\"%s\" must be a string or an object with a string \"text\""
                                           : "\"%s\" must be a string",
                    field);
    *s = json_string_value(value);
    *len = json_string_length(value);
    return 0;
}

/* Optional boolean: leaves *out alone when absent. */
static int take_bool(json_t *root, const char *field, bool *out, rt5__api_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return fail(err, 400, "\"%s\" must be true or false", field);
    *out = json_is_true(v);
    return 0;
}

/* Optional positive integer: leaves *out alone when absent. */
static int take_count(json_t *root, const char *field, size_t *out, rt5__api_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return fail(err, 400, "\"%s\" must be a positive integer", field);
    json_int_t n = json_integer_value(v);
    *out = (unsigned long long)n > (unsigned long long)SIZE_MAX ? SIZE_MAX : (size_t)n;
    return 0;
}

static int parse_documents(rt5__rerank_request *req, json_t *root, const rt5__api_limits *limits,
                           rt5__api_error *err)
{
    const char *field = docs_field(req->api);
    json_t *docs = json_object_get(root, field);
    if (!docs)
        return fail(err, 400, "missing required field \"%s\"", field);
    if (!json_is_array(docs))
        return fail(err, 400, "\"%s\" must be an array of strings", field);
    size_t n = json_array_size(docs);
    if (n == 0)
        return fail(err, 400, "\"%s\" must not be empty", field);
    if (n > limits->max_docs) {
        err->http_status = 413;
        snprintf(err->message, sizeof err->message,
                 "too many %s: %zu given, this server accepts at most %zu per request", field, n,
                 limits->max_docs);
        return 413;
    }
    req->docs = calloc(n, sizeof *req->docs);
    req->doc_lens = calloc(n, sizeof *req->doc_lens);
    if (!req->docs || !req->doc_lens)
        return fail(err, 500, "out of memory parsing \"%s\"", field);
    bool objects_ok = req->api != RT5__API_TEI;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        if (take_text(json_array_get(docs, i), name, objects_ok, &req->docs[i], &req->doc_lens[i], err))
            return err->http_status;
    }
    req->n_docs = n;
    return 0;
}

static int parse_query_and_model(rt5__rerank_request *req, json_t *root, rt5__api_error *err)
{
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_null(model)) {
        if (!json_is_string(model))
            return fail(err, 400, "\"%s\" must be a string", "model");
        req->model = json_string_value(model);
    } else if (req->api == RT5__API_COHERE) {
        return fail(err, 400, "missing required field \"%s\"", "model");
    }
    json_t *query = json_object_get(root, "query");
    if (!query)
        return fail(err, 400, "missing required field \"%s\"", "query");
    return take_text(query, "query", req->api == RT5__API_JINA, &req->query, &req->query_len, err);
}

static int parse_tei_options(rt5__rerank_request *req, json_t *root, rt5__api_error *err)
{
    if (take_bool(root, "return_text", &req->return_documents, err) ||
        take_bool(root, "truncate", &req->truncate, err))
        return err->http_status;
    json_t *dir = json_object_get(root, "truncation_direction");
    if (!dir || json_is_null(dir))
        return 0;
    const char *s = json_is_string(dir) ? json_string_value(dir) : NULL;
    if (s && strcasecmp(s, "right") == 0)
        req->truncate_left = false;
    else if (s && strcasecmp(s, "left") == 0)
        req->truncate_left = true;
    else
        return fail(err, 400, "\"%s\" must be \"Left\" or \"Right\"", "truncation_direction");
    return 0;
}

static int parse_options(rt5__rerank_request *req, json_t *root, rt5__api_error *err)
{
    if (take_bool(root, "raw_scores", &req->raw_scores, err))
        return err->http_status;
    if (req->api == RT5__API_TEI)
        return parse_tei_options(req, root, err);
    if (take_bool(root, "return_documents", &req->return_documents, err) ||
        take_count(root, "top_n", &req->top_n, err))
        return err->http_status;
    if (req->api == RT5__API_COHERE && take_count(root, "max_tokens_per_doc", &req->max_tokens_per_doc, err))
        return err->http_status;
    return 0;
}

static void describe_json_error(const json_error_t *jerr, size_t len, rt5__api_error *err)
{
    err->http_status = 400;
    if (len == 0) {
        snprintf(err->message, sizeof err->message, "request body is empty; expected a JSON object");
        return;
    }
    /* jansson quotes the bytes near the error, which may be invalid UTF-8
     * that no JSON string can carry back: keep printable ASCII only */
    char near[sizeof jerr->text];
    size_t i = 0;
    for (; jerr->text[i] && i + 1 < sizeof near; i++) {
        unsigned char c = (unsigned char)jerr->text[i];
        near[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    near[i] = 0;
    snprintf(err->message, sizeof err->message, "malformed JSON at line %d, column %d: %s", jerr->line,
             jerr->column, near);
}

int rt5__api_parse(rt5__api api, const uint8_t *body, size_t len, const rt5__api_limits *limits,
                   rt5__rerank_request *out, rt5__api_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    out->api = api;
    out->return_documents = api == RT5__API_JINA;
    out->raw_scores = limits->raw_scores;
    out->truncate = true;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)body, len, 0, &jerr);
    if (!root) {
        describe_json_error(&jerr, len, err);
        return 400;
    }
    out->json = root;
    int status = 0;
    if (!json_is_object(root))
        status = fail(err, 400, "request body must be a JSON %s", "object");
    if (!status)
        status = parse_query_and_model(out, root, err);
    if (!status)
        status = parse_documents(out, root, limits, err);
    if (!status)
        status = parse_options(out, root, err);
    if (status) {
        rt5__rerank_request_free(out);
        return status;
    }
    if (out->top_n == 0 || out->top_n > out->n_docs)
        out->top_n = out->n_docs;
    return 0;
}

void rt5__rerank_request_free(rt5__rerank_request *req)
{
    if (!req)
        return;
    json_decref((json_t *)req->json);
    free(req->docs);
    free(req->doc_lens);
    memset(req, 0, sizeof *req);
}

/* ---------------------------------------------------------------- render */

double rt5__api_relevance(float logit, bool raw)
{
    if (raw)
        return (double)logit;
    return 1.0 / (1.0 + exp(-(double)logit));
}

/* Insertion into a bottom-up merge sort would be overkill: n is at most
 * max_docs (a few thousand), so a plain merge sort on indices keeps it
 * O(n log n) and stable. */
static bool ranks_before(const float *logits, size_t a, size_t b)
{
    float x = logits[a], y = logits[b];
    if (isnan(x) || isnan(y))
        return isnan(y) && !isnan(x);
    return x > y;
}

static void merge_sort(const float *logits, size_t *v, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(logits, v, tmp, h);
    merge_sort(logits, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = ranks_before(logits, v[j], v[i]) ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

void rt5__api_rank(const float *logits, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) { /* fall back to a stable insertion sort: no memory needed */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && ranks_before(logits, order[j], order[j - 1]); j--) {
                size_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        return;
    }
    merge_sort(logits, order, tmp, n);
    free(tmp);
}

/* jansson refuses non-finite reals; a NaN score becomes null. */
static json_t *score_value(float logit, bool raw)
{
    double v = rt5__api_relevance(logit, raw);
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *text_object(const rt5__rerank_request *req, size_t i)
{
    return json_pack("{s:s%}", "text", req->docs[i], req->doc_lens[i]);
}

static json_t *result_item(const rt5__rerank_request *req, const rt5__rerank_outcome *out, size_t i)
{
    bool tei = req->api == RT5__API_TEI;
    json_t *item = json_pack("{s:I, s:o}", "index", (json_int_t)i, tei ? "score" : "relevance_score",
                             score_value(out->logits[i], req->raw_scores));
    if (item && req->return_documents) {
        if (tei)
            json_object_set_new(item, "text", json_stringn(req->docs[i], req->doc_lens[i]));
        else
            json_object_set_new(item, "document", text_object(req, i));
    }
    return item;
}

static json_t *results_array(const rt5__rerank_request *req, const rt5__rerank_outcome *out)
{
    size_t *order = malloc((req->n_docs ? req->n_docs : 1) * sizeof *order);
    json_t *arr = json_array();
    if (!order || !arr) {
        free(order);
        json_decref(arr);
        return NULL;
    }
    rt5__api_rank(out->logits, req->n_docs, order);
    for (size_t k = 0; k < req->top_n; k++) {
        if (json_array_append_new(arr, result_item(req, out, order[k])) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    free(order);
    return arr;
}

static json_t *truncation_object(const rt5__rerank_outcome *out)
{
    return json_pack("{s:I, s:I, s:I}", "documents", (json_int_t)out->truncated_docs, "tokens",
                     (json_int_t)out->truncated_tokens, "max_length", (json_int_t)out->max_length);
}

static json_t *cohere_meta(const rt5__rerank_request *req, const rt5__rerank_outcome *out)
{
    /* A Cohere search unit covers one query with up to 100 documents. */
    json_int_t units = (json_int_t)((req->n_docs + 99) / 100);
    json_t *meta = json_pack("{s:{s:s}, s:{s:I}, s:o}", "api_version", "version", "2", "billed_units",
                             "search_units", units, "truncation", truncation_object(out));
    if (meta && out->truncated_docs) {
        char text[200];
        snprintf(text, sizeof text,
                 "%zu of %zu documents were truncated to fit %zu tokens with the query (%zu tokens removed)",
                 out->truncated_docs, req->n_docs, out->max_length, out->truncated_tokens);
        json_object_set_new(meta, "warnings", json_pack("[s]", text));
    }
    return meta;
}

static json_t *render_tree(const rt5__rerank_request *req, const rt5__rerank_outcome *out)
{
    json_t *results = results_array(req, out);
    if (!results)
        return NULL;
    switch (req->api) {
    case RT5__API_TEI:
        return results;
    case RT5__API_COHERE:
        return json_pack("{s:s, s:o, s:o}", "id", out->request_id ? out->request_id : "", "results",
                         results, "meta", cohere_meta(req, out));
    case RT5__API_JINA:
        break;
    }
    const char *model = req->model ? req->model : out->model_name ? out->model_name : "rankt5";
    json_int_t tokens = (json_int_t)out->total_tokens;
    return json_pack("{s:s, s:s, s:{s:I, s:I}, s:o, s:o}", "model", model, "object", "list", "usage",
                     "total_tokens", tokens, "prompt_tokens", tokens, "results", results, "truncation",
                     truncation_object(out));
}

static char *dump(json_t *tree, size_t *len)
{
    if (!tree)
        return NULL;
    char *text = json_dumps(tree, JSON_COMPACT);
    json_decref(tree);
    if (text && len)
        *len = strlen(text);
    return text;
}

char *rt5__api_render_result(const rt5__rerank_request *req, const rt5__rerank_outcome *out,
                             size_t *len)
{
    return dump(render_tree(req, out), len);
}

static const char *tei_error_type(int status)
{
    switch (status) {
    case 401: return "Unauthorized";
    case 413: return "Validation";
    case 422: return "Tokenizer";
    case 429: return "Overloaded";
    case 503: return "Unhealthy";
    default: return status >= 500 ? "Backend" : "Validation";
    }
}

static const char *openai_error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 429: return "rate_limit_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

char *rt5__api_render_error(rt5__api api, int http_status, const char *message,
                            const char *request_id, size_t *len)
{
    json_t *tree = NULL;
    switch (api) {
    case RT5__API_COHERE:
        tree = json_pack("{s:s, s:s}", "id", request_id ? request_id : "", "message", message);
        break;
    case RT5__API_JINA:
        tree = json_pack("{s:s, s:{s:i, s:s, s:s}}", "detail", message, "error", "code", http_status,
                         "message", message, "type", openai_error_type(http_status));
        break;
    case RT5__API_TEI:
        tree = json_pack("{s:s, s:s}", "error", message, "error_type", tei_error_type(http_status));
        break;
    }
    return dump(tree, len);
}
