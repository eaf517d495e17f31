/* Multi-head softmax attention, one (batch, head) pair per task. The products run on
 * OpenBLAS with strided views into qkv, so q, k and v are never copied. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

size_t attention_scratch_floats(int n, int H) {
    (void)H;
    return 2 * (size_t)n * n; /* dP and a probability tile, per (b, h) task */
}

/* Row softmax in place: `rows` rows of length n. */
static void softmax_rows(float *s, int rows, int n) {
    for (int i = 0; i < rows; i++) {
        float *row = s + (size_t)i * n, mx = row[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
        for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < n; j++) {
            row[j] = amod_expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < n; j++) row[j] *= inv;
    }
}

/* Query rows per block when the map is not kept: a block of full rows is enough for an
 * exact softmax, and its memory is ATTN_ROW_BLOCK x n instead of n x n. */
#define ATTN_ROW_BLOCK 64

size_t attention_tile_floats(int n) { return (size_t)omp_get_max_threads() * ATTN_ROW_BLOCK * n; }

/* Column sums of rows x n probabilities into cs (n atomic adds: heads of one image may run on
 * different threads). Rows are streamed through a chunk of column accumulators, so the reads
 * are contiguous instead of one column at a time. */
#define COL_CHUNK 256
static void add_column_sums(float *cs, const float *p, int rows, int n) {
    for (int j0 = 0; j0 < n; j0 += COL_CHUNK) {
        const int w = n - j0 < COL_CHUNK ? n - j0 : COL_CHUNK;
        float acc[COL_CHUNK] = {0};
        for (int i = 0; i < rows; i++) {
            const float *row = p + (size_t)i * n + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) acc[j] += row[j];
        }
        for (int j = 0; j < w; j++) {
#pragma omp atomic
            cs[j0 + j] += acc[j];
        }
    }
}

void attention_forward(float *out, float *probs, float *col_sum, const float *qkv, int B, int n,
                       int D, int H, float *scratch) {
    const int hd = D / H, ld = 3 * D;
    const float scale = 1.0f / sqrtf((float)hd);
    if (col_sum) memset(col_sum, 0, (size_t)B * n * sizeof *col_sum);
#pragma omp parallel if ((size_t)B * H * n * n * (D / H) >= 8 * AMOD_PAR_MIN_WORK)
    {
        float *tile = probs ? NULL : scratch + (size_t)omp_get_thread_num() * ATTN_ROW_BLOCK * n;
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const float *q = qkv + (size_t)b * n * ld + h * hd, *k = q + D, *v = q + 2 * D;
            float *o = out + (size_t)b * n * D + h * hd;
            /* with the map kept, one block of all n rows; without, blocks of ATTN_ROW_BLOCK rows */
            int block = probs ? n : ATTN_ROW_BLOCK;
            for (int i0 = 0; i0 < n; i0 += block) {
                int rows = n - i0 < block ? n - i0 : block;
                float *p = probs ? probs + (size_t)bh * n * n : tile;
                amod_sgemm(0, 1, rows, n, hd, scale, q + (size_t)i0 * ld, ld,
                            k, ld, 0.0f, p, n);
                softmax_rows(p, rows, n);
                amod_sgemm(0, 0, rows, hd, n, 1.0f, p, n, v, ld, 0.0f,
                            o + (size_t)i0 * D, D);
                if (col_sum) add_column_sums(col_sum + (size_t)b * n, p, rows, n);
            }
        }
    }
}

void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int B,
                        int n, int D, int H, float *scratch) {
    const int hd = D / H, ld = 3 * D;
    const float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel if ((size_t)B * H * n * n * (D / H) >= 8 * AMOD_PAR_MIN_WORK)
    {
        int tid = omp_get_thread_num();
        float *dp = scratch + (size_t)tid * attention_scratch_floats(n, H);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            size_t base = (size_t)b * n * ld + (size_t)h * hd;
            const float *q = qkv + base, *k = q + D, *v = q + 2 * D;
            float *dq = dqkv + base, *dk = dq + D, *dv = dq + 2 * D;
            const float *p = probs + (size_t)bh * n * n;
            const float *g = dout + (size_t)b * n * D + h * hd;
            /* dV = P^T dO; dP = dO V^T */
            amod_sgemm(1, 0, n, hd, n, 1.0f, p, n, g, D, 0.0f, dv, ld);
            amod_sgemm(0, 1, n, n, hd, 1.0f, g, D, v, ld, 0.0f, dp, n);
            /* dS = P * (dP - rowsum(P * dP)), scaled once here for both dQ and dK */
            for (int i = 0; i < n; i++) {
                const float *pr = p + (size_t)i * n;
                float *dr = dp + (size_t)i * n, dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < n; j++) dot += pr[j] * dr[j];
#pragma omp simd
                for (int j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
            }
            amod_sgemm(0, 0, n, hd, n, 1.0f, dp, n, k, ld, 0.0f, dq, ld);
            amod_sgemm(1, 0, n, hd, n, 1.0f, dp, n, q, ld, 0.0f, dk, ld);
        }
    }
}
