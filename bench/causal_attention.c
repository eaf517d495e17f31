/* causal_attention: the causal attention forward (kernels/causal_attention.c) on one batch of
 * T tokens, without and with the column sums an A-MoD language model needs, best of REPS, and
 * whether 1 and 2 threads give the same column sums.
 *
 *   causal_attention [T] [HEADS] [HD] [REPS]        e.g. causal_attention 1024 12 64 5 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/threads.h"
#include "kernels/lm_kernels.h"

int main(int argc, char **argv) {
    const int T = argc > 1 ? atoi(argv[1]) : 512, H = argc > 2 ? atoi(argv[2]) : 12;
    const int hd = argc > 3 ? atoi(argv[3]) : 64, reps = argc > 4 ? atoi(argv[4]) : 5;
    if (T < 1 || T > 8192 || H < 1 || H > 128 || hd < 1 || hd > 512 || reps < 1 || reps > 1000) {
        fprintf(stderr, "causal_attention: T in 1..8192, HEADS in 1..128, HD in 1..512, REPS in 1..1000\n");
        return 1;
    }
    amod_threads_init(0);
    const size_t ld = (size_t)3 * H * hd;
    float *qkv = malloc((size_t)T * ld * sizeof *qkv), *out = malloc((size_t)T * H * hd * sizeof *out);
    float *cs = malloc((size_t)T * sizeof *cs), *cs1 = malloc((size_t)T * sizeof *cs1);
    if (!qkv || !out || !cs || !cs1) {
        fprintf(stderr, "causal_attention: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)T * ld; i++) qkv[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    printf("T %d, %d heads of %d, %d threads: ms, best of %d\n", T, H, hd, amod_threads_count(), reps);
    for (int with = 0; with < 2; with++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            const double t0 = amod_seconds();
            causal_attention_forward(out, NULL, with ? cs : NULL, qkv, 1, T, H, H, hd);
            const double dt = amod_seconds() - t0;
            if (dt < best) best = dt;
        }
        printf("  column sums %-3s %8.2f\n", with ? "on" : "off", best * 1e3);
    }
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    causal_attention_forward(out, NULL, cs1, qkv, 1, T, H, H, hd);
    omp_set_num_threads(2);
    causal_attention_forward(out, NULL, cs, qkv, 1, T, H, H, hd);
    omp_set_num_threads(before);
    printf("  column sums on 1 and 2 threads: %s\n", memcmp(cs, cs1, (size_t)T * sizeof *cs) ? "differ" : "the same bits");
    free(qkv), free(out), free(cs), free(cs1);
    return 0;
}
