/*
 * rankt5_jni.c -- the JNI glue behind io.rankt5.RankT5: marshalling and error
 * mapping only, over the public API of rankt5.h.
 *
 * One native handle owns a tokenizer, a model and an engine (freed in the
 * reverse order). Text arrives as UTF-8 bytes encoded by Java (never modified
 * UTF-8), many strings packed in one byte[] with an int[] of end offsets.
 * Arrays are copied in and out with Get/Set<Type>ArrayRegion: no critical
 * section is ever held, so the forward pass never blocks the garbage
 * collector.
 *
 * Threading: the tokenizer and model are shared read-only; pairs are encoded
 * on the calling thread, concurrently. rt5_engine takes one caller at a time,
 * so engine calls are serialized by a mutex (the engine itself runs batches
 * on its own workers). The Java side guarantees that nativeFree runs only
 * when no call is in flight; nativeCancel may run at any time before it.
 *
 * Errors become io.rankt5.RankT5Exception(int status, String statusName,
 * byte[] utf8Message), built from classes cached in JNI_OnLoad; every entry
 * point returns right after throwing.
 */
#include <jni.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rankt5.h"

/* ------------------------------------------------------------ cached classes */

static jclass exception_class;      /* io.rankt5.RankT5Exception     */
static jmethodID exception_init;    /* (int, String, byte[])         */
static jclass oom_class;            /* java.lang.OutOfMemoryError    */
static jclass illegal_arg_class;    /* IllegalArgumentException      */

static jclass global_class(JNIEnv *env, const char *name)
{
    jclass local = (*env)->FindClass(env, name);
    if (!local)
        return NULL;
    jclass global = (*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return global;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    exception_class = global_class(env, "io/rankt5/RankT5Exception");
    oom_class = global_class(env, "java/lang/OutOfMemoryError");
    illegal_arg_class = global_class(env, "java/lang/IllegalArgumentException");
    if (!exception_class || !oom_class || !illegal_arg_class)
        return JNI_ERR;
    exception_init = (*env)->GetMethodID(env, exception_class, "<init>", "(ILjava/lang/String;[B)V");
    return exception_init ? JNI_VERSION_1_8 : JNI_ERR;
}

/* ------------------------------------------------------------ throwing */

/* Throws RankT5Exception(status, rt5_status_str(status), message). The
 * message may hold any bytes (file names): it travels as a byte[] and is
 * decoded as UTF-8 in Java, never through NewStringUTF's modified UTF-8. */
static void throw_status(JNIEnv *env, rt5_status status, const char *message)
{
    if ((*env)->ExceptionCheck(env))
        return;
    size_t n = message ? strlen(message) : 0;
    jstring name = (*env)->NewStringUTF(env, rt5_status_str(status)); /* ASCII */
    jbyteArray bytes = name ? (*env)->NewByteArray(env, (jsize)n) : NULL;
    if (!bytes)
        return; /* an OutOfMemoryError is pending */
    (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)n, (const jbyte *)message);
    jobject ex = (*env)->NewObject(env, exception_class, exception_init, (jint)status, name, bytes);
    if (ex)
        (*env)->Throw(env, (jthrowable)ex);
}

static void throw_oom(JNIEnv *env, const char *what)
{
    if (!(*env)->ExceptionCheck(env))
        (*env)->ThrowNew(env, oom_class, what);
}

static void throw_illegal_argument(JNIEnv *env, const char *what)
{
    if (!(*env)->ExceptionCheck(env))
        (*env)->ThrowNew(env, illegal_arg_class, what);
}

/* ------------------------------------------------------------ the handle */

typedef struct jni_handle {
    rt5_tokenizer *tok;
    rt5_model *model;
    rt5_engine *engine;
    rt5_pair_params pair;
    char *text_template;        /* owned copy behind pair.text_template  */
    int32_t max_length;
    pthread_mutex_t engine_lock; /* rt5_engine takes one caller at a time */
    atomic_int cancelled;        /* set by close(): stop between batches   */
} jni_handle;

