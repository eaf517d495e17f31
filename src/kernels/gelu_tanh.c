/* GPT-2's GELU, the tanh approximation ("gelu_new" in transformers). */
#include <math.h>

#include "kernels/lm_kernels.h"

#define GELU_C 0.7978845608028654f /* sqrt(2 / pi) */

void gelu_tanh_forward(float *out, const float *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(GELU_C * (v + 0.044715f * v * v * v)));
    }
}

void gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float t = tanhf(GELU_C * (v + 0.044715f * v * v * v));
        float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dout[i] * d;
    }
}
