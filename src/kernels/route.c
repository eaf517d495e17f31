/* Token routing for Mixture-of-Depths: top-k selection that always keeps the prefix
 * tokens and preserves the original order, the gather/scatter of token rows, and the
 * combination of the block's output with the tokens that skipped it. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

typedef struct {
    float score;
    int32_t index;
} scored;

/* Descending score; ties to the lower index so the choice is deterministic. */
static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void route_select(int32_t *idx, const float *scores, int B, int N, int k, int P) {
#pragma omp parallel if ((size_t)B * N >= 4096)
    {
        scored *cand = malloc((size_t)N * sizeof *cand);
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            int32_t *out = idx + (size_t)b * k;
            for (int i = 0; i < P; i++) out[i] = i;
            for (int i = P; i < N; i++) cand[i - P] = (scored){scores[(size_t)b * N + i], i};
            qsort(cand, (size_t)(N - P), sizeof *cand, by_score_desc);
            for (int j = 0; j < k - P; j++) out[P + j] = cand[j].index;
            qsort(out + P, (size_t)(k - P), sizeof *out, by_index);
        }
        free(cand);
    }
}

void route_gather(float *out, const float *x, const int32_t *idx, int B, int N, int k, int D) {
#pragma omp parallel for schedule(static) if ((size_t)B * k * D >= AMOD_PAR_MIN_WORK)
    for (int bj = 0; bj < B * k; bj++) {
        int b = bj / k;
        memcpy(out + (size_t)bj * D, x + ((size_t)b * N + idx[bj]) * D, (size_t)D * sizeof *x);
    }
}

void route_scatter(float *x, const float *rows, const int32_t *idx, int B, int N, int k, int D) {
#pragma omp parallel for schedule(static) if ((size_t)B * k * D >= AMOD_PAR_MIN_WORK)
    for (int bj = 0; bj < B * k; bj++) {
        int b = bj / k;
        memcpy(x + ((size_t)b * N + idx[bj]) * D, rows + (size_t)bj * D, (size_t)D * sizeof *x);
    }
}

void route_scatter_add(float *x, const float *rows, const int32_t *idx, int B, int N, int k, int D) {
    for (int bj = 0; bj < B * k; bj++) {
        float *d = x + ((size_t)(bj / k) * N + idx[bj]) * D;
        const float *s = rows + (size_t)bj * D;
        for (int i = 0; i < D; i++) d[i] += s[i];
    }
}

void route_combine(float *out, const float *x, const float *y, const int32_t *idx, const float *scores, int B,
                   int N, int k, int D) {
    memcpy(out, x, (size_t)B * N * D * sizeof *out);
#pragma omp parallel for schedule(static) if ((size_t)B * k * D >= AMOD_PAR_MIN_WORK)
    for (int bj = 0; bj < B * k; bj++) {
        const size_t row = (size_t)(bj / k) * N + idx[bj];
        const float s = scores ? scores[row] : 1.0f;
        const float *xi = x + row * D, *yi = y + (size_t)bj * D;
        float *o = out + row * D;
        for (int i = 0; i < D; i++) o[i] = xi[i] + s * (yi[i] - xi[i]);
    }
}

void route_combine_backward(float *dx, float *dy, float *dw, const float *dout, const float *x, const float *y,
                            const int32_t *idx, const float *scores, const float *w, int B, int N, int k, int D) {
    memcpy(dx, dout, (size_t)B * N * D * sizeof *dx); /* tokens that skip pass straight through */
    for (int bj = 0; bj < B * k; bj++) {
        const size_t row = (size_t)(bj / k) * N + idx[bj];
        const float s = scores ? scores[row] : 1.0f;
        const float *g = dout + row * D, *xi = x + row * D, *yi = y + (size_t)bj * D;
        float *d = dx + row * D, *dyj = dy + (size_t)bj * D;
        float ds = 0.0f;
        for (int i = 0; i < D; i++) {
            dyj[i] = s * g[i];
            d[i] = (1.0f - s) * g[i];
            ds += g[i] * (yi[i] - xi[i]);
        }
        if (scores) { /* r = x . w: the input and the router weight both get ds */
            for (int i = 0; i < D; i++) d[i] += ds * w[i];
            if (dw)
                for (int i = 0; i < D; i++) dw[i] += ds * xi[i];
        }
    }
}
