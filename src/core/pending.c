/*
 * pending.c -- TEMPORARY: public functions whose real implementation has not
 * landed yet. Each answers RT5_ERR_UNSUPPORTED so the rest of the project
 * links. Whoever implements a function deletes it from this file in the same
 * commit; the file is deleted when it is empty.
 */
#include "core/common.h"
#include "model/model.h"

#define PENDING return RT5_ERR_UNSUPPORTED

/* model (src/model) */
RT5_API const char *rt5_dtype_name(rt5_dtype d) { return "?"; }
RT5_API rt5_model_params rt5_model_default_params(void) { return (rt5_model_params){0}; }
RT5_API rt5_status rt5_model_load(const char *p, const rt5_model_params *q, rt5_model **o) { *o = NULL; PENDING; }
RT5_API void rt5_model_free(rt5_model *m) {}
RT5_API const char *rt5_model_last_error(const rt5_model *m) { return "model loader not built yet"; }
RT5_API rt5_status rt5_model_get_info(const rt5_model *m, rt5_model_info *i) { PENDING; }
RT5_API const char *rt5_model_warning(const rt5_model *m, int32_t i) { return NULL; }

