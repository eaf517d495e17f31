/* A small, portable, seedable PRNG (splitmix64) so runs reproduce across machines. */
#ifndef AMOD_CORE_RNG_H
#define AMOD_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} amod_rng;

/* One step of splitmix64: advances *x and returns a well-mixed 64-bit value. Also the seeding
 * step of the data pipeline's xoshiro256** (data/rng.h). */
uint64_t amod_splitmix64(uint64_t *x);

void rng_seed(amod_rng *r, uint64_t seed);
uint64_t rng_next(amod_rng *r);
/* Uniform in [0, 1). */
float rng_uniform(amod_rng *r);
/* Standard normal (Box-Muller). */
float rng_normal(amod_rng *r);
/* Normal with std, redrawn until within [-2 std, 2 std] (timm's trunc_normal_ bounds at +-2). */
float rng_trunc_normal(amod_rng *r, float std);

#endif
