/*
 * da_trie.c -- a base/check double-array trie of the vocabulary, built
 * once at load, walked by the Viterbi search one byte per step.
 *
 * Node s moves on byte c to t = base[s] + c iff check[t] == s. The array is
 * padded by 256 cells past the largest base so a walk needs no bounds check.
 * Placement uses a list of free cells; the vocabulary of T5 (32k pieces)
 * builds in a few milliseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

struct sort_key {
    const char *bytes;
    uint32_t len;
    uint32_t index; /* position in the caller's arrays */
};

typedef struct da_builder {
    rt5__da_node *nodes;
    int32_t *next_free; /* circular list of free cells over [1, cap) */
    int32_t *prev_free;
    size_t cap;
    int32_t first_free; /* -1 when none */
    size_t max_used;
    const struct sort_key *order; /* keys sorted by bytes */
    const int32_t *values;
} da_builder;

static void free_list_unlink(da_builder *b, int32_t i)
{
    int32_t n = b->next_free[i], p = b->prev_free[i];
    if (n == i) {
        b->first_free = -1;
    } else {
        b->next_free[p] = n;
        b->prev_free[n] = p;
        if (b->first_free == i)
            b->first_free = n;
    }
}

static void free_list_append(da_builder *b, int32_t i)
{
    if (b->first_free < 0) {
        b->first_free = b->next_free[i] = b->prev_free[i] = i;
        return;
    }
    int32_t head = b->first_free, tail = b->prev_free[head];
    b->next_free[tail] = i;
    b->prev_free[i] = tail;
    b->next_free[i] = head;
    b->prev_free[head] = i;
}

static bool grow(da_builder *b, size_t need)
{
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > INT32_MAX / 2)
        return false;
    rt5__da_node *nodes = realloc(b->nodes, cap * sizeof *nodes);
    if (!nodes)
        return false;
    b->nodes = nodes;
    int32_t *nf = realloc(b->next_free, cap * sizeof *nf);
    if (!nf)
        return false;
    b->next_free = nf;
    int32_t *pf = realloc(b->prev_free, cap * sizeof *pf);
    if (!pf)
        return false;
    b->prev_free = pf;
    for (size_t i = b->cap; i < cap; i++) {
        b->nodes[i] = (rt5__da_node){0, -1, -1};
        if (i > 0)
            free_list_append(b, (int32_t)i);
    }
    b->cap = cap;
    return true;
}

static unsigned char key_byte(const da_builder *b, uint32_t k, size_t depth)
{
    return (unsigned char)b->order[k].bytes[depth];
}

/* Finds a base so that base + labels[i] are all free cells. */
static bool find_base(da_builder *b, const unsigned char *labels, int n_labels, int32_t *out)
{
    for (;;) {
        if (b->first_free >= 0) {
            int32_t cell = b->first_free;
            do {
                int32_t base = cell - labels[0];
                if (base >= 1) {
                    if (!grow(b, (size_t)base + 256))
                        return false;
                    bool ok = true;
                    for (int i = 1; i < n_labels && ok; i++)
                        ok = b->nodes[base + labels[i]].check == -1;
                    if (ok) {
                        *out = base;
                        return true;
                    }
                }
                cell = b->next_free[cell];
            } while (cell != b->first_free);
        }
        if (!grow(b, b->cap * 2))
            return false;
    }
}

/* Places the children of node for sorted keys [lo, hi) sharing depth bytes. */
static bool place(da_builder *b, int32_t node, uint32_t lo, uint32_t hi, size_t depth)
{
    while (lo < hi && b->order[lo].len == depth)
        b->nodes[node].value = b->values[b->order[lo++].index]; /* last duplicate wins */
    if (lo == hi)
        return true;
    unsigned char labels[256] = {0};
    uint32_t starts[257];
    int n = 0;
    for (uint32_t k = lo; k < hi; k++) {
        unsigned char c = key_byte(b, k, depth);
        if (n == 0 || labels[n - 1] != c) {
            labels[n] = c;
            starts[n++] = k;
        }
    }
    starts[n] = hi;
    int32_t base;
    if (!find_base(b, labels, n, &base))
        return false;
    b->nodes[node].base = base;
    for (int i = 0; i < n; i++) {
        int32_t t = base + labels[i];
        b->nodes[t].check = node;
        free_list_unlink(b, t);
        if ((size_t)t > b->max_used)
            b->max_used = (size_t)t;
    }
    for (int i = 0; i < n; i++)
        if (!place(b, base + labels[i], starts[i], starts[i + 1], depth + 1))
            return false;
    return true;
}

static int compare_keys(const void *pa, const void *pb)
{
    const struct sort_key *a = pa, *b = pb;
    int c = memcmp(a->bytes, b->bytes, a->len < b->len ? a->len : b->len);
    if (c != 0)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index; /* duplicates keep file order */
}

rt5_status rt5__da_build(rt5__da_trie *trie, const char *const *keys, const uint32_t *lens,
                         const int32_t *values, size_t n_keys, rt5__errmsg *err)
{
    memset(trie, 0, sizeof *trie);
    da_builder b = {0};
    b.first_free = -1;
    b.values = values;
    struct sort_key *order = malloc((n_keys ? n_keys : 1) * sizeof *order);
    bool ok = order && grow(&b, 1024);
    if (ok) {
        for (size_t i = 0; i < n_keys; i++)
            order[i] = (struct sort_key){keys[i], lens[i], (uint32_t)i};
        qsort(order, n_keys, sizeof *order, compare_keys);
        b.order = order;
        b.nodes[0].check = -2; /* the root is nobody's child */
        ok = place(&b, 0, 0, (uint32_t)n_keys, 0);
    }
    free(order);
    free(b.next_free);
    free(b.prev_free);
    if (!ok) {
        free(b.nodes);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory building the vocabulary trie");
    }
    trie->nodes = b.nodes;
    trie->n_nodes = b.cap;
    return RT5_OK;
}

void rt5__da_free(rt5__da_trie *trie)
{
    free(trie->nodes);
    memset(trie, 0, sizeof *trie);
}

int32_t rt5__da_lookup(const rt5__da_trie *trie, const char *key, size_t len)
{
    if (!trie->nodes)
        return -1;
    int32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t t = trie->nodes[s].base + (unsigned char)key[i];
        if (trie->nodes[t].check != s)
            return -1;
        s = t;
    }
    return trie->nodes[s].value;
}
