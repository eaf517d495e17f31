/* Losses of a causal LM: shifted next-token cross-entropy (transformers' ForCausalLMLoss
 * with labels = input_ids) and the binary cross-entropy that trains MoD's causal predictor. */
#include <math.h>

#include "kernels/lm_kernels.h"

double lm_cross_entropy(float *dlogits, const float *logits, const int64_t *ids, int B, int T, int V) {
    const int n = B * (T - 1);
    double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int bt = 0; bt < B * T; bt++) {
        int t = bt % T;
        const float *z = logits + (size_t)bt * V;
        float *d = dlogits ? dlogits + (size_t)bt * V : NULL;
        if (t == T - 1) { /* nothing to predict after the last token */
            if (d)
                for (int i = 0; i < V; i++) d[i] = 0.0f;
            continue;
        }
        int64_t y = ids[bt + 1];
        float mx = z[0];
        for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)(z[i] - mx));
        double lse = mx + log(sum);
        total += lse - z[y];
        if (d) {
            for (int i = 0; i < V; i++) d[i] = (float)(exp((double)z[i] - lse) / n);
            d[y] -= 1.0f / n;
        }
    }
    return total / n;
}

double bce_with_logits(float *dz, const float *z, const float *target, int n, float scale, int *correct) {
    double total = 0.0;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        double v = z[i], y = target[i];
        /* log(1 + e^-|v|) + max(v, 0) - v y: stable for large |v| */
        total += log1p(exp(-fabs(v))) + (v > 0 ? v : 0) - v * y;
        if (dz) dz[i] = (float)(scale * (1.0 / (1.0 + exp(-v)) - y) / n);
        ok += (v > 0) == (y > 0.5);
    }
    if (correct) *correct = ok;
    return total / n;
}
