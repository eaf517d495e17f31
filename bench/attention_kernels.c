/* attention_kernels: one head's two forward products (S = Q K^T / sqrt(hd) and O = P V) on
 * the matrix-product library's sgemm against the AVX-512 kernels of kernels/attention_simd.c
 * (float32, and bf16 where the CPU has AVX-512 BF16), on one thread, alternately, with
 * strided q, k and v inside a qkv row as in the model.
 *
 *   attention_kernels [N] [HD] [HEADS_PER_ROW] [REPS]     e.g. attention_kernels 197 64 3 2000
 *
 * N tokens (197 for DeiT at 224 px, 25 for a MoD layer at C = 0.125). The AVX-512 time of
 * Q K^T includes transposing k, which the model does once per head; the bf16 times include
 * every packing the model does (k^T and v once per head, q and P by rows). Prints GFLOP/s (best
 * of 5 rounds) of each. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "kernels/attention_simd.h"
#include "kernels/gemm.h"

int main(int argc, char **argv) {
    const int n = argc > 1 ? atoi(argv[1]) : 197, hd = argc > 2 ? atoi(argv[2]) : 64;
    const int heads = argc > 3 ? atoi(argv[3]) : 3, reps = argc > 4 ? atoi(argv[4]) : 2000;
    if (n < 1 || n > 4096 || heads < 1 || heads > 64 || reps < 1 || reps > 1000000) {
        fprintf(stderr, "attention_kernels: N in 1..4096, HEADS_PER_ROW in 1..64, REPS in 1..1000000\n");
        return 1;
    }
    if (!attention_simd_usable(hd)) {
        fprintf(stderr, "attention_kernels: no AVX-512 kernels for head size %d on this CPU\n", hd);
        return 1;
    }
    omp_set_num_threads(1);
    const int D = heads * hd, ld = 3 * D;
    float *qkv = malloc(sizeof(float) * n * ld), *p = malloc(sizeof(float) * n * n);
    float *o = malloc(sizeof(float) * n * D), *kt = malloc(sizeof(float) * attention_simd_pack_floats(n));
    const int np = attention_simd_padded(n), n2 = (n + 1) / 2, paths = attention_bf16_usable(hd) ? 3 : 2;
    uint32_t *kt2 = malloc(sizeof(uint32_t) * (hd / 2) * np), *v2 = malloc(sizeof(uint32_t) * n2 * hd);
    uint32_t *q2 = malloc(sizeof(uint32_t) * n * (hd / 2)), *p2 = malloc(sizeof(uint32_t) * n * n2);
    if (!qkv || !p || !o || !kt || !kt2 || !v2 || !q2 || !p2) return 1;
    for (int i = 0; i < n * ld; i++) qkv[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    const float *q = qkv, *k = qkv + D, *v = qkv + 2 * D;
    const float scale = 0.125f;
    const double flops = 2.0 * n * n * hd * reps;
    double best[3][2] = {{1e30, 1e30}, {1e30, 1e30}, {1e30, 1e30}};
    for (int round = 0; round < 5; round++)
        for (int simd = 0; simd < paths; simd++) {
            double t0 = amod_seconds();
            for (int r = 0; r < reps; r++) {
                if (simd == 2) {
                    attention_bf16_pairs_t(kt2, np, k, ld, n, hd, scale);
                    attention_bf16_pairs_rows(q2, hd / 2, q, ld, n, hd, 1.0f);
                    attention_bf16_product(p, n, q2, (size_t)hd / 2, 1, kt2, np, n, n, hd / 2);
                } else if (simd) {
                    attention_simd_pack_t(kt, k, ld, n, hd, scale);
                    attention_simd_abt(p, n, q, ld, kt, n, n, hd);
                } else {
                    amod_sgemm(0, 1, n, n, hd, scale, q, ld, k, ld, 0.0f, p, n);
                }
            }
            double t1 = amod_seconds();
            for (int r = 0; r < reps; r++) {
                if (simd == 2) {
                    attention_bf16_pairs_cols(v2, hd, v, ld, n, hd, 1.0f);
                    attention_bf16_pairs_rows(p2, n2, p, n, n, n, 1.0f);
                    attention_bf16_product(o, D, p2, (size_t)n2, 1, v2, hd, n, hd, n2);
                } else if (simd)
                    attention_simd_ab(o, D, p, (size_t)n, 1, v, ld, n, n, hd);
                else
                    amod_sgemm(0, 0, n, hd, n, 1.0f, p, n, v, ld, 0.0f, o, D);
            }
            double t2 = amod_seconds();
            if (t1 - t0 < best[simd][0]) best[simd][0] = t1 - t0;
            if (t2 - t1 < best[simd][1]) best[simd][1] = t2 - t1;
        }
    char path[160];
    amod_gemm_describe(path, sizeof path);
    printf("# one thread, n=%d hd=%d, sgemm on %s\n", n, hd, path);
    printf("%-8s %12s %12s\n", "path", "QK^T GF/s", "PV GF/s");
    printf("%-8s %12.1f %12.1f\n", "sgemm", flops / best[0][0] / 1e9, flops / best[0][1] / 1e9);
    printf("%-8s %12.1f %12.1f\n", "avx512", flops / best[1][0] / 1e9, flops / best[1][1] / 1e9);
    if (paths == 3) printf("%-8s %12.1f %12.1f\n", "bf16", flops / best[2][0] / 1e9, flops / best[2][1] / 1e9);
    free(qkv), free(p), free(o), free(kt), free(kt2), free(v2), free(q2), free(p2);
    return 0;
}
