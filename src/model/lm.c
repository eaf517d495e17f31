/* The causal language model's forward and backward passes (GPT-2 and Llama blocks), with
 * Mixture-of-Depths layers that run their block on the k routed tokens only and MindSkip
 * layers that gate their attention sublayer. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"
#include "model/lm_internal.h"
#include "model/mod_layer.h"

#define G(p) lm_grad(run, (p)) /* this context's gradient of a parameter pointer */



/* Layer l's attention map is stored for backward, for amod_lm_attention, or for an A-MoD
 * router in layer l+1 during training; inference A-MoD only needs its column sums. */
static int keeps_probs(const amod_lm_ctx *run, int l) {
    const amod_lm *m = run->m;
    return run->rs.grads || (run->rs.keep_attention && !lm_is_mod(m, l));
}
static int needs_col_sum(const amod_lm_ctx *run, int l) {
    const amod_lm *m = run->m;
    return !keeps_probs(run, l) && l + 1 < m->cfg.n_layers && lm_is_mod(m, l + 1) &&
           m->mod.router == AMOD_ROUTER_ATTENTION;
}

/* ---- activation memory: one arena, carved in two passes (measure, then assign) ---- */

/* Tokens per sequence MoD layer l runs on: top-k's ceil(C T), or up to T when the causal
 * predictor decides (the count is known only during the pass). */
static int layer_tokens(const amod_lm_ctx *run, int l, int T) {
    const amod_lm *m = run->m;
    if (!lm_is_mod(m, l)) return T;
    if (run->route_mode == AMOD_LM_ROUTE_PREDICTOR) return T;
    return amod_mod_tokens(m->mod.capacity, T, 0);
}

static void carve(amod_lm_ctx *run, arena_carver *c, int B, int T) {
    amod_lm *m = run->m;
    const amod_lm_config *cfg = &m->cfg;
    const int D = cfg->d_model, H = cfg->n_heads, KV = cfg->n_kv_heads, hd = cfg->head_dim, F = cfg->d_ff;
    const int W = (H + 2 * KV) * hd, qd = H * hd, gpt2 = cfg->arch == AMOD_LM_GPT2;
    const size_t BT = (size_t)B * T;
    int max_pred = 0;
    run->ids = arena_take(c, 2 * BT);
    run->pos_dense = arena_take(c, BT);
    for (int l = 0; l <= cfg->n_layers; l++) run->resid[l] = arena_take(c, BT * D);
    for (int l = 0; l < cfg->n_layers; l++) {
        lm_layer_acts *a = &run->la[l];
        const int mod = lm_is_mod(m, l), skip = lm_is_skip(m, l);
        a->k = layer_tokens(run, l, T);
        const size_t R = (size_t)B * a->k;
        a->idx = mod ? arena_take(c, R) : NULL;
        a->pos = mod ? arena_take(c, R) : run->pos_dense;
        a->scores = mod ? arena_take(c, BT) : NULL;
        a->xs = mod ? arena_take(c, R * D) : run->resid[l];
        a->ln1 = arena_take(c, R * D);
        a->mu1 = gpt2 ? arena_take(c, R) : NULL;
        a->rs1 = arena_take(c, R);
        a->qkv = arena_take(c, R * W);
        a->probs = keeps_probs(run, l) ? arena_take(c, (size_t)B * H * a->k * a->k) : NULL;
        a->col_sum = needs_col_sum(run, l) ? arena_take(c, BT) : NULL;
        a->ao = arena_take(c, R * qd);
        a->proj = arena_take(c, R * D);
        a->x2 = arena_take(c, R * D);
        a->ln2 = arena_take(c, R * D);
        a->mu2 = gpt2 ? arena_take(c, R) : NULL;
        a->rs2 = arena_take(c, R);
        a->h1 = arena_take(c, R * F);
        a->h3 = gpt2 ? NULL : arena_take(c, R * F);
        a->g = arena_take(c, R * F);
        a->y = mod ? arena_take(c, R * D) : run->resid[l + 1];
        const int P = lm_has_predictor(m, l) ? m->pred_hidden : 0;
        a->p_h = P ? arena_take(c, BT * P) : NULL;
        a->p_z = P || mod ? arena_take(c, BT) : NULL;
        a->p_target = P ? arena_take(c, BT) : NULL;
        if (P > max_pred) max_pred = P;
        a->sk_in = skip ? arena_take(c, (size_t)B * D) : NULL;
        a->sk_s = skip ? arena_take(c, BT) : NULL;
        a->sk_gate = skip ? arena_take(c, BT) : NULL;
    }
    run->normed = arena_take(c, BT * D);
    run->nmu = arena_take(c, BT);
    run->nrs = arena_take(c, BT);
    run->logits = arena_take(c, BT * cfg->vocab_size);
    run->dlogits = run->rs.grads ? arena_take(c, BT * cfg->vocab_size) : NULL;
    run->pred_sort = max_pred ? arena_take(c, (size_t)T) : NULL;
    memset(&run->rg, 0, sizeof run->rg);
    if (!run->rs.grads) return;
    resid_grads_take(&run->rg, c, BT, D);
    run->d_proj = arena_take(c, BT * D);
    run->d_ao = arena_take(c, BT * qd);
    run->d_qkv = arena_take(c, BT * W);
    run->d_h1 = arena_take(c, BT * F);
    run->d_h3 = arena_take(c, BT * F);
    run->d_attn = arena_take(c, causal_attention_scratch_floats(T, run->rs.scratch_threads));
    run->d_normed = arena_take(c, BT * D);
    run->d_gate = arena_take(c, 2 * BT); /* the gates' gradient, then MindSkip's d(pre-sigmoid) */
    run->d_pred = max_pred ? arena_take(c, BT * (max_pred + 1)) : NULL;
}

