/* Autoregressive generation for one sequence. The prompt goes through one ordinary forward
 * pass, whose keys and values (after the rotary angles) fill the cache; then every new token
 * runs each block on a single row and attends to the cached rows of its layer. A MoD layer
 * caches only the tokens its causal predictor sent through the block, exactly the rows the
 * full forward pass in predictor mode would attend to. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"
#include "model/lm_internal.h"
#include "model/router.h"

typedef struct {
    int cap;
    float *k[AMOD_MAX_LAYERS], *v[AMOD_MAX_LAYERS]; /* [cap, KV hd] */
    int n[AMOD_MAX_LAYERS];                         /* rows cached */
    float gate[AMOD_MAX_LAYERS];                    /* sequence-level MindSkip gates */
    /* one-row work buffers */
    float *x, *ln, *qkv, *ao, *proj, *x2, *h1, *h3, *g, *y, *att, *logits, *mean;
    void *mem;
} kv_cache;

static int cache_init(kv_cache *c, const amod_lm_config *cfg, int cap, amod_error *err) {
    const int D = cfg->d_model, F = cfg->d_ff, hd = cfg->head_dim, H = cfg->n_heads, KV = cfg->n_kv_heads;
    const size_t kvd = (size_t)KV * hd, W = (size_t)(H + 2 * KV) * hd, L = (size_t)cfg->n_layers;
    size_t floats = 2 * L * cap * kvd + 8 * (size_t)D + W + (size_t)H * hd + 3 * (size_t)F + cap + cfg->vocab_size;
    memset(c, 0, sizeof *c);
    c->mem = amod_zalloc(floats * sizeof(float), err);
    if (!c->mem) return -1;
    float *p = c->mem;
    c->cap = cap;
    for (size_t l = 0; l < L; l++) {
        c->k[l] = p, p += (size_t)cap * kvd;
        c->v[l] = p, p += (size_t)cap * kvd;
    }
    c->x = p, p += D;
    c->ln = p, p += D;
    c->proj = p, p += D;
    c->x2 = p, p += D;
    c->y = p, p += D;
    c->mean = p, p += 3 * (size_t)D;
    c->qkv = p, p += W;
    c->ao = p, p += (size_t)H * hd;
    c->h1 = p, p += F;
    c->h3 = p, p += F;
    c->g = p, p += F;
    c->att = p, p += cap;
    c->logits = p;
    return 0;
}

static void norm1(const amod_lm *m, float *out, const float *x, const float *w, const float *b) {
    if (m->cfg.arch == AMOD_LM_GPT2) layernorm_forward(out, NULL, NULL, x, w, b, 1, m->cfg.d_model, m->cfg.norm_eps);
    else rmsnorm_forward(out, NULL, x, w, 1, m->cfg.d_model, m->cfg.norm_eps);
}

/* One block on one row at position pos: c->x -> c->y. */
static void block_step(amod_lm *m, kv_cache *c, int l, int pos) {
    const amod_lm_config *cfg = &m->cfg;
    const lm_block *p = &m->blk[l];
    const int D = cfg->d_model, F = cfg->d_ff, H = cfg->n_heads, KV = cfg->n_kv_heads, hd = cfg->head_dim;
    const int qd = H * hd, kvd = KV * hd, W = qd + 2 * kvd, gpt2 = cfg->arch == AMOD_LM_GPT2;
    norm1(m, c->ln, c->x, p->ln1_w, p->ln1_b);
    float gate = 1.0f;
    if (lm_is_skip(m, l)) {
        if (m->skip.mode == AMOD_LM_SKIP_SEQUENCE) {
            gate = c->gate[l];
        } else {
            float s;
            router_gate_forward(&s, &gate, NULL, c->ln, p->skip_w, 1, 0, lm_skip_inclusive(m), D, m->skip.soft);
        }
    }
    memset(c->proj, 0, (size_t)D * sizeof(float));
    if (!(lm_is_skip(m, l) && m->skip.mode == AMOD_LM_SKIP_SEQUENCE && gate == 0.0f)) {
        const int32_t p32 = pos;
        if (gpt2) {
            dense_forward(c->qkv, W, c->ln, p->wqkv, 1, p->bqkv, 1, D, W);
        } else {
            dense_forward(c->qkv, W, c->ln, p->wq, 0, p->bq, 1, D, qd);
            dense_forward(c->qkv + qd, W, c->ln, p->wk, 0, p->bk, 1, D, kvd);
            dense_forward(c->qkv + qd + kvd, W, c->ln, p->wv, 0, p->bv, 1, D, kvd);
            rope_apply(c->qkv, W, 1, H, hd, &p32, m->rope_cos, m->rope_sin, 0);
            rope_apply(c->qkv + qd, W, 1, KV, hd, &p32, m->rope_cos, m->rope_sin, 0);
        }
        int n = c->n[l]++;
        memcpy(c->k[l] + (size_t)n * kvd, c->qkv + qd, (size_t)kvd * sizeof(float));
        memcpy(c->v[l] + (size_t)n * kvd, c->qkv + qd + kvd, (size_t)kvd * sizeof(float));
        causal_attention_decode(c->ao, c->qkv, c->k[l], c->v[l], n + 1, H, KV, hd, c->att);
        dense_forward(c->proj, D, c->ao, p->wo, gpt2, p->bo, 1, qd, D);
    }
    for (int i = 0; i < D; i++) c->x2[i] = c->x[i] + gate * c->proj[i];
    norm1(m, c->ln, c->x2, p->ln2_w, p->ln2_b);
    if (gpt2) {
        dense_forward(c->h1, F, c->ln, p->w1, 1, p->b1, 1, D, F);
        gelu_tanh_forward(c->g, c->h1, (size_t)F);
        dense_forward(c->y, D, c->g, p->w2, 1, p->b2, 1, F, D);
    } else {
        dense_forward(c->h1, F, c->ln, p->w1, 0, p->b1, 1, D, F);
        dense_forward(c->h3, F, c->ln, p->w3, 0, p->b3, 1, D, F);
        swiglu_forward(c->g, c->h1, c->h3, (size_t)F);
        dense_forward(c->y, D, c->g, p->w2, 0, p->b2, 1, F, D);
    }
    for (int i = 0; i < D; i++) c->y[i] += c->x2[i];
}

