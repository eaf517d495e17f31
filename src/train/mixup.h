/* timm's Mixup in "batch" mode, with label smoothing: each batch is either mixed with its
 * reverse (x lam + x.flip(0) (1 - lam), lam ~ Beta(mixup, mixup)) or gets a box of its reverse
 * pasted in (cutmix: lam ~ Beta(cutmix, cutmix), the box of area (1 - lam) H W, lam then
 * corrected to the box actually pasted), chosen with probability 1/2 when both are on; the
 * targets are lam smooth(y) + (1 - lam) smooth(y.flip(0)) with smooth(y) = one-hot (1 - eps)
 * + eps / K. The loss is the soft-target cross-entropy (amod_vit_forward_soft). */
#ifndef AMOD_TRAIN_MIXUP_H
#define AMOD_TRAIN_MIXUP_H

#include <stdint.h>

#include "data/rng.h"

typedef struct {
    float mixup;     /* Beta's alpha for mixup; 0: off */
    float cutmix;    /* Beta's alpha for cutmix; 0: off */
    float smoothing; /* label smoothing eps in [0, 1) */
} amod_mix_config;

/* Whether the batches need soft targets at all. */
int amod_mix_active(const amod_mix_config *c);
/* A draw from Beta(a, a) (a > 0), from gamma draws (Marsaglia and Tsang). */
double amod_mix_beta(amod_data_rng *r, double a);
/* Mixes images [n, C, H, W] in place and writes targets [n, K] from labels [n]; the draws come
 * from r (seed it per step, so a resumed run mixes as the uninterrupted one). Returns lam. */
double amod_mix_batch(const amod_mix_config *c, amod_data_rng *r, float *images, int n, int C, int H, int W,
                      const int64_t *labels, int K, float *targets);

#endif
