/*
 * rankstats.h -- agreement between two score lists for the same documents:
 * Kendall's tau-b and top-k overlap. Used by `rankt5 compare` and the
 * low-precision accuracy tests to judge whether a bf16/int8 model ranks
 * like the f32 one.
 */
#ifndef RT5_CORE_RANKSTATS_H
#define RT5_CORE_RANKSTATS_H

#include <stddef.h>

/* Kendall's tau-b of a[0..n) against b[0..n) (ties in either list count as
 * in tau-b). 1 when n < 2 or when either list is constant. O(n^2): meant
 * for the documents of one query (up to a few thousand). */
double rt5__kendall_tau(const float *a, const float *b, size_t n);

/* |top-k of a  ∩  top-k of b| / min(k, n) (1 when n == 0). Ties at the cut
 * are broken by index. scratch holds 2n size_t. */
double rt5__topk_overlap(const float *a, const float *b, size_t n, size_t k, size_t *scratch);

#endif /* RT5_CORE_RANKSTATS_H */
