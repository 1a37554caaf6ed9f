/*
 * rankt5.h -- the one public header of librankt5.
 *
 * librankt5 scores (query, document) pairs with T5-encoder cross-encoder
 * rerankers such as naver/trecdl22-crossencoder-rankT53b-repro (RankT5
 * Enc-Softmax on t5-3b). This header is the specification of the library:
 * every function documents its ownership rules, its errors and its threading.
 *
 * Conventions
 *  - Objects are opaque handles created by rt5_<object>_create/_load and freed
 *    by rt5_<object>_free; freeing NULL is a no-op.
 *  - Every fallible function returns an rt5_status (0 = RT5_OK, negative =
 *    error). Error codes are never renumbered nor reused. A human-readable
 *    detail of the last error lives in the object that failed
 *    (rt5_<object>_last_error), never in a global.
 *  - Constructors take a params struct obtained from
 *    rt5_<object>_default_params(); new fields are only ever added at the end.
 *  - Loaders that fail still hand back a handle (unless memory ran out) that
 *    carries only the error message, as sqlite3_open does: read it with
 *    rt5_<object>_last_error, then free the handle.
 *  - The library never calls exit() or abort() on bad input, and never
 *    executes anything found in a file.
 *
 * Threading: a rt5_tokenizer and a rt5_model are immutable after load and may
 * be shared by any number of threads. A rt5_session is owned by one thread at
 * a time. A rt5_engine is safe to call from one thread at a time; it runs its
 * own worker threads.
 */
#ifndef RANKT5_H
#define RANKT5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RT5_BUILDING_LIBRARY) && defined(__GNUC__)
#define RT5_API __attribute__((visibility("default")))
#else
#define RT5_API
#endif

#define RT5_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

typedef enum rt5_status {
    RT5_OK = 0,
    RT5_ERR_INVALID_ARGUMENT = -1, /* a NULL handle, a bad parameter value     */
    RT5_ERR_OUT_OF_MEMORY = -2,    /* an allocation failed                     */
    RT5_ERR_IO = -3,               /* open/read/mmap/write of a file failed    */
    RT5_ERR_FORMAT = -4,           /* bytes of a file are malformed/truncated  */
    RT5_ERR_UNSUPPORTED = -5,      /* well-formed but not something we handle  */
    RT5_ERR_REFUSED = -6,          /* a pickle asked for a forbidden global or
                                      opcode: nothing was executed             */
    RT5_ERR_SHAPE = -7,            /* a tensor is missing or has a wrong shape
                                      or dtype                                 */
    RT5_ERR_BUFFER_TOO_SMALL = -8, /* caller buffer too small; the needed size
                                      was reported                             */
    RT5_ERR_TOO_LONG = -9,         /* an input exceeds a configured limit      */
    RT5_ERR_CANCELLED = -10,       /* a progress callback asked to stop        */
    RT5_ERR_INTERNAL = -11,        /* a "cannot happen" check fired            */
    RT5_ERR_THREAD = -12           /* a thread could not be started            */
} rt5_status;

/* A static English name for a status, e.g. "format error". Never NULL. */
RT5_API const char *rt5_status_str(rt5_status status);

/* The library version, RT5_VERSION_STRING of the build. */
RT5_API const char *rt5_version(void);

/* ------------------------------------------------------------------------ */
/* The CPU                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * What this CPU runs, detected once when the library loads. The library is
 * built for baseline x86-64 and picks its kernels and oneDNN's at run time,
 * so one build serves AVX2-only and AVX-512 machines alike.
 *
 * The environment variable RT5_MAX_ISA (baseline, avx2, avx512, avx512_vnni,
 * avx512_bf16 or amx), read at load, caps both our kernels and oneDNN: an
 * AVX-512 machine with RT5_MAX_ISA=avx2 computes as an AVX2-only CPU (the
 * test suite runs that way too). oneDNN's own ONEDNN_MAX_CPU_ISA is followed
 * as well. All strings are static.
 */
