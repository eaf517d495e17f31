/* SwiGLU, Llama's MLP activation: silu(gate) * up. */
#include <math.h>

#include "kernels/lm_kernels.h"

static inline float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

void swiglu_forward(float *a, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = gate[i] * sigmoidf(gate[i]) * up[i];
}

void swiglu_backward(float *dgate, float *dup, const float *da, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], s = sigmoidf(g), d = da[i];
        dup[i] = d * g * s;
        dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    }
}
