/*
 * errmsg.c -- per-object error messages and the clock.
 *
 * Messages are fixed-size buffers inside the object that failed; there is no
 * global error state, so threads never see each other's errors.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/common.h"

rt5_status rt5__fail(rt5__errmsg *err, rt5_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return status;
}

void rt5__errmsg_prefix(rt5__errmsg *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[RT5_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: text" piecewise; both parts are truncated to fit. */
    char joined[RT5_ERRMSG_CAP];
    size_t n = strnlen(prefix, sizeof joined - 3);
    memcpy(joined, prefix, n);
    joined[n++] = ':';
    joined[n++] = ' ';
    size_t rest = strnlen(err->text, sizeof joined - 1 - n);
    memcpy(joined + n, err->text, rest);
    joined[n + rest] = 0;
    memcpy(err->text, joined, sizeof joined);
}

double rt5__now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