/* Handles opened and not yet freed, for the tests of close() and the Cleaner. */
static atomic_long live_handles;

static int engine_progress(void *user_data, size_t done, size_t total)
{
    const jni_handle *h = user_data;
    return atomic_load(&h->cancelled);
}

static void handle_free(jni_handle *h)
{
    if (!h)
        return;
    rt5_engine_free(h->engine);
    rt5_model_free(h->model);
    rt5_tokenizer_free(h->tok);
    pthread_mutex_destroy(&h->engine_lock);
    free(h->text_template);
    free(h);
}

/* A NUL-terminated copy of a byte[] (NULL for a null array). *failed is set
 * when an exception is pending. */
static char *copy_cstring(JNIEnv *env, jbyteArray array, int *failed)
{
    *failed = 0;
    if (!array)
        return NULL;
    jsize n = (*env)->GetArrayLength(env, array);
    char *s = malloc((size_t)n + 1);
    if (!s) {
        throw_oom(env, "rankt5: out of memory copying a string");
        *failed = 1;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, array, 0, n, (jbyte *)s);
    s[n] = 0;
    if (memchr(s, 0, (size_t)n)) {
        free(s);
        throw_illegal_argument(env, "rankt5: a path or template contains a NUL character");
        *failed = 1;
        return NULL;
    }
    return s;
}

static int parse_dtype(const char *name, rt5_dtype *out)
{
    static const struct { const char *name; rt5_dtype dtype; } names[] = {
        {"f32", RT5_DTYPE_F32},   {"fp32", RT5_DTYPE_F32}, {"float32", RT5_DTYPE_F32},
        {"bf16", RT5_DTYPE_BF16}, {"bfloat16", RT5_DTYPE_BF16},
        {"f16", RT5_DTYPE_F16},   {"fp16", RT5_DTYPE_F16}, {"float16", RT5_DTYPE_F16},
        {"int8", RT5_DTYPE_INT8}, {"i8", RT5_DTYPE_INT8},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].dtype;
            return 1;
        }
    }
    return 0;
}

typedef struct open_args {
    char *model, *tokenizer, *config, *dtype, *text_template;
    jint threads, workers, max_length, batch_tokens, verbose;
} open_args;

static void open_args_free(open_args *a)
{
    free(a->model);
    free(a->tokenizer);
    free(a->config);
    free(a->dtype);
    free(a->text_template);
}

/* Loads tokenizer, model and engine into h; on failure throws and returns 0.
 * "PATH: why" as the CLI prints it. */
static int handle_load(JNIEnv *env, jni_handle *h, const open_args *a)
{
    char msg[4096];
    rt5_model_params mp = rt5_model_default_params();
    if (a->dtype && !parse_dtype(a->dtype, &mp.compute_dtype)) {
        snprintf(msg, sizeof msg, "dtype '%s' is not one this library knows (f32, bf16, int8)", a->dtype);
        throw_status(env, RT5_ERR_INVALID_ARGUMENT, msg);
        return 0;
    }
    mp.config_path = a->config;
    mp.verbose = a->verbose;
    const char *tok_path = a->tokenizer ? a->tokenizer : a->model;
    rt5_status st = rt5_tokenizer_load(tok_path, NULL, &h->tok);
    if (st != RT5_OK) {
        snprintf(msg, sizeof msg, "tokenizer %s: %s", tok_path,
                 h->tok ? rt5_tokenizer_last_error(h->tok) : rt5_status_str(st));
        throw_status(env, st, msg);
        return 0;
    }
    st = rt5_model_load(a->model, &mp, &h->model);
    if (st != RT5_OK) {
        snprintf(msg, sizeof msg, "model %s: %s", a->model,
                 h->model ? rt5_model_last_error(h->model) : rt5_status_str(st));
        throw_status(env, st, msg);
        return 0;
    }
    rt5_engine_params ep = rt5_engine_default_params();
    ep.n_threads = a->threads;
    ep.n_workers = a->workers;
    ep.max_length = a->max_length;
    ep.max_batch_tokens = a->batch_tokens;
    ep.progress = engine_progress;
    ep.progress_user_data = h;
    st = rt5_engine_create(h->model, &ep, &h->engine);
    if (st != RT5_OK) {
        snprintf(msg, sizeof msg, "cannot start the engine: %s",
                 h->engine ? rt5_engine_last_error(h->engine) : rt5_status_str(st));
        throw_status(env, st, msg);
        return 0;
    }
    return 1;
}

