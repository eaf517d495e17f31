#include "model/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

int adamw_init(adamw_state *s, size_t n, amod_error *err) {
    s->m = amod_zalloc(n * sizeof(float), err);
    s->v = amod_zalloc(n * sizeof(float), err);
    s->n = n;
    s->t = 0;
    if (!s->m || !s->v) {
        adamw_free(s);
        return -1;
    }
    return 0;
}

void adamw_free(adamw_state *s) {
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

void adamw_begin_step(adamw_state *s) { s->t++; }

void adamw_update(adamw_state *s, float *p, const float *g, size_t lo, size_t hi, const adamw_config *c, int decay) {
    const float b1 = c->beta1, b2 = c->beta2;
    const float c1 = 1.0f - powf(b1, (float)s->t), c2 = 1.0f - powf(b2, (float)s->t);
    const float shrink = decay ? 1.0f - c->lr * c->weight_decay : 1.0f;
#pragma omp parallel for schedule(static)
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        s->m[i] = b1 * s->m[i] + (1.0f - b1) * gi;
        s->v[i] = b2 * s->v[i] + (1.0f - b2) * gi * gi;
        float mh = s->m[i] / c1, vh = s->v[i] / c2;
        p[i] = p[i] * shrink - c->lr * mh / (sqrtf(vh) + c->eps);
    }
}

double clip_grad_norm(float *g, size_t lo, size_t hi, double max_norm) {
    double ss = 0.0;
    for (size_t i = lo; i < hi; i++) ss += (double)g[i] * g[i];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (size_t i = lo; i < hi; i++) g[i] *= s;
    }
    return norm;
}

float lr_schedule(long step, long total, long warmup, float peak, float min_ratio) {
    if (warmup > 0 && step < warmup) return peak * (float)(step + 1) / (float)warmup;
    double span = total > warmup ? (double)(total - warmup) : 1.0;
    double prog = (double)(step - warmup) / span;
    if (prog > 1.0) prog = 1.0;
    double cosine = 0.5 * (1.0 + cos(3.141592653589793 * prog));
    return (float)(peak * (min_ratio + (1.0 - min_ratio) * cosine));
}
