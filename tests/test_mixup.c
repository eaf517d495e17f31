/* Mixup, cutmix, label smoothing and the soft-target cross-entropy (train/mixup.c,
 * kernels/loss.c): the loss and its gradient against timm's SoftTargetCrossEntropy in
 * PyTorch (tests/fixtures/soft_target_ce.safetensors, torch 1.13), the mixed images and
 * targets against the formulas of timm's Mixup, and the Beta sampler's moments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "train/mixup.h"
#include "test_support.h"

static void soft_ce_against_torch(void) {
    st_file f;
    amod_error err;
    CHECK(st_open(&f, fixture_path("soft_target_ce.safetensors"), &err) == 0, "%s", err.msg);
    if (!f.tensors) return;
    float z[20], t[20], want_loss, want_d[20], d[20], loss;
    st_read_f32(&f, st_find(&f, "logits"), z);
    st_read_f32(&f, st_find(&f, "targets"), t);
    st_read_f32(&f, st_find(&f, "loss"), &want_loss);
    st_read_f32(&f, st_find(&f, "dlogits"), want_d);
    soft_cross_entropy(&loss, d, z, t, 4, 5);
    const double el = fabs(loss - want_loss) / fabs(want_loss), ed = rel_max_err(d, want_d, 20);
    printf("soft-target cross-entropy: loss rel err %.2e, dlogits %.2e against torch\n", el, ed);
    CHECK(el < 1e-4 && ed < 1e-3, "soft CE: loss %g vs %g, grad %g", loss, want_loss, ed);
    /* one-hot targets are the ordinary cross-entropy */
    int64_t y[4] = {0, 4, 2, 1};
    float onehot[20] = {0}, hard, dh[20];
    for (int b = 0; b < 4; b++) onehot[b * 5 + y[b]] = 1.0f;
    soft_cross_entropy(&loss, d, z, onehot, 4, 5);
    cross_entropy(&hard, dh, z, y, 4, 5);
    CHECK(fabsf(loss - hard) <= 1e-6f * fabsf(hard) && rel_max_err(d, dh, 20) < 1e-6, "one-hot soft CE %g vs %g", loss,
          hard);
    st_close(&f);
}

static void mixing(void) {
    enum { N = 5, C = 2, H = 6, W = 6, K = 3 };
    float x[N * C * H * W], orig[N * C * H * W], t[N * K];
    int64_t y[N] = {0, 1, 2, 0, 1};
    for (int i = 0; i < N * C * H * W; i++) orig[i] = x[i] = (float)(i % 97) / 97.0f;
    amod_data_rng r;
    /* mixup alone, with smoothing */
    amod_mix_config mc = {.mixup = 0.8f, .smoothing = 0.1f};
    amod_data_rng_seed4(&r, 1, 2, 3, 4);
    const double lam = amod_mix_batch(&mc, &r, x, N, C, H, W, y, K, t);
    const size_t per = C * H * W;
    double e = 0;
    for (int i = 0; i < N; i++)
        for (size_t o = 0; o < per; o++)
            e = fmax(e, fabs(x[i * per + o] - (lam * orig[i * per + o] + (1 - lam) * orig[(N - 1 - i) * per + o])));
    CHECK(lam > 0 && lam < 1 && e < 1e-6, "mixup: x lam + x.flip(0) (1 - lam), lam %g, err %g", lam, e);
    const double off = 0.1 / K, on = 0.9 + off;
    for (int i = 0; i < N; i++) {
        double sum = 0, want0 = off + (y[i] == 0) * lam * (on - off) + (y[N - 1 - i] == 0) * (1 - lam) * (on - off);
        for (int k = 0; k < K; k++) sum += t[i * K + k];
        CHECK(fabs(sum - 1) < 1e-6 && fabs(t[i * K] - want0) < 1e-6, "mixup targets row %d: sum %g, t0 %g (want %g)", i,
              sum, t[i * K], want0);
    }
    /* cutmix alone: a box swapped with the mirror image, lam = the share left */
    memcpy(x, orig, sizeof x);
    amod_mix_config cc = {.cutmix = 1.0f};
    amod_data_rng_seed4(&r, 5, 6, 7, 8);
    const double lc = amod_mix_batch(&cc, &r, x, N, C, H, W, y, K, t);
    int kept = 0;
    for (size_t o = 0; o < (size_t)H * W; o++) kept += x[o] == orig[o];
    CHECK(fabs(lc - (double)kept / (H * W)) < 1e-9 && fabs(t[0] - lc) < 1e-6 && fabs(t[1] - (1 - lc)) < 1e-6,
          "cutmix: lam %g, %d of %d pixels kept", lc, kept, H * W);
    /* smoothing alone */
    amod_mix_config sc = {.smoothing = 0.2f};
    memcpy(x, orig, sizeof x);
    amod_mix_batch(&sc, &r, x, N, C, H, W, y, K, t);
    CHECK(!memcmp(x, orig, sizeof x) && fabsf(t[0] - (0.8f + 0.2f / 3)) < 1e-6f && fabsf(t[1] - 0.2f / 3) < 1e-6f,
          "smoothing: images untouched, on %g off %g", t[0], t[1]);
    /* Beta(0.8, 0.8): mean 1/2, variance 1 / (4 (2a + 1)) */
    double s = 0, s2 = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        const double b = amod_mix_beta(&r, 0.8);
        s += b, s2 += b * b;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    CHECK(fabs(mean - 0.5) < 0.01 && fabs(var - 1.0 / (4 * 2.6)) < 0.005, "Beta(0.8): mean %g, var %g", mean, var);
}

int main(void) {
    soft_ce_against_torch();
    mixing();
    return test_summary("test_mixup");
}
