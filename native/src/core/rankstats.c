/*
 * rankstats.c -- Kendall's tau-b and top-k overlap (see rankstats.h).
 */
#include "core/rankstats.h"

#include <math.h>
#include <stdlib.h>

double rt5__kendall_tau(const float *a, const float *b, size_t n)
{
    double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double da = (double)a[i] - a[j], db = (double)b[i] - b[j];
            if (da == 0 && db == 0)
                continue;
            if (da == 0)
                ties_a++;
            else if (db == 0)
                ties_b++;
            else if ((da > 0) == (db > 0))
                concordant++;
            else
                discordant++;
        }
    double na = concordant + discordant + ties_a, nb = concordant + discordant + ties_b;
    if (na == 0 || nb == 0)
        return 1.0;
    return (concordant - discordant) / sqrt(na * nb);
}

static const float *sort_scores;
static int by_score_desc(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (sort_scores[i] != sort_scores[j])
        return sort_scores[i] > sort_scores[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Not thread-safe (qsort has no context argument in C11); the callers are
 * single-threaded tools and tests. */
static void rank_order(const float *s, size_t n, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_scores = s;
    qsort(idx, n, sizeof *idx, by_score_desc);
}

double rt5__topk_overlap(const float *a, const float *b, size_t n, size_t k, size_t *scratch)
{
    if (n == 0)
        return 1.0;
    size_t kk = k < n ? k : n, *ia = scratch, *ib = scratch + n, common = 0;
    rank_order(a, n, ia);
    rank_order(b, n, ib);
    for (size_t i = 0; i < kk; i++)
        for (size_t j = 0; j < kk; j++)
            common += ia[i] == ib[j];
    return (double)common / (double)kk;
}
