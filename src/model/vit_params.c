/* ViT parameters: the layout of the one contiguous buffer, timm and Hugging Face names,
 * loading, saving and timm's random initialisation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "kernels/linear_packed.h"
#include "model/mod_config.h"
#include "model/pos_embed.h"
#include "model/vit_config.h"
#include "model/vit_internal.h"

/* Enumerates the tensors in a fixed order; the same order gives the same offsets. */
static void enumerate(void *model) {
    amod_vit *m = model;
    param_table *pt = &m->pt;
    const amod_vit_config *c = &m->cfg;
    const int D = c->embed_dim, Hm = c->mlp_hidden, p = c->patch_size;
    char name[96];
    ptab_add(pt, "patch_embed.proj.weight", 0, 4, D, c->in_chans, p, p);
    ptab_add(pt, "patch_embed.proj.bias", 0, 1, D, 0, 0, 0);
    ptab_add(pt, "cls_token", 0, 3, 1, 1, D, 0);
    ptab_add(pt, "pos_embed", 0, 3, 1, m->n_tokens, D, 0);
    for (int l = 0; l < c->depth; l++) {
#define ADD(suffix, ...)                                            \
    snprintf(name, sizeof name, "blocks.%d.%s", l, suffix);         \
    ptab_add(pt, name, 0, __VA_ARGS__)
        ADD("norm1.weight", 1, D, 0, 0, 0);
        ADD("norm1.bias", 1, D, 0, 0, 0);
        ADD("attn.qkv.weight", 2, 3 * D, D, 0, 0);
        if (c->qkv_bias) {
            ADD("attn.qkv.bias", 1, 3 * D, 0, 0, 0);
        }
        ADD("attn.proj.weight", 2, D, D, 0, 0);
        ADD("attn.proj.bias", 1, D, 0, 0, 0);
        ADD("norm2.weight", 1, D, 0, 0, 0);
        ADD("norm2.bias", 1, D, 0, 0, 0);
        ADD("mlp.fc1.weight", 2, Hm, D, 0, 0);
        ADD("mlp.fc1.bias", 1, Hm, 0, 0, 0);
        ADD("mlp.fc2.weight", 2, D, Hm, 0, 0);
        ADD("mlp.fc2.bias", 1, D, 0, 0, 0);
        if (m->mod.router == AMOD_ROUTER_LINEAR && m->mod.is_mod[l]) {
            ADD("router.weight", 2, 1, D, 0, 0);
        }
#undef ADD
    }
    ptab_add(pt, "norm.weight", 0, 1, D, 0, 0, 0);
    ptab_add(pt, "norm.bias", 0, 1, D, 0, 0, 0);
    ptab_add(pt, "head.weight", 0, 2, c->num_classes, D, 0, 0);
    ptab_add(pt, "head.bias", 0, 1, c->num_classes, 0, 0, 0);
}

static void bind_pointers(amod_vit *m) {
    param_table *pt = &m->pt;
    m->patch_w = ptab_find(pt, "patch_embed.proj.weight");
    m->patch_b = ptab_find(pt, "patch_embed.proj.bias");
    m->cls = ptab_find(pt, "cls_token");
    m->pos = ptab_find(pt, "pos_embed");
    m->norm_w = ptab_find(pt, "norm.weight");
    m->norm_b = ptab_find(pt, "norm.bias");
    m->head_w = ptab_find(pt, "head.weight");
    m->head_b = ptab_find(pt, "head.bias");
    for (int l = 0; l < m->cfg.depth; l++) {
        vit_block *b = &m->blk[l];
#define P(field, suffix) b->field = ptab_find(pt, "blocks.%d.%s", l, suffix)
        P(norm1_w, "norm1.weight");
        P(norm1_b, "norm1.bias");
        P(qkv_w, "attn.qkv.weight");
        P(qkv_b, "attn.qkv.bias");
        P(proj_w, "attn.proj.weight");
        P(proj_b, "attn.proj.bias");
        P(norm2_w, "norm2.weight");
        P(norm2_b, "norm2.bias");
        P(fc1_w, "mlp.fc1.weight");
        P(fc1_b, "mlp.fc1.bias");
        P(fc2_w, "mlp.fc2.weight");
        P(fc2_b, "mlp.fc2.bias");
        P(router_w, "router.weight");
#undef P
    }
}

/* (Re)builds the buffer for the current config and MoD setting, keeping the values of
 * tensors that exist in both the old and the new layout. */
