/* The ViT forward and backward passes, with Mixture-of-Depths layers that run their block
 * on the k selected tokens only. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/bf16.h"
#include "kernels/kernels.h"
#include "kernels/linear_packed.h"
#include "model/mod_layer.h"
#include "model/vit_internal.h"

#define G(ptr) ptab_grad(&m->pt, c->rs.grad, (ptr)) /* gradient of a parameter pointer, this context's */

static int is_mod_layer(const amod_vit *m, int l) {
    return m->mod.router != AMOD_ROUTER_NONE && m->mod.is_mod[l];
}

/* Layer l's attention map must be stored for backward, for --attn, or for an A-MoD
 * router in layer l+1 during training. Inference A-MoD only needs its column sums. */
static int keeps_probs(const amod_vit_ctx *c, int l) {
    return c->rs.grads || (c->rs.keep_attention && !is_mod_layer(c->m, l));
}
static int needs_col_sum(const amod_vit_ctx *c, int l) {
    const amod_vit *m = c->m;
    return !keeps_probs(c, l) && l + 1 < m->cfg.depth && is_mod_layer(m, l + 1) &&
           m->mod.router == AMOD_ROUTER_ATTENTION;
}

/* ---- activation memory: one arena, carved in two passes (measure, then assign) ---- */

/* Mixed-precision training: the block's linear products in bfloat16, on oneDNN. */
static int trains_bf16(const amod_vit_ctx *c) {
    return c->rs.grads && c->m->lin && c->m->precision == AMOD_PRECISION_BF16;
}

/* n bfloat16 values */
static uint16_t *take_halves(arena_carver *ac, size_t n) { return (uint16_t *)arena_take(ac, (n + 1) / 2); }

static void carve(amod_vit_ctx *c, arena_carver *ac, int B) {
    const amod_vit *m = c->m;
    const amod_vit_config *cfg = &m->cfg;
    const int N = m->n_tokens, D = cfg->embed_dim, H = cfg->num_heads, Hm = cfg->mlp_hidden;
    const int g = cfg->img_size / cfg->patch_size, np = g * g;
    const size_t cpp = (size_t)cfg->in_chans * cfg->patch_size * cfg->patch_size;
    c->cols = arena_take(ac, (size_t)B * np * cpp);
    c->patch_out = arena_take(ac, (size_t)B * np * D);
    for (int l = 0; l <= cfg->depth; l++) c->resid[l] = arena_take(ac, (size_t)B * N * D);
    const int keep16 = trains_bf16(c); /* the bfloat16 inputs of the products, for the backward */
    for (int l = 0; l < cfg->depth; l++) {
        vit_layer_acts *a = &c->la[l];
        int mod = is_mod_layer(m, l);
        a->k = mod ? amod_mod_tokens(m->mod.capacity, N, cfg->num_prefix) : N;
        size_t R = (size_t)B * a->k;
        a->idx = mod ? (int32_t *)arena_take(ac, R) : NULL;
        a->scores = mod ? arena_take(ac, (size_t)B * N) : NULL;
        a->xs = mod ? arena_take(ac, R * D) : c->resid[l];
        a->ln1 = arena_take(ac, R * D);
        a->mu1 = arena_take(ac, R);
        a->rs1 = arena_take(ac, R);
        a->qkv = arena_take(ac, R * 3 * D);
        a->probs = keeps_probs(c, l) ? arena_take(ac, (size_t)B * H * a->k * a->k) : NULL;
        a->col_sum = needs_col_sum(c, l) ? arena_take(ac, (size_t)B * N) : NULL;
        a->ao = arena_take(ac, R * D);
        a->x2 = arena_take(ac, R * D);
        a->ln2 = arena_take(ac, R * D);
        a->mu2 = arena_take(ac, R);
        a->rs2 = arena_take(ac, R);
        a->h1 = arena_take(ac, R * Hm);
        a->g = arena_take(ac, R * Hm);
        a->y = mod ? arena_take(ac, R * D) : c->resid[l + 1];
        a->ln1_16 = keep16 ? take_halves(ac, R * D) : NULL;
        a->ao16 = keep16 ? take_halves(ac, R * D) : NULL;
        a->ln2_16 = keep16 ? take_halves(ac, R * D) : NULL;
        a->g16 = keep16 ? take_halves(ac, R * Hm) : NULL;
        a->have16 = 0;
    }
    c->pooled = arena_take(ac, (size_t)B * D);
    c->normed = arena_take(ac, (size_t)B * D);
    c->nmu = arena_take(ac, B);
    c->nrs = arena_take(ac, B);
    c->logits = arena_take(ac, (size_t)B * cfg->num_classes);
    c->dlogits = arena_take(ac, (size_t)B * cfg->num_classes);
    c->labels = (int64_t *)arena_take(ac, 2 * (size_t)B);
    c->attn_tile = arena_take(ac, attention_tile_floats(N, c->rs.scratch_threads));
    memset(&c->rg, 0, sizeof c->rg);
    if (!c->rs.grads) return;
    size_t rows = (size_t)B * N;
    resid_grads_take(&c->rg, ac, rows, D);
    c->d_ao = arena_take(ac, rows * D);
    c->d_qkv = arena_take(ac, rows * 3 * D);
    c->d_g = arena_take(ac, rows * Hm);
    c->d_attn = arena_take(ac, attention_scratch_floats(N, c->rs.scratch_threads));
    c->d_pooled = arena_take(ac, 2 * (size_t)B * D);
    c->d_patch = arena_take(ac, (size_t)B * np * D);
    const int widest = 3 * D > Hm ? 3 * D : Hm;
    c->bf16_work = keep16 ? arena_take(ac, linear_bf16_work_floats((int)rows, widest, widest)) : NULL;
    c->d_g16 = keep16 ? take_halves(ac, rows * Hm) : NULL;
}

