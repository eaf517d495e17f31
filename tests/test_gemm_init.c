/* The explicit initialisation (issue 15): run with AMOD_GEMM=openblas and an inherited
 * OPENBLAS_CORETYPE=Haswell (tests/CMakeLists.txt sets both). A product before amod_init
 * chooses the path without touching the environment or OpenBLAS's core, and says so when the
 * CPU could do better; amod_init then selects the core from the CPU's features and puts the
 * variable back as it was. */
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "kernels/gemm.h"
#include "test_support.h"

int main(void) {
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (!env || strcmp(env, "Haswell") || !getenv("AMOD_GEMM")) {
        printf("test_gemm_init: run it under ctest (it sets AMOD_GEMM=openblas OPENBLAS_CORETYPE=Haswell)\n");
        return test_summary("test_gemm_init");
    }
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4];
    amod_sgemm(0, 1, 2, 2, 3, 1.0f, a, 3, b, 3, 0.0f, c, 2); /* the first use: lazy */
    const amod_gemm_plan *p = amod_gemm_active();
    CHECK(p->backend == AMOD_GEMM_OPENBLAS, "AMOD_GEMM=openblas: backend %d", p->backend);
    CHECK(c[0] == 1 && c[1] == 6 && c[2] == 4 && c[3] == 15, "product %g %g %g %g", c[0], c[1], c[2], c[3]);
    CHECK(!strcmp(getenv("OPENBLAS_CORETYPE"), "Haswell"), "the first use changed OPENBLAS_CORETYPE");
    const int better = strncmp(p->cpu_best, "avx512", 6) == 0; /* this CPU allows more than Haswell's kernels */
    CHECK(!strcmp(p->openblas_core, "Haswell"), "before amod_init OpenBLAS keeps its core, got %s", p->openblas_core);
    if (better)
        CHECK(amod_gemm_warning() && strstr(amod_gemm_warning(), "call amod_init()"), "no warning: %s",
              amod_gemm_warning() ? amod_gemm_warning() : "(none)");
    amod_error err;
    CHECK(amod_init(&err) == 0, "amod_init: %s", err.msg);
    CHECK(!strcmp(getenv("OPENBLAS_CORETYPE"), "Haswell"), "amod_init did not put OPENBLAS_CORETYPE back");
    if (better) {
        CHECK(strcmp(p->openblas_core, "Haswell") != 0, "amod_init kept the Haswell core on a CPU with %s", p->cpu_best);
        CHECK(amod_gemm_warning() == NULL, "a warning after amod_init: %s", amod_gemm_warning());
    }
    amod_sgemm(0, 1, 2, 2, 3, 1.0f, a, 3, b, 3, 0.0f, c, 2);
    CHECK(c[0] == 1 && c[1] == 6 && c[2] == 4 && c[3] == 15, "product after amod_init");
    return test_summary("test_gemm_init");
}
