/* Inference on packed weights (kernels/linear_packed.c): the packed copies follow the weights
 * when they change, inference agrees with the training-mode forward, and the result does not
 * depend on the thread count. */
#include <math.h>
#include <stdio.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "test_support.h"

enum { B = 3 };
/* bfloat16 keeps 8 significant bits: each product's relative error is about 2^-8; through a
 * few layers the logits move by up to a few percent of their largest value. */
#define BF16_BOUND 2e-2

static void forward(amod_vit *m, const float *x, float *logits, int grad) {
    amod_error err;
    amod_vit_set_grad_enabled(m, grad);
    CHECK(amod_vit_forward(m, x, B, NULL, logits, NULL, &err) == 0, "forward: %s", err.msg);
}

int main(void) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return test_summary("test_vit_packed");
    const amod_vit_config *c = amod_vit_get_config(m);
    const size_t nx = (size_t)B * c->in_chans * c->img_size * c->img_size, nl = (size_t)B * c->num_classes;
    float *x = malloc(nx * sizeof *x), *a = malloc(nl * sizeof *a), *b = malloc(nl * sizeof *b);
    float *before = malloc(nl * sizeof *before);
    for (size_t i = 0; i < nx; i++) x[i] = sinf((float)i * 0.37f);

    /* inference (GELU fused into fc1's product) against the training-mode forward */
    forward(m, x, a, 0);
    forward(m, x, b, 1);
    CHECK(rel_max_err(a, b, nl) < 1e-5, "inference vs training forward: rel err %g", rel_max_err(a, b, nl));
    memcpy(before, a, nl * sizeof *a);

    /* weights written through amod_vit_params(): the next inference sees them. m stays in
     * inference mode throughout; ref runs with gradients (its weights repacked every time). */
    amod_vit *ref = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(ref != NULL, "load: %s", err.msg);
    if (!ref) return test_summary("test_vit_packed");
    amod_vit_set_grad_enabled(ref, 1);
    amod_vit_set_grad_enabled(m, 0);
    CHECK(amod_vit_forward(m, x, B, NULL, before, NULL, &err) == 0, "forward: %s", err.msg);
    const size_t np = amod_vit_num_params(m);
    float *p = amod_vit_params(m), *q = amod_vit_params(ref);
    for (size_t i = 0; i < np; i++) p[i] *= 0.9f, q[i] *= 0.9f;
    CHECK(amod_vit_forward(m, x, B, NULL, a, NULL, &err) == 0, "forward: %s", err.msg);
    CHECK(amod_vit_forward(ref, x, B, NULL, b, NULL, &err) == 0, "forward: %s", err.msg);
    CHECK(rel_max_err(a, before, nl) > 1e-3, "the changed weights changed nothing (stale packed copies?)");
    CHECK(rel_max_err(a, b, nl) < 1e-5, "after a change: inference vs training rel err %g", rel_max_err(a, b, nl));

    /* a pointer kept and written later: amod_vit_weights_changed() */
    memcpy(before, a, nl * sizeof *a);
    for (size_t i = 0; i < np; i++) p[i] *= 1.1f, q[i] *= 1.1f;
    amod_vit_weights_changed(m);
    CHECK(amod_vit_forward(m, x, B, NULL, a, NULL, &err) == 0, "forward: %s", err.msg);
    CHECK(amod_vit_forward(ref, x, B, NULL, b, NULL, &err) == 0, "forward: %s", err.msg);
    CHECK(rel_max_err(a, before, nl) > 1e-3, "amod_vit_weights_changed: stale packed copies");
    CHECK(rel_max_err(a, b, nl) < 1e-5, "after weights_changed: rel err %g", rel_max_err(a, b, nl));
    amod_vit_free(ref);

    /* the thread count changes the row split, not the function */
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    forward(m, x, a, 0);
    omp_set_num_threads(threads > 1 ? threads : 2);
    forward(m, x, b, 0);
    omp_set_num_threads(threads);
    CHECK(rel_max_err(a, b, nl) < 1e-5, "1 thread vs %d: rel err %g", threads > 1 ? threads : 2, rel_max_err(a, b, nl));

    /* bf16 inference against float32: within a stated bound, or refused with a reason */
    amod_vit_set_grad_enabled(m, 0);
    forward(m, x, a, 0);
    if (amod_vit_set_precision(m, AMOD_PRECISION_BF16, &err) == 0) {
        forward(m, x, b, 0);
        double e = rel_max_err(b, a, nl);
        printf("bf16 vs f32 logits: rel max err %.2e (bound %.0e)\n", e, BF16_BOUND);
        CHECK(e < BF16_BOUND && e > 0, "bf16 logits rel err %g (bound %g)", e, BF16_BOUND);
        forward(m, x, before, 1); /* with gradients too (mixed-precision training) */
        e = rel_max_err(before, a, nl);
        CHECK(e < BF16_BOUND && e > 0, "training forward under bf16: rel err %g against f32 (bound %g)", e, BF16_BOUND);
        CHECK(amod_vit_set_precision(m, AMOD_PRECISION_F32, &err) == 0, "back to f32: %s", err.msg);
    } else {
        printf("bf16 refused: %s\n", err.msg);
        CHECK(strstr(err.msg, "bf16 needs") != NULL, "unclear refusal: %s", err.msg);
    }

    /* the parameters move (adding or removing linear routers allocates them anew): the packed
     * copies of the old storage are dropped, not packed again from freed memory (that read
     * crashed the next forward pass) */
    amod_mod_config mod = {0};
    mod.capacity = 0.5f;
    for (int l = 1; l < c->depth; l += 2) mod.is_mod[l] = 1;
    for (int round = 0; round < 2; round++) {
        mod.router = round == 0 ? AMOD_ROUTER_LINEAR : AMOD_ROUTER_NONE;
        forward(m, x, a, round); /* packed copies of the current storage */
        CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
        amod_vit *fresh = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
        CHECK(fresh != NULL && amod_vit_set_mod(fresh, &mod, &err) == 0, "fresh model: %s", err.msg);
        if (!fresh) break;
        CHECK(amod_vit_num_params(fresh) == amod_vit_num_params(m), "layouts differ");
        memcpy(amod_vit_params(fresh), amod_vit_params(m), amod_vit_num_params(m) * sizeof(float));
        amod_vit_weights_changed(fresh);
        for (int grad = 0; grad < 2; grad++) {
            forward(m, x, a, grad);
            forward(fresh, x, b, grad);
            CHECK(rel_max_err(a, b, nl) < 1e-5, "after the parameters moved (%s routers, grad %d): rel err %g",
                  round == 0 ? "linear" : "no", grad, rel_max_err(a, b, nl));
        }
        amod_vit_free(fresh);
    }

    free(x), free(a), free(b), free(before);
    amod_vit_free(m);
    return test_summary("test_vit_packed");
}
