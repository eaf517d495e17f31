/* Parity with PyTorch: every ViT fixture's logits, loss, attention maps, block outputs and
 * parameter gradients, for dense and MoD models, within 1e-4 (activations) and 1e-3
 * (gradients) relative max error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "io/safetensors.h"
#include "model_checks.h"
#include "test_support.h"

#define TOL_ACT 1e-4
#define TOL_GRAD 1e-3

typedef struct {
    double act, grad;
} worst;

/* Gradients that are zero in exact arithmetic are compared in absolute terms. */
static double compare(const char *what, const float *got, const st_file *ref, const char *name, size_t n,
                      double tol) {
    return ref_compare(what, got, ref, name, n, tol, 1);
}

static float *read_input(const st_file *ref, int64_t **labels, int *batch) {
    const st_tensor *in = st_find(ref, "input");
    const st_tensor *lab = st_find(ref, "labels");
    float *x = malloc(in->numel * sizeof *x);
    st_read_f32(ref, in, x);
    *batch = (int)in->shape[0];
    *labels = NULL;
    if (lab) {
        *labels = malloc(lab->numel * sizeof **labels);
        st_read_i64(ref, lab, *labels, NULL);
    }
    return x;
}

/* Runs forward (+ backward when the reference has gradients) and compares everything the
 * reference file holds. style: which HF names the reference's gradients use. */
static worst check_model(const char *label, amod_vit *m, const st_file *inputs, const st_file *ref, int style) {
    worst w = {0, 0};
    amod_error err;
    int B;
    int64_t *labels;
    float *x = read_input(inputs, &labels, &B);
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const int N = amod_vit_num_tokens(cfg), H = cfg->num_heads, D = cfg->embed_dim;
    float *logits = malloc((size_t)B * cfg->num_classes * sizeof *logits);
    float loss = 0;
    amod_vit_keep_attention(m, 1);
    int rc = amod_vit_forward(m, x, B, labels, logits, &loss, &err);
    CHECK(rc == 0, "%s: forward failed: %s", label, err.msg);
    if (rc) return w;
    double e = compare(label, logits, ref, "logits", (size_t)B * cfg->num_classes, TOL_ACT);
    if (e > w.act) w.act = e;
    if (labels && st_find(ref, "loss")) {
        e = compare(label, &loss, ref, "loss", 1, TOL_ACT);
        if (e > w.act) w.act = e;
    }
    char name[256];
    for (int l = 0; l < cfg->depth; l++) {
        snprintf(name, sizeof name, "attn_probs.%d", l);
        if (st_find(ref, name) && amod_vit_attention(m, l)) {
            e = compare(label, amod_vit_attention(m, l), ref, name, (size_t)B * H * N * N, TOL_ACT);
            if (e > w.act) w.act = e;
        }
        snprintf(name, sizeof name, "block_out.%d", l);
        if (st_find(ref, name)) {
            e = compare(label, amod_vit_block_output(m, l), ref, name, (size_t)B * N * D, TOL_ACT);
            if (e > w.act) w.act = e;
        }
    }
    if (labels) {
        amod_vit_zero_grad(m);
        rc = amod_vit_backward(m, &err);
        CHECK(rc == 0, "%s: backward failed: %s", label, err.msg);
        int compared = 0;
        for (int i = 0; i < amod_vit_num_tensors(m); i++) {
            char names[3][128];
            size_t row0[3], rows[3];
            int64_t shape[4];
            const int nd = amod_vit_tensor_shape(m, i, shape);
            const size_t row_len = shape_numel(nd, shape) / (size_t)shape[0];
            int parts = amod_vit_export_names(m, i, style, names, row0, rows);
            for (int p = 0; p < parts; p++) {
                snprintf(name, sizeof name, "grad.%s", names[p]);
                if (!st_find(ref, name)) continue; /* e.g. no router grads in a dense fixture */
                const float *g = amod_vit_grads(m) + amod_vit_tensor_offset(m, i) + row0[p] * row_len;
                e = compare(label, g, ref, name, rows[p] * row_len, TOL_GRAD);
                if (e > w.grad) w.grad = e;
                compared++;
            }
        }
        int expected = ref_grad_count(ref);
        CHECK(compared == expected, "%s: compared %d gradients, the reference has %d", label, compared, expected);
    }
    printf("%-34s logits/loss/attn/blocks max rel err %.2e   grads %.2e\n", label, w.act, w.grad);
    free(x);
    free(labels);
    free(logits);
    return w;
}

