/* Multi-head softmax attention: the forward's tasks are blocks of query rows of one (image,
 * head), the backward's one (image, head) each. The products run on the
 * AVX-512 kernels of attention_simd.c where the CPU has them (k or v transposed once per head
 * into the thread's scratch, q and the rest read in place), else on sgemm with strided views
 * into qkv. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention_simd.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

/* Pairs of n and n rounded up to whole vectors (attention_simd_padded): the shapes of the bf16
 * operands. */
static size_t pairs(int n) { return (size_t)(n + 1) / 2; }
#define HALF_HD (ATTENTION_SIMD_MAX_HD / 2)

/* The bf16 backward's operands (words), each slot reused once its product is done: P^T then
 * dS^T; dO, then k, then q as B operands; dO then dS by rows; v^T. */
static size_t bf16_rows_words(int n) { return (size_t)n * (HALF_HD > pairs(n) ? HALF_HD : pairs(n)); }
static size_t bf16_backward_words(int n) {
    const size_t np = (size_t)attention_simd_padded(n);
    return pairs(n) * np + pairs(n) * ATTENTION_SIMD_MAX_HD + bf16_rows_words(n) + HALF_HD * np;
}

/* Per thread: dP and a probability tile, v transposed for the AVX-512 kernels, the bf16
 * operands. */
static size_t backward_slice(int n) {
    return 2 * (size_t)n * n + attention_simd_pack_floats(n) + bf16_backward_words(n);
}

size_t attention_scratch_floats(int n, int threads) { return (size_t)threads * backward_slice(n); }

int kernel_team(int scratch_threads) {
    const int max = omp_get_max_threads();
    return scratch_threads < 1 ? 1 : scratch_threads < max ? scratch_threads : max;
}

/* Row softmax in place: `rows` rows of length n. */
static void softmax_rows(float *s, int rows, int n) {
    for (int i = 0; i < rows; i++) amod_softmax(s + (size_t)i * n, n);
}

/* Query rows per block when the map is not kept: a block of full rows is enough for an
 * exact softmax, and its memory is ATTN_ROW_BLOCK x n instead of n x n. */
#define ATTN_ROW_BLOCK 64

/* The bf16 forward's operands (words): k^T and v packed per head, a block of q and of
 * probabilities by rows. */
static size_t bf16_forward_words(int n) {
    return HALF_HD * (size_t)attention_simd_padded(n) + pairs(n) * ATTENTION_SIMD_MAX_HD +
           ATTN_ROW_BLOCK * (HALF_HD + pairs(n));
}

/* Per thread: a block of probabilities and k transposed for the AVX-512 kernels, or the bf16
 * operands. */
static size_t forward_slice(int n) {
    return (size_t)ATTN_ROW_BLOCK * n + attention_simd_pack_floats(n) + bf16_forward_words(n);
}

size_t attention_tile_floats(int n, int threads) { return (size_t)threads * forward_slice(n); }

/* Column sums of rows x n probabilities added into cs, a row of its task's own (so that no
 * two threads add into one and the order of the additions is fixed: attention_forward).
 * Rows are streamed through a chunk of column accumulators, so the reads are contiguous
 * instead of one column at a time. */
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
        for (int j = 0; j < w; j++) cs[j0 + j] += acc[j];
    }
}

/* c [rows, hd] = a b for one head, with a [rows, K] at row stride lda, or a^T when trans_a (a
 * stored [K, rows]): on the AVX-512 kernel (a transposed by its strides alone) or on sgemm. */
