/* Leave-one-out importance and router-score correlations on a model whose attention is
 * known by construction: the query projection's weights are zero, so every query is the
 * query bias and all rows of an attention map are equal. A plain double-precision forward
 * pass written here from that construction (no kernels, no library routing) gives the
 * importance, the A-MoD and linear router scores and the correlations independently. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "analysis/importance.h"
#include "core/rng.h"
#include "test_support.h"

#define IMG 12
#define PATCH 4
#define G (IMG / PATCH)
#define NT (1 + G * G) /* 10 tokens */
#define D 8
#define H 2
#define HD (D / H)
#define HID 16
#define DEPTH 4
#define K 3
#define NIMG 6

static const float *param(amod_vit *m, const char *name) {
    for (int i = 0; i < amod_vit_num_tensors(m); i++)
        if (!strcmp(amod_vit_tensor_name(m, i), name)) return amod_vit_params(m) + amod_vit_tensor_offset(m, i);
    fprintf(stderr, "no parameter %s\n", name);
    exit(1);
}
static const float *bp(amod_vit *m, int l, const char *rest) {
    char name[96];
    snprintf(name, sizeof name, "blocks.%d.%s", l, rest);
    return param(m, name);
}

static amod_vit *make_model(int uniform) {
    amod_vit_config c = {0};
    strcpy(c.arch, "vit_custom");
    c.img_size = IMG, c.patch_size = PATCH, c.in_chans = 1, c.num_classes = K;
    c.embed_dim = D, c.depth = DEPTH, c.num_heads = H, c.mlp_hidden = HID;
    c.qkv_bias = 1, c.num_prefix = 1, c.ln_eps = 1e-6f;
    c.mean[0] = 0.5f, c.std[0] = 0.5f;
    amod_error err;
    amod_vit *m = amod_vit_create(&c, 7, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    float *p = amod_vit_params(m);
    amod_rng r;
    rng_seed(&r, 11);
    for (size_t i = 0; i < amod_vit_num_params(m); i++) p[i] += 0.5f * rng_normal(&r);
    for (int l = 0; l < DEPTH; l++) {
        float *qkv = (float *)bp(m, l, "attn.qkv.weight");
        memset(qkv, 0, (size_t)D * D * sizeof(float)); /* W_q = 0: query = bias */
        if (uniform) { /* W_k = 0, b_k = 0 as well: every score equal, attention uniform */
            memset(qkv + D * D, 0, (size_t)D * D * sizeof(float));
            memset((float *)bp(m, l, "attn.qkv.bias") + D, 0, D * sizeof(float));
        }
    }
    return m;
}

/* ---- the reference: double precision, written from the construction ---- */

typedef double vec[D];

static void layernorm(const double *x, const float *w, const float *b, double *out) {
    double mu = 0, var = 0;
    for (int i = 0; i < D; i++) mu += x[i] / D;
    for (int i = 0; i < D; i++) var += (x[i] - mu) * (x[i] - mu) / D;
    for (int i = 0; i < D; i++) out[i] = (x[i] - mu) / sqrt(var + 1e-6) * w[i] + b[i];
}

static void embed(amod_vit *m, const float *img, vec x[NT]) {
    const float *w = param(m, "patch_embed.proj.weight"), *b = param(m, "patch_embed.proj.bias");
    const float *cls = param(m, "cls_token"), *pos = param(m, "pos_embed");
    for (int d = 0; d < D; d++) x[0][d] = cls[d] + pos[d];
    for (int p = 0; p < G * G; p++)
        for (int d = 0; d < D; d++) {
            double s = b[d];
            for (int y = 0; y < PATCH; y++)
                for (int xx = 0; xx < PATCH; xx++)
                    s += w[(d * PATCH + y) * PATCH + xx] * img[((p / G) * PATCH + y) * IMG + (p % G) * PATCH + xx];
            x[1 + p][d] = s + pos[(1 + p) * D + d];
        }
}

/* Block l on the tokens sel[0..ns) of x (indices into x), attention among them only. With
 * all queries equal to the query bias, every token gets the same attention output. recv
 * (may be NULL) receives the attention each token received, mean over heads and queries.
 * scale (may be NULL) scales each token's update (linear router). */
static void block(amod_vit *m, int l, vec *x, const int *sel, int ns, double *recv, const double *scale) {
    const float *qkv_w = bp(m, l, "attn.qkv.weight"), *qkv_b = bp(m, l, "attn.qkv.bias");
    const float *pw = bp(m, l, "attn.proj.weight"), *pb = bp(m, l, "attn.proj.bias");
    const float *f1w = bp(m, l, "mlp.fc1.weight"), *f1b = bp(m, l, "mlp.fc1.bias");
    const float *f2w = bp(m, l, "mlp.fc2.weight"), *f2b = bp(m, l, "mlp.fc2.bias");
    vec kk[NT], vv[NT], ln, o = {0}, proj;
    for (int j = 0; j < ns; j++) {
        layernorm(x[sel[j]], bp(m, l, "norm1.weight"), bp(m, l, "norm1.bias"), ln);
        for (int d = 0; d < D; d++) {
            double sk = qkv_b[D + d], sv = qkv_b[2 * D + d];
            for (int e = 0; e < D; e++) {
                sk += qkv_w[(D + d) * D + e] * ln[e];
                sv += qkv_w[(2 * D + d) * D + e] * ln[e];
            }
            kk[j][d] = sk, vv[j][d] = sv;
        }
    }
    for (int h = 0; h < H; h++) {
        double s[NT], mx = -1e300, sum = 0;
        for (int j = 0; j < ns; j++) {
            s[j] = 0;
            for (int d = 0; d < HD; d++) s[j] += qkv_b[h * HD + d] * kk[j][h * HD + d];
            s[j] /= sqrt((double)HD);
            mx = s[j] > mx ? s[j] : mx;
        }
        for (int j = 0; j < ns; j++) sum += s[j] = exp(s[j] - mx);
        for (int j = 0; j < ns; j++) {
            double a = s[j] / sum;
            if (recv) recv[sel[j]] += a / H;
            for (int d = 0; d < HD; d++) o[h * HD + d] += a * vv[j][h * HD + d];
        }
    }
    for (int d = 0; d < D; d++) {
        proj[d] = pb[d];
        for (int e = 0; e < D; e++) proj[d] += pw[d * D + e] * o[e];
    }
    for (int j = 0; j < ns; j++) {
        double *xi = x[sel[j]];
        vec x2, ln2, y;
        double hid[HID];
        for (int d = 0; d < D; d++) x2[d] = xi[d] + proj[d];
        layernorm(x2, bp(m, l, "norm2.weight"), bp(m, l, "norm2.bias"), ln2);
        for (int u = 0; u < HID; u++) {
            double s = f1b[u];
            for (int e = 0; e < D; e++) s += f1w[u * D + e] * ln2[e];
            hid[u] = 0.5 * s * (1.0 + erf(s / sqrt(2.0)));
        }
        for (int d = 0; d < D; d++) {
            double s = f2b[d];
            for (int u = 0; u < HID; u++) s += f2w[d * HID + u] * hid[u];
            y[d] = x2[d] + s;
        }
        double r = scale ? scale[sel[j]] : 1.0;
        for (int d = 0; d < D; d++) xi[d] += r * (y[d] - xi[d]);
    }
}

static double head_loss(amod_vit *m, const double *cls, int label) {
    vec ln;
    layernorm(cls, param(m, "norm.weight"), param(m, "norm.bias"), ln);
    const float *w = param(m, "head.weight"), *b = param(m, "head.bias");
    double z[K], mx = -1e300, sum = 0;
    for (int c = 0; c < K; c++) {
        z[c] = b[c];
        for (int e = 0; e < D; e++) z[c] += w[c * D + e] * ln[e];
        mx = z[c] > mx ? z[c] : mx;
    }
    for (int c = 0; c < K; c++) sum += exp(z[c] - mx);
    return mx + log(sum) - z[label];
}

/* Dense model on the image without token `drop` (-1: the full sequence). */
static double ref_loss(amod_vit *m, const float *img, int label, int drop) {
    vec x[NT];
    int sel[NT], ns = 0;
    embed(m, img, x);
    for (int t = 0; t < NT; t++)
        if (t != drop) sel[ns++] = t;
    for (int l = 0; l < DEPTH; l++) block(m, l, x, sel, ns, NULL, NULL);
    return head_loss(m, x[0], label);
}

/* Dense model in which token `skip` skips block `layer` (runs every other block). */
static double ref_skip_loss(amod_vit *m, const float *img, int label, int layer, int skip) {
    vec x[NT];
    int all[NT], sel[NT], ns = 0;
    embed(m, img, x);
    for (int t = 0; t < NT; t++) {
        all[t] = t;
        if (t != skip) sel[ns++] = t;
    }
    for (int l = 0; l < DEPTH; l++) block(m, l, x, l == layer ? sel : all, l == layer ? ns : NT, NULL, NULL);
    return head_loss(m, x[0], label);
}

/* MoD model (layers 1 and 3, capacity 0.5: k = 5) on the full sequence: scores[l][t]. */
static void ref_scores(amod_vit *m, amod_router router, const float *img, double scores[DEPTH][NT]) {
    vec x[NT];
    int all[NT];
    double recv[NT] = {0};
    embed(m, img, x);
    for (int t = 0; t < NT; t++) all[t] = t;
    for (int l = 0; l < DEPTH; l++) {
        if (l % 2 == 0) {
            memset(recv, 0, sizeof recv);
            block(m, l, x, all, NT, recv, NULL);
            continue;
        }
        const float *w = router == AMOD_ROUTER_LINEAR ? bp(m, l, "router.weight") : NULL;
        for (int t = 0; t < NT; t++) {
            scores[l][t] = recv[t];
            if (w) {
                scores[l][t] = 0;
                for (int d = 0; d < D; d++) scores[l][t] += w[d] * x[t][d];
            }
        }
        int sel[NT] = {0}, ns = 1, taken[NT] = {1};
        for (; ns < 5; ns++) { /* best remaining non-prefix token, lower index on ties */
            int best = -1;
            for (int t = 1; t < NT; t++)
                if (!taken[t] && (best < 0 || scores[l][t] > scores[l][best])) best = t;
            taken[best] = 1;
        }
        ns = 0;
        for (int t = 0; t < NT; t++)
            if (taken[t]) sel[ns++] = t;
        block(m, l, x, sel, ns, NULL, w ? scores[l] : NULL);
    }
}

/* Correlations the plain way: Pearson from sums, Spearman from ranks counted pairwise. */
static double ref_pearson(const double *a, const double *b, int n) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (int i = 0; i < n; i++) sa += a[i], sb += b[i];
    for (int i = 0; i < n; i++) {
        double x = a[i] - sa / n, y = b[i] - sb / n;
        saa += x * x, sbb += y * y, sab += x * y;
    }
    return sab / sqrt(saa * sbb);
}
static void ref_ranks(const double *a, int n, double *r) {
    for (int i = 0; i < n; i++) {
        int below = 0, equal = 0;
        for (int j = 0; j < n; j++) below += a[j] < a[i], equal += a[j] == a[i];
        r[i] = below + (equal + 1) / 2.0;
    }
}

