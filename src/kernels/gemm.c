#include "kernels/gemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amod/export.h"
#include "core/error.h"
#include "core/signals.h"

#ifdef AMOD_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

static amod_gemm_plan plan;
static char warning[448];
static int setup_rc;
static amod_error setup_err;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Debian's OpenBLAS is built with DYNAMIC_ARCH and picks its kernels from the CPU model: a
 * model newer than the library (Emerald Rapids in 0.3.21) gets the generic Prescott kernels,
 * and an inherited OPENBLAS_CORETYPE pins whatever it names. The library exports its core
 * selection, so amod selects the plan's core by setting the variable for the re-detection
 * and putting the caller's value back for child processes. Builds without DYNAMIC_ARCH lack
 * the symbols; the core they have is then reported as is. */
static void select_openblas_core(const char *core) {
    const char *now = openblas_get_corename();
    if (now && !strcasecmp(now, core)) return;
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (!quit || !init) return;
    const char *old = getenv("OPENBLAS_CORETYPE");
    char *saved = old ? strdup(old) : NULL;
    setenv("OPENBLAS_CORETYPE", core, 1);
    quit();
    init();
    if (saved) setenv("OPENBLAS_CORETYPE", saved, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    free(saved);
}

static int core_selected; /* the OpenBLAS core was set by an explicit initialisation */

/* Chooses the plan for a request and applies it: the OpenBLAS core (only when select_core: the
 * re-detection sets OPENBLAS_CORETYPE for a moment, which only an explicit initialisation may
 * do), the warning. */
static int apply(amod_gemm_request *req, int select_core, amod_error *err) {
    const amod_cpu_features *cpu = amod_cpu();
    int rc = amod_gemm_choose(cpu, req, &plan, err);
    if (rc) return rc;
    warning[0] = 0;
    openblas_set_num_threads(1); /* amod splits products over OpenMP itself */
    if (plan.backend == AMOD_GEMM_OPENBLAS) {
        if (select_core) select_openblas_core(plan.openblas_core), core_selected = 1;
        const char *got = openblas_get_corename();
        if (got && strcasecmp(got, plan.openblas_core)) {
            if (core_selected)
                snprintf(warning, sizeof warning,
                         "amod: warning: OpenBLAS runs its %s kernels, not %s (a build without DYNAMIC_ARCH?): "
                         "products are slower than this CPU allows; build amod with oneDNN (apt-get install "
                         "libdnnl-dev) for kernels chosen from the CPU's features",
                         got, plan.openblas_core);
            else
                snprintf(warning, sizeof warning,
                         "amod: warning: OpenBLAS runs its %s kernels, not the %s this CPU allows: call amod_init() "
                         "before any other amod function (the amod command does)",
                         got, plan.openblas_core);
            snprintf(plan.openblas_core, sizeof plan.openblas_core, "%s", got);
            plan.slow = 1;
        }
    }
    if (plan.slow && !warning[0]) snprintf(warning, sizeof warning, "amod: warning: %s", plan.note);
    return 0;
}

static amod_gemm_request request_from_environment(void) {
    const char *respect = getenv("AMOD_RESPECT_OPENBLAS_CORETYPE");
    amod_gemm_request req = {
        .gemm = getenv("AMOD_GEMM"),
        .coretype = getenv("OPENBLAS_CORETYPE"),
        .respect_coretype = respect && strcmp(respect, "0") != 0,
#ifdef AMOD_HAVE_ONEDNN
        .have_onednn = 1,
#endif
    };
    return req;
}

/* The first use without amod_init: the path is chosen, nothing in the environment is touched. */
static void setup_once(void) {
    amod_gemm_request req = request_from_environment();
    setup_rc = apply(&req, 0, &setup_err);
    if (setup_rc) { /* an impossible request: run the automatic path, keep the reason */
        req.gemm = NULL;
        apply(&req, 0, NULL);
        snprintf(plan.note, sizeof plan.note, "%.300s (ignored)", setup_err.msg);
    }
}

int amod_gemm_check(const char *name, amod_error *err) {
    amod_gemm_request req = request_from_environment();
    req.gemm = name;
    amod_gemm_plan tried;
    return amod_gemm_choose(amod_cpu(), &req, &tried, err);
}

int amod_gemm_select(const char *name, amod_error *err) {
    pthread_once(&once, setup_once);
    amod_gemm_request req = request_from_environment();
    req.gemm = name;
    amod_gemm_plan before = plan;
    if (apply(&req, 1, err)) {
        plan = before;
        return -1;
    }
    return 0;
}

int amod_gemm_setup(amod_error *err) {
    pthread_once(&once, setup_once);
    if (setup_rc) {
        if (err) *err = setup_err;
        return setup_rc;
    }
    if (!core_selected && plan.backend == AMOD_GEMM_OPENBLAS) { /* now the explicit part */
        amod_gemm_request req = request_from_environment();
        apply(&req, 1, NULL);
    }
    return 0;
}

const amod_gemm_plan *amod_gemm_active(void) {
    pthread_once(&once, setup_once);
    return &plan;
}

const char *amod_gemm_warning(void) {
    pthread_once(&once, setup_once);
    return warning[0] ? warning : NULL;
}

void amod_gemm_describe(char *buf, int size) {
    pthread_once(&once, setup_once);
#ifdef AMOD_HAVE_ONEDNN
    if (plan.backend == AMOD_GEMM_ONEDNN) {
        const dnnl_version_t *v = dnnl_version();
        snprintf(buf, (size_t)size, "oneDNN %d.%d.%d, %s kernels (CPU: %s)", v->major, v->minor, v->patch,
                 plan.kernels, plan.cpu_best);
        return;
    }
#endif
    snprintf(buf, (size_t)size, "OpenBLAS %s core, %s kernels (CPU: %s)", plan.openblas_core, plan.kernels,
             plan.cpu_best);
}

void amod_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    pthread_once(&once, setup_once);
#ifdef AMOD_HAVE_ONEDNN
    if (plan.backend == AMOD_GEMM_ONEDNN) {
        /* Inside a parallel region that its `if` clause left to one thread (a product too
         * small to split), oneDNN sees no active region and opens a nested team, and libgomp
         * creates (and ends) a thread for every nested team: one thread per call, whose start
         * cost whole scheduler ticks at batch 1. amod's scheme is the library single-threaded
         * inside amod's threads, so such a call runs on one thread. */
        const int nested = omp_get_level() > 0 && !omp_in_parallel(), before = nested ? omp_get_max_threads() : 1;
        if (before > 1) omp_set_num_threads(1);
        amod_signal_hold hold; /* core/signals.h: no signal frame inside the kernel */
        amod_signals_hold(&hold);
        dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        amod_signals_release(&hold);
        if (before > 1) omp_set_num_threads(before);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

/* amod_init, declared in amod/amod.h (which this layer does not include): the explicit
 * initialisation step, exported like the rest of the public API. */
AMOD_API int amod_init(amod_error *err) { return amod_gemm_setup(err); }
