/* Matrix products for both weight layouts a Hugging Face LM uses: torch.nn.Linear's
 * [out, in] and GPT-2's Conv1D [in, out], on OpenBLAS sgemm, with a strided output. */
#include <omp.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"

/* One row (a decoding step): y = x W (+ b), memory-bound on W, so the threads split the
 * output columns and each streams its share of W once. A GEMM library would pack W first.
 * W [out, in] is one dot product per output (rows_dot); W [in, out] is below. */
static void dense_row(float *y, const float *x, const float *w, int w_in_out, const float *b, int n_in, int n_out) {
    if (!w_in_out) {
        rows_dot(y, w, x, n_out, n_in);
        if (b)
            for (int o = 0; o < n_out; o++) y[o] += b[o];
        return;
    }
#pragma omp parallel if ((size_t)n_in * n_out >= 16 * AMOD_PAR_MIN_WORK)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        /* column ranges in multiples of 16 floats (a cache line) so threads never share a line of y */
        const int blocks = (n_out + 15) / 16;
        const int o0 = (int)((long long)blocks * t / nt) * 16;
        int o1 = (int)((long long)blocks * (t + 1) / nt) * 16;
        if (o1 > n_out) o1 = n_out;
        if (o1 > o0) { /* rows of W scaled by x[i], added up */
            float *yo = y + o0;
            const int n = o1 - o0;
            for (int o = 0; o < n; o++) yo[o] = b ? b[o0 + o] : 0.0f;
            for (int i = 0; i < n_in; i++) {
                const float xi = x[i], *wr = w + (size_t)i * n_out + o0;
#pragma omp simd
                for (int o = 0; o < n; o++) yo[o] += xi * wr[o];
            }
        }
    }
}

void dense_forward(float *y, int ldy, const float *x, const float *w, int w_in_out, const float *b, int rows,
                   int n_in, int n_out) {
    if (rows <= 0) return;
    if (rows == 1) {
        dense_row(y, x, w, w_in_out, b, n_in, n_out);
        return;
    }
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)rows * n_out >= AMOD_PAR_MIN_WORK)
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
#pragma omp parallel for schedule(static) if ((size_t)rows * n_out >= AMOD_PAR_MIN_WORK)
        for (int o = 0; o < n_out; o++) {
            float s = 0.0f;
            for (int r = 0; r < rows; r++) s += dy[(size_t)r * ldy + o];
            db[o] += s;
        }
    }
}
