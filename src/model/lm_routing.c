/* Routing settings of a language model: where MoD and MindSkip layers go, what is allowed,
 * and the new router tensors they bring. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/lm_internal.h"
#include "model/mod_config.h"

static int check_mod(const amod_lm *m, const amod_mod_config *mod, int predictor_hidden, amod_error *err) {
    if (mod->router == AMOD_ROUTER_NONE) return 0;
    /* the checks both families share, then the language model's own */
    if (mod_check_routing(mod, m->cfg.n_layers, m->skip.routed, err)) return -1;
    int any = 0;
    for (int l = 0; l < AMOD_MAX_LAYERS; l++) any |= mod->is_mod[l];
    if (!any) return amod_fail(err, "no MoD layers selected");
    if (predictor_hidden < 0 || predictor_hidden > (1 << 16))
        return amod_fail(err, "predictor width %d must be in [0, 65536]", predictor_hidden);
    if (m->skip.mode != AMOD_LM_SKIP_NONE) return amod_fail(err, "MoD and MindSkip cannot be combined");
    return 0;
}

/* Fills the router tensors that were not in the old layout from a truncated normal (std
 * 0.02; biases zero), so that scores differ between tokens from the first step; Router-Tuning's
 * MindSkip routers start at zero instead (every gate open: the dense model). */
typedef struct {
    char (*old)[96];
    int n_old;
    int zero_mindskip;
} old_names;

static void init_if_new(void *ctx, const param_tensor *t, float *p, amod_rng *r) {
    const old_names *o = ctx;
    int existed = 0;
    for (int j = 0; j < o->n_old && !existed; j++) existed = !strcmp(o->old[j], t->name);
    if (!t->router || existed) return;
    const int zero = ptab_is_bias(t->name) || (o->zero_mindskip && strstr(t->name, "mindskip_router"));
    for (size_t j = 0; j < t->numel; j++) p[j] = zero ? 0.0f : rng_trunc_normal(r, 0.02f);
}

static void init_new(amod_lm *m, char (*old)[96], int n_old, uint64_t seed) {
    old_names o = {old, n_old, m->skip.style == AMOD_LM_SKIP_STYLE_ROUTER_TUNING};
    ptab_init(&m->pt, seed ^ 0x726f75746572ull, init_if_new, &o);
}

/* Which router tensors layer l has: the layout depends on nothing else. */
static int router_kind(const amod_lm *m, int l) {
    int linear = lm_is_mod(m, l) && m->mod.router == AMOD_ROUTER_LINEAR;
    return (linear ? 1 + m->pred_hidden * 2 : 0) | (lm_is_skip(m, l) << 30);
}

/* Rebuilds the layout for new routing (values of surviving tensors are kept). The buffer is
 * kept as it is when the set of tensors does not change, so parameter pointers stay valid. */
static int relayout(amod_lm *m, const int *old_kind, uint64_t seed, amod_error *err) {
    int same = 1;
    for (int l = 0; l < m->cfg.n_layers; l++) same = same && router_kind(m, l) == old_kind[l];
    m->layout++; /* every context carves its buffers for the new routing */
    if (same) return 0;
    int n_old = m->pt.n_tensors;
    char (*old)[96] = amod_alloc((size_t)(n_old + 1) * sizeof *old, err);
    if (!old) return -1;
    for (int i = 0; i < n_old; i++) memcpy(old[i], m->pt.tensors[i].name, sizeof old[i]);
    int rc = lm_build_layout(m, err);
    if (!rc) init_new(m, old, n_old, seed);
    free(old);
    return rc;
}

