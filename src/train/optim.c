#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

void amod_adamw_config_default(amod_adamw_config *cfg) {
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
    cfg->weight_decay = 0.05f;
}

int amod_param_decays(const char *name, int ndim) {
    if (ndim <= 1) return 0;
    return strcmp(name, "cls_token") && strcmp(name, "pos_embed");
}

void amod_adamw_span_set(amod_adamw_span *s, const char *name, int ndim, const int64_t *shape, size_t offset,
                         int decay) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    for (int d = 0; d < ndim && d < 4; d++) s->shape[d] = shape[d];
    s->offset = offset;
    s->decay = decay;
}

int amod_adamw_init(amod_adamw *o, const amod_adamw_span *spans, int n_spans, const amod_adamw_config *cfg,
                    amod_error *err) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    if (n_spans < 0) return amod_fail(err, "AdamW: %d tensors", n_spans);
    o->spans = amod_zalloc((size_t)(n_spans ? n_spans : 1) * sizeof *o->spans, err);
    if (!o->spans) return -1;
    o->n_spans = n_spans;
    for (int i = 0; i < n_spans; i++) {
        amod_adamw_span *sp = &o->spans[i];
        *sp = spans[i];
        if (sp->ndim < 1 || sp->ndim > 4) {
            amod_adamw_free(o);
            return amod_fail(err, "AdamW: tensor %s has %d dimensions", spans[i].name, spans[i].ndim);
        }
        sp->numel = 1;
        for (int d = 0; d < sp->ndim; d++) sp->numel *= (size_t)sp->shape[d];
        sp->state = o->n;
        o->n += sp->numel;
    }
    o->m = amod_zalloc((o->n ? o->n : 1) * sizeof *o->m, err);
    o->v = amod_zalloc((o->n ? o->n : 1) * sizeof *o->v, err);
    if (!o->m || !o->v) {
        amod_adamw_free(o);
        return -1;
    }
    return 0;
}

int amod_adamw_init_vit_some(amod_adamw *o, const amod_vit *model, const amod_adamw_config *cfg,
                             int (*takes)(const char *name, void *ctx), void *ctx, amod_error *err) {
    int n = amod_vit_num_tensors(model), k = 0;
    amod_adamw_span *spans = amod_zalloc((size_t)(n ? n : 1) * sizeof *spans, err);
    if (!spans) return -1;
    for (int i = 0; i < n; i++) {
        int64_t shape[4];
        int nd = amod_vit_tensor_shape(model, i, shape);
        const char *name = amod_vit_tensor_name(model, i);
        if (takes && !takes(name, ctx)) continue;
        amod_adamw_span_set(&spans[k++], name, nd, shape, amod_vit_tensor_offset(model, i), amod_param_decays(name, nd));
    }
    int rc = amod_adamw_init(o, spans, k, cfg, err);
    free(spans);
    return rc;
}

int amod_adamw_init_vit(amod_adamw *o, const amod_vit *model, const amod_adamw_config *cfg, amod_error *err) {
    return amod_adamw_init_vit_some(o, model, cfg, NULL, NULL, err);
}

void amod_adamw_free(amod_adamw *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->spans);
    memset(o, 0, sizeof *o);
}

void amod_adamw_step(amod_adamw *o, float *params, const float *grads, float lr) {
    amod_adamw_step_scaled(o, params, grads, 1.0f, lr);
}

