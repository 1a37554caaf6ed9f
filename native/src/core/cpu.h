/*
 * cpu.h -- the CPU's instruction sets, detected once when the library loads,
 * and the level the engine uses after an optional cap. Both our kernel table
 * (native/src/kernels) and oneDNN follow the same level, so "capped to AVX2" on an
 * AVX-512 machine behaves like an AVX2-only CPU end to end (tests use this).
 */
#ifndef RT5_CORE_CPU_H
#define RT5_CORE_CPU_H

#include "core/common.h"

/* Instruction-set levels, each a superset of the one before. */
typedef enum rt5__isa {
    RT5__ISA_BASELINE = 0, /* x86-64 without AVX2+FMA (or not x86)              */
    RT5__ISA_AVX2,         /* AVX2 + FMA (Haswell, Zen 1-3)                      */
    RT5__ISA_AVX512,       /* AVX-512 F/BW/DQ/VL (Skylake-SP): no VNNI           */
    RT5__ISA_AVX512_VNNI,  /* + VNNI (Cascade Lake, Zen 4 without BF16 use)      */
    RT5__ISA_AVX512_BF16,  /* + AVX512_BF16 (Cooper Lake, Zen 4)                 */
    RT5__ISA_AMX,          /* + AMX tiles, int8 and bf16 (Sapphire Rapids)       */
    RT5__ISA_COUNT
} rt5__isa;

typedef struct rt5__cpu {
    rt5__isa detected;    /* what the CPU (and OS) offer                          */
    rt5__isa isa;         /* in use: min(detected, cap), as oneDNN reports it     */
    const char *cap;      /* the cap's text (RT5_MAX_ISA or ONEDNN_MAX_CPU_ISA),
                             NULL when none                                       */
    char note[160];       /* a cap that could not be applied, or ""               */
    char bf16_why[240];   /* why bf16 is refused here, or ""                      */
} rt5__cpu;

/* The facts, detected on first use (and by a load-time constructor, so that a
 * cap reaches oneDNN before its first primitive). Thread-safe. */
const rt5__cpu *rt5__cpu_get(void);

/* "amx", "avx512_bf16", "avx512_vnni", "avx512", "avx2", "baseline". */
const char *rt5__isa_name(rt5__isa isa);

/* Whether the CPU in use does bf16 arithmetic (AVX512_BF16 or AMX): the bf16
 * dtype runs only then. */
bool rt5__cpu_bf16_native(void);

/* Whether oneDNN's u8 x s8 products accumulate in s32 exactly for the whole
 * u8 range (VNNI's vpdpbusd, or AMX). Without it, pairs of products are
 * summed in saturating s16 lanes (vpmaddubsw) and int8 activations must stay
 * within 7 bits; see linear_lowp.c. */
bool rt5__cpu_int8_vnni(void);

#endif /* RT5_CORE_CPU_H */
