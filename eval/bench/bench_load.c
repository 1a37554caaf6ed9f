/*
 * bench_load.c -- how long rankt5 takes from process start to a usable
 * model, and how much resident memory the model adds.
 *
 *   bench_load PATH [--dtype f32|bf16|int8] [--bound-only]
 *
 * Two stages, timed and measured separately in one process:
 *   bound  -- checkpoint mapped, pickle read, every tensor validated and
 *             bound (rt5__model_load_unprepared: native/src/formats + native/src/model);
 *   ready  -- plus rt5__forward_prepare (the forward pass's weight packing),
 *             i.e. what rt5_model_load returns;
 *   first  -- plus a session and the score of one 128-token sequence: for a
 *             converted file used in place this is where its weight pages
 *             are first touched (from the page cache, or the disk).
 * Memory comes from /proc/self/status: RssAnon is private memory (a second
 * copy of the weights would show here), RssFile the mapped checkpoint pages
 * (shared with the page cache, not a copy). Prints one JSON object; run by
 * eval/bench/bench_load.sh next to the PyTorch equivalent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/weights.h"

typedef struct mem {
    long rss_kb, anon_kb, file_kb, hwm_kb;
} mem;

static long status_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static mem read_mem(void)
{
    char text[8192] = {0};
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    return (mem){status_kb(text, "VmRSS:"), status_kb(text, "RssAnon:"),
                 status_kb(text, "RssFile:"), status_kb(text, "VmHWM:")};
}

/* Seconds since this process started (kernel start time, 10 ms ticks). */
static double since_process_start(void)
{
    char buf[4096] = {0};
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long start = 0;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &start) != 1)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    double boot = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    return boot - (double)start / (double)sysconf(_SC_CLK_TCK);
}

static void print_mem(const char *name, mem m, mem base)
{
    printf("  \"%s\": {\"rss_mb\": %.1f, \"anon_mb\": %.1f, \"file_mb\": %.1f, "
           "\"added_rss_mb\": %.1f, \"added_anon_mb\": %.1f, \"peak_rss_mb\": %.1f},\n",
           name, m.rss_kb / 1024.0, m.anon_kb / 1024.0, m.file_kb / 1024.0,
           (m.rss_kb - base.rss_kb) / 1024.0, (m.anon_kb - base.anon_kb) / 1024.0,
           m.hwm_kb / 1024.0);
}

/* One session and the score of one 128-token sequence. */
static rt5_status first_score(const rt5_model *model)
{
    int32_t ids[128];
    for (int i = 0; i < 127; i++)
        ids[i] = 100 + 37 * i % 20000;
    ids[127] = 1;
    rt5_seq seq = {ids, 128};
    rt5_session *s = NULL;
    float score;
    rt5_status st = rt5_session_create(model, NULL, &s);
    if (st == RT5_OK)
        st = rt5_session_score(s, &seq, 1, &score);
    rt5_session_free(s);
    return st;
}

int main(int argc, char **argv)
{
    double t_main = rt5__now_seconds(), start_to_main = since_process_start();
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: bench_load PATH [--dtype f32|bf16|int8] [--bound-only]\n");
        return 2;
    }
    rt5_model_params params = rt5_model_default_params();
    int bound_only = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--bound-only") == 0)
            bound_only = 1;
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) {
            const char *d = argv[++i];
            params.compute_dtype = strcmp(d, "bf16") == 0   ? RT5_DTYPE_BF16
                                   : strcmp(d, "int8") == 0 ? RT5_DTYPE_INT8
                                                            : RT5_DTYPE_F32;
        }
    }
    mem base = read_mem();
    rt5_model *model = NULL;
    double t0 = rt5__now_seconds();
    rt5_status st = rt5__model_load_unprepared(argv[1], &params, &model);
    double t_bound = rt5__now_seconds();
    mem bound = read_mem();
    if (st == RT5_OK && !bound_only)
        st = rt5__forward_prepare(model);
    double t_ready = rt5__now_seconds();
    mem ready = read_mem();
    double t_first = t_ready;
    mem first = ready;
    if (st == RT5_OK && !bound_only) {
        st = first_score(model);
        t_first = rt5__now_seconds();
        first = read_mem();
    }
    if (st != RT5_OK) {
        fprintf(stderr, "bench_load: %s\n", rt5_model_last_error(model));
        rt5_model_free(model);
        return 1;
    }
    printf("{\n  \"path\": \"%s\",\n  \"compute_dtype\": \"%s\",\n", argv[1],
           rt5_dtype_name(params.compute_dtype));
    printf("  \"n_params\": %llu,\n  \"bytes_mapped\": %llu,\n",
           (unsigned long long)model->n_params, (unsigned long long)model->tensors->bytes_mapped);
    print_mem("bound", bound, base);
    if (!bound_only)
        print_mem("ready", ready, base), print_mem("first", first, base);
    printf("  \"start_to_main_s\": %.3f,\n  \"bound_s\": %.4f,\n", start_to_main, t_bound - t0);
    if (!bound_only)
        printf("  \"ready_s\": %.4f,\n  \"first_score_s\": %.4f,\n  \"process_start_to_first_score_s\": %.4f,\n",
               t_ready - t0, t_first - t0, start_to_main + (t_first - t_main));
    printf("  \"process_start_to_%s_s\": %.4f\n}\n", bound_only ? "bound" : "ready",
           start_to_main + (t_ready - t_main));
    rt5_model_free(model);
    return 0;
}
