/* No thread is started per matrix product. A product too small to split runs inside a
 * parallel region that its `if` clause left to one thread; oneDNN saw no active region there,
 * opened a nested team of its own, and libgomp started and ended a thread for it on every
 * call: at batch 1 that was the classifier head's product, once per image, and the thread's
 * start cost the step whole 4 ms scheduler ticks on the project's VM (a median of 8.0 ms
 * where 5.1 ms were due). pthread_create is wrapped here to count the threads started. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "test_support.h"

static int started;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    return real(t, attr, fn, arg);
}

static float *filled(size_t n, int seed) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(((i + 1) * (size_t)(2 * seed + 7)) % 97) / 48.0f - 1.0f;
    return p;
}

/* out = in w^T + b with rows x n_in x n_out, against a plain loop. */
static double product_err(int rows, int n_in, int n_out) {
    float *in = filled((size_t)rows * n_in, 1), *w = filled((size_t)n_out * n_in, 2), *b = filled((size_t)n_out, 3);
    float *out = malloc((size_t)rows * n_out * sizeof *out);
    linear_forward(out, in, w, b, rows, n_in, n_out);
    double worst = 0, scale = 0;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < n_out; o++) {
            double s = b[o];
            for (int i = 0; i < n_in; i++) s += (double)in[(size_t)r * n_in + i] * w[(size_t)o * n_in + i];
            worst = fmax(worst, fabs(s - out[(size_t)r * n_out + o]));
            scale = fmax(scale, fabs(s));
        }
    free(in), free(w), free(b), free(out);
    return worst / scale;
}

int main(void) {
    amod_threads_init(2);
    /* the team of two and the library's own start-up threads, once */
    CHECK(product_err(512, 192, 768) < 1e-5, "a large product is wrong");
    CHECK(product_err(1, 192, 1000) < 1e-5, "the head's product at batch 1 is wrong");
    const int before = __atomic_load_n(&started, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 20; i++) {
        CHECK(product_err(1, 192, 1000) < 1e-5, "the head's product at batch 1 is wrong");   /* region left to one thread */
        CHECK(product_err(25, 192, 768) < 1e-5, "a MoD layer's product at batch 1 is wrong"); /* split over two */
        CHECK(product_err(512, 192, 768) < 1e-5, "a large product is wrong");
    }
    const int during = __atomic_load_n(&started, __ATOMIC_SEQ_CST) - before;
    char path[256];
    amod_gemm_describe(path, sizeof path);
    CHECK(during == 0, "%d threads were started during 60 products on %s; the library must run inside amod's threads",
          during, path);
    return test_summary("gemm_threads");
}
