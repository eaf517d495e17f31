/* Generality of the language models: on randomly shaped GPT-2 and Llama models (odd vocab,
 * width, heads, key/value heads, head size, depth, sequence length, batch), analytic
 * gradients agree with central finite differences, dense and with causal MoD (linear router
 * with its predictor, A-MoD, random) and MindSkip (the smooth variant: the hard gate has no
 * finite difference). Also: A-MoD at capacity 1 is the dense model, and routed tokens keep
 * their original order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amod/lm.h"
#include "core/rng.h"
#include "model_checks.h"
#include "test_support.h"

typedef struct {
    amod_lm_arch arch;
    int vocab, dim, heads, kv, head_dim, ff, layers, positions, tie, attn_bias, mlp_bias;
    int B, T;
} shape;

typedef struct {
    amod_router router;
    float capacity;
    int predictor;
    amod_lm_skip skip;
    amod_lm_skip_style style;
} routing;

static amod_lm *make(const shape *s, uint64_t seed) {
    amod_lm_config c = {0};
    c.arch = s->arch, c.vocab_size = s->vocab, c.d_model = s->dim, c.n_heads = s->heads, c.n_kv_heads = s->kv;
    c.head_dim = s->head_dim, c.d_ff = s->ff, c.n_layers = s->layers, c.max_positions = s->positions;
    c.norm_eps = 1e-5f, c.rope_theta = 100.0f, c.tie_embeddings = s->tie;
    c.attn_bias = s->attn_bias, c.mlp_bias = s->mlp_bias;
    amod_error err;
    amod_lm *m = amod_lm_create(&c, seed, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    return m;
}

/* Larger weights than the 0.02 init so every path carries signal. */
static void perturb(amod_lm *m, uint64_t seed) {
    float *p = amod_lm_params(m);
    amod_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < amod_lm_num_params(m); i++) p[i] += 0.2f * rng_normal(&r);
}

static int set_routing(amod_lm *m, const routing *rt, int layers, amod_error *err) {
    if (rt->router != AMOD_ROUTER_NONE) {
        amod_mod_config mod = {0};
        mod.router = rt->router, mod.capacity = rt->capacity, mod.seed = 7;
        amod_mod_set_start(&mod, layers, 1);
        return amod_lm_set_mod(m, &mod, rt->predictor, err);
    }
    if (rt->skip != AMOD_LM_SKIP_NONE) {
        amod_lm_mindskip ms = {0};
        ms.mode = rt->skip, ms.target = 0.3f, ms.lambda = 2.0f, ms.soft = 1, ms.seed = 9, ms.style = rt->style;
        amod_lm_mindskip_default_layers(&ms, layers);
        return amod_lm_set_mindskip(m, &ms, err);
    }
    return 0;
}

/* What backward differentiates: LM loss + MindSkip's capacity term for the model, and the
 * predictors' BCE for the predictors only (they read a stop-gradient copy of the block input,
 * so the BCE sends no gradient into the model). */
static double objective(amod_lm *m, const int64_t *ids, int B, int T, int predictor) {
    float loss;
    amod_error err;
    if (amod_lm_get_mod(m)->router == AMOD_ROUTER_RANDOM) { /* the same draw every time */
        amod_mod_config same = *amod_lm_get_mod(m);
        amod_lm_set_mod(m, &same, 0, &err);
    }
    if (amod_lm_forward(m, ids, B, T, NULL, &loss, &err)) return NAN;
    amod_lm_stats st;
    amod_lm_get_stats(m, &st);
    return predictor ? st.predictor_loss : (double)loss + st.capacity_loss;
}

/* What a probe evaluates: the objective of one batch, the model's or the predictors'. */
typedef struct {
    amod_lm *m;
    const int64_t *ids;
    int B, T, predictor;
} probe_ctx;

static double probe_objective(void *ctx) {
    probe_ctx *c = ctx;
    return objective(c->m, c->ids, c->B, c->T, c->predictor);
}

static const int32_t *probe_routed(void *ctx, int layer, int *k) {
    return amod_lm_routed(((probe_ctx *)ctx)->m, layer, k);
}