void lm_free_acts(amod_lm_ctx *run) {
    run_state_release(&run->rs);
    run->act_B = run->act_T = 0;
}

static void carve_ctx(void *self, arena_carver *ac) {
    amod_lm_ctx *run = self;
    carve(run, ac, run->act_B, run->act_T);
}

int lm_ensure_acts(amod_lm_ctx *run, int B, int T, amod_error *err) {
    /* carved again for a larger batch, another length, a new routing, or more threads than
     * the scratch was made for (a forward recomputes it all) */
    if (run_state_fits(&run->rs, run->m->layout) && B <= run->act_B && T == run->act_T) return 0;
    run->act_B = B, run->act_T = T;
    size_t need;
    if (run_state_carve(&run->rs, carve_ctx, run, run->m->layout, &need)) {
        run->act_B = run->act_T = 0;
        return amod_fail(err, "out of memory: activations need %zu MiB for %d sequences of %d tokens", need >> 20,
                         B, T);
    }
    return 0;
}

amod_lm_ctx_params amod_lm_ctx_default_params(void) {
    return (amod_lm_ctx_params){.route_mode = AMOD_LM_ROUTE_TOPK};
}

amod_lm_ctx *amod_lm_ctx_create(amod_lm *m, const amod_lm_ctx_params *p, amod_error *err) {
    const amod_lm_ctx_params q = p ? *p : amod_lm_ctx_default_params();
    amod_lm_ctx *run = run_state_create(sizeof *run, q.threads, q.grads, q.keep_attention, m->mod.seed, err);
    if (run) run->m = m, run->route_mode = q.route_mode;
    return run;
}

void amod_lm_ctx_free(amod_lm_ctx *run) { run_state_free(run ? &run->rs : NULL); }

float *amod_lm_ctx_grads(amod_lm_ctx *run) { return run_state_grads(&run->rs, run->m->pt.n_params, NULL); }

void amod_lm_set_grad_enabled(amod_lm *m, int enabled) { run_state_set_grads(&m->dflt->rs, enabled); }

void amod_lm_keep_attention(amod_lm *m, int keep) { run_state_set_keep_attention(&m->dflt->rs, keep); }

void amod_lm_set_route_mode(amod_lm *m, amod_lm_route_mode mode) {
    amod_lm_ctx *run = m->dflt;
    if (run->route_mode != mode) lm_free_acts(run);
    run->route_mode = mode;
}

