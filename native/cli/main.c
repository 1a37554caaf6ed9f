/*
 * main.c -- the rankt5 command-line entry point: dispatches to one
 * subcommand per file (native/cli/cmd_<name>.c).
 *
 * Subcommands are declared weak so that the table names every command of
 * the product while a build that lacks one still links and says so plainly.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define DECLARE_COMMAND(name) __attribute__((weak)) int rt5_cli_##name(int argc, char **argv);
DECLARE_COMMAND(tokenize)
DECLARE_COMMAND(info)
DECLARE_COMMAND(score)
DECLARE_COMMAND(rerank)
DECLARE_COMMAND(convert)
DECLARE_COMMAND(compare)
DECLARE_COMMAND(bench)
DECLARE_COMMAND(serve)
DECLARE_COMMAND(eval)

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"tokenize", rt5_cli_tokenize, "turn text or (query, document) pairs into T5 token ids"},
    {"info", rt5_cli_info, "load a checkpoint, validate it and print its configuration"},
    {"score", rt5_cli_score, "score (query, document) pairs read as JSON Lines"},
    {"rerank", rt5_cli_rerank, "rescore a TREC run (or JSON Lines) and write it re-sorted"},
    {"convert", rt5_cli_convert, "save a model pre-packed in f32, bf16 or int8 for instant loading"},
    {"compare", rt5_cli_compare, "measure a reduced-precision model against f32 on your data"},
    {"bench", rt5_cli_bench, "measure pairs/s and where the time goes"},
    {"serve", rt5_cli_serve, "serve Cohere, Jina and TEI-compatible rerank endpoints over HTTP"},
    {"eval", rt5_cli_eval, "compute MRR/nDCG of a run against qrels"},
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "rankt5 %s -- run T5-encoder cross-encoder rerankers (RankT5) from C\n\n"
            "Usage: rankt5 <command> [options]\n\nCommands:\n",
            rt5_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].run)
            fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'rankt5 <command> --help' for the options of a command.\n"
                 "Typical use:\n"
                 "  rankt5 rerank --model pytorch_model.bin --tokenizer spiece.model \\\n"
                 "      --run bm25.trec --queries queries.tsv --collection collection.tsv \\\n"
                 "      --top 100 -o rankt5.trec\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rankt5 %s\n", rt5_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (!commands[i].run) {
            fprintf(stderr, "rankt5: command '%s' is not part of this build\n", argv[1]);
            return CLI_EXIT_ERROR;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "rankt5: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