static void images(float *x, int64_t *labels) {
    amod_rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < NIMG * IMG * IMG; i++) x[i] = rng_normal(&r);
    for (int i = 0; i < NIMG; i++) labels[i] = i % K;
}

static void test_importance_and_correlation(amod_router router) {
    amod_error err;
    amod_vit *m = make_model(0);
    float x[NIMG * IMG * IMG], imp[NIMG * NT], base[NIMG];
    int64_t y[NIMG];
    images(x, y);
    amod_mod_config mod = {.router = router, .capacity = 0.5f};
    amod_mod_set_start(&mod, DEPTH, 1);
    CHECK(!amod_vit_set_mod(m, &mod, &err), "set_mod: %s", err.msg);
    amod_routing rt;
    CHECK(!amod_routing_collect(m, x, NIMG, 4, &rt, &err), "routing: %s", err.msg);
    CHECK(rt.k[1] == 5 && rt.k[3] == 5 && !rt.k[0] && !rt.k[2], "k per layer %d %d %d %d", rt.k[0], rt.k[1], rt.k[2],
          rt.k[3]);

    /* Importance needs the dense model: refused on the MoD one. */
    CHECK(amod_token_importance(m, x, y, NIMG, 7, imp, base, NULL, NULL, &err) == -1 && strstr(err.msg, "dense"),
          "importance on a MoD model: %s", err.msg);
    amod_mod_config dense = mod;
    dense.router = AMOD_ROUTER_NONE;
    CHECK(!amod_vit_set_mod(m, &dense, &err), "dense: %s", err.msg);
    /* 7 sequences a pass: chunks straddle images. */
    CHECK(!amod_token_importance(m, x, y, NIMG, 7, imp, base, NULL, NULL, &err), "importance: %s", err.msg);

    double worst_imp = 0, worst_score = 0, a[DEPTH][NIMG * (NT - 1)], b[NIMG * (NT - 1)];
    for (int i = 0; i < NIMG; i++) {
        const float *img = x + i * IMG * IMG;
        double full = ref_loss(m, img, (int)y[i], -1);
        CHECK(fabs(full - base[i]) < 1e-4, "image %d: loss %g, reference %g", i, base[i], full);
        CHECK(imp[i * NT] == 0.0f, "prefix importance %g", imp[i * NT]);
        for (int t = 1; t < NT; t++) {
            double want = ref_loss(m, img, (int)y[i], t) - full;
            double e = fabs(want - imp[i * NT + t]);
            worst_imp = e > worst_imp ? e : worst_imp;
            b[i * (NT - 1) + t - 1] = want;
        }
    }
    CHECK(worst_imp < 2e-5, "importance differs from the reference by %g", worst_imp);

    /* Router scores: the MoD forward written here, on the same weights. The router weights
     * were dropped with the router, so score with a model that still has them. */
    amod_vit *mm = make_model(0);
    CHECK(!amod_vit_set_mod(mm, &mod, &err), "set_mod: %s", err.msg);
    amod_routing rt2;
    CHECK(!amod_routing_collect(mm, x, NIMG, 4, &rt2, &err), "routing: %s", err.msg);
    for (int i = 0; i < NIMG; i++) {
        double s[DEPTH][NT];
        ref_scores(mm, router, x + i * IMG * IMG, s);
        for (int l = 1; l < DEPTH; l += 2)
            for (int t = 0; t < NT; t++) {
                double e = fabs(s[l][t] - rt2.scores[l][i * NT + t]) / (fabs(s[l][t]) + 1e-3);
                worst_score = e > worst_score ? e : worst_score;
                if (t > 0) a[l][i * (NT - 1) + t - 1] = s[l][t];
            }
    }
    CHECK(worst_score < 1e-4, "%s scores differ from the reference by %g (relative)", amod_router_name(router),
          worst_score);
    for (int l = 1; l < DEPTH; l += 2) {
        amod_corr pr, sp;
        CHECK(!amod_importance_correlate(&rt2, l, imp, &pr, &sp, &err), "correlate: %s", err.msg);
        const int n = NIMG * (NT - 1);
        double ra[NIMG * (NT - 1)], rb[NIMG * (NT - 1)];
        ref_ranks(a[l], n, ra);
        ref_ranks(b, n, rb);
        double want_p = ref_pearson(a[l], b, n), want_s = ref_pearson(ra, rb, n);
        CHECK(pr.n == (size_t)n && fabs(pr.r - want_p) < 1e-4, "%s layer %d Pearson %g, reference %g",
              amod_router_name(router), l, pr.r, want_p);
        CHECK(fabs(sp.r - want_s) < 1e-3, "%s layer %d Spearman %g, reference %g", amod_router_name(router), l, sp.r,
              want_s);
        CHECK(pr.p > 0 && pr.p <= 1 && sp.p > 0 && sp.p <= 1, "p-values %g %g", pr.p, sp.p);
        printf("%s layer %d: pearson %.4f (p %.3g), spearman %.4f (p %.3g)\n", amod_router_name(router), l, pr.r,
               pr.p, sp.r, sp.p);
    }
    CHECK(amod_importance_correlate(&rt2, 2, imp, &(amod_corr){0}, &(amod_corr){0}, &err) == -1 &&
              strstr(err.msg, "not a MoD layer"),
          "dense layer correlated: %s", err.msg);
    amod_routing_free(&rt);
    amod_routing_free(&rt2);
    amod_vit_free(m);
    amod_vit_free(mm);
}

