/* Matrix products with bias, on OpenBLAS sgemm. Weights are stored as PyTorch's Linear
 * does, [n_out, n_in], so the forward product is in @ w^T. */
#include <omp.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

void kernel_share(int n, int *lo, int *hi) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    *lo = (int)((long long)n * t / nt);
    *hi = (int)((long long)n * (t + 1) / nt);
}

void column_sums_add(float *sums, const float *x, int rows, int cols) {
    /* Each thread owns a range of columns and streams the rows through it: contiguous
     * reads, and no two threads add into the same sum. */
#pragma omp parallel if ((size_t)rows * cols >= AMOD_PAR_MIN_WORK)
    {
        int c0, c1;
        kernel_share(cols, &c0, &c1);
        for (int r = 0; r < rows; r++) {
            const float *row = x + (size_t)r * cols;
#pragma omp simd
            for (int c = c0; c < c1; c++) sums[c] += row[c];
        }
    }
}

void column_rows_add(float *sums, const float *rows, int B, int per_image, int n) {
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++)
        for (int k = 0; k < per_image; k++) {
            const float *r = rows + ((size_t)b * per_image + k) * n;
            float *cs = sums + (size_t)b * n;
#pragma omp simd
            for (int j = 0; j < n; j++) cs[j] += r[j];
        }
}

void linear_forward(float *out, const float *in, const float *w, const float *b, int rows, int n_in,
                    int n_out) {
    amod_threads_count(); /* OpenBLAS single-threaded before the first product */
#pragma omp parallel if ((size_t)rows * n_in * n_out >= 8 * AMOD_PAR_MIN_WORK)
    {
        int r0, r1;
        kernel_share(rows, &r0, &r1);
        if (r1 > r0) {
            float beta = 0.0f;
            if (b) {
                for (int r = r0; r < r1; r++) memcpy(out + (size_t)r * n_out, b, (size_t)n_out * sizeof *b);
                beta = 1.0f;
            }
            amod_sgemm(0, 1, r1 - r0, n_out, n_in, 1.0f,
                        in + (size_t)r0 * n_in, n_in, w, n_in, beta, out + (size_t)r0 * n_out, n_out);
        }
    }
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int rows, int n_in, int n_out, int accumulate_din) {
    amod_threads_count();
#pragma omp parallel if ((size_t)rows * n_in * n_out >= 8 * AMOD_PAR_MIN_WORK)
    {
        int lo, hi;
        if (din) { /* split by rows of the batch */
            kernel_share(rows, &lo, &hi);
            if (hi > lo)
                amod_sgemm(0, 0, hi - lo, n_in, n_out, 1.0f,
                            dout + (size_t)lo * n_out, n_out, w, n_in, accumulate_din ? 1.0f : 0.0f,
                            din + (size_t)lo * n_in, n_in);
        }
        if (dw) { /* split by output features, so no two threads add into the same row of dw */
            kernel_share(n_out, &lo, &hi);
            if (hi > lo)
                amod_sgemm(1, 0, hi - lo, n_in, rows, 1.0f, dout + lo,
                            n_out, in, n_in, 1.0f, dw + (size_t)lo * n_in, n_in);
        }
    }
    if (db) column_sums_add(db, dout, rows, n_out);
}

void rows_dot(float *out, const float *x, const float *w, int rows, int dim) {
#pragma omp parallel for schedule(static) if ((size_t)rows * dim >= 4 * AMOD_PAR_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * dim;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int i = 0; i < dim; i++) s += row[i] * w[i];
        out[r] = s;
    }
}

void add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= AMOD_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}
