/* Run contexts (issue 15): contexts on one model give the model-level pass's results; a
 * context made before the routing changed carves its buffers again; a context with gradients
 * fills the model's gradient buffer exactly as the model-level backward does; two contexts run
 * from two threads at once (examples/two_contexts.c does that part as a program). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "amod/lm.h"
#include "test_support.h"

enum { B = 3 };

/* Language models: a context gives the model-level logits, and generation runs on a context of
 * its own, so a forward pass's activations survive it (they were overwritten before). */
static void lm_contexts(void) {
    amod_error err;
    amod_lm *m = amod_lm_load(fixture_path("gpt2_hf_tiny"), &err);
    CHECK(m != NULL, "lm load: %s", err.msg);
    if (!m) return;
    enum { LB = 2, LT = 8 };
    const int V = amod_lm_get_config(m)->vocab_size;
    int64_t ids[LB * LT], prompt[3] = {1, 2, 3}, out[4];
    for (int i = 0; i < LB * LT; i++) ids[i] = (i * 5) % V;
    const size_t np = amod_lm_num_params(m), nl = (size_t)LB * LT * V;
    float *a = malloc(nl * sizeof *a), *b = malloc(nl * sizeof *b), *g = malloc(np * sizeof *g), la, lb;
    amod_lm_ctx *c = amod_lm_ctx_create(m, NULL, &err);
    CHECK(c != NULL, "lm context: %s", err.msg);
    CHECK(amod_lm_forward(m, ids, LB, LT, a, &la, &err) == 0, "lm forward: %s", err.msg);
    CHECK(c && amod_lm_ctx_forward(c, ids, LB, LT, b, &lb, &err) == 0, "lm context forward: %s", err.msg);
    CHECK(rel_max_err(b, a, nl) < 1e-6, "lm context logits differ by %g", rel_max_err(b, a, nl));
    /* forward, backward: the reference gradients */
    amod_lm_zero_grad(m);
    CHECK(amod_lm_backward(m, &err) == 0, "lm backward: %s", err.msg);
    memcpy(g, amod_lm_grads(m), np * sizeof *g);
    /* forward, generate, backward: the same gradients */
    CHECK(amod_lm_forward(m, ids, LB, LT, a, &la, &err) == 0, "lm forward: %s", err.msg);
    amod_lm_gen gen = {0};
    CHECK(amod_lm_generate(m, prompt, 3, 4, &gen, out, NULL, &err) == 0, "generate: %s", err.msg);
    amod_lm_zero_grad(m);
    CHECK(amod_lm_backward(m, &err) == 0, "lm backward after generate: %s", err.msg);
    CHECK(rel_max_err(amod_lm_grads(m), g, np) < 1e-7, "generation changed a pending backward by %g",
          rel_max_err(amod_lm_grads(m), g, np));
    amod_lm_ctx_free(c);
    free(a), free(b), free(g);
    amod_lm_free(m);
}