/* ---- forward ---- */

/* The attention sublayer on nb sequences starting at sequence b0: projections, rotary
 * angles (Llama), causal attention, output projection into a->proj. */
static void attn_sublayer(amod_lm_ctx *run, int l, int b0, int nb) {
    amod_lm *m = run->m;
    const amod_lm_config *c = &m->cfg;
    const lm_block *p = &m->blk[l];
    lm_layer_acts *a = &run->la[l];
    const int D = c->d_model, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, k = a->k;
    const int W = (H + 2 * KV) * hd, qd = H * hd, kvd = KV * hd, rows = nb * k;
    const size_t r0 = (size_t)b0 * k;
    const float *ln1 = a->ln1 + r0 * D;
    float *qkv = a->qkv + r0 * W;
    if (c->arch == AMOD_LM_GPT2) {
        dense_forward(qkv, W, ln1, p->wqkv, 1, p->bqkv, rows, D, 3 * D);
    } else {
        dense_forward(qkv, W, ln1, p->wq, 0, p->bq, rows, D, qd);
        dense_forward(qkv + qd, W, ln1, p->wk, 0, p->bk, rows, D, kvd);
        dense_forward(qkv + qd + kvd, W, ln1, p->wv, 0, p->bv, rows, D, kvd);
        rope_apply(qkv, W, rows, H, hd, a->pos + r0, m->rope_cos, m->rope_sin, 0);
        rope_apply(qkv + qd, W, rows, KV, hd, a->pos + r0, m->rope_cos, m->rope_sin, 0);
    }
    causal_attention_forward(a->ao + r0 * qd, a->probs ? a->probs + (size_t)b0 * H * k * k : NULL,
                             a->col_sum ? a->col_sum + r0 : NULL, qkv, nb, k, H, KV, hd);
    dense_forward(a->proj + r0 * D, D, a->ao + r0 * qd, p->wo, c->arch == AMOD_LM_GPT2, p->bo, rows, qd, D);
    run->stats.macs_per_token += (double)rows * D * W + (double)nb * 2.0 * k * k * qd + (double)rows * qd * D;
}

static void norm_forward(const amod_lm *m, float *out, float *mu, float *rs, const float *x, const float *w,
                         const float *b, int rows) {
    if (m->cfg.arch == AMOD_LM_GPT2) layernorm_forward(out, mu, rs, x, w, b, rows, m->cfg.d_model, m->cfg.norm_eps);
    else rmsnorm_forward(out, rs, x, w, rows, m->cfg.d_model, m->cfg.norm_eps);
}

static void norm_backward(amod_lm_ctx *run, float *dx, const float *w, const float *b, const float *dout,
                          const float *x, const float *mu, const float *rs, int rows) {
    const amod_lm *m = run->m;
    if (m->cfg.arch == AMOD_LM_GPT2)
        layernorm_backward(dx, G(w), G(b), dout, x, mu, rs, w, rows, m->cfg.d_model);
    else
        rmsnorm_backward(dx, G(w), dout, x, rs, w, rows, m->cfg.d_model);
}

/* Gate of row r (sequence r / k) of a MindSkip layer: 1 when the layer is not routed. */
static float gate_of(const amod_lm *m, const lm_layer_acts *a, int l, int r) {
    if (!lm_is_skip(m, l)) return 1.0f;
    return m->skip.mode == AMOD_LM_SKIP_TOKEN ? a->sk_gate[r] : a->sk_gate[r / a->k];
}

static void block_forward(amod_lm_ctx *run, int l, int B) {
    amod_lm *m = run->m;
    const amod_lm_config *c = &m->cfg;
    const lm_block *p = &m->blk[l];
    lm_layer_acts *a = &run->la[l];
    const int D = c->d_model, F = c->d_ff, k = a->k, R = B * k, gpt2 = c->arch == AMOD_LM_GPT2;
    if (R == 0) return; /* the predictor sent no token through this block */
    norm_forward(m, a->ln1, a->mu1, a->rs1, a->xs, p->ln1_w, p->ln1_b, R);
    /* Attention runs on every sequence in training (the straight-through gradient needs its
     * output) and for token-level gates; otherwise only on the sequences whose gate is open. */
    int open = lm_is_skip(m, l) ? lm_skip_gates(run, l, B, k) : B;
    a->attn_ran = run->rs.grads || m->skip.mode != AMOD_LM_SKIP_SEQUENCE || !lm_is_skip(m, l) || open == B;
    if (a->attn_ran) {
        attn_sublayer(run, l, 0, B);
    } else {
        for (int b = 0; b < B; b++) {
            if (a->sk_gate[b] > 0.0f) {
                attn_sublayer(run, l, b, 1);
            } else {
                memset(a->proj + (size_t)b * k * D, 0, (size_t)k * D * sizeof(float));
                if (a->probs) memset(a->probs + (size_t)b * c->n_heads * k * k, 0, (size_t)c->n_heads * k * k * sizeof(float));
            }
        }
    }
#pragma omp parallel for schedule(static)
    for (int r = 0; r < R; r++) {
        const float gt = gate_of(m, a, l, r);
        const float *xr = a->xs + (size_t)r * D, *pr = a->proj + (size_t)r * D;
        float *o = a->x2 + (size_t)r * D;
        for (int i = 0; i < D; i++) o[i] = xr[i] + gt * pr[i];
    }
    norm_forward(m, a->ln2, a->mu2, a->rs2, a->x2, p->ln2_w, p->ln2_b, R);
    if (gpt2) {
        dense_forward(a->h1, F, a->ln2, p->w1, 1, p->b1, R, D, F);
        gelu_tanh_forward(a->g, a->h1, (size_t)R * F);
        dense_forward(a->y, D, a->g, p->w2, 1, p->b2, R, F, D);
    } else {
        dense_forward(a->h1, F, a->ln2, p->w1, 0, p->b1, R, D, F);
        dense_forward(a->h3, F, a->ln2, p->w3, 0, p->b3, R, D, F);
        swiglu_forward(a->g, a->h1, a->h3, (size_t)R * F);
        dense_forward(a->y, D, a->g, p->w2, 0, p->b2, R, F, D);
    }
    add_inplace(a->y, a->x2, (size_t)R * D);
    run->stats.macs_per_token += (double)R * D * F * (gpt2 ? 2 : 3);
}

/* ---- Mixture-of-Depths layers (model/mod_layer.c) and the causal predictor ---- */

static void block_backward(amod_lm_ctx *run, int l, int B, const float *dy, float *dx2);

/* The block behind a MoD layer; Llama's rotary angles follow each row's position. */
static void block_forward_hook(void *owner, int l, int B) {
    amod_lm_ctx *run = owner;
    lm_layer_acts *a = &run->la[l];
    for (int i = 0; i < B * a->k; i++) a->pos[i] = a->idx[i];
    block_forward(run, l, B);
}
static void block_backward_hook(void *owner, int l, int B, const float *dy, float *dx) {
    block_backward(owner, l, B, dy, dx);
}

static router_predictor predictor_of(const amod_lm_ctx *run, int l) {
    const amod_lm *m = run->m;
    const lm_block *p = &m->blk[l];
    router_predictor r = {p->pred_w1, p->pred_b1, p->pred_w2, p->pred_b2, G(p->pred_w1), G(p->pred_b1),
                          G(p->pred_w2), G(p->pred_b2), m->pred_hidden};
    return r;
}

/* MoD layer l of this context: causal A-MoD, no prefix, top-k or the predictor's choice. */
static mod_layer mod_layer_of(amod_lm_ctx *run, int l, int B, int T, const router_predictor *pred) {
    const amod_lm *m = run->m;
    lm_layer_acts *a = &run->la[l];
    const lm_layer_acts *prev = &run->la[l > 0 ? l - 1 : 0];
    mod_layer L = {.router = m->mod.router, .B = B, .N = T, .D = m->cfg.d_model, .causal = 1};
    L.heads = m->cfg.n_heads;
    L.by_predictor = run->route_mode == AMOD_LM_ROUTE_PREDICTOR;
    if (!L.by_predictor) a->k = amod_mod_tokens(m->mod.capacity, T, 0);
    L.k = &a->k;
    L.prev_probs = prev->probs, L.prev_col_sum = prev->col_sum;
    L.router_w = m->blk[l].router_w;
    L.pred = pred, L.pred_z = a->p_z, L.pred_threshold = m->pred_threshold[l];
    L.rng = &run->rs.rng;
    L.idx = a->idx, L.scores = a->scores, L.xs = a->xs, L.y = a->y;
    L.owner = run, L.layer = l;
    L.block_forward = block_forward_hook, L.block_backward = block_backward_hook;
    return L;
}

