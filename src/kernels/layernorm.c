/* LayerNorm over the last dimension, with the biased variance PyTorch uses. */
#include <math.h>
#include <omp.h>

#include "kernels/kernels.h"

void layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                       const float *b, int rows, int dim, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)rows * dim >= AMOD_PAR_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int i = 0; i < dim; i++) s += xr[i];
        float m = (float)(s / dim);
        double v = 0.0;
#pragma omp simd reduction(+ : v)
        for (int i = 0; i < dim; i++) {
            float d = xr[i] - m;
            v += (double)d * d;
        }
        float rs = 1.0f / sqrtf((float)(v / dim) + eps);
#pragma omp simd
        for (int i = 0; i < dim; i++) o[i] = (xr[i] - m) * rs * w[i] + b[i];
        if (mean) mean[r] = m;
        if (rstd) rstd[r] = rs;
    }
}

void layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                        const float *mean, const float *rstd, const float *w, int rows, int dim) {
    /* Input gradient row by row; parameter gradients column by column so threads never share
     * an accumulator. */
#pragma omp parallel for schedule(static) if ((size_t)rows * dim >= AMOD_PAR_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim, *g = dout + (size_t)r * dim;
        float m = mean[r], rs = rstd[r];
        float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
        for (int i = 0; i < dim; i++) {
            float gw = g[i] * w[i];
            sum_g += gw;
            sum_gx += gw * (xr[i] - m) * rs;
        }
        sum_g /= dim;
        sum_gx /= dim;
        float *d = dx + (size_t)r * dim;
#pragma omp simd
        for (int i = 0; i < dim; i++) {
            float xhat = (xr[i] - m) * rs;
            d[i] += rs * (g[i] * w[i] - sum_g - xhat * sum_gx);
        }
    }
    /* Parameter gradients: dw = sum_r dout * xhat, db = sum_r dout, streamed row by row
     * with each thread owning a range of columns. */
#pragma omp parallel if ((size_t)rows * dim >= AMOD_PAR_MIN_WORK)
    {
        int i0, i1;
        kernel_share(dim, &i0, &i1);
        for (int r = 0; r < rows; r++) {
            const float *g = dout + (size_t)r * dim, *xr = x + (size_t)r * dim;
            const float m = mean[r], rs = rstd[r];
            if (dw) {
#pragma omp simd
                for (int i = i0; i < i1; i++) dw[i] += g[i] * (xr[i] - m) * rs;
            }
            if (db) {
#pragma omp simd
                for (int i = i0; i < i1; i++) db[i] += g[i];
            }
        }
    }
}