static void head_ab(int simd, int trans_a, float *c, int ldc, const float *a, int lda, const float *b, int ldb,
                    int rows, int K, int hd) {
    if (simd)
        attention_simd_ab(c, ldc, a, trans_a ? 1 : (size_t)lda, trans_a ? (size_t)lda : 1, b, ldb, rows, K, hd);
    else
        amod_sgemm(trans_a, 0, rows, hd, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* One (image, head, query block) task: scores, softmax, output rows, column sums (into cs, the
 * task's row, when not NULL). kt, when not NULL, holds this head's k transposed
 * (attention_simd_pack_t) and the products run on the AVX-512 kernels. */
static void attention_rows(float *out, float *p, float *cs, const float *qkv, const float *kt, int b, int h,
                           int i0, int rows, int n, int D, int H) {
    const int hd = D / H, ld = 3 * D;
    const float scale = 1.0f / sqrtf((float)hd);
    const float *q = qkv + (size_t)b * n * ld + h * hd, *k = q + D, *v = q + 2 * D;
    float *o = out + (size_t)b * n * D + h * hd;
    if (kt)
        attention_simd_abt(p, n, q + (size_t)i0 * ld, ld, kt, rows, n, hd);
    else
        amod_sgemm(0, 1, rows, n, hd, scale, q + (size_t)i0 * ld, ld, k, ld, 0.0f, p, n);
    softmax_rows(p, rows, n);
    head_ab(kt != NULL, 0, o + (size_t)i0 * D, D, p, n, v, ld, rows, n, hd);
    if (cs) add_column_sums(cs, p, rows, n);
}

/* This thread's transposed k for head bh, scaled by 1 / sqrt(hd), packed only when the head
 * changes (static scheduling hands a thread consecutive blocks of one head). kt is NULL on the
 * sgemm path. */
static const float *head_kt(float *kt, int *packed, const float *qkv, int bh, int n, int D, int H) {
    if (!kt) return NULL;
    if (*packed != bh) {
        const int hd = D / H, b = bh / H, h = bh % H;
        attention_simd_pack_t(kt, qkv + (size_t)b * n * 3 * D + D + h * hd, 3 * D, n, hd, 1.0f / sqrtf((float)hd));
        *packed = bh;
    }
    return kt;
}

/* A thread's bf16 forward operands: k^T (scaled) and v of the head last packed, a block of q
 * and of probabilities by rows. */
typedef struct {
    uint32_t *kt, *v, *q, *p;
    int head;
} bf16_forward_work;

static bf16_forward_work bf16_forward_slice(uint32_t *w, int n) {
    bf16_forward_work f = {.kt = w, .head = -1};
    f.v = f.kt + (size_t)HALF_HD * attention_simd_padded(n);
    f.q = f.v + pairs(n) * ATTENTION_SIMD_MAX_HD;
    f.p = f.q + ATTN_ROW_BLOCK * HALF_HD;
    return f;
}

/* The bf16 operands of head bh, packed only when the head changes. */
static void bf16_pack_head(bf16_forward_work *f, const float *qkv, int bh, int n, int D, int H) {
    if (f->head == bh) return;
    const int hd = D / H, b = bh / H, h = bh % H;
    const float *k = qkv + (size_t)b * n * 3 * D + D + h * hd;
    attention_bf16_pairs_t(f->kt, attention_simd_padded(n), k, 3 * D, n, hd, 1.0f / sqrtf((float)hd));
    attention_bf16_pairs_cols(f->v, hd, k + D, 3 * D, n, hd, 1.0f);
    f->head = bh;
}

/* attention_rows on bf16 products (float32 scores, softmax and sums) for a block of at most
 * ATTN_ROW_BLOCK query rows (the operand slots f->q and f->p hold that many): p holds rows x n
 * float32 probabilities, as on the other paths. */
static void attention_rows_bf16(float *out, float *p, float *cs, const float *qkv, const bf16_forward_work *f,
                                int b, int h, int i0, int rows, int n, int D, int H) {
    const int hd = D / H, ld = 3 * D, np = attention_simd_padded(n), n2 = (int)pairs(n);
    const float *q = qkv + (size_t)b * n * ld + h * hd;
    float *o = out + (size_t)b * n * D + h * hd;
    attention_bf16_pairs_rows(f->q, hd / 2, q + (size_t)i0 * ld, ld, rows, hd, 1.0f);
    attention_bf16_product(p, n, f->q, (size_t)hd / 2, 1, f->kt, np, rows, n, hd / 2);
    softmax_rows(p, rows, n);
    attention_bf16_pairs_rows(f->p, n2, p, n, rows, n, 1.0f);
    attention_bf16_product(o + (size_t)i0 * D, D, f->p, (size_t)n2, 1, f->v, hd, rows, hd, n2);
    if (cs) add_column_sums(cs, p, rows, n);
}

/* One task of the forward: (image, head) rows i0..i0+rows (at most ATTN_ROW_BLOCK) on the path
 * chosen. */
static void forward_task(float *out, float *p, float *cs, const float *qkv, float *kt, int *packed,
                         bf16_forward_work *f, int bh, int i0, int rows, int n, int D, int H) {
    if (f) {
        bf16_pack_head(f, qkv, bh, n, D, H);
        attention_rows_bf16(out, p, cs, qkv, f, bh / H, bh % H, i0, rows, n, D, H);
    } else {
        attention_rows(out, p, cs, qkv, head_kt(kt, packed, qkv, bh, n, D, H), bh / H, bh % H, i0, rows, n, D, H);
    }
}

void attention_forward(float *out, float *probs, float *col_sum, const float *qkv, int B, int n,
                       int D, int H, int bf16, float *scratch, int scratch_threads) {
    if (col_sum) memset(col_sum, 0, (size_t)B * n * sizeof *col_sum);
    /* no scratch: the sgemm path */
    const int simd = scratch && attention_simd_usable(D / H), use_bf16 = bf16 && scratch && attention_bf16_usable(D / H);
    /* Blocks of at most ATTN_ROW_BLOCK query rows, of equal size, each a task of its own (at
     * batch 1 the three heads of DeiT-Tiny alone would leave one of two threads idle a third
     * of the time); a kept map is written block by block in place. */
    const int nblk = (n + ATTN_ROW_BLOCK - 1) / ATTN_ROW_BLOCK, tasks = B * H * nblk, per_image = H * nblk;
    /* Column sums: each task into a row of its own, then added up in task order, so that the
     * sums do not depend on which thread ran what (the same bits on 1 and on 2 threads). Without
     * the rows (no memory) the tasks run in order on one thread, adding into col_sum directly. */
    int par = (size_t)B * H * n * n * (D / H) >= 8 * AMOD_PAR_MIN_WORK;
    float *rows = col_sum && par ? calloc((size_t)tasks * n, sizeof *rows) : NULL;
    if (col_sum && !rows) par = 0;
#pragma omp parallel if (par) num_threads(kernel_team(scratch_threads))
    {
        float *slice = scratch ? scratch + (size_t)omp_get_thread_num() * forward_slice(n) : NULL;
        float *kt = simd ? slice + (size_t)ATTN_ROW_BLOCK * n : NULL;
        bf16_forward_work fw = {0};
        if (use_bf16)
            fw = bf16_forward_slice((uint32_t *)(slice + (size_t)ATTN_ROW_BLOCK * n + attention_simd_pack_floats(n)), n);
        int packed = -1;
#pragma omp for schedule(static)
        for (int t = 0; t < tasks; t++) {
            const int bh = t / nblk, blk = t % nblk;
            const int i0 = (int)((long long)n * blk / nblk), i1 = (int)((long long)n * (blk + 1) / nblk);
            float *p = probs ? probs + ((size_t)bh * n + i0) * n : slice;
            float *cs = !col_sum ? NULL : rows ? rows + (size_t)t * n : col_sum + (size_t)(t / per_image) * n;
            forward_task(out, p, cs, qkv, kt, &packed, use_bf16 ? &fw : NULL, bh, i0, i1 - i0, n, D, H);
        }
        if (rows) column_rows_add(col_sum, rows, B, per_image, n);
    }
    free(rows);
}

/* A thread's bf16 backward operands (bf16_backward_words). */
typedef struct {
    uint32_t *cols, *b, *rows, *vt;
} bf16_backward_work;

static bf16_backward_work bf16_backward_slice(uint32_t *w, int n) {
    bf16_backward_work k = {.cols = w};
    k.b = k.cols + pairs(n) * attention_simd_padded(n);
    k.rows = k.b + pairs(n) * ATTENTION_SIMD_MAX_HD;
    k.vt = k.rows + bf16_rows_words(n);
    return k;
}

/* dV = P^T dO and dP = dO V^T on bf16 products. */
static void bf16_dv_dp(const bf16_backward_work *w, float *dv, float *dp, const float *p, const float *g,
                       const float *v, int n, int D, int hd) {
    const int ld = 3 * D, np = attention_simd_padded(n), n2 = (int)pairs(n);
    attention_bf16_pairs_cols(w->cols, np, p, n, n, n, 1.0f);
    attention_bf16_pairs_cols(w->b, hd, g, D, n, hd, 1.0f);
    attention_bf16_product(dv, ld, w->cols, 1, (size_t)np, w->b, hd, n, hd, n2);
    attention_bf16_pairs_rows(w->rows, hd / 2, g, D, n, hd, 1.0f);
    attention_bf16_pairs_t(w->vt, np, v, ld, n, hd, 1.0f);
    attention_bf16_product(dp, n, w->rows, (size_t)hd / 2, 1, w->vt, np, n, n, hd / 2);
}

/* dQ = dS K and dK = dS^T Q on bf16 products. */
static void bf16_dq_dk(const bf16_backward_work *w, float *dq, float *dk, const float *ds, const float *q,
                       const float *k, int n, int D, int hd) {
    const int ld = 3 * D, np = attention_simd_padded(n), n2 = (int)pairs(n);
    attention_bf16_pairs_rows(w->rows, n2, ds, n, n, n, 1.0f);
    attention_bf16_pairs_cols(w->b, hd, k, ld, n, hd, 1.0f);
    attention_bf16_product(dq, ld, w->rows, (size_t)n2, 1, w->b, hd, n, hd, n2);
    attention_bf16_pairs_cols(w->cols, np, ds, n, n, n, 1.0f);
    attention_bf16_pairs_cols(w->b, hd, q, ld, n, hd, 1.0f);
    attention_bf16_product(dk, ld, w->cols, 1, (size_t)np, w->b, hd, n, hd, n2);
}

void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int B,
                        int n, int D, int H, int bf16, float *scratch, int scratch_threads) {
    const int hd = D / H, ld = 3 * D, simd = attention_simd_usable(hd), use_bf16 = bf16 && attention_bf16_usable(hd);
    const float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel if ((size_t)B * H * n * n * (D / H) >= 8 * AMOD_PAR_MIN_WORK) num_threads(kernel_team(scratch_threads))
    {
        int tid = omp_get_thread_num();
        float *dp = scratch + (size_t)tid * backward_slice(n), *vt = dp + 2 * (size_t)n * n;
        const bf16_backward_work w = bf16_backward_slice((uint32_t *)(vt + attention_simd_pack_floats(n)), n);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            size_t base = (size_t)b * n * ld + (size_t)h * hd;
            const float *q = qkv + base, *k = q + D, *v = q + 2 * D;
            float *dq = dqkv + base, *dk = dq + D, *dv = dq + 2 * D;
            const float *p = probs + (size_t)bh * n * n;
            const float *g = dout + (size_t)b * n * D + h * hd;
            /* dV = P^T dO; dP = dO V^T */
            if (use_bf16) {
                bf16_dv_dp(&w, dv, dp, p, g, v, n, D, hd);
            } else {
                head_ab(simd, 1, dv, ld, p, n, g, D, n, n, hd);
                if (simd) {
                    attention_simd_pack_t(vt, v, ld, n, hd, 1.0f);
                    attention_simd_abt(dp, n, g, D, vt, n, n, hd);
                } else {
                    amod_sgemm(0, 1, n, n, hd, 1.0f, g, D, v, ld, 0.0f, dp, n);
                }
            }
            /* dS = P * (dP - rowsum(P * dP)), scaled once here for both dQ and dK */
            for (int i = 0; i < n; i++) {
                const float *pr = p + (size_t)i * n;
                float *dr = dp + (size_t)i * n, dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < n; j++) dot += pr[j] * dr[j];
#pragma omp simd
                for (int j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
            }
            /* dQ = dS K; dK = dS^T Q */
            if (use_bf16) {
                bf16_dq_dk(&w, dq, dk, dp, q, k, n, D, hd);
            } else {
                head_ab(simd, 0, dq, ld, dp, n, k, ld, n, n, hd);
                head_ab(simd, 1, dk, ld, dp, n, q, ld, n, n, hd);
            }
        }
    }
}
