/* Token (and learned position) embedding lookup. The backward pass scatters rows into the
 * embedding gradient; one thread per column slice so repeated ids never race. */
#include <string.h>

#include "kernels/lm_kernels.h"

void token_embed_forward(float *x, const int64_t *ids, const float *wte, const float *wpe, int B, int T, int pos0,
                         int D) {
#pragma omp parallel for schedule(static)
    for (int bt = 0; bt < B * T; bt++) {
        float *row = x + (size_t)bt * D;
        memcpy(row, wte + (size_t)ids[bt] * D, (size_t)D * sizeof *row);
        if (wpe) {
            const float *pe = wpe + (size_t)(pos0 + bt % T) * D;
            for (int i = 0; i < D; i++) row[i] += pe[i];
        }
    }
}

void token_embed_backward(float *dwte, float *dwpe, const float *dx, const int64_t *ids, int B, int T, int D) {
    const int chunk = 16, n_chunks = (D + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < n_chunks; c++) {
        int i0 = c * chunk, i1 = i0 + chunk < D ? i0 + chunk : D;
        for (int bt = 0; bt < B * T; bt++) {
            const float *g = dx + (size_t)bt * D;
            if (dwte) {
                float *d = dwte + (size_t)ids[bt] * D;
                for (int i = i0; i < i1; i++) d[i] += g[i];
            }
            if (dwpe) {
                float *d = dwpe + (size_t)(bt % T) * D;
                for (int i = i0; i < i1; i++) d[i] += g[i];
            }
        }
    }
}