/* Uniform attention: every A-MoD score is 1/N, so the correlation is undefined (NaN), not
 * a crash or a number; importance still matches the reference. */
static void test_uniform_attention(void) {
    amod_error err;
    amod_vit *m = make_model(1);
    float x[NIMG * IMG * IMG], imp[NIMG * NT];
    int64_t y[NIMG];
    images(x, y);
    amod_mod_config mod = {.router = AMOD_ROUTER_ATTENTION, .capacity = 0.5f};
    amod_mod_set_start(&mod, DEPTH, 1);
    CHECK(!amod_vit_set_mod(m, &mod, &err), "set_mod: %s", err.msg);
    amod_routing rt;
    CHECK(!amod_routing_collect(m, x, NIMG, NIMG, &rt, &err), "routing: %s", err.msg);
    double worst = 0;
    for (int i = 0; i < NIMG * NT; i++) worst = fmax(worst, fabs(rt.scores[1][i] - 1.0 / NT));
    CHECK(worst < 1e-6, "uniform attention: scores differ from 1/N by %g", worst);
    mod.router = AMOD_ROUTER_NONE;
    CHECK(!amod_vit_set_mod(m, &mod, &err), "dense: %s", err.msg);
    CHECK(!amod_token_importance(m, x, y, NIMG, 1000, imp, NULL, NULL, NULL, &err), "importance: %s", err.msg);
    double e = 0;
    for (int t = 1; t < NT; t++)
        e = fmax(e, fabs(ref_loss(m, x, (int)y[0], t) - ref_loss(m, x, (int)y[0], -1) - imp[t]));
    CHECK(e < 2e-5, "uniform attention: importance off by %g", e);
    amod_corr pr, sp;
    CHECK(!amod_importance_correlate(&rt, 1, imp, &pr, &sp, &err), "correlate: %s", err.msg);
    CHECK(isnan(pr.r) && isnan(pr.p), "constant scores: Pearson %g p %g, expected NaN", pr.r, pr.p);
    CHECK(isnan(sp.r) && isnan(sp.p), "constant scores: Spearman %g p %g, expected NaN", sp.r, sp.p);
    amod_routing_free(&rt);
    amod_vit_free(m);
}