int main(void) {
    amod_error err;
    lm_contexts();
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return test_summary("test_vit_contexts");
    {   /* the tensor getters check their index */
        const int n = amod_vit_num_tensors(m);
        int64_t shape[4];
        CHECK(amod_vit_tensor_name(m, 0) && amod_vit_tensor_name(m, n - 1) && !amod_vit_tensor_name(m, n) &&
                  !amod_vit_tensor_name(m, -1),
              "tensor names: NULL outside 0..%d", n - 1);
        CHECK(amod_vit_tensor_shape(m, n, shape) == -1 && amod_vit_tensor_shape(m, -1, shape) == -1 &&
                  amod_vit_tensor_shape(m, 0, shape) >= 1,
              "tensor shapes: -1 outside the table");
        CHECK(amod_vit_tensor_offset(m, n) == SIZE_MAX && amod_vit_tensor_offset(m, 0) == 0, "tensor offsets");
    }
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const size_t nx = (size_t)B * cfg->in_chans * cfg->img_size * cfg->img_size, nl = (size_t)B * cfg->num_classes;
    const size_t np = amod_vit_num_params(m);
    float *x = malloc(nx * sizeof *x), *a = malloc(nl * sizeof *a), *b = malloc(nl * sizeof *b);
    float *g = malloc(np * sizeof *g), la, lb;
    int64_t y[B] = {0, 2, 1};
    for (size_t i = 0; i < nx; i++) x[i] = cosf((float)i * 0.21f);

    amod_vit_ctx_params p = amod_vit_ctx_default_params();
    CHECK(!p.grads && !p.keep_attention && !p.threads, "default context parameters");
    amod_vit_ctx *infer = amod_vit_ctx_create(m, &p, &err);
    p.grads = 1;
    amod_vit_ctx *train = amod_vit_ctx_create(m, &p, &err);
    p.threads = -1;
    CHECK(amod_vit_ctx_create(m, &p, &err) == NULL && strstr(err.msg, "thread count"), "negative threads refused");
    CHECK(infer && train, "contexts: %s", err.msg);
    if (!infer || !train) return test_summary("test_vit_contexts");

    /* dense, then A-MoD set after the contexts were made: they follow the routing */
    for (int routed = 0; routed <= 1; routed++) {
        if (routed) {
            amod_mod_config mod = {0};
            mod.router = AMOD_ROUTER_ATTENTION;
            mod.capacity = 0.5f;
            for (int l = 1; l < cfg->depth; l += 2) mod.is_mod[l] = 1;
            CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
        }
        amod_vit_set_grad_enabled(m, 0);
        CHECK(amod_vit_forward(m, x, B, y, a, &la, &err) == 0, "model forward: %s", err.msg);
        CHECK(amod_vit_ctx_forward(infer, x, B, y, b, &lb, &err) == 0, "context forward: %s", err.msg);
        CHECK(rel_max_err(b, a, nl) < 1e-6 && fabsf(la - lb) <= 1e-6f * fabsf(la), "%s: context logits differ by %g",
              routed ? "A-MoD" : "dense", rel_max_err(b, a, nl));

        /* gradients: the model-level pass, then the training context */
        amod_vit_set_grad_enabled(m, 1);
        CHECK(amod_vit_forward(m, x, B, y, a, &la, &err) == 0, "forward: %s", err.msg);
        amod_vit_zero_grad(m);
        CHECK(amod_vit_backward(m, &err) == 0, "backward: %s", err.msg);
        memcpy(g, amod_vit_grads(m), np * sizeof *g);
        /* the training context's gradients are its own: the model's context keeps its values */
        CHECK(amod_vit_ctx_forward(train, x, B, y, b, &lb, &err) == 0, "context forward: %s", err.msg);
        float *tg = amod_vit_ctx_grads(train);
        CHECK(tg != NULL && amod_vit_ctx_grads(infer) == NULL, "gradients: only the training context has them");
        if (tg) memset(tg, 0, np * sizeof *tg);
        CHECK(amod_vit_ctx_backward(train, &err) == 0, "context backward: %s", err.msg);
        CHECK(tg && rel_max_err(tg, g, np) < 1e-6, "%s: context gradients differ by %g", routed ? "A-MoD" : "dense",
              tg ? rel_max_err(tg, g, np) : 1.0);
        CHECK(rel_max_err(amod_vit_grads(m), g, np) == 0, "the context's backward wrote the model's gradients");
        CHECK(amod_vit_ctx_backward(infer, &err) == -1, "backward on an inference context must fail");
    }
    /* a routing change between forward and backward is refused, not run on stale buffers */
    CHECK(amod_vit_ctx_forward(train, x, B, y, b, &lb, &err) == 0, "forward: %s", err.msg);
    amod_mod_config dense = {0};
    dense.capacity = 1.0f;
    CHECK(amod_vit_set_mod(m, &dense, &err) == 0, "back to dense: %s", err.msg);
    CHECK(amod_vit_ctx_backward(train, &err) == -1 && strstr(err.msg, "routing changed"),
          "backward after set_mod: %s", err.msg);

    amod_vit_ctx_free(infer);
    amod_vit_ctx_free(train);
    free(x), free(a), free(b), free(g);
    amod_vit_free(m);
    return test_summary("test_vit_contexts");
}