/* Feeds token tok at position pos through the model; logits into c->logits. */
static void step(amod_lm *m, kv_cache *c, int64_t tok, int pos, long *mod_seen, long *mod_ran) {
    const amod_lm_config *cfg = &m->cfg;
    const int D = cfg->d_model;
    token_embed_forward(c->x, &tok, m->wte, m->wpe, 1, 1, pos, D);
    for (int l = 0; l < cfg->n_layers; l++) {
        if (lm_is_mod(m, l)) {
            ++*mod_seen;
            const lm_block *b = &m->blk[l];
            const router_predictor pred = {b->pred_w1, b->pred_b1, b->pred_w2, b->pred_b2, .P = m->pred_hidden};
            if (router_predictor_logit(&pred, c->x, D) <= m->pred_threshold[l]) continue; /* skips the block */
            ++*mod_ran;
            float r = 0.0f;
            for (int i = 0; i < D; i++) r += c->x[i] * m->blk[l].router_w[i];
            block_step(m, c, l, pos);
            for (int i = 0; i < D; i++) c->x[i] += r * (c->y[i] - c->x[i]);
        } else {
            block_step(m, c, l, pos);
            memcpy(c->x, c->y, (size_t)D * sizeof(float));
        }
    }
    norm1(m, c->ln, c->x, m->lnf_w, m->lnf_b);
    linear_forward(c->logits, c->ln, m->head_w, NULL, 1, D, cfg->vocab_size);
}

/* Fills the cache from the prompt's forward pass (predictor routing, no gradients). */
static void prefill(amod_lm_ctx *run, kv_cache *c) {
    amod_lm *m = run->m;
    const amod_lm_config *cfg = &m->cfg;
    const int H = cfg->n_heads, KV = cfg->n_kv_heads, hd = cfg->head_dim;
    const int qd = H * hd, kvd = KV * hd, W = qd + 2 * kvd;
    for (int l = 0; l < cfg->n_layers; l++) {
        const lm_layer_acts *a = &run->la[l];
        c->gate[l] = lm_is_skip(m, l) && m->skip.mode == AMOD_LM_SKIP_SEQUENCE ? a->sk_gate[0] : 1.0f;
        c->n[l] = 0;
        if (c->gate[l] == 0.0f) continue; /* the attention sublayer is off for this sequence */
        for (int j = 0; j < a->k; j++) {
            memcpy(c->k[l] + (size_t)j * kvd, a->qkv + (size_t)j * W + qd, (size_t)kvd * sizeof(float));
            memcpy(c->v[l] + (size_t)j * kvd, a->qkv + (size_t)j * W + qd + kvd, (size_t)kvd * sizeof(float));
        }
        c->n[l] = a->k;
    }
}

static int64_t pick(const float *logits, int V, const amod_lm_gen *g, amod_rng *r, float *probs) {
    int64_t best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (!(g->temperature > 0.0f)) return best; /* greedy; ties to the lowest id */
    /* top-k: keep tokens whose logit is at least the k-th largest */
    float floor_logit = -INFINITY;
    if (g->top_k > 0 && g->top_k < V) {
        memcpy(probs, logits, (size_t)V * sizeof *probs);
        for (int n = 0; n < g->top_k; n++) { /* k passes of selection: k is small */
            int arg = -1;
            for (int i = 0; i < V; i++)
                if (probs[i] != -INFINITY && (arg < 0 || probs[i] > probs[arg])) arg = i;
            floor_logit = probs[arg];
            probs[arg] = -INFINITY;
        }
    }
    double sum = 0.0;
    for (int i = 0; i < V; i++) {
        probs[i] = logits[i] >= floor_logit ? expf((logits[i] - logits[best]) / g->temperature) : 0.0f;
        sum += probs[i];
    }
    double u = rng_uniform(r) * sum, acc = 0.0;
    for (int i = 0; i < V; i++) {
        acc += probs[i];
        if (u < acc && probs[i] > 0.0f) return i;
    }
    return best;
}

