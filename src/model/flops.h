/* FLOPs per image of a ViT with or without Mixture-of-Depths, counted the way fvcore counts
 * them (one multiply-accumulate = one FLOP; LayerNorm 5 per element; softmax, GELU, adds and
 * scaling free), which reproduces the A-MoD paper's tables. docs/FLOPS.md has the details. */
#ifndef AMOD_MODEL_FLOPS_H
#define AMOD_MODEL_FLOPS_H

#include <stdint.h>

#include "amod/amod.h"

/* One transformer block. Every count is in MACs for one image. */
typedef struct amod_layer_flops {
    int tokens;          /* tokens the block processes: k in a MoD layer, N otherwise */
    int is_mod;          /* 1 when the block routes */
    int64_t attn_proj;   /* qkv and output projections */
    int64_t attn_scores; /* QK^T and attention x V */
    int64_t mlp;         /* fc1 and fc2 */
    int64_t norm;        /* the block's two LayerNorms */
    int64_t router;      /* the linear router's score x.w over all N tokens; 0 otherwise */
    int64_t total;       /* sum of the above */
} amod_layer_flops;

typedef struct amod_flops {
    int n_tokens;        /* N, prefix tokens included */
    int depth;
    int64_t patch_embed; /* the patch projection (a strided convolution) */
    amod_layer_flops layers[AMOD_MAX_LAYERS];
    int64_t final_norm;  /* the LayerNorm before the head (fc_norm on one vector for avg pool) */
    int64_t head;        /* the classifier */
    int64_t total;       /* patch_embed + every layer + final_norm + head */
} amod_flops;

/* Counts the FLOPs of cfg with routing mod (NULL or router none: dense). Refuses shapes that
 * cannot be built and MoD settings that amod_mod_validate refuses. */
int amod_flops_count(const amod_vit_config *cfg, const amod_mod_config *mod, amod_flops *out,
                     amod_error *err);

#endif
