/* Named tensors in one contiguous parameter buffer: layout, lookup, safetensors I/O. */
#include "model/param_table.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ptab_add(param_table *t, const char *name, int router, int ndim, int64_t d0, int64_t d1, int64_t d2,
              int64_t d3) {
    param_tensor *p = &t->tensors[t->n_tensors++];
    const int64_t dims[4] = {d0, d1, d2, d3};
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = dims[i];
        p->numel *= (size_t)dims[i];
    }
    p->offset = t->n_params;
    p->router = router;
    t->n_params += p->numel;
}

int ptab_build(param_table *t, int cap, void (*enumerate)(void *model), void *model, amod_error *err) {
    const param_table old = *t;
    t->tensors = amod_zalloc((size_t)cap * sizeof *t->tensors, err);
    if (!t->tensors) {
        *t = old;
        return -1;
    }
    t->n_tensors = 0;
    t->n_params = 0;
    enumerate(model);
    t->params = amod_zalloc(t->n_params * sizeof(float), err);
    if (!t->params) {
        free(t->tensors);
        *t = old;
        return -1;
    }
    for (int i = 0; i < old.n_tensors; i++) {
        int j = ptab_index(t, old.tensors[i].name);
        if (j >= 0)
            memcpy(t->params + t->tensors[j].offset, old.params + old.tensors[i].offset,
                   old.tensors[i].numel * sizeof(float));
    }
    free(old.tensors);
    free(old.params);
    return 0;
}

void ptab_free(param_table *t) {
    free(t->tensors);
    free(t->params);
    memset(t, 0, sizeof *t);
}

void ptab_init(param_table *t, uint64_t seed, void (*init)(void *model, const param_tensor *p, float *v, amod_rng *r),
               void *model) {
    amod_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < t->n_tensors; i++) init(model, &t->tensors[i], t->params + t->tensors[i].offset, &r);
}

int ptab_index(const param_table *t, const char *name) {
    for (int i = 0; i < t->n_tensors; i++)
        if (!strcmp(t->tensors[i].name, name)) return i;
    return -1;
}

float *ptab_find(param_table *t, const char *fmt, ...) {
    char name[sizeof t->tensors[0].name + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int i = n < 0 || (size_t)n >= sizeof name ? -1 : ptab_index(t, name);
    return i < 0 ? NULL : t->params + t->tensors[i].offset;
}

float *ptab_grad(const param_table *t, float *grads, const float *p) { return p && grads ? grads + (p - t->params) : NULL; }

const param_tensor *ptab_tensor(const param_table *t, int i) {
    return i >= 0 && i < t->n_tensors ? &t->tensors[i] : NULL;
}

const char *ptab_name(const param_table *t, int i) { return i >= 0 && i < t->n_tensors ? t->tensors[i].name : NULL; }

size_t ptab_offset(const param_table *t, int i) { return i >= 0 && i < t->n_tensors ? t->tensors[i].offset : SIZE_MAX; }

int ptab_shape(const param_table *t, int i, int64_t shape[4]) {
    const param_tensor *x = ptab_tensor(t, i);
    if (!x) return -1;
    memcpy(shape, x->shape, sizeof x->shape);
    return x->ndim;
}

int ptab_is_bias(const char *name) {
    size_t len = strlen(name);
    return len > 5 && !strcmp(name + len - 5, ".bias");
}

int ptab_read(param_table *t, const st_file *f, int i, const char *name, amod_error *err) {
    const param_tensor *p = &t->tensors[i];
    const st_tensor *s = st_expect(f, name, p->ndim, p->shape, err);
    if (!s) return -1;
    st_read_f32(f, s, t->params + p->offset);
    return 0;
}

static int check_finite(const param_table *t, const char *path, amod_error *err) {
    for (int i = 0; i < t->n_tensors; i++) {
        const float *p = t->params + t->tensors[i].offset;
        for (size_t j = 0; j < t->tensors[i].numel; j++)
            if (!isfinite(p[j]))
                return amod_fail(err, "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                 t->tensors[i].name, j);
    }
    return 0;
}

int ptab_load(param_table *t, const char *dir, int (*load)(void *model, const st_file *f, int i, amod_error *err),
              void *model, amod_error *err) {
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = 0;
    for (int i = 0; i < t->n_tensors && !rc; i++) rc = load(model, &f, i, err);
    st_close(&f);
    return rc ? rc : check_finite(t, path, err);
}

int ptab_load_some(param_table *t, const char *path, amod_error *err) {
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = 0;
    for (int i = 0; i < f.n && !rc; i++) {
        int ti = ptab_index(t, f.tensors[i].name);
        rc = ti < 0 ? amod_fail(err, "%s: tensor '%s' is not a parameter of this model", path, f.tensors[i].name)
                    : ptab_read(t, &f, ti, t->tensors[ti].name, err);
    }
    st_close(&f);
    return rc ? rc : check_finite(t, path, err);
}

int ptab_save(const param_table *t, const char *dir, amod_error *err) {
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_writer w = {0};
    int rc = 0;
    for (int i = 0; i < t->n_tensors && !rc; i++) {
        const param_tensor *p = &t->tensors[i];
        rc = st_writer_add_f32(&w, p->name, p->ndim, p->shape, t->params + p->offset, err);
    }
    if (!rc) rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    return rc;
}