typedef struct rt5_cpu_info {
    const char *isa;          /* level in use: "amx", "avx512_bf16",
                                 "avx512_vnni", "avx512", "avx2" or
                                 "baseline" (x86-64 without AVX2+FMA)      */
    const char *isa_detected; /* what the CPU offers, before any cap       */
    const char *isa_cap;      /* RT5_MAX_ISA (or ONEDNN_MAX_CPU_ISA) as
                                 given, NULL when uncapped                 */
    const char *kernels;      /* our attention/norm kernel table:
                                 "avx512", "avx2" or "portable"            */
    int32_t bf16_native;      /* 1: bf16 arithmetic (AVX512_BF16 or AMX);
                                 0: RT5_DTYPE_BF16 is refused at load      */
    int32_t int8_vnni;        /* 1: u8 x s8 products summed exactly at
                                 full 8 bits (VNNI or AMX); 0: int8 runs
                                 with 7-bit activations, whose pair sums
                                 cannot saturate (docs/performance.md)     */
    const char *note;         /* a cap that was not applied, or ""         */
} rt5_cpu_info;

/* Fills *info. RT5_ERR_INVALID_ARGUMENT for NULL. */
RT5_API rt5_status rt5_cpu_get_info(rt5_cpu_info *info);

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                */
/* ------------------------------------------------------------------------ */

/*
 * A T5 tokenizer: Google's SentencePiece unigram model (spiece.model, the
 * protobuf) or a Hugging Face tokenizer.json for T5. The kind is detected
 * from the file's contents. Both produce the ids the model was trained on;
 * docs/tokenizer.md lists the few inputs where the two families differ.
 *
 * Well-known ids for T5: <pad>=0, </s>=1, <unk>=2, <extra_id_N>=32099-N.
 */
typedef struct rt5_tokenizer rt5_tokenizer;

typedef enum rt5_tokenizer_kind {
    RT5_TOKENIZER_AUTO = 0,        /* detect from the bytes                    */
    RT5_TOKENIZER_SENTENCEPIECE = 1,
    RT5_TOKENIZER_HF_JSON = 2
} rt5_tokenizer_kind;

typedef struct rt5_tokenizer_params {
    rt5_tokenizer_kind kind; /* default RT5_TOKENIZER_AUTO */
} rt5_tokenizer_params;

RT5_API rt5_tokenizer_params rt5_tokenizer_default_params(void);

/* Loads a tokenizer from a file, or from a model directory holding
 * tokenizer.json (preferred: it is what the model card's AutoTokenizer uses)
 * or spiece.model. params may be NULL for the defaults. On failure *out is
 * still set (to a handle carrying the message) unless memory ran out; the
 * caller frees it either way. */
RT5_API rt5_status rt5_tokenizer_load(const char *path, const rt5_tokenizer_params *params,
                                      rt5_tokenizer **out);

/* Same as rt5_tokenizer_load, from bytes the caller owns (copied as needed;
 * the caller may free them after the call). */
RT5_API rt5_status rt5_tokenizer_load_from_memory(const uint8_t *bytes, size_t n_bytes,
                                                  const rt5_tokenizer_params *params,
                                                  rt5_tokenizer **out);

RT5_API void rt5_tokenizer_free(rt5_tokenizer *tok);
RT5_API const char *rt5_tokenizer_last_error(const rt5_tokenizer *tok);

/* Vocabulary size including added tokens (32100 for T5). */
RT5_API int32_t rt5_tokenizer_vocab_size(const rt5_tokenizer *tok);

/* The piece string of an id (UTF-8, not NUL-terminated unless noted: its
 * length goes to *len). Borrowed from the tokenizer; NULL for an id out of
 * range. */
RT5_API const char *rt5_tokenizer_piece(const rt5_tokenizer *tok, int32_t id, size_t *len);

/*
 * Encodes one text (any bytes; invalid UTF-8 is handled as sentencepiece
 * handles it) into ids, without appending </s>. Writes at most cap ids to
 * ids and the number the text needs to *n_ids; returns
 * RT5_ERR_BUFFER_TOO_SMALL when cap < *n_ids. Thread-safe.
 */
RT5_API rt5_status rt5_tokenizer_encode(const rt5_tokenizer *tok, const char *text, size_t len,
                                        int32_t *ids, size_t cap, size_t *n_ids);

