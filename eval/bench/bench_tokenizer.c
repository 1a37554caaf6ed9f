/*
 * bench_tokenizer.c -- single-threaded encode throughput of the tokenizer
 * through the public API, on a file of texts (one per line).
 *
 * Usage: bench_tokenizer TOKENIZER TEXT_FILE [runs]
 * Prints tokens/s and MB/s for each run and the median. The text is read
 * into memory first; only rt5_tokenizer_encode is timed. For the side-by-side
 * comparison with sentencepiece's spm_encode run eval/bench/bench_tokenizer.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rankt5.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TOKENIZER TEXT_FILE [runs]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    rt5_tokenizer *tok = NULL;
    if (rt5_tokenizer_load(argv[1], NULL, &tok) != RT5_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", rt5_tokenizer_last_error(tok));
        rt5_tokenizer_free(tok);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (!text || fread(text, 1, size, f) != size) {
        fprintf(stderr, "bench_tokenizer: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    size_t cap = 1 << 20;
    int32_t *ids = malloc(cap * sizeof *ids);
    double *rates = malloc((size_t)runs * sizeof *rates);
    size_t tokens = 0, lines = 0;
    for (int r = 0; r < runs; r++) {
        tokens = lines = 0;
        double t0 = now();
        for (size_t pos = 0; pos < size;) {
            char *nl = memchr(text + pos, '\n', size - pos);
            size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos, n = 0;
            rt5_tokenizer_encode(tok, text + pos, len, ids, cap, &n);
            tokens += n;
            lines++;
            pos += len + 1;
        }
        double dt = now() - t0;
        rates[r] = (double)tokens / dt;
        printf("run %d: %zu lines, %zu tokens, %.3f s: %.2f M tokens/s, %.1f MB/s\n", r + 1, lines,
               tokens, dt, rates[r] / 1e6, (double)size / dt / 1e6);
    }
    qsort(rates, (size_t)runs, sizeof *rates, compare_double);
    double median = rates[runs / 2];
    printf("median: %.2f M tokens/s, %.1f MB/s (%s, %zu bytes)\n", median / 1e6,
           median / (double)tokens * (double)size / 1e6, argv[2], size);
    free(rates);
    free(ids);
    free(text);
    rt5_tokenizer_free(tok);
    return 0;
}
