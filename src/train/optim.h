/* AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW, step for step), global-norm
 * gradient clipping, and the optimizer state a checkpoint keeps. Model-agnostic: it updates
 * the tensors it is given (spans of a model's one contiguous parameter and gradient buffers),
 * each with its own weight-decay flag; tensors left out (frozen ones) are never touched. The
 * ViT trainer (train/trainer.c) and the language-model trainer (train/lm_trainer.c) use it. */
#ifndef AMOD_TRAIN_OPTIM_H
#define AMOD_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"

typedef struct amod_adamw_config {
    float beta1, beta2, eps;
    float weight_decay; /* decoupled: p -= lr * wd * p, only on tensors that decay */
} amod_adamw_config;

/* One parameter tensor the optimizer updates. */
typedef struct amod_adamw_span {
    char name[96];    /* keys of the state file: exp_avg.NAME and exp_avg_sq.NAME */
    int ndim;         /* 1..4 */
    int64_t shape[4];
    size_t offset;    /* in the parameter and gradient buffers */
    int decay;        /* weight decay applies */
    size_t numel;     /* set by amod_adamw_init: the product of the shape */
    size_t state;     /* set by amod_adamw_init: offset in m and v (spans packed in order) */
} amod_adamw_span;

typedef struct amod_adamw {
    amod_adamw_config cfg;
    size_t n;            /* parameters updated: the spans' sizes added up */
    float *m, *v;        /* first and second moments, like PyTorch's exp_avg and exp_avg_sq */
    int64_t step;        /* updates taken; the bias corrections use step after incrementing */
    amod_adamw_span *spans;
    int n_spans;
} amod_adamw;

/* PyTorch's defaults (0.9, 0.999, 1e-8) with weight decay 0.05, timm's for ViTs. */
void amod_adamw_config_default(amod_adamw_config *cfg);

/* timm's rule: no weight decay on 1-D tensors (biases, norm weights) nor on the CLS token and
 * the position embedding. */
int amod_param_decays(const char *name, int ndim);

/* Describes one tensor (name truncated to the span's room; shape of ndim <= 4 entries). */
void amod_adamw_span_set(amod_adamw_span *s, const char *name, int ndim, const int64_t *shape, size_t offset,
                         int decay);

/* Zeroed moments for the given tensors (copied; they must not overlap). */
int amod_adamw_init(amod_adamw *o, const amod_adamw_span *spans, int n_spans, const amod_adamw_config *cfg,
                    amod_error *err);
/* Every tensor of a ViT in its current layout (set MoD routing first), timm's decay rule. */
int amod_adamw_init_vit(amod_adamw *o, const amod_vit *model, const amod_adamw_config *cfg, amod_error *err);
/* The same for the tensors whose name takes(name, ctx) accepts (takes NULL: all of them). */
int amod_adamw_init_vit_some(amod_adamw *o, const amod_vit *model, const amod_adamw_config *cfg,
                             int (*takes)(const char *name, void *ctx), void *ctx, amod_error *err);
void amod_adamw_free(amod_adamw *o);

/* One update with learning rate lr of every span:
 *   p -= lr * wd * p  (decaying tensors);  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (t = step after increment). */
void amod_adamw_step(amod_adamw *o, float *params, const float *grads, float lr);
/* The same with every gradient read as grad_scale * g (the float product that clipping in
 * place would have stored): clipping folded into the update, one pass over g less. */
void amod_adamw_step_scaled(amod_adamw *o, float *params, const float *grads, float grad_scale, float lr);

/* Global L2 norm, summed over a fixed chunking so the result does not depend on the number
 * of threads (a resumed run must reproduce the uninterrupted one bit for bit). */
double amod_grad_norm(const float *g, size_t n);
/* torch.nn.utils.clip_grad_norm_: when the norm exceeds max_norm, scales g by
 * max_norm / (norm + 1e-6). Returns the norm before clipping (non-finite if g is). */
double amod_clip_grad_norm(float *g, size_t n, double max_norm);
/* The factor clip_grad_norm_ scales by for a gradient of this norm: max_norm / (norm + 1e-6)
 * when that is below 1, else 1 (also for a non-finite norm or max_norm <= 0). */
float amod_clip_coef(double norm, double max_norm);

/* State file: exp_avg.NAME and exp_avg_sq.NAME per span, and step. */
int amod_adamw_save(const amod_adamw *o, const char *path, amod_error *err);
/* Reads a state file written for the same spans; names and shapes must match. */
int amod_adamw_load(amod_adamw *o, const char *path, amod_error *err);

#endif
