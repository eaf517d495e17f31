/* One Mixture-of-Depths layer, written once for the ViT and the language models:
 *
 *   x [B, N, D] -> scores [B, N] -> select k a sequence -> gather xs [B, k, D]
 *     -> block (the model's hook): xs -> y -> combine: out = x, and x + s (y - x) on the
 *        chosen rows (s = the linear router's score, 1 for the others)
 *
 * and the exact reverse. The families differ only in what they put in the descriptor: the
 * ViT keeps its prefix (CLS) tokens and uses the bidirectional A-MoD mean; a language model
 * uses the causal mean, and may let its causal predictor decide instead of top-k. */
#ifndef AMOD_MODEL_MOD_LAYER_H
#define AMOD_MODEL_MOD_LAYER_H

#include <stdint.h>

#include "amod/amod.h"
#include "core/rng.h"
#include "model/router.h"

/* The block of the layer: xs -> y on B sequences of k rows (forward), and from dy [B k, D]
 * to the gradient of xs, written into dx, which holds a copy of dy on entry (backward). */
typedef void (*mod_block_forward_fn)(void *owner, int layer, int B);
typedef void (*mod_block_backward_fn)(void *owner, int layer, int B, const float *dy, float *dx);

typedef struct {
    amod_router router;
    int B, N, D;
    int prefix;         /* leading tokens every sequence keeps (the ViT's CLS) */
    int heads;          /* of the previous layer's attention (A-MoD) */
    int causal;         /* A-MoD's causal mean */
    int by_predictor;   /* the causal predictor's logit > pred_threshold selects, instead of top-k (B = 1) */
    float pred_threshold; /* the layer's calibrated cut (0: the plain BCE decision) */
    int *k;             /* tokens a sequence runs the block: set for top-k, written by the predictor */

    const float *prev_probs, *prev_col_sum; /* A-MoD: the previous layer's map or column sums */
    const float *router_w;                  /* the linear router [D] */
    float *router_dw;                       /* its gradient; NULL when frozen */
    const router_predictor *pred;           /* by_predictor */
    float *pred_z;                          /* [N] the predictor's logits, by_predictor */
    amod_rng *rng;                          /* the random router */

    int32_t *idx;  /* [B, k] chosen tokens, in order */
    float *scores; /* [B, N] */
    float *xs, *y; /* [B, k, D] the block's input and output */

    void *owner;
    int layer;
    mod_block_forward_fn block_forward;
    mod_block_backward_fn block_backward;
    double macs; /* multiply-adds the router spent, added by the forward pass */
} mod_layer;

/* Scores, selection and gather, then the block, then the combine into out [B, N, D]. */
void mod_layer_forward(mod_layer *L, float *out, const float *x);
/* Given dout [B, N, D]: dx [B, N, D] (tokens that skipped pass straight through, the chosen
 * ones get the block's input gradient, and the linear router's score its part); dy and dxs
 * are [B k, D] scratch. The router weight's gradient accumulates into router_dw. */
void mod_layer_backward(const mod_layer *L, float *dx, const float *dout, const float *x, float *dy, float *dxs);

#endif
