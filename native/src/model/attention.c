/*
 * attention.c -- T5 self-attention for packed batches (see attention.h).
 *
 * For one sequence of L tokens and one head:
 *   kT      = k_h^T                              (d_kv, L)   scratch
 *   S[i][j] = bias[h][j - i] + q_h[i] . kT[:, j]   (rows, L)   scratch, block of rows
 *   P       = softmax over j
 *   out[i]  = sum_j P[i][j] v_h[j]               written into out at head h
 * Row i of the bias is a contiguous slice of the per-head table, so no
 * bucket lookup happens here. Tasks (sequence, head) are independent and
 * are handed out dynamically: a long sequence and many short ones balance.
 */
#include "model/attention.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

size_t rt5__attention_scratch_floats(int32_t d_kv, int32_t max_length)
{
    /* rounded to 16 floats so each thread's slice starts on a cache line */
    size_t n = (size_t)d_kv * (size_t)max_length + (size_t)RT5__ATTN_ROWS * (size_t)max_length;
    return (n + 15) / 16 * 16;
}

static void attend_one(const rt5__kernels *k, const rt5__attention_args *a, size_t seq, int32_t h, float *scratch)
{
    int32_t inner = a->n_heads * a->d_kv, dk = a->d_kv;
    size_t ld = (size_t)3 * inner;
    int32_t off = a->seq_off[seq], len = a->seq_off[seq + 1] - off;
    const float *q = a->qkv + (size_t)off * ld + (size_t)h * dk;
    const float *kk = q + inner, *v = q + 2 * (size_t)inner;
    float *out = a->out + (a->first_row_only ? seq : (size_t)off) * inner + (size_t)h * dk;
    int32_t n_rows = a->first_row_only ? 1 : len;
    float *kT = scratch, *s = scratch + (size_t)dk * a->max_length;
    const float *bias = a->bias_tab + (size_t)h * (2 * (size_t)a->max_length - 1) + (a->max_length - 1);

    k->transpose(kT, (size_t)len, kk, ld, len, dk);
    for (int32_t i0 = 0; i0 < n_rows; i0 += RT5__ATTN_ROWS) {
        int32_t rows = RT5_MIN(RT5__ATTN_ROWS, n_rows - i0);
        for (int32_t r = 0; r < rows; r++) /* S row i starts at relative position -i */
            memcpy(s + (size_t)r * len, bias - (i0 + r), sizeof(float) * (size_t)len);
        k->gemm_acc(rows, len, dk, q + (size_t)i0 * ld, ld, kT, (size_t)len, s, (size_t)len);
        k->softmax_rows(s, rows, len, (size_t)len);
        k->gemm_set(rows, dk, len, s, (size_t)len, v, ld, out + (size_t)i0 * inner, (size_t)inner);
    }
}

void rt5__attention_run(const rt5__kernels *k, const rt5__attention_args *a)
{
    long n_tasks = (long)a->n_seq * a->n_heads;
    size_t per_thread = rt5__attention_scratch_floats(a->d_kv, a->max_length);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(a->n_threads)
#endif
    for (long t = 0; t < n_tasks; t++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        attend_one(k, a, (size_t)(t / a->n_heads), (int32_t)(t % a->n_heads), a->scratch + (size_t)tid * per_thread);
    }
}
