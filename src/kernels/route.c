/* Token routing for Mixture-of-Depths: top-k selection that always keeps the prefix
 * tokens and preserves the original order, and the gather/scatter of token rows. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

typedef struct {
    float score;
    int32_t index;
} scored;

/* Descending score; ties to the lower index so the choice is deterministic. */
static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void route_select(int32_t *idx, const float *scores, int B, int N, int k, int P) {
#pragma omp parallel if ((size_t)B * N >= 4096)
    {
        scored *cand = malloc((size_t)N * sizeof *cand);
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            int32_t *out = idx + (size_t)b * k;
            for (int i = 0; i < P; i++) out[i] = i;
            for (int i = P; i < N; i++) cand[i - P] = (scored){scores[(size_t)b * N + i], i};
            qsort(cand, (size_t)(N - P), sizeof *cand, by_score_desc);
            for (int j = 0; j < k - P; j++) out[P + j] = cand[j].index;
            qsort(out + P, (size_t)(k - P), sizeof *out, by_index);
        }
        free(cand);
    }
}

void route_gather(float *out, const float *x, const int32_t *idx, int B, int N, int k, int D) {
#pragma omp parallel for schedule(static) if ((size_t)B * k * D >= AMOD_PAR_MIN_WORK)
    for (int bj = 0; bj < B * k; bj++) {
        int b = bj / k;
        memcpy(out + (size_t)bj * D, x + ((size_t)b * N + idx[bj]) * D, (size_t)D * sizeof *x);
    }
}

void route_scatter(float *x, const float *rows, const int32_t *idx, int B, int N, int k, int D) {
#pragma omp parallel for schedule(static) if ((size_t)B * k * D >= AMOD_PAR_MIN_WORK)
    for (int bj = 0; bj < B * k; bj++) {
        int b = bj / k;
        memcpy(x + ((size_t)b * N + idx[bj]) * D, rows + (size_t)bj * D, (size_t)D * sizeof *x);
    }
}
