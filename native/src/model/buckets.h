/*
 * buckets.h -- T5's bidirectional relative-position buckets.
 *
 * The relative position of key j seen from query i is j - i. Half of the
 * buckets serve positive positions; in each half the first quarter of all
 * buckets are exact distances and the rest grow logarithmically up to
 * max_distance, beyond which everything shares the last bucket. The log
 * branch is evaluated in float32, as torch does, so boundaries match
 * transformers exactly (a double-precision formula differs at some).
 */
#ifndef RT5_MODEL_BUCKETS_H
#define RT5_MODEL_BUCKETS_H

#include "core/common.h"

/* Bucket of relative position rel (key - query) in [0, num_buckets).
 * Needs num_buckets >= 4 and max_distance > num_buckets / 4. */
int32_t rt5__relative_bucket(int32_t rel, int32_t num_buckets, int32_t max_distance);

/* Fills table[r + (n - 1)] for every r in [-(n-1), n-1] (2n-1 entries): the
 * bucket lookup a sequence of up to n tokens needs. */
void rt5__relative_bucket_table(int32_t *table, int32_t n, int32_t num_buckets, int32_t max_distance);

#endif /* RT5_MODEL_BUCKETS_H */
