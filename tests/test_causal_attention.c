/* The causal attention forward's column sums (the attention each token received: an A-MoD
 * language model's router scores) against the kept map, and the same bits on 1 and on 2
 * threads. They were added atomically by whichever thread ran a head, which gave other bits
 * with 2 threads than with 1 in every run (and a locked add per probability: +27 % of the
 * forward at T = 512); now each head sums into a row of its own, added up in head order. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/lm_kernels.h"
#include "test_support.h"

static void check_case(int B, int T, int H, int KV, int hd) {
    const size_t ld = (size_t)(H + 2 * KV) * hd, nqkv = (size_t)B * T * ld, nout = (size_t)B * T * H * hd;
    float *qkv = malloc(nqkv * sizeof *qkv), *out = malloc(nout * sizeof *out);
    float *probs = malloc((size_t)B * H * T * T * sizeof *probs), *cs1 = malloc((size_t)B * T * sizeof *cs1);
    float *cs2 = malloc((size_t)B * T * sizeof *cs2), *ref = malloc((size_t)B * T * sizeof *ref);
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    causal_attention_forward(out, probs, NULL, qkv, B, T, H, KV, hd);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++) s += probs[(((size_t)b * H + h) * T + i) * T + j];
            ref[(size_t)b * T + j] = (float)s;
        }
    causal_attention_forward(out, NULL, cs1, qkv, B, T, H, KV, hd);
    const double err = rel_max_err(cs1, ref, (size_t)B * T);
    CHECK(err < 1e-5, "B=%d T=%d H=%d KV=%d: column sums %g from the kept map's", B, T, H, KV, err);
    int same = 1;
    for (int rep = 0; rep < 5; rep++) {
        omp_set_num_threads(2);
        causal_attention_forward(out, NULL, cs2, qkv, B, T, H, KV, hd);
        same &= !memcmp(cs1, cs2, (size_t)B * T * sizeof *cs1);
    }
    CHECK(same, "B=%d T=%d H=%d KV=%d: the column sums on 2 threads differ from 1 thread's", B, T, H, KV);
    omp_set_num_threads(before);
    free(qkv), free(out), free(probs), free(cs1), free(cs2), free(ref);
}

int main(void) {
    check_case(1, 128, 12, 12, 64); /* GPT-2-small's heads */
    check_case(3, 33, 4, 2, 16);    /* grouped-query heads, an odd length */
    check_case(2, 1, 3, 3, 8);      /* one token */
    return test_summary("test_causal_attention");
}