void vit_free_acts(amod_vit_ctx *c) {
    run_state_release(&c->rs);
    c->act_batch = 0;
}

static void carve_ctx(void *self, arena_carver *ac) {
    amod_vit_ctx *c = self;
    carve(c, ac, c->act_batch);
}

int vit_ensure_acts(amod_vit_ctx *c, int batch, amod_error *err) {
    /* carved again for a larger batch, a new routing, or more threads than the scratch was
     * made for (a forward recomputes it all) */
    if (run_state_fits(&c->rs, c->m->layout) && batch <= c->act_batch && (!trains_bf16(c) || c->bf16_work))
        return 0;
    c->act_batch = batch;
    size_t need;
    if (run_state_carve(&c->rs, carve_ctx, c, c->m->layout, &need)) {
        c->act_batch = 0;
        return amod_fail(err, "out of memory: activations need %zu MiB for batch %d", need >> 20, batch);
    }
    return 0;
}

/* ---- configuration ---- */

void amod_vit_weights_changed(amod_vit *m) { linear_engine_weights_changed(m->lin); }

int amod_vit_set_precision(amod_vit *m, amod_precision p, amod_error *err) {
    if (p == AMOD_PRECISION_BF16) {
        const amod_cpu_features *f = amod_cpu();
        if (!m->lin)
            return amod_fail(err, "bf16 needs the oneDNN path (this build or AMOD_GEMM runs OpenBLAS)");
        if (!f->avx512_bf16 && !f->amx_bf16)
            return amod_fail(err, "bf16 needs AVX-512 BF16 or AMX, which this CPU lacks");
    } else if (p != AMOD_PRECISION_F32) {
        return amod_fail(err, "unknown precision %d", (int)p);
    }
    m->precision = p;
    return 0;
}

void amod_vit_set_grad_enabled(amod_vit *m, int enabled) {
    linear_engine_weights_changed(m->lin);
    run_state_set_grads(&m->dflt->rs, enabled);
}

