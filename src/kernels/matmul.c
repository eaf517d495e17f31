/* Matrix products with bias, on OpenBLAS sgemm. Weights are stored as PyTorch's Linear
 * does, [n_out, n_in], so the forward product is in @ w^T. */
#include <cblas.h>
#include <string.h>

#include "kernels/kernels.h"

void linear_forward(float *out, const float *in, const float *w, const float *b, int rows, int n_in,
                    int n_out) {
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) memcpy(out + (size_t)r * n_out, b, (size_t)n_out * sizeof *b);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_out, n_in, 1.0f, in, n_in, w, n_in,
                beta, out, n_out);
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int rows, int n_in, int n_out, int accumulate_din) {
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n_in, n_out, 1.0f, dout, n_out, w,
                    n_in, accumulate_din ? 1.0f : 0.0f, din, n_in);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, rows, 1.0f, dout, n_out, in,
                    n_in, 1.0f, dw, n_in);
    if (db) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < n_out; o++) {
            float s = 0.0f;
            for (int r = 0; r < rows; r++) s += dout[(size_t)r * n_out + o];
            db[o] += s;
        }
    }
}

void add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}