typedef enum rt5_truncation {
    RT5_TRUNCATE_LONGEST_FIRST = 0, /* Hugging Face's default, as the fast
                                       tokenizer does it: with budget B =
                                       max_length - 2 and s the shorter
                                       length, the longer keeps
                                       max(s, B - s); if that overflows, each
                                       keeps B/2 (the longer one the odd
                                       token)                                */
    RT5_TRUNCATE_ONLY_SECOND = 1,   /* cut the document only                 */
    RT5_TRUNCATE_ONLY_FIRST = 2,    /* cut the query only                    */
    RT5_TRUNCATE_NONE = 3           /* fail with RT5_ERR_TOO_LONG instead    */
} rt5_truncation;

typedef struct rt5_pair_params {
    int32_t max_length;        /* default 512 tokens, specials included; 0 =
                                  no limit                                  */
    rt5_truncation truncation; /* default RT5_TRUNCATE_LONGEST_FIRST        */
    /* NULL (default): Hugging Face's pair template, ids(query) </s>
     * ids(document) </s>. Otherwise a text template containing "{query}"
     * and "{document}", e.g. "Query: {query} Document: {document}",
     * filled in and encoded as one sequence followed by </s>; truncation
     * then cuts the document's text tokens first. Borrowed. */
    const char *text_template;
} rt5_pair_params;

RT5_API rt5_pair_params rt5_pair_default_params(void);

/*
 * Encodes a (query, document) pair for scoring. params may be NULL for the
 * defaults. Writes at most cap ids, the total to *n_ids, and how many tokens
 * truncation removed to *n_truncated (may be NULL). Returns
 * RT5_ERR_BUFFER_TOO_SMALL when cap < *n_ids. Thread-safe.
 */
RT5_API rt5_status rt5_tokenizer_encode_pair(const rt5_tokenizer *tok, const rt5_pair_params *params,
                                             const char *query, size_t query_len,
                                             const char *document, size_t document_len,
                                             int32_t *ids, size_t cap, size_t *n_ids,
                                             size_t *n_truncated);

/* ------------------------------------------------------------------------ */
/* Model                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * A T5-encoder reranker: the weights of a checkpoint (PyTorch zip .bin,
 * .safetensors, sharded safetensors with an index, or a directory holding
 * one of them plus an optional config.json) bound to an inferred T5
 * configuration. Weights are memory-mapped; any conversion or packing happens
 * once, here. Pickles are read with an allow-list: nothing is executed.
 */
typedef struct rt5_model rt5_model;

typedef enum rt5_dtype {
    RT5_DTYPE_F32 = 0,
    RT5_DTYPE_F16 = 1,
    RT5_DTYPE_BF16 = 2,
    RT5_DTYPE_INT8 = 3,
    RT5_DTYPE_AUTO = 4   /* compute dtype only: the fastest dtype that passes
                            the accuracy gates on this CPU (int8 with VNNI or
                            AMX; f32 without, where exact int8 takes two
                            products), resolved at load and reported by
                            rt5_model_get_info */
} rt5_dtype;

/* "f32", "f16", "bf16", "int8", "auto". */
RT5_API const char *rt5_dtype_name(rt5_dtype dtype);

/* Whether dtype computes on this CPU (rt5_cpu_info, after any cap): RT5_OK,
 * or RT5_ERR_UNSUPPORTED with *why (static; why may be NULL) naming the
 * missing CPU feature and the dtypes that do run here. */
RT5_API rt5_status rt5_cpu_dtype_supported(rt5_dtype dtype, const char **why);

/* What RT5_DTYPE_AUTO means on this CPU: RT5_DTYPE_INT8 with VNNI or AMX
 * (int8 passes the accuracy gates and is the fastest there), else
 * RT5_DTYPE_F32 (int8 passes the same gates without VNNI but runs each
 * product twice and measured slower than f32 on AVX2; docs/performance.md,
 * "CPU classes"). Any other dtype is returned as is. */
RT5_API rt5_dtype rt5_dtype_resolve(rt5_dtype dtype);