static void gradcheck(const char *label, const shape *s, const routing *rt, uint64_t seed) {
    amod_lm *m = make(s, seed);
    amod_error err;
    if (!m) return;
    CHECK(set_routing(m, rt, s->layers, &err) == 0, "%s: %s", label, err.msg);
    perturb(m, seed + 1);
    const int B = s->B, T = s->T;
    int64_t *ids = malloc((size_t)B * T * sizeof *ids);
    amod_rng r;
    rng_seed(&r, seed + 2);
    for (int i = 0; i < B * T; i++) ids[i] = (int64_t)(rng_next(&r) % (uint64_t)s->vocab);
    probe_ctx pc = {m, ids, B, T, 0};
    fd_check fc = {.label = label, .ctx = &pc, .objective = probe_objective, .routed = probe_routed,
                   .layers = s->layers, .batch = B};
    double base = objective(m, ids, B, T, 0);
    CHECK(base == objective(m, ids, B, T, 0), "%s: forward is not deterministic", label);
    fd_save_routes(&fc); /* the same routing before and after a perturbation: smooth there */
    for (int l = 0; l < s->layers; l++) { /* routed tokens keep their original order */
        int k;
        const int32_t *idx = amod_lm_routed(m, l, &k);
        for (int i = 0; idx && i < B * k; i++)
            CHECK(i % k == 0 || idx[i] > idx[i - 1], "%s: layer %d routes tokens out of order", label, l);
    }
    amod_lm_zero_grad(m);
    CHECK(amod_lm_backward(m, &err) == 0, "%s: backward: %s", label, err.msg);
    float *p = amod_lm_params(m);
    float *g = malloc(amod_lm_num_params(m) * sizeof *g);
    memcpy(g, amod_lm_grads(m), amod_lm_num_params(m) * sizeof *g);

    for (int t = 0; t < amod_lm_num_tensors(m); t++) {
        int64_t shp[4];
        int nd = amod_lm_tensor_shape(m, t, shp);
        const size_t numel = shape_numel(nd, shp), off = amod_lm_tensor_offset(m, t);
        const double gmax = abs_max(g + off, numel);
        const int pred = strstr(amod_lm_tensor_name(m, t), "mod_predictor") != NULL;
        pc.predictor = pred;
        for (int trial = 0; trial < 3; trial++) {
            /* embedding rows of tokens absent from the batch have no gradient: probe used rows */
            size_t i = off + (size_t)(rng_next(&r) % numel);
            if (strstr(amod_lm_tensor_name(m, t), "wte") || strstr(amod_lm_tensor_name(m, t), "embed_tokens"))
                i = off + (size_t)ids[rng_next(&r) % (uint64_t)(B * T)] * s->dim + rng_next(&r) % (uint64_t)s->dim;
            /* the predictor is piecewise linear (ReLU): a short step rarely crosses a kink */
            fd_probe(&fc, p, i, pred ? 2e-3f : 1e-2f, g[i], gmax, amod_lm_tensor_name(m, t), i - off);
        }
    }
    CHECK(fc.checked > amod_lm_num_tensors(m) / 2, "%s: only %d entries could be checked", label, fc.checked);
    printf("%-44s %3d entries, worst error %.2e (relative to the tensor's largest gradient)\n", label, fc.checked,
           fc.worst);
    free(ids);
    free(g);
    fd_free(&fc);
    amod_lm_free(m);
}