void amod_adamw_step_scaled(amod_adamw *o, float *params, const float *grads, float grad_scale, float lr) {
    o->step++;
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    /* Scalars in double, as PyTorch computes them in Python floats; tensors in float. */
    const double bc1 = 1.0 - pow((double)b1, (double)o->step);
    const double bc2 = 1.0 - pow((double)b2, (double)o->step);
    const float step_size = (float)((double)lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay = 1.0f - lr * o->cfg.weight_decay;
    /* One parallel region; each tensor's elements are split statically among the threads. */
#pragma omp parallel
    for (int s = 0; s < o->n_spans; s++) {
        const amod_adamw_span *sp = &o->spans[s];
        float *p = params + sp->offset, *m = o->m + sp->state, *v = o->v + sp->state;
        const float *g = grads + sp->offset;
        const float d = sp->decay ? decay : 1.0f;
#pragma omp for simd schedule(static) nowait
        for (size_t i = 0; i < sp->numel; i++) {
            float gi = g[i] * grad_scale; /* exact when 1 */
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float denom = sqrtf(v[i]) / bc2_sqrt + eps;
            p[i] = p[i] * d - step_size * m[i] / denom;
        }
    }
}

#define NORM_CHUNKS 256

double amod_grad_norm(const float *g, size_t n) {
    double part[NORM_CHUNKS];
    size_t chunk = (n + NORM_CHUNKS - 1) / NORM_CHUNKS;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        /* in vector lanes: a fixed order for a given build, and not one add's latency per element */
#pragma omp simd reduction(+ : s)
        for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0.0;
    for (int c = 0; c < NORM_CHUNKS; c++) total += part[c];
    return sqrt(total);
}

float amod_clip_coef(double norm, double max_norm) {
    if (!isfinite(norm) || !(max_norm > 0.0)) return 1.0f;
    const double coef = max_norm / (norm + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

double amod_clip_grad_norm(float *g, size_t n, double max_norm) {
    const double norm = amod_grad_norm(g, n);
    const float c = amod_clip_coef(norm, max_norm);
    if (c != 1.0f) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) g[i] *= c;
    }
    return norm;
}

int amod_adamw_save(const amod_adamw *o, const char *path, amod_error *err) {
    st_writer w = {0};
    char name[160];
    int rc = 0;
    for (int i = 0; i < o->n_spans && !rc; i++) {
        const amod_adamw_span *sp = &o->spans[i];
        snprintf(name, sizeof name, "exp_avg.%s", sp->name);
        rc = st_writer_add_f32(&w, name, sp->ndim, sp->shape, o->m + sp->state, err);
        snprintf(name, sizeof name, "exp_avg_sq.%s", sp->name);
        if (!rc) rc = st_writer_add_f32(&w, name, sp->ndim, sp->shape, o->v + sp->state, err);
    }
    const int64_t one = 1;
    if (!rc) rc = st_writer_add(&w, "step", ST_I64, 1, &one, &o->step, err);
    if (!rc) rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    return rc;
}

int amod_adamw_load(amod_adamw *o, const char *path, amod_error *err) {
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = 0;
    if (f.n != 2 * o->n_spans + 1)
        rc = amod_fail(err, "%s: %d tensors, expected %d for this model (exp_avg and exp_avg_sq per parameter, "
                            "and step)", path, f.n, 2 * o->n_spans + 1);
    char name[160];
    for (int i = 0; i < o->n_spans && !rc; i++) {
        const amod_adamw_span *sp = &o->spans[i];
        for (int which = 0; which < 2 && !rc; which++) {
            snprintf(name, sizeof name, "%s.%s", which ? "exp_avg_sq" : "exp_avg", sp->name);
            const st_tensor *t = st_expect(&f, name, sp->ndim, sp->shape, err);
            if (!t) rc = -1;
            else st_read_f32(&f, t, (which ? o->v : o->m) + sp->state);
        }
    }
    const st_tensor *t = rc ? NULL : st_find(&f, "step");
    int64_t step = 0;
    if (!rc && (!t || t->numel != 1)) rc = amod_fail(err, "%s: needs 'step', one integer", path);
    if (!rc && st_read_i64(&f, t, &step, err)) rc = -1;
    if (!rc && step < 0) rc = amod_fail(err, "%s: negative step %lld", path, (long long)step);
    st_close(&f);
    if (!rc) o->step = step;
    return rc;
}