/* The engine entry point: the full subset equals the ordinary forward pass; bad subsets,
 * MoD models and backward afterwards are refused with clear messages. */
static void test_forward_tokens(void) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return;
    const amod_vit_config *c = amod_vit_get_config(m);
    const int N = amod_vit_num_tokens(c), B = 3, S = c->img_size, per = c->in_chans * S * S;
    float *x = malloc(sizeof(float) * B * per), want[3 * 10], got[3 * 10], losses[3], loss;
    int32_t *keep = malloc(sizeof(int32_t) * B * N);
    int64_t y[3] = {1, 4, 9};
    amod_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < B * per; i++) x[i] = rng_normal(&r);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < N; t++) keep[b * N + t] = t;
    for (int grad = 0; grad < 2; grad++) {
        amod_vit_set_grad_enabled(m, grad);
        CHECK(!amod_vit_forward(m, x, B, y, want, &loss, &err), "forward: %s", err.msg);
        CHECK(!amod_vit_forward_tokens(m, x, B, keep, N, y, got, losses, &err), "forward_tokens: %s", err.msg);
        CHECK(rel_max_err(got, want, (size_t)B * c->num_classes) < 1e-6, "all tokens: logits differ by %g",
              rel_max_err(got, want, (size_t)B * c->num_classes));
        CHECK(fabs((losses[0] + losses[1] + losses[2]) / 3 - loss) < 1e-5, "per-image losses %g %g %g, mean %g",
              losses[0], losses[1], losses[2], loss);
    }
    CHECK(amod_vit_backward(m, &err) == -1 && strstr(err.msg, "token subset"), "backward after subset: %s", err.msg);
    CHECK(amod_vit_attention(m, 0) == NULL && amod_vit_block_output(m, 0) == NULL, "maps after a subset pass");

    /* A sequence of 1 token (CLS only) and one without token 5. */
    int32_t one[3] = {0, 0, 0};
    CHECK(!amod_vit_forward_tokens(m, x, B, one, 1, y, got, NULL, &err), "CLS only: %s", err.msg);
    keep[1] = 0;
    CHECK(amod_vit_forward_tokens(m, x, B, keep, N, y, got, NULL, &err) == -1 && strstr(err.msg, "increasing"),
          "repeated token: %s", err.msg);
    keep[0] = 1, keep[1] = 2;
    CHECK(amod_vit_forward_tokens(m, x, B, keep, N - 1, y, got, NULL, &err) == -1 && strstr(err.msg, "prefix"),
          "no CLS: %s", err.msg);
    keep[0] = 0, keep[1] = 1, keep[N - 2] = N;
    CHECK(amod_vit_forward_tokens(m, x, 1, keep, N - 1, y, got, NULL, &err) == -1 && strstr(err.msg, "outside"),
          "token past the end: %s", err.msg);
    CHECK(amod_vit_forward_tokens(m, x, 1, keep, N + 1, y, got, NULL, &err) == -1, "too many tokens");
    CHECK(amod_vit_forward_tokens(m, x, 1, keep, N - 1, NULL, got, losses, &err) == -1 && strstr(err.msg, "labels"),
          "losses without labels: %s", err.msg);
    amod_mod_config mod = {.router = AMOD_ROUTER_ATTENTION, .capacity = 0.5f};
    amod_mod_set_start(&mod, c->depth, 1);
    CHECK(!amod_vit_set_mod(m, &mod, &err), "set_mod: %s", err.msg);
    for (int t = 0; t < N; t++) keep[t] = t;
    CHECK(amod_vit_forward_tokens(m, x, 1, keep, N, y, got, NULL, &err) == -1 && strstr(err.msg, "router none"),
          "MoD model: %s", err.msg);
    free(x);
    free(keep);
    amod_vit_free(m);
}

