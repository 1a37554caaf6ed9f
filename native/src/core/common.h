/*
 * common.h -- internal helpers every module may use: error-message buffers,
 * checked arithmetic and the "cannot happen" macros.
 *
 * Internal, non-static names are rt5__<module>_*; this header is not installed.
 */
#ifndef RT5_CORE_COMMON_H
#define RT5_CORE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rankt5.h"

#define RT5_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RT5_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RT5_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A fixed-size error message owned by an object (model, tokenizer, ...). */
#define RT5_ERRMSG_CAP 512
typedef struct rt5__errmsg {
    char text[RT5_ERRMSG_CAP];
} rt5__errmsg;

/* Formats a message into err (which may be NULL) and returns status, so a
 * failing path reads: return rt5__fail(err, RT5_ERR_FORMAT, "...", ...). */
rt5_status rt5__fail(rt5__errmsg *err, rt5_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (to add a file name, say). */
void rt5__errmsg_prefix(rt5__errmsg *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return false when the result wraps. */
static inline bool rt5__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool rt5__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Grows *array (of elem-byte items, *cap of them) to hold at least need:
 * the capacity doubles from 16, the new items are zeroed. False when out of
 * memory or the size wraps (*array and *cap are then unchanged). */
bool rt5__grow_zeroed(void **array, size_t *cap, size_t need, size_t elem);

/* Monotonic wall clock in seconds. */
double rt5__now_seconds(void);

#endif /* RT5_CORE_COMMON_H */
