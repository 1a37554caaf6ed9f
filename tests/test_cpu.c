/*
 * test_cpu.c -- the CPU facts of the public API (rt5_cpu_get_info,
 * rt5_cpu_dtype_supported, rt5_dtype_resolve) agree with one another and
 * with oneDNN, and a cap set with RT5_MAX_ISA (tests/run.sh's AVX2 tier)
 * reaches both our kernels and oneDNN.
 */
#include "harness.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rankt5.h"

static bool one_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (s && strcmp(s, names[i]) == 0)
            return true;
    return false;
}

TEST(test_cpu_info_consistent)
{
    static const char *const isas[] = {"baseline", "avx2", "avx512", "avx512_vnni", "avx512_bf16", "amx"};
    static const char *const tables[] = {"portable", "avx2", "avx512"};
    rt5_cpu_info c;
    CHECK_EQ_INT(rt5_cpu_get_info(NULL), RT5_ERR_INVALID_ARGUMENT);
    REQUIRE(rt5_cpu_get_info(&c) == RT5_OK);
    fprintf(stderr, "  isa %s (detected %s, cap %s), kernels %s, bf16 %d, int8 vnni %d\n", c.isa, c.isa_detected,
            c.isa_cap ? c.isa_cap : "none", c.kernels, c.bf16_native, c.int8_vnni);
    CHECK(one_of(c.isa, isas, 6) && one_of(c.isa_detected, isas, 6) && one_of(c.kernels, tables, 3));
    CHECK(c.note != NULL);
    int level = 0, detected = 0;
    for (int i = 0; i < 6; i++) {
        level = strcmp(c.isa, isas[i]) == 0 ? i : level;
        detected = strcmp(c.isa_detected, isas[i]) == 0 ? i : detected;
    }
    CHECK(level <= detected);
    CHECK_EQ_INT(c.bf16_native, level >= 4);
    CHECK_EQ_INT(c.int8_vnni, level >= 3);
    const char *force = getenv("RT5_KERNELS");
    if (!(force && strcmp(force, "portable") == 0))
        CHECK_EQ_STR(c.kernels, level >= 2 ? "avx512" : level == 1 ? "avx2" : "portable");
    /* the dtypes: f32 and int8 everywhere; bf16 with bf16 arithmetic only,
     * refused naming the feature; f16 never computes */
    const char *why = "unset";
    CHECK_EQ_INT(rt5_cpu_dtype_supported(RT5_DTYPE_F32, &why), RT5_OK);
    CHECK(why == NULL);
    CHECK_EQ_INT(rt5_cpu_dtype_supported(RT5_DTYPE_INT8, NULL), RT5_OK);
    rt5_status bf16 = rt5_cpu_dtype_supported(RT5_DTYPE_BF16, &why);
    CHECK_EQ_INT(bf16, c.bf16_native ? RT5_OK : RT5_ERR_UNSUPPORTED);
    if (!c.bf16_native)
        CHECK(why && strstr(why, "AVX512_BF16 or AMX") && strstr(why, "f32, int8"));
    CHECK_EQ_INT(rt5_cpu_dtype_supported(RT5_DTYPE_F16, &why), RT5_ERR_UNSUPPORTED);
    CHECK_EQ_INT(rt5_cpu_dtype_supported((rt5_dtype)42, &why), RT5_ERR_UNSUPPORTED);
    /* auto: int8 where int8 runs at full speed (VNNI), else f32; never bf16 */
    CHECK_EQ_INT(rt5_dtype_resolve(RT5_DTYPE_AUTO), c.int8_vnni ? RT5_DTYPE_INT8 : RT5_DTYPE_F32);
    CHECK_EQ_INT(rt5_dtype_resolve(RT5_DTYPE_BF16), RT5_DTYPE_BF16);
    CHECK_EQ_STR(rt5_dtype_name(RT5_DTYPE_AUTO), "auto");
}

/* Under RT5_MAX_ISA=avx2 (a CPU with more than AVX2) oneDNN was capped at
 * load too: the library's constructor ran before this test's first oneDNN
 * call. */
TEST(test_cpu_cap_reaches_onednn)
{
    const char *cap = getenv("RT5_MAX_ISA");
    rt5_cpu_info c;
    REQUIRE(rt5_cpu_get_info(&c) == RT5_OK);
    if (!cap || strcmp(cap, "avx2") != 0 || strcmp(c.isa_detected, "avx2") == 0 ||
        strcmp(c.isa_detected, "baseline") == 0)
        SKIP("RT5_MAX_ISA=avx2 not set on a CPU above AVX2 (tests/run.sh's release-avx2 tier sets it)");
    CHECK_EQ_STR(c.isa, "avx2");
    CHECK_EQ_STR(c.isa_cap, "avx2");
    CHECK_EQ_INT(dnnl_get_effective_cpu_isa(), dnnl_cpu_isa_avx2);
    CHECK_EQ_INT(c.bf16_native, 0);
    CHECK_EQ_INT(c.int8_vnni, 0);
}
