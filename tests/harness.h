/*
 * harness.h -- the tiny test runner every tests/test_<module>.c uses.
 *
 * Each test is a function registered with TEST(name); the binary runs all of
 * them, or only those named on the command line (so a single test can be run
 * alone under a debugger). Failed checks print file:line and the values, and
 * the run ends with a plain "N passed, N failed" line.
 *
 * Paths: RT5_SOURCE_DIR (the repo) and RT5_SHARED_DIR (../shared) come from
 * the environment that CTest sets; rt5t_path() joins them.
 */
#ifndef RT5_TEST_HARNESS_H
#define RT5_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rt5t_fn)(void);
typedef struct rt5t_case {
    const char *name;
    rt5t_fn fn;
} rt5t_case;

#define RT5T_MAX_CASES 512
static rt5t_case rt5t_cases[RT5T_MAX_CASES];
static int rt5t_n_cases;
static int rt5t_current_failed;
static int rt5t_current_skipped;

#define TEST(name)                                                                     \
    static void name(void);                                                            \
    __attribute__((constructor)) static void rt5t_register_##name(void)                \
    {                                                                                  \
        if (rt5t_n_cases < RT5T_MAX_CASES)                                             \
            rt5t_cases[rt5t_n_cases++] = (rt5t_case){#name, name};                     \
    }                                                                                  \
    static void name(void)

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            rt5t_current_failed = 1;                                                   \
        }                                                                              \
    } while (0)

/* Like CHECK, but stops the current test (for preconditions). */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            rt5t_current_failed = 1;                                                     \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
    do {                                                                                  \
        long long rt5t_a = (long long)(a), rt5t_b = (long long)(b);                       \
        if (rt5t_a != rt5t_b) {                                                           \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, \
                    #a, #b, rt5t_a, rt5t_b);                                              \
            rt5t_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                 \
    do {                                                                                   \
        const char *rt5t_a = (a), *rt5t_b = (b);                                           \
        if (!rt5t_a || !rt5t_b || strcmp(rt5t_a, rt5t_b) != 0) {                           \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" vs \"%s\"\n", __FILE__,      \
                    __LINE__, #a, #b, rt5t_a ? rt5t_a : "(null)", rt5t_b ? rt5t_b : "(null)"); \
            rt5t_current_failed = 1;                                                       \
        }                                                                                  \
    } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol)                                                             \
    do {                                                                                  \
        double rt5t_a = (double)(a), rt5t_b = (double)(b);                                \
        double rt5t_scale = fabs(rt5t_b) > 1.0 ? fabs(rt5t_b) : 1.0;                      \
        if (!(fabs(rt5t_a - rt5t_b) <= (tol) * rt5t_scale)) {                             \
            fprintf(stderr, "  %s:%d: %s ~= %s failed: %.9g vs %.9g (tol %g)\n", __FILE__, \
                    __LINE__, #a, #b, rt5t_a, rt5t_b, (double)(tol));                     \
            rt5t_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

/* Marks the current test skipped (e.g. an optional tool is missing). */
#define SKIP(why)                                                                  \
    do {                                                                           \
        fprintf(stderr, "  skipped: %s\n", why);                                   \
        rt5t_current_skipped = 1;                                                  \
        return;                                                                    \
    } while (0)

/* Skips the current test when compute dtype dt does not run on this CPU (or
 * under RT5_MAX_ISA), with the library's reason (rt5_cpu_dtype_supported,
 * from rankt5.h, which the test includes). */
#define SKIP_UNLESS_DTYPE(dt)                                                      \
    do {                                                                           \
        const char *rt5t_why = NULL;                                               \
        if (rt5_cpu_dtype_supported((dt), &rt5t_why) != RT5_OK)                    \
            SKIP(rt5t_why);                                                        \
    } while (0)

/* "$RT5_SOURCE_DIR/rel" (or "$RT5_SHARED_DIR/rel" when shared != 0) in a
 * static buffer that the next call overwrites. */
static inline const char *rt5t_path_in(int shared, const char *rel)
{
    static char buf[4096];
    const char *root = getenv(shared ? "RT5_SHARED_DIR" : "RT5_SOURCE_DIR");
    if (!root)
        root = shared ? "../shared" : ".";
    snprintf(buf, sizeof buf, "%s/%s", root, rel);
    return buf;
}
#define rt5t_path(rel) rt5t_path_in(0, rel)
#define rt5t_shared_path(rel) rt5t_path_in(1, rel)

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < rt5t_n_cases; i++) {
        int selected = argc <= 1;
        for (int a = 1; a < argc; a++)
            selected |= strcmp(argv[a], rt5t_cases[i].name) == 0;
        if (!selected)
            continue;
        rt5t_current_failed = 0;
        rt5t_current_skipped = 0;
        fprintf(stderr, "[ RUN  ] %s\n", rt5t_cases[i].name);
        rt5t_cases[i].fn();
        const char *verdict = rt5t_current_failed ? "FAIL" : rt5t_current_skipped ? "SKIP" : " OK ";
        fprintf(stderr, "[ %s ] %s\n", verdict, rt5t_cases[i].name);
        if (rt5t_current_failed)
            failed++;
        else if (rt5t_current_skipped)
            skipped++;
        else
            passed++;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    /* 77: every case skipped; CTest reports the binary as skipped
     * (SKIP_RETURN_CODE in CMakeLists.txt) */
    return failed ? 1 : passed == 0 && skipped > 0 ? 77 : 0;
}

#endif /* RT5_TEST_HARNESS_H */
