/* What every run context has, whatever the model: its limits and thread count, the one
 * arena its activations and scratch are carved from, the layout and thread count that arena
 * was carved for, and its own random stream. A context embeds it as its first member. */
#ifndef AMOD_MODEL_RUN_STATE_H
#define AMOD_MODEL_RUN_STATE_H

#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/rng.h"

typedef struct {
    int threads;        /* OpenMP threads for its passes; 0: the calling thread's */
    int grads;          /* keeps what backward needs and gradient scratch */
    int keep_attention; /* keeps the dense layers' attention maps */
    void *arena;
    unsigned layout;     /* the model's layout counter the arena was carved for */
    int scratch_threads; /* the thread count its per-thread scratch was carved for */
    amod_rng rng;
    float *grad;  /* the context's gradients, laid out like the model's parameters (grads only) */
    size_t grad_n;
} run_state;

/* The backward pass's residual-stream buffers, [rows, D] each: the gradient flowing down
 * (two, swapped every layer), the block output's gradient, the block's working copy of it,
 * and a normalisation's input gradient. */
typedef struct {
    float *d_a, *d_b, *d_dy, *d_x2, *d_ln;
} resid_grads;
void resid_grads_take(resid_grads *g, arena_carver *ac, size_t rows, int D);

/* Allocates a zeroed context of `size` bytes whose first member is a run_state, and fills
 * that from the limits; NULL with err set when threads < 0 or out of memory. */
void *run_state_create(size_t size, int threads, int grads, int keep_attention, uint64_t seed, amod_error *err);

/* The arena is there and still right: carved for this layout and for at least the threads
 * OpenMP would run now (raising the count after carving means carving again, never an
 * overrun). The caller adds its own size checks. */
int run_state_fits(const run_state *s, unsigned layout);

/* Carves the arena again with carve(self, ac), once to measure and once to assign, for
 * `layout` and the current thread count. -1 when out of memory, with *need_bytes set. */
int run_state_carve(run_state *s, void (*carve)(void *self, arena_carver *ac), void *self, unsigned layout,
                    size_t *need_bytes);

/* The gradient buffer for a model of n parameters: made zeroed on first use and again when
 * the model's layout changed its size (routers added); NULL without gradients or memory
 * (err, which may be NULL, says which). Kept apart from the arena: gradients may accumulate
 * over passes whatever their batch sizes. */
float *run_state_grads(run_state *s, size_t n, amod_error *err);

/* Frees the arena (the context must carve again before its next pass). */
void run_state_release(run_state *s);
/* Frees a context made by run_state_create, arena and all (NULL is fine). */
void run_state_free(run_state *s);

/* Changes a limit of the model's own context; the arena is carved anew at its next pass. */
void run_state_set_grads(run_state *s, int grads);
void run_state_set_keep_attention(run_state *s, int keep);

#endif
