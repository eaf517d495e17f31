/* Mean cross-entropy over a batch, with a numerically stable log-sum-exp. */
#include <math.h>

#include "kernels/kernels.h"

/* log(sum_i exp(z_i)) of one row, shifted by its maximum so no exp overflows. */
static double log_sum_exp(const float *z, int K) {
    float mx = z[0];
    for (int i = 1; i < K; i++) mx = z[i] > mx ? z[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < K; i++) sum += exp((double)(z[i] - mx));
    return mx + log(sum);
}

int cross_entropy(float *loss, float *dlogits, const float *logits, const int64_t *labels, int B,
                  int K) {
    double total = 0.0;
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= K) return -1;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        double lse = log_sum_exp(z, K);
        total += lse - z[labels[b]];
        if (dlogits) {
            float *d = dlogits + (size_t)b * K;
            for (int i = 0; i < K; i++) d[i] = (float)(exp((double)z[i] - lse) / B);
            d[labels[b]] -= 1.0f / B;
        }
    }
    *loss = (float)(total / B);
    return 0;
}

void soft_cross_entropy(float *loss, float *dlogits, const float *logits, const float *targets, int B, int K) {
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K, *t = targets + (size_t)b * K;
        const double lse = log_sum_exp(z, K);
        for (int i = 0; i < K; i++) total += (double)t[i] * (lse - z[i]);
        if (dlogits) {
            double tsum = 0.0;
            for (int i = 0; i < K; i++) tsum += t[i];
            float *d = dlogits + (size_t)b * K;
            for (int i = 0; i < K; i++) d[i] = (float)((tsum * exp((double)z[i] - lse) - t[i]) / B);
        }
    }
    *loss = (float)(total / B);
}

void cross_entropy_rows(float *losses, const float *logits, const int64_t *labels, int B, int K) {
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        losses[b] = (float)(log_sum_exp(z, K) - z[labels[b]]);
    }
}
