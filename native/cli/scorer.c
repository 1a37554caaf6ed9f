/*
 * scorer.c -- model/tokenizer/engine options and loading shared by
 * rankt5 score and rankt5 rerank, and the chunk of encoded pairs they hand
 * to rt5_engine_score (see scorer.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/manifest.h"
#include "scorer.h"

const char cli_scorer_help[] =
    "Model options:\n"
    "  --model PATH        checkpoint: pytorch_model.bin, .safetensors, a sharded index, a\n"
    "                      directory holding one, or a models/<name>/ folder with a\n"
    "                      manifest.json (required)\n"
    "  --tokenizer FILE    t5-3b's spiece.model or a T5 tokenizer.json (default: the one in\n"
    "                      the --model folder, as its manifest names it)\n"
    "  --config FILE       config.json (default: the one beside the checkpoint, if any;\n"
    "                      otherwise dimensions are inferred from tensor shapes)\n"
    "  --dtype T           compute dtype: f32 (default), bf16, int8, or auto (the fastest\n"
    "                      that passes the accuracy gates on this CPU; `rankt5 info`)\n"
    "  --max-length N      tokens per pair, specials included (default: the manifest's, else\n"
    "                      512); longer pairs are cut longest-first, as Hugging Face does\n"
    "  --template T        encode \"T\" with {query} and {document} filled in as one sequence\n"
    "                      instead of the pair encoding query </s> document </s>\n"
    "  --threads N         threads in all (default: every core)\n"
    "  --workers N         concurrent batches; threads are split among them (default:\n"
    "                      the engine's measured choice, see docs/engine.md)\n"
    "  --batch-tokens N    token budget of one batch (default 4096)\n"
    "  --verbose           print load steps\n";

void cli_scorer_default_opts(cli_scorer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_length = 0; /* unset: the manifest's, else 512 (cli_scorer_open) */
    o->batch_tokens = 4096;
    o->dtype = RT5_DTYPE_F32;
}

const char *cli_opt_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    *missing = false;
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_number(const char *cmd, const char *name, const char *value, long min, long max,
                        long *out)
{
    if (!cli_parse_long(value, min, max, out)) {
        cli_usage_error(cmd, "%s wants an integer in [%ld, %ld], not '%s'", name, min, max, value);
        return -CLI_EXIT_USAGE;
    }
    return 1;
}

int cli_scorer_parse_opt(cli_scorer_opts *o, const char *cmd, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        long min, max;
        size_t offset;
    } numbers[] = {
        {"--threads", 0, 1024, offsetof(cli_scorer_opts, threads)},
        {"--workers", 0, 256, offsetof(cli_scorer_opts, workers)},
        {"--max-length", 2, 1 << 16, offsetof(cli_scorer_opts, max_length)},
        {"--batch-tokens", 1, 1 << 24, offsetof(cli_scorer_opts, batch_tokens)},
    };
    static const struct {
        const char *name;
        size_t offset;
    } strings[] = {
        {"--model", offsetof(cli_scorer_opts, model_path)},
        {"--tokenizer", offsetof(cli_scorer_opts, tokenizer_path)},
        {"--config", offsetof(cli_scorer_opts, config_path)},
        {"--template", offsetof(cli_scorer_opts, text_template)},
    };
    if (strcmp(argv[*i], "--verbose") == 0) {
        o->verbose = true;
        return 1;
    }
    bool missing;
    const char *v;
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        if ((v = cli_opt_value(numbers[k].name, argc, argv, i, &missing)))
            return parse_number(cmd, numbers[k].name, v, numbers[k].min, numbers[k].max,
                                (long *)((char *)o + numbers[k].offset));
        if (missing)
            return -cli_usage_error(cmd, "%s needs a value", numbers[k].name);
    }
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++) {
        if ((v = cli_opt_value(strings[k].name, argc, argv, i, &missing))) {
            *(const char **)((char *)o + strings[k].offset) = v;
            return 1;
        }
        if (missing)
            return -cli_usage_error(cmd, "%s needs a value", strings[k].name);
    }
    if ((v = cli_opt_value("--dtype", argc, argv, i, &missing))) {
        if (!cli_parse_dtype(v, &o->dtype))
            return -cli_usage_error(cmd, "--dtype wants f32, bf16, int8 or auto, not '%s'", v);
        return 1;
    }
    if (missing)
        return -cli_usage_error(cmd, "--dtype needs a value");
    return 0;
}

/* ------------------------------------------------------------ loading */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = sig;
}

