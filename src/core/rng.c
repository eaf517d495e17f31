#include "core/rng.h"

#include <math.h>

void rng_seed(amod_rng *r, uint64_t seed) { r->state = seed ^ 0x9E3779B97F4A7C15ull; }

uint64_t amod_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t rng_next(amod_rng *r) { return amod_splitmix64(&r->state); }

float rng_uniform(amod_rng *r) { return (float)((rng_next(r) >> 40) * (1.0 / 16777216.0)); }

float rng_normal(amod_rng *r) {
    double u1 = ((rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float rng_trunc_normal(amod_rng *r, float std) {
    for (;;) {
        float z = rng_normal(r) * std;
        if (z >= -2.0f && z <= 2.0f) return z;
    }
}
