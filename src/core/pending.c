/*
 * pending.c -- TEMPORARY: public functions whose real implementation has not
 * landed yet. Each answers RT5_ERR_UNSUPPORTED so the rest of the project
 * links. Whoever implements a function deletes it from this file in the same
 * commit; the file is deleted when it is empty.
 */
#include "core/common.h"
#include "model/model.h"

#define PENDING return RT5_ERR_UNSUPPORTED

/* tokenizer (src/tokenizer) */
RT5_API rt5_tokenizer_params rt5_tokenizer_default_params(void) { return (rt5_tokenizer_params){0}; }
RT5_API rt5_status rt5_tokenizer_load(const char *p, const rt5_tokenizer_params *q, rt5_tokenizer **o) { *o = NULL; PENDING; }
RT5_API rt5_status rt5_tokenizer_load_from_memory(const uint8_t *b, size_t n, const rt5_tokenizer_params *q, rt5_tokenizer **o) { *o = NULL; PENDING; }
RT5_API void rt5_tokenizer_free(rt5_tokenizer *t) {}
RT5_API const char *rt5_tokenizer_last_error(const rt5_tokenizer *t) { return "tokenizer not built yet"; }
RT5_API int32_t rt5_tokenizer_vocab_size(const rt5_tokenizer *t) { return 0; }
RT5_API const char *rt5_tokenizer_piece(const rt5_tokenizer *t, int32_t id, size_t *len) { return NULL; }
RT5_API rt5_status rt5_tokenizer_encode(const rt5_tokenizer *t, const char *x, size_t n, int32_t *ids, size_t cap, size_t *n_ids) { PENDING; }
RT5_API rt5_pair_params rt5_pair_default_params(void) { return (rt5_pair_params){512, RT5_TRUNCATE_LONGEST_FIRST, NULL}; }
RT5_API rt5_status rt5_tokenizer_encode_pair(const rt5_tokenizer *t, const rt5_pair_params *p, const char *q, size_t ql, const char *d, size_t dl, int32_t *ids, size_t cap, size_t *n_ids, size_t *n_trunc) { PENDING; }

/* model (src/model) */
RT5_API const char *rt5_dtype_name(rt5_dtype d) { return "?"; }
RT5_API rt5_model_params rt5_model_default_params(void) { return (rt5_model_params){0}; }
RT5_API rt5_status rt5_model_load(const char *p, const rt5_model_params *q, rt5_model **o) { *o = NULL; PENDING; }
RT5_API void rt5_model_free(rt5_model *m) {}
RT5_API const char *rt5_model_last_error(const rt5_model *m) { return "model loader not built yet"; }
RT5_API rt5_status rt5_model_get_info(const rt5_model *m, rt5_model_info *i) { PENDING; }
RT5_API const char *rt5_model_warning(const rt5_model *m, int32_t i) { return NULL; }
rt5_status rt5__forward_prepare(rt5_model *model) { PENDING; }
void rt5__forward_release(rt5_model *model) {}

/* sessions (src/engine/session.c, over src/model forward) */
RT5_API rt5_session_params rt5_session_default_params(void) { return (rt5_session_params){4096, 512, 0}; }
RT5_API rt5_status rt5_session_create(const rt5_model *m, const rt5_session_params *p, rt5_session **o) { *o = NULL; PENDING; }
RT5_API void rt5_session_free(rt5_session *s) {}
RT5_API const char *rt5_session_last_error(const rt5_session *s) { return "sessions not built yet"; }
RT5_API rt5_status rt5_session_score(rt5_session *s, const rt5_seq *q, size_t n, float *scores) { PENDING; }
