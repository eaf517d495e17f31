#include "data/rng.h"

#include <math.h>

void amod_data_rng_seed(amod_data_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = amod_splitmix64(&x);
    /* splitmix64 maps distinct counters to distinct words, so the state is never all zero. */
}

void amod_data_rng_seed4(amod_data_rng *r, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    /* Chain the words through splitmix64 so (a, b, c, d) and a permutation of it differ. */
    uint64_t x = a;
    uint64_t h = amod_splitmix64(&x);
    x = h ^ b;
    h = amod_splitmix64(&x);
    x = h ^ c;
    h = amod_splitmix64(&x);
    x = h ^ d;
    h = amod_splitmix64(&x);
    amod_data_rng_seed(r, h);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t amod_data_rng_next(amod_data_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t amod_data_rng_below(amod_data_rng *r, uint64_t n) {
    /* Reject the top partial block of 2^64 so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = amod_data_rng_next(r);
    while (v >= limit);
    return v % n;
}

float amod_data_rng_uniform(amod_data_rng *r) {
    return (float)(amod_data_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

double amod_data_rng_uniform53(amod_data_rng *r) { return (double)(amod_data_rng_next(r) >> 11) * 0x1.0p-53; }

double amod_data_rng_normal(amod_data_rng *r, double *second) {
    const double u = amod_data_rng_uniform53(r), v = amod_data_rng_uniform53(r);
    const double rad = sqrt(-2.0 * log(1.0 - u)), angle = 6.283185307179586 * v;
    if (second) *second = rad * sin(angle);
    return rad * cos(angle);
}

void amod_data_rng_shuffle(amod_data_rng *r, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)amod_data_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
