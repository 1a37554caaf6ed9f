/*
 * grapheme_table.h -- the generated Unicode property ranges grapheme.c
 * needs (see native/src/tokenizer/gen_grapheme_table.py for the byte layout).
 */
#ifndef RT5_TOKENIZER_GRAPHEME_TABLE_H
#define RT5_TOKENIZER_GRAPHEME_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rt5__grapheme_range {
    uint32_t lo, hi; /* inclusive code point range */
    uint8_t props;
} rt5__grapheme_range;

extern const rt5__grapheme_range rt5__grapheme_ranges[];
extern const size_t rt5__grapheme_n_ranges;

#endif /* RT5_TOKENIZER_GRAPHEME_TABLE_H */
