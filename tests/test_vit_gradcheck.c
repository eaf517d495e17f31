/* Generality: on randomly shaped models (odd image, patch, width, heads, depth, classes,
 * channels, batch), analytic gradients agree with central finite differences, for dense
 * models and MoD models with each router; and A-MoD at capacity 1 equals the dense model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "core/rng.h"
#include "model_checks.h"
#include "test_support.h"

typedef struct {
    int img, patch, chans, dim, heads, depth, classes, batch;
} shape;

static amod_vit *make(const shape *s, uint64_t seed) {
    amod_vit_config c = {0};
    strcpy(c.arch, "vit_custom");
    c.img_size = s->img, c.patch_size = s->patch, c.in_chans = s->chans, c.num_classes = s->classes;
    c.embed_dim = s->dim, c.depth = s->depth, c.num_heads = s->heads, c.mlp_hidden = 3 * s->dim;
    c.qkv_bias = 1, c.num_prefix = 1, c.ln_eps = 1e-6f;
    amod_error err;
    amod_vit *m = amod_vit_create(&c, seed, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    /* larger weights than timm's init so every path carries signal */
    float *p = amod_vit_params(m);
    amod_rng r;
    rng_seed(&r, seed + 1);
    for (size_t i = 0; i < amod_vit_num_params(m); i++) p[i] += 0.2f * rng_normal(&r);
    return m;
}

static double loss_at(amod_vit *m, const float *x, const int64_t *y, int B) {
    float loss;
    amod_error err;
    if (amod_vit_get_mod(m)->router == AMOD_ROUTER_RANDOM) { /* the same draw every time */
        amod_mod_config same = *amod_vit_get_mod(m);
        amod_vit_set_mod(m, &same, &err);
    }
    amod_vit_forward(m, x, B, y, NULL, &loss, &err);
    return loss;
}

/* What a probe evaluates: the loss on one batch. */
typedef struct {
    amod_vit *m;
    const float *x;
    const int64_t *y;
    int B;
} probe_ctx;

static double probe_loss(void *ctx) {
    probe_ctx *c = ctx;
    return loss_at(c->m, c->x, c->y, c->B);
}

static const int32_t *probe_routed(void *ctx, int layer, int *k) {
    return amod_vit_routed(((probe_ctx *)ctx)->m, layer, k);
}

static void gradcheck(const char *label, const shape *s, amod_router router, float capacity, uint64_t seed) {
    amod_vit *m = make(s, seed);
    if (!m) return;
    amod_error err;
    if (router != AMOD_ROUTER_NONE) {
        amod_mod_config mod = {0};
        mod.router = router, mod.capacity = capacity, mod.seed = 7;
        amod_mod_set_start(&mod, s->depth, 1);
        CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "%s: %s", label, err.msg);
        float *p = amod_vit_params(m); /* give linear routers a spread of scores */
        for (int i = 0; i < amod_vit_num_tensors(m); i++)
            if (strstr(amod_vit_tensor_name(m, i), "router"))
                for (int j = 0; j < s->dim; j++) p[amod_vit_tensor_offset(m, i) + j] *= 10.0f;
    }
    const int B = s->batch;
    size_t nx = (size_t)B * s->chans * s->img * s->img;
    float *x = malloc(nx * sizeof *x);
    int64_t y[8];
    amod_rng r;
    rng_seed(&r, seed + 2);
    for (size_t i = 0; i < nx; i++) x[i] = rng_normal(&r);
    for (int b = 0; b < B; b++) y[b] = (int64_t)(rng_next(&r) % (uint64_t)s->classes);

    probe_ctx pc = {m, x, y, B};
    fd_check fc = {.label = label, .ctx = &pc, .objective = probe_loss, .routed = probe_routed, .layers = s->depth,
                   .batch = B};
    CHECK(loss_at(m, x, y, B) == loss_at(m, x, y, B), "%s: forward is not deterministic", label);
    fd_save_routes(&fc); /* the same routing before and after a perturbation: smooth there */
    amod_vit_zero_grad(m);
    CHECK(amod_vit_backward(m, &err) == 0, "%s: backward: %s", label, err.msg);
    float *p = amod_vit_params(m);
    float *g = malloc(amod_vit_num_params(m) * sizeof *g);
    memcpy(g, amod_vit_grads(m), amod_vit_num_params(m) * sizeof *g);

    /* a few entries of every tensor, in double-sided differences */
    for (int t = 0; t < amod_vit_num_tensors(m); t++) {
        int64_t shp[4];
        int nd = amod_vit_tensor_shape(m, t, shp);
        const size_t numel = shape_numel(nd, shp), off = amod_vit_tensor_offset(m, t);
        const double gmax = abs_max(g + off, numel);
        for (int trial = 0; trial < 3; trial++) {
            size_t i = off + (size_t)(rng_next(&r) % numel);
            fd_probe(&fc, p, i, 1e-2f, g[i], gmax, amod_vit_tensor_name(m, t), i - off);
        }
    }
    CHECK(fc.checked > amod_vit_num_tensors(m) / 2, "%s: only %d entries could be checked", label, fc.checked);
    printf("%-28s %d entries, worst error %.2e (relative to the tensor's largest gradient)\n", label, fc.checked,
           fc.worst);
    free(x);
    free(g);
    fd_free(&fc);
    amod_vit_free(m);
}

