/* Router scores (src/model/router.c): the causal A-MoD normalisation on a uniform causal map
 * scores every token alike (the earlier division by H (T - i) gave token 0 H_T = 5.4 times the
 * last token's score at T = 128), from the map and from its column sums; the bidirectional
 * mean; MindSkip's gate on a row and on a sequence mean. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/router.h"
#include "test_support.h"

static void uniform_causal(int T, int H) {
    float *probs = calloc((size_t)H * T * T, sizeof *probs), *col = calloc((size_t)T, sizeof *col);
    float *a = malloc((size_t)T * sizeof *a), *b = malloc((size_t)T * sizeof *b);
    for (int h = 0; h < H; h++)
        for (int j = 0; j < T; j++)
            for (int i = 0; i <= j; i++) { /* query j attends uniformly to tokens 0..j */
                probs[((size_t)h * T + j) * T + i] = 1.0f / (float)(j + 1);
                col[i] += 1.0f / (float)(j + 1);
            }
    router_attention_received(a, probs, NULL, 1, H, T, 1);
    router_attention_received(b, NULL, col, 1, H, T, 1);
    double lo = 1e9, hi = -1e9;
    for (int i = 0; i < T; i++) lo = fmin(lo, a[i]), hi = fmax(hi, a[i]);
    CHECK(fabs(lo - 1) < 1e-5 && fabs(hi - 1) < 1e-5, "T %d: uniform causal map scores %g..%g, want 1", T, lo, hi);
    CHECK(rel_max_err(b, a, (size_t)T) < 1e-6, "T %d: column sums give the map's scores", T);
    /* the old normalisation's position bias, for the record */
    double old0 = 0, oldlast = 0;
    for (int j = 0; j < T; j++) old0 += 1.0 / (j + 1);
    old0 /= T, oldlast = 1.0 / T;
    if (T == 128) CHECK(fabs(old0 / oldlast - 5.43) < 0.01, "H_128 = %g", old0 / oldlast);
    free(probs), free(col), free(a), free(b);
}

static void bidirectional(void) {
    const int N = 5, H = 2;
    float probs[2 * 5 * 5], r[5];
    for (int i = 0; i < H * N * N; i++) probs[i] = 1.0f / N;
    router_attention_received(r, probs, NULL, 1, H, N, 0);
    for (int i = 0; i < N; i++) CHECK(fabsf(r[i] - 1.0f / N) < 1e-7f, "uniform map: 1/N");
}

static void gates(void) {
    const float x[6] = {1, 2, 3, -1, 0, 1}, w[3] = {0.5f, -0.25f, 1};
    float s[2], g[2], mean[3];
    int open = router_gate_forward(s, g, NULL, x, w, 2, 0, 0, 3, 0);
    const double z0 = 0.5 - 0.5 + 3, z1 = -0.5 + 0 + 1;
    CHECK(fabs(s[0] - 1 / (1 + exp(-z0))) < 1e-6 && fabs(s[1] - 1 / (1 + exp(-z1))) < 1e-6 && g[0] == 1 && g[1] == 1 &&
              open == 2,
          "row gates");
    open = router_gate_forward(s, g, mean, x, w, 1, 2, 0, 3, 0);
    CHECK(fabsf(mean[0]) < 1e-7f && fabsf(mean[1] - 1) < 1e-7f && fabsf(mean[2] - 2) < 1e-7f, "sequence mean");
    CHECK(fabs(s[0] - 1 / (1 + exp(-(0 - 0.25 + 2)))) < 1e-6, "sequence gate");
    /* a zero router: sigmoid 0.5, closed for amod's > 0.5, open for Router-Tuning's >= 0.5 */
    const float zero[3] = {0, 0, 0};
    CHECK(router_gate_forward(s, g, NULL, x, zero, 2, 0, 0, 3, 0) == 0 && g[0] == 0 && s[0] == 0.5f, "s = 0.5: closed");
    CHECK(router_gate_forward(s, g, NULL, x, zero, 2, 0, 1, 3, 0) == 2 && g[0] == 1 && g[1] == 1, "s = 0.5: open (inclusive)");
}

int main(void) {
    uniform_causal(128, 4);
    uniform_causal(7, 1);
    bidirectional();
    gates();
    return test_summary("test_router");
}
