/*
 * status.c -- names of rt5_status codes and the library version.
 *
 * The table is indexed by -status; codes are never renumbered, so a retired
 * code keeps its slot with a "(retired)" name.
 */
#include "core/common.h"

static const char *const status_names[] = {
    "ok",
    "invalid argument",
    "out of memory",
    "I/O error",
    "format error",
    "unsupported",
    "refused (forbidden content in file)",
    "tensor shape or dtype mismatch",
    "buffer too small",
    "input too long",
    "cancelled",
    "internal error",
    "thread error",
};

RT5_API const char *rt5_status_str(rt5_status status)
{
    size_t index = (size_t)(-(long)status);
    if (status > 0 || index >= sizeof status_names / sizeof status_names[0])
        return "unknown status";
    return status_names[index];
}

RT5_API const char *rt5_version(void) { return RT5_VERSION_STRING; }
