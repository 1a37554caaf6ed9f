/*
 * attention.h -- T5 self-attention over a packed batch: per sequence and
 * head, softmax(q . k^T + position bias) . v, with no 1/sqrt(d_kv) scaling.
 */
#ifndef RT5_MODEL_ATTENTION_H
#define RT5_MODEL_ATTENTION_H

#include "core/common.h"
#include "kernels/kernels.h"

/* Query rows handled per step: the score block is (RT5__ATTN_ROWS, length). */
#define RT5__ATTN_ROWS 32

typedef struct rt5__attention_args {
    const float *qkv;        /* (tokens, 3*inner): q | k | v, head h at h*d_kv */
    float *out;              /* (tokens, inner)                              */
    const int32_t *seq_off;  /* (n_seq + 1) token offsets                     */
    size_t n_seq;
    int32_t n_heads, d_kv;
    const float *bias_tab;   /* (n_heads, 2*max_length - 1): bias of relative
                                position r at [h][r + max_length - 1]       */
    int32_t max_length;
    float *scratch;          /* n_threads * rt5__attention_scratch_floats()   */
    bool first_row_only;     /* only query row 0 of each sequence, written to
                                out row s (the last block needs no more)    */
    int32_t n_threads;
} rt5__attention_args;

/* Scratch floats one thread needs: k^T of one head plus a score block. */
size_t rt5__attention_scratch_floats(int32_t d_kv, int32_t max_length);

/* Runs every (sequence, head) task, spread over n_threads (OpenMP). */
void rt5__attention_run(const rt5__kernels *k, const rt5__attention_args *a);

#endif /* RT5_MODEL_ATTENTION_H */