int vit_build_layout(amod_vit *m, amod_error *err) {
    if (ptab_build(&m->pt, 16 + 14 * m->cfg.depth, enumerate, m, err)) return -1;
    bind_pointers(m);
    linear_engine_forget(m->lin); /* its copies were made from the old storage, now freed */
    return 0;
}

/* ---- Hugging Face names ---- */

/* One source of a timm tensor in an HF file: a name and the row range it fills. */
typedef struct {
    char name[512];
    size_t row0, rows;
} hf_part;

/* Maps a timm name to its HF parts (3 for qkv, else 1). style 0: the names transformers
 * writes to files (vit.encoder.layer.*); style 1: transformers 5's module names (vit.layers.*). */
static int hf_parts(const char *timm, int style, int D, hf_part parts[3]) {
    int l;
    char rest[96];
    memset(parts, 0, 3 * sizeof *parts);
    static const char *const top[][3] = {
        {"patch_embed.proj.weight", "vit.embeddings.patch_embeddings.projection.weight", NULL},
        {"patch_embed.proj.bias", "vit.embeddings.patch_embeddings.projection.bias", NULL},
        {"cls_token", "vit.embeddings.cls_token", NULL},
        {"pos_embed", "vit.embeddings.position_embeddings", NULL},
        {"norm.weight", "vit.layernorm.weight", NULL},
        {"norm.bias", "vit.layernorm.bias", NULL},
        {"head.weight", "classifier.weight", NULL},
        {"head.bias", "classifier.bias", NULL},
    };
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (!strcmp(timm, top[i][0])) {
            snprintf(parts[0].name, sizeof parts[0].name, "%s", top[i][1]);
            return 1;
        }
    if (sscanf(timm, "blocks.%d.%95s", &l, rest) != 2) return 0;
    const char *pre = style ? "vit.layers" : "vit.encoder.layer";
    static const char *const blk[][3] = {
        /* timm suffix, file name (style 0), module name (style 1) */
        {"norm1", "layernorm_before", "layernorm_before"},
        {"norm2", "layernorm_after", "layernorm_after"},
        {"attn.proj", "attention.output.dense", "attention.o_proj"},
        {"mlp.fc1", "intermediate.dense", "mlp.fc1"},
        {"mlp.fc2", "output.dense", "mlp.fc2"},
    };
    const char *kind = strrchr(rest, '.') + 1; /* weight or bias */
    size_t stem = (size_t)(kind - 1 - rest);
    if (!strncmp(rest, "attn.qkv", stem) && stem == 8) {
        static const char *const qkv[2][3] = {{"attention.attention.query", "attention.attention.key",
                                               "attention.attention.value"},
                                              {"attention.q_proj", "attention.k_proj", "attention.v_proj"}};
        for (int i = 0; i < 3; i++) {
            snprintf(parts[i].name, sizeof parts[i].name, "%s.%d.%s.%s", pre, l, qkv[style][i], kind);
            parts[i].row0 = (size_t)i * D;
            parts[i].rows = (size_t)D;
        }
        return 3;
    }
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
        if (strlen(blk[i][0]) == stem && !strncmp(rest, blk[i][0], stem)) {
            snprintf(parts[0].name, sizeof parts[0].name, "%s.%d.%s.%s", pre, l, blk[i][1 + style], kind);
            return 1;
        }
    return 0; /* e.g. router.weight: no HF counterpart */
}

int amod_vit_export_names(const amod_vit *m, int tensor, int style, char names[3][128], size_t row0[3],
                          size_t rows[3]) {
    const param_tensor *t = &m->pt.tensors[tensor];
    if (m->cfg.naming == AMOD_NAMING_TIMM) {
        snprintf(names[0], 128, "%s", t->name);
        row0[0] = 0;
        rows[0] = (size_t)t->shape[0];
        return 1;
    }
    hf_part parts[3];
    int n = hf_parts(t->name, style, m->cfg.embed_dim, parts);
    if (n == 0) { /* amod's own tensors keep their timm names */
        snprintf(names[0], 128, "%s", t->name);
        row0[0] = 0;
        rows[0] = (size_t)t->shape[0];
        return 1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 128, "%.127s", parts[i].name);
        row0[i] = parts[i].rows ? parts[i].row0 : 0;
        rows[i] = parts[i].rows ? parts[i].rows : (size_t)t->shape[0];
    }
    return n;
}

/* ---- loading ---- */