/* A-MoD with every token chosen is the dense model (up to the rounding of x + (y - x)). */
static void amod_full_capacity_is_dense(const shape *s) {
    amod_lm *dense = make(s, 11), *mod = make(s, 11);
    amod_error err;
    if (!dense || !mod) return;
    perturb(dense, 12);
    perturb(mod, 12);
    routing rt = {AMOD_ROUTER_ATTENTION, 1.0f, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    CHECK(set_routing(mod, &rt, s->layers, &err) == 0, "%s", err.msg);
    const int n = s->B * s->T;
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = (i * 7 + 3) % s->vocab;
    float *la = malloc((size_t)n * s->vocab * sizeof *la), *lb = malloc((size_t)n * s->vocab * sizeof *lb), a, b;
    amod_lm_forward(dense, ids, s->B, s->T, la, &a, &err);
    amod_lm_forward(mod, ids, s->B, s->T, lb, &b, &err);
    double el = rel_max_err(lb, la, (size_t)n * s->vocab);
    CHECK(el < 1e-6 && fabsf(a - b) < 1e-6f, "A-MoD at C=1: logits differ from dense by %.3g", el);
    amod_lm_zero_grad(dense);
    amod_lm_zero_grad(mod);
    amod_lm_backward(dense, &err);
    amod_lm_backward(mod, &err);
    double e = rel_max_err(amod_lm_grads(mod), amod_lm_grads(dense), amod_lm_num_params(dense));
    CHECK(e < 1e-5, "A-MoD at C=1: gradients differ from dense by %.3g", e);
    free(ids);
    free(la);
    free(lb);
    amod_lm_free(dense);
    amod_lm_free(mod);
}

/* A-MoD without gradients scores from column sums taken inside attention (no maps stored):
 * the same tokens and logits as the training path, which reads the stored maps. */
static void amod_inference_path(const shape *s) {
    amod_lm *m = make(s, 31);
    amod_error err;
    if (!m) return;
    perturb(m, 32);
    routing rt = {AMOD_ROUTER_ATTENTION, 0.5f, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    CHECK(set_routing(m, &rt, s->layers, &err) == 0, "%s", err.msg);
    const int n = s->B * s->T;
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = (i * 5 + 1) % s->vocab;
    float *la = malloc((size_t)n * s->vocab * sizeof *la), *lb = malloc((size_t)n * s->vocab * sizeof *lb), loss;
    int k;
    amod_lm_forward(m, ids, s->B, s->T, la, &loss, &err);
    int32_t *train_idx = malloc((size_t)n * sizeof *train_idx);
    const int32_t *routed = amod_lm_routed(m, 1, &k); /* sets k: read it only afterwards */
    memcpy(train_idx, routed, (size_t)s->B * k * sizeof *train_idx);
    amod_lm_set_grad_enabled(m, 0);
    CHECK(amod_lm_forward(m, ids, s->B, s->T, lb, NULL, &err) == 0, "%s", err.msg);
    const int32_t *inf_idx = amod_lm_routed(m, 1, &k);
    int same = !memcmp(train_idx, inf_idx, (size_t)s->B * k * sizeof *train_idx);
    CHECK(same, "A-MoD picks other tokens without gradients");
    double e = rel_max_err(lb, la, (size_t)n * s->vocab);
    CHECK(e < 1e-5, "A-MoD inference logits differ from training logits by %.3g", e);
    free(ids);
    free(la);
    free(lb);
    free(train_idx);
    amod_lm_free(m);
}

/* Router-Tuning's recipe starts from the dense model: zero routers, every gate open at
 * sigmoid 0.5 >= 0.5, logits bit for bit the dense model's; the hinge is lambda per routed
 * layer times (1 - target) and already sends the routers a gradient. */
static void router_tuning_starts_dense(const shape *s) {
    amod_lm *m = make(s, 41);
    amod_error err;
    if (!m) return;
    perturb(m, 42);
    const int n = s->B * s->T;
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = (i * 7 + 3) % s->vocab;
    float *dense = malloc((size_t)n * s->vocab * sizeof *dense), *rt = malloc((size_t)n * s->vocab * sizeof *rt), loss;
    CHECK(amod_lm_forward(m, ids, s->B, s->T, dense, &loss, &err) == 0, "%s", err.msg);
    amod_lm_mindskip ms = {0};
    ms.mode = AMOD_LM_SKIP_SEQUENCE, ms.target = 0.25f, ms.lambda = 2.0f, ms.seed = 5;
    ms.style = AMOD_LM_SKIP_STYLE_ROUTER_TUNING;
    amod_lm_mindskip_default_layers(&ms, s->layers);
    int routed = 0;
    for (int l = 0; l < s->layers; l++) routed += ms.routed[l];
    CHECK(amod_lm_set_mindskip(m, &ms, &err) == 0, "%s", err.msg);
    CHECK(amod_lm_forward(m, ids, s->B, s->T, rt, &loss, &err) == 0, "%s", err.msg);
    amod_lm_stats st;
    amod_lm_get_stats(m, &st);
    CHECK(!memcmp(dense, rt, (size_t)n * s->vocab * sizeof *rt), "Router-Tuning MindSkip at step 0: logits differ from dense");
    CHECK(st.attn_kept == 1.0f && fabsf(st.capacity_loss - 2.0f * routed * 0.75f) < 1e-6f,
          "every gate open (kept %g), hinge %g (want %g)", st.attn_kept, st.capacity_loss, 2.0 * routed * 0.75);
    amod_lm_zero_grad(m);
    CHECK(amod_lm_backward(m, &err) == 0, "%s", err.msg);
    double g = 0;
    const float *grads = amod_lm_grads(m);
    for (int i = 0; i < amod_lm_num_tensors(m); i++)
        if (strstr(amod_lm_tensor_name(m, i), "mindskip_router"))
            for (size_t j = 0; j < (size_t)s->dim; j++) g += fabs(grads[amod_lm_tensor_offset(m, i) + j]);
    CHECK(g > 0, "the hinge and the loss send the zero routers a gradient");
    printf("%-44s logits = dense bit for bit, %d routed layers open, hinge %.3f\n", "Router-Tuning MindSkip at step 0",
           routed, st.capacity_loss);
    free(ids), free(dense), free(rt);
    amod_lm_free(m);
}

/* The FLOPs the forward pass counts as it runs equal the analytic count, dense and routed. */
static void macs_agree(const shape *s) {
    routing rts[3] = {{AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD}, {AMOD_ROUTER_LINEAR, 0.25f, 4, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD},
                      {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_SEQUENCE, AMOD_LM_SKIP_STYLE_AMOD}};
    for (int i = 0; i < 3; i++) {
        amod_lm *m = make(s, 21);
        amod_error err;
        if (!m || set_routing(m, &rts[i], s->layers, &err)) continue;
        amod_lm_mindskip ms = *amod_lm_get_mindskip(m);
        ms.soft = 0;
        if (ms.mode != AMOD_LM_SKIP_NONE) amod_lm_set_mindskip(m, &ms, &err);
        int64_t ids[64];
        for (int j = 0; j < s->B * s->T; j++) ids[j] = j % s->vocab;
        amod_lm_set_grad_enabled(m, 0);
        amod_lm_forward(m, ids, s->B, s->T, NULL, NULL, &err);
        amod_lm_stats st;
        amod_lm_get_stats(m, &st);
        double want = amod_lm_macs_per_token(m, s->T, -1.0f);
        CHECK(fabs(st.macs_per_token - want) <= 1e-9 * want, "routing %d: forward counted %.1f MACs/token, analytic %.1f",
              i, st.macs_per_token, want);
        amod_lm_free(m);
    }
}

int main(void) {
    /* arch, vocab, dim, heads, kv, head_dim, ff, layers, positions, tie, attn_bias, mlp_bias, B, T */
    shape g1 = {AMOD_LM_GPT2, 37, 12, 3, 3, 4, 20, 3, 16, 1, 1, 1, 2, 7};
    shape g2 = {AMOD_LM_GPT2, 19, 16, 2, 2, 8, 48, 4, 9, 0, 1, 1, 3, 9};   /* untied head, T = all positions */
    shape l1 = {AMOD_LM_LLAMA, 29, 20, 4, 2, 6, 28, 3, 12, 0, 0, 0, 2, 8}; /* GQA 4:2, head_dim 6 != D/H */
    shape l2 = {AMOD_LM_LLAMA, 41, 12, 3, 1, 4, 18, 4, 11, 1, 1, 1, 1, 11}; /* multi-query, tied, biases */
    shape l3 = {AMOD_LM_LLAMA, 23, 16, 4, 4, 4, 24, 2, 6, 0, 0, 1, 2, 5};   /* KV = H */
    routing dense = {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    gradcheck("gpt2 V37 D12 H3 L3 T7", &g1, &dense, 1);
    gradcheck("gpt2 V19 D16 H2 L4 T9 untied", &g2, &dense, 2);
    gradcheck("llama V29 D20 H4 KV2 hd6 L3 T8", &l1, &dense, 3);
    gradcheck("llama V41 D12 H3 KV1 L4 T11 tied+bias", &l2, &dense, 4);
    gradcheck("llama V23 D16 H4 KV4 L2 T5 mlp bias", &l3, &dense, 5);
    routing lin = {AMOD_ROUTER_LINEAR, 0.5f, 6, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    routing lin_small = {AMOD_ROUTER_LINEAR, 0.25f, 5, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    routing att = {AMOD_ROUTER_ATTENTION, 0.5f, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    routing rnd = {AMOD_ROUTER_RANDOM, 0.4f, 0, AMOD_LM_SKIP_NONE, AMOD_LM_SKIP_STYLE_AMOD};
    routing seq = {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_SEQUENCE, AMOD_LM_SKIP_STYLE_AMOD};
    routing tok = {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_TOKEN, AMOD_LM_SKIP_STYLE_AMOD};
    gradcheck("gpt2 MoD linear C=0.5 + predictor", &g1, &lin, 6);
    gradcheck("llama MoD linear C=0.25 + predictor", &l1, &lin_small, 7);
    gradcheck("gpt2 A-MoD C=0.5", &g2, &att, 8);
    gradcheck("llama A-MoD C=0.5", &l2, &att, 9);
    gradcheck("llama MoD random C=0.4", &l1, &rnd, 10);
    gradcheck("gpt2 MindSkip sequence (soft)", &g2, &seq, 11);
    gradcheck("llama MindSkip sequence (soft)", &l2, &seq, 12);
    gradcheck("llama MindSkip token (soft)", &l1, &tok, 13);
    routing seq_rt = {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_SEQUENCE, AMOD_LM_SKIP_STYLE_ROUTER_TUNING};
    routing tok_rt = {AMOD_ROUTER_NONE, 1, 0, AMOD_LM_SKIP_TOKEN, AMOD_LM_SKIP_STYLE_ROUTER_TUNING};
    gradcheck("gpt2 MindSkip sequence, Router-Tuning hinge (soft)", &g2, &seq_rt, 14);
    gradcheck("llama MindSkip token, Router-Tuning hinge (soft)", &l1, &tok_rt, 15);
    router_tuning_starts_dense(&g1);
    router_tuning_starts_dense(&l2);
    amod_inference_path(&g1);
    amod_inference_path(&l1);
    macs_agree(&g1);
    macs_agree(&l1);
    amod_full_capacity_is_dense(&g1);
    amod_full_capacity_is_dense(&l1);
    return test_summary("test_lm_gradcheck");
}