static jni_handle *handle_new(JNIEnv *env, open_args *a)
{
    jni_handle *h = calloc(1, sizeof *h);
    if (!h || pthread_mutex_init(&h->engine_lock, NULL) != 0) {
        free(h);
        throw_oom(env, "rankt5: out of memory creating a model handle");
        return NULL;
    }
    atomic_init(&h->cancelled, 0);
    h->pair = rt5_pair_default_params();
    h->pair.max_length = a->max_length;
    h->pair.text_template = h->text_template = a->text_template;
    a->text_template = NULL; /* owned by h now */
    h->max_length = a->max_length;
    if (!handle_load(env, h, a)) {
        handle_free(h);
        return NULL;
    }
    atomic_fetch_add(&live_handles, 1);
    return h;
}

/*
 * private static native long nativeOpen(byte[] model, byte[] tokenizer,
 *     byte[] config, byte[] dtype, byte[] template, int threads, int workers,
 *     int maxLength, int batchTokens, boolean verbose)
 * Paths and strings are UTF-8 bytes (tokenizer, config, template nullable).
 */
JNIEXPORT jlong JNICALL Java_io_rankt5_RankT5_nativeOpen(JNIEnv *env, jclass cls, jbyteArray model,
                                                         jbyteArray tokenizer, jbyteArray config,
                                                         jbyteArray dtype, jbyteArray text_template,
                                                         jint threads, jint workers, jint max_length,
                                                         jint batch_tokens, jboolean verbose)
{
    open_args a = {.threads = threads, .workers = workers, .max_length = max_length,
                   .batch_tokens = batch_tokens, .verbose = verbose};
    int failed = 0;
    if (!model) {
        throw_illegal_argument(env, "rankt5: no model path");
        return 0;
    }
    a.model = copy_cstring(env, model, &failed);
    if (!failed)
        a.tokenizer = copy_cstring(env, tokenizer, &failed);
    if (!failed)
        a.config = copy_cstring(env, config, &failed);
    if (!failed)
        a.dtype = copy_cstring(env, dtype, &failed);
    if (!failed)
        a.text_template = copy_cstring(env, text_template, &failed);
    jni_handle *h = failed ? NULL : handle_new(env, &a);
    open_args_free(&a);
    return (jlong)(intptr_t)h;
}

/* private static native void nativeCancel(long handle): later and running
 * engine calls stop between batches with RT5_ERR_CANCELLED. */
JNIEXPORT void JNICALL Java_io_rankt5_RankT5_nativeCancel(JNIEnv *env, jclass cls, jlong handle)
{
    jni_handle *h = (jni_handle *)(intptr_t)handle;
    if (h)
        atomic_store(&h->cancelled, 1);
}

/* private static native void nativeFree(long handle): no call in flight. */
JNIEXPORT void JNICALL Java_io_rankt5_RankT5_nativeFree(JNIEnv *env, jclass cls, jlong handle)
{
    if (handle)
        atomic_fetch_sub(&live_handles, 1);
    handle_free((jni_handle *)(intptr_t)handle);
}

/* private static native long nativeLiveHandles() */
JNIEXPORT jlong JNICALL Java_io_rankt5_RankT5_nativeLiveHandles(JNIEnv *env, jclass cls)
{
    return (jlong)atomic_load(&live_handles);
}

/* ------------------------------------------------------------ scoring */

/* One call's inputs, copied out of the Java arrays. */
typedef struct score_job {
    char *queries, *docs;        /* packed UTF-8                            */
    jint *query_ends, *doc_ends; /* end offset of string i                  */
    jint *doc_query;             /* query index of document i               */
    jsize n_queries, n_docs;
    int32_t *ids;                /* encoded pairs, packed                    */
    size_t *offsets;             /* pair i starts at ids + offsets[i]        */
    size_t n_ids, cap_ids;
    rt5_seq *seqs;
    float *scores;
} score_job;

