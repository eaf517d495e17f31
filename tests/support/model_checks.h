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

/* The number of values of a tensor of nd dimensions. */
size_t shape_numel(int nd, const int64_t *shape);
/* max |x[i]| */
double abs_max(const float *x, size_t n);

/* One gradient check of a model with `layers` layers on a batch of `batch`: the objective
 * the analytic gradient belongs to, and the tokens each layer routed in the last forward
 * pass ([batch, *k]; NULL for a dense layer). */
typedef struct {
    const char *label;
    void *ctx;
    double (*objective)(void *ctx);
    const int32_t *(*routed)(void *ctx, int layer, int *k);
    int layers, batch;
    int32_t *saved; /* the routing the gradient was taken with (fd_save_routes) */
    double worst;   /* largest error so far */
    int checked;    /* entries compared so far */
} fd_check;

/* Records the routing of the last forward pass: the one the analytic gradient belongs to. */
void fd_save_routes(fd_check *c);
/* Compares the analytic gradient g of entry p[i] with the central difference of step h and
 * CHECKs that the error, relative to max(gmax, |numeric|, 1e-2), is below 3e-2. An entry
 * whose step changes the routing is skipped (not differentiable there). name[index] names
 * the entry in a failure. */
void fd_probe(fd_check *c, float *p, size_t i, float h, double g, double gmax, const char *name, size_t index);
void fd_free(fd_check *c);

#endif