void amod_vit_keep_attention(amod_vit *m, int keep) { run_state_set_keep_attention(&m->dflt->rs, keep); }

/* ---- contexts ---- */

amod_vit_ctx_params amod_vit_ctx_default_params(void) { return (amod_vit_ctx_params){.threads = 0}; }

amod_vit_ctx *amod_vit_ctx_create(amod_vit *m, const amod_vit_ctx_params *p, amod_error *err) {
    const amod_vit_ctx_params q = p ? *p : amod_vit_ctx_default_params();
    amod_vit_ctx *c = run_state_create(sizeof *c, q.threads, q.grads, q.keep_attention, m->mod.seed, err);
    if (c) c->m = m;
    return c;
}

void amod_vit_ctx_free(amod_vit_ctx *c) { run_state_free(c ? &c->rs : NULL); }

float *amod_vit_ctx_grads(amod_vit_ctx *c) { return run_state_grads(&c->rs, c->m->pt.n_params, NULL); }

amod_vit *amod_vit_ctx_model(const amod_vit_ctx *c) { return c->m; }

/* ---- forward ---- */

/* Rows per tile of a block's row-local work: a tile's MLP activations (rows x mlp_hidden)
 * stay in the core's L2 from fc1 to fc2. */
#define BLOCK_ROW_TILE 128

/* One product of a block's row tile, on the float32 rows, or (in16 given) on their bfloat16
 * copy, rounded here into the layer's buffer that the backward pass reads. */
static int tile_product(const amod_vit *m, float *out, const float *in, uint16_t *in16, const float *w,
                        const float *b, const float *residual, linear_epilogue epi, linear_precision prec, int n,
                        int n_in, int n_out) {
    if (!in16) return linear_packed_forward(m->lin, out, in, w, b, residual, epi, prec, n, n_in, n_out);
    bf16_from_floats(in16, in, (size_t)n * n_in);
    return linear_packed_forward16(m->lin, out, in16, w, b, residual, epi, n, n_in, n_out);
}

/* The block on oneDNN with packed weights: one parallel region before attention and one
 * after, each thread taking its rows through every row-local step in tiles, the bias,
 * residual and (without gradients) GELU applied as each product is stored. Training in bf16,
 * the products' bfloat16 inputs are kept for the backward (GELU's output only in bfloat16).
 * -1 when oneDNN refused a shape (nothing is half-done that the plain path does not redo). */
static int block_forward_packed(amod_vit_ctx *c, int l, int B) {
    const amod_vit *m = c->m;
    const vit_block *p = &m->blk[l];
    vit_layer_acts *a = &c->la[l];
    const int D = m->cfg.embed_dim, Hm = m->cfg.mlp_hidden, R = B * a->k, keep_h1 = c->rs.grads;
    const int keep16 = trains_bf16(c);
    const float eps = m->cfg.ln_eps;
    const linear_precision prec = m->precision == AMOD_PRECISION_BF16 ? LINEAR_BF16 : LINEAR_F32;
    int failed = 0;
    a->have16 = 0;
#pragma omp parallel reduction(| : failed)
    {
        int lo, hi;
        kernel_share(R, &lo, &hi);
        for (int r = lo; r < hi && !failed; r += BLOCK_ROW_TILE) {
            const int n = hi - r < BLOCK_ROW_TILE ? hi - r : BLOCK_ROW_TILE;
            const size_t o = (size_t)r * D;
            layernorm_forward(a->ln1 + o, a->mu1 + r, a->rs1 + r, a->xs + o, p->norm1_w, p->norm1_b, n, D, eps);
            failed |= tile_product(m, a->qkv + 3 * o, a->ln1 + o, keep16 ? a->ln1_16 + o : NULL, p->qkv_w, p->qkv_b,
                                   NULL, LINEAR_BIAS, prec, n, D, 3 * D) != 0;
        }
    }
    if (failed) return -1;
    attention_forward(a->ao, a->probs, a->col_sum, a->qkv, B, a->k, D, m->cfg.num_heads,
                      m->precision == AMOD_PRECISION_BF16, c->attn_tile, c->rs.scratch_threads);
#pragma omp parallel reduction(| : failed)
    {
        int lo, hi;
        kernel_share(R, &lo, &hi);
        for (int r = lo; r < hi && !failed; r += BLOCK_ROW_TILE) {
            const int n = hi - r < BLOCK_ROW_TILE ? hi - r : BLOCK_ROW_TILE;
            const size_t o = (size_t)r * D, oh = (size_t)r * Hm;
            failed |= tile_product(m, a->x2 + o, a->ao + o, keep16 ? a->ao16 + o : NULL, p->proj_w, p->proj_b,
                                   a->xs + o, LINEAR_BIAS_ADD, prec, n, D, D) != 0;
            layernorm_forward(a->ln2 + o, a->mu2 + r, a->rs2 + r, a->x2 + o, p->norm2_w, p->norm2_b, n, D, eps);
            if (keep16) { /* h1 for GELU's backward, GELU's output in bfloat16 only */
                failed |= tile_product(m, a->h1 + oh, a->ln2 + o, a->ln2_16 + o, p->fc1_w, p->fc1_b, NULL,
                                       LINEAR_BIAS, prec, n, D, Hm) != 0;
                gelu_forward_bf16(a->g16 + oh, a->h1 + oh, (size_t)n * Hm);
                failed |= linear_packed_forward16(m->lin, a->y + o, a->g16 + oh, p->fc2_w, p->fc2_b, a->x2 + o,
                                                  LINEAR_BIAS_ADD, n, Hm, D) != 0;
            } else {
                if (keep_h1) { /* GELU's backward needs its input */
                    failed |= linear_packed_forward(m->lin, a->h1 + oh, a->ln2 + o, p->fc1_w, p->fc1_b, NULL,
                                                    LINEAR_BIAS, prec, n, D, Hm) != 0;
                    gelu_forward(a->g + oh, a->h1 + oh, (size_t)n * Hm);
                } else {
                    failed |= linear_packed_forward(m->lin, a->g + oh, a->ln2 + o, p->fc1_w, p->fc1_b, NULL,
                                                    LINEAR_BIAS_GELU, prec, n, D, Hm) != 0;
                }
                failed |= linear_packed_forward(m->lin, a->y + o, a->g + oh, p->fc2_w, p->fc2_b, a->x2 + o,
                                                LINEAR_BIAS_ADD, prec, n, Hm, D) != 0;
            }
        }
    }
    if (failed) return -1;
    a->have16 = keep16;
    return 0;
}

void vit_block_forward(amod_vit_ctx *c, int l, int B) {
    const amod_vit *m = c->m;
    if (m->lin && !block_forward_packed(c, l, B)) return;
    const vit_block *p = &m->blk[l];
    vit_layer_acts *a = &c->la[l];
    const int D = m->cfg.embed_dim, Hm = m->cfg.mlp_hidden, R = B * a->k;
    const float eps = m->cfg.ln_eps;
    layernorm_forward(a->ln1, a->mu1, a->rs1, a->xs, p->norm1_w, p->norm1_b, R, D, eps);
    linear_forward(a->qkv, a->ln1, p->qkv_w, p->qkv_b, R, D, 3 * D);
    attention_forward(a->ao, a->probs, a->col_sum, a->qkv, B, a->k, D, m->cfg.num_heads,
                      m->precision == AMOD_PRECISION_BF16, c->attn_tile, c->rs.scratch_threads);
    linear_forward(a->x2, a->ao, p->proj_w, p->proj_b, R, D, D);
    add_inplace(a->x2, a->xs, (size_t)R * D);
    layernorm_forward(a->ln2, a->mu2, a->rs2, a->x2, p->norm2_w, p->norm2_b, R, D, eps);
    linear_forward(a->h1, a->ln2, p->fc1_w, p->fc1_b, R, D, Hm);
    gelu_forward(a->g, a->h1, (size_t)R * Hm);
    linear_forward(a->y, a->g, p->fc2_w, p->fc2_b, R, Hm, D);
    add_inplace(a->y, a->x2, (size_t)R * D);
}