static void score_job_free(score_job *j)
{
    free(j->queries);
    free(j->docs);
    free(j->query_ends);
    free(j->doc_ends);
    free(j->doc_query);
    free(j->ids);
    free(j->offsets);
    free(j->seqs);
    free(j->scores);
}

static void *copy_array(JNIEnv *env, jarray array, size_t elem, jsize *n_out)
{
    jsize n = (*env)->GetArrayLength(env, array);
    void *p = malloc(n ? (size_t)n * elem : 1);
    if (!p) {
        throw_oom(env, "rankt5: out of memory copying the inputs");
        return NULL;
    }
    if (elem == 1)
        (*env)->GetByteArrayRegion(env, (jbyteArray)array, 0, n, p);
    else
        (*env)->GetIntArrayRegion(env, (jintArray)array, 0, n, p);
    *n_out = n;
    return p;
}

/* Ends must be non-decreasing and within the packed bytes. */
static int ends_valid(const jint *ends, jsize n, jsize n_bytes)
{
    jint prev = 0;
    for (jsize i = 0; i < n; i++) {
        if (ends[i] < prev || ends[i] > n_bytes)
            return 0;
        prev = ends[i];
    }
    return 1;
}

static int job_copy_in(JNIEnv *env, score_job *j, jbyteArray queries, jintArray query_ends,
                       jbyteArray docs, jintArray doc_ends, jintArray doc_query)
{
    if (!queries || !query_ends || !docs || !doc_ends || !doc_query) {
        throw_illegal_argument(env, "rankt5: null array");
        return 0;
    }
    jsize n_qbytes, n_dbytes, n_dq;
    if (!(j->queries = copy_array(env, queries, 1, &n_qbytes)) ||
        !(j->query_ends = copy_array(env, query_ends, sizeof(jint), &j->n_queries)) ||
        !(j->docs = copy_array(env, docs, 1, &n_dbytes)) ||
        !(j->doc_ends = copy_array(env, doc_ends, sizeof(jint), &j->n_docs)) ||
        !(j->doc_query = copy_array(env, doc_query, sizeof(jint), &n_dq)))
        return 0;
    int ok = n_dq == j->n_docs && ends_valid(j->query_ends, j->n_queries, n_qbytes) &&
             ends_valid(j->doc_ends, j->n_docs, n_dbytes);
    for (jsize i = 0; ok && i < j->n_docs; i++)
        ok = j->doc_query[i] >= 0 && j->doc_query[i] < j->n_queries;
    if (!ok)
        throw_illegal_argument(env, "rankt5: inconsistent packed strings");
    return ok;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Encodes every (query, document) pair into j->ids; the engine checks each
 * length against max_length. Throws and returns 0 on failure. */
static int job_encode(JNIEnv *env, const jni_handle *h, score_job *j)
{
    size_t per_pair = (size_t)h->max_length;
    size_t n_pairs = j->n_docs ? (size_t)j->n_docs : 1;
    j->offsets = malloc(n_pairs * sizeof *j->offsets);
    j->seqs = malloc(n_pairs * sizeof *j->seqs);
    j->scores = malloc(n_pairs * sizeof *j->scores);
    if (!j->offsets || !j->seqs || !j->scores) {
        throw_oom(env, "rankt5: out of memory for the pairs");
        return 0;
    }
    for (jsize i = 0; i < j->n_docs; i++) {
        if (j->cap_ids - j->n_ids < per_pair) {
            size_t cap = j->cap_ids ? j->cap_ids * 2 : per_pair * 16;
            while (cap - j->n_ids < per_pair)
                cap *= 2;
            int32_t *ids = realloc(j->ids, cap * sizeof *ids);
            if (!ids) {
                throw_oom(env, "rankt5: out of memory for token ids");
                return 0;
            }
            j->ids = ids;
            j->cap_ids = cap;
        }
        jint q = j->doc_query[i];
        jint q0 = q ? j->query_ends[q - 1] : 0, d0 = i ? j->doc_ends[i - 1] : 0;
        size_t n = 0;
        rt5_status st = rt5_tokenizer_encode_pair(h->tok, &h->pair, j->queries + q0,
                                                  (size_t)(j->query_ends[q] - q0), j->docs + d0,
                                                  (size_t)(j->doc_ends[i] - d0), j->ids + j->n_ids,
                                                  j->cap_ids - j->n_ids, &n, NULL);
        if (st != RT5_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "cannot encode pair %ld (query %ld): %s", (long)i, (long)q,
                     rt5_status_str(st));
            throw_status(env, st, msg);
            return 0;
        }
        j->offsets[i] = j->n_ids;
        j->n_ids += n;
    }
    /* ids no longer move: turn offsets into sequences */
    for (jsize i = 0; i < j->n_docs; i++) {
        size_t end = i + 1 < j->n_docs ? j->offsets[i + 1] : j->n_ids;
        j->seqs[i] = (rt5_seq){j->ids + j->offsets[i], end - j->offsets[i]};
    }
    return 1;
}

