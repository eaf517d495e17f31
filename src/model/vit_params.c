/* ViT parameters: the layout of the one contiguous buffer, timm and Hugging Face names,
 * loading, saving and timm's random initialisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "model/vit_internal.h"

static void add_tensor(amod_vit *m, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2,
                       int64_t d3) {
    vit_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int64_t dims[4] = {d0, d1, d2, d3};
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = dims[i];
        t->numel *= (size_t)dims[i];
    }
    t->offset = m->n_params;
    m->n_params += t->numel;
}

/* Enumerates the tensors in a fixed order; the same order gives the same offsets. */
static void enumerate(amod_vit *m) {
    const amod_vit_config *c = &m->cfg;
    const int D = c->embed_dim, Hm = c->mlp_hidden, p = c->patch_size;
    char name[96];
    m->n_tensors = 0;
    m->n_params = 0;
    add_tensor(m, "patch_embed.proj.weight", 4, D, c->in_chans, p, p);
    add_tensor(m, "patch_embed.proj.bias", 1, D, 0, 0, 0);
    add_tensor(m, "cls_token", 3, 1, 1, D, 0);
    add_tensor(m, "pos_embed", 3, 1, m->n_tokens, D, 0);
    for (int l = 0; l < c->depth; l++) {
#define ADD(suffix, ...)                                            \
    snprintf(name, sizeof name, "blocks.%d.%s", l, suffix);         \
    add_tensor(m, name, __VA_ARGS__)
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
    add_tensor(m, "norm.weight", 1, D, 0, 0, 0);
    add_tensor(m, "norm.bias", 1, D, 0, 0, 0);
    add_tensor(m, "head.weight", 2, c->num_classes, D, 0, 0);
    add_tensor(m, "head.bias", 1, c->num_classes, 0, 0, 0);
}

int vit_tensor_index(const amod_vit *m, const char *timm_name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, timm_name)) return i;
    return -1;
}

static float *param(amod_vit *m, const char *name) {
    int i = vit_tensor_index(m, name);
    return i < 0 ? NULL : m->params + m->tensors[i].offset;
}