static int cmp_desc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

double lm_predictor_cut(float *sorted, const float *z, size_t n, size_t k) {
    if (sorted != z) memcpy(sorted, z, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_desc);
    if (k >= n) return (double)sorted[n - 1] - 1.0; /* every token runs: any cut below the smallest */
    if (k == 0) return (double)sorted[0] + 1.0;
    return 0.5 * ((double)sorted[k - 1] + (double)sorted[k]);
}

/* The predictor's training pass against the set top-k chose: its mean BCE; counts gets its
 * true positives, positives, true negatives and negatives added, at the layer's threshold;
 * the context records the cut that would have kept exactly k of each sequence's tokens. */
static double predictor_forward(amod_lm_ctx *run, int l, const router_predictor *pred, int B, int T,
                                int64_t counts[4]) {
    lm_layer_acts *a = &run->la[l];
    const int D = run->m->cfg.d_model, n = B * T;
    const float cut = run->m->pred_threshold[l];
    memset(a->p_target, 0, (size_t)n * sizeof(float));
    for (int bj = 0; bj < B * a->k; bj++) a->p_target[(size_t)(bj / a->k) * T + a->idx[bj]] = 1.0f;
    run->stats.macs_per_token += (double)n * ((double)D * pred->P + pred->P);
    const double bce = router_predictor_forward(pred, a->p_h, a->p_z, run->resid[l], a->p_target, n, D, NULL);
    for (int i = 0; i < n; i++) {
        const int y = a->p_target[i] > 0.5f, hit = (a->p_z[i] > cut) == y;
        counts[y ? 0 : 2] += hit, counts[y ? 1 : 3]++;
    }
    run->pred_cut_sum[l] = 0;
    for (int b = 0; b < B; b++) run->pred_cut_sum[l] += lm_predictor_cut(run->pred_sort, a->p_z + (size_t)b * T, T, a->k);
    run->pred_cut_seqs = B;
    return bce;
}

