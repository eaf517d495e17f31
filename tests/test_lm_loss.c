/* The LM's next-token cross-entropy on a large vocabulary: loss and gradient against double
 * loops, and the same loss bits on 1 and on 2 threads (rows are summed in fixed chunks; an
 * OpenMP reduction's order depended on the thread count). Its exponentials are float and
 * vectorised since a scalar double exp per logit made it 13x slower at GPT-2's vocabulary. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "kernels/lm_kernels.h"
#include "test_support.h"

int main(void) {
    const int B = 3, T = 9, V = 5003;
    const size_t n = (size_t)B * T * V;
    float *z = malloc(n * sizeof *z), *d = malloc(n * sizeof *d), *dref = malloc(n * sizeof *dref);
    int64_t ids[3 * 9];
    for (size_t i = 0; i < n; i++) z[i] = (float)((i * 2654435761u) % 2000) / 100.0f - 10.0f;
    for (int i = 0; i < B * T; i++) ids[i] = (i * 7919) % V;
    /* the reference, in double */
    const int rows = B * (T - 1);
    double ref = 0;
    for (int bt = 0; bt < B * T; bt++) {
        const float *zr = z + (size_t)bt * V;
        float *dr = dref + (size_t)bt * V;
        if (bt % T == T - 1) {
            for (int i = 0; i < V; i++) dr[i] = 0.0f;
            continue;
        }
        double mx = zr[0], sum = 0;
        for (int i = 1; i < V; i++) mx = zr[i] > mx ? zr[i] : mx;
        for (int i = 0; i < V; i++) sum += exp(zr[i] - mx);
        const double lse = mx + log(sum);
        const int64_t y = ids[bt + 1];
        ref += lse - zr[y];
        for (int i = 0; i < V; i++) dr[i] = (float)((exp(zr[i] - lse) - (i == y)) / rows);
    }
    ref /= rows;
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    const double l1 = lm_cross_entropy(d, z, ids, B, T, V);
    CHECK(fabs(l1 - ref) <= 1e-6 * fabs(ref), "loss %.9g, double loops %.9g", l1, ref);
    const double eg = rel_max_err(d, dref, n);
    CHECK(eg < 1e-4, "gradient %g from double loops'", eg);
    CHECK(lm_cross_entropy(NULL, z, ids, B, T, V) == l1, "the loss without a gradient differs");
    omp_set_num_threads(2);
    int same = 1;
    for (int rep = 0; rep < 5; rep++) same &= lm_cross_entropy(d, z, ids, B, T, V) == l1;
    CHECK(same, "the loss on 2 threads differs from 1 thread's");
    omp_set_num_threads(before);
    free(z), free(d), free(dref);
    return test_summary("test_lm_loss");
}