static void block_backward(amod_vit_ctx *c, int l, int B, const float *dy, float *dx2);

/* ---- the Mixture-of-Depths layer around a block (model/mod_layer.c) ---- */

static void block_forward_hook(void *owner, int l, int B) { vit_block_forward(owner, l, B); }
static void block_backward_hook(void *owner, int l, int B, const float *dy, float *dx) {
    block_backward(owner, l, B, dy, dx);
}

/* MoD layer l of this context: top-k keeps the CLS token, A-MoD takes the bidirectional mean. */
static mod_layer mod_layer_of(amod_vit_ctx *c, int l, int B) {
    const amod_vit *m = c->m;
    vit_layer_acts *a = &c->la[l];
    const vit_layer_acts *prev = &c->la[l > 0 ? l - 1 : 0];
    mod_layer L = {.router = m->mod.router, .B = B, .N = m->n_tokens, .D = m->cfg.embed_dim};
    L.prefix = m->cfg.num_prefix;
    L.heads = m->cfg.num_heads;
    L.k = &a->k;
    L.prev_probs = prev->probs, L.prev_col_sum = prev->col_sum;
    L.router_w = m->blk[l].router_w;
    L.rng = &c->rs.rng;
    L.idx = a->idx, L.scores = a->scores, L.xs = a->xs, L.y = a->y;
    L.owner = c, L.layer = l;
    L.block_forward = block_forward_hook, L.block_backward = block_backward_hook;
    return L;
}

static int forward(amod_vit_ctx *c, const float *images, int batch, const int64_t *labels, const float *targets,
                   float *logits, float *loss, amod_error *err) {
    amod_vit *m = c->m;
    const amod_vit_config *cfg = &m->cfg;
    if (batch < 1) return amod_fail(err, "batch size %d must be positive", batch);
    if (vit_ensure_acts(c, batch, err)) return -1;
    if (c->rs.grads && !run_state_grads(&c->rs, m->pt.n_params, err)) return -1;
    /* with gradients the weights change between steps: their packed copies are made anew (a
     * few microseconds a matrix, next to a training step's milliseconds) */
    if (c->rs.grads) linear_engine_weights_changed(m->lin);
    linear_engine_refresh(m->lin);
    const int B = batch, N = m->n_tokens, D = cfg->embed_dim, K = cfg->num_classes;
    const int g = cfg->img_size / cfg->patch_size, np = g * g;
    const int cpp = cfg->in_chans * cfg->patch_size * cfg->patch_size;
    if (labels)
        for (int b = 0; b < B; b++)
            if (labels[b] < 0 || labels[b] >= K)
                return amod_fail(err, "label %lld of image %d is outside 0..%d", (long long)labels[b], b, K - 1);

    patch_unfold(c->cols, images, B, cfg->in_chans, cfg->img_size, cfg->patch_size);
    embed_forward(c->resid[0], c->patch_out, c->cols, m->patch_w, m->patch_b, m->cls, m->pos, B, np, cpp, D);
    for (int l = 0; l < cfg->depth; l++) {
        if (is_mod_layer(m, l)) {
            mod_layer L = mod_layer_of(c, l, B);
            if (c->forced_skip) { /* given selection: every token but skip[b], unscaled */
                L.router = AMOD_ROUTER_NONE;
                for (int b = 0; b < B; b++)
                    for (int t = 0; t < N; t++) L.scores[(size_t)b * N + t] = t == c->forced_skip[b] ? 0.0f : 1.0f;
            }
            mod_layer_forward(&L, c->resid[l + 1], c->resid[l]);
        } else {
            vit_block_forward(c, l, B);
        }
    }
    for (int b = 0; b < B; b++) /* token pooling: the CLS row */
        memcpy(c->pooled + (size_t)b * D, c->resid[cfg->depth] + (size_t)b * N * D, (size_t)D * sizeof(float));
    layernorm_forward(c->normed, c->nmu, c->nrs, c->pooled, m->norm_w, m->norm_b, B, D, cfg->ln_eps);
    linear_forward(c->logits, c->normed, m->head_w, m->head_b, B, D, K);
    if (logits) memcpy(logits, c->logits, (size_t)B * K * sizeof *logits);
    c->batch = B;
    c->subset = 0;
    c->have_labels = labels || targets;
    if (labels) {
        memcpy(c->labels, labels, (size_t)B * sizeof *labels);
        float l;
        cross_entropy(&l, c->rs.grads ? c->dlogits : NULL, c->logits, labels, B, K);
        if (loss) *loss = l;
    } else if (targets) {
        float l;
        soft_cross_entropy(&l, c->rs.grads ? c->dlogits : NULL, c->logits, targets, B, K);
        if (loss) *loss = l;
    }
    return 0;
}

/* forward on the context's own thread count */
static int forward_on(amod_vit_ctx *c, const float *images, int batch, const int64_t *labels, const float *targets,
                      float *logits, float *loss, amod_error *err) {
    const int before = amod_threads_push(c->rs.threads);
    int rc = forward(c, images, batch, labels, targets, logits, loss, err);
    amod_threads_pop(before);
    return rc;
}

int amod_vit_ctx_forward(amod_vit_ctx *c, const float *images, int batch, const int64_t *labels, float *logits,
                         float *loss, amod_error *err) {
    return forward_on(c, images, batch, labels, NULL, logits, loss, err);
}

int amod_vit_ctx_forward_soft(amod_vit_ctx *c, const float *images, int batch, const float *targets, float *logits,
                              float *loss, amod_error *err) {
    if (!targets) return amod_fail(err, "soft targets missing");
    return forward_on(c, images, batch, NULL, targets, logits, loss, err);
}

int amod_vit_forward_soft(amod_vit *m, const float *images, int batch, const float *targets, float *logits,
                          float *loss, amod_error *err) {
    return amod_vit_ctx_forward_soft(m->dflt, images, batch, targets, logits, loss, err);
}

int amod_vit_forward(amod_vit *m, const float *images, int batch, const int64_t *labels, float *logits, float *loss,
                     amod_error *err) {
    return amod_vit_ctx_forward(m->dflt, images, batch, labels, logits, loss, err);
}

/* ---- backward ---- */

/* A block's linear backward: in bfloat16 products when the model trains in bf16 and oneDNN
 * took the shape, else in float32. kept: the layer's forward kept the bfloat16 input (in16;
 * in is then not written) and block_backward made every primitive, so the bf16 path runs;
 * dout16, where given, is the output gradient already in bfloat16 (db is then the caller's). */
static void block_linear_backward(amod_vit_ctx *c, int kept, float *din, float *dw, float *db, const float *dout,
                                  const uint16_t *dout16, const float *in, const uint16_t *in16, const float *w,
                                  int rows, int n_in, int n_out) {
    linear_engine *e = c->m->lin;
    if (kept) {
        const linear_bf16_operands x = {.dout = dout16 ? NULL : dout, .dout16 = dout16, .in16 = in16};
        linear_bf16_backward(e, din, dw, db, &x, w, rows, n_in, n_out, c->bf16_work);
        return;
    }
    if (trains_bf16(c) &&
        !linear_bf16_backward(e, din, dw, db, &(linear_bf16_operands){.dout = dout, .in = in}, w, rows, n_in, n_out,
                              c->bf16_work))
        return;
    linear_backward(din, dw, db, dout, in, w, rows, n_in, n_out, 0);
}

/* The bf16 primitives of a block's four linear backwards, made before anything is written: 0
 * when oneDNN took them all. */
