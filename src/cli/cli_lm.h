/* Options shared by the language-model subcommands: MoD and MindSkip routing, and reading
 * token ids from a safetensors file. */
#ifndef AMOD_CLI_LM_H
#define AMOD_CLI_LM_H

#include "amod/lm.h"
#include "cli/cli_util.h"

typedef struct {
    cli_mod_opts mod;
    long predictor;           /* causal predictor width; -1: not given */
    int skip_set;
    amod_lm_skip skip;
    const char *skip_layers;
    float skip_target, skip_lambda;
    int target_set, lambda_set, style_set;
    amod_lm_skip_style skip_style;
    const char *router_weights;
} cli_lm_opts;

#define CLI_LM_HELP                                                                              \
    "  --router R           MoD router: linear (Raposo et al.) | attention (A-MoD) | random | none\n" \
    "  --capacity C         fraction of tokens a MoD layer processes, in (0, 1] (default 0.125)\n" \
    "  --mod-start S        MoD layers S, S+2, ... (default 1: every other layer)\n"           \
    "  --mod-layers 1,3     explicit MoD layers\n"                                              \
    "  --predictor P        width of the causal predictor of the linear router (default 32)\n" \
    "  --mindskip MODE      Router-Tuning's MindSkip gates: sequence | token\n"                 \
    "  --skip-layers 2,3    MindSkip layers (default: the upper half, never the last)\n"       \
    "  --skip-target C      fraction of attention sublayers to keep (default 0.5)\n"           \
    "  --skip-lambda L      weight of the capacity term (default 1)\n"                          \
    "  --skip-style S       amod (default) | router-tuning: the Router-Tuning code's recipe\n"  \
    "                       (zero routers, gates open at sigmoid >= 0.5, a per-layer hinge\n"  \
    "                       max(0, mean gate - target); train-lm: lr 1e-5, no weight decay,\n" \
    "                       3%% warmup unless given)\n"                                        \
    "  --router-weights F   safetensors file with router tensors to load\n"

void cli_lm_init(cli_lm_opts *o);
/* 1 when argv[*i] was a routing option (consumed), 0 when not, -1 on error (reported). */
int cli_lm_option(const char *cmd, int argc, char **argv, int *i, cli_lm_opts *o);
/* Applies the options on top of the model's own routing. -1 with err set on failure. */
int cli_lm_apply(const cli_lm_opts *o, amod_lm *m, amod_error *err);
/* Reads `name` (I64 or I32, [B, T]) from a safetensors file; *ids is malloc'ed. */
int cli_lm_read_ids(const char *path, const char *name, int64_t **ids, int *B, int *T, amod_error *err);

/* A text corpus as token ids, split in two: the file's bytes before the last val_frac train,
 * the rest is held out; with a tokenizer each part is encoded on its own (special tokens'
 * text included), without one every byte is a token. */
typedef struct {
    unsigned char *bytes; /* the file */
    size_t n_bytes, train_bytes;
    int32_t *ids;         /* [n]: the training part's [0, n_train), then the held-out part's */
    size_t n, n_train;
    const struct amod_tokenizer *tok; /* NULL: byte-level */
} cli_lm_corpus;
int cli_lm_load_corpus(const char *path, float val_frac, struct amod_tokenizer *tok, cli_lm_corpus *c, amod_error *err);
void cli_lm_corpus_free(cli_lm_corpus *c);
/* Bytes that ids[0..n) stand for (1 each without a tokenizer). */
size_t cli_lm_corpus_bytes(const cli_lm_corpus *c, const int32_t *ids, size_t n);
/* The model directory's tokenizer (tokenizer.json, vocab.json, ...), or NULL without error when
 * it has none; checks that its ids fit the model's vocabulary. */
struct amod_tokenizer *cli_lm_tokenizer(const char *dir, const amod_lm *m, amod_error *err);

#endif
