/* Router scores for Mixture-of-Depths and MindSkip layers (see router.h). */
#include "model/router.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"

void router_attention_received(float *r, const float *probs, const float *col_sum, int B, int H, int N, int causal) {
    const float inv = 1.0f / (float)(H * N);
#pragma omp parallel for schedule(static) if ((size_t)B * H * N * N >= AMOD_PAR_MIN_WORK)
    for (int b = 0; b < B; b++) {
        float *rb = r + (size_t)b * N;
        if (probs) {
            memset(rb, 0, (size_t)N * sizeof *rb);
            for (int h = 0; h < H; h++)
                for (int j = 0; j < N; j++) {
                    const float *row = probs + (((size_t)b * H + h) * N + j) * N;
                    const int seen = causal ? j + 1 : N; /* a causal query sees tokens 0..j */
                    for (int i = 0; i < seen; i++) rb[i] += row[i];
                }
        } else {
            memcpy(rb, col_sum + (size_t)b * N, (size_t)N * sizeof *rb);
        }
        if (causal) { /* by the attention token i gets under a uniform causal map: sum over j >= i of 1 / (j + 1) */
            double expected = 0;
            for (int i = N - 1; i >= 0; i--) {
                expected += 1.0 / (i + 1);
                rb[i] = (float)(rb[i] / ((double)H * expected));
            }
        } else {
            for (int i = 0; i < N; i++) rb[i] *= inv;
        }
    }
}

void router_random(float *r, amod_rng *rng, size_t n) {
    for (size_t i = 0; i < n; i++) r[i] = rng_uniform(rng);
}

float router_predictor_logit(const router_predictor *p, const float *x, int D) {
    float z = p->b2[0];
    for (int j = 0; j < p->P; j++) {
        const float *w = p->w1 + (size_t)j * D;
        float h = p->b1[j];
        for (int i = 0; i < D; i++) h += w[i] * x[i];
        z += p->w2[j] * (h > 0.0f ? h : 0.0f);
    }
    return z;
}

double router_predictor_forward(const router_predictor *p, float *h, float *z, const float *x, const float *target,
                                int n, int D, int *correct) {
    const int P = p->P;
    linear_forward(h, x, p->w1, p->b1, n, D, P);
    for (size_t i = 0; i < (size_t)n * P; i++) h[i] = h[i] > 0.0f ? h[i] : 0.0f;
    linear_forward(z, h, p->w2, p->b2, n, P, 1);
    return bce_with_logits(NULL, z, target, n, 1.0f, correct);
}

void router_predictor_backward(const router_predictor *p, float *scratch, const float *h, const float *z,
                               const float *x, const float *target, int n, int D, float scale) {
    const int P = p->P;
    float *dz = scratch, *dh = scratch + n;
    bce_with_logits(dz, z, target, n, scale, NULL);
    linear_backward(dh, p->dw2, p->db2, dz, h, p->w2, n, P, 1, 0);
    for (size_t i = 0; i < (size_t)n * P; i++)
        if (h[i] <= 0.0f) dh[i] = 0.0f;
    linear_backward(NULL, p->dw1, p->db1, dh, x, p->w1, n, D, P, 0);
}

static float dotf(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

int router_gate_forward(float *s, float *gate, float *mean, const float *x, const float *w, int n, int mean_rows, int inclusive,
                        int D, int soft) {
    int open = 0;
    for (int i = 0; i < n; i++) {
        const float *in = x + (size_t)i * D;
        if (mean_rows > 0) {
            float *mu = mean + (size_t)i * D;
            memset(mu, 0, (size_t)D * sizeof *mu);
            for (int t = 0; t < mean_rows; t++) {
                const float *row = x + ((size_t)i * mean_rows + t) * D;
                for (int j = 0; j < D; j++) mu[j] += row[j];
            }
            for (int j = 0; j < D; j++) mu[j] /= (float)mean_rows;
            in = mu;
        }
        const float si = 1.0f / (1.0f + expf(-dotf(in, w, D)));
        s[i] = si;
        const int is_open = router_gate_open(si, inclusive);
        gate[i] = soft ? si : (float)is_open;
        open += is_open;
    }
    return open;
}

void router_gate_backward(float *dw, float *dx, const float *dz, const float *x, const float *mean, const float *w,
                          int n, int mean_rows, int D) {
    for (int i = 0; i < n; i++) {
        const float *in = mean_rows > 0 ? mean + (size_t)i * D : x + (size_t)i * D;
        if (dw)
            for (int j = 0; j < D; j++) dw[j] += dz[i] * in[j];
        if (mean_rows > 0) { /* the mean spreads its gradient evenly over the sequence */
            for (int t = 0; t < mean_rows; t++) {
                float *d = dx + ((size_t)i * mean_rows + t) * D;
                for (int j = 0; j < D; j++) d[j] += dz[i] * w[j] / (float)mean_rows;
            }
        } else {
            float *d = dx + (size_t)i * D;
            for (int j = 0; j < D; j++) d[j] += dz[i] * w[j];
        }
    }
}