static int block_prepare16(const amod_vit *m, int R) {
    const int D = m->cfg.embed_dim, Hm = m->cfg.mlp_hidden;
    return linear_bf16_prepare(m->lin, R, Hm, D) || linear_bf16_prepare(m->lin, R, D, Hm) ||
           linear_bf16_prepare(m->lin, R, D, D) || linear_bf16_prepare(m->lin, R, D, 3 * D);
}

/* dy: gradient of the block output [R, D]; dx2 holds a copy of dy on entry and the
 * gradient of the block input on exit. With the bfloat16 inputs the forward kept, the weight
 * gradients read those, and GELU's backward writes fc1's output gradient in bfloat16 with its
 * bias sums in the same pass. */
static void block_backward(amod_vit_ctx *c, int l, int B, const float *dy, float *dx2) {
    const amod_vit *m = c->m;
    const vit_block *p = &m->blk[l];
    const vit_layer_acts *a = &c->la[l];
    const int D = m->cfg.embed_dim, Hm = m->cfg.mlp_hidden, R = B * a->k;
    const int kept = a->have16 && !block_prepare16(m, R);
    block_linear_backward(c, kept, c->d_g, G(p->fc2_w), G(p->fc2_b), dy, NULL, a->g, a->g16, p->fc2_w, R, Hm, D);
    if (kept)
        gelu_backward_bf16_sums(c->d_g16, G(p->fc1_b), c->d_g, a->h1, R, Hm);
    else
        gelu_backward(c->d_g, c->d_g, a->h1, (size_t)R * Hm);
    block_linear_backward(c, kept, c->rg.d_ln, G(p->fc1_w), kept ? NULL : G(p->fc1_b), c->d_g, kept ? c->d_g16 : NULL,
                          a->ln2, a->ln2_16, p->fc1_w, R, D, Hm);
    layernorm_backward(dx2, G(p->norm2_w), G(p->norm2_b), c->rg.d_ln, a->x2, a->mu2, a->rs2, p->norm2_w, R, D);
    block_linear_backward(c, kept, c->d_ao, G(p->proj_w), G(p->proj_b), dx2, NULL, a->ao, a->ao16, p->proj_w, R, D,
                          D);
    attention_backward(c->d_qkv, c->d_ao, a->qkv, a->probs, B, a->k, D, m->cfg.num_heads,
                       m->precision == AMOD_PRECISION_BF16, c->d_attn, c->rs.scratch_threads);
    block_linear_backward(c, kept, c->rg.d_ln, G(p->qkv_w), p->qkv_b ? G(p->qkv_b) : NULL, c->d_qkv, NULL, a->ln1,
                          a->ln1_16, p->qkv_w, R, D, 3 * D);
    layernorm_backward(dx2, G(p->norm1_w), G(p->norm1_b), c->rg.d_ln, a->xs, a->mu1, a->rs1, p->norm1_w, R, D);
}

