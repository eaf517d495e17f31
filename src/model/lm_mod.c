/* Causal Mixture-of-Depths for language models: router scores -> top-k over the sequence
 * (or the causal predictor's decision) -> gather in original order; afterwards the block's
 * update goes back to the chosen rows, scaled by the linear router's score. */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"
#include "model/lm_internal.h"

/* A-MoD, causal: token i can only be seen by the T - i queries at or after it, so the
 * attention it received, summed over heads and those queries, is divided by H (T - i): the
 * mean over the (head, query) pairs that could attend to it. Without this the first tokens
 * would win merely for being visible to more queries. */
static void scores_attention(const amod_lm_ctx *run, int l, float *r, int B, int T) {
    const amod_lm *m = run->m;
    const int H = m->cfg.n_heads;
    const lm_layer_acts *prev = &run->la[l - 1];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *rb = r + (size_t)b * T;
        if (prev->probs) {
            memset(rb, 0, (size_t)T * sizeof *rb);
            for (int h = 0; h < H; h++)
                for (int j = 0; j < T; j++) {
                    const float *row = prev->probs + (((size_t)b * H + h) * T + j) * T;
                    for (int i = 0; i <= j; i++) rb[i] += row[i];
                }
        } else {
            memcpy(rb, prev->col_sum + (size_t)b * T, (size_t)T * sizeof *rb);
        }
        for (int i = 0; i < T; i++) rb[i] /= (float)H * (float)(T - i);
    }
}

/* Predictor routing: a token runs the block when its predictor logit is positive; the
 * decision needs only the token itself, so it is the same when sampling one token at a time. */
static int select_by_predictor(amod_lm_ctx *run, int l, const float *x, int T) {
    amod_lm *m = run->m;
    const lm_block *p = &m->blk[l];
    lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model, P = m->pred_hidden;
    int k = 0;
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * D;
        float z = p->pred_b2[0];
        for (int j = 0; j < P; j++) {
            const float *w = p->pred_w1 + (size_t)j * D;
            float h = p->pred_b1[j];
            for (int i = 0; i < D; i++) h += w[i] * xt[i];
            z += p->pred_w2[j] * (h > 0.0f ? h : 0.0f);
        }
        a->p_z[t] = z;
        if (z > 0.0f) a->idx[k++] = t;
    }
    run->stats.macs_per_token += (double)T * ((double)D * P + P);
    return k;
}

void lm_mod_route(amod_lm_ctx *run, int l, const float *x, int B, int T) {
    amod_lm *m = run->m;
    lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model;
    switch (m->mod.router) {
    case AMOD_ROUTER_ATTENTION: scores_attention(run, l, a->scores, B, T); break;
    case AMOD_ROUTER_LINEAR:
        rows_dot(a->scores, x, m->blk[l].router_w, B * T, D);
        run->stats.macs_per_token += (double)B * T * D;
        break;
    case AMOD_ROUTER_RANDOM:
        for (size_t i = 0; i < (size_t)B * T; i++) a->scores[i] = rng_uniform(&run->rng);
        break;
    case AMOD_ROUTER_NONE: break;
    }
    if (run->route_mode == AMOD_LM_ROUTE_PREDICTOR) {
        a->k = select_by_predictor(run, l, x, T); /* B = 1 */
    } else {
        a->k = amod_mod_tokens(m->mod.capacity, T, 0);
        route_select(a->idx, a->scores, B, T, a->k, 0);
    }
    for (int i = 0; i < B * a->k; i++) a->pos[i] = a->idx[i];
    route_gather(a->xs, x, a->idx, B, T, a->k, D);
}

/* The router's scores scale the block's update only for the linear router. */
static const float *update_scale(const amod_lm *m, const lm_layer_acts *a) {
    return m->mod.router == AMOD_ROUTER_LINEAR ? a->scores : NULL;
}

void lm_mod_combine(const amod_lm_ctx *run, int l, float *out, const float *x, int B, int T) {
    const amod_lm *m = run->m;
    const lm_layer_acts *a = &run->la[l];
    route_combine(out, x, a->y, a->idx, update_scale(m, a), B, T, a->k, m->cfg.d_model);
}

void lm_mod_combine_backward(amod_lm_ctx *run, int l, float *dx, float *dy, const float *dout, const float *x, int B,
                             int T) {
    amod_lm *m = run->m;
    const lm_layer_acts *a = &run->la[l];
    const float *w = m->blk[l].router_w;
    route_combine_backward(dx, dy, lm_grad(m, w), dout, x, a->y, a->idx, update_scale(m, a), w, B, T, a->k,
                           m->cfg.d_model);
}

/* ---- the causal predictor: Linear(D, P) -> ReLU -> Linear(P, 1) on a stop-gradient x ---- */

void lm_predictor_forward(amod_lm_ctx *run, int l, const float *x, int B, int T, double *bce, int *correct) {
    amod_lm *m = run->m;
    const lm_block *p = &m->blk[l];
    lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model, P = m->pred_hidden, n = B * T;
    memset(a->p_target, 0, (size_t)n * sizeof(float));
    for (int bj = 0; bj < B * a->k; bj++) a->p_target[(size_t)(bj / a->k) * T + a->idx[bj]] = 1.0f;
    linear_forward(a->p_h, x, p->pred_w1, p->pred_b1, n, D, P);
    for (size_t i = 0; i < (size_t)n * P; i++) a->p_h[i] = a->p_h[i] > 0.0f ? a->p_h[i] : 0.0f;
    linear_forward(a->p_z, a->p_h, p->pred_w2, p->pred_b2, n, P, 1);
    *bce = bce_with_logits(NULL, a->p_z, a->p_target, n, 1.0f, correct);
    run->stats.macs_per_token += (double)n * ((double)D * P + P);
}

void lm_predictor_backward(amod_lm_ctx *run, int l, const float *x, int B, int T, float scale) {
    amod_lm *m = run->m;
    const lm_block *p = &m->blk[l];
    const lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model, P = m->pred_hidden, n = B * T;
    float *dz = run->d_pred, *dh = run->d_pred + n;
    bce_with_logits(dz, a->p_z, a->p_target, n, scale, NULL);
    linear_backward(dh, lm_grad(m, p->pred_w2), lm_grad(m, p->pred_b2), dz, a->p_h, p->pred_w2, n, P, 1, 0);
    for (size_t i = 0; i < (size_t)n * P; i++)
        if (a->p_h[i] <= 0.0f) dh[i] = 0.0f;
    linear_backward(NULL, lm_grad(m, p->pred_w1), lm_grad(m, p->pred_b1), dh, x, p->pred_w1, n, D, P, 0);
}
