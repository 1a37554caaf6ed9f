/*
 * grapheme.c -- extended grapheme cluster boundaries (UAX #29, with the
 * Indic conjunct rule GB9c of Unicode 15.1+), as the Rust crate
 * unicode-segmentation computes them for Hugging Face's Precompiled
 * normalizer. Properties come from the generated grapheme_table.c.
 */
#include "tokenizer/grapheme_table.h"
#include "tokenizer/tokenizer_internal.h"

enum gcb {
    GCB_OTHER, GCB_CR, GCB_LF, GCB_CONTROL, GCB_EXTEND, GCB_ZWJ, GCB_RI, GCB_PREPEND,
    GCB_SPACINGMARK, GCB_L, GCB_V, GCB_T, GCB_LV, GCB_LVT
};
enum incb { INCB_NONE, INCB_CONSONANT, INCB_EXTEND, INCB_LINKER };

#define PROP_GCB(p) ((p) & 0x0F)
#define PROP_PICT(p) (((p) >> 4) & 1)
#define PROP_INCB(p) (((p) >> 5) & 3)

static uint8_t props_of(uint32_t cp)
{
    if (cp < 0x80)
        return cp == '\r' ? GCB_CR : cp == '\n' ? GCB_LF : (cp < 0x20 || cp == 0x7F) ? GCB_CONTROL
                                                                                       : GCB_OTHER;
    size_t lo = 0, hi = rt5__grapheme_n_ranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rt5__grapheme_ranges[mid].hi < cp)
            lo = mid + 1;
        else if (rt5__grapheme_ranges[mid].lo > cp)
            hi = mid;
        else
            return rt5__grapheme_ranges[mid].props;
    }
    return 0;
}

/* What the cluster so far says about the rules that look further back. */
typedef struct cluster_state {
    int pict;     /* 1: ExtPict Extend*; 2: ExtPict Extend* ZWJ          */
    int conjunct; /* 1: Consonant [Extend]*; 2: ... with a Linker seen   */
    int ri;       /* regional indicators ending the cluster              */
} cluster_state;

static void state_update(cluster_state *st, uint8_t p)
{
    int g = PROP_GCB(p), incb = PROP_INCB(p);
    if (PROP_PICT(p))
        st->pict = 1;
    else if (st->pict == 1 && g == GCB_EXTEND)
        st->pict = 1;
    else if (st->pict == 1 && g == GCB_ZWJ)
        st->pict = 2;
    else
        st->pict = 0;
    if (incb == INCB_CONSONANT)
        st->conjunct = 1;
    else if (st->conjunct && incb == INCB_LINKER)
        st->conjunct = 2;
    else if (!(st->conjunct && incb == INCB_EXTEND))
        st->conjunct = 0;
    st->ri = g == GCB_RI ? st->ri + 1 : 0;
}

static bool is_break(const cluster_state *st, uint8_t prev, uint8_t next)
{
    int a = PROP_GCB(prev), b = PROP_GCB(next);
    if (a == GCB_CR && b == GCB_LF)
        return false; /* GB3 */
    if (a == GCB_CR || a == GCB_LF || a == GCB_CONTROL)
        return true; /* GB4 */
    if (b == GCB_CR || b == GCB_LF || b == GCB_CONTROL)
        return true; /* GB5 */
    if (a == GCB_L && (b == GCB_L || b == GCB_V || b == GCB_LV || b == GCB_LVT))
        return false; /* GB6 */
    if ((a == GCB_LV || a == GCB_V) && (b == GCB_V || b == GCB_T))
        return false; /* GB7 */
    if ((a == GCB_LVT || a == GCB_T) && b == GCB_T)
        return false; /* GB8 */
    if (b == GCB_EXTEND || b == GCB_ZWJ || b == GCB_SPACINGMARK || a == GCB_PREPEND)
        return false; /* GB9, GB9a, GB9b */
    if (st->conjunct == 2 && PROP_INCB(next) == INCB_CONSONANT)
        return false; /* GB9c */
    if (st->pict == 2 && PROP_PICT(next))
        return false; /* GB11 */
    if (a == GCB_RI && b == GCB_RI && st->ri % 2 == 1)
        return false; /* GB12, GB13 */
    return true;      /* GB999 */
}

size_t rt5__grapheme_next(const char *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    if (n == 0)
        return 0;
    /* ASCII followed by ASCII: a boundary unless it is CR LF. */
    if (b[0] < 0x80 && (n == 1 || b[1] < 0x80) && !(b[0] == '\r' && n > 1 && b[1] == '\n'))
        return 1;
    size_t len;
    uint8_t prev = props_of(rt5__utf8_decode(s, n, &len));
    cluster_state st = {0, 0, 0};
    state_update(&st, prev);
    size_t pos = len;
    while (pos < n) {
        size_t clen;
        uint8_t next = props_of(rt5__utf8_decode(s + pos, n - pos, &clen));
        if (is_break(&st, prev, next))
            break;
        state_update(&st, next);
        prev = next;
        pos += clen;
    }
    return pos;
}
