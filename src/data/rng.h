/* A small deterministic PRNG for data handling: xoshiro256** seeded through splitmix64.
 * Separate from core/rng.h's generator for initialisation because the data stream is
 * counter-based (seed4: a sample's draws do not depend on what was drawn before it) and its
 * state is checkpointed for an exact --resume.
 * Defined bit for bit here (no libc rand), so a seed gives the same shuffles and
 * augmentations on every machine. The state is a plain struct: copy it to checkpoint. */
#ifndef AMOD_DATA_RNG_H
#define AMOD_DATA_RNG_H

#include <stdint.h>

#include "core/rng.h" /* amod_splitmix64 */

typedef struct amod_data_rng {
    uint64_t s[4];
} amod_data_rng;

void amod_data_rng_seed(amod_data_rng *r, uint64_t seed);
/* Seeds from several words (e.g. seed, stream, epoch, index): a counter-based stream, so a
 * sample's randomness does not depend on what was drawn before it. */
void amod_data_rng_seed4(amod_data_rng *r, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
uint64_t amod_data_rng_next(amod_data_rng *r);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t amod_data_rng_below(amod_data_rng *r, uint64_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float amod_data_rng_uniform(amod_data_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double amod_data_rng_uniform53(amod_data_rng *r);
/* A standard normal draw from two uniform ones (Box-Muller); *second (when not NULL) gets the
 * pair's other, independent value. */
double amod_data_rng_normal(amod_data_rng *r, double *second);
/* Fisher-Yates shuffle of idx[0..n). */
void amod_data_rng_shuffle(amod_data_rng *r, int64_t *idx, int64_t n);

#endif
