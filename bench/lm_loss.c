/* lm_loss: the language model's next-token cross-entropy with its gradient (lm_cross_entropy)
 * on B x T rows of V logits, best of REPS, in ms and ns per logit.
 *
 *   lm_loss [B] [T] [V] [REPS]          e.g. lm_loss 4 128 50257 3   (GPT-2's vocabulary) */
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/threads.h"
#include "kernels/lm_kernels.h"

int main(int argc, char **argv) {
    const int B = argc > 1 ? atoi(argv[1]) : 4, T = argc > 2 ? atoi(argv[2]) : 128;
    const int V = argc > 3 ? atoi(argv[3]) : 50257, reps = argc > 4 ? atoi(argv[4]) : 3;
    if (B < 1 || B > 4096 || T < 2 || T > 65536 || V < 2 || V > 1 << 20 || reps < 1 || reps > 1000 ||
        (double)B * T * V > 1e9) {
        fprintf(stderr, "lm_loss: B in 1..4096, T in 2..65536, V in 2..2^20, B T V <= 1e9, REPS in 1..1000\n");
        return 1;
    }
    amod_threads_init(0);
    const size_t n = (size_t)B * T * V;
    float *z = malloc(n * sizeof *z), *d = malloc(n * sizeof *d);
    int64_t *ids = malloc((size_t)B * T * sizeof *ids);
    if (!z || !d || !ids) {
        fprintf(stderr, "lm_loss: out of memory for %zu logits\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) z[i] = (float)((i * 2654435761u) % 2000) / 200.0f - 5.0f;
    for (int i = 0; i < B * T; i++) ids[i] = (i * 7919) % V;
    double best = 1e30, loss = 0;
    for (int r = 0; r < reps; r++) {
        const double t0 = amod_seconds();
        loss = lm_cross_entropy(d, z, ids, B, T, V);
        const double dt = amod_seconds() - t0;
        if (dt < best) best = dt;
    }
    printf("B %d T %d V %d, %d threads: %.2f ms (%.2f ns per logit), loss %.6f\n", B, T, V, amod_threads_count(),
           best * 1e3, best * 1e9 / (double)n, loss);
    free(z), free(d), free(ids);
    return 0;
}