/* Per-image statistics on routing whose answer is known: image 0's router ranks the tokens as
 * importance does (rho 1, both kept tokens right), image 1's in reverse (rho -1, none right). */
static void test_by_image(void) {
    float scores[2 * 5] = {0, 4, 3, 2, 1, 0, 1, 2, 3, 4}, importance[2 * 5] = {0, 0.4f, 0.3f, 0.2f, 0.1f,
                                                                              0, 0.4f, 0.3f, 0.2f, 0.1f};
    amod_routing r;
    memset(&r, 0, sizeof r);
    r.n_images = 2, r.n_tokens = 5, r.n_prefix = 1, r.depth = 2;
    r.k[1] = 3, r.scores[1] = scores; /* CLS + 2 of 4 tokens */
    double rho[2], prec[2];
    int k;
    amod_error err;
    CHECK(amod_importance_by_image(&r, 1, importance, rho, prec, &k, &err) == 0, "%s", err.msg);
    CHECK(k == 2 && fabs(rho[0] - 1) < 1e-12 && fabs(rho[1] + 1) < 1e-12 && prec[0] == 1 && prec[1] == 0,
          "by image: k %d, rho %g %g, precision %g %g", k, rho[0], rho[1], prec[0], prec[1]);
    CHECK(amod_importance_by_image(&r, 0, importance, rho, prec, &k, &err) != 0 && strstr(err.msg, "not a MoD layer"),
          "a dense layer is refused");
}

