/*
 * test_forward_alloc.c -- scoring allocates nothing after warm-up.
 *
 * This binary replaces malloc/calloc/realloc/free/posix_memalign/
 * aligned_alloc with counting wrappers over glibc's __libc_* functions, so
 * every allocation in the process is seen -- ours, oneDNN's and the OpenMP
 * runtime's -- and each is attributed by walking its call stack. After a
 * session is created and has scored one batch, scoring more batches of other
 * shapes must make no allocation outside oneDNN. oneDNN 2.6's
 * dnnl_primitive_execute itself builds a small argument map on the heap for
 * every call (a handful of blocks of tens of bytes); that cannot be avoided
 * through its C API, so those are counted, bounded (small blocks only, so no
 * activation-sized buffer) and reported; without AVX-512, oneDNN's gemm:jit adds
 * a small sgemm workspace per call. (Skipped under AddressSanitizer,
 * which owns malloc.)
 */
#define _GNU_SOURCE /* dladdr */
#include "harness.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "rankt5.h"

#if defined(__SANITIZE_ADDRESS__)
#define RT5T_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT5T_NO_INTERPOSE 1
#endif
#endif

#ifndef RT5T_NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_long n_ours, n_onednn, max_onednn_bytes;
static atomic_int tracing;
static _Thread_local int in_hook;

/* Counts one allocation of n bytes, by whether oneDNN is on the stack. */
static void count(size_t n)
{
    if (!atomic_load(&tracing) || in_hook)
        return;
    in_hook = 1;
    void *frames[32];
    int depth = backtrace(frames, 32), onednn = 0;
    for (int i = 1; i < depth && !onednn; i++) {
        Dl_info info;
        onednn = dladdr(frames[i], &info) && info.dli_fname && strstr(info.dli_fname, "libdnnl");
    }
    if (onednn) {
        atomic_fetch_add(&n_onednn, 1);
        long cur = atomic_load(&max_onednn_bytes);
        while ((long)n > cur && !atomic_compare_exchange_weak(&max_onednn_bytes, &cur, (long)n)) {
        }
    } else {
        atomic_fetch_add(&n_ours, 1);
    }
    in_hook = 0;
}

void *malloc(size_t n)
{
    count(n);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    count(a * b);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    count(n);
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
int posix_memalign(void **out, size_t align, size_t n)
{
    count(n);
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n)
{
    count(n);
    return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n)
{
    count(n);
    return __libc_memalign(align, n);
}
#endif

TEST(test_forward_alloc_none_after_warmup)
{
#ifdef RT5T_NO_INTERPOSE
    SKIP("AddressSanitizer build: malloc cannot be interposed");
#else
    char config[4096], path[4096];
    snprintf(config, sizeof config, "%s", rt5t_path("tests/fixtures/golden/tiny_relu.config.json"));
    snprintf(path, sizeof path, "%s", rt5t_path("tests/fixtures/golden/tiny_relu.safetensors"));
    rt5_model_params mp = rt5_model_default_params();
    mp.config_path = config;
    rt5_model *model = NULL;
    REQUIRE(rt5_model_load(path, &mp, &model) == RT5_OK);
    rt5_session_params sp = rt5_session_default_params();
    sp.n_threads = 2;
    rt5_session *s = NULL;
    REQUIRE(rt5_session_create(model, &sp, &s) == RT5_OK);

    static int32_t ids[4096];
    for (int i = 0; i < 4096; i++)
        ids[i] = 3 + (i * 7) % 250;
    float scores[64];
    rt5_seq warm[2] = {{ids, 40}, {ids + 40, 300}};
    REQUIRE(rt5_session_score(s, warm, 2, scores) == RT5_OK);

    void *warm_bt[4]; /* backtrace loads the unwinder on first use */
    backtrace(warm_bt, 4);
    atomic_store(&tracing, 1);
    /* other lengths, counts and row chunkings than the warm-up */
    rt5_seq batch[64];
    size_t at = 0;
    for (int i = 0; i < 64; i++) {
        batch[i] = (rt5_seq){ids + at, (size_t)(1 + (i * 37) % 60)};
        at += batch[i].n_ids;
    }
    CHECK_EQ_INT(rt5_session_score(s, batch, 64, scores), RT5_OK);
    rt5_seq longest = {ids, 512};
    CHECK_EQ_INT(rt5_session_score(s, &longest, 1, scores), RT5_OK);
    rt5_seq one = {ids, 1};
    CHECK_EQ_INT(rt5_session_score(s, &one, 1, scores), RT5_OK);
    rt5_seq too_long = {ids, 513}; /* an error path allocates nothing either */
    CHECK_EQ_INT(rt5_session_score(s, &too_long, 1, scores), RT5_ERR_TOO_LONG);
    atomic_store(&tracing, 0);
    fprintf(stderr, "  allocations while scoring after warm-up: %ld outside oneDNN; %ld inside "
            "dnnl_primitive_execute (largest %ld bytes)\n", atomic_load(&n_ours), atomic_load(&n_onednn),
            atomic_load(&max_onednn_bytes));
    CHECK_EQ_INT(atomic_load(&n_ours), 0);
    /* Without AVX-512 oneDNN's f32 matmul is gemm:jit, whose sgemm mallocs a
     * per-call workspace of its own (16 KiB + 256 bytes per thread here;
     * packing buffers of its own block size on larger products): still no
     * activation-sized block, but above the argument maps' 4 KiB. */
    rt5_cpu_info cpu;
    CHECK_EQ_INT(rt5_cpu_get_info(&cpu), RT5_OK);
    bool gemm_jit = strcmp(cpu.isa, "avx2") == 0 || strcmp(cpu.isa, "baseline") == 0;
    CHECK(atomic_load(&max_onednn_bytes) <= (gemm_jit ? 17 * 1024 : 4096));
    rt5_session_free(s);
    rt5_model_free(model);
#endif
}
