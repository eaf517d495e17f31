/* The optimizer against a hand-computed AdamW (PyTorch's formulas, in double, written out
 * here independently) on a ViT and on a bare list of tensors with a frozen one left out, the
 * weight-decay mask, gradient clipping, the learning-rate schedule and the state file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amod/amod.h"
#include "core/rng.h"
#include "test_support.h"
#include "train/optim.h"
#include "train/schedule.h"

static amod_vit *tiny_model(void) {
    amod_vit_config c = {0};
    strcpy(c.arch, "vit_custom");
    c.img_size = 8, c.patch_size = 4, c.in_chans = 1, c.num_classes = 3;
    c.embed_dim = 8, c.depth = 2, c.num_heads = 2, c.mlp_hidden = 16;
    c.qkv_bias = 1, c.num_prefix = 1, c.ln_eps = 1e-6f;
    amod_error err;
    amod_vit *m = amod_vit_create(&c, 5, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    return m;
}

/* timm's rule, restated from the tensor's name and rank. */
static int expect_decay(const char *name, int ndim) {
    if (ndim == 1) return 0;
    if (!strcmp(name, "cls_token") || !strcmp(name, "pos_embed")) return 0;
    return 1;
}

static void test_decay_mask(void) {
    CHECK(!amod_param_decays("blocks.0.attn.qkv.bias", 1), "biases do not decay");
    CHECK(!amod_param_decays("blocks.0.norm1.weight", 1), "norm weights do not decay");
    CHECK(!amod_param_decays("cls_token", 3), "cls_token does not decay");
    CHECK(!amod_param_decays("pos_embed", 3), "pos_embed does not decay");
    CHECK(amod_param_decays("blocks.0.attn.qkv.weight", 2), "matrices decay");
    CHECK(amod_param_decays("patch_embed.proj.weight", 4), "the patch projection decays");
    CHECK(amod_param_decays("head.weight", 2), "the head decays");
}

/* PyTorch's AdamW for one element, in double, written out independently of optim.c. */
static double ref_step(double p, double *m, double *v, double g, int decay, double lr, const amod_adamw_config *c,
                       int step) {
    const double b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    if (decay) p -= lr * wd * p;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * g * g;
    double mhat = *m / (1 - pow(b1, step)), vhat = *v / (1 - pow(b2, step));
    return p - lr * mhat / (sqrt(vhat) + eps);
}

/* Largest relative difference between the optimizer's parameters and the reference. */
static double worst_error(const float *params, const double *p, size_t n, size_t *at) {
    double worst = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(params[i] - p[i]) / (fabs(p[i]) + 1e-3);
        if (e > worst) worst = e, *at = i;
    }
    return worst;
}

static void test_adamw_matches_hand_computation(void) {
    amod_vit *m = tiny_model();
    if (!m) return;
    const size_t n = amod_vit_num_params(m);
    amod_adamw_config cfg = {0.9f, 0.95f, 1e-6f, 0.1f};
    amod_adamw opt;
    amod_error err;
    CHECK(amod_adamw_init_vit(&opt, m, &cfg, &err) == 0, "init: %s", err.msg);
    CHECK(opt.n == n, "the ViT optimizer covers %zu of %zu parameters", opt.n, n);
    double *p = malloc(n * sizeof *p), *mm = calloc(n, sizeof *mm), *vv = calloc(n, sizeof *vv);
    int *decay = malloc(n * sizeof *decay);
    for (int t = 0; t < amod_vit_num_tensors(m); t++) {
        int64_t shape[4];
        int nd = amod_vit_tensor_shape(m, t, shape);
        size_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= (size_t)shape[d];
        size_t off = amod_vit_tensor_offset(m, t);
        for (size_t i = 0; i < numel; i++) decay[off + i] = expect_decay(amod_vit_tensor_name(m, t), nd);
    }
    float *params = amod_vit_params(m), *grads = amod_vit_grads(m);
    for (size_t i = 0; i < n; i++) p[i] = params[i];
    amod_rng r;
    rng_seed(&r, 11);
    const float lrs[4] = {1e-2f, 3e-3f, 5e-2f, 1e-3f};
    for (int step = 1; step <= 4; step++) {
        for (size_t i = 0; i < n; i++) grads[i] = rng_normal(&r) * (i % 7 == 0 ? 1e-3f : 0.5f);
        amod_adamw_step(&opt, params, grads, lrs[step - 1]);
        for (size_t i = 0; i < n; i++) p[i] = ref_step(p[i], &mm[i], &vv[i], grads[i], decay[i], lrs[step - 1], &cfg, step);
        size_t at;
        double worst = worst_error(params, p, n, &at);
        CHECK(worst < 2e-5, "step %d: parameter %zu is %.9g, hand-computed %.9g", step, at, params[at], p[at]);
    }
    CHECK(opt.step == 4, "step counter %lld", (long long)opt.step);
    free(p);
    free(mm);
    free(vv);
    free(decay);
    amod_adamw_free(&opt);
    amod_vit_free(m);
}

/* Model-agnostic use, as the language-model trainer does it: a list of tensors with their own
 * decay flags, a frozen tensor left out (never touched), moments packed in the spans' order,
 * and a state file that round-trips. */
static void test_spans(void) {
    enum { N = 30 };
    const int64_t sa[2] = {4, 3}, sb[1] = {5}, sc[2] = {2, 3};
    amod_adamw_span spans[3];
    amod_adamw_span_set(&spans[0], "a.weight", 2, sa, 0, 1);   /* [0, 12): decays */
    amod_adamw_span_set(&spans[1], "b.bias", 1, sb, 12, 0);    /* [12, 17): no decay */
    amod_adamw_span_set(&spans[2], "c.router", 2, sc, 24, 0);  /* [24, 30); [17, 24) is frozen */
    amod_adamw_config cfg = {0.9f, 0.95f, 1e-8f, 0.1f};
    amod_adamw opt, back;
    amod_error err;
    CHECK(amod_adamw_init(&opt, spans, 3, &cfg, &err) == 0, "init: %s", err.msg);
    CHECK(opt.n == 23 && opt.spans[2].state == 17 && opt.spans[1].numel == 5, "23 parameters packed, got %zu", opt.n);
    float params[N], grads[N];
    double p[N], mm[N] = {0}, vv[N] = {0};
    amod_rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++) p[i] = params[i] = rng_normal(&r);
    for (int step = 1; step <= 3; step++) {
        for (int i = 0; i < N; i++) grads[i] = rng_normal(&r);
        amod_adamw_step(&opt, params, grads, 1e-2f);
        for (int i = 0; i < N; i++) {
            if (i >= 17 && i < 24) continue;
            p[i] = ref_step(p[i], &mm[i], &vv[i], grads[i], i < 12, 1e-2, &cfg, step);
        }
        size_t at;
        double worst = worst_error(params, p, N, &at);
        CHECK(worst < 2e-6, "step %d: parameter %zu is %.9g, hand-computed %.9g", step, at, params[at], p[at]);
    }
    char path[] = "/tmp/amod_test_optim_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    CHECK(amod_adamw_save(&opt, path, &err) == 0, "save: %s", err.msg);
    CHECK(amod_adamw_init(&back, spans, 3, &cfg, &err) == 0, "init: %s", err.msg);
    CHECK(amod_adamw_load(&back, path, &err) == 0, "load: %s", err.msg);
    CHECK(back.step == 3 && !memcmp(back.m, opt.m, 23 * sizeof(float)) && !memcmp(back.v, opt.v, 23 * sizeof(float)),
          "span state read back exactly");
    amod_adamw_free(&back);
    CHECK(amod_adamw_init(&back, spans, 2, &cfg, &err) == 0, "init: %s", err.msg);
    CHECK(amod_adamw_load(&back, path, &err) != 0 && strstr(err.msg, path), "other tensors refused: %s", err.msg);
    remove(path);
    amod_adamw_free(&back);
    amod_adamw_free(&opt);
}

static void test_clipping(void) {
    float g[1000];
    for (int i = 0; i < 1000; i++) g[i] = (i % 2 ? 0.25f : -0.5f); /* exact in binary */
    double want = sqrt(500.0 * (0.0625 + 0.25));
    CHECK(fabs(amod_grad_norm(g, 1000) - want) < 1e-9, "norm %.12g, expected %.12g", amod_grad_norm(g, 1000), want);
    double before = amod_clip_grad_norm(g, 1000, 2.0);
    CHECK(fabs(before - want) < 1e-9, "clip returns the norm before clipping: %g", before);
    CHECK(fabs(amod_grad_norm(g, 1000) - 2.0) < 1e-5, "clipped norm %g, expected 2", amod_grad_norm(g, 1000));
    float h[3] = {0.1f, 0.2f, 0.2f}; /* norm 0.3: below the bound, untouched */
    amod_clip_grad_norm(h, 3, 1.0);
    CHECK(h[0] == 0.1f && h[1] == 0.2f && h[2] == 0.2f, "a small gradient is not scaled");
    h[1] = NAN;
    CHECK(isnan(amod_clip_grad_norm(h, 3, 1.0)), "a NaN gradient gives a NaN norm");
}

/* Clipping folded into the update (the training loop's form) gives the same bits as clipping
 * in place and then stepping; a norm over a million values agrees with a double sum. */