static void bind_pointers(amod_vit *m) {
    char name[96];
    m->patch_w = param(m, "patch_embed.proj.weight");
    m->patch_b = param(m, "patch_embed.proj.bias");
    m->cls = param(m, "cls_token");
    m->pos = param(m, "pos_embed");
    m->norm_w = param(m, "norm.weight");
    m->norm_b = param(m, "norm.bias");
    m->head_w = param(m, "head.weight");
    m->head_b = param(m, "head.bias");
    for (int l = 0; l < m->cfg.depth; l++) {
        vit_block *b = &m->blk[l];
#define P(field, suffix)                                         \
    snprintf(name, sizeof name, "blocks.%d.%s", l, suffix);      \
    b->field = param(m, name)
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
    vit_tensor *old_t = m->tensors;
    float *old_p = m->params;
    int old_n = m->n_tensors;
    m->tensors = amod_zalloc((size_t)(16 + 14 * m->cfg.depth) * sizeof *m->tensors, err);
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
        int j = vit_tensor_index(m, old_t[i].name);
        if (j >= 0) memcpy(m->params + m->tensors[j].offset, old_p + old_t[i].offset, old_t[i].numel * sizeof(float));
    }
    free(old_t);
    free(old_p);
    free(m->grads);
    m->grads = grads;
    bind_pointers(m);
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
    const vit_tensor *t = &m->tensors[tensor];
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

static int load_tensor(amod_vit *m, const st_file *f, int ti, amod_error *err) {
    const vit_tensor *t = &m->tensors[ti];
    float *dst = m->params + t->offset;
    if (m->cfg.naming == AMOD_NAMING_TIMM) {
        const st_tensor *s = st_expect(f, t->name, t->ndim, t->shape, err);
        if (!s) return -1;
        st_read_f32(f, s, dst);
        return 0;
    }
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

static int check_finite(const amod_vit *m, const char *path, amod_error *err) {
    for (int i = 0; i < m->n_tensors; i++) {
        const float *p = m->params + m->tensors[i].offset;
        for (size_t j = 0; j < m->tensors[i].numel; j++)
            if (!isfinite(p[j]))
                return amod_fail(err, "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                 m->tensors[i].name, j);
    }
    return 0;
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
    m->grad_enabled = 1;
    rng_seed(&m->rng, 0);
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
    if (amod_config_load(path, &cfg, &mod, err)) return NULL;
    amod_vit *m = vit_new(&cfg, err);
    if (!m) return NULL;
    if (mod.router != AMOD_ROUTER_NONE && amod_vit_set_mod(m, &mod, err)) {
        amod_vit_free(m);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file f;
    if (st_open(&f, path, err)) {
        amod_vit_free(m);
        return NULL;
    }
    int rc = 0;
    for (int i = 0; i < m->n_tensors && !rc; i++) rc = load_tensor(m, &f, i, err);
    st_close(&f);
    if (!rc) rc = check_finite(m, path, err);
    if (rc) {
        amod_vit_free(m);
        return NULL;
    }
    return m;
}

int amod_vit_load_params(amod_vit *m, const char *path, amod_error *err) {
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = 0;
    for (int i = 0; i < f.n && !rc; i++) {
        int ti = vit_tensor_index(m, f.tensors[i].name);
        if (ti < 0) {
            rc = amod_fail(err, "%s: tensor '%s' is not a parameter of this model", path, f.tensors[i].name);
            break;
        }
        const vit_tensor *t = &m->tensors[ti];
        const st_tensor *s = st_expect(&f, t->name, t->ndim, t->shape, err);
        if (!s) rc = -1;
        else st_read_f32(&f, s, m->params + t->offset);
    }
    st_close(&f);
    return rc ? rc : check_finite(m, path, err);
}

amod_vit *amod_vit_create(const amod_vit_config *cfg, uint64_t seed, amod_error *err) {
    amod_vit *m = vit_new(cfg, err);
    if (!m) return NULL;
    amod_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const vit_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        const char *n = t->name;
        size_t len = strlen(n);
        int is_bias = len > 5 && !strcmp(n + len - 5, ".bias");
        int is_norm = strstr(n, "norm") != NULL;
        if (!strcmp(n, "cls_token")) {
            for (size_t j = 0; j < t->numel; j++) p[j] = rng_normal(&r) * 1e-6f;
        } else if (!strncmp(n, "patch_embed", 11)) {
            /* PyTorch's Conv2d default: uniform(+-1/sqrt(fan_in)) for weight and bias */
            float bound = 1.0f / sqrtf((float)(cfg->in_chans * cfg->patch_size * cfg->patch_size));
            for (size_t j = 0; j < t->numel; j++) p[j] = (2.0f * rng_uniform(&r) - 1.0f) * bound;
        } else if (is_norm) {
            for (size_t j = 0; j < t->numel; j++) p[j] = is_bias ? 0.0f : 1.0f;
        } else if (is_bias) {
            memset(p, 0, t->numel * sizeof *p);
        } else {
            for (size_t j = 0; j < t->numel; j++) p[j] = rng_trunc_normal(&r, 0.02f);
        }
    }
    return m;
}

void amod_vit_free(amod_vit *m) {
    if (!m) return;
    vit_free_acts(m);
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m);
}

/* ---- saving ---- */

int amod_vit_save(const amod_vit *m, const char *dir, amod_error *err) {
    char path[2048];
    st_writer w = {0};
    int rc = 0;
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const vit_tensor *t = &m->tensors[i];
        rc = st_writer_add_f32(&w, t->name, t->ndim, t->shape, m->params + t->offset, err);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!rc) rc = amod_config_save(path, &m->cfg, &m->mod, err);
    return rc;
}

/* ---- accessors ---- */

const amod_vit_config *amod_vit_get_config(const amod_vit *m) { return &m->cfg; }
const amod_mod_config *amod_vit_get_mod(const amod_vit *m) { return &m->mod; }
size_t amod_vit_num_params(const amod_vit *m) { return m->n_params; }
float *amod_vit_params(amod_vit *m) { return m->params; }
float *amod_vit_grads(amod_vit *m) { return m->grads; }
int amod_vit_num_tensors(const amod_vit *m) { return m->n_tensors; }
const char *amod_vit_tensor_name(const amod_vit *m, int i) { return m->tensors[i].name; }
size_t amod_vit_tensor_offset(const amod_vit *m, int i) { return m->tensors[i].offset; }
int amod_vit_tensor_shape(const amod_vit *m, int i, int64_t shape[4]) {
    memcpy(shape, m->tensors[i].shape, sizeof m->tensors[i].shape);
    return m->tensors[i].ndim;
}
uint64_t amod_vit_rng_state(const amod_vit *m) { return m->rng.state; }
void amod_vit_set_rng_state(amod_vit *m, uint64_t state) { m->rng.state = state; }
void amod_vit_zero_grad(amod_vit *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }
