/* Causal softmax attention with grouped-query heads, one (batch, head) pair per task on the
 * forward pass and one (batch, key/value head) group per task on the backward pass, so the
 * heads sharing a key/value head add into its gradient without racing. The products run on
 * OpenBLAS with strided views into qkv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/lm_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

size_t causal_attention_scratch_floats(int T, int threads) { return (size_t)threads * T * T; }

/* Row i keeps columns 0..i: a softmax over those (amod_softmax, as the ViT's; a libm expf
 * call per probability was most of the loop), zero beyond. */
static void causal_softmax(float *s, int T) {
    for (int i = 0; i < T; i++) {
        float *row = s + (size_t)i * T;
        amod_softmax(row, i + 1);
        for (int j = i + 1; j < T; j++) row[j] = 0.0f;
    }
}

void causal_attention_forward(float *out, float *probs, float *col_sum, const float *qkv, int B, int T, int H,
                              int KV, int hd) {
    const int ld = (H + 2 * KV) * hd, ldo = H * hd, group = H / KV;
    const float scale = 1.0f / sqrtf((float)hd);
    if (T <= 0) return;
    if (col_sum) memset(col_sum, 0, (size_t)B * T * sizeof *col_sum);
    /* Column sums (A-MoD's scores): each head into a row of its own, added up in head order
     * afterwards, so that they do not depend on which thread ran a head (atomic adds did, and
     * cost a locked add per probability). Without the rows (no memory): one thread, in order. */
    float *rows = col_sum ? calloc((size_t)B * H * T, sizeof *rows) : NULL;
#pragma omp parallel if (!col_sum || rows)
    {
        float *tile = probs ? NULL : malloc((size_t)T * T * sizeof *tile);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H, g = h / group;
            const float *base = qkv + (size_t)b * T * ld;
            const float *q = base + (size_t)h * hd, *k = base + (size_t)(H + g) * hd,
                        *v = base + (size_t)(H + KV + g) * hd;
            float *p = probs ? probs + (size_t)bh * T * T : tile;
            if (!p) continue; /* out of memory for the tile: leave this head untouched */
            amod_sgemm(0, 1, T, T, hd, scale, q, ld, k, ld, 0.0f, p, T);
            causal_softmax(p, T);
            amod_sgemm(0, 0, T, hd, T, 1.0f, p, T, v, ld, 0.0f,
                        out + (size_t)b * T * ldo + (size_t)h * hd, ldo);
            if (col_sum) {
                float *cs = rows ? rows + (size_t)bh * T : col_sum + (size_t)b * T;
                for (int i = 0; i < T; i++) {
                    const float *pr = p + (size_t)i * T;
#pragma omp simd
                    for (int j = 0; j <= i; j++) cs[j] += pr[j];
                }
            }
        }
        if (rows) column_rows_add(col_sum, rows, B, H, T);
        free(tile);
    }
    free(rows);
}

void causal_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int B,
                               int T, int H, int KV, int hd, float *scratch, int scratch_threads) {
    const int ld = (H + 2 * KV) * hd, ldo = H * hd, group = H / KV;
    const float scale = 1.0f / sqrtf((float)hd);
    if (T <= 0) return;
#pragma omp parallel num_threads(kernel_team(scratch_threads))
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *dp = scratch + (size_t)tid * T * T;
#pragma omp for schedule(static)
        for (int bg = 0; bg < B * KV; bg++) {
            int b = bg / KV, g = bg % KV;
            size_t base = (size_t)b * T * ld;
            const float *k = qkv + base + (size_t)(H + g) * hd, *v = qkv + base + (size_t)(H + KV + g) * hd;
            float *dk = dqkv + base + (size_t)(H + g) * hd, *dv = dqkv + base + (size_t)(H + KV + g) * hd;
            for (int h = g * group; h < (g + 1) * group; h++) {
                const float *q = qkv + base + (size_t)h * hd;
                float *dq = dqkv + base + (size_t)h * hd;
                const float *p = probs + ((size_t)b * H + h) * T * T;
                const float *go = dout + (size_t)b * T * ldo + (size_t)h * hd;
                float first = h == g * group ? 0.0f : 1.0f; /* the group's first head overwrites */
                /* dV += P^T dO; dP = dO V^T */
                amod_sgemm(1, 0, T, hd, T, 1.0f, p, T, go, ldo, first, dv, ld);
                amod_sgemm(0, 1, T, T, hd, 1.0f, go, ldo, v, ld, 0.0f, dp, T);
                /* dS = P (dP - rowsum(P dP)) / sqrt(hd); masked entries have P = 0 */
                for (int i = 0; i < T; i++) {
                    const float *pr = p + (size_t)i * T;
                    float *dr = dp + (size_t)i * T, dot = 0.0f;
                    for (int j = 0; j <= i; j++) dot += pr[j] * dr[j];
                    for (int j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
                    for (int j = i + 1; j < T; j++) dr[j] = 0.0f;
                }
                amod_sgemm(0, 0, T, hd, T, 1.0f, dp, T, k, ld, 0.0f, dq, ld);
                amod_sgemm(1, 0, T, hd, T, 1.0f, dp, T, q, ld, first, dk, ld);
            }
        }
    }
}

void causal_attention_decode(float *out, const float *q, const float *kc, const float *vc, int n, int H, int KV,
                             int hd, float *scratch) {
    const int ldc = KV * hd, group = H / KV;
    const float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < H; h++) {
        const float *qh = q + (size_t)h * hd;
        const int g = h / group;
        float mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < n; j++) {
            const float *kj = kc + (size_t)j * ldc + (size_t)g * hd;
            float s = 0.0f;
            for (int i = 0; i < hd; i++) s += qh[i] * kj[i];
            scratch[j] = s * scale;
            mx = scratch[j] > mx ? scratch[j] : mx;
        }
        for (int j = 0; j < n; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        float *o = out + (size_t)h * hd;
        memset(o, 0, (size_t)hd * sizeof *o);
        for (int j = 0; j < n; j++) {
            const float *vj = vc + (size_t)j * ldc + (size_t)g * hd;
            float p = scratch[j] / sum;
            for (int i = 0; i < hd; i++) o[i] += p * vj[i];
        }
    }
}
