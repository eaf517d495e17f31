/* The Mixture-of-Depths layer around an ordinary block: router scores -> top-k (prefix
 * tokens always kept, original order) -> gather; afterwards the block's update goes back to
 * the selected rows, scaled by the router weight for the linear router. */
#include <string.h>

#include "core/rng.h"
#include "kernels/kernels.h"
#include "model/vit_internal.h"

static void scores_attention(const amod_vit_ctx *c, int l, float *r, int B) {
    const amod_vit *m = c->m;
    const int N = m->n_tokens, H = m->cfg.num_heads;
    const vit_layer_acts *prev = &c->la[l - 1];
    const float inv = 1.0f / (float)(H * N);
    if (prev->probs) {
        /* r_i = 1/(H N) sum_h sum_j a[h, j, i]: the attention token i received */
#pragma omp parallel for schedule(static) if ((size_t)B * H * N * N >= AMOD_PAR_MIN_WORK)
        for (int b = 0; b < B; b++) {
            float *rb = r + (size_t)b * N;
            memset(rb, 0, (size_t)N * sizeof *rb);
            for (int h = 0; h < H; h++)
                for (int j = 0; j < N; j++) {
                    const float *row = prev->probs + (((size_t)b * H + h) * N + j) * N;
                    for (int i = 0; i < N; i++) rb[i] += row[i];
                }
            for (int i = 0; i < N; i++) rb[i] *= inv;
        }
    } else {
        for (size_t i = 0; i < (size_t)B * N; i++) r[i] = prev->col_sum[i] * inv;
    }
}

void mod_route(amod_vit_ctx *c, int l, const float *x, int B) {
    const amod_vit *m = c->m;
    vit_layer_acts *a = &c->la[l];
    const int N = m->n_tokens, D = m->cfg.embed_dim;
    switch (m->mod.router) {
    case AMOD_ROUTER_ATTENTION: scores_attention(c, l, a->scores, B); break;
    case AMOD_ROUTER_LINEAR:
        rows_dot(a->scores, x, m->blk[l].router_w, B * N, D);
        break;
    case AMOD_ROUTER_RANDOM:
        for (size_t i = 0; i < (size_t)B * N; i++) a->scores[i] = rng_uniform(&c->rng);
        break;
    case AMOD_ROUTER_NONE: break;
    }
    route_select(a->idx, a->scores, B, N, a->k, m->cfg.num_prefix);
    route_gather(a->xs, x, a->idx, B, N, a->k, D);
}

/* The router's scores scale the block's update only for the linear router. */
static const float *update_scale(const amod_vit *m, const vit_layer_acts *a) {
    return m->mod.router == AMOD_ROUTER_LINEAR ? a->scores : NULL;
}

void mod_combine(const amod_vit_ctx *c, int l, float *out, const float *x, int B) {
    const amod_vit *m = c->m;
    const vit_layer_acts *a = &c->la[l];
    route_combine(out, x, a->y, a->idx, update_scale(m, a), B, m->n_tokens, a->k, m->cfg.embed_dim);
}

void mod_combine_backward(amod_vit_ctx *c, int l, float *dx, float *dy, const float *dout, const float *x,
                          int B) {
    amod_vit *m = c->m;
    const vit_layer_acts *a = &c->la[l];
    const float *w = m->blk[l].router_w;
    route_combine_backward(dx, dy, ptab_grad(&m->pt, w), dout, x, a->y, a->idx, update_scale(m, a), w, B,
                           m->n_tokens, a->k, m->cfg.embed_dim);
}
