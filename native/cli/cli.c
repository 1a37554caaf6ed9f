/*
 * cli.c -- shared helpers of the rankt5 subcommands (see cli.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void vreport(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "rankt5 %s: %s", cmd, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, "error: ", fmt, ap);
    va_end(ap);
    return CLI_EXIT_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, "", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'rankt5 %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, "warning: ", fmt, ap);
    va_end(ap);
}

bool cli_parse_long(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_dtype(const char *text, rt5_dtype *out)
{
    static const struct { const char *name; rt5_dtype dtype; } names[] = {
        {"f32", RT5_DTYPE_F32}, {"fp32", RT5_DTYPE_F32}, {"float32", RT5_DTYPE_F32},
        {"bf16", RT5_DTYPE_BF16}, {"bfloat16", RT5_DTYPE_BF16},
        {"f16", RT5_DTYPE_F16}, {"fp16", RT5_DTYPE_F16}, {"float16", RT5_DTYPE_F16},
        {"int8", RT5_DTYPE_INT8}, {"i8", RT5_DTYPE_INT8}, {"auto", RT5_DTYPE_AUTO},
    };
    for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].dtype;
            return true;
        }
    }
    return false;
}

int cli_model_opt(const char *cmd, int argc, char **argv, int *i, const char **model_path, rt5_model_params *mp,
                  bool *dtype_given)
{
    const char *a = argv[*i];
    bool has_value = *i + 1 < argc;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        mp->verbose = 1;
        return 1;
    }
    if (strcmp(a, "--model") != 0 && strcmp(a, "--config") != 0 && strcmp(a, "--dtype") != 0)
        return 0;
    if (!has_value)
        return -cli_usage_error(cmd, "option '%s' needs a value", a);
    const char *v = argv[++*i];
    if (strcmp(a, "--model") == 0)
        *model_path = v;
    else if (strcmp(a, "--config") == 0)
        mp->config_path = v;
    else if (!cli_parse_dtype(v, &mp->compute_dtype))
        return -cli_usage_error(cmd, "--dtype wants f32, bf16, int8 or auto, not '%s'", v);
    else if (dtype_given)
        *dtype_given = true;
    return 1;
}

bool cli_atomic_open(cli_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (strcmp(path, "-") == 0) {
        f->fp = stdout;
        return true;
    }
    size_t n = strlen(path) + 32;
    f->final_path = strdup(path);
    f->tmp_path = malloc(n);
    if (!f->final_path || !f->tmp_path) {
        cli_atomic_abort(f);
        errno = ENOMEM;
        return false;
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int saved = errno;
        cli_atomic_abort(f);
        errno = saved;
        return false;
    }
    return true;
}

bool cli_atomic_commit(cli_atomic_file *f)
{
    if (!f->tmp_path) /* stdout */
        return fflush(f->fp) == 0;
    bool ok = fflush(f->fp) == 0 && fsync(fileno(f->fp)) == 0;
    ok = (fclose(f->fp) == 0) && ok;
    f->fp = NULL;
    if (ok)
        ok = rename(f->tmp_path, f->final_path) == 0;
    int saved = errno;
    if (!ok)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
    errno = saved;
    return ok;
}

void cli_atomic_abort(cli_atomic_file *f)
{
    if (f->fp && f->tmp_path)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void format_duration(double seconds, char *buf, size_t cap)
{
    if (seconds < 0 || seconds > 1e7) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", s / 60, s % 60);
}

void cli_progress_start(cli_progress *p, const char *what, size_t total)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    p->total = total;
    p->start = cli_now();
    p->tty = isatty(STDERR_FILENO);
}

static void progress_draw(cli_progress *p, double now)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32];
    format_duration(rate > 0 ? (double)(p->total - p->done) / rate : -1, eta, sizeof eta);
    int width = 30;
    int filled = p->total ? (int)((double)width * (double)p->done / (double)p->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu %s  %.1f %s/s  ETA %s ", bar, p->done, p->total, p->what,
            rate, p->what, eta);
    fflush(stderr);
    p->last_draw = now;
}

void cli_progress_update(cli_progress *p, size_t done)
{
    p->done = done;
    if (!p->tty)
        return;
    double now = cli_now();
    if (now - p->last_draw >= 0.1 || done == p->total)
        progress_draw(p, now);
}

void cli_progress_finish(cli_progress *p)
{
    double elapsed = cli_now() - p->start;
    if (p->tty)
        fputc('\n', stderr);
    char took[32];
    format_duration(elapsed, took, sizeof took);
    fprintf(stderr, "rankt5: %zu %s in %s (%.2f s, %.1f %s/s)\n", p->done, p->what, took, elapsed,
            elapsed > 0 ? (double)p->done / elapsed : 0.0, p->what);
}
