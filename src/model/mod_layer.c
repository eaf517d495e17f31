/* The Mixture-of-Depths layer's data flow, forward and backward side by side (mod_layer.h). */
#include "model/mod_layer.h"

#include <string.h>

#include "kernels/kernels.h"

static void score(mod_layer *L, const float *x) {
    const size_t n = (size_t)L->B * L->N;
    switch (L->router) {
    case AMOD_ROUTER_ATTENTION:
        router_attention_received(L->scores, L->prev_probs, L->prev_col_sum, L->B, L->heads, L->N, L->causal);
        break;
    case AMOD_ROUTER_LINEAR:
        rows_dot(L->scores, x, L->router_w, (int)n, L->D);
        L->macs += (double)n * L->D;
        break;
    case AMOD_ROUTER_RANDOM: router_random(L->scores, L->rng, n); break;
    case AMOD_ROUTER_NONE: break;
    }
}

/* The predictor's decision: a token runs the block when its logit exceeds the layer's
 * calibrated threshold. It needs only the token itself, so it is the same when sampling one
 * token at a time. */
static int select_by_predictor(mod_layer *L, const float *x) {
    int k = 0;
    for (int t = 0; t < L->N; t++) {
        const float z = router_predictor_logit(L->pred, x + (size_t)t * L->D, L->D);
        L->pred_z[t] = z;
        if (z > L->pred_threshold) L->idx[k++] = t;
    }
    L->macs += (double)L->N * ((double)L->D * L->pred->P + L->pred->P);
    return k;
}

/* The router's scores scale the block's update only for the linear router. */
static const float *update_scale(const mod_layer *L) {
    return L->router == AMOD_ROUTER_LINEAR ? L->scores : NULL;
}

void mod_layer_forward(mod_layer *L, float *out, const float *x) {
    score(L, x);
    if (L->by_predictor)
        *L->k = select_by_predictor(L, x);
    else
        route_select(L->idx, L->scores, L->B, L->N, *L->k, L->prefix);
    route_gather(L->xs, x, L->idx, L->B, L->N, *L->k, L->D);
    L->block_forward(L->owner, L->layer, L->B);
    route_combine(out, x, L->y, L->idx, update_scale(L), L->B, L->N, *L->k, L->D);
}

void mod_layer_backward(const mod_layer *L, float *dx, const float *dout, const float *x, float *dy, float *dxs) {
    const int k = *L->k;
    route_combine_backward(dx, dy, L->router_dw, dout, x, L->y, L->idx, update_scale(L), L->router_w, L->B, L->N, k,
                           L->D);
    memcpy(dxs, dy, (size_t)L->B * k * L->D * sizeof *dxs);
    L->block_backward(L->owner, L->layer, L->B, dy, dxs);
    route_scatter_add(dx, dxs, L->idx, L->B, L->N, k, L->D);
}
