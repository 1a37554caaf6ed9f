/*
 * pairs.h -- turning a parsed rerank request into encoded (query, document)
 * pairs for the engine, with the truncation the request asked for.
 *
 * The default (truncate from the right, no per-document cap) is exactly
 * rt5_tokenizer_encode_pair with Hugging Face's longest-first rule, the same
 * call `rankt5 score` makes, so served scores equal the CLI's. Cohere's
 * max_tokens_per_doc and TEI's truncation_direction "Left" need more than
 * that call offers: the query and document are encoded separately and
 * joined as ids(query) </s> ids(document) </s>, with the Hugging Face
 * tokenizers longest-first split of the remaining budget.
 */
#ifndef RT5_SERVER_PAIRS_H
#define RT5_SERVER_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "rankt5.h"
#include "server/api.h"

typedef struct rt5__pairs {
    int32_t *ids;        /* all pairs' ids back to back                     */
    rt5_seq *seqs;       /* (n) pointing into ids                           */
    size_t n;
    size_t total_tokens;
    size_t truncated_docs, truncated_tokens;
} rt5__pairs;

/* Encodes every document of req with the query. Returns 0, or an HTTP
 * status (422 a document that cannot be encoded within max_length, 500 out
 * of memory) with err naming the document. */
int rt5__pairs_encode(const rt5_tokenizer *tok, const rt5__rerank_request *req, int32_t max_length,
                      rt5__pairs *out, rt5__api_error *err);
void rt5__pairs_free(rt5__pairs *p);

/* The Hugging Face tokenizers longest-first split: given the lengths of the
 * two parts and the budget for both, the lengths each keeps. Exposed for the
 * unit tests. */
void rt5__pairs_split(size_t n_first, size_t n_second, size_t budget, size_t *keep_first,
                      size_t *keep_second);

#endif /* RT5_SERVER_PAIRS_H */
