/* Mixup, cutmix and label smoothing (mixup.h), as timm's Mixup computes them. */
#include "train/mixup.h"

#include <math.h>
#include <string.h>

int amod_mix_active(const amod_mix_config *c) { return c->mixup > 0 || c->cutmix > 0 || c->smoothing > 0; }

static double gamma_draw(amod_data_rng *r, double a) {
    if (a < 1.0) { /* Gamma(a) = Gamma(a + 1) U^(1/a) */
        const double u = amod_data_rng_uniform53(r);
        return gamma_draw(r, a + 1.0) * pow(1.0 - u, 1.0 / a);
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = amod_data_rng_normal(r, NULL), v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        const double u = amod_data_rng_uniform53(r);
        if (log(1.0 - u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double amod_mix_beta(amod_data_rng *r, double a) {
    const double x = gamma_draw(r, a), y = gamma_draw(r, a);
    return x + y > 0 ? x / (x + y) : 0.5;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

double amod_mix_batch(const amod_mix_config *c, amod_data_rng *r, float *images, int n, int C, int H, int W,
                      const int64_t *labels, int K, float *targets) {
    double lam = 1.0;
    const size_t plane = (size_t)H * W, per = (size_t)C * plane;
    int cutmix = c->cutmix > 0 && (c->mixup <= 0 || (amod_data_rng_next(r) >> 63));
    if (cutmix) {
        lam = amod_mix_beta(r, c->cutmix);
        /* timm's rand_bbox: a box of sides W sqrt(1 - lam), H sqrt(1 - lam) around a uniform centre */
        const double cut = sqrt(1.0 - lam);
        const int cw = (int)(W * cut), ch = (int)(H * cut);
        const int cy = (int)amod_data_rng_below(r, (uint64_t)H), cx = (int)amod_data_rng_below(r, (uint64_t)W);
        const int y0 = clampi(cy - ch / 2, 0, H), y1 = clampi(cy + ch / 2, 0, H);
        const int x0 = clampi(cx - cw / 2, 0, W), x1 = clampi(cx + cw / 2, 0, W);
        for (int i = 0; i < n / 2; i++) { /* swap the box between image i and its mirror n - 1 - i */
            float *a = images + (size_t)i * per, *b = images + (size_t)(n - 1 - i) * per;
            for (int ch_ = 0; ch_ < C; ch_++)
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        const size_t o = (size_t)ch_ * plane + (size_t)y * W + x;
                        const float t = a[o];
                        a[o] = b[o], b[o] = t;
                    }
        }
        lam = 1.0 - (double)(y1 - y0) * (x1 - x0) / (double)plane; /* correct_lam */
    } else if (c->mixup > 0) {
        lam = amod_mix_beta(r, c->mixup);
        for (int i = 0; i < n / 2; i++) {
            float *a = images + (size_t)i * per, *b = images + (size_t)(n - 1 - i) * per;
            for (size_t o = 0; o < per; o++) {
                const float va = a[o], vb = b[o];
                a[o] = (float)(va * lam + vb * (1.0 - lam));
                b[o] = (float)(vb * lam + va * (1.0 - lam));
            }
        }
    }
    const double off = c->smoothing / K, on = 1.0 - c->smoothing + off;
    for (int i = 0; i < n; i++) {
        float *t = targets + (size_t)i * K;
        for (int k = 0; k < K; k++) t[k] = (float)off;
        t[labels[i]] += (float)(lam * (on - off));
        t[labels[n - 1 - i]] += (float)((1.0 - lam) * (on - off));
    }
    return lam;
}
