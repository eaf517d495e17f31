/* AdamW for the benchmark's training step: the same memory traffic as training's optimizer
 * (read p, g, m, v; write p, m, v). TODO(train): call the trainer's AdamW once it lands. */
#include "cli/bench_optim.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

struct bench_optimizer {
    float *m, *v;
    size_t n;
    int step;
};

bench_optimizer *bench_optimizer_new(amod_vit *model, amod_error *err) {
    bench_optimizer *o = amod_zalloc(sizeof *o, err);
    if (!o) return NULL;
    o->n = amod_vit_num_params(model);
    o->m = amod_zalloc(o->n * sizeof(float), err);
    o->v = amod_zalloc(o->n * sizeof(float), err);
    if (!o->m || !o->v) {
        bench_optimizer_free(o);
        return NULL;
    }
    return o;
}

void bench_optimizer_step(bench_optimizer *o, amod_vit *model) {
    const float lr = 1e-4f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.05f;
    float *p = amod_vit_params(model), *g = amod_vit_grads(model);
    o->step++;
    const float c1 = 1.0f / (1.0f - powf(b1, (float)o->step)), c2 = 1.0f / (1.0f - powf(b2, (float)o->step));
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < o->n; i++) {
        o->m[i] = b1 * o->m[i] + (1.0f - b1) * g[i];
        o->v[i] = b2 * o->v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr * (wd * p[i] + (o->m[i] * c1) / (sqrtf(o->v[i] * c2) + eps));
    }
}

void bench_optimizer_free(bench_optimizer *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o);
}
