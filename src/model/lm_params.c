/* Language-model parameters: the layout of the one contiguous buffer under Hugging Face
 * names and shapes, router tensors after the base ones, loading, saving, initialisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/lm_config.h"
#include "io/safetensors.h"
#include "kernels/lm_kernels.h"
#include "model/lm_internal.h"

void lm_block_prefix(const amod_lm *m, int l, char *out, size_t size) {
    snprintf(out, size, m->cfg.arch == AMOD_LM_GPT2 ? "transformer.h.%d" : "model.layers.%d", l);
}

static void add(amod_lm *m, int router, const char *name, int ndim, int64_t d0, int64_t d1) {
    lm_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    t->offset = m->n_params;
    t->router = router;
    m->n_params += t->numel;
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
static void enumerate(amod_lm *m) {
    const amod_lm_config *c = &m->cfg;
    const int D = c->d_model, F = c->d_ff, V = c->vocab_size;
    const int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    m->n_tensors = 0;
    m->n_params = 0;
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
    m->n_base_params = m->n_params;
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

int lm_tensor_index(const amod_lm *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return i;
    return -1;
}

static float *param(amod_lm *m, const char *name) {
    int i = lm_tensor_index(m, name);
    return i < 0 ? NULL : m->params + m->tensors[i].offset;
}

float *lm_grad(const amod_lm *m, const float *p) {
    if (!p) return NULL;
    size_t off = (size_t)(p - m->params);
    return m->freeze_base && off < m->n_base_params ? NULL : m->grads + off;
}

static void bind(amod_lm *m) {
    const int gpt2 = m->cfg.arch == AMOD_LM_GPT2;
    char pre[48], name[128];
    m->wte = param(m, gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight");
    m->wpe = gpt2 ? param(m, "transformer.wpe.weight") : NULL;
    m->lnf_w = param(m, gpt2 ? "transformer.ln_f.weight" : "model.norm.weight");
    m->lnf_b = gpt2 ? param(m, "transformer.ln_f.bias") : NULL;
    m->head_w = m->cfg.tie_embeddings ? m->wte : param(m, "lm_head.weight");
    for (int l = 0; l < m->cfg.n_layers; l++) {
        lm_block *b = &m->blk[l];
        memset(b, 0, sizeof *b);
        lm_block_prefix(m, l, pre, sizeof pre);
#define P(field, suffix)                                   \
    snprintf(name, sizeof name, "%s.%s", pre, suffix);     \
    b->field = param(m, name)
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
    lm_tensor *old_t = m->tensors;
    float *old_p = m->params;
    int old_n = m->n_tensors;
    int cap = 8 + 24 * m->cfg.n_layers;
    m->tensors = amod_zalloc((size_t)cap * sizeof *m->tensors, err);
    if (!m->tensors) {
        m->tensors = old_t;
        return -1;
    }
    enumerate(m);
    m->params = amod_zalloc(m->n_params * sizeof(float), err);
    float *grads = amod_zalloc(m->n_params * sizeof(float), err);
    if (!m->params || !grads) {
        free(m->params);
        free(grads);
        free(m->tensors);
        m->tensors = old_t, m->params = old_p, m->n_tensors = old_n;
        return -1;
    }
    for (int i = 0; i < old_n; i++) {
        int j = lm_tensor_index(m, old_t[i].name);
        if (j >= 0) memcpy(m->params + m->tensors[j].offset, old_p + old_t[i].offset, old_t[i].numel * sizeof(float));
    }
    free(old_t);
    free(old_p);
    free(m->grads);
    m->grads = grads;
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

static amod_lm *lm_new(const amod_lm_config *cfg, amod_error *err) {
    if (check_shape(cfg, err)) return NULL;
    amod_lm *m = amod_zalloc(sizeof *m, err);
    if (!m) return NULL;
    m->cfg = *cfg;
    m->mod.router = AMOD_ROUTER_NONE;
    m->mod.capacity = 1.0f;
    m->grad_enabled = 1;
    rng_seed(&m->rng, 0);
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

amod_lm *amod_lm_create(const amod_lm_config *cfg, uint64_t seed, amod_error *err) {
    amod_lm *m = lm_new(cfg, err);
    if (!m) return NULL;
    amod_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const lm_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        size_t len = strlen(t->name);
        int bias = len > 5 && !strcmp(t->name + len - 5, ".bias");
        if (is_norm(t->name) && !bias)
            for (size_t j = 0; j < t->numel; j++) p[j] = 1.0f;
        else if (bias)
            memset(p, 0, t->numel * sizeof *p);
        else /* transformers' _init_weights: normal(0, initializer_range = 0.02) */
            for (size_t j = 0; j < t->numel; j++) p[j] = rng_normal(&r) * 0.02f;
    }
    return m;
}

