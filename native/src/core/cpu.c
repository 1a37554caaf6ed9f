/*
 * cpu.c -- detects the CPU's instruction sets once (cpuid), applies the
 * optional cap RT5_MAX_ISA to oneDNN before its first primitive, and
 * answers what the engine may use (see cpu.h). The level in use is the lower
 * of what the CPU has and what oneDNN will use, so a cap set through
 * oneDNN's own ONEDNN_MAX_CPU_ISA is followed by our kernels as well.
 */
#include "core/cpu.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static rt5__cpu the_cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static const struct {
    rt5__isa isa;
    const char *name, *alias;
    dnnl_cpu_isa_t dnnl;
} levels[] = {
    {RT5__ISA_BASELINE, "baseline", "sse41", dnnl_cpu_isa_sse41},
    {RT5__ISA_AVX2, "avx2", "avx2", dnnl_cpu_isa_avx2},
    {RT5__ISA_AVX512, "avx512", "avx512_core", dnnl_cpu_isa_avx512_core},
    {RT5__ISA_AVX512_VNNI, "avx512_vnni", "avx512_core_vnni", dnnl_cpu_isa_avx512_core_vnni},
    {RT5__ISA_AVX512_BF16, "avx512_bf16", "avx512_core_bf16", dnnl_cpu_isa_avx512_core_bf16},
    {RT5__ISA_AMX, "amx", "avx512_core_amx", dnnl_cpu_isa_avx512_core_amx},
};

const char *rt5__isa_name(rt5__isa isa)
{
    return (unsigned)isa < RT5__ISA_COUNT ? levels[isa].name : "?";
}

/* AMX tiles: cpuid leaf 7 EDX bit 24 (AMX-TILE) and bit 25 (AMX-INT8). The
 * OS side (XCR0, Linux's permission request) is oneDNN's to check: its
 * effective ISA caps ours below. */
static bool has_amx(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return (d >> 24 & 1) && (d >> 25 & 1);
#else
    return false;
#endif
}

static rt5__isa detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return RT5__ISA_BASELINE;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return RT5__ISA_AVX2;
    if (!__builtin_cpu_supports("avx512vnni"))
        return RT5__ISA_AVX512;
    if (!__builtin_cpu_supports("avx512bf16"))
        return RT5__ISA_AVX512_VNNI;
    return has_amx() ? RT5__ISA_AMX : RT5__ISA_AVX512_BF16;
#else
    return RT5__ISA_BASELINE;
#endif
}

/* oneDNN's effective ISA (a bit mask; avx2_vnni is not on our ladder and
 * counts as avx2) as one of our levels. */
static rt5__isa from_dnnl(dnnl_cpu_isa_t eff)
{
    rt5__isa best = RT5__ISA_BASELINE;
    for (int i = 0; i < RT5__ISA_COUNT; i++)
        if (((unsigned)eff & (unsigned)levels[i].dnnl) == (unsigned)levels[i].dnnl)
            best = levels[i].isa;
    return eff == dnnl_cpu_isa_all ? RT5__ISA_AMX : best;
}

static void apply_cap(rt5__cpu *c)
{
    const char *want = getenv("RT5_MAX_ISA");
    if (want && *want) {
        c->cap = want;
        for (size_t i = 0; i < RT5_ARRAY_LEN(levels); i++)
            if (strcasecmp(want, levels[i].name) == 0 || strcasecmp(want, levels[i].alias) == 0) {
                if (dnnl_set_max_cpu_isa(levels[i].dnnl) != dnnl_success)
                    snprintf(c->note, sizeof c->note, "RT5_MAX_ISA=%s came after oneDNN's first use; "
                             "not applied to oneDNN", want);
                return;
            }
        snprintf(c->note, sizeof c->note, "RT5_MAX_ISA=%s not understood (want baseline, avx2, avx512, "
                 "avx512_vnni, avx512_bf16 or amx); ignored", want);
        c->cap = NULL;
        return;
    }
    const char *onednn = getenv("ONEDNN_MAX_CPU_ISA");
    if (!onednn || !*onednn)
        onednn = getenv("DNNL_MAX_CPU_ISA");
    if (onednn && *onednn && strcasecmp(onednn, "ALL") != 0)
        c->cap = onednn;
}

static void cpu_init(void)
{
    rt5__cpu *c = &the_cpu;
    c->detected = detect();
    apply_cap(c);
    rt5__isa used = from_dnnl(dnnl_get_effective_cpu_isa());
    c->isa = used < c->detected ? used : c->detected;
    if (c->isa < RT5__ISA_AVX512_BF16)
        snprintf(c->bf16_why, sizeof c->bf16_why, "bf16 arithmetic needs AVX512_BF16 or AMX; this CPU runs %s%s%s%s. "
                 "Dtypes that run here: f32, int8 (or auto)", rt5__isa_name(c->isa), c->cap ? " (capped at " : "",
                 c->cap ? c->cap : "", c->cap ? ")" : "");
}

const rt5__cpu *rt5__cpu_get(void)
{
    pthread_once(&cpu_once, cpu_init);
    return &the_cpu;
}

/* At library load: the cap must reach oneDNN before anything creates a
 * primitive (oneDNN fixes its ISA at first use). */
__attribute__((constructor)) static void cpu_at_load(void)
{
    rt5__cpu_get();
}

bool rt5__cpu_bf16_native(void)
{
    return rt5__cpu_get()->isa >= RT5__ISA_AVX512_BF16;
}

bool rt5__cpu_int8_vnni(void)
{
    return rt5__cpu_get()->isa >= RT5__ISA_AVX512_VNNI;
}
