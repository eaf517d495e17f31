/* Losses of a causal LM: shifted next-token cross-entropy (transformers' ForCausalLMLoss
 * with labels = input_ids) and the binary cross-entropy that trains MoD's causal predictor. */
#include <math.h>

#include "kernels/fastmath.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"

/* Rows are summed in LOSS_CHUNKS fixed chunks, added up in order: the loss does not depend
 * on the thread count (an OpenMP reduction's order does). */
#define LOSS_CHUNKS 64

/* One row's -log softmax(z)[y]; with d, its gradient of the mean over n rows. The exponentials
 * are float and vectorised (as PyTorch's log_softmax), their sum double: a scalar double exp
 * per logit cost 6.4 ns, most of the loss over GPT-2's 50,257 tokens. */
static double row_loss(float *d, const float *z, int64_t y, int V, int n) {
    float mx = z[0];
#pragma omp simd reduction(max : mx)
    for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
    double sum = 0.0;
    if (d) {
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < V; i++) {
            d[i] = amod_expf(z[i] - mx);
            sum += d[i];
        }
        const float scale = (float)(1.0 / (sum * n));
#pragma omp simd
        for (int i = 0; i < V; i++) d[i] *= scale;
        d[y] -= 1.0f / n;
    } else {
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < V; i++) sum += amod_expf(z[i] - mx);
    }
    return mx + log(sum) - z[y];
}

double lm_cross_entropy(float *dlogits, const float *logits, const int64_t *ids, int B, int T, int V) {
    const int n = B * (T - 1), rows = B * T;
    double part[LOSS_CHUNKS] = {0};
#pragma omp parallel for schedule(static) if (parallel : (size_t)rows * V >= AMOD_PAR_MIN_WORK)
    for (int c = 0; c < LOSS_CHUNKS; c++) {
        const int lo = (int)((long long)rows * c / LOSS_CHUNKS), hi = (int)((long long)rows * (c + 1) / LOSS_CHUNKS);
        double s = 0.0;
        for (int bt = lo; bt < hi; bt++) {
            float *d = dlogits ? dlogits + (size_t)bt * V : NULL;
            if (bt % T == T - 1) { /* nothing to predict after the last token */
                if (d)
                    for (int i = 0; i < V; i++) d[i] = 0.0f;
                continue;
            }
            s += row_loss(d, logits + (size_t)bt * V, ids[bt + 1], V, n);
        }
        part[c] = s;
    }
    double total = 0.0;
    for (int c = 0; c < LOSS_CHUNKS; c++) total += part[c];
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
