/*
 * sp_bridge.h -- the small C interface to libsentencepiece (sp_bridge.cc, the
 * one C++ file of the core). Every entry point catches every C++ exception
 * and returns a status with a message instead: nothing C++ crosses into C.
 *
 * A processor is immutable once loaded; libsentencepiece's Encode is const
 * and thread-safe, so one processor serves all threads.
 */
#ifndef RT5_TOKENIZER_SP_BRIDGE_H
#define RT5_TOKENIZER_SP_BRIDGE_H

#ifdef __cplusplus
extern "C" {
#endif

#include "core/common.h"

typedef struct rt5__sp rt5__sp;

/* What libsentencepiece says a piece is (ModelProto.SentencePiece.Type). */
typedef enum rt5__sp_piece_kind {
    RT5__SP_NORMAL = 1,  /* also USER_DEFINED: the library does not tell them apart */
    RT5__SP_UNKNOWN = 2,
    RT5__SP_CONTROL = 3,
    RT5__SP_UNUSED = 5,
    RT5__SP_BYTE = 6
} rt5__sp_piece_kind;

/* Loads a serialized ModelProto (LoadFromSerializedProto). The bytes must
 * have passed rt5__spm_check (spm_check.c): libsentencepiece trusts the
 * precompiled charsmap it is given. On failure *out is NULL and err holds
 * the library's message. */
rt5_status rt5__sp_load(const uint8_t *bytes, size_t n, rt5__sp **out, rt5__errmsg *err);

void rt5__sp_free(rt5__sp *sp);

int32_t rt5__sp_size(const rt5__sp *sp);
/* The piece string of id (borrowed from the processor). */
const char *rt5__sp_piece(const rt5__sp *sp, int32_t id, size_t *len);
rt5__sp_piece_kind rt5__sp_kind(const rt5__sp *sp, int32_t id);
/* The id of exactly this piece string, or -1. */
int32_t rt5__sp_find(const rt5__sp *sp, const char *s, size_t len);

/* Called once per token, in order: the id, the piece as libsentencepiece
 * returns it (a run of unknown characters is one piece) and its bytes
 * [begin, end) in the encoded text. Returns false to stop (out of memory). */
typedef bool (*rt5__sp_emit_fn)(void *ctx, int32_t id, const char *piece, size_t piece_len,
                                uint32_t begin, uint32_t end);

/* Normalizes and encodes text (len < UINT32_MAX) with the processor's own
 * normalizer and Viterbi search. RT5_ERR_OUT_OF_MEMORY when emit stopped
 * or memory ran out, RT5_ERR_FORMAT for any other library failure. */
rt5_status rt5__sp_encode(const rt5__sp *sp, const char *text, size_t len, rt5__sp_emit_fn emit,
                          void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* RT5_TOKENIZER_SP_BRIDGE_H */
