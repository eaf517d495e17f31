/* Language-model parameters: the layout of the one contiguous buffer under Hugging Face
 * names and shapes, router tensors after the base ones, initialisation, accessors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/lm_kernels.h"
#include "model/lm_internal.h"

int lm_is_mod(const amod_lm *m, int l) { return m->mod.router != AMOD_ROUTER_NONE && m->mod.is_mod[l]; }
int lm_has_predictor(const amod_lm *m, int l) { return lm_is_mod(m, l) && m->blk[l].pred_w1 != NULL; }
int lm_is_skip(const amod_lm *m, int l) { return m->skip.mode != AMOD_LM_SKIP_NONE && m->skip.routed[l]; }

void lm_block_prefix(const amod_lm *m, int l, char *out, size_t size) {
    snprintf(out, size, m->cfg.arch == AMOD_LM_GPT2 ? "transformer.h.%d" : "model.layers.%d", l);
}

static void add(amod_lm *m, int router, const char *name, int ndim, int64_t d0, int64_t d1) {
    ptab_add(&m->pt, name, router, ndim, d0, d1, 0, 0);
}

/* Block tensor: "{prefix}.{suffix}". */
static void add_blk(amod_lm *m, int l, int router, const char *suffix, int ndim, int64_t d0, int64_t d1) {
    char pre[48], name[96];
    lm_block_prefix(m, l, pre, sizeof pre);
    snprintf(name, sizeof name, "%s.%s", pre, suffix);
    add(m, router, name, ndim, d0, d1);
}

/* Enumerates the tensors in a fixed order: base model first, then the router tensors, so
 * that Router-Tuning's trainable part is one tail of the buffer. */
static void enumerate(void *model) {
    amod_lm *m = model;
    const amod_lm_config *c = &m->cfg;
    const int D = c->d_model, F = c->d_ff, V = c->vocab_size;
    const int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    if (c->arch == AMOD_LM_GPT2) {
        add(m, 0, "transformer.wte.weight", 2, V, D);
        add(m, 0, "transformer.wpe.weight", 2, c->max_positions, D);
        for (int l = 0; l < c->n_layers; l++) {
            add_blk(m, l, 0, "ln_1.weight", 1, D, 0);
            add_blk(m, l, 0, "ln_1.bias", 1, D, 0);
            add_blk(m, l, 0, "attn.c_attn.weight", 2, D, 3 * D);
            add_blk(m, l, 0, "attn.c_attn.bias", 1, 3 * D, 0);
            add_blk(m, l, 0, "attn.c_proj.weight", 2, D, D);
            add_blk(m, l, 0, "attn.c_proj.bias", 1, D, 0);
            add_blk(m, l, 0, "ln_2.weight", 1, D, 0);
            add_blk(m, l, 0, "ln_2.bias", 1, D, 0);
            add_blk(m, l, 0, "mlp.c_fc.weight", 2, D, F);
            add_blk(m, l, 0, "mlp.c_fc.bias", 1, F, 0);
            add_blk(m, l, 0, "mlp.c_proj.weight", 2, F, D);
            add_blk(m, l, 0, "mlp.c_proj.bias", 1, D, 0);
        }
        add(m, 0, "transformer.ln_f.weight", 1, D, 0);
        add(m, 0, "transformer.ln_f.bias", 1, D, 0);
    } else {
        add(m, 0, "model.embed_tokens.weight", 2, V, D);
        for (int l = 0; l < c->n_layers; l++) {
            add_blk(m, l, 0, "input_layernorm.weight", 1, D, 0);
            add_blk(m, l, 0, "self_attn.q_proj.weight", 2, qd, D);
            add_blk(m, l, 0, "self_attn.k_proj.weight", 2, kvd, D);
            add_blk(m, l, 0, "self_attn.v_proj.weight", 2, kvd, D);
            add_blk(m, l, 0, "self_attn.o_proj.weight", 2, D, qd);
            if (c->attn_bias) {
                add_blk(m, l, 0, "self_attn.q_proj.bias", 1, qd, 0);
                add_blk(m, l, 0, "self_attn.k_proj.bias", 1, kvd, 0);
                add_blk(m, l, 0, "self_attn.v_proj.bias", 1, kvd, 0);
                add_blk(m, l, 0, "self_attn.o_proj.bias", 1, D, 0);
            }
            add_blk(m, l, 0, "post_attention_layernorm.weight", 1, D, 0);
            add_blk(m, l, 0, "mlp.gate_proj.weight", 2, F, D);
            add_blk(m, l, 0, "mlp.up_proj.weight", 2, F, D);
            add_blk(m, l, 0, "mlp.down_proj.weight", 2, D, F);
            if (c->mlp_bias) {
                add_blk(m, l, 0, "mlp.gate_proj.bias", 1, F, 0);
                add_blk(m, l, 0, "mlp.up_proj.bias", 1, F, 0);
                add_blk(m, l, 0, "mlp.down_proj.bias", 1, D, 0);
            }
        }
        add(m, 0, "model.norm.weight", 1, D, 0);
    }
    if (!c->tie_embeddings) add(m, 0, "lm_head.weight", 2, V, D);
    m->n_base_params = m->pt.n_params;
    for (int l = 0; l < c->n_layers; l++) {
        if (lm_is_mod(m, l) && m->mod.router == AMOD_ROUTER_LINEAR) {
            add_blk(m, l, 1, "mod_router.weight", 2, 1, D);
            if (m->pred_hidden > 0) {
                add_blk(m, l, 1, "mod_predictor.fc1.weight", 2, m->pred_hidden, D);
                add_blk(m, l, 1, "mod_predictor.fc1.bias", 1, m->pred_hidden, 0);
                add_blk(m, l, 1, "mod_predictor.fc2.weight", 2, 1, m->pred_hidden);
                add_blk(m, l, 1, "mod_predictor.fc2.bias", 1, 1, 0);
            }
        }
        if (lm_is_skip(m, l)) add_blk(m, l, 1, "mindskip_router.weight", 2, 1, D);
    }
}

