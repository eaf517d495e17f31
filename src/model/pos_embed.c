/* Position-embedding resampling (pos_embed.h), as PyTorch's antialiased bicubic computes it. */
#include "model/pos_embed.h"

#include <stdlib.h>
#include <string.h>

static float cubic(float x) { /* Keys, a = -0.5: the antialiased kernel PyTorch shares with PIL */
    const float a = -0.5f;
    if (x < 0) x = -x;
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

/* For output i of a resize from n_in to n_out: the first input and up to 2 * support + 1
 * normalised weights (PyTorch's compute_indices_weights_aa, in float). */
static int weights(int n_in, int n_out, int i, float *w, int *first) {
    const float scale = (float)n_in / (float)n_out, invscale = scale >= 1 ? 1 / scale : 1;
    const float support = scale >= 1 ? 2 * scale : 2, center = scale * (i + 0.5f);
    int lo = (int)(center - support + 0.5f), hi = (int)(center + support + 0.5f);
    if (lo < 0) lo = 0;
    if (hi > n_in) hi = n_in;
    float total = 0;
    for (int j = 0; j < hi - lo; j++) total += w[j] = cubic((j + lo - center + 0.5f) * invscale);
    for (int j = 0; j < hi - lo && total != 0; j++) w[j] /= total;
    *first = lo;
    return hi - lo;
}

int pos_embed_resample(float *dst, const float *src, int old_grid, int new_grid, int D, int prefix) {
    memcpy(dst, src, (size_t)prefix * D * sizeof *dst);
    const float *g = src + (size_t)prefix * D;
    float *out = dst + (size_t)prefix * D;
    const int taps = 4 * (old_grid > new_grid ? old_grid / new_grid + 1 : 1) + 2;
    float *tmp = malloc((size_t)old_grid * new_grid * D * sizeof *tmp), *w = malloc((size_t)taps * sizeof *w);
    if (!tmp || !w) {
        free(tmp), free(w);
        return -1;
    }
    /* width first: [old rows][new cols][D] */
    for (int x = 0; x < new_grid; x++) {
        int lo, n = weights(old_grid, new_grid, x, w, &lo);
        for (int y = 0; y < old_grid; y++)
            for (int d = 0; d < D; d++) {
                float s = 0;
                for (int j = 0; j < n; j++) s += w[j] * g[((size_t)y * old_grid + lo + j) * D + d];
                tmp[((size_t)y * new_grid + x) * D + d] = s;
            }
    }
    for (int y = 0; y < new_grid; y++) { /* then height */
        int lo, n = weights(old_grid, new_grid, y, w, &lo);
        for (int x = 0; x < new_grid; x++)
            for (int d = 0; d < D; d++) {
                float s = 0;
                for (int j = 0; j < n; j++) s += w[j] * tmp[((size_t)(lo + j) * new_grid + x) * D + d];
                out[((size_t)y * new_grid + x) * D + d] = s;
            }
    }
    free(tmp), free(w);
    return 0;
}
