/* Parity with PyTorch for the language models: GPT-2 (tied head, Conv1D weights, learned
 * positions) and Llama (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU). Logits,
 * loss and every attention map within 1e-4, every parameter gradient within 1e-3 relative
 * max error (max|a - b| / max|b|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "amod/lm.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model_checks.h"
#include "test_support.h"

#define TOL_ACT 1e-4
#define TOL_GRAD 1e-3

static double compare(const char *what, const float *got, const st_file *ref, const char *name, size_t n, double tol) {
    return ref_compare(what, got, ref, name, n, tol, 0);
}

static void check_fixture(const char *dir) {
    char path[512];
    amod_error err;
    snprintf(path, sizeof path, "%s", fixture_path(dir));
    amod_lm *m = amod_lm_load(path, &err);
    CHECK(m != NULL, "load %s: %s", dir, err.msg);
    if (!m) return;
    st_file ref;
    snprintf(path, sizeof path, "%s/ref.safetensors", fixture_path(dir));
    if (st_open(&ref, path, &err)) {
        CHECK(0, "%s", err.msg);
        amod_lm_free(m);
        return;
    }
    const amod_lm_config *c = amod_lm_get_config(m);
    const st_tensor *in = st_find(&ref, "input_ids");
    CHECK(in && in->ndim == 2, "%s: no input_ids [B, T]", dir);
    if (!in) return;
    const int B = (int)in->shape[0], T = (int)in->shape[1], V = c->vocab_size, H = c->n_heads;
    int64_t *ids = malloc((size_t)B * T * sizeof *ids);
    st_read_i64(&ref, in, ids, NULL);
    float *logits = malloc((size_t)B * T * V * sizeof *logits), loss = 0;
    amod_lm_keep_attention(m, 1);
    int rc = amod_lm_forward(m, ids, B, T, logits, &loss, &err);
    CHECK(rc == 0, "%s: forward: %s", dir, err.msg);
    double act = 0, grad = 0, e;
    if (!rc) {
        act = compare(dir, logits, &ref, "logits", (size_t)B * T * V, TOL_ACT);
        e = compare(dir, &loss, &ref, "loss", 1, TOL_ACT);
        act = e > act ? e : act;
        char name[160];
        for (int l = 0; l < c->n_layers; l++) {
            snprintf(name, sizeof name, "attn_probs.%d", l);
            e = compare(dir, amod_lm_attention(m, l), &ref, name, (size_t)B * H * T * T, TOL_ACT);
            act = e > act ? e : act;
        }
        amod_lm_zero_grad(m);
        rc = amod_lm_backward(m, &err);
        CHECK(rc == 0, "%s: backward: %s", dir, err.msg);
        int compared = 0, expected = ref_grad_count(&ref);
        for (int i = 0; i < amod_lm_num_tensors(m); i++) {
            int64_t shape[4];
            const size_t n = shape_numel(amod_lm_tensor_shape(m, i, shape), shape);
            snprintf(name, sizeof name, "grad.%s", amod_lm_tensor_name(m, i));
            e = compare(dir, amod_lm_grads(m) + amod_lm_tensor_offset(m, i), &ref, name, n, TOL_GRAD);
            grad = e > grad ? e : grad;
            compared++;
        }
        CHECK(compared == expected, "%s: compared %d gradients, the reference has %d", dir, compared, expected);
    }
    printf("%-16s logits/loss/attn max rel err %.2e   grads %.2e\n", dir, act, grad);
    free(ids);
    free(logits);
    st_close(&ref);
    amod_lm_free(m);
}

/* Old GPT-2 files (openai-community/gpt2) name tensors without "transformer.": the same model. */
static void old_gpt2_names(void) {
    char dir[] = "/tmp/amod_lm_oldnames_XXXXXX", path[512];
    amod_error err;
    if (!mkdtemp(dir)) return;
    st_file f;
    snprintf(path, sizeof path, "%s/model.safetensors", fixture_path("gpt2_hf_tiny"));
    CHECK(st_open(&f, path, &err) == 0, "%s", err.msg);
    st_writer w = {0};
    for (int i = 0; i < f.n; i++) {
        const st_tensor *t = &f.tensors[i];
        float *v = malloc(t->numel * sizeof *v);
        st_read_f32(&f, t, v);
        const char *name = strncmp(t->name, "transformer.", 12) ? t->name : t->name + 12;
        CHECK(st_writer_add_f32(&w, name, t->ndim, t->shape, v, &err) == 0, "%s", err.msg);
        free(v);
    }
    st_close(&f);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_writer_save(&w, path, &err) == 0, "%s", err.msg);
    st_writer_free(&w);
    size_t n;
    snprintf(path, sizeof path, "%s/config.json", fixture_path("gpt2_hf_tiny"));
    unsigned char *cfg = amod_read_file(path, &n, &err);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (cfg) amod_write_file_atomic(path, cfg, n, &err);
    free(cfg);
    amod_lm *a = amod_lm_load(fixture_path("gpt2_hf_tiny"), &err), *b = amod_lm_load(dir, &err);
    CHECK(a && b, "old GPT-2 names: %s", err.msg);
    if (a && b) {
        CHECK(amod_lm_num_params(a) == amod_lm_num_params(b) &&
                  !memcmp(amod_lm_params(a), amod_lm_params(b), amod_lm_num_params(a) * sizeof(float)),
              "old GPT-2 names load other weights");
        printf("old GPT-2 tensor names (h.0.attn.c_attn.weight, wte.weight) load the same weights\n");
    }
    amod_lm_free(a);
    amod_lm_free(b);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    rmdir(dir);
}

int main(void) {
    old_gpt2_names();
    check_fixture("gpt2_hf_tiny");
    check_fixture("llama_hf_tiny");
    return test_summary("test_lm_parity");
}