float *lm_grad(const amod_lm_ctx *run, const float *p) {
    const amod_lm *m = run->m;
    if (!p) return NULL;
    return m->freeze_base && (size_t)(p - m->pt.params) < m->n_base_params ? NULL : ptab_grad(&m->pt, run->rs.grad, p);
}

static void bind(amod_lm *m) {
    const int gpt2 = m->cfg.arch == AMOD_LM_GPT2;
    param_table *pt = &m->pt;
    char pre[48];
    m->wte = ptab_find(pt, "%s", gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight");
    m->wpe = gpt2 ? ptab_find(pt, "transformer.wpe.weight") : NULL;
    m->lnf_w = ptab_find(pt, "%s", gpt2 ? "transformer.ln_f.weight" : "model.norm.weight");
    m->lnf_b = gpt2 ? ptab_find(pt, "transformer.ln_f.bias") : NULL;
    m->head_w = m->cfg.tie_embeddings ? m->wte : ptab_find(pt, "lm_head.weight");
    for (int l = 0; l < m->cfg.n_layers; l++) {
        lm_block *b = &m->blk[l];
        memset(b, 0, sizeof *b);
        lm_block_prefix(m, l, pre, sizeof pre);
#define P(field, suffix) b->field = ptab_find(pt, "%s.%s", pre, suffix)
        if (gpt2) {
            P(ln1_w, "ln_1.weight");
            P(ln1_b, "ln_1.bias");
            P(wqkv, "attn.c_attn.weight");
            P(bqkv, "attn.c_attn.bias");
            P(wo, "attn.c_proj.weight");
            P(bo, "attn.c_proj.bias");
            P(ln2_w, "ln_2.weight");
            P(ln2_b, "ln_2.bias");
            P(w1, "mlp.c_fc.weight");
            P(b1, "mlp.c_fc.bias");
            P(w2, "mlp.c_proj.weight");
            P(b2, "mlp.c_proj.bias");
        } else {
            P(ln1_w, "input_layernorm.weight");
            P(wq, "self_attn.q_proj.weight");
            P(wk, "self_attn.k_proj.weight");
            P(wv, "self_attn.v_proj.weight");
            P(wo, "self_attn.o_proj.weight");
            P(bq, "self_attn.q_proj.bias");
            P(bk, "self_attn.k_proj.bias");
            P(bv, "self_attn.v_proj.bias");
            P(bo, "self_attn.o_proj.bias");
            P(ln2_w, "post_attention_layernorm.weight");
            P(w1, "mlp.gate_proj.weight");
            P(w3, "mlp.up_proj.weight");
            P(w2, "mlp.down_proj.weight");
            P(b1, "mlp.gate_proj.bias");
            P(b3, "mlp.up_proj.bias");
            P(b2, "mlp.down_proj.bias");
        }
        P(router_w, "mod_router.weight");
        P(pred_w1, "mod_predictor.fc1.weight");
        P(pred_b1, "mod_predictor.fc1.bias");
        P(pred_w2, "mod_predictor.fc2.weight");
        P(pred_b2, "mod_predictor.fc2.bias");
        P(skip_w, "mindskip_router.weight");
#undef P
    }
}

/* (Re)builds the buffer for the current routing, keeping the values of tensors that exist in
 * both the old and the new layout. */
int lm_build_layout(amod_lm *m, amod_error *err) {
    const size_t old_base = m->n_base_params;
    if (ptab_build(&m->pt, 8 + 24 * m->cfg.n_layers, enumerate, m, err)) {
        m->n_base_params = old_base;
        return -1;
    }
    bind(m);
    return 0;
}

/* ---- creation ---- */

static int check_shape(const amod_lm_config *c, amod_error *err) {
    if (c->n_layers < 1 || c->n_layers > AMOD_MAX_LAYERS || c->d_model < 1 || c->n_heads < 1 || c->n_kv_heads < 1 ||
        c->n_heads % c->n_kv_heads || c->head_dim < 1 || c->d_ff < 1 || c->vocab_size < 1 || c->max_positions < 1 ||
        (c->arch == AMOD_LM_GPT2 && (c->n_heads != c->n_kv_heads || c->n_heads * c->head_dim != c->d_model)) ||
        (c->arch == AMOD_LM_LLAMA && c->head_dim % 2) || !(c->norm_eps > 0))
        return amod_fail(err, "invalid language model shape (layers %d, width %d, heads %d, kv heads %d, head dim %d)",
                         c->n_layers, c->d_model, c->n_heads, c->n_kv_heads, c->head_dim);
    return 0;
}

amod_lm *lm_new(const amod_lm_config *cfg, amod_error *err) {
    if (check_shape(cfg, err)) return NULL;
    amod_lm *m = amod_zalloc(sizeof *m, err);
    if (!m) return NULL;
    m->cfg = *cfg;
    m->mod.router = AMOD_ROUTER_NONE;
    m->mod.capacity = 1.0f;
    /* the model's own context (amod_lm_ctx_create's, with gradients: the model-level calls
     * train by default) */
    if (!(m->dflt = run_state_create(sizeof *m->dflt, 0, 1, 0, 0, err))) {
        free(m);
        return NULL;
    }
    m->dflt->m = m;
    if (cfg->arch == AMOD_LM_LLAMA) {
        size_t n = (size_t)cfg->max_positions * (cfg->head_dim / 2);
        m->rope_cos = amod_alloc(n * sizeof(float), err);
        m->rope_sin = amod_alloc(n * sizeof(float), err);
        if (!m->rope_cos || !m->rope_sin) {
            amod_lm_free(m);
            return NULL;
        }
        rope_tables(m->rope_cos, m->rope_sin, cfg->max_positions, cfg->head_dim, cfg->rope_theta);
    }
    if (lm_build_layout(m, err)) {
        amod_lm_free(m);
        return NULL;
    }
    return m;
}

static int is_norm(const char *n) { return strstr(n, "ln_") || strstr(n, "layernorm") || strstr(n, "norm.weight"); }

static void init_tensor(void *model, const param_tensor *t, float *p, amod_rng *r) {
    const int bias = ptab_is_bias(t->name);
    if (is_norm(t->name) && !bias)
        for (size_t j = 0; j < t->numel; j++) p[j] = 1.0f;
    else if (bias)
        memset(p, 0, t->numel * sizeof *p);
    else /* transformers' _init_weights: normal(0, initializer_range = 0.02) */
        for (size_t j = 0; j < t->numel; j++) p[j] = rng_normal(r) * 0.02f;
}

amod_lm *amod_lm_create(const amod_lm_config *cfg, uint64_t seed, amod_error *err) {
    amod_lm *m = lm_new(cfg, err);
    if (m) ptab_init(&m->pt, seed, init_tensor, m);
    return m;
}

void amod_lm_free(amod_lm *m) {
    if (!m) return;
    if (m->dflt) run_state_free(&m->dflt->rs);
    ptab_free(&m->pt);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m);
}

