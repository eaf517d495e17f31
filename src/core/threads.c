#include "core/threads.h"

#include <omp.h>

#include "kernels/gemm.h"

static int initialised = 0;

void amod_threads_init(int n) {
    amod_gemm_setup(NULL); /* the product path, and OpenBLAS single-threaded */
    if (n > 0) omp_set_num_threads(n);
    initialised = 1;
}

int amod_threads_count(void) {
    if (!initialised) amod_threads_init(0);
    return omp_get_max_threads();
}
