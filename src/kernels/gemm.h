/* The one matrix product every kernel calls: row-major C = alpha op(A) op(B) + beta C, on the
 * path kernels/gemm_plan.c chose for this CPU (oneDNN or OpenBLAS). The choice is made once,
 * on first use or at amod_gemm_setup; it is read-only afterwards. */
#ifndef AMOD_KERNELS_GEMM_H
#define AMOD_KERNELS_GEMM_H

#include "amod/error.h"
#include "kernels/gemm_plan.h"

void amod_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);

/* The explicit initialisation (amod_init): chooses the path and, on the OpenBLAS path, selects
 * OpenBLAS's kernel set for this CPU (its re-detection reads OPENBLAS_CORETYPE, which is set for
 * that moment and put back). Idempotent. -1 when the environment asks for an impossible path
 * (AMOD_GEMM). Without it, the first product chooses the path and touches nothing: an OpenBLAS
 * path then keeps the core OpenBLAS picked, with a warning when it is slower than the CPU allows. */
int amod_gemm_setup(amod_error *err);
/* 0 when the path named ("onednn", "openblas") could run here, else -1 and why; changes nothing. */
int amod_gemm_check(const char *name, amod_error *err);
/* Switches to a path by name ("onednn", "openblas", NULL for the automatic choice), as
 * AMOD_GEMM would have: for benchmarks and tests, before products run on other threads. */
int amod_gemm_select(const char *name, amod_error *err);
/* The path in use, after the setup. */
const amod_gemm_plan *amod_gemm_active(void);
/* One line for logs: "oneDNN 2.6.3, avx512_core_bf16 kernels (CPU: avx512_core_bf16)". */
void amod_gemm_describe(char *buf, int size);
/* A warning line when the path is slow (see amod_gemm_plan.slow), else NULL. */
const char *amod_gemm_warning(void);

#endif
