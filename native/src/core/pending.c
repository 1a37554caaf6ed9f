/*
 * pending.c -- TEMPORARY: public functions whose real implementation has not
 * landed yet. Each answers RT5_ERR_UNSUPPORTED so the rest of the project
 * links. Whoever implements a function deletes it from this file in the same
 * commit; the file is deleted when it is empty.
 */
#include "core/common.h"
#include "model/model.h"

#define PENDING return RT5_ERR_UNSUPPORTED

/* model (native/src/model) */

