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
    {"version", NULL, "print the version"},
    {"generate", amod_cmd_generate, "continue a prompt with a GPT-2 / Llama model (KV cache, byte-level)"},
    {"train-lm", amod_cmd_train_lm, "train a byte-level GPT-2 / Llama: dense, MoD, or Router-Tuning (MindSkip)"},
    {"eval-lm", amod_cmd_eval_lm, "perplexity, attention skipped, FLOPs and tokens/s of a byte-level LM"},
    {"flops", amod_cmd_flops, "FLOPs per image of a (MoD) ViT, per layer; isoFLOP baselines"},
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
