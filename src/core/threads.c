#include "core/threads.h"

#include <omp.h>

#include "core/signals.h"
#include "kernels/gemm.h"

static int initialised = 0;

int amod_cores(void) { return omp_get_num_procs(); }

int amod_threads_push(int n) {
    const int before = omp_get_max_threads();
    if (n > 0) omp_set_num_threads(n < amod_threads_max() ? n : amod_threads_max());
    amod_signals_hold_workers(); /* a larger team's new workers too */
    return before;
}

void amod_threads_pop(int before) { omp_set_num_threads(before); }

int amod_threads_max(void) { return 4 * amod_cores(); }

void amod_threads_init(int n) {
    amod_gemm_active(); /* the product path (chosen on first use), OpenBLAS single-threaded */
    if (n > amod_threads_max()) n = amod_threads_max();
    if (n > 0) omp_set_num_threads(n);
    else if (omp_get_max_threads() > amod_threads_max()) omp_set_num_threads(amod_threads_max());
    amod_signals_hold_workers();
    initialised = 1;
}

int amod_threads_count(void) {
    if (!initialised) amod_threads_init(0);
    return omp_get_max_threads();
}