/* ---- accessors ---- */

const amod_lm_config *amod_lm_get_config(const amod_lm *m) { return &m->cfg; }
size_t amod_lm_num_params(const amod_lm *m) { return m->pt.n_params; }
float *amod_lm_params(amod_lm *m) { return m->pt.params; }
float *amod_lm_grads(amod_lm *m) { return run_state_grads(&m->dflt->rs, m->pt.n_params, NULL); }
int amod_lm_num_tensors(const amod_lm *m) { return m->pt.n_tensors; }
const char *amod_lm_tensor_name(const amod_lm *m, int i) { return ptab_name(&m->pt, i); }
size_t amod_lm_tensor_offset(const amod_lm *m, int i) { return ptab_offset(&m->pt, i); }
int amod_lm_tensor_is_router(const amod_lm *m, int i) {
    const param_tensor *t = ptab_tensor(&m->pt, i);
    return t && t->router;
}
int amod_lm_tensor_shape(const amod_lm *m, int i, int64_t shape[4]) { return ptab_shape(&m->pt, i, shape); }
void amod_lm_zero_grad(amod_lm *m) {
    float *g = amod_lm_grads(m);
    if (g) memset(g, 0, m->pt.n_params * sizeof *g);
}
void amod_lm_freeze_base(amod_lm *m, int freeze) { m->freeze_base = !!freeze; }

uint64_t amod_lm_rng_state(const amod_lm *m) { return m->dflt->rs.rng.state; }
void amod_lm_set_rng_state(amod_lm *m, uint64_t state) { m->dflt->rs.rng.state = state; }
