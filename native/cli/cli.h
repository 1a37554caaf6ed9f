/*
 * cli.h -- what the rankt5 subcommands share: error printing, number
 * parsing, atomic output files and a progress line.
 *
 * Each subcommand lives in native/cli/cmd_<name>.c and exports
 * int rt5_cli_<name>(int argc, char **argv), where argv[0] is the
 * subcommand's name. It returns the process exit status: 0 success, 1 a
 * runtime or input error, 2 a usage error.
 */
#ifndef RT5_CLI_H
#define RT5_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rankt5.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

/* Prints "rankt5 <cmd>: error: ..." to stderr and returns CLI_EXIT_ERROR. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "rankt5 <cmd>: ...\nTry 'rankt5 <cmd> --help'." and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "rankt5 <cmd>: warning: ..." to stderr. */
void cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a whole decimal integer in [min, max]; false on anything else. */
bool cli_parse_long(const char *text, long min, long max, long *out);

/* rt5_dtype from "f32"/"fp32"/"bf16"/"int8"/"f16"; false if unknown. */
bool cli_parse_dtype(const char *text, rt5_dtype *out);

/* The model options of info and convert: --model PATH, --config FILE,
 * --dtype T (sets *dtype_given when not NULL) and -v/--verbose. Returns 1
 * when argv[*i] was one of them (*i advanced past its value), 0 when not,
 * or -CLI_EXIT_USAGE after printing a usage error. */
int cli_model_opt(const char *cmd, int argc, char **argv, int *i, const char **model_path, rt5_model_params *mp,
                  bool *dtype_given);

/*
 * Output written to "<path>.tmp.<pid>" and renamed over path only on
 * commit, so a failed or killed run never leaves a half-written file.
 * path "-" means stdout (no rename).
 */
typedef struct cli_atomic_file {
    FILE *fp;
    char *final_path;
    char *tmp_path;
} cli_atomic_file;

bool cli_atomic_open(cli_atomic_file *f, const char *path);
/* Flushes, fsyncs and renames; false (with errno set) on any failure. */
bool cli_atomic_commit(cli_atomic_file *f);
/* Removes the temporary file. Safe after commit (no-op). */
void cli_atomic_abort(cli_atomic_file *f);

/*
 * A progress reporter: on a terminal, a line redrawn at most 10 times a
 * second with done/total, items/s and ETA; otherwise silent until
 * cli_progress_finish, which prints a one-line summary.
 */
typedef struct cli_progress {
    const char *what; /* e.g. "pairs" */
    size_t total;
    size_t done;
    double start;
    double last_draw;
    bool tty;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *what, size_t total);
void cli_progress_update(cli_progress *p, size_t done);
void cli_progress_finish(cli_progress *p);

double cli_now(void);

#endif /* RT5_CLI_H */
