/* The thread count raised after a model's buffers were made (issue 15): the attention scratch
 * was sized for the old count and indexed by the new thread numbers, so threads past it wrote
 * into other activations inside the same arena (AddressSanitizer could not see it) and the
 * gradients came out wrong by up to 4 % of their largest value. Gradients must now equal a
 * fresh model's, whether the count rises between two steps or between forward and backward. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "amod/lm.h"
#include "kernels/kernels.h"
#include "test_support.h"

enum { B = 2 };

/* forward + backward at `before` threads, then at `after` (raised between the forward and the
 * backward when `mid`), against a fresh model at `after`. */
static void vit_case(int before, int after, int mid) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("deit_tiny_f16"), &err), *fresh = amod_vit_load(fixture_path("deit_tiny_f16"), &err);
    CHECK(m && fresh, "load: %s", err.msg);
    if (!m || !fresh) return;
    const amod_vit_config *c = amod_vit_get_config(m);
    const size_t nx = (size_t)B * c->in_chans * c->img_size * c->img_size, np = amod_vit_num_params(m);
    float *x = malloc(nx * sizeof *x), *logits = malloc((size_t)B * c->num_classes * sizeof *logits), loss;
    int64_t y[B] = {1, 3};
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    omp_set_num_threads(before);
    CHECK(amod_vit_forward(m, x, B, y, logits, &loss, &err) == 0, "forward: %s", err.msg);
    amod_vit_zero_grad(m);
    CHECK(amod_vit_backward(m, &err) == 0, "backward: %s", err.msg);
    if (!mid) { /* a second step at the raised count */
        omp_set_num_threads(after);
        CHECK(amod_vit_forward(m, x, B, y, logits, &loss, &err) == 0, "forward: %s", err.msg);
    } else {
        CHECK(amod_vit_forward(m, x, B, y, logits, &loss, &err) == 0, "forward: %s", err.msg);
        omp_set_num_threads(after);
    }
    amod_vit_zero_grad(m);
    CHECK(amod_vit_backward(m, &err) == 0, "backward: %s", err.msg);
    omp_set_num_threads(after);
    CHECK(amod_vit_forward(fresh, x, B, y, logits, &loss, &err) == 0, "fresh forward: %s", err.msg);
    amod_vit_zero_grad(fresh);
    CHECK(amod_vit_backward(fresh, &err) == 0, "fresh backward: %s", err.msg);
    double e = rel_max_err(amod_vit_grads(m), amod_vit_grads(fresh), np);
    CHECK(e < 1e-5, "ViT %d -> %d threads (%s): gradients differ from a fresh model's by %g", before, after,
          mid ? "between forward and backward" : "between steps", e);
    free(x), free(logits);
    amod_vit_free(m), amod_vit_free(fresh);
}

static void lm_case(int before, int after) {
    amod_error err;
    amod_lm *m = amod_lm_load(fixture_path("gpt2_hf_tiny"), &err), *fresh = amod_lm_load(fixture_path("gpt2_hf_tiny"), &err);
    CHECK(m && fresh, "load: %s", err.msg);
    if (!m || !fresh) return;
    enum { T = 8 };
    int64_t ids[B * T];
    for (int i = 0; i < B * T; i++) ids[i] = (i * 7) % amod_lm_get_config(m)->vocab_size;
    float loss;
    omp_set_num_threads(before);
    CHECK(amod_lm_forward(m, ids, B, T, NULL, &loss, &err) == 0, "lm forward: %s", err.msg);
    omp_set_num_threads(after);
    amod_lm_zero_grad(m);
    CHECK(amod_lm_backward(m, &err) == 0, "lm backward: %s", err.msg);
    CHECK(amod_lm_forward(fresh, ids, B, T, NULL, &loss, &err) == 0, "fresh lm forward: %s", err.msg);
    amod_lm_zero_grad(fresh);
    CHECK(amod_lm_backward(fresh, &err) == 0, "fresh lm backward: %s", err.msg);
    double e = rel_max_err(amod_lm_grads(m), amod_lm_grads(fresh), amod_lm_num_params(m));
    CHECK(e < 1e-5, "LM %d -> %d threads between forward and backward: gradients differ by %g", before, after, e);
    amod_lm_free(m), amod_lm_free(fresh);
}

/* The kernel itself: scratch made for 2 threads, a guard after it, 8 threads asked for. */
static void kernel_case(void) {
    enum { KB = 4, N = 128, D = 64, H = 2, GUARD = 1 << 16 };
    const size_t nqkv = (size_t)KB * N * 3 * D, nout = (size_t)KB * N * D, nprobs = (size_t)KB * H * N * N;
    float *qkv = malloc(nqkv * sizeof *qkv), *dout = malloc(nout * sizeof *dout), *out = malloc(nout * sizeof *out);
    float *probs = malloc(nprobs * sizeof *probs), *d1 = malloc(nqkv * sizeof *d1), *d8 = malloc(nqkv * sizeof *d8);
    const size_t ns = attention_scratch_floats(N, 2);
    float *scratch = malloc((ns + GUARD) * sizeof *scratch);
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)((i * 131) % 97) / 97.0f - 0.5f;
    for (size_t i = 0; i < nout; i++) dout[i] = (float)((i * 17) % 89) / 89.0f - 0.5f;
    for (size_t i = 0; i < GUARD; i++) scratch[ns + i] = 12345.0f;
    omp_set_num_threads(1);
    attention_forward(out, probs, NULL, qkv, KB, N, D, H, 0, scratch, 2);
    attention_backward(d1, dout, qkv, probs, KB, N, D, H, 0, scratch, 2);
    omp_set_num_threads(8);
    attention_backward(d8, dout, qkv, probs, KB, N, D, H, 0, scratch, 2);
    int intact = 1;
    for (size_t i = 0; i < GUARD; i++) intact &= scratch[ns + i] == 12345.0f;
    CHECK(intact, "attention_backward at 8 threads wrote past scratch made for 2");
    CHECK(rel_max_err(d8, d1, nqkv) < 1e-6, "attention_backward: 8 threads vs 1 differ by %g", rel_max_err(d8, d1, nqkv));
    free(qkv), free(dout), free(out), free(probs), free(d1), free(d8), free(scratch);
}

int main(void) {
    const int threads = omp_get_max_threads();
    kernel_case();
    vit_case(2, 8, 0);
    vit_case(2, 8, 1);
    vit_case(8, 1, 1);
    lm_case(2, 8);
    omp_set_num_threads(threads);
    return test_summary("test_threads_change");
}
