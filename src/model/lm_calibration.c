/* Calibrating the causal predictors on a text: the logits of every token of the windows are
 * pooled per layer, and the threshold becomes the cut that keeps the layer's share k / T of
 * them. The mean of per-window cuts (amod_lm_predictor_cuts) keeps C of each window only when
 * the windows' logits share one level; on text unlike the training windows they do not (a
 * predictor trained on one text kept 0.53 of another at C = 0.25 under the mean cut). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/lm_internal.h"

struct amod_lm_calibration {
    float *z[AMOD_MAX_LAYERS]; /* pooled logits of predictor layer l */
    size_t n[AMOD_MAX_LAYERS], cap[AMOD_MAX_LAYERS];
    double keep[AMOD_MAX_LAYERS]; /* tokens to keep: k / T of each window's pooled positions, summed */
    int from;                     /* first position of each window pooled */
    int added;                    /* a pass was pooled (from is fixed then) */
};

amod_lm_calibration *amod_lm_calibration_new(amod_error *err) { return amod_zalloc(sizeof(amod_lm_calibration), err); }

void amod_lm_calibration_free(amod_lm_calibration *c) {
    if (!c) return;
    for (int l = 0; l < AMOD_MAX_LAYERS; l++) free(c->z[l]);
    free(c);
}

int amod_lm_calibration_from(amod_lm_calibration *c, int from, amod_error *err) {
    if (from < 0 || c->added)
        return amod_fail_code(err, AMOD_ERR_INVALID, "calibration: the first position (%d) must be >= 0 and set before the first pass",
                              from);
    c->from = from;
    return 0;
}

int amod_lm_calibration_add(amod_lm_calibration *c, const amod_lm *m, amod_error *err) {
    const amod_lm_ctx *run = m->dflt;
    if (!run->pred_cut_seqs) return 0; /* no predictor, or the pass was not top-k */
    const int T = run->T, from = c->from;
    if (from >= T)
        return amod_fail_code(err, AMOD_ERR_INVALID, "calibration: the first position %d is past the windows' %d tokens",
                              from, T);
    const size_t per = (size_t)(T - from), n = (size_t)run->B * per;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!lm_has_predictor(m, l)) continue;
        if (c->n[l] + n > c->cap[l]) {
            size_t cap = c->cap[l] ? 2 * c->cap[l] : 4096;
            while (cap < c->n[l] + n) cap *= 2;
            float *grown = realloc(c->z[l], cap * sizeof *grown);
            if (!grown) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory pooling %zu predictor logits", cap);
            c->z[l] = grown, c->cap[l] = cap;
        }
        for (int b = 0; b < run->B; b++)
            memcpy(c->z[l] + c->n[l] + (size_t)b * per, run->la[l].p_z + (size_t)b * T + from, per * sizeof(float));
        c->n[l] += n;
        c->keep[l] += (double)run->B * run->la[l].k * (double)per / T;
    }
    c->added = 1;
    return run->pred_cut_seqs;
}

/* The whole number of pooled tokens to keep: `tokens` (k / T of each window's pooled positions,
 * summed) rounded, at most all of them. */
static size_t tokens_to_keep(double tokens, size_t pooled) {
    const size_t keep = (size_t)(tokens + 0.5);
    return keep < pooled ? keep : pooled;
}

int amod_lm_calibration_apply(amod_lm_calibration *c, amod_lm *m) {
    int layers = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!lm_has_predictor(m, l) || !c->n[l]) continue;
        m->pred_threshold[l] = (float)lm_predictor_cut(c->z[l], c->z[l], c->n[l], tokens_to_keep(c->keep[l], c->n[l]));
        layers++;
    }
    return layers;
}

int amod_lm_calibrate_routed(amod_lm *m, const int64_t *ids, int n, int T, int from, amod_error *err) {
    if (n < 1 || T < 2 || from < 0 || from >= T)
        return amod_fail(err, "calibration: %d windows of %d tokens from position %d is no calibration set", n, T, from);
    if (m->mod.router != AMOD_ROUTER_LINEAR || m->pred_hidden < 1)
        return amod_fail(err, "the model has no causal predictor to calibrate (train-lm --router linear trains one)");
    const amod_lm_route_mode before = m->dflt->route_mode;
    const size_t per = (size_t)(T - from), pooled = (size_t)n * per;
    const int k = amod_mod_tokens(m->mod.capacity, T, 0);
    const size_t keep = tokens_to_keep((double)n * k * (double)per / T, pooled);
    float *z = amod_alloc(pooled * sizeof *z, err);
    if (!z) return -1;
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    int layers = 0, rc = 0;
    for (int l = 0; l < m->cfg.n_layers && !rc; l++) {
        if (!lm_has_predictor(m, l)) continue;
        for (int w = 0; w < n && !rc; w++) {
            if (amod_lm_forward(m, ids + (size_t)w * T, 1, T, NULL, NULL, err)) rc = -1;
            else memcpy(z + (size_t)w * per, m->dflt->la[l].p_z + from, per * sizeof *z);
        }
        if (!rc) m->pred_threshold[l] = (float)lm_predictor_cut(z, z, pooled, keep), layers++;
    }
    amod_lm_set_route_mode(m, before);
    free(z);
    return rc ? -1 : layers;
}