void cli_scorer_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = (int)SA_RESETHAND; /* a second signal acts as usual */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Between batches: draw progress, and cancel once interrupted. */
static int engine_progress(void *user, size_t done, size_t total)
{
    cli_scorer *s = user;
    if (s->progress)
        cli_progress_update(s->progress, s->progress_base + done);
    return interrupted != 0;
}

int cli_load_tokenizer(const char *cmd, const char *path, rt5_tokenizer **tok)
{
    rt5_status st = rt5_tokenizer_load(path, NULL, tok);
    if (st != RT5_OK)
        return cli_error(cmd, "%s: %s", path, *tok ? rt5_tokenizer_last_error(*tok) : rt5_status_str(st));
    return CLI_EXIT_OK;
}

int cli_load_model(const char *cmd, const char *path, const rt5_model_params *mp, rt5_model **model)
{
    rt5_status st = rt5_model_load(path, mp, model);
    if (st != RT5_OK)
        return cli_error(cmd, "%s: %s", path, *model ? rt5_model_last_error(*model) : rt5_status_str(st));
    return CLI_EXIT_OK;
}

int cli_create_engine(const char *cmd, rt5_model *model, const rt5_engine_params *ep, rt5_engine **engine)
{
    rt5_status st = rt5_engine_create(model, ep, engine);
    if (st != RT5_OK)
        return cli_error(cmd, "cannot start the engine: %s",
                         *engine ? rt5_engine_last_error(*engine) : rt5_status_str(st));
    return CLI_EXIT_OK;
}

static int load_model(cli_scorer *s, const char *cmd, const cli_scorer_opts *o)
{
    rt5_model_params mp = rt5_model_default_params();
    mp.compute_dtype = o->dtype;
    mp.config_path = o->config_path;
    mp.verbose = o->verbose;
    return cli_load_model(cmd, o->model_path, &mp, &s->model);
}

static int create_engine(cli_scorer *s, const char *cmd, const cli_scorer_opts *o)
{
    rt5_engine_params ep = rt5_engine_default_params();
    ep.n_threads = (int32_t)o->threads;
    ep.n_workers = (int32_t)o->workers;
    ep.max_length = (int32_t)o->max_length;
    ep.max_batch_tokens = (int32_t)o->batch_tokens;
    ep.progress = engine_progress;
    ep.progress_user_data = s;
    int rc = cli_create_engine(cmd, s->model, &ep, &s->engine);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (o->verbose && rt5_engine_get_params(s->engine, &ep) == RT5_OK)
        fprintf(stderr, "rankt5 %s: %d worker(s) x %d thread(s), batches of %d tokens\n", cmd,
                (int)ep.n_workers, (int)(ep.n_threads / ep.n_workers), (int)ep.max_batch_tokens);
    return CLI_EXIT_OK;
}

/* Fills what the user left unset from a models/<name>/ folder: its
 * tokenizer, template and max length (manifest.json), else the defaults. */
static int apply_model_folder(cli_scorer *s, cli_scorer_opts *o, const char *cmd)
{
    struct stat st;
    bool folder = stat(o->model_path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!o->tokenizer_path && folder)
        o->tokenizer_path = o->model_path; /* the tokenizer loader picks the file */
    if (!o->tokenizer_path)
        return cli_usage_error(cmd, "--tokenizer FILE is required (t5-3b's spiece.model) unless "
                               "--model is a folder holding one");
    if (folder && rt5__manifest_present(o->model_path)) {
        rt5__manifest man;
        rt5__errmsg err = {0};
        if (rt5__manifest_read(o->model_path, &man, &err) != RT5_OK)
            return cli_error(cmd, "%s", err.text);
        if (!o->text_template && man.text_template)
            o->text_template = s->owned_template = man.text_template; /* freed on close */
        else
            free(man.text_template);
        man.text_template = NULL;
        if (o->max_length == 0)
            o->max_length = man.max_length;
        rt5__manifest_free(&man);
    }
    if (o->max_length == 0)
        o->max_length = 512;
    return CLI_EXIT_OK;
}

int cli_scorer_open(cli_scorer *s, const char *cmd, cli_scorer_opts *o)
{
    memset(s, 0, sizeof *s);
    if (!o->model_path)
        return cli_usage_error(cmd, "--model PATH is required");
    int folder_rc = apply_model_folder(s, o, cmd);
    if (folder_rc != CLI_EXIT_OK)
        return folder_rc;
    s->pair = rt5_pair_default_params();
    s->pair.max_length = (int32_t)o->max_length;
    s->pair.text_template = o->text_template;
    s->max_length = (int32_t)o->max_length;
    int rc = cli_load_tokenizer(cmd, o->tokenizer_path, &s->tok);
    if (rc == CLI_EXIT_OK)
        rc = load_model(s, cmd, o);
    if (rc == CLI_EXIT_OK)
        rc = create_engine(s, cmd, o);
    if (rc != CLI_EXIT_OK)
        cli_scorer_close(s);
    return rc;
}

