/* Which matrix-product path to run, decided from the CPU's instruction sets (never from its
 * model number, which libraries older than the CPU do not know) and from what the user asked
 * for on purpose. A pure function, so that tests can try the feature sets of other CPUs. */
#ifndef AMOD_KERNELS_GEMM_PLAN_H
#define AMOD_KERNELS_GEMM_PLAN_H

#include "amod/error.h"
#include "core/cpu.h"

typedef enum amod_gemm_backend { AMOD_GEMM_ONEDNN = 1, AMOD_GEMM_OPENBLAS = 2 } amod_gemm_backend;

typedef struct amod_gemm_request {
    const char *gemm;     /* AMOD_GEMM: NULL or "" automatic, "onednn", "openblas" */
    const char *coretype; /* OPENBLAS_CORETYPE as found in the environment, or NULL */
    int respect_coretype; /* AMOD_RESPECT_OPENBLAS_CORETYPE=1: the user pinned that core on purpose */
    int have_onednn;      /* this build links oneDNN */
} amod_gemm_request;

typedef struct amod_gemm_plan {
    amod_gemm_backend backend;
    char openblas_core[32]; /* the OpenBLAS kernel set to select (OpenBLAS path only) */
    char kernels[32];       /* instruction set the float32 products run on: avx512_core, avx2, sse2 */
    char cpu_best[32];      /* the best float32 set this CPU has */
    int slow;               /* 1: the path runs below AVX2 (an SSE/AVX-only CPU, or a pinned old core) */
    char note[320];         /* why this path; for a slow one, how to get the fast one */
} amod_gemm_plan;

/* 0 and the plan, or -1 when the request is impossible (an unknown AMOD_GEMM, oneDNN asked
 * for in a build without it). */
int amod_gemm_choose(const amod_cpu_features *f, const amod_gemm_request *req, amod_gemm_plan *plan,
                     amod_error *err);
const char *amod_gemm_backend_name(amod_gemm_backend b);

#endif