static int load_tensor(void *model, const st_file *f, int ti, amod_error *err) {
    amod_vit *m = model;
    const param_tensor *t = &m->pt.tensors[ti];
    float *dst = m->pt.params + t->offset;
    if (m->cfg.naming == AMOD_NAMING_TIMM) return ptab_read(&m->pt, f, ti, t->name, err);
    hf_part parts[3];
    size_t row_len = t->numel / (size_t)t->shape[0];
    for (int style = 0; style < 2; style++) {
        int n = hf_parts(t->name, style, m->cfg.embed_dim, parts);
        if (n == 0) return amod_fail(err, "%s: no Hugging Face name for '%s'", f->path, t->name);
        if (!st_find(f, parts[0].name) && style == 0) continue;
        for (int i = 0; i < n; i++) {
            int64_t shape[4];
            memcpy(shape, t->shape, sizeof shape);
            if (parts[i].rows) shape[0] = (int64_t)parts[i].rows;
            const st_tensor *s = st_expect(f, parts[i].name, t->ndim, shape, err);
            if (!s) return -1;
            st_read_f32(f, s, dst + parts[i].row0 * row_len);
        }
        return 0;
    }
    return -1;
}

static amod_vit *vit_new(const amod_vit_config *cfg, amod_error *err) {
    if (cfg->num_prefix != 1)
        return amod_fail(err, "only models with one prefix (CLS) token are supported"), NULL;
    if (cfg->depth < 1 || cfg->depth > AMOD_MAX_LAYERS || cfg->embed_dim < 1 || cfg->num_heads < 1 ||
        cfg->embed_dim % cfg->num_heads || cfg->patch_size < 1 || cfg->img_size % cfg->patch_size ||
        cfg->num_classes < 1 || cfg->in_chans < 1 || cfg->mlp_hidden < 1)
        return amod_fail(err, "invalid model shape (depth %d, width %d, heads %d, image %d, patch %d)",
                         cfg->depth, cfg->embed_dim, cfg->num_heads, cfg->img_size, cfg->patch_size), NULL;
    amod_vit *m = amod_zalloc(sizeof *m, err);
    if (!m) return NULL;
    m->cfg = *cfg;
    m->n_tokens = amod_vit_num_tokens(cfg);
    m->mod.router = AMOD_ROUTER_NONE;
    m->mod.capacity = 1.0f;
    m->lin = linear_engine_create();
    /* the model's own context (amod_vit_ctx_create's, with gradients: the model-level calls
     * train by default) */
    if (!(m->dflt = run_state_create(sizeof *m->dflt, 0, 1, 0, 0, err))) {
        amod_vit_free(m);
        return NULL;
    }
    m->dflt->m = m;
    if (vit_build_layout(m, err)) {
        amod_vit_free(m);
        return NULL;
    }
    return m;
}

amod_vit *amod_vit_load(const char *dir, amod_error *err) {
    char path[2048];
    amod_vit_config cfg;
    amod_mod_config mod;
    snprintf(path, sizeof path, "%s/config.json", dir);
    amod_vit *m = amod_config_load(path, &cfg, &mod, err) ? NULL : vit_new(&cfg, err);
    if (m && amod_config_load_labels(path, cfg.num_classes, &m->labels, &m->n_labels, err)) {
        amod_vit_free(m);
        return NULL;
    }
    if (m && (mod.router == AMOD_ROUTER_NONE || !amod_vit_set_mod(m, &mod, err)) &&
        !ptab_load(&m->pt, dir, load_tensor, m, err))
        return m;
    amod_vit_free(m);
    return NULL;
}

int amod_vit_load_params(amod_vit *m, const char *path, amod_error *err) {
    linear_engine_weights_changed(m->lin);
    return ptab_load_some(&m->pt, path, err);
}

/* timm's initialisation. */
static void init_tensor(void *model, const param_tensor *t, float *p, amod_rng *r) {
    const amod_vit_config *cfg = &((const amod_vit *)model)->cfg;
    const char *n = t->name;
    const int is_bias = ptab_is_bias(n);
    int is_norm = strstr(n, "norm") != NULL;
    if (!strcmp(n, "cls_token")) {
        for (size_t j = 0; j < t->numel; j++) p[j] = rng_normal(r) * 1e-6f;
    } else if (!strncmp(n, "patch_embed", 11)) {
        /* PyTorch's Conv2d default: uniform(+-1/sqrt(fan_in)) for weight and bias */
        float bound = 1.0f / sqrtf((float)(cfg->in_chans * cfg->patch_size * cfg->patch_size));
        for (size_t j = 0; j < t->numel; j++) p[j] = (2.0f * rng_uniform(r) - 1.0f) * bound;
    } else if (is_norm) {
        for (size_t j = 0; j < t->numel; j++) p[j] = is_bias ? 0.0f : 1.0f;
    } else if (is_bias) {
        memset(p, 0, t->numel * sizeof *p);
    } else {
        for (size_t j = 0; j < t->numel; j++) p[j] = rng_trunc_normal(r, 0.02f);
    }
}

