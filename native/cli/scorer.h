/*
 * scorer.h -- what rankt5 score and rankt5 rerank share: the model,
 * tokenizer and engine options, loading them, and a reusable buffer of
 * encoded pairs that is scored in one rt5_engine_score call.
 *
 * A cli_scorer batches at the caller's level (a chunk of input lines, or a
 * group of queries); the engine then sorts that chunk into token-budget
 * batches. Buffers grow to the largest chunk and are reused.
 */
#ifndef RT5_CLI_SCORER_H
#define RT5_CLI_SCORER_H

#include "cli.h"

typedef struct cli_scorer_opts {
    const char *model_path;
    const char *tokenizer_path;
    const char *config_path;   /* --config, NULL = beside the checkpoint   */
    const char *text_template; /* --template, NULL = HF pair encoding      */
    long threads;              /* --threads, 0 = all cores                 */
    long workers;              /* --workers, 0 = engine default            */
    long max_length;           /* --max-length; 0 = the manifest's, else 512 */
    long batch_tokens;         /* --batch-tokens, default 4096             */
    rt5_dtype dtype;           /* --dtype, default f32                     */
    bool verbose;              /* --verbose                                */
} cli_scorer_opts;

void cli_scorer_default_opts(cli_scorer_opts *o);

/* Tries to consume the option at argv[*i] (and its value). Returns 1 if it
 * was a scorer option (*i advanced past its value), 0 if not, or
 * CLI_EXIT_USAGE's negation (-2) after printing a usage error. */
int cli_scorer_parse_opt(cli_scorer_opts *o, const char *cmd, int argc, char **argv, int *i);

/* The option lines of --help, for the commands that load a model. */
extern const char cli_scorer_help[];

/* The value of "--name value" or "--name=value" at argv[*i]: NULL if argv[*i]
 * is not that option, *missing set if the value is absent. */
const char *cli_opt_value(const char *name, int argc, char **argv, int *i, bool *missing);

typedef struct cli_scorer {
    rt5_tokenizer *tok;
    rt5_model *model;
    rt5_engine *engine;
    rt5_pair_params pair;
    int32_t max_length;
    char *owned_template;      /* a model folder manifest's template     */
    /* the chunk being built: seq i is ids[offset[i] .. offset[i]+len[i]) */
    int32_t *ids;
    size_t n_ids, cap_ids;
    size_t *offset, *len;
    rt5_seq *seqs;
    float *scores;
    size_t n, cap;
    size_t n_truncated;        /* pairs cut to max_length so far          */
    /* progress of the whole job: done = progress_base + engine's done    */
    cli_progress *progress;
    size_t progress_base;
} cli_scorer;

/* Each loads one object; on failure prints "rankt5 CMD: PATH: why" (the
 * engine: "cannot start the engine: why") and returns CLI_EXIT_ERROR. The
 * object may then be half made: free it with its _free() either way. */
int cli_load_tokenizer(const char *cmd, const char *path, rt5_tokenizer **tok);
int cli_load_model(const char *cmd, const char *path, const rt5_model_params *mp, rt5_model **model);
int cli_create_engine(const char *cmd, rt5_model *model, const rt5_engine_params *ep, rt5_engine **engine);

/* Loads tokenizer, model and engine; prints the error and returns
 * CLI_EXIT_ERROR on failure (the scorer is then closed). */
/* Also fills o's unset tokenizer, template and max length from a model
 * folder (see apply_model_folder). */
int cli_scorer_open(cli_scorer *s, const char *cmd, cli_scorer_opts *o);
void cli_scorer_close(cli_scorer *s);

/* Empties the chunk (keeps the buffers). */
void cli_scorer_clear(cli_scorer *s);
/* Appends an encoded pair; on failure *why says what went wrong. */
bool cli_scorer_add_pair(cli_scorer *s, const char *query, size_t query_len, const char *doc,
                         size_t doc_len, char *why, size_t why_cap);
/* Appends already encoded ids (checked: ids in the vocabulary, ends with
 * </s> = 1, at most max_length). */
bool cli_scorer_add_ids(cli_scorer *s, const int32_t *ids, size_t n, char *why, size_t why_cap);
/* Scores the chunk into s->scores[0..n). Prints the error on failure;
 * returns CLI_EXIT_INTERRUPTED (message left to the caller) when a SIGINT
 * or SIGTERM caught by cli_scorer_catch_interrupts cancelled it. */
int cli_scorer_run(cli_scorer *s, const char *cmd);

#define CLI_EXIT_INTERRUPTED 130

/* The first SIGINT/SIGTERM cancels the engine between batches (the second
 * one kills the process as usual). */
void cli_scorer_catch_interrupts(void);

#endif /* RT5_CLI_SCORER_H */