typedef struct rt5_model_params {
    rt5_dtype compute_dtype;  /* default RT5_DTYPE_F32. RT5_DTYPE_AUTO is
                                 resolved at load (rt5_dtype_resolve); a
                                 dtype this CPU does not compute (bf16
                                 without AVX512_BF16/AMX) fails with
                                 RT5_ERR_UNSUPPORTED and the reason. A
                                 converted file (rt5_model_save) computes
                                 in the dtype it was converted to: F32 or
                                 AUTO then mean "as stored"; another dtype
                                 is an error.                             */
    const char *config_path;  /* optional config.json; NULL = use the one
                                 beside the checkpoint if there is one      */
    int verbose;              /* nonzero: print load steps to stderr       */
} rt5_model_params;

RT5_API rt5_model_params rt5_model_default_params(void);

/* Loads and validates a model. On failure *out is still set to a handle
 * carrying the message (unless memory ran out); free it either way. */
RT5_API rt5_status rt5_model_load(const char *path, const rt5_model_params *params,
                                  rt5_model **out);
RT5_API void rt5_model_free(rt5_model *model);
RT5_API const char *rt5_model_last_error(const rt5_model *model);

typedef struct rt5_model_info {
    int32_t d_model, d_ff, n_heads, d_kv, n_layers, vocab_size;
    int32_t num_buckets, max_distance;
    int32_t gated_gelu;          /* 0: ReLU FFN (wi, wo); 1: gated-GELU     */
    float layer_norm_epsilon;    /* the encoder's RMSNorm eps              */
    rt5_dtype file_dtype;        /* dtype of the weights in the file       */
    rt5_dtype compute_dtype;     /* dtype the GEMMs run in                 */
    uint64_t n_params;           /* parameters bound (tied counted once)   */
    uint64_t bytes_mapped;       /* bytes of the checkpoint mapping(s)     */
    double load_seconds;         /* wall time of rt5_model_load            */
    int32_t n_warnings;          /* e.g. unknown keys; see _warning()      */
    int32_t converted;           /* 1: a file written by rt5_model_save    */
    int32_t n_linears_in_place;  /* converted: block products whose stored
                                    layout this CPU uses as is, straight
                                    from the mapping (of 4 per layer)      */
} rt5_model_info;

RT5_API rt5_status rt5_model_get_info(const rt5_model *model, rt5_model_info *info);

/* The i-th load warning (e.g. "unknown key 'foo' ignored"), borrowed. */
RT5_API const char *rt5_model_warning(const rt5_model *model, int32_t i);

/*
 * Converted files. rt5_model_save writes a loaded model's weights as the
 * forward pass uses them -- for bf16 the bf16 weights, for int8 the s8
 * weights with their per-channel scales, smoothing factors and f32 outlier
 * columns -- into one .safetensors file whose metadata names the scheme
 * ("rankt5.format", "rankt5.dtype", "rankt5.scheme", "rankt5.config").
 * rt5_model_load reads such a file without re-quantizing and computes in
 * its dtype; scores equal those of the original checkpoint loaded with that
 * compute dtype, bit for bit.
 *
 * Layout: by default the block products are stored in the blocked layout
 * oneDNN picked on this CPU, so that loading on a CPU like it uses them in
 * place from the mapping (no copy, nothing to pack: ready in well under a
 * second, pages shared between processes). Another CPU reorders them once
 * at load. portable = 1 stores torch's row-major (out, in) layout instead,
 * which any CPU (and any safetensors reader) takes, at the cost of a
 * reorder on every load.
 */
typedef struct rt5_save_params {
    int portable; /* default 0: this CPU's packed layout; 1: row-major      */
} rt5_save_params;

RT5_API rt5_save_params rt5_save_default_params(void);
/* Writes path atomically (a temporary file renamed into place); on failure
 * nothing is left at path and rt5_model_last_error says why. */
RT5_API rt5_status rt5_model_save(rt5_model *model, const char *path, const rt5_save_params *params);

/* ------------------------------------------------------------------------ */
/* Sequences and sessions                                                   */
/* ------------------------------------------------------------------------ */

