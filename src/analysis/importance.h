/* Leave-one-out token importance (A-MoD paper, Gadhikar et al. 2024, Fig. 5): how much the
 * dense model's loss on an image changes when one token is removed from the sequence, and
 * how well a router's scores agree with it. */
#ifndef AMOD_ANALYSIS_IMPORTANCE_H
#define AMOD_ANALYSIS_IMPORTANCE_H

#include <stdint.h>

#include "amod/amod.h"
#include "analysis/routing.h"
#include "analysis/stats.h"

typedef void (*amod_progress_fn)(int done, int total, void *ctx);

/* For each image i and non-prefix token t: importance[i * N + t] = loss(image without t) -
 * loss(image), the cross-entropy of the dense model `dense` (router none) against labels[i];
 * the sequence without t has N - 1 tokens, the others keeping their position embeddings.
 * Prefix entries are 0. base_loss [n] (may be NULL) receives loss(image). Runs at most
 * max_seqs sequences a forward pass; progress (may be NULL) hears after each image. */
int amod_token_importance(amod_vit *dense, const float *images, const int64_t *labels, int n, int max_seqs,
                          float *importance, float *base_loss, amod_progress_fn progress, void *ctx,
                          amod_error *err);

/* Layer-wise importance (--measure skip): importance[i * N + t] = loss(token t skips block
 * `layer`) - loss(image), on the dense model `dense` (router none): token t neither queries nor
 * is attended to at that layer and passes on the residual stream unchanged, exactly the
 * decision a MoD layer makes there; every other layer runs dense. Prefix entries are 0;
 * base_loss as for amod_token_importance. The model's routing is the dense one again on return. */
int amod_token_skip_importance(amod_vit *dense, const float *images, const int64_t *labels, int n, int layer,
                               int max_seqs, float *importance, float *base_loss, amod_progress_fn progress, void *ctx,
                               amod_error *err);

/* Pearson and Spearman correlation between the router scores of MoD layer `layer` and the
 * importance [n_images, N], over the non-prefix tokens of all images of r. */
int amod_importance_correlate(const amod_routing *r, int layer, const float *importance, amod_corr *pearson,
                              amod_corr *spearman, amod_error *err);

/* Per image (the unit the statistics resample): Spearman's rho between the router scores of
 * MoD layer `layer` and the importance over the image's non-prefix tokens (rho[i], NaN when
 * either is constant), and precision@k, the share of the k most important tokens the router
 * keeps, k = the layer's kept non-prefix tokens (prec[i]). A random router's precision@k is
 * k / (N - P) in expectation. *k_out receives k. */
int amod_importance_by_image(const amod_routing *r, int layer, const float *importance, double *rho, double *prec,
                             int *k_out, amod_error *err);

#endif
