/* Patch embedding (a stride-p convolution written as unfold + matrix product), prefix
 * (CLS) token and learned position embedding. */
#include <string.h>

#include "kernels/kernels.h"

void patch_unfold(float *cols, const float *images, int B, int C, int S, int p) {
    const int g = S / p, np = g * g, cpp = C * p * p;
#pragma omp parallel for schedule(static) if ((size_t)B * np * C * p * p >= AMOD_PAR_MIN_WORK)
    for (int bp = 0; bp < B * np; bp++) {
        int b = bp / np, py = (bp % np) / g, px = bp % g;
        float *col = cols + (size_t)bp * cpp;
        for (int c = 0; c < C; c++)
            for (int ky = 0; ky < p; ky++)
                memcpy(col + (c * p + ky) * p,
                       images + (((size_t)b * C + c) * S + (size_t)py * p + ky) * S + (size_t)px * p,
                       (size_t)p * sizeof *col);
    }
}

void embed_forward(float *x, float *patch_out, const float *cols, const float *w, const float *b,
                   const float *cls, const float *pos, int B, int np, int cpp, int D) {
    const int N = np + 1;
    linear_forward(patch_out, cols, w, b, B * np, cpp, D);
#pragma omp parallel for schedule(static) if ((size_t)B * N * D >= AMOD_PAR_MIN_WORK)
    for (int bt = 0; bt < B * N; bt++) {
        int bi = bt / N, t = bt % N;
        float *row = x + (size_t)bt * D;
        const float *src = t == 0 ? cls : patch_out + ((size_t)bi * np + t - 1) * D;
        const float *pe = pos + (size_t)t * D;
        for (int i = 0; i < D; i++) row[i] = src[i] + pe[i];
    }
}

void embed_backward(float *dw, float *db, float *dcls, float *dpos, const float *dx,
                    const float *cols, float *dpatch_scratch, int B, int np, int cpp, int D) {
    const int N = np + 1;
#pragma omp parallel for schedule(static) if ((size_t)B * N * D >= AMOD_PAR_MIN_WORK)
    for (int i = 0; i < D; i++) {
        float sc = 0.0f;
        for (int bi = 0; bi < B; bi++) sc += dx[(size_t)bi * N * D + i];
        dcls[i] += sc;
        for (int t = 0; t < N; t++) {
            float s = 0.0f;
            for (int bi = 0; bi < B; bi++) s += dx[((size_t)bi * N + t) * D + i];
            dpos[(size_t)t * D + i] += s;
        }
    }
#pragma omp parallel for schedule(static) if ((size_t)B * np * D >= AMOD_PAR_MIN_WORK)
    for (int bp = 0; bp < B * np; bp++) {
        int bi = bp / np, t = bp % np + 1;
        memcpy(dpatch_scratch + (size_t)bp * D, dx + ((size_t)bi * N + t) * D, (size_t)D * sizeof *dx);
    }
    linear_backward(NULL, dw, db, dpatch_scratch, cols, NULL, B * np, cpp, D, 0);
}
