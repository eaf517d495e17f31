/* Transfer learning (amod_vit_reshape): the position embedding resampled to another grid as
 * timm's resample_abs_pos_embed does with PyTorch's antialiased bicubic (reference:
 * tests/fixtures/pos_embed_resample.safetensors, written with torch 1.13), and a checkpoint
 * given a new classifier and another input size keeps every other tensor and still runs.
 * Layer dropping (amod_vit_drop_layers): blocks made the identity (zero output projections)
 * and then dropped leave the logits as they were. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "io/safetensors.h"
#include "model/pos_embed.h"
#include "test_support.h"

static void resample_against_torch(void) {
    st_file f;
    amod_error err;
    CHECK(st_open(&f, fixture_path("pos_embed_resample.safetensors"), &err) == 0, "%s", err.msg);
    if (!f.tensors) return;
    const int D = 8;
    float src[(1 + 49) * 8], want[(1 + 100) * 8], got[(1 + 100) * 8];
    st_read_f32(&f, st_find(&f, "pos_embed"), src);
    static const struct {
        const char *name;
        int grid;
    } cases[] = {{"up10", 10}, {"down4", 4}, {"same7", 7}};
    for (int c = 0; c < 3; c++) {
        const int n = (1 + cases[c].grid * cases[c].grid) * D;
        st_read_f32(&f, st_find(&f, cases[c].name), want);
        CHECK(pos_embed_resample(got, src, 7, cases[c].grid, D, 1) == 0, "resample");
        double e = rel_max_err(got, want, (size_t)n);
        printf("pos_embed 7x7 -> %dx%d: max rel err %.2e against torch\n", cases[c].grid, cases[c].grid, e);
        CHECK(e < 1e-4, "%s: relative max error %g", cases[c].name, e);
    }
    st_close(&f);
}

static void new_head_and_size(void) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return;
    const amod_vit_config *c = amod_vit_get_config(m);
    amod_vit *r = amod_vit_reshape(m, 7, 2 * c->img_size, 11, &err);
    CHECK(r != NULL, "reshape: %s", err.msg);
    if (!r) return amod_vit_free(m);
    const amod_vit_config *rc = amod_vit_get_config(r);
    CHECK(rc->num_classes == 7 && rc->img_size == 2 * c->img_size, "new config");
    int same = 0, n = amod_vit_num_tensors(r);
    for (int i = 0; i < n; i++) {
        const char *name = amod_vit_tensor_name(r, i);
        int64_t a[4], b[4];
        int j = -1;
        for (int k = 0; k < amod_vit_num_tensors(m); k++)
            if (!strcmp(amod_vit_tensor_name(m, k), name)) j = k;
        CHECK(j >= 0, "%s: not in the source", name);
        if (j < 0) continue;
        const int nd = amod_vit_tensor_shape(r, i, a);
        amod_vit_tensor_shape(m, j, b);
        size_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= (size_t)a[d];
        const float *x = amod_vit_params(r) + amod_vit_tensor_offset(r, i);
        const float *y = amod_vit_params(m) + amod_vit_tensor_offset(m, j);
        if (!strcmp(name, "head.weight")) {
            CHECK(a[0] == 7 && a[1] == c->embed_dim, "head.weight is [7, D]");
        } else if (!strcmp(name, "head.bias")) {
            int zero = 1;
            for (size_t e = 0; e < numel; e++) zero &= x[e] == 0.0f;
            CHECK(a[0] == 7 && zero, "head.bias: 7 zeros");
        } else if (!strcmp(name, "pos_embed")) {
            const int g = rc->img_size / rc->patch_size;
            CHECK(a[1] == 1 + g * g && !memcmp(x, y, (size_t)c->embed_dim * sizeof *x), "pos_embed: %d rows, CLS kept",
                  1 + g * g);
        } else {
            same += !memcmp(a, b, sizeof a) && !memcmp(x, y, numel * sizeof *x);
        }
    }
    CHECK(same == n - 3, "%d of %d other tensors copied", same, n - 3);
    const size_t per = (size_t)rc->in_chans * rc->img_size * rc->img_size;
    float *img = calloc(2 * per, sizeof *img), logits[14];
    amod_vit_set_grad_enabled(r, 0);
    CHECK(amod_vit_forward(r, img, 2, NULL, logits, NULL, &err) == 0 && isfinite(logits[13]), "forward: %s", err.msg);
    free(img);
    CHECK(amod_vit_reshape(m, 0, c->img_size + 1, 1, &err) == NULL && strstr(err.msg, "multiple of the patch size"),
          "a size that is no multiple of the patch: %s", err.msg);
    amod_vit_free(r);
    amod_vit_free(m);
}

/* Zeroing a block's attn.proj and mlp.fc2 (weights and biases) makes it the identity on the
 * residual stream, so dropping it must not change the logits. */
