/* AdamW (decoupled weight decay, Loshchilov & Hutter) over slices of a parameter buffer,
 * with the learning-rate schedule and global-norm clipping training loops use. */
#ifndef AMOD_MODEL_ADAMW_H
#define AMOD_MODEL_ADAMW_H

#include <stddef.h>

#include "amod/amod.h"

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} adamw_config;

typedef struct {
    float *m, *v; /* first and second moments, one per parameter */
    size_t n;
    long t;       /* steps taken */
} adamw_state;

int adamw_init(adamw_state *s, size_t n, amod_error *err);
void adamw_free(adamw_state *s);
/* Call once per optimisation step before the updates of that step. */
void adamw_begin_step(adamw_state *s);
/* Updates p[lo..hi) from g[lo..hi); decay selects weight decay for this slice. */
void adamw_update(adamw_state *s, float *p, const float *g, size_t lo, size_t hi, const adamw_config *c, int decay);
/* Scales g[lo..hi) so its L2 norm is at most max_norm; returns the norm before clipping. */
double clip_grad_norm(float *g, size_t lo, size_t hi, double max_norm);
/* Linear warm-up, then cosine decay to min_ratio * peak. */
float lr_schedule(long step, long total, long warmup, float peak, float min_ratio);

#endif
