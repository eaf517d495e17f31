/* RMSNorm (Llama): no centring, no bias; the mean square is taken in float32 as
 * transformers' LlamaRMSNorm does, accumulated in double here for stability. */
#include <math.h>

#include "kernels/lm_kernels.h"

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int rows, int dim, float eps) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        double ss = 0.0;
        for (int i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        float rs = 1.0f / sqrtf((float)(ss / dim) + eps);
        for (int i = 0; i < dim; i++) o[i] = w[i] * (xr[i] * rs);
        if (rstd) rstd[r] = rs;
    }
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *rstd, const float *w,
                      int rows, int dim) {
    /* y = w x r with r = (mean x^2 + eps)^-1/2, so dx = r g w - r^3 x mean(g w x). */
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            const float *xr = x + (size_t)r * dim, *g = dout + (size_t)r * dim;
            float rs = rstd[r], dot = 0.0f;
            for (int i = 0; i < dim; i++) dot += g[i] * w[i] * xr[i];
            float c = rs * rs * rs * dot / dim;
            float *d = dx + (size_t)r * dim;
            for (int i = 0; i < dim; i++) d[i] += rs * g[i] * w[i] - c * xr[i];
        }
    }
    if (dw) { /* column by column so threads never share an accumulator */
#pragma omp parallel for schedule(static)
        for (int i = 0; i < dim; i++) {
            float s = 0.0f;
            for (int r = 0; r < rows; r++) s += dout[(size_t)r * dim + i] * x[(size_t)r * dim + i] * rstd[r];
            dw[i] += s;
        }
    }
}
