/* Matrix products for both weight layouts a Hugging Face LM uses: torch.nn.Linear's
 * [out, in] and GPT-2's Conv1D [in, out], on OpenBLAS sgemm, with a strided output. */
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/lm_kernels.h"

void dense_forward(float *y, int ldy, const float *x, const float *w, int w_in_out, const float *b, int rows,
                   int n_in, int n_out) {
    if (rows <= 0) return;
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) memcpy(y + (size_t)r * ldy, b, (size_t)n_out * sizeof *b);
        beta = 1.0f;
    }
    amod_sgemm(0, !w_in_out, rows, n_out, n_in, 1.0f, x,
                n_in, w, w_in_out ? n_out : n_in, beta, y, ldy);
}

void dense_backward(float *dx, int accumulate, float *dw, float *db, const float *dy, int ldy, const float *x,
                    const float *w, int w_in_out, int rows, int n_in, int n_out) {
    if (rows <= 0) return;
    if (dx) /* dx = dy W_eff^T where W_eff is [n_in, n_out] */
        amod_sgemm(0, w_in_out, rows, n_in, n_out, 1.0f, dy,
                    ldy, w, w_in_out ? n_out : n_in, accumulate ? 1.0f : 0.0f, dx, n_in);
    if (dw) {
        if (w_in_out) /* dW[in, out] += x^T dy */
            amod_sgemm(1, 0, n_in, n_out, rows, 1.0f, x, n_in, dy, ldy, 1.0f,
                        dw, n_out);
        else /* dW[out, in] += dy^T x */
            amod_sgemm(1, 0, n_out, n_in, rows, 1.0f, dy, ldy, x, n_in, 1.0f,
                        dw, n_in);
    }
    if (db) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < n_out; o++) {
            float s = 0.0f;
            for (int r = 0; r < rows; r++) s += dy[(size_t)r * ldy + o];
            db[o] += s;
        }
    }
}
