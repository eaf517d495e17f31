/* What the two `amod forward` commands share (cmd_forward.c for ViTs, cmd_forward_lm.c for
 * GPT-2 and Llama): their common options, and the tensors they write under the names a
 * PyTorch script uses (logits, loss, attn_probs.{l}, grad.{name}). */
#ifndef AMOD_CLI_FORWARD_H
#define AMOD_CLI_FORWARD_H

#include <stdint.h>

#include "core/error.h"
#include "io/safetensors.h"

typedef struct {
    const char *model, *input, *out;
    int grads, attn;
} cli_forward_opts;

/* 1 when argv[*i] was --input, --out, --grads or --attn (consumed), 0 when not, -1 on error
 * (reported). */
int cli_forward_option(const char *cmd, int argc, char **argv, int *i, cli_forward_opts *o);
/* The positional model directory and --input, --out are there; else a usage error naming the
 * directory DIR_NAME (MODEL_DIR, LM_DIR) and -1. */
int cli_forward_check(const char *cmd, const cli_forward_opts *o, const char *dir_name);

/* Adds `logits` [shape] and, when loss is not NULL, `loss` [1]. */
int cli_forward_add_logits(st_writer *w, int ndim, const int64_t *shape, const float *logits, const float *loss,
                           amod_error *err);
/* Adds `PREFIX.L` [shape], e.g. attn_probs.3. */
int cli_forward_add_layer(st_writer *w, const char *prefix, int l, int ndim, const int64_t *shape, const float *x,
                          amod_error *err);
/* Adds `grad.NAME` [shape]. */
int cli_forward_add_grad(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *g,
                         amod_error *err);

#endif
