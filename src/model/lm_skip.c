/* Router-Tuning's MindSkip: one router Linear(D, 1, bias=False) per routed layer decides
 * from the normed block input whether the attention sublayer runs. Sequence level (the
 * paper's): the router reads the mean over the sequence of norm1(x) and one gate holds for
 * the whole sequence. Token level (an option): each token is gated on its own norm1(x).
 * Training uses the straight-through estimator: the forward pass applies the hard gate
 * (sigmoid > 0.5), the backward pass differentiates as if the gate were the sigmoid. */
#include <math.h>
#include <string.h>

#include "model/lm_internal.h"
#include "model/router.h"

int lm_skip_inclusive(const amod_lm *m) { return m->skip.style == AMOD_LM_SKIP_STYLE_ROUTER_TUNING; }

int lm_skip_gates(amod_lm_ctx *run, int l, int B, int k) {
    amod_lm *m = run->m;
    lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model, token = m->skip.mode == AMOD_LM_SKIP_TOKEN;
    const int n = token ? B * k : B;
    run->stats.macs_per_token += (double)n * D;
    return router_gate_forward(a->sk_s, a->sk_gate, a->sk_in, a->ln1, m->blk[l].skip_w, n, token ? 0 : k,
                               lm_skip_inclusive(m), D, m->skip.soft);
}

/* This pass's totals: the gates' sigmoids, their number, those open, and each layer's sum of
 * its gates (hard, or the sigmoids in the soft variant) for Router-Tuning's per-layer hinge. */
void lm_skip_stats(amod_lm_ctx *run, int B, int T) {
    amod_lm *m = run->m;
    const int token = m->skip.mode == AMOD_LM_SKIP_TOKEN, per_layer = token ? B * T : B;
    double sum_s = 0, kept = 0;
    int n = 0;
    memset(run->skip_totals, 0, sizeof run->skip_totals);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!lm_is_skip(m, l)) continue;
        for (int i = 0; i < per_layer; i++) {
            const float s = run->la[l].sk_s[i];
            sum_s += s;
            kept += router_gate_open(s, lm_skip_inclusive(m));
            run->skip_totals[3 + l] += run->la[l].sk_gate[i];
        }
        n += per_layer;
    }
    run->skip_totals[0] = sum_s, run->skip_totals[1] = n, run->skip_totals[2] = kept;
    amod_lm_set_skip_totals(m, run->skip_totals);
}

void amod_lm_skip_totals(const amod_lm *m, double totals[AMOD_LM_SKIP_TOTALS]) {
    const amod_lm_ctx *run = m->dflt;
    for (int i = 0; i < AMOD_LM_SKIP_TOTALS; i++)
        totals[i] = m->skip.mode != AMOD_LM_SKIP_NONE ? run->skip_totals[i] : 0.0;
}

/* The term's gradient is this pass's share: a gate's coefficient is divided by the number of
 * gates of this pass, like a loss averaged over its own part of the batch, so the mean of
 * equal parts' gradients is the whole batch's gradient. amod's term is lambda (mean s -
 * target)^2 over every gate; Router-Tuning's is lambda sum over layers of max(0, mean gate of
 * the layer - target), differentiated straight through (d gate = d sigmoid). */
void amod_lm_set_skip_totals(amod_lm *m, const double totals[AMOD_LM_SKIP_TOTALS]) {
    amod_lm_ctx *run = m->dflt;
    if (m->skip.mode == AMOD_LM_SKIP_NONE || !(totals[1] > 0) || !(run->skip_totals[1] > 0)) return;
    const int L = m->cfg.n_layers;
    int routed = 0;
    for (int l = 0; l < L; l++) routed += lm_is_skip(m, l);
    run->stats.attn_kept = (float)(totals[2] / totals[1]);
    memset(run->skip_cap_coef, 0, sizeof run->skip_cap_coef);
    if (m->skip.style == AMOD_LM_SKIP_STYLE_ROUTER_TUNING) {
        const double per_layer = totals[1] / routed, mine = run->skip_totals[1] / routed;
        double term = 0;
        for (int l = 0; l < L; l++) {
            if (!lm_is_skip(m, l)) continue;
            const double over = totals[3 + l] / per_layer - m->skip.target;
            if (over > 0) {
                term += m->skip.lambda * over;
                run->skip_cap_coef[l] = (float)(m->skip.lambda / mine);
            }
        }
        run->stats.capacity_loss = (float)term;
        return;
    }
    const double mean = totals[0] / totals[1], diff = mean - m->skip.target;
    run->stats.capacity_loss = (float)(m->skip.lambda * diff * diff);
    for (int l = 0; l < L; l++)
        if (lm_is_skip(m, l)) run->skip_cap_coef[l] = (float)(2.0 * m->skip.lambda * diff / run->skip_totals[1]);
}

void lm_skip_backward(amod_lm_ctx *run, int l, int B, int k, const float *dgate, float *dln1) {
    amod_lm *m = run->m;
    const lm_layer_acts *a = &run->la[l];
    const int D = m->cfg.d_model, token = m->skip.mode == AMOD_LM_SKIP_TOKEN;
    const int n = token ? B * k : B;
    float *dz = run->d_gate + n; /* d_gate holds B T floats: dgate first, then dz */
    for (int i = 0; i < n; i++) {
        const float s = a->sk_s[i];
        /* straight through: d loss / d sigmoid = d loss / d gate, plus the capacity term */
        dz[i] = (dgate[i] + run->skip_cap_coef[l]) * s * (1.0f - s);
    }
    router_gate_backward(lm_grad(run, m->blk[l].skip_w), dln1, dz, a->ln1, a->sk_in, m->blk[l].skip_w, n,
                         token ? 0 : k, D);
}
