/* The part of a run context that both model families share (run_state.h). */
#include "model/run_state.h"

#include <omp.h>
#include <stdlib.h>

void *run_state_create(size_t size, int threads, int grads, int keep_attention, uint64_t seed, amod_error *err) {
    if (threads < 0) return amod_fail(err, "a context's thread count %d must be 0 or more", threads), NULL;
    run_state *s = amod_zalloc(size, err);
    if (!s) return NULL;
    s->threads = threads;
    s->grads = !!grads;
    s->keep_attention = !!keep_attention;
    rng_seed(&s->rng, seed);
    return s;
}

int run_state_fits(const run_state *s, unsigned layout) {
    return s->arena && s->layout == layout && omp_get_max_threads() <= s->scratch_threads;
}

int run_state_carve(run_state *s, void (*carve)(void *self, arena_carver *ac), void *self, unsigned layout,
                    size_t *need_bytes) {
    run_state_release(s);
    s->scratch_threads = omp_get_max_threads(); /* the kernels never run more than this on it */
    arena_carver ac = {NULL, 0};
    carve(self, &ac);
    if (!(s->arena = arena_start(&ac))) {
        *need_bytes = ac.used;
        return -1;
    }
    carve(self, &ac);
    s->layout = layout;
    return 0;
}

void run_state_release(run_state *s) {
    free(s->arena);
    s->arena = NULL;
}

void run_state_free(run_state *s) {
    if (!s) return;
    run_state_release(s);
    free(s->grad);
    free(s);
}

float *run_state_grads(run_state *s, size_t n, amod_error *err) {
    amod_error ignored;
    if (!s->grads) {
        amod_fail(err ? err : &ignored, "this context keeps no gradients (create it with grads set)");
        return NULL;
    }
    if (s->grad && s->grad_n == n) return s->grad;
    free(s->grad);
    s->grad_n = 0;
    if (!(s->grad = amod_zalloc((n ? n : 1) * sizeof *s->grad, err ? err : &ignored))) return NULL;
    s->grad_n = n;
    return s->grad;
}

void run_state_set_grads(run_state *s, int grads) {
    if (s->grads != !!grads) run_state_release(s);
    s->grads = !!grads;
    if (!grads) { /* inference needs none: give the memory back */
        free(s->grad);
        s->grad = NULL, s->grad_n = 0;
    }
}

void run_state_set_keep_attention(run_state *s, int keep) {
    if (s->keep_attention != !!keep) run_state_release(s);
    s->keep_attention = !!keep;
}

void resid_grads_take(resid_grads *g, arena_carver *ac, size_t rows, int D) {
    float **slot[] = {&g->d_a, &g->d_b, &g->d_dy, &g->d_x2, &g->d_ln};
    for (size_t i = 0; i < sizeof slot / sizeof *slot; i++) *slot[i] = arena_take(ac, rows * D);
}
