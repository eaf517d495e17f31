/* optimizer_step: what a training step spends on the gradients after the backward, at
 * DeiT-Tiny's 5.7 M parameters (the fixed cost of a step that MoD does not shrink): zeroing
 * them, their global norm, clipping in place, AdamW, and AdamW with the clip folded in (the
 * training loop's form, amod_adamw_step_scaled). Each is timed back to back after a warm-up
 * that touches the optimizer's state; best and median of REPS, in ms.
 *
 *   optimizer_step [PARAMS] [REPS]        e.g. optimizer_step 5717416 30 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/threads.h"
#include "train/optim.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill(float *g, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = (float)((int)(i % 1001) - 500) * 1e-3f; /* norm far above 1: clipped */
}

int main(int argc, char **argv) {
    const long long np = argc > 1 ? atoll(argv[1]) : 5717416;
    const int reps = argc > 2 ? atoi(argv[2]) : 30;
    if (np < 1 || np > (1LL << 31) || reps < 1 || reps > 10000) {
        fprintf(stderr, "optimizer_step: PARAMS in 1..2^31, REPS in 1..10000\n");
        return 1;
    }
    const size_t n = (size_t)np;
    amod_threads_init(0);
    float *g = malloc(n * sizeof *g), *p = malloc(n * sizeof *p);
    double *t = malloc((size_t)reps * sizeof *t);
    amod_adamw_span span;
    const int64_t shape[1] = {np};
    amod_adamw_span_set(&span, "w", 1, shape, 0, 1);
    amod_adamw_config oc;
    amod_adamw_config_default(&oc);
    amod_adamw opt;
    amod_error err = {0};
    if (!g || !p || !t || amod_adamw_init(&opt, &span, 1, &oc, &err)) {
        fprintf(stderr, "optimizer_step: out of memory %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) p[i] = 0.01f;
    fill(g, n);
    amod_adamw_step(&opt, p, g, 1e-4f); /* the state's pages touched before timing */
    printf("%zu parameters, %d threads, %d repetitions: ms best / median\n", n, amod_threads_count(), reps);
    const char *names[] = {"zero the gradients (memset)", "global norm", "clip in place (norm + scale)",
                           "AdamW", "AdamW with the clip folded in (norm + step)"};
    for (int what = 0; what < 5; what++) {
        for (int r = 0; r < reps; r++) {
            if (what == 2) fill(g, n); /* clipping leaves them small: refill, untimed */
            const double t0 = amod_seconds();
            switch (what) {
            case 0: memset(g, 0, n * sizeof *g); break;
            case 1: (void)amod_grad_norm(g, n); break;
            case 2: (void)amod_clip_grad_norm(g, n, 1.0); break;
            case 3: amod_adamw_step(&opt, p, g, 1e-4f); break;
            default: amod_adamw_step_scaled(&opt, p, g, amod_clip_coef(amod_grad_norm(g, n), 1.0), 1e-4f); break;
            }
            t[r] = amod_seconds() - t0;
            if (what == 0) fill(g, n);
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("%-46s %7.2f / %7.2f\n", names[what], t[0] * 1e3, t[reps / 2] * 1e3);
    }
    amod_adamw_free(&opt);
    free(g), free(p), free(t);
    return 0;
}
