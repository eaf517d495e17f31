/* Rotary position embedding, Llama's rotate_half layout: the two halves of a head are the
 * real and imaginary parts. Angles come from a table computed once per model. */
#include <math.h>

#include "kernels/lm_kernels.h"

void rope_tables(float *cos_t, float *sin_t, int n_pos, int hd, float theta) {
    const int half = hd / 2;
    for (int i = 0; i < half; i++) {
        /* transformers rounds inv_freq and the angle to float32; so do we */
        float inv = (float)(1.0 / pow((double)theta, (double)(2 * i) / hd));
        for (int p = 0; p < n_pos; p++) {
            float ang = (float)p * inv;
            cos_t[(size_t)p * half + i] = (float)cos((double)ang);
            sin_t[(size_t)p * half + i] = (float)sin((double)ang);
        }
    }
}

void rope_apply(float *x, int ld, int rows, int nh, int hd, const int32_t *pos, const float *cos_t,
                const float *sin_t, int inverse) {
    const int half = hd / 2;
    const float sgn = inverse ? -1.0f : 1.0f;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *c = cos_t + (size_t)pos[r] * half, *s = sin_t + (size_t)pos[r] * half;
        for (int h = 0; h < nh; h++) {
            float *v = x + (size_t)r * ld + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], si = sgn * s[i];
                v[i] = a * c[i] - b * si;
                v[i + half] = b * c[i] + a * si;
            }
        }
    }
}
