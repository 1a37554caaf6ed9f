/*
 * sp_bridge.cc -- libsentencepiece (Debian's 0.1.97, the library behind the
 * project's reference spm_encode) behind the C interface of sp_bridge.h.
 *
 * This is the core's only C++. Every function is a boundary: it catches
 * every exception (std::bad_alloc, darts-clone's exceptions while building
 * its trie from hostile pieces, anything else) and turns it into a status
 * and a message. libsentencepiece reports its own failures as util::Status.
 */
#include <sentencepiece_processor.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "tokenizer/sp_bridge.h"

struct rt5__sp {
    sentencepiece::SentencePieceProcessor proc;
};

namespace {

rt5_status fail_status(rt5__errmsg *err, const sentencepiece::util::Status &st)
{
    return rt5__fail(err, RT5_ERR_FORMAT, "libsentencepiece: %s", st.error_message());
}

} // namespace

extern "C" {

rt5_status rt5__sp_load(const uint8_t *bytes, size_t n, rt5__sp **out, rt5__errmsg *err)
{
    *out = nullptr;
    try {
        /* Owned by a unique_ptr until the end: a load that throws frees it. */
        std::unique_ptr<rt5__sp> sp(new rt5__sp);
        sentencepiece::util::Status st = sp->proc.LoadFromSerializedProto(
            std::string_view(reinterpret_cast<const char *>(bytes), n));
        if (!st.ok())
            return fail_status(err, st);
        *out = sp.release();
        return RT5_OK;
    } catch (const std::bad_alloc &) {
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "libsentencepiece: out of memory");
    } catch (const std::exception &e) {
        return rt5__fail(err, RT5_ERR_FORMAT, "libsentencepiece: %s", e.what());
    } catch (...) {
        return rt5__fail(err, RT5_ERR_FORMAT, "libsentencepiece: unknown error");
    }
}

void rt5__sp_free(rt5__sp *sp)
{
    delete sp; /* the processor's destructor does not throw */
}

/* The queries below only index the processor's tables; none of them throws
 * for an id inside [0, size). */

int32_t rt5__sp_size(const rt5__sp *sp)
{
    return sp->proc.GetPieceSize();
}

const char *rt5__sp_piece(const rt5__sp *sp, int32_t id, size_t *len)
{
    const std::string &p = sp->proc.IdToPiece(id);
    *len = p.size();
    return p.data();
}

rt5__sp_piece_kind rt5__sp_kind(const rt5__sp *sp, int32_t id)
{
    if (sp->proc.IsUnknown(id))
        return RT5__SP_UNKNOWN;
    if (sp->proc.IsControl(id))
        return RT5__SP_CONTROL;
    if (sp->proc.IsUnused(id))
        return RT5__SP_UNUSED;
    if (sp->proc.IsByte(id))
        return RT5__SP_BYTE;
    return RT5__SP_NORMAL;
}

int32_t rt5__sp_find(const rt5__sp *sp, const char *s, size_t len)
{
    try {
        std::string_view key(s, len);
        int id = sp->proc.PieceToId(key); /* the unknown id when absent */
        return id >= 0 && sp->proc.IdToPiece(id) == key ? id : -1;
    } catch (...) {
        return -1;
    }
}

rt5_status rt5__sp_encode(const rt5__sp *sp, const char *text, size_t len, rt5__sp_emit_fn emit,
                          void *ctx)
{
    try {
        sentencepiece::ImmutableSentencePieceText spt;
        sentencepiece::util::Status st = sp->proc.Encode(std::string_view(text, len), spt.mutable_proto());
        if (!st.ok())
            return RT5_ERR_FORMAT;
        size_t n = spt.pieces_size();
        for (size_t i = 0; i < n; i++) {
            auto p = spt.pieces(static_cast<int>(i));
            const std::string &piece = p.piece();
            if (!emit(ctx, static_cast<int32_t>(p.id()), piece.data(), piece.size(), p.begin(), p.end()))
                return RT5_ERR_OUT_OF_MEMORY;
        }
        return RT5_OK;
    } catch (const std::bad_alloc &) {
        return RT5_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return RT5_ERR_FORMAT;
    }
}

} // extern "C"