static amod_vit *load(const char *dir) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path(dir), &err);
    CHECK(m != NULL, "load %s: %s", dir, err.msg);
    return m;
}

static void timm_dense(void) {
    amod_vit *m = load("vit_timm_tiny");
    st_file ref;
    if (!m || st_open(&ref, fixture_path("vit_timm_tiny/ref.safetensors"), NULL)) return;
    check_model("vit_timm_tiny ref", m, &ref, &ref, 0);
    st_close(&ref);
    amod_vit_free(m);
}

static void timm_mod(const char *router, float capacity, const char *file) {
    amod_vit *m = load("vit_timm_tiny");
    st_file ref, inputs;
    amod_error err;
    if (!m) return;
    st_open(&inputs, fixture_path("vit_timm_tiny/ref.safetensors"), NULL);
    st_open(&ref, fixture_path(file), NULL);
    amod_mod_config mod = {0};
    amod_router_parse(router, &mod.router);
    mod.capacity = capacity;
    amod_mod_set_start(&mod, amod_vit_get_config(m)->depth, 1);
    CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
    if (mod.router == AMOD_ROUTER_LINEAR)
        CHECK(amod_vit_load_params(m, fixture_path("vit_timm_tiny/router_weights.safetensors"), &err) == 0,
              "router weights: %s", err.msg);
    check_model(file, m, &inputs, &ref, 0);
    /* Inference: no attention map is stored; A-MoD scores come from the column sums
     * accumulated inside the attention kernel. Same logits. */
    amod_vit_set_grad_enabled(m, 0);
    amod_vit_keep_attention(m, 0);
    int B;
    int64_t *labels;
    float *x = read_input(&inputs, &labels, &B), logits[64], loss;
    CHECK(amod_vit_forward(m, x, B, labels, logits, &loss, &err) == 0, "inference forward: %s", err.msg);
    CHECK(amod_vit_attention(m, 0) == NULL, "inference kept an attention map");
    double e = compare(file, logits, &ref, "logits", (size_t)B * amod_vit_get_config(m)->num_classes, TOL_ACT);
    printf("%-34s inference path (no stored maps): logits max rel err %.2e\n", file, e);
    free(x);
    free(labels);
    st_close(&ref);
    st_close(&inputs);
    amod_vit_free(m);
}

static void hf_dense(void) {
    amod_vit *m = load("vit_hf_tiny");
    st_file ref;
    if (!m || st_open(&ref, fixture_path("vit_hf_tiny/ref.safetensors"), NULL)) return;
    check_model("vit_hf_tiny ref", m, &ref, &ref, 1);
    st_close(&ref);
    amod_vit_free(m);
}

static void deit_f16(void) {
    amod_vit *m = load("deit_tiny_f16");
    st_file ref;
    if (!m || st_open(&ref, fixture_path("deit_tiny_f16/ref.safetensors"), NULL)) return;
    check_model("deit_tiny_f16 ref", m, &ref, &ref, 0);
    st_close(&ref);
    amod_vit_free(m);
}

int main(void) {
    timm_dense();
    timm_mod("attention", 0.5f, "vit_timm_tiny/mod_attention_c0500.safetensors");
    timm_mod("attention", 0.125f, "vit_timm_tiny/mod_attention_c0125.safetensors");
    timm_mod("linear", 0.5f, "vit_timm_tiny/mod_linear_c0500.safetensors");
    timm_mod("linear", 0.125f, "vit_timm_tiny/mod_linear_c0125.safetensors");
    hf_dense();
    deit_f16();
    return test_summary("test_vit_parity");
}