/* One encoded input: ids as produced by rt5_tokenizer_encode_pair (ending in
 * </s>). Borrowed by the calls below. */
typedef struct rt5_seq {
    const int32_t *ids;
    size_t n_ids;
} rt5_seq;

/*
 * A session is one worker's scratch: activation buffers sized once for
 * max_batch_tokens and max_length, so scoring allocates nothing. A session
 * belongs to one thread at a time.
 */
typedef struct rt5_session rt5_session;

typedef struct rt5_session_params {
    int32_t max_batch_tokens; /* default 4096: tokens of one packed batch   */
    int32_t max_length;       /* default 512: longest sequence accepted      */
    int32_t n_threads;        /* default 0 = all cores: threads the GEMM and
                                 attention kernels of this session may use  */
} rt5_session_params;

RT5_API rt5_session_params rt5_session_default_params(void);
RT5_API rt5_status rt5_session_create(const rt5_model *model, const rt5_session_params *params,
                                      rt5_session **out);
RT5_API void rt5_session_free(rt5_session *session);
RT5_API const char *rt5_session_last_error(const rt5_session *session);

/* Scores n sequences as one packed batch (their total length must fit
 * max_batch_tokens) and writes one logit per sequence to scores. */
RT5_API rt5_status rt5_session_score(rt5_session *session, const rt5_seq *seqs, size_t n,
                                     float *scores);

/* ------------------------------------------------------------------------ */
/* Engine: many pairs, batched and ordered                                  */
/* ------------------------------------------------------------------------ */

/* Called from the engine's calling thread between batches; return nonzero
 * to cancel (the call then returns RT5_ERR_CANCELLED). */
typedef int (*rt5_progress_fn)(void *user_data, size_t done, size_t total);

typedef struct rt5_engine rt5_engine;

typedef struct rt5_engine_params {
    int32_t n_threads;        /* default 0 = all cores                      */
    int32_t max_batch_tokens; /* default 4096; a sequence longer than the
                                 budget is scored in a batch of its own    */
    int32_t max_length;       /* default 512                                */
    rt5_progress_fn progress; /* default NULL                               */
    void *progress_user_data;
    int32_t n_workers;        /* default 0 = automatic: how many sessions
                                 score batches concurrently; the n_threads
                                 are split evenly among them (docs/engine.md
                                 has the measurement behind the default)   */
} rt5_engine_params;

RT5_API rt5_engine_params rt5_engine_default_params(void);
/* Creates the engine's sessions (one scratch arena per worker) and worker
 * threads. params may be NULL for the defaults. On failure *out is still set
 * to a handle carrying the message (unless memory ran out); free it either
 * way. The model is borrowed and must outlive the engine. */
RT5_API rt5_status rt5_engine_create(const rt5_model *model, const rt5_engine_params *params,
                                     rt5_engine **out);
RT5_API void rt5_engine_free(rt5_engine *engine);
RT5_API const char *rt5_engine_last_error(const rt5_engine *engine);

/* The parameters the engine resolved: n_threads and n_workers as actually
 * used (never 0), the rest as given. */
RT5_API rt5_status rt5_engine_get_params(const rt5_engine *engine, rt5_engine_params *out);

/* Scores n sequences of any lengths (each ≤ max_length): sorts them into
 * token-budget batches (longest first), runs them on the engine's workers
 * and writes the logits to scores in input order. The progress callback, if
 * any, runs on the calling thread after each batch with the number of
 * sequences done; returning nonzero stops the call with RT5_ERR_CANCELLED
 * once the batches already running finish. Errors: RT5_ERR_INVALID_ARGUMENT
 * (an empty sequence or an id outside the model's vocabulary), RT5_ERR_TOO_LONG (a sequence over max_length), or a
 * session's error; the message names the sequence or batch. After a first
 * call with n sequences, calls with at most n allocate nothing. */
RT5_API rt5_status rt5_engine_score(rt5_engine *engine, const rt5_seq *seqs, size_t n,
                                    float *scores);

#ifdef __cplusplus
}
#endif

#endif /* RANKT5_H */
