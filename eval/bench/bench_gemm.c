/*
 * bench_gemm.c -- oneDNN's standalone matmul rate at the model's GEMM
 * shapes, per dtype: the ceiling bench_lowp's achieved GEMM rate is held
 * against. Plain oneDNN, no rankt5 code in the timed loop: one primitive per
 * shape (rows x k -> n) with weights pre-packed in the layout it chose,
 * f32 x f32 -> f32, bf16 x bf16 -> f32, or u8 x s8 -> s32.
 *
 *   bench_gemm [--threads 2] [--rows 512] [--repeat 5] [--d 1024] [--inner 4096] [--ff 16384]
 *
 * Prints GFLOP/s per shape (best of --repeat) and the rate over the four
 * shapes weighted by their share of a T5 block's flops, as JSON with --json.
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/common.h"
#include "core/cpu.h"

typedef struct shape {
    const char *name;
    int k, n;
} shape;

static double rate(dnnl_engine_t eng, dnnl_stream_t s, dnnl_data_type_t st, dnnl_data_type_t wt, dnnl_data_type_t dt,
                   int m, int k, int n, int repeat)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sd = {m, k}, wd = {k, n}, dd = {m, n};
    dnnl_memory_desc_init_by_tag(&src, 2, sd, st, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&wei, 2, wd, wt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&dst, 2, dd, dt, dnnl_ab);
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    if (dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL) != dnnl_success)
        return 0;
    dnnl_primitive_create(&p, pd);
    dnnl_memory_t ms, mw, md;
    dnnl_memory_create(&ms, &src, eng, DNNL_MEMORY_ALLOCATE);
    dnnl_memory_create(&mw, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), eng, DNNL_MEMORY_ALLOCATE);
    dnnl_memory_create(&md, &dst, eng, DNNL_MEMORY_ALLOCATE);
    void *h;
    dnnl_memory_get_data_handle(ms, &h);
    memset(h, 1, dnnl_memory_desc_get_size(&src));
    dnnl_memory_get_data_handle(mw, &h);
    memset(h, 1, dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
    dnnl_primitive_execute(p, s, 3, args);
    dnnl_stream_wait(s);
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double t = rt5__now_seconds();
        dnnl_primitive_execute(p, s, 3, args);
        dnnl_stream_wait(s);
        t = rt5__now_seconds() - t;
        best = t < best ? t : best;
    }
    dnnl_memory_destroy(ms), dnnl_memory_destroy(mw), dnnl_memory_destroy(md);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    return 2.0 * m * k * n / best / 1e9;
}

int main(int argc, char **argv)
{
    int threads = 2, rows = 512, repeat = 5, d = 1024, inner = 4096, ff = 16384, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        int *slot = !strcmp(argv[i], "--threads") ? &threads : !strcmp(argv[i], "--rows") ? &rows
                  : !strcmp(argv[i], "--repeat")  ? &repeat  : !strcmp(argv[i], "--d")    ? &d
                  : !strcmp(argv[i], "--inner")   ? &inner   : !strcmp(argv[i], "--ff")   ? &ff : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "usage: bench_gemm [--threads N] [--rows N] [--repeat N] [--d N] [--inner N] [--ff N] "
                            "[--json]\n");
            return 2;
        }
        *slot = atoi(argv[++i]);
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    const rt5__cpu *cpu = rt5__cpu_get(); /* applies RT5_MAX_ISA to oneDNN, as the library does */
    if (!json)
        printf("instruction set %s%s%s\n", rt5__isa_name(cpu->isa), cpu->cap ? ", capped at " : "",
               cpu->cap ? cpu->cap : "");
    dnnl_engine_t eng;
    dnnl_stream_t s;
    dnnl_engine_create(&eng, dnnl_cpu, 0);
    dnnl_stream_create(&s, eng, dnnl_stream_default_flags);
    const shape shapes[4] = {{"qkv", d, 3 * inner}, {"o", inner, d}, {"wi", d, ff}, {"wo", ff, d}};
    const struct {
        const char *name;
        dnnl_data_type_t s, w, d;
    } types[3] = {{"f32", dnnl_f32, dnnl_f32, dnnl_f32}, {"bf16", dnnl_bf16, dnnl_bf16, dnnl_f32},
                  {"int8", dnnl_u8, dnnl_s8, dnnl_s32}};
    if (json)
        printf("{\"threads\": %d, \"rows\": %d, \"isa\": \"%s\"", threads, rows, rt5__isa_name(cpu->isa));
    for (int t = 0; t < 3; t++) {
        double flops = 0, secs = 0;
        int missing = 0; /* shapes oneDNN has no implementation of here (bf16 without bf16 arithmetic) */
        if (!json)
            printf("%-5s", types[t].name);
        for (int i = 0; i < 4; i++) {
            double r = rate(eng, s, types[t].s, types[t].w, types[t].d, rows, shapes[i].k, shapes[i].n, repeat);
            double f = 2.0 * shapes[i].k * shapes[i].n;
            flops += f, secs += r > 0 ? f / r : 0;
            missing += r <= 0;
            if (!json)
                printf(r > 0 ? "  %s %.1f" : "  %s n/a", shapes[i].name, r);
        }
        /* a rate only when every shape ran: JSON null (never inf) otherwise */
        if (json)
            printf(missing ? ", \"%s\": null" : ", \"%s\": %.1f", types[t].name, flops / secs);
        else if (missing)
            printf("  | not implemented on this CPU\n");
        else
            printf("  | block-weighted %.1f GFLOP/s\n", flops / secs);
    }
    if (json)
        printf("}\n");
    dnnl_stream_destroy(s);
    dnnl_engine_destroy(eng);
    return 0;
}