/* Layer-wise importance against the reference, at every layer; the model is dense again after. */
static void test_skip_importance(void) {
    amod_error err;
    amod_vit *m = make_model(0);
    float x[NIMG * IMG * IMG], imp[NIMG * NT], base[NIMG];
    int64_t y[NIMG];
    images(x, y);
    double worst = 0, spread = 0;
    for (int layer = 0; layer < DEPTH; layer++) {
        CHECK(!amod_token_skip_importance(m, x, y, NIMG, layer, 7, imp, base, NULL, NULL, &err), "skip: %s", err.msg);
        CHECK(amod_vit_get_mod(m)->router == AMOD_ROUTER_NONE, "the model is dense again");
        for (int i = 0; i < NIMG; i++) {
            const double full = ref_loss(m, x + i * IMG * IMG, (int)y[i], -1);
            CHECK(fabs(full - base[i]) < 1e-4 && imp[i * NT] == 0.0f, "image %d: base %g, reference %g", i, base[i], full);
            for (int t = 1; t < NT; t++) {
                const double want = ref_skip_loss(m, x + i * IMG * IMG, (int)y[i], layer, t) - full;
                worst = fmax(worst, fabs(want - imp[i * NT + t]));
                spread = fmax(spread, fabs(want));
            }
        }
    }
    CHECK(worst < 2e-5 && spread > 1e-3, "skip importance differs from the reference by %g (largest %g)", worst, spread);
    printf("skip importance, 4 layers x %d images x %d tokens: worst error %.2e (largest value %.3f)\n", NIMG, NT - 1,
           worst, spread);
    amod_mod_config mod = {.router = AMOD_ROUTER_ATTENTION, .capacity = 0.5f};
    amod_mod_set_start(&mod, DEPTH, 1);
    CHECK(!amod_vit_set_mod(m, &mod, &err), "set_mod: %s", err.msg);
    CHECK(amod_token_skip_importance(m, x, y, NIMG, 1, 7, imp, base, NULL, NULL, &err) == -1 && strstr(err.msg, "dense"),
          "skip importance on a MoD model is refused: %s", err.msg);
    amod_vit_free(m);
}

int main(void) {
    test_by_image();
    test_skip_importance();
    test_forward_tokens();
    test_importance_and_correlation(AMOD_ROUTER_ATTENTION);
    test_importance_and_correlation(AMOD_ROUTER_LINEAR);
    test_uniform_attention();
    return test_summary("test_importance");
}
