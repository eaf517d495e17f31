/* What a MoD model's routers did on a set of images: the scores of every token and the
 * tokens kept, per MoD layer, plus the logits. Collected from inference forward passes. */
#ifndef AMOD_ANALYSIS_ROUTING_H
#define AMOD_ANALYSIS_ROUTING_H

#include <stdint.h>

#include "amod/amod.h"

typedef struct amod_routing {
    int n_images, n_tokens, n_prefix, depth, num_classes;
    int k[AMOD_MAX_LAYERS];         /* tokens kept by MoD layer l; 0 for a dense layer */
    float *scores[AMOD_MAX_LAYERS]; /* [n_images, N] router scores of MoD layer l, else NULL */
    int32_t *kept[AMOD_MAX_LAYERS]; /* [n_images, k] kept token indices (prefix first), else NULL */
    float *logits;                  /* [n_images, num_classes] */
} amod_routing;

/* Runs m (gradients off) on images [n, C, S, S] in batches of at most max_batch and records
 * the routing of every MoD layer. Fails when m has no MoD layer. */
int amod_routing_collect(amod_vit *m, const float *images, int n, int max_batch, amod_routing *out,
                         amod_error *err);
void amod_routing_free(amod_routing *r);
/* Number of MoD layers, and their indices in increasing order into layers (may be NULL). */
int amod_routing_layers(const amod_routing *r, int *layers);

#endif