amod_vit *amod_vit_create(const amod_vit_config *cfg, uint64_t seed, amod_error *err) {
    amod_vit *m = vit_new(cfg, err);
    if (!m) return NULL;
    ptab_init(&m->pt, seed, init_tensor, m); /* timm's initialisation, from the seed */
    return m;
}

void amod_vit_free(amod_vit *m) {
    if (m) {
        if (m->dflt) run_state_free(&m->dflt->rs);
        linear_engine_free(m->lin); /* the packed copies, then the weights */
        ptab_free(&m->pt);
        amod_labels_free(m->labels, m->n_labels);
    }
    free(m);
}

/* ---- routing ---- */

int amod_vit_set_mod(amod_vit *m, const amod_mod_config *mod, amod_error *err) {
    if (amod_mod_validate(mod, &m->cfg, err)) return -1;
    int had_routers = m->mod.router == AMOD_ROUTER_LINEAR;
    int old_mask = memcmp(m->mod.is_mod, mod->is_mod, sizeof mod->is_mod);
    amod_mod_config old = m->mod;
    m->mod = *mod;
    if (had_routers || mod->router == AMOD_ROUTER_LINEAR) {
        if (old_mask || had_routers != (mod->router == AMOD_ROUTER_LINEAR)) {
            if (vit_build_layout(m, err)) {
                m->mod = old;
                return -1;
            }
            /* New router weights start small and random (trunc normal, std 0.02), so scores
             * differ between tokens from the first step. */
            amod_rng r;
            rng_seed(&r, mod->seed ^ 0x726f75746572ull);
            for (int l = 0; l < m->cfg.depth; l++) {
                float *w = m->blk[l].router_w;
                int existed = had_routers && old.is_mod[l];
                if (w && !existed)
                    for (int i = 0; i < m->cfg.embed_dim; i++) w[i] = rng_trunc_normal(&r, 0.02f);
            }
        }
    }
    if (m->dflt) rng_seed(&m->dflt->rs.rng, mod->seed);
    m->layout++; /* every context carves its buffers for the new routing */
    linear_engine_weights_changed(m->lin); /* the layout may have moved */
    return 0;
}

/* ---- saving ---- */

int amod_vit_save(const amod_vit *m, const char *dir, amod_error *err) {
    char path[2048];
    int rc = ptab_save(&m->pt, dir, err);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!rc) rc = amod_config_save(path, &m->cfg, &m->mod, m->labels, m->n_labels, err);
    return rc;
}

/* ---- accessors ---- */

const amod_vit_config *amod_vit_get_config(const amod_vit *m) { return &m->cfg; }
const amod_mod_config *amod_vit_get_mod(const amod_vit *m) { return &m->mod; }
size_t amod_vit_num_params(const amod_vit *m) { return m->pt.n_params; }
float *amod_vit_params(amod_vit *m) {
    linear_engine_weights_changed(m->lin); /* the caller may write through the pointer */
    return m->pt.params;
}
float *amod_vit_grads(amod_vit *m) { return run_state_grads(&m->dflt->rs, m->pt.n_params, NULL); }
int amod_vit_num_tensors(const amod_vit *m) { return m->pt.n_tensors; }
const char *amod_vit_tensor_name(const amod_vit *m, int i) { return ptab_name(&m->pt, i); }
size_t amod_vit_tensor_offset(const amod_vit *m, int i) { return ptab_offset(&m->pt, i); }
int amod_vit_tensor_shape(const amod_vit *m, int i, int64_t shape[4]) { return ptab_shape(&m->pt, i, shape); }
uint64_t amod_vit_rng_state(const amod_vit *m) { return m->dflt->rs.rng.state; }
void amod_vit_set_rng_state(amod_vit *m, uint64_t state) { m->dflt->rs.rng.state = state; }
void amod_vit_zero_grad(amod_vit *m) {
    float *g = amod_vit_grads(m);
    if (g) memset(g, 0, m->pt.n_params * sizeof *g);
}

int amod_vit_set_labels(amod_vit *m, const char *const *names, int n, amod_error *err) {
    if (names && n != m->cfg.num_classes)
        return amod_fail(err, "%d class names for a model of %d classes", n, m->cfg.num_classes);
    char **copy = NULL;
    if (names) {
        if (!(copy = amod_zalloc((size_t)(n ? n : 1) * sizeof *copy, err))) return -1;
        for (int k = 0; k < n; k++)
            if (!(copy[k] = strdup(names[k] ? names[k] : ""))) {
                amod_labels_free(copy, k);
                return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
            }
    }
    amod_labels_free(m->labels, m->n_labels);
    m->labels = copy, m->n_labels = names ? n : 0;
    return 0;
}