int lm_check_ids(const amod_lm *m, const int64_t *ids, int B, int T, amod_error *err) {
    const amod_lm_config *c = &m->cfg;
    if (B < 1 || T < 1) return amod_fail(err, "input_ids must hold at least one token (got [%d, %d])", B, T);
    if ((long long)B * T > (1LL << 24)) /* row counts are ints in the kernels */
        return amod_fail(err, "a batch of %d x %d tokens is too large for one pass (at most 2^24 tokens)", B, T);
    if (T > c->max_positions)
        return amod_fail(err, "sequence of %d tokens is longer than the model's %d positions", T, c->max_positions);
    for (int i = 0; i < B * T; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return amod_fail(err, "token id %lld at [%d, %d] is outside the vocabulary 0..%d", (long long)ids[i],
                             i / T, i % T, c->vocab_size - 1);
    return 0;
}

static int forward(amod_lm_ctx *run, const int64_t *ids, int B, int T, float *logits, float *loss, amod_error *err) {
    amod_lm *m = run->m;
    const amod_lm_config *c = &m->cfg;
    if (lm_check_ids(m, ids, B, T, err)) return -1;
    if (loss && T < 2) return amod_fail(err, "the next-token loss needs sequences of at least 2 tokens (got %d)", T);
    if (run->route_mode == AMOD_LM_ROUTE_PREDICTOR && m->mod.router != AMOD_ROUTER_NONE) {
        if (m->mod.router != AMOD_ROUTER_LINEAR || m->pred_hidden < 1)
            return amod_fail(err, "predictor routing needs the linear MoD router with a causal predictor");
        if (B != 1) return amod_fail(err, "predictor routing runs one sequence at a time (got a batch of %d)", B);
    }
    if (lm_ensure_acts(run, B, T, err)) return -1;
    if (run->rs.grads && !run_state_grads(&run->rs, m->pt.n_params, err)) return -1;
    const int D = c->d_model, V = c->vocab_size;
    const size_t BT = (size_t)B * T;
    memcpy(run->ids, ids, BT * sizeof *ids);
    for (size_t i = 0; i < BT; i++) run->pos_dense[i] = (int32_t)(i % T);
    memset(&run->stats, 0, sizeof run->stats);
    run->pred_cut_seqs = 0;
    run->B = B;
    run->T = T;
    token_embed_forward(run->resid[0], ids, m->wte, m->wpe, B, T, 0, D);
    double pred_bce = 0, ran = 0;
    int pred_layers = 0;
    int64_t pred_counts[4] = {0, 0, 0, 0}; /* true positives, positives, true negatives, negatives */
    for (int l = 0; l < c->n_layers; l++) {
        lm_layer_acts *a = &run->la[l];
        if (lm_is_mod(m, l)) {
            router_predictor pred = predictor_of(run, l);
            mod_layer L = mod_layer_of(run, l, B, T, &pred);
            mod_layer_forward(&L, run->resid[l + 1], run->resid[l]);
            run->stats.macs_per_token += L.macs;
            if (lm_has_predictor(m, l) && run->route_mode == AMOD_LM_ROUTE_TOPK) {
                pred_bce += predictor_forward(run, l, &pred, B, T, pred_counts);
                pred_layers++;
            }
            ran += (double)B * a->k;
        } else {
            block_forward(run, l, B);
            if (lm_is_skip(m, l)) {
                for (int r = 0; r < B * T; r++) ran += gate_of(m, a, l, r) > 0.0f;
            } else {
                ran += (double)BT;
            }
        }
    }
    norm_forward(m, run->normed, run->nmu, run->nrs, run->resid[c->n_layers], m->lnf_w, m->lnf_b, (int)BT);
    linear_forward(run->logits, run->normed, m->head_w, NULL, (int)BT, D, V);
    run->stats.macs_per_token = (run->stats.macs_per_token + (double)BT * D * V) / (double)BT;
    run->stats.attn_skipped = (float)(1.0 - ran / ((double)BT * c->n_layers));
    if (pred_layers) {
        run->stats.predictor_loss = (float)(pred_bce / pred_layers);
        const int64_t pred_correct = pred_counts[0] + pred_counts[2];
        run->stats.predictor_acc = (float)pred_correct / ((float)BT * pred_layers);
        const double tpr = pred_counts[1] ? (double)pred_counts[0] / pred_counts[1] : 1.0;
        const double tnr = pred_counts[3] ? (double)pred_counts[2] / pred_counts[3] : 1.0;
        run->stats.predictor_balanced = (float)(0.5 * (tpr + tnr));
        run->stats.predictor_skip_acc = (float)pred_counts[3] / (float)(pred_counts[1] + pred_counts[3]);
    }
    if (m->skip.mode != AMOD_LM_SKIP_NONE) lm_skip_stats(run, B, T);
    if (logits) memcpy(logits, run->logits, BT * V * sizeof *logits);
    run->have_loss = loss && run->rs.grads && run->route_mode == AMOD_LM_ROUTE_TOPK;
    if (loss) {
        *loss = (float)lm_cross_entropy(run->have_loss ? run->dlogits : NULL, run->logits, ids, B, T, V);
        run->stats.lm_loss = *loss;
    }
    return 0;
}

/* ---- backward ---- */

/* dy: gradient of the block output [R, D]; dx2 holds a copy of dy on entry and the gradient
 * of the block input on exit. */
static void block_backward(amod_lm_ctx *run, int l, int B, const float *dy, float *dx2) {
    amod_lm *m = run->m;
    const amod_lm_config *c = &m->cfg;
    const lm_block *p = &m->blk[l];
    const lm_layer_acts *a = &run->la[l];
    const int D = c->d_model, F = c->d_ff, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, k = a->k;
    const int R = B * k, W = (H + 2 * KV) * hd, qd = H * hd, kvd = KV * hd, gpt2 = c->arch == AMOD_LM_GPT2;
    /* MLP */
    if (gpt2) {
        dense_backward(run->d_h1, 0, G(p->w2), G(p->b2), dy, D, a->g, p->w2, 1, R, F, D);
        gelu_tanh_backward(run->d_h1, run->d_h1, a->h1, (size_t)R * F);
        dense_backward(run->rg.d_ln, 0, G(p->w1), G(p->b1), run->d_h1, F, a->ln2, p->w1, 1, R, D, F);
    } else {
        dense_backward(run->d_h1, 0, G(p->w2), G(p->b2), dy, D, a->g, p->w2, 0, R, F, D);
        swiglu_backward(run->d_h1, run->d_h3, run->d_h1, a->h1, a->h3, (size_t)R * F);
        dense_backward(run->rg.d_ln, 0, G(p->w1), G(p->b1), run->d_h1, F, a->ln2, p->w1, 0, R, D, F);
        dense_backward(run->rg.d_ln, 1, G(p->w3), G(p->b3), run->d_h3, F, a->ln2, p->w3, 0, R, D, F);
    }
    norm_backward(run, dx2, p->ln2_w, p->ln2_b, run->rg.d_ln, a->x2, a->mu2, a->rs2, R);
    /* attention sublayer: x2 = xs + gate * proj */
    const float *dproj = dx2;
    if (lm_is_skip(m, l)) {
        const int token = m->skip.mode == AMOD_LM_SKIP_TOKEN;
        memset(run->d_gate, 0, (size_t)R * sizeof(float));
        for (int r = 0; r < R; r++) {
            const float *g = dx2 + (size_t)r * D, *pr = a->proj + (size_t)r * D;
            float gt = gate_of(m, a, l, r), s = 0.0f, *d = run->d_proj + (size_t)r * D;
            for (int i = 0; i < D; i++) {
                s += g[i] * pr[i];
                d[i] = gt * g[i];
            }
            run->d_gate[token ? r : r / k] += s;
        }
        dproj = run->d_proj;
    }
    dense_backward(run->d_ao, 0, G(p->wo), G(p->bo), dproj, D, a->ao, p->wo, gpt2, R, qd, D);
    causal_attention_backward(run->d_qkv, run->d_ao, a->qkv, a->probs, B, k, H, KV, hd, run->d_attn, run->rs.scratch_threads);
    if (gpt2) {
        dense_backward(run->rg.d_ln, 0, G(p->wqkv), G(p->bqkv), run->d_qkv, W, a->ln1, p->wqkv, 1, R, D, 3 * D);
    } else {
        /* the rotation's backward is the inverse rotation */
        rope_apply(run->d_qkv, W, R, H, hd, a->pos, m->rope_cos, m->rope_sin, 1);
        rope_apply(run->d_qkv + qd, W, R, KV, hd, a->pos, m->rope_cos, m->rope_sin, 1);
        dense_backward(run->rg.d_ln, 0, G(p->wq), G(p->bq), run->d_qkv, W, a->ln1, p->wq, 0, R, D, qd);
        dense_backward(run->rg.d_ln, 1, G(p->wk), G(p->bk), run->d_qkv + qd, W, a->ln1, p->wk, 0, R, D, kvd);
        dense_backward(run->rg.d_ln, 1, G(p->wv), G(p->bv), run->d_qkv + qd + kvd, W, a->ln1, p->wv, 0, R, D, kvd);
    }
    if (lm_is_skip(m, l)) lm_skip_backward(run, l, B, k, run->d_gate, run->rg.d_ln);
    norm_backward(run, dx2, p->ln1_w, p->ln1_b, run->rg.d_ln, a->xs, a->mu1, a->rs1, R);
}

static int backward(amod_lm_ctx *run, amod_error *err) {
    amod_lm *m = run->m;
    const amod_lm_config *c = &m->cfg;
    if (run->rs.layout != m->layout)
        return amod_fail(err, "backward after the model's routing changed: run a forward pass first");
    if (!run->rs.grads) return amod_fail(err, "backward needs a forward pass with gradients enabled");
    if (!run->have_loss) return amod_fail(err, "backward needs a forward pass that computed the loss (top-k routing)");
    const int B = run->B, T = run->T, D = c->d_model, V = c->vocab_size, BT = B * T;
    linear_backward(run->d_normed, G(m->head_w), NULL, run->dlogits, run->normed, m->head_w, BT, D, V, 0);
    float *dcur = run->rg.d_a, *dnext = run->rg.d_b;
    memset(dcur, 0, (size_t)BT * D * sizeof(float));
    norm_backward(run, dcur, m->lnf_w, m->lnf_b, run->d_normed, run->resid[c->n_layers], run->nmu, run->nrs, BT);
    int pred_layers = 0;
    for (int l = 0; l < c->n_layers; l++) pred_layers += lm_has_predictor(m, l);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        if (lm_is_mod(m, l)) {
            const lm_layer_acts *a = &run->la[l];
            router_predictor pred = predictor_of(run, l);
            mod_layer L = mod_layer_of(run, l, B, T, &pred);
            L.router_dw = G(L.router_w);
            mod_layer_backward(&L, dnext, dcur, run->resid[l], run->rg.d_dy, run->rg.d_x2);
            /* the predictor sees a stop-gradient copy of x: only its own weights learn */
            if (lm_has_predictor(m, l))
                router_predictor_backward(&pred, run->d_pred, a->p_h, a->p_z, run->resid[l], a->p_target, BT, D,
                                          1.0f / pred_layers);
        } else {
            memcpy(dnext, dcur, (size_t)BT * D * sizeof(float));
            block_backward(run, l, B, dcur, dnext);
        }
        float *t = dcur;
        dcur = dnext;
        dnext = t;
    }
    token_embed_backward(G(m->wte), G(m->wpe), dcur, run->ids, B, T, D);
    return 0;
}

