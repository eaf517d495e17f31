/* Exact (erf) GELU, as timm and Hugging Face ViT use. */
#include "kernels/bf16.h"
#include "kernels/fastmath.h"
#include "kernels/kernels.h"

static inline float gelu(float v) { return 0.5f * v * (1.0f + amod_erff(v * 0.70710678118654752f)); }

/* GELU'(v) = Phi(v) + v phi(v), with one exponential for both terms: erf at v / sqrt 2
 * needs exp(-v^2 / 2), which is also the density's. */
static inline float gelu_grad(float v) {
    const float inv_sqrt_2pi = 0.3989422804014327f;
    const float e = amod_expf(-0.5f * v * v);
    const float cdf = 0.5f * (1.0f + amod_erff_exp(v * 0.70710678118654752f, e));
    return cdf + v * (inv_sqrt_2pi * e);
}

void gelu_forward(float *out, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) out[i] = gelu(x[i]);
}

void gelu_forward_bf16(uint16_t *out16, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) out16[i] = bf16_round(gelu(x[i]));
}

void gelu_backward(float *dx, const float *dout, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) dx[i] = dout[i] * gelu_grad(x[i]);
}

/* Each thread owns a range of columns over all rows, so that db's sums run in row order
 * whatever the thread count (as linear_packed.c's bias sums do). */
void gelu_backward_bf16_sums(uint16_t *dx16, float *db, const float *dout, const float *x, int rows, int cols) {
#pragma omp parallel if ((size_t)rows * cols >= AMOD_PAR_MIN_WORK)
    {
        int c0, c1;
        kernel_share(cols, &c0, &c1);
        for (int r = 0; r < rows && c1 > c0; r++) {
            const size_t o = (size_t)r * cols;
#pragma omp simd
            for (int c = c0; c < c1; c++) {
                const float d = dout[o + c] * gelu_grad(x[o + c]);
                dx16[o + c] = bf16_round(d);
                db[c] += d;
            }
        }
    }
}
