/*
 * buckets.c -- T5's bidirectional relative-position buckets, bit-exact with
 * transformers' T5Attention._relative_position_bucket.
 *
 * torch computes the logarithmic branch as
 *     max_exact + long(log(float(n) / max_exact) / log(max_distance / max_exact)
 *                      * (num_buckets - max_exact))
 * on float32 tensors: the division by the Python double log(...) happens in
 * float32 with the scalar rounded to float32, and .to(long) truncates. We do
 * the same arithmetic step by step in float (tests/test_buckets.c checks every
 * position in [-3000, 3000] against tables that transformers produced).
 */
#include "model/buckets.h"

#include <math.h>
#include <stdlib.h>

int32_t rt5__relative_bucket(int32_t rel, int32_t num_buckets, int32_t max_distance)
{
    int32_t half = num_buckets / 2;        /* buckets per direction          */
    int32_t bucket = rel > 0 ? half : 0;   /* keys after the query: top half */
    int32_t n = rel < 0 ? -rel : rel;
    int32_t max_exact = half / 2;
    if (n < max_exact)
        return bucket + n;
    /* float32 throughout, like torch; volatile-free but each step rounded */
    float ratio = (float)n / (float)max_exact;
    float scale = (float)log((double)max_distance / (double)max_exact);
    float x = logf(ratio) / scale * (float)(half - max_exact);
    int32_t large = max_exact + (int32_t)x;
    if (large > half - 1)
        large = half - 1;
    return bucket + large;
}

void rt5__relative_bucket_table(int32_t *table, int32_t n, int32_t num_buckets, int32_t max_distance)
{
    for (int32_t r = -(n - 1); r <= n - 1; r++)
        table[r + n - 1] = rt5__relative_bucket(r, num_buckets, max_distance);
}