static void test_clip_folded(void) {
    enum { N = 1 << 20 };
    float *g = malloc(N * sizeof *g), *p1 = malloc(N * sizeof *p1), *p2 = malloc(N * sizeof *p2);
    double ref = 0;
    for (int i = 0; i < N; i++) {
        g[i] = (float)((i * 37) % 1001 - 500) * 1e-3f;
        p1[i] = p2[i] = (float)(i % 17) * 0.01f;
        ref += (double)g[i] * g[i];
    }
    ref = sqrt(ref);
    const double norm = amod_grad_norm(g, N);
    CHECK(fabs(norm - ref) <= 1e-12 * ref, "norm of 2^20 values %.15g, a double sum gives %.15g", norm, ref);
    const float c = amod_clip_coef(norm, 1.0);
    CHECK(c < 1.0f && c == (float)(1.0 / (norm + 1e-6)), "coefficient %g for norm %g", c, norm);
    CHECK(amod_clip_coef(0.5, 1.0) == 1.0f && amod_clip_coef(NAN, 1.0) == 1.0f && amod_clip_coef(5.0, 0.0) == 1.0f,
          "no clipping below the bound, for a NaN norm or without a bound");
    amod_adamw_span sp;
    const int64_t shape[1] = {N};
    amod_adamw_span_set(&sp, "w", 1, shape, 0, 1);
    amod_adamw_config oc;
    amod_adamw_config_default(&oc);
    amod_adamw a, b;
    amod_error err = {0};
    CHECK(!amod_adamw_init(&a, &sp, 1, &oc, &err) && !amod_adamw_init(&b, &sp, 1, &oc, &err), "init: %s", err.msg);
    for (int step = 0; step < 3; step++) {
        amod_adamw_step_scaled(&a, p1, g, amod_clip_coef(amod_grad_norm(g, N), 1.0), 1e-3f);
        float *h = malloc(N * sizeof *h);
        memcpy(h, g, N * sizeof *h);
        amod_clip_grad_norm(h, N, 1.0);
        amod_adamw_step(&b, p2, h, 1e-3f);
        free(h);
    }
    CHECK(!memcmp(p1, p2, N * sizeof *p1) && !memcmp(a.m, b.m, N * sizeof(float)) &&
              !memcmp(a.v, b.v, N * sizeof(float)),
          "clipping folded into AdamW differs from clipping in place");
    amod_adamw_free(&a);
    amod_adamw_free(&b);
    free(g), free(p1), free(p2);
}

static void test_schedule(void) {
    amod_lr_schedule s = {1e-3f, 1e-5f, 10, 110};
    CHECK(fabsf(amod_lr_at(&s, 0) - 1e-4f) < 1e-9f, "first warmup step: lr / 10, got %g", amod_lr_at(&s, 0));
    CHECK(fabsf(amod_lr_at(&s, 9) - 1e-3f) < 1e-9f, "warmup ends at the peak, got %g", amod_lr_at(&s, 9));
    CHECK(fabsf(amod_lr_at(&s, 10) - 1e-3f) < 1e-9f, "cosine starts at the peak, got %g", amod_lr_at(&s, 10));
    float mid = (1e-3f + 1e-5f) / 2;
    CHECK(fabsf(amod_lr_at(&s, 60) - mid) < 1e-8f, "half-way: the mean of peak and floor, got %g", amod_lr_at(&s, 60));
    CHECK(fabsf(amod_lr_at(&s, 110) - 1e-5f) < 1e-9f, "the end: the floor, got %g", amod_lr_at(&s, 110));
    CHECK(amod_lr_at(&s, 30) > amod_lr_at(&s, 31), "decreasing after warmup");
    amod_lr_schedule nw = {2e-3f, 0, 0, 100};
    CHECK(amod_lr_at(&nw, 0) == 2e-3f, "no warmup: the first step at the peak");
}

static void test_state_roundtrip(void) {
    amod_vit *m = tiny_model();
    if (!m) return;
    amod_adamw_config cfg;
    amod_adamw_config_default(&cfg);
    amod_adamw a, b;
    amod_error err;
    amod_adamw_init_vit(&a, m, &cfg, &err);
    amod_adamw_init_vit(&b, m, &cfg, &err);
    float *grads = amod_vit_grads(m);
    for (size_t i = 0; i < a.n; i++) grads[i] = (float)((i * 37) % 11) - 5.0f;
    amod_adamw_step(&a, amod_vit_params(m), grads, 1e-3f);
    amod_adamw_step(&a, amod_vit_params(m), grads, 1e-3f);
    char path[] = "/tmp/amod_test_optim_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    CHECK(amod_adamw_save(&a, path, &err) == 0, "save: %s", err.msg);
    CHECK(amod_adamw_load(&b, path, &err) == 0, "load: %s", err.msg);
    CHECK(b.step == 2, "step %lld after loading", (long long)b.step);
    CHECK(!memcmp(a.m, b.m, a.n * sizeof *a.m) && !memcmp(a.v, b.v, a.n * sizeof *a.v), "moments read back exactly");
    /* A state file for another layout is refused, naming the file. */
    amod_mod_config mod = {0};
    mod.router = AMOD_ROUTER_LINEAR;
    mod.capacity = 0.5f;
    amod_mod_set_start(&mod, 2, 1);
    CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
    amod_adamw c;
    amod_adamw_init_vit(&c, m, &cfg, &err);
    CHECK(amod_adamw_load(&c, path, &err) != 0 && strstr(err.msg, path), "other layout refused: %s", err.msg);
    remove(path);
    amod_adamw_free(&a);
    amod_adamw_free(&b);
    amod_adamw_free(&c);
    amod_vit_free(m);
}

int main(void) {
    test_decay_mask();
    test_adamw_matches_hand_computation();
    test_spans();
    test_clipping();
    test_clip_folded();
    test_schedule();
    test_state_roundtrip();
    return test_summary("test_optim");
}
