/*
 * fuzz_ir_files.c -- libFuzzer target for the CLI's TREC run, TSV, qrels
 * and rerank-output readers (native/cli/ir_files.c, compiled in here as in
 * tests/test_ir_files.c).
 *
 * Input: the first byte picks the reader (mod 4: run, TSV with a wanted
 * set, qrels, output blocks); the rest is written to a per-process file,
 * since the readers stream from a path as the CLI does. Every reader must
 * either succeed with consistent counts or fail with a non-empty message.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "../../native/cli/ir_files.c"

static void must(int cond)
{
    if (!cond)
        __builtin_trap();
}

static const char *input_path(void)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_ir_files.%ld", (long)getpid());
    return path;
}

static void fuzz_run(const char *path, char *err)
{
    ir_run run;
    if (!ir_run_read(path, &run, err, IR_ERR_CAP)) {
        must(err[0] != 0);
        return;
    }
    size_t lines = 0;
    for (size_t i = 0; i < run.n_queries; i++)
        lines += run.queries[i].n_docs;
    must(lines == run.n_lines);
    ir_run_rank_trec_eval(&run);
    for (size_t i = 0; i < run.n_queries; i++)
        for (size_t j = 1; j < run.queries[i].n_docs; j++)
            must((float)run.queries[i].docs[j - 1].score >= (float)run.queries[i].docs[j].score);
    ir_run_rank_and_cut(&run, 2);
    for (size_t i = 0; i < run.n_queries; i++)
        must(run.queries[i].n_docs <= 2);
    ir_run_free(&run);
}

static void fuzz_tsv(const char *path, char *err)
{
    ir_texts t = {0};
    must(ir_texts_want(&t, "d1", 2));
    size_t found = 0;
    if (ir_texts_read_wanted(path, &t, &found, err, IR_ERR_CAP))
        must(found <= 1);
    ir_texts_free(&t);
    if (ir_texts_read_all(path, &t, err, IR_ERR_CAP))
        ir_texts_free(&t);
}

static void fuzz_out(const char *path, char *err)
{
    ir_out_block *blocks;
    size_t n;
    if (!ir_out_scan(path, &blocks, &n, err, IR_ERR_CAP)) {
        must(err[0] != 0);
        return;
    }
    for (size_t i = 0; i + 1 < n; i++)
        must(blocks[i].end == blocks[i + 1].start);
    ir_out_blocks_free(blocks, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = input_path();
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    fwrite(data + 1, 1, size - 1, fp);
    fclose(fp);
    char err[IR_ERR_CAP] = "";
    switch (data[0] % 4) {
    case 0:
        fuzz_run(path, err);
        break;
    case 1:
        fuzz_tsv(path, err);
        break;
    case 2: {
        ir_qrels q;
        if (ir_qrels_read(path, &q, err, IR_ERR_CAP))
            ir_qrels_free(&q);
        break;
    }
    default:
        fuzz_out(path, err);
        break;
    }
    unlink(path);
    return 0;
}
