/*
 * test_buckets.c -- rt5__relative_bucket against the tables transformers'
 * own T5Attention._relative_position_bucket produced
 * (tests/fixtures/golden/buckets.json, written by tests/gen/gen_golden.py), for
 * every relative position in [-3000, 3000] and several bucket settings.
 */
#include "harness.h"

#include <jansson.h>

#include "model/buckets.h"

static json_t *load_tables(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(rt5t_path("tests/fixtures/golden/buckets.json"), 0, &jerr);
    if (!root)
        fprintf(stderr, "  buckets.json: %s (line %d)\n", jerr.text, jerr.line);
    return root;
}

/* The textbook formula in double precision: what a port would naively write. */
static int32_t bucket_in_double(int32_t rel, int32_t num_buckets, int32_t max_distance)
{
    int32_t half = num_buckets / 2, bucket = rel > 0 ? half : 0, n = abs(rel), max_exact = half / 2;
    if (n < max_exact)
        return bucket + n;
    int32_t large = max_exact + (int32_t)(log((double)n / max_exact) / log((double)max_distance / max_exact)
                                          * (half - max_exact));
    return bucket + (large < half - 1 ? large : half - 1);
}

TEST(test_buckets_match_transformers)
{
    json_t *root = load_tables();
    REQUIRE(root);
    json_t *tables = json_object_get(root, "tables");
    REQUIRE(json_is_array(tables) && json_array_size(tables) >= 5);
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        int32_t nb = (int32_t)json_integer_value(json_object_get(t, "num_buckets"));
        int32_t md = (int32_t)json_integer_value(json_object_get(t, "max_distance"));
        int32_t lo = (int32_t)json_integer_value(json_object_get(t, "min_relative_position"));
        json_t *expect = json_object_get(t, "buckets");
        REQUIRE(json_array_size(expect) == (size_t)(2 * -lo + 1));
        int mismatches = 0, double_mismatches = 0;
        for (size_t k = 0; k < json_array_size(expect); k++) {
            int32_t rel = lo + (int32_t)k;
            int32_t want = (int32_t)json_integer_value(json_array_get(expect, k));
            int32_t got = rt5__relative_bucket(rel, nb, md);
            if (got != want && mismatches++ < 5)
                fprintf(stderr, "  (%d,%d) rel %d: got %d, transformers %d\n", nb, md, rel, got, want);
            double_mismatches += bucket_in_double(rel, nb, md) != want;
        }
        CHECK_EQ_INT(mismatches, 0);
        fprintf(stderr, "  (%d,%d): %zu positions equal; a double-precision formula differs at %d\n", nb, md,
                json_array_size(expect), double_mismatches);
    }
    json_decref(root);
}

TEST(test_buckets_table_is_symmetric_lookup)
{
    int32_t table[2 * 600 - 1];
    rt5__relative_bucket_table(table, 600, 32, 128);
    CHECK_EQ_INT(table[599], 0);           /* rel 0                       */
    CHECK_EQ_INT(table[600], 17);          /* rel +1: upper half, exact   */
    CHECK_EQ_INT(table[598], 1);           /* rel -1                      */
    CHECK_EQ_INT(table[0], 15);            /* rel -599: saturated         */
    CHECK_EQ_INT(table[2 * 600 - 2], 31);  /* rel +599: saturated         */
    for (int32_t r = -599; r <= 599; r++)
        CHECK_EQ_INT(table[r + 599], rt5__relative_bucket(r, 32, 128));
}