/* A-MoD with every token selected is the dense model (up to the rounding of x + (y - x)). */
static void amod_full_capacity_is_dense(const shape *s) {
    amod_vit *dense = make(s, 11), *mod = make(s, 11);
    amod_error err;
    amod_mod_config c = {0};
    c.router = AMOD_ROUTER_ATTENTION, c.capacity = 1.0f;
    amod_mod_set_start(&c, s->depth, 1);
    CHECK(amod_vit_set_mod(mod, &c, &err) == 0, "%s", err.msg);
    size_t nx = (size_t)s->batch * s->chans * s->img * s->img;
    float *x = calloc(nx, sizeof *x), la[64], lb[64], a, b;
    for (size_t i = 0; i < nx; i++) x[i] = sinf((float)i);
    int64_t y[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    amod_vit_forward(dense, x, s->batch, y, la, &a, &err);
    amod_vit_forward(mod, x, s->batch, y, lb, &b, &err);
    double el = rel_max_err(lb, la, (size_t)s->batch * s->classes);
    CHECK(el < 1e-6 && fabsf(a - b) < 1e-6f, "A-MoD at C=1: logits differ from dense by %.3g", el);
    amod_vit_zero_grad(dense);
    amod_vit_zero_grad(mod);
    amod_vit_backward(dense, &err);
    amod_vit_backward(mod, &err);
    double e = rel_max_err(amod_vit_grads(mod), amod_vit_grads(dense), amod_vit_num_params(dense));
    CHECK(e < 1e-6, "A-MoD at C=1: gradients differ from dense by %.3g", e);
    free(x);
    amod_vit_free(dense);
    amod_vit_free(mod);
}

/* The inference path (attention in blocks of query rows, A-MoD scores from column sums,
 * no stored maps) gives the logits of the training path, here with N = 101 > one block. */
static void inference_matches_training(void) {
    shape s = {40, 4, 3, 12, 3, 3, 4, 2};
    amod_vit *m = make(&s, 21);
    amod_error err;
    amod_mod_config c = {0};
    c.router = AMOD_ROUTER_ATTENTION, c.capacity = 0.3f;
    amod_mod_set_start(&c, s.depth, 1);
    CHECK(amod_vit_set_mod(m, &c, &err) == 0, "%s", err.msg);
    size_t nx = (size_t)s.batch * s.chans * s.img * s.img;
    float *x = malloc(nx * sizeof *x), a[8], b[8];
    for (size_t i = 0; i < nx; i++) x[i] = cosf(0.37f * (float)i);
    amod_vit_forward(m, x, s.batch, NULL, a, NULL, &err);
    amod_vit_set_grad_enabled(m, 0);
    CHECK(amod_vit_forward(m, x, s.batch, NULL, b, NULL, &err) == 0, "%s", err.msg);
    double e = rel_max_err(b, a, (size_t)s.batch * s.classes);
    CHECK(amod_vit_attention(m, 0) == NULL && amod_vit_routed(m, 1, NULL), "inference kept a map or lost the routes");
    CHECK(e < 1e-5, "inference path differs from training path by %.3g", e);
    printf("inference (row blocks, N=101) vs training path: max rel err %.2e\n", e);
    free(x);
    amod_vit_free(m);
}

int main(void) {
    inference_matches_training();
    shape a = {12, 4, 2, 12, 3, 3, 5, 2};   /* N = 10, head_dim 4 */
    shape b = {15, 5, 1, 16, 2, 4, 7, 3};   /* N = 10, grayscale */
    shape c = {16, 4, 3, 8, 1, 2, 3, 1};    /* one head, batch 1, N = 17 */
    gradcheck("dense 12/4 D12 H3 L3", &a, AMOD_ROUTER_NONE, 1, 1);
    gradcheck("dense 15/5 D16 H2 L4", &b, AMOD_ROUTER_NONE, 1, 2);
    gradcheck("dense 16/4 D8 H1 L2", &c, AMOD_ROUTER_NONE, 1, 3);
    gradcheck("linear C=0.5 12/4", &a, AMOD_ROUTER_LINEAR, 0.5f, 4);
    gradcheck("linear C=0.3 15/5", &b, AMOD_ROUTER_LINEAR, 0.3f, 5);
    gradcheck("attention C=0.5 12/4", &a, AMOD_ROUTER_ATTENTION, 0.5f, 6);
    gradcheck("attention C=0.25 15/5", &b, AMOD_ROUTER_ATTENTION, 0.25f, 7);
    gradcheck("random C=0.5 16/4", &c, AMOD_ROUTER_RANDOM, 0.5f, 8);
    amod_full_capacity_is_dense(&a);
    return test_summary("test_vit_gradcheck");
}