static void drop_identity_blocks(void) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return;
    const amod_vit_config *c = amod_vit_get_config(m);
    float *p = amod_vit_params(m);
    int zeroed = 0;
    for (int i = 0; i < amod_vit_num_tensors(m); i++) {
        const char *name = amod_vit_tensor_name(m, i);
        if (strncmp(name, "blocks.1.", 9) && strncmp(name, "blocks.2.", 9)) continue;
        if (!strstr(name, "attn.proj.") && !strstr(name, "mlp.fc2.")) continue;
        int64_t sh[4];
        const int nd = amod_vit_tensor_shape(m, i, sh);
        size_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= (size_t)sh[d];
        memset(p + amod_vit_tensor_offset(m, i), 0, numel * sizeof *p);
        zeroed++;
    }
    amod_vit_weights_changed(m);
    CHECK(zeroed == 8, "zeroed %d of the 8 output tensors of blocks 1 and 2", zeroed);
    unsigned char drop[AMOD_MAX_LAYERS] = {0};
    drop[1] = drop[2] = 1;
    amod_vit *d = amod_vit_drop_layers(m, drop, &err);
    CHECK(d != NULL, "drop: %s", err.msg);
    if (!d) return amod_vit_free(m);
    CHECK(amod_vit_get_config(d)->depth == c->depth - 2, "depth %d", amod_vit_get_config(d)->depth);
    const int K = c->num_classes;
    const size_t per = (size_t)c->in_chans * c->img_size * c->img_size;
    float *img = malloc(2 * per * sizeof *img), *want = malloc(2 * K * sizeof *want), *got = malloc(2 * K * sizeof *got);
    for (size_t i = 0; i < 2 * per; i++) img[i] = (float)sin(0.37 * (double)i);
    amod_vit_set_grad_enabled(m, 0);
    amod_vit_set_grad_enabled(d, 0);
    CHECK(amod_vit_forward(m, img, 2, NULL, want, NULL, &err) == 0, "forward: %s", err.msg);
    CHECK(amod_vit_forward(d, img, 2, NULL, got, NULL, &err) == 0, "forward dropped: %s", err.msg);
    const double e = rel_max_err(got, want, (size_t)2 * K);
    printf("blocks 1, 2 made the identity and dropped: logits max rel err %.2e\n", e);
    CHECK(e < 1e-5, "dropped model's logits differ: %g", e);
    memset(drop, 0, sizeof drop);
    CHECK(amod_vit_drop_layers(m, drop, &err) == NULL && strstr(err.msg, "no layer"), "nothing dropped: %s", err.msg);
    memset(drop, 1, (size_t)c->depth);
    CHECK(amod_vit_drop_layers(m, drop, &err) == NULL && strstr(err.msg, "leaves no model"), "all dropped: %s", err.msg);
    free(img);
    free(want);
    free(got);
    amod_vit_free(d);
    amod_vit_free(m);
}

int main(void) {
    resample_against_torch();
    new_head_and_size();
    drop_identity_blocks();
    return test_summary("test_vit_reshape");
}