static int backward(amod_vit_ctx *c, amod_error *err) {
    const amod_vit *m = c->m;
    const amod_vit_config *cfg = &m->cfg;
    if (!c->rs.grads) return amod_fail(err, "backward needs a forward pass with gradients enabled");
    if (c->subset) return amod_fail(err, "backward after a forward pass on a token subset is not supported");
    if (!c->have_labels) return amod_fail(err, "backward needs a forward pass with labels");
    const int B = c->batch, N = m->n_tokens, D = cfg->embed_dim, K = cfg->num_classes;
    const int g = cfg->img_size / cfg->patch_size, np = g * g;
    const int cpp = cfg->in_chans * cfg->patch_size * cfg->patch_size;
    float *d_normed = c->d_pooled + (size_t)B * D;

    linear_backward(d_normed, G(m->head_w), G(m->head_b), c->dlogits, c->normed, m->head_w, B, D, K, 0);
    memset(c->d_pooled, 0, (size_t)B * D * sizeof(float));
    layernorm_backward(c->d_pooled, G(m->norm_w), G(m->norm_b), d_normed, c->pooled, c->nmu, c->nrs, m->norm_w, B, D);
    float *dcur = c->rg.d_a, *dnext = c->rg.d_b;
    memset(dcur, 0, (size_t)B * N * D * sizeof(float));
    for (int b = 0; b < B; b++) memcpy(dcur + (size_t)b * N * D, c->d_pooled + (size_t)b * D, (size_t)D * sizeof(float));

    for (int l = cfg->depth - 1; l >= 0; l--) {
        if (is_mod_layer(m, l)) {
            mod_layer L = mod_layer_of(c, l, B);
            L.router_dw = G(L.router_w);
            mod_layer_backward(&L, dnext, dcur, c->resid[l], c->rg.d_dy, c->rg.d_x2);
        } else {
            memcpy(dnext, dcur, (size_t)B * N * D * sizeof(float));
            block_backward(c, l, B, dcur, dnext);
        }
        float *t = dcur;
        dcur = dnext;
        dnext = t;
    }
    embed_backward(G(m->patch_w), G(m->patch_b), G(m->cls), G(m->pos), dcur, c->cols, c->d_patch, B, np, cpp, D);
    return 0;
}

int amod_vit_ctx_backward(amod_vit_ctx *c, amod_error *err) {
    if (c->rs.layout != c->m->layout)
        return amod_fail(err, "backward after the model's routing changed: run a forward pass first");
    const int before = amod_threads_push(c->rs.threads);
    int rc = backward(c, err);
    amod_threads_pop(before);
    return rc;
}

int amod_vit_backward(amod_vit *m, amod_error *err) { return amod_vit_ctx_backward(m->dflt, err); }

/* ---- what the last forward pass saw ---- */

const float *amod_vit_attention(const amod_vit *m, int layer) {
    const amod_vit_ctx *c = m->dflt;
    if (layer < 0 || layer >= m->cfg.depth || c->rs.layout != m->layout || !c->rs.arena || c->subset || is_mod_layer(m, layer)) return NULL;
    return c->la[layer].probs;
}

const float *amod_vit_block_output(const amod_vit *m, int layer) {
    const amod_vit_ctx *c = m->dflt;
    if (layer < 0 || layer >= m->cfg.depth || c->rs.layout != m->layout || !c->rs.arena || c->subset) return NULL;
    return c->resid[layer + 1];
}

const int32_t *amod_vit_routed(const amod_vit *m, int layer, int *k) {
    const amod_vit_ctx *c = m->dflt;
    if (layer < 0 || layer >= m->cfg.depth || c->rs.layout != m->layout || !c->rs.arena || c->subset || !is_mod_layer(m, layer)) return NULL;
    if (k) *k = c->la[layer].k;
    return c->la[layer].idx;
}

const float *amod_vit_scores(const amod_vit *m, int layer) {
    const amod_vit_ctx *c = m->dflt;
    if (layer < 0 || layer >= m->cfg.depth || c->rs.layout != m->layout || !c->rs.arena || c->subset || !is_mod_layer(m, layer)) return NULL;
    return c->la[layer].scores;
}

int vit_forward_skipping(amod_vit *m, const float *images, int batch, const int32_t *skip, float *logits,
                         amod_error *err) {
    amod_vit_ctx *c = m->dflt;
    const amod_vit_config *cfg = &m->cfg;
    for (int b = 0; b < batch; b++)
        if (skip[b] < cfg->num_prefix || skip[b] >= m->n_tokens)
            return amod_fail(err, "token %d of image %d cannot skip: tokens %d..%d may", skip[b], b, cfg->num_prefix,
                             m->n_tokens - 1);
    c->forced_skip = skip;
    int rc = forward(c, images, batch, NULL, NULL, logits, NULL, err);
    c->forced_skip = NULL;
    c->have_labels = 0; /* no backward of this pass */
    return rc;
}