const char *amod_vit_label(const amod_vit *m, int k) {
    return m->labels && k >= 0 && k < m->n_labels ? m->labels[k] : NULL;
}

amod_vit *amod_vit_reshape(const amod_vit *src, int num_classes, int img_size, uint64_t seed, amod_error *err) {
    amod_vit_config cfg = src->cfg;
    if (num_classes < 0 || img_size < 0) return amod_fail(err, "num_classes and img_size must be >= 0"), NULL;
    if (num_classes) cfg.num_classes = num_classes;
    if (img_size) cfg.img_size = img_size;
    if (cfg.img_size % cfg.patch_size)
        return amod_fail(err, "image size %d is not a multiple of the patch size %d", cfg.img_size, cfg.patch_size), NULL;
    amod_vit *m = amod_vit_create(&cfg, seed, err); /* the new head keeps this initialisation */
    if (!m) return NULL;
    if (src->mod.router != AMOD_ROUTER_NONE && amod_vit_set_mod(m, &src->mod, err)) {
        amod_vit_free(m);
        return NULL;
    }
    const int old_grid = src->cfg.img_size / src->cfg.patch_size, new_grid = cfg.img_size / cfg.patch_size;
    for (int i = 0; i < m->pt.n_tensors; i++) {
        const param_tensor *t = &m->pt.tensors[i];
        const int j = ptab_index(&src->pt, t->name);
        if (j < 0) continue;
        const param_tensor *o = &src->pt.tensors[j];
        float *to = m->pt.params + t->offset;
        const float *from = src->pt.params + o->offset;
        if (to == m->pos && old_grid != new_grid) {
            if (pos_embed_resample(to, from, old_grid, new_grid, cfg.embed_dim, cfg.num_prefix)) {
                amod_vit_free(m);
                return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory resampling the position embedding"), NULL;
            }
        } else if (t->numel == o->numel && !memcmp(t->shape, o->shape, sizeof t->shape)) {
            memcpy(to, from, t->numel * sizeof *to);
        } /* else: the classifier of a new class count, freshly initialised (timm's reset_classifier) */
    }
    if (cfg.num_classes == src->cfg.num_classes && src->labels &&
        amod_vit_set_labels(m, (const char *const *)src->labels, src->n_labels, err)) {
        amod_vit_free(m);
        return NULL;
    }
    amod_vit_weights_changed(m);
    return m;
}

amod_vit *amod_vit_drop_layers(const amod_vit *src, const unsigned char drop[AMOD_MAX_LAYERS], amod_error *err) {
    amod_vit_config cfg = src->cfg;
    int new_of[AMOD_MAX_LAYERS]; /* the block src's block l becomes, -1 when dropped */
    cfg.depth = 0;
    for (int l = 0; l < src->cfg.depth; l++) new_of[l] = drop[l] ? -1 : cfg.depth++;
    if (cfg.depth == src->cfg.depth) return amod_fail(err, "no layer to drop"), NULL;
    if (cfg.depth == 0) return amod_fail(err, "dropping every one of the %d blocks leaves no model", src->cfg.depth), NULL;
    amod_vit *m = amod_vit_create(&cfg, 0, err); /* dense: every tensor is copied below */
    if (!m) return NULL;
    for (int j = 0; j < src->pt.n_tensors; j++) {
        const param_tensor *o = &src->pt.tensors[j];
        if (o->router) continue; /* the new model is dense */
        char name[sizeof o->name + 16];
        int l, used = 0;
        if (sscanf(o->name, "blocks.%d.%n", &l, &used) == 1 && used > 0) {
            if (l < 0 || l >= src->cfg.depth || new_of[l] < 0) continue;
            snprintf(name, sizeof name, "blocks.%d.%s", new_of[l], o->name + used);
        } else {
            snprintf(name, sizeof name, "%s", o->name);
        }
        const int i = ptab_index(&m->pt, name);
        if (i < 0) continue;
        memcpy(m->pt.params + m->pt.tensors[i].offset, src->pt.params + o->offset, o->numel * sizeof(float));
    }
    if (src->labels && amod_vit_set_labels(m, (const char *const *)src->labels, src->n_labels, err)) {
        amod_vit_free(m);
        return NULL;
    }
    amod_vit_weights_changed(m);
    return m;
}
