/*
 * test_forward_slow.c -- the slow tier: a t5-3b-shaped checkpoint (24 blocks,
 * d_model 1024, d_ff 16384, 32 heads) against float64 scores from
 * transformers on a few pairs.
 *
 * The checkpoint (~5 GB) and its expected scores are not in the repository:
 *   python3 eval/bench/pytorch_baseline.py make-checkpoint --out /work/bench-data/t5-3b-random.bin
 *   build/rankt5 bench --model /work/bench-data/t5-3b-random.bin --pairs 4 --repeat 1 \
 *       --dump-pairs /work/bench-data/pairs4.txt
 *   python3 eval/bench/pytorch_baseline.py expected --checkpoint /work/bench-data/t5-3b-random.bin \
 *       --pairs /work/bench-data/pairs4.txt --out /work/bench-data/t5-3b-random.expected.json --n 3
 * then run with RT5_BIG_CHECKPOINT and RT5_BIG_EXPECTED pointing at them;
 * without them the test is skipped.
 */
#include "harness.h"

#include <jansson.h>

#include "rankt5.h"

TEST(test_forward_slow_t5_3b_shapes_match_hf_float64)
{
    const char *ckpt = getenv("RT5_BIG_CHECKPOINT"), *expected = getenv("RT5_BIG_EXPECTED");
    if (!ckpt || !expected)
        SKIP("set RT5_BIG_CHECKPOINT and RT5_BIG_EXPECTED (see the comment at the top)");
    json_error_t jerr;
    json_t *root = json_load_file(expected, 0, &jerr);
    REQUIRE(root);
    rt5_model *model = NULL;
    rt5_status st = rt5_model_load(ckpt, NULL, &model);
    if (st != RT5_OK)
        fprintf(stderr, "  %s\n", model ? rt5_model_last_error(model) : rt5_status_str(st));
    REQUIRE(st == RT5_OK);
    rt5_session *s = NULL;
    REQUIRE(rt5_session_create(model, NULL, &s) == RT5_OK);
    json_t *pairs = json_object_get(root, "pairs");
    REQUIRE(json_array_size(pairs) > 0);
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        json_t *jids = json_object_get(p, "ids");
        size_t n = json_array_size(jids);
        int32_t *ids = malloc(sizeof(int32_t) * n);
        for (size_t t = 0; t < n; t++)
            ids[t] = (int32_t)json_integer_value(json_array_get(jids, t));
        rt5_seq seq = {ids, n};
        float got = 0;
        CHECK_EQ_INT(rt5_session_score(s, &seq, 1, &got), RT5_OK);
        double want = json_real_value(json_object_get(p, "score_f64"));
        fprintf(stderr, "  pair %zu (%zu tokens): %.9g vs HF float64 %.9g (|d|/max(1,|ref|) = %.2e)\n", i, n, got,
                want, fabs(got - want) / fmax(1.0, fabs(want)));
        CHECK_NEAR(got, want, 1e-5);
        free(ids);
    }
    rt5_session_free(s);
    rt5_model_free(model);
    json_decref(root);
}
