/* Branch-free exp and erf that the compiler vectorises (the libm calls it cannot): GELU
 * and softmax spent a third of a forward pass in scalar erff/expf. */
#ifndef AMOD_KERNELS_FASTMATH_H
#define AMOD_KERNELS_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* e^x: Cephes' expf (range reduction by ln 2, degree-6 polynomial), relative error < 2e-7. */
static inline float amod_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x); /* not fminf: a libm call without -ffast-math */
    /* round to nearest by adding and removing 1.5 * 2^23: floorf would stop vectorisation */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* NaN passes the clamp and stays in p; keep the exponent arithmetic defined */
    if (n != n) n = 0.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* erf: Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7 (the form PyTorch's vectorised
 * CPU kernels use). amod_erff_exp takes e = exp(-x^2) from a caller that has it already
 * (GELU's backward: its Gaussian density is the same exponential). */
static inline float amod_erff_exp(float x, float e) {
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * e;
    return copysignf(y, x);
}

static inline float amod_erff(float x) { return amod_erff_exp(x, amod_expf(-x * x)); }

/* x[0..n) replaced by its softmax, in place, on the vector units (n >= 1). */
static inline void amod_softmax(float *x, int n) {
    float mx = x[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < n; j++) mx = x[j] > mx ? x[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; j++) {
        x[j] = amod_expf(x[j] - mx);
        sum += x[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < n; j++) x[j] *= inv;
}

#endif