/* Scores under the engine lock. Returns the status; copies the engine's
 * message into msg on failure. */
static rt5_status job_run(jni_handle *h, score_job *j, char *msg, size_t cap, uint64_t *wait_ns)
{
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&h->engine_lock);
    *wait_ns = now_ns() - t0;
    rt5_status st = atomic_load(&h->cancelled)
                        ? RT5_ERR_CANCELLED
                        : rt5_engine_score(h->engine, j->seqs, (size_t)j->n_docs, j->scores);
    if (st != RT5_OK)
        snprintf(msg, cap, "%s", st == RT5_ERR_CANCELLED ? "the model was closed during the call"
                                                         : rt5_engine_last_error(h->engine));
    pthread_mutex_unlock(&h->engine_lock);
    return st;
}

/*
 * private static native float[] nativeScore(long handle, byte[] queries,
 *     int[] queryEnds, byte[] docs, int[] docEnds, int[] docQuery,
 *     long[] nanos)
 * Scores document i against query docQuery[i]; returns one logit per
 * document. nanos (length >= 3, may be null) receives the time spent
 * encoding, waiting for the engine, and in the engine.
 */
JNIEXPORT jfloatArray JNICALL Java_io_rankt5_RankT5_nativeScore(JNIEnv *env, jclass cls, jlong handle,
                                                                jbyteArray queries, jintArray query_ends,
                                                                jbyteArray docs, jintArray doc_ends,
                                                                jintArray doc_query, jlongArray nanos)
{
    jni_handle *h = (jni_handle *)(intptr_t)handle;
    if (!h) {
        throw_illegal_argument(env, "rankt5: closed handle");
        return NULL;
    }
    score_job j;
    memset(&j, 0, sizeof j);
    jfloatArray out = NULL;
    uint64_t t0 = now_ns(), t_encoded = 0, wait = 0;
    if (job_copy_in(env, &j, queries, query_ends, docs, doc_ends, doc_query) && job_encode(env, h, &j)) {
        t_encoded = now_ns();
        char msg[1024];
        rt5_status st = j.n_docs ? job_run(h, &j, msg, sizeof msg, &wait) : RT5_OK;
        if (st != RT5_OK)
            throw_status(env, st, msg);
        else if ((out = (*env)->NewFloatArray(env, j.n_docs)))
            (*env)->SetFloatArrayRegion(env, out, 0, j.n_docs, j.scores);
    }
    if (out && nanos && (*env)->GetArrayLength(env, nanos) >= 3) {
        uint64_t t1 = now_ns();
        jlong times[3] = {(jlong)(t_encoded - t0), (jlong)wait, (jlong)(t1 - t_encoded - wait)};
        (*env)->SetLongArrayRegion(env, nanos, 0, 3, times);
    }
    score_job_free(&j);
    return out;
}

/* ------------------------------------------------------------ info */

