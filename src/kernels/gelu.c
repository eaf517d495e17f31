/* Exact (erf) GELU, as timm and Hugging Face ViT use. */
#include "kernels/fastmath.h"
#include "kernels/kernels.h"

void gelu_forward(float *out, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + amod_erff(x[i] * 0.70710678118654752f));
}

void gelu_backward(float *dx, const float *dout, const float *x, size_t n) {
    const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + amod_erff(v * 0.70710678118654752f));
        float pdf = inv_sqrt_2pi * amod_expf(-0.5f * v * v);
        dx[i] = dout[i] * (cdf + v * pdf);
    }
}