void amod_lm_free(amod_lm *m) {
    if (!m) return;
    lm_free_acts(m);
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m);
}

/* ---- loading ---- */

/* Old GPT-2 files (openai-community/gpt2) name tensors without the "transformer." prefix. */
static const st_tensor *find_tensor(const st_file *f, const char *name) {
    const st_tensor *s = st_find(f, name);
    if (!s && !strncmp(name, "transformer.", 12)) s = st_find(f, name + 12);
    return s;
}

static int load_tensor(amod_lm *m, const st_file *f, int i, amod_error *err) {
    const lm_tensor *t = &m->tensors[i];
    const st_tensor *s = find_tensor(f, t->name);
    if (!s) return amod_fail(err, "%s: missing tensor '%s'", f->path, t->name);
    if (!st_expect(f, s->name, t->ndim, t->shape, err)) return -1;
    st_read_f32(f, s, m->params + t->offset);
    return 0;
}

static int check_finite(const amod_lm *m, const char *path, amod_error *err) {
    for (int i = 0; i < m->n_tensors; i++) {
        const float *p = m->params + m->tensors[i].offset;
        for (size_t j = 0; j < m->tensors[i].numel; j++)
            if (!isfinite(p[j]))
                return amod_fail(err, "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                 m->tensors[i].name, j);
    }
    return 0;
}

amod_lm *amod_lm_load(const char *dir, amod_error *err) {
    char path[2048];
    amod_lm_config cfg;
    lm_routing routing;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (lm_config_load(path, &cfg, &routing, err)) return NULL;
    amod_lm *m = lm_new(&cfg, err);
    if (!m) return NULL;
    if (routing.mod.router != AMOD_ROUTER_NONE &&
        amod_lm_set_mod(m, &routing.mod, routing.predictor_hidden, err)) {
        amod_fail_prefix(err, path);
        amod_lm_free(m);
        return NULL;
    }
    if (routing.skip.mode != AMOD_LM_SKIP_NONE && amod_lm_set_mindskip(m, &routing.skip, err)) {
        amod_fail_prefix(err, path);
        amod_lm_free(m);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file f;
    if (st_open(&f, path, err)) {
        amod_lm_free(m);
        return NULL;
    }
    int rc = 0;
    for (int i = 0; i < m->n_tensors && !rc; i++) rc = load_tensor(m, &f, i, err);
    st_close(&f);
    if (!rc) rc = check_finite(m, path, err);
    if (rc) {
        amod_lm_free(m);
        return NULL;
    }
    return m;
}

int amod_lm_load_params(amod_lm *m, const char *path, amod_error *err) {
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = 0;
    for (int i = 0; i < f.n && !rc; i++) {
        int ti = lm_tensor_index(m, f.tensors[i].name);
        if (ti < 0) {
            rc = amod_fail(err, "%s: tensor '%s' is not a parameter of this model", path, f.tensors[i].name);
            break;
        }
        rc = load_tensor(m, &f, ti, err);
    }
    st_close(&f);
    return rc ? rc : check_finite(m, path, err);
}

/* ---- saving ---- */

int amod_lm_save(const amod_lm *m, const char *dir, amod_error *err) {
    char path[2048];
    st_writer w = {0};
    int rc = 0;
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const lm_tensor *t = &m->tensors[i];
        rc = st_writer_add_f32(&w, t->name, t->ndim, t->shape, m->params + t->offset, err);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    lm_routing r;
    memset(&r, 0, sizeof r);
    r.mod = m->mod;
    r.predictor_hidden = m->pred_hidden;
    r.skip = m->skip;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!rc) rc = lm_config_save(path, &m->cfg, &r, err);
    return rc;
}

/* ---- accessors ---- */

const amod_lm_config *amod_lm_get_config(const amod_lm *m) { return &m->cfg; }
size_t amod_lm_num_params(const amod_lm *m) { return m->n_params; }
float *amod_lm_params(amod_lm *m) { return m->params; }
float *amod_lm_grads(amod_lm *m) { return m->grads; }
int amod_lm_num_tensors(const amod_lm *m) { return m->n_tensors; }
const char *amod_lm_tensor_name(const amod_lm *m, int i) { return m->tensors[i].name; }
size_t amod_lm_tensor_offset(const amod_lm *m, int i) { return m->tensors[i].offset; }
int amod_lm_tensor_is_router(const amod_lm *m, int i) { return m->tensors[i].router; }
int amod_lm_tensor_shape(const amod_lm *m, int i, int64_t shape[4]) {
    memcpy(shape, m->tensors[i].shape, sizeof m->tensors[i].shape);
    return m->tensors[i].ndim;
}
void amod_lm_zero_grad(amod_lm *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }
void amod_lm_freeze_base(amod_lm *m, int freeze) { m->freeze_base = !!freeze; }