void cli_scorer_close(cli_scorer *s)
{
    rt5_engine_free(s->engine);
    rt5_model_free(s->model);
    rt5_tokenizer_free(s->tok);
    free(s->owned_template);
    free(s->ids);
    free(s->offset);
    free(s->len);
    free(s->seqs);
    free(s->scores);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ the chunk */

void cli_scorer_clear(cli_scorer *s)
{
    s->n = 0;
    s->n_ids = 0;
}

static bool grow_buffer(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static bool reserve_seq(cli_scorer *s)
{
    if (s->n < s->cap)
        return true;
    size_t cap = s->cap ? s->cap * 2 : 256;
    size_t *offset = realloc(s->offset, cap * sizeof *offset);
    if (offset)
        s->offset = offset;
    size_t *len = realloc(s->len, cap * sizeof *len);
    if (len)
        s->len = len;
    rt5_seq *seqs = realloc(s->seqs, cap * sizeof *seqs);
    if (seqs)
        s->seqs = seqs;
    float *scores = realloc(s->scores, cap * sizeof *scores);
    if (scores)
        s->scores = scores;
    if (!offset || !len || !seqs || !scores)
        return false;
    s->cap = cap;
    return true;
}

bool cli_scorer_add_pair(cli_scorer *s, const char *query, size_t query_len, const char *doc,
                         size_t doc_len, char *why, size_t why_cap)
{
    if (!reserve_seq(s) || !grow_buffer((void **)&s->ids, &s->cap_ids,
                                        s->n_ids + (size_t)s->max_length, sizeof *s->ids)) {
        snprintf(why, why_cap, "out of memory");
        return false;
    }
    size_t n_ids = 0, cut = 0;
    rt5_status st =
        rt5_tokenizer_encode_pair(s->tok, &s->pair, query, query_len, doc, doc_len,
                                  s->ids + s->n_ids, s->cap_ids - s->n_ids, &n_ids, &cut);
    if (st != RT5_OK) {
        /* Encoding keeps no per-call message (the tokenizer is shared and
         * read-only), so the status is the whole story. */
        snprintf(why, why_cap, "cannot encode the pair: %s", rt5_status_str(st));
        return false;
    }
    s->offset[s->n] = s->n_ids;
    s->len[s->n] = n_ids;
    s->n_ids += n_ids;
    s->n++;
    s->n_truncated += cut > 0;
    return true;
}

bool cli_scorer_add_ids(cli_scorer *s, const int32_t *ids, size_t n, char *why, size_t why_cap)
{
    rt5_model_info info;
    int32_t vocab = rt5_model_get_info(s->model, &info) == RT5_OK ? info.vocab_size
                                                                  : rt5_tokenizer_vocab_size(s->tok);
    if (n == 0 || ids[n - 1] != 1) {
        snprintf(why, why_cap, "\"ids\" must end with </s> (id 1)");
        return false;
    }
    if (n > (size_t)s->max_length) {
        snprintf(why, why_cap, "%zu ids, more than --max-length %d", n, (int)s->max_length);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab) {
            snprintf(why, why_cap, "id %ld at position %zu is outside the vocabulary [0, %d)",
                     (long)ids[i], i, (int)vocab);
            return false;
        }
    }
    if (!reserve_seq(s) || !grow_buffer((void **)&s->ids, &s->cap_ids, s->n_ids + n, sizeof *s->ids)) {
        snprintf(why, why_cap, "out of memory");
        return false;
    }
    memcpy(s->ids + s->n_ids, ids, n * sizeof *ids);
    s->offset[s->n] = s->n_ids;
    s->len[s->n] = n;
    s->n_ids += n;
    s->n++;
    return true;
}

int cli_scorer_run(cli_scorer *s, const char *cmd)
{
    for (size_t i = 0; i < s->n; i++)
        s->seqs[i] = (rt5_seq){s->ids + s->offset[i], s->len[i]};
    rt5_status st = interrupted ? RT5_ERR_CANCELLED
                                : rt5_engine_score(s->engine, s->seqs, s->n, s->scores);
    if (st == RT5_ERR_CANCELLED && interrupted)
        return CLI_EXIT_INTERRUPTED;
    if (st != RT5_OK)
        return cli_error(cmd, "scoring failed: %s", rt5_engine_last_error(s->engine));
    s->progress_base += s->n;
    return CLI_EXIT_OK;
}
