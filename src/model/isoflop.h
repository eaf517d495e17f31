/* isoFLOP baselines: the dense ViT whose FLOPs per image come closest to a MoD model's, found
 * by cutting depth or width, so a MoD model can be compared at equal compute. */
#ifndef AMOD_MODEL_ISOFLOP_H
#define AMOD_MODEL_ISOFLOP_H

#include <stdint.h>

#include "amod/amod.h"

typedef enum amod_isoflop_kind {
    AMOD_ISOFLOP_DEPTH = 0, /* fewer blocks, same width */
    AMOD_ISOFLOP_WIDTH = 1, /* narrower embed_dim (a multiple of num_heads), same depth and mlp ratio */
    AMOD_ISOFLOP_WIDTH_MLP = 2, /* narrower embed_dim and any MLP width up to the model's: when a
                                   head count leaves the widths too coarse to match within 2 % */
} amod_isoflop_kind;

typedef struct amod_isoflop {
    amod_vit_config cfg; /* the dense baseline */
    int64_t target;      /* MACs per image of the MoD model */
    int64_t macs;        /* MACs per image of the baseline */
} amod_isoflop;

/* Searches every depth 1..L (or every width H, 2H, ..., D) and keeps the one closest to the
 * MoD model's FLOPs, preferring the cheaper on a tie. WIDTH_MLP gives each width the MLP width
 * (1..mlp_hidden) that comes closest, and of the widths within 1 % of the target keeps the one
 * whose MLP ratio is nearest the model's. Never grows the model. */
int amod_isoflop_baseline(const amod_vit_config *cfg, const amod_mod_config *mod,
                          amod_isoflop_kind kind, amod_isoflop *out, amod_error *err);
const char *amod_isoflop_kind_name(amod_isoflop_kind kind);
int amod_isoflop_kind_parse(const char *s, amod_isoflop_kind *out);

#endif
