/* The ViT model's internals, shared by its parameter code (vit_params.c), its passes
 * (vit.c) and its token subsets (vit_tokens.c). Not part of the public API. */
#ifndef AMOD_MODEL_VIT_INTERNAL_H
#define AMOD_MODEL_VIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"
#include "core/rng.h"
#include "model/param_table.h"
#include "model/run_state.h"

typedef struct {
    float *norm1_w, *norm1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *norm2_w, *norm2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    float *router_w; /* [1, D], linear router only */
} vit_block;

/* What one layer keeps from the forward pass for the backward pass. */
typedef struct {
    int k;          /* tokens processed: N for a dense layer */
    int32_t *idx;   /* [B, k] selected tokens; NULL for a dense layer */
    float *scores;  /* [B, N] router scores; NULL for a dense layer */
    float *xs;      /* block input [B, k, D]: gathered rows, or the layer input when dense */
    float *ln1, *mu1, *rs1, *qkv, *probs, *ao, *x2, *ln2, *mu2, *rs2, *h1, *g;
    float *y;       /* block output [B, k, D]; for a dense layer this is the layer output */
    float *col_sum; /* [B, N] attention received, when the next layer is A-MoD and probs are not kept */
    /* mixed-precision training: the bfloat16 inputs of the four products, as the forward
     * rounded them, for the weight gradients (g16 replaces g there); have16 when written */
    uint16_t *ln1_16, *ao16, *ln2_16, *g16;
    int have16;
} vit_layer_acts;

/* The model: configuration, routing, parameters and their packed copies. Read-only while
 * contexts run (but for the gradient buffer, which the one context running backward fills). */
struct amod_vit {
    amod_vit_config cfg;
    amod_mod_config mod;
    int n_tokens; /* N */

    param_table pt; /* timm names */
    char **labels;  /* [n_labels] class names (config.json's label_names), or NULL */
    int n_labels;
    float *patch_w, *patch_b, *cls, *pos, *norm_w, *norm_b, *head_w, *head_b;
    vit_block blk[AMOD_MAX_LAYERS];

    struct linear_engine *lin; /* packed weights and matmul primitives (NULL: plain sgemm path) */
    amod_precision precision;  /* of the linear layers at inference */
    unsigned layout;           /* bumped when the routing changes: contexts carve their buffers again */
    struct amod_vit_ctx *dflt; /* the context behind the model-level calls (amod_vit_forward, ...) */
};

/* A run context: everything a forward and backward pass writes, sized for its own batch and
 * thread count. Several contexts may run on one model at once. */
struct amod_vit_ctx {
    run_state rs; /* limits, threads, the arena and the random router's stream */
    amod_vit *m;

    int act_batch; /* the arena holds activations for this many images */
    float *cols, *patch_out, *resid[AMOD_MAX_LAYERS + 1];
    vit_layer_acts la[AMOD_MAX_LAYERS];
    float *pooled, *normed, *nmu, *nrs, *logits, *dlogits;
    int64_t *labels;
    /* backward scratch */
    resid_grads rg;
    float *attn_tile, *d_g, *d_ao, *d_qkv, *d_attn, *d_pooled, *d_patch;
    float *bf16_work; /* the bfloat16 operands of a linear backward (mixed-precision training) */
    uint16_t *d_g16;  /* GELU's backward in bfloat16: fc1's output gradient */

    int batch, have_labels;
    int subset; /* the last forward ran on a token subset (vit_tokens.c): no backward, no maps */
    const int32_t *forced_skip; /* vit_forward_skipping: token b of sequence b skips every MoD layer */
};

/* vit_params.c */
int vit_build_layout(amod_vit *m, amod_error *err);

/* vit.c */
int vit_ensure_acts(amod_vit_ctx *c, int batch, amod_error *err);
/* One block on la[l].xs -> la[l].y, la[l].k tokens a sequence. */
void vit_block_forward(amod_vit_ctx *c, int l, int B);
void vit_free_acts(amod_vit_ctx *c);
/* A forward pass (no labels, no gradients) in which token skip[b] of image b skips every MoD
 * layer (neither queries nor is attended to there, and passes on the residual stream
 * unchanged) and the other tokens run it with no router scaling: layer-wise importance
 * (analysis/importance.c) sets a single MoD layer whose capacity keeps N - 1 tokens. */
int vit_forward_skipping(amod_vit *m, const float *images, int batch, const int32_t *skip, float *logits,
                         amod_error *err);

#endif