static int check_request(const amod_lm *m, const int64_t *prompt, int n_prompt, int n_new, const amod_lm_gen *g,
                         amod_error *err) {
    const amod_lm_config *c = &m->cfg;
    if (n_prompt < 1) return amod_fail(err, "generation needs a prompt of at least one token");
    if (lm_check_ids(m, prompt, 1, n_prompt, err)) return -1;
    if (n_new < 0) return amod_fail(err, "cannot generate %d tokens", n_new);
    if ((long)n_prompt + n_new - 1 > c->max_positions)
        return amod_fail(err, "a prompt of %d tokens plus %d new ones does not fit the model's %d positions", n_prompt,
                         n_new, c->max_positions);
    if (g->forced && n_new > 0 && lm_check_ids(m, g->forced, 1, n_new, err)) return amod_fail_prefix(err, "forced tokens");
    if (!(g->temperature >= 0.0f) || !isfinite(g->temperature))
        return amod_fail(err, "temperature %g must be >= 0", (double)g->temperature);
    if (m->mod.router != AMOD_ROUTER_NONE && (m->mod.router != AMOD_ROUTER_LINEAR || m->pred_hidden < 1))
        return amod_fail(err, "generating with MoD layers needs the linear router's causal predictor (top-k over "
                              "the sequence would need future tokens)");
    return 0;
}

/* Without the cache: the whole prefix through the forward pass at every step. */
static int generate_uncached(amod_lm_ctx *run, const int64_t *prompt, int n_prompt, int n_new, const amod_lm_gen *g,
                             int64_t *out, float *step_logits, float *probs, amod_error *err) {
    amod_lm *m = run->m;
    const int V = m->cfg.vocab_size;
    int64_t *seq = amod_alloc((size_t)(n_prompt + n_new) * sizeof *seq, err);
    if (!seq) return -1;
    memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
    amod_rng r;
    rng_seed(&r, g->seed);
    int rc = 0;
    for (int i = 0; i < n_new && !rc; i++) {
        int n = n_prompt + i;
        if ((rc = amod_lm_ctx_forward(run, seq, 1, n, NULL, NULL, err))) break;
        const float *last = run->logits + (size_t)(n - 1) * V;
        if (step_logits) memcpy(step_logits + (size_t)i * V, last, (size_t)V * sizeof(float));
        seq[n] = out[i] = g->forced ? g->forced[i] : pick(last, V, g, &r, probs);
        if (g->stop_at_eos && out[i] == g->eos) {
            for (int j = i + 1; j < n_new; j++) out[j] = -1;
            break;
        }
    }
    free(seq);
    return rc;
}

int amod_lm_generate(amod_lm *m, const int64_t *prompt, int n_prompt, int n_new, const amod_lm_gen *g,
                     int64_t *out, float *step_logits, amod_error *err) {
    if (check_request(m, prompt, n_prompt, n_new, g, err)) return -1;
    const int V = m->cfg.vocab_size;
    /* a context of its own: no gradients, predictor routing; the model's context is untouched */
    amod_lm_ctx_params gp = amod_lm_ctx_default_params();
    gp.route_mode = AMOD_LM_ROUTE_PREDICTOR;
    amod_lm_ctx *run = amod_lm_ctx_create(m, &gp, err);
    if (!run) return -1;
    float *probs = amod_alloc((size_t)V * sizeof *probs, err);
    kv_cache c;
    int rc = probs ? 0 : -1;
    if (!rc && g->no_cache) {
        rc = generate_uncached(run, prompt, n_prompt, n_new, g, out, step_logits, probs, err);
    } else if (!rc && !(rc = cache_init(&c, &m->cfg, n_prompt + n_new, err))) {
        rc = amod_lm_ctx_forward(run, prompt, 1, n_prompt, NULL, NULL, err);
        if (!rc) {
            prefill(run, &c);
            memcpy(c.logits, run->logits + (size_t)(n_prompt - 1) * V, (size_t)V * sizeof(float));
            amod_rng r;
            rng_seed(&r, g->seed);
            /* one row per step: the matrix-vector products split their columns over the
             * threads (dense_row); the small per-row loops stay on one thread */
            long mod_seen = 0, mod_ran = 0;
            for (int i = 0; i < n_new; i++) {
                if (step_logits) memcpy(step_logits + (size_t)i * V, c.logits, (size_t)V * sizeof(float));
                out[i] = g->forced ? g->forced[i] : pick(c.logits, V, g, &r, probs);
                if (g->stop_at_eos && out[i] == g->eos) {
                    for (int j = i + 1; j < n_new; j++) out[j] = -1;
                    break;
                }
                if (i + 1 < n_new) step(m, &c, out[i], n_prompt + i, &mod_seen, &mod_ran);
            }
            m->dflt->stats.decode_mod_kept = mod_seen ? (float)((double)mod_ran / (double)mod_seen) : 1.0f;
        }
        free(c.mem);
    }
    free(probs);
    amod_lm_ctx_free(run);
    return rc;
}