int amod_lm_set_mod(amod_lm *m, const amod_mod_config *mod, int predictor_hidden, amod_error *err) {
    amod_lm_ctx *run = m->dflt;
    if (check_mod(m, mod, predictor_hidden, err)) return -1;
    amod_mod_config old = m->mod;
    int old_pred = m->pred_hidden, kind[AMOD_MAX_LAYERS];
    for (int l = 0; l < m->cfg.n_layers; l++) kind[l] = router_kind(m, l);
    m->mod = *mod;
    m->pred_hidden = mod->router == AMOD_ROUTER_LINEAR ? predictor_hidden : 0;
    if (relayout(m, kind, mod->seed, err)) {
        m->mod = old;
        m->pred_hidden = old_pred;
        return -1;
    }
    rng_seed(&run->rs.rng, mod->seed);
    memset(m->pred_threshold, 0, sizeof m->pred_threshold); /* new predictors: the plain BCE decision */
    return 0;
}

const amod_mod_config *amod_lm_get_mod(const amod_lm *m) { return &m->mod; }

void amod_lm_mindskip_default_layers(amod_lm_mindskip *ms, int n_layers) {
    memset(ms->routed, 0, sizeof ms->routed);
    for (int l = n_layers / 2; l < n_layers - 1 && l < AMOD_MAX_LAYERS; l++) ms->routed[l] = 1;
}

int amod_lm_set_mindskip(amod_lm *m, const amod_lm_mindskip *ms, amod_error *err) {
    const int L = m->cfg.n_layers;
    if (ms->mode != AMOD_LM_SKIP_NONE) {
        if (m->mod.router != AMOD_ROUTER_NONE) return amod_fail(err, "MoD and MindSkip cannot be combined");
        if (!(ms->target >= 0.0f && ms->target <= 1.0f))
            return amod_fail(err, "MindSkip target capacity %g must be in [0, 1]", (double)ms->target);
        if (!(ms->lambda >= 0.0f)) return amod_fail(err, "MindSkip lambda %g must be >= 0", (double)ms->lambda);
        int any = 0;
        for (int l = 0; l < AMOD_MAX_LAYERS; l++) {
            if (!ms->routed[l]) continue;
            if (l >= L) return amod_fail(err, "MindSkip layer %d does not exist (the model has layers 0..%d)", l, L - 1);
            if (l == L - 1) return amod_fail(err, "MindSkip never routes the last layer (%d)", l);
            any = 1;
        }
        if (!any) return amod_fail(err, "no MindSkip layers selected");
    }
    amod_lm_mindskip old = m->skip;
    int kind[AMOD_MAX_LAYERS];
    for (int l = 0; l < m->cfg.n_layers; l++) kind[l] = router_kind(m, l);
    m->skip = *ms;
    if (ms->mode == AMOD_LM_SKIP_NONE) memset(m->skip.routed, 0, sizeof m->skip.routed);
    if (relayout(m, kind, ms->seed, err)) {
        m->skip = old;
        return -1;
    }
    return 0;
}

const amod_lm_mindskip *amod_lm_get_mindskip(const amod_lm *m) { return &m->skip; }

/* ---- the causal predictors' thresholds ---- */

int amod_lm_predictor_cuts(const amod_lm *m, double *cuts) {
    const amod_lm_ctx *run = m->dflt;
    for (int l = 0; l < m->cfg.n_layers; l++)
        cuts[l] = lm_has_predictor(m, l) && run->pred_cut_seqs ? run->pred_cut_sum[l] : 0.0;
    return run->pred_cut_seqs;
}

void amod_lm_calibrate_predictor(amod_lm *m, const double *mean_cuts, int64_t step) {
    const double w = step < 10 ? 1.0 / (double)(step < 1 ? 1 : step) : 0.1;
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (lm_has_predictor(m, l) && isfinite(mean_cuts[l]))
            m->pred_threshold[l] = (float)((1.0 - w) * m->pred_threshold[l] + w * mean_cuts[l]);
}

float amod_lm_predictor_threshold(const amod_lm *m, int layer) {
    return layer >= 0 && layer < m->cfg.n_layers ? m->pred_threshold[layer] : 0.0f;
}
