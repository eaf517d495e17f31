/* Checks shared by the model tests: comparison with a PyTorch reference file (the parity
 * tests) and central finite differences against the analytic gradient (the gradchecks). */
#ifndef AMOD_TEST_MODEL_CHECKS_H
#define AMOD_TEST_MODEL_CHECKS_H

#include <stddef.h>

#include "io/safetensors.h"

/* CHECKs got [n] against the reference tensor `name` (what: the case, for messages): it must
 * be there, hold n values and agree within relative max error tol. With zero_grads, a
 * gradient (grad.*) that is zero in exact arithmetic (every reference value below 1e-7) is
 * float noise on both sides and must only be small (below 1e-6) instead. Returns the error,
 * 1e9 when there was nothing to compare. */
double ref_compare(const char *what, const float *got, const st_file *ref, const char *name, size_t n, double tol,
                   int zero_grads);
/* The number of gradients (grad.*) the reference holds. */
int ref_grad_count(const st_file *ref);

/* One gradient check: the objective the analytic gradient belongs to, and whether the
 * routing (top-k choices) is still the one the gradient was taken with. */
typedef struct {
    const char *label;
    double (*objective)(void *ctx);
    int (*same_routes)(void *ctx);
    void *ctx;
    double worst; /* largest error so far */
    int checked;  /* entries compared so far */
} fd_check;

/* Compares the analytic gradient g of entry p[i] with the central difference of step h and
 * CHECKs that the error, relative to max(gmax, |numeric|, 1e-2), is below 3e-2. An entry
 * whose step changes the routing is skipped (not differentiable there). name[index] names
 * the entry in a failure. */
void fd_probe(fd_check *c, float *p, size_t i, float h, double g, double gmax, const char *name, size_t index);
/* Records (save) or compares with the record the n routed token indices of one layer;
 * *off walks the record. Returns 0 when the comparison fails. */
int route_record(int32_t *saved, size_t *off, const int32_t *idx, size_t n, int save);

#endif
