/*
 * array.c -- growing a malloc'd array of fixed-size items, for the format
 * readers' tables (tensors, files, pickle stacks and memo). Capacities
 * double, new slots are zeroed, sizes are overflow-checked.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

bool rt5__grow_zeroed(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (!rt5__mul_size(n, elem, &bytes))
        return false;
    void *p = realloc(*array, bytes);
    if (!p)
        return false;
    memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
    *array = p;
    *cap = n;
    return true;
}