/* Indices of nativeInfo's long[]; RankT5.Info reads them in this order. */
enum {
    INFO_D_MODEL, INFO_D_FF, INFO_N_HEADS, INFO_D_KV, INFO_N_LAYERS, INFO_VOCAB,
    INFO_NUM_BUCKETS, INFO_MAX_DISTANCE, INFO_GATED_GELU, INFO_EPS_BITS, INFO_FILE_DTYPE,
    INFO_COMPUTE_DTYPE, INFO_N_PARAMS, INFO_BYTES_MAPPED, INFO_LOAD_NANOS, INFO_N_WARNINGS,
    INFO_CONVERTED, INFO_LINEARS_IN_PLACE, INFO_THREADS, INFO_WORKERS, INFO_BATCH_TOKENS,
    INFO_MAX_LENGTH, INFO_TOKENIZER_VOCAB, INFO_COUNT
};

/* private static native long[] nativeInfo(long handle) */
JNIEXPORT jlongArray JNICALL Java_io_rankt5_RankT5_nativeInfo(JNIEnv *env, jclass cls, jlong handle)
{
    jni_handle *h = (jni_handle *)(intptr_t)handle;
    rt5_model_info mi;
    rt5_engine_params ep;
    rt5_status st = h ? rt5_model_get_info(h->model, &mi) : RT5_ERR_INVALID_ARGUMENT;
    if (st == RT5_OK)
        st = rt5_engine_get_params(h->engine, &ep);
    if (st != RT5_OK) {
        throw_status(env, st, "cannot read the model's information");
        return NULL;
    }
    uint32_t eps_bits;
    memcpy(&eps_bits, &mi.layer_norm_epsilon, sizeof eps_bits);
    jlong v[INFO_COUNT] = {
        [INFO_D_MODEL] = mi.d_model, [INFO_D_FF] = mi.d_ff, [INFO_N_HEADS] = mi.n_heads,
        [INFO_D_KV] = mi.d_kv, [INFO_N_LAYERS] = mi.n_layers, [INFO_VOCAB] = mi.vocab_size,
        [INFO_NUM_BUCKETS] = mi.num_buckets, [INFO_MAX_DISTANCE] = mi.max_distance,
        [INFO_GATED_GELU] = mi.gated_gelu, [INFO_EPS_BITS] = eps_bits,
        [INFO_FILE_DTYPE] = mi.file_dtype, [INFO_COMPUTE_DTYPE] = mi.compute_dtype,
        [INFO_N_PARAMS] = (jlong)mi.n_params, [INFO_BYTES_MAPPED] = (jlong)mi.bytes_mapped,
        [INFO_LOAD_NANOS] = (jlong)(mi.load_seconds * 1e9), [INFO_N_WARNINGS] = mi.n_warnings,
        [INFO_CONVERTED] = mi.converted, [INFO_LINEARS_IN_PLACE] = mi.n_linears_in_place,
        [INFO_THREADS] = ep.n_threads, [INFO_WORKERS] = ep.n_workers,
        [INFO_BATCH_TOKENS] = ep.max_batch_tokens, [INFO_MAX_LENGTH] = ep.max_length,
        [INFO_TOKENIZER_VOCAB] = rt5_tokenizer_vocab_size(h->tok),
    };
    jlongArray out = (*env)->NewLongArray(env, INFO_COUNT);
    if (out)
        (*env)->SetLongArrayRegion(env, out, 0, INFO_COUNT, v);
    return out;
}

/* private static native String nativeDtypeName(int dtype) */
JNIEXPORT jstring JNICALL Java_io_rankt5_RankT5_nativeDtypeName(JNIEnv *env, jclass cls, jint dtype)
{
    return (*env)->NewStringUTF(env, rt5_dtype_name((rt5_dtype)dtype)); /* ASCII */
}

/* private static native String nativeVersion() */
JNIEXPORT jstring JNICALL Java_io_rankt5_RankT5_nativeVersion(JNIEnv *env, jclass cls)
{
    return (*env)->NewStringUTF(env, rt5_version()); /* ASCII */
}
