#include "core/threads.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int initialised = 0;

/* An OPENBLAS_CORETYPE inherited from the environment (this machine's images set Haswell)
 * pins OpenBLAS to slower kernels than the CPU has: on an AVX-512 core it halves sgemm
 * speed. Debian's OpenBLAS is built with DYNAMIC_ARCH and exports its core selection, so
 * amod asks it to detect the core again with the variable hidden, then puts the variable
 * back for child processes. AMOD_RESPECT_OPENBLAS_CORETYPE=1 keeps the pinned core; builds
 * without DYNAMIC_ARCH lack the symbols and are left alone. */
static void redetect_openblas_core(void) {
    const char *pinned = getenv("OPENBLAS_CORETYPE");
    const char *respect = getenv("AMOD_RESPECT_OPENBLAS_CORETYPE");
    if (!pinned || (respect && strcmp(respect, "0"))) return;
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (!quit || !init) return;
    char *saved = strdup(pinned);
    unsetenv("OPENBLAS_CORETYPE");
    quit();
    init();
    if (saved) setenv("OPENBLAS_CORETYPE", saved, 1);
    free(saved);
}

void amod_threads_init(int n) {
    if (!initialised) redetect_openblas_core();
    openblas_set_num_threads(1);
    if (n > 0) omp_set_num_threads(n);
    initialised = 1;
}

int amod_threads_count(void) {
    if (!initialised) amod_threads_init(0);
    return omp_get_max_threads();
}

const char *amod_blas_core(void) {
    if (!initialised) amod_threads_init(0);
    return openblas_get_corename();
}
