/* bfloat16 as the mixed-precision paths store it: the high half of a float32, rounded to
 * nearest even, as oneDNN and PyTorch round (NaN payloads aside). */
#ifndef AMOD_KERNELS_BF16_H
#define AMOD_KERNELS_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* n floats to bfloat16, on the calling thread */
static inline void bf16_from_floats(uint16_t *dst, const float *src, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) dst[i] = bf16_round(src[i]);
}

#endif