/* ---- what the last forward pass saw ---- */

int amod_lm_ctx_forward(amod_lm_ctx *run, const int64_t *ids, int B, int T, float *logits, float *loss,
                        amod_error *err) {
    const int before = amod_threads_push(run->rs.threads);
    int rc = forward(run, ids, B, T, logits, loss, err);
    amod_threads_pop(before);
    return rc;
}

int amod_lm_ctx_backward(amod_lm_ctx *run, amod_error *err) {
    const int before = amod_threads_push(run->rs.threads);
    int rc = backward(run, err);
    amod_threads_pop(before);
    return rc;
}

int amod_lm_forward(amod_lm *m, const int64_t *ids, int B, int T, float *logits, float *loss, amod_error *err) {
    return amod_lm_ctx_forward(m->dflt, ids, B, T, logits, loss, err);
}

int amod_lm_backward(amod_lm *m, amod_error *err) { return amod_lm_ctx_backward(m->dflt, err); }

const float *amod_lm_attention(const amod_lm *m, int layer) {
    const amod_lm_ctx *run = m->dflt;
    if (layer < 0 || layer >= m->cfg.n_layers || !run->rs.arena || lm_is_mod(m, layer)) return NULL;
    return run->la[layer].probs;
}

const int32_t *amod_lm_routed(const amod_lm *m, int layer, int *k) {
    const amod_lm_ctx *run = m->dflt;
    if (layer < 0 || layer >= m->cfg.n_layers || !run->rs.arena || !lm_is_mod(m, layer)) return NULL;
    if (k) *k = run->la[layer].k;
    return run->la[layer].idx;
}

const float *amod_lm_gates(const amod_lm *m, int layer) {
    const amod_lm_ctx *run = m->dflt;
    if (layer < 0 || layer >= m->cfg.n_layers || !run->rs.arena || !lm_is_skip(m, layer)) return NULL;
    return run->la[layer].sk_gate;
}

void amod_lm_get_stats(const amod_lm *m, amod_lm_stats *out) {
    const amod_lm_ctx *run = m->dflt; *out = run->stats; }
