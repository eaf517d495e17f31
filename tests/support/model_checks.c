#include "model_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

double ref_compare(const char *what, const float *got, const st_file *ref, const char *name, size_t n, double tol,
                   int zero_grads) {
    const st_tensor *t = st_find(ref, name);
    CHECK(t != NULL, "%s: reference has no '%s'", what, name);
    if (!t) return 1e9;
    CHECK(t->numel == n, "%s: '%s' has %zu values, amod gives %zu", what, name, t->numel, n);
    if (t->numel != n) return 1e9;
    float *want = malloc(n * sizeof *want);
    st_read_f32(ref, t, want);
    double e = rel_max_err(got, want, n);
    if (zero_grads && !strncmp(name, "grad.", 5)) {
        /* A gradient that is zero in exact arithmetic (the key bias: softmax ignores a constant
         * added to a query's scores) holds float noise on both sides, ~1e-9 against ~1e-2 for
         * real gradients: compare it in absolute terms instead. */
        double ref_max = 0, got_max = 0;
        for (size_t i = 0; i < n; i++) {
            if (fabs(want[i]) > ref_max) ref_max = fabs(want[i]);
            if (fabs(got[i]) > got_max) got_max = fabs(got[i]);
        }
        if (ref_max < 1e-7) {
            CHECK(got_max < 1e-6, "%s: '%s' should be zero, amod gives %.3g", what, name, got_max);
            free(want);
            return 0.0;
        }
    }
    free(want);
    CHECK(e <= tol, "%s: '%s' relative max error %.3g > %.0e", what, name, e, tol);
    return e;
}

int ref_grad_count(const st_file *ref) {
    int n = 0;
    for (int i = 0; i < ref->n; i++) n += !strncmp(ref->tensors[i].name, "grad.", 5);
    return n;
}

size_t shape_numel(int nd, const int64_t *shape) {
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= (size_t)shape[d];
    return n;
}

double abs_max(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* Records the routing (save), or compares it with the record: 0 when it differs. */
static int routes(fd_check *c, int save) {
    size_t off = 0;
    for (int l = 0; l < c->layers; l++) {
        int k;
        const int32_t *idx = c->routed(c->ctx, l, &k);
        if (!idx) continue;
        size_t n = (size_t)k * c->batch;
        if (save) memcpy(c->saved + off, idx, n * sizeof *idx);
        else if (memcmp(c->saved + off, idx, n * sizeof *idx)) return 0;
        off += n;
    }
    return 1;
}

void fd_save_routes(fd_check *c) {
    size_t n = 1;
    for (int l = 0; l < c->layers; l++) {
        int k;
        if (c->routed(c->ctx, l, &k)) n += (size_t)k * c->batch;
    }
    free(c->saved);
    c->saved = malloc(n * sizeof *c->saved);
    routes(c, 1);
}

void fd_probe(fd_check *c, float *p, size_t i, float h, double g, double gmax, const char *name, size_t index) {
    const float keep = p[i];
    p[i] = keep + h;
    double lp = c->objective(c->ctx);
    int ok = routes(c, 0);
    p[i] = keep - h;
    double lm = c->objective(c->ctx);
    ok = ok && routes(c, 0);
    p[i] = keep;
    if (!ok) return; /* the top-k choice flipped: not differentiable here */
    double fd = (lp - lm) / (2.0 * h);
    double scale = fmax(fmax(gmax, fabs(fd)), 1e-2);
    double e = fabs(fd - g) / scale;
    if (e > c->worst) c->worst = e;
    c->checked++;
    CHECK(e < 3e-2, "%s: %s[%zu] analytic %.5g vs numeric %.5g", c->label, name, index, g, fd);
}

void fd_free(fd_check *c) {
    free(c->saved);
    c->saved = NULL;
}
