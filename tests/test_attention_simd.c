/* Attention's AVX-512 kernels (kernels/attention_simd.c) and attention_forward/backward on
 * whichever path this CPU takes, against a plain double-precision reference: every head size
 * the kernels take (16..64), token counts from 1 to DeiT's 197 (odd ones leave partial vector
 * tails and row remainders), the kept-map and the blocked forward, column sums and the
 * backward. Tolerances: 1e-4 relative for outputs, 1e-3 for gradients. The bf16 kernels (AVX-512
 * BF16) too: their packings exactly, their products against double products of the rounded
 * inputs, and attention on them within bf16's bound (stated at the check). */
#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention_simd.h"
#include "kernels/kernels.h"
#include "test_support.h"

static uint64_t state = 88172645463325252ull;
static float uniform(void) { /* xorshift: reproducible inputs in [-1, 1) */
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (float)((state >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
static void fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * uniform();
}

/* float32 to bfloat16, rounded to nearest even (finite inputs), as vcvtneps2bf16 does */
static uint16_t bf16_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float float_of_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static uint32_t pair_of(float lo, float hi) { return (uint32_t)bf16_of(lo) | (uint32_t)bf16_of(hi) << 16; }
/* x rounded to bf16 and back */
static double rounded(float x) { return float_of_bf16(bf16_of(x)); }

/* ref [n, n] = a (scale b)^T in double for a, b [n, hd] at row stride ld; with bf16, each
 * operand (b after its scale) rounded to bfloat16 first, as the bf16 kernels see them. */
static void ref_abt(float *ref, const float *a, const float *b, int ld, int n, int hd, float scale, int bf16) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int d = 0; d < hd; d++) {
                const float x = a[(size_t)i * ld + d], y = scale * b[(size_t)j * ld + d];
                s += bf16 ? rounded(x) * rounded(y) : (double)x * y;
            }
            ref[(size_t)i * n + j] = (float)s;
        }
}

/* c [n, n] from cw [n, ldc], which was filled with 7 before the product: 1 when nothing was
 * stored past column n. */
static int unwiden(float *c, const float *cw, int n, int ldc) {
    int ok = 1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) c[(size_t)i * n + j] = cw[(size_t)i * ldc + j];
        for (int j = n; j < ldc; j++) ok &= cw[(size_t)i * ldc + j] == 7.0f;
    }
    return ok;
}

/* The products themselves: pack, a b^T and a b with both stride patterns. */
static void kernel_case(int n, int hd) {
    const int ld = 3 * hd + 5, npad = (n + 15) / 16 * 16; /* a row stride wider than the row, as in qkv */
    float *a = malloc(sizeof(float) * n * ld), *b = malloc(sizeof(float) * n * ld);
    const size_t nc = (size_t)n * (n > hd ? n : hd); /* n x n and n x hd results */
    float *bt = malloc(sizeof(float) * attention_simd_pack_floats(n)), *c = malloc(sizeof(float) * nc);
    float *ref = malloc(sizeof(float) * nc), *sq = malloc(sizeof(float) * n * n);
    fill(a, (size_t)n * ld, 1.0f), fill(b, (size_t)n * ld, 1.0f), fill(sq, (size_t)n * n, 1.0f);

    attention_simd_pack_t(bt, b, ld, n, hd, 0.5f);
    int pack_ok = 1;
    for (int d = 0; d < hd; d++)
        for (int j = 0; j < npad; j++) pack_ok &= bt[(size_t)d * npad + j] == (j < n ? 0.5f * b[(size_t)j * ld + d] : 0.0f);
    CHECK(pack_ok, "pack_t n=%d hd=%d: not 0.5 b^T with zero padding", n, hd);

    /* c = a (0.5 b)^T, written into a wider row (ldc = n + 3) to catch stores past ncols */
    const int ldc = n + 3;
    float *cw = malloc(sizeof(float) * n * ldc);
    for (size_t i = 0; i < (size_t)n * ldc; i++) cw[i] = 7.0f;
    attention_simd_abt(cw, ldc, a, ld, bt, n, n, hd);
    ref_abt(ref, a, b, ld, n, hd, 0.5f, 0);
    CHECK(unwiden(c, cw, n, ldc), "abt n=%d hd=%d wrote past its columns", n, hd);
    double e = rel_max_err(c, ref, (size_t)n * n);
    CHECK(e < 1e-5, "abt n=%d hd=%d: relative error %g", n, hd, e);

    /* c = sq b and c = sq^T b (the same kernel with the strides of sq swapped) */
    for (int transposed = 0; transposed < 2; transposed++) {
        attention_simd_ab(c, hd, sq, transposed ? 1 : (size_t)n, transposed ? (size_t)n : 1, b, ld, n, n, hd);
        for (int i = 0; i < n; i++)
            for (int d = 0; d < hd; d++) {
                double s = 0.0;
                for (int k = 0; k < n; k++)
                    s += (double)(transposed ? sq[(size_t)k * n + i] : sq[(size_t)i * n + k]) * b[(size_t)k * ld + d];
                ref[(size_t)i * hd + d] = (float)s;
            }
        e = rel_max_err(c, ref, (size_t)n * hd);
        CHECK(e < 1e-5, "ab%s n=%d hd=%d: relative error %g", transposed ? " (a transposed)" : "", n, hd, e);
    }
    free(a), free(b), free(bt), free(c), free(ref), free(sq), free(cw);
}

/* ---- the bf16 kernels ---- */

/* The three packings, exactly, with their zero pads; then A B from packed operands against a
 * double product of the rounded inputs (only the float32 accumulation differs). */
static void bf16_kernel_case(int n, int hd) {
    const int ld = 3 * hd + 5, np = (n + 15) / 16 * 16, n2 = (n + 1) / 2, h2 = hd / 2;
    float *a = malloc(sizeof(float) * n * ld), *sq = malloc(sizeof(float) * n * n);
    uint32_t *rows = malloc(sizeof(uint32_t) * n * n2), *cols = malloc(sizeof(uint32_t) * n2 * np);
    uint32_t *t = malloc(sizeof(uint32_t) * h2 * np), *bcols = malloc(sizeof(uint32_t) * n2 * hd);
    const size_t nc = (size_t)n * (np > hd ? np : hd); /* n x n and n x hd results */
    float *c = malloc(sizeof(float) * nc), *ref = malloc(sizeof(float) * nc);
    fill(a, (size_t)n * ld, 1.0f), fill(sq, (size_t)n * n, 1.0f);

    int ok = 1; /* rows of sq (odd n: the last pair's high half is a zero pad) */
    attention_bf16_pairs_rows(rows, n2, sq, n, n, n, 1.0f);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < n2; k++)
            ok &= rows[(size_t)r * n2 + k] == pair_of(sq[(size_t)r * n + 2 * k], 2 * k + 1 < n ? sq[(size_t)r * n + 2 * k + 1] : 0.0f);
    CHECK(ok, "bf16 pairs_rows n=%d: wrong words", n);
    ok = 1; /* columns of sq, scaled, padded to np */
    attention_bf16_pairs_cols(cols, np, sq, n, n, n, 0.5f);
    for (int k = 0; k < n2; k++)
        for (int j = 0; j < np; j++) {
            const float lo = j < n ? 0.5f * sq[(size_t)2 * k * n + j] : 0.0f;
            const float hi = j < n && 2 * k + 1 < n ? 0.5f * sq[(size_t)(2 * k + 1) * n + j] : 0.0f;
            ok &= cols[(size_t)k * np + j] == pair_of(lo, hi);
        }
    CHECK(ok, "bf16 pairs_cols n=%d: wrong words or pads", n);
    ok = 1; /* a^T of a [n, hd] at stride ld, scaled */
    attention_bf16_pairs_t(t, np, a, ld, n, hd, 0.25f);
    for (int k = 0; k < h2; k++)
        for (int j = 0; j < np; j++)
            ok &= t[(size_t)k * np + j] ==
                  (j < n ? pair_of(0.25f * a[(size_t)j * ld + 2 * k], 0.25f * a[(size_t)j * ld + 2 * k + 1]) : 0u);
    CHECK(ok, "bf16 pairs_t n=%d hd=%d: wrong words or pads", n, hd);

    /* c [n, n] = a (0.25 a)^T: the QK^T shape, into a wider row to catch stores past n */
    uint32_t *arows = malloc(sizeof(uint32_t) * n * h2);
    attention_bf16_pairs_rows(arows, h2, a, ld, n, hd, 1.0f);
    const int ldc = np + 3;
    float *cw = malloc(sizeof(float) * n * ldc);
    for (size_t i = 0; i < (size_t)n * ldc; i++) cw[i] = 7.0f;
    attention_bf16_product(cw, ldc, arows, (size_t)h2, 1, t, np, n, n, h2);
    ref_abt(ref, a, a, ld, n, hd, 0.25f, 1);
    CHECK(unwiden(c, cw, n, ldc), "bf16 product n=%d hd=%d wrote past its columns", n, hd);
    double e = rel_max_err(c, ref, (size_t)n * n);
    CHECK(e < 1e-5, "bf16 product a a^T n=%d hd=%d: relative error %g", n, hd, e);

    /* c [n, hd] = sq b and sq^T b, the second with A read transposed from pairs_cols */
    attention_bf16_pairs_cols(bcols, hd, a, ld, n, hd, 1.0f);
    attention_bf16_pairs_cols(cols, np, sq, n, n, n, 1.0f);
    for (int transposed = 0; transposed < 2; transposed++) {
        if (transposed)
            attention_bf16_product(c, hd, cols, 1, (size_t)np, bcols, hd, n, hd, n2);
        else
            attention_bf16_product(c, hd, rows, (size_t)n2, 1, bcols, hd, n, hd, n2);
        for (int i = 0; i < n; i++)
            for (int d = 0; d < hd; d++) {
                double s = 0.0;
                for (int k = 0; k < n; k++)
                    s += rounded(transposed ? sq[(size_t)k * n + i] : sq[(size_t)i * n + k]) * rounded(a[(size_t)k * ld + d]);
                ref[(size_t)i * hd + d] = (float)s;
            }
        e = rel_max_err(c, ref, (size_t)n * hd);
        CHECK(e < 1e-5, "bf16 product%s n=%d hd=%d: relative error %g", transposed ? " (a transposed)" : "", n, hd, e);
    }
    free(a), free(sq), free(rows), free(cols), free(t), free(bcols), free(c), free(ref), free(arows), free(cw);
}

/* Reference attention in double: out, probs, column sums, and dqkv from dout. */
static void reference(float *out, float *probs, float *col_sum, float *dqkv, const float *qkv, const float *dout,
                      int B, int n, int D, int H) {
    const int hd = D / H, ld = 3 * D;
    const double scale = 1.0 / sqrt((double)hd);
    double *p = malloc(sizeof(double) * n * n), *dp = malloc(sizeof(double) * n * n);
    memset(col_sum, 0, sizeof(float) * B * n);
    memset(dqkv, 0, sizeof(float) * B * n * ld);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * n * ld + h * hd, *k = q + D, *v = q + 2 * D;
            const float *g = dout + (size_t)b * n * D + h * hd;
            float *dq = dqkv + (size_t)b * n * ld + h * hd, *dk = dq + D, *dv = dq + 2 * D;
            for (int i = 0; i < n; i++) {
                double mx = -1e300, sum = 0.0;
                for (int j = 0; j < n; j++) {
                    double s = 0.0;
                    for (int d = 0; d < hd; d++) s += (double)q[(size_t)i * ld + d] * k[(size_t)j * ld + d];
                    p[(size_t)i * n + j] = s * scale;
                    if (s * scale > mx) mx = s * scale;
                }
                for (int j = 0; j < n; j++) sum += p[(size_t)i * n + j] = exp(p[(size_t)i * n + j] - mx);
                for (int j = 0; j < n; j++) {
                    p[(size_t)i * n + j] /= sum;
                    probs[(((size_t)b * H + h) * n + i) * n + j] = (float)p[(size_t)i * n + j];
                    col_sum[(size_t)b * n + j] += (float)p[(size_t)i * n + j];
                }
                for (int d = 0; d < hd; d++) {
                    double o = 0.0;
                    for (int j = 0; j < n; j++) o += p[(size_t)i * n + j] * v[(size_t)j * ld + d];
                    out[((size_t)b * n + i) * D + h * hd + d] = (float)o;
                }
            }
            for (int i = 0; i < n; i++) { /* dP = dO V^T, dS = P (dP - rowsum(P dP)) */
                double dot = 0.0;
                for (int j = 0; j < n; j++) {
                    double s = 0.0;
                    for (int d = 0; d < hd; d++) s += (double)g[(size_t)i * D + d] * v[(size_t)j * ld + d];
                    dp[(size_t)i * n + j] = s;
                    dot += s * p[(size_t)i * n + j];
                }
                for (int j = 0; j < n; j++) dp[(size_t)i * n + j] = p[(size_t)i * n + j] * (dp[(size_t)i * n + j] - dot) * scale;
            }
            for (int i = 0; i < n; i++)
                for (int d = 0; d < hd; d++) {
                    double sq = 0.0, sk = 0.0, sv = 0.0;
                    for (int j = 0; j < n; j++) {
                        sq += dp[(size_t)i * n + j] * k[(size_t)j * ld + d];
                        sk += dp[(size_t)j * n + i] * q[(size_t)j * ld + d];
                        sv += p[(size_t)j * n + i] * g[(size_t)j * D + d];
                    }
                    dq[(size_t)i * ld + d] = (float)sq, dk[(size_t)i * ld + d] = (float)sk, dv[(size_t)i * ld + d] = (float)sv;
                }
        }
    free(p), free(dp);
}

static void attention_case(int B, int n, int D, int H, int threads) {
    const size_t nqkv = (size_t)B * n * 3 * D, nout = (size_t)B * n * D, nprobs = (size_t)B * H * n * n;
    float *qkv = malloc(sizeof(float) * nqkv), *dout = malloc(sizeof(float) * nout);
    float *out = malloc(sizeof(float) * nout), *ref_out = malloc(sizeof(float) * nout);
    float *probs = malloc(sizeof(float) * nprobs), *ref_probs = malloc(sizeof(float) * nprobs);
    float *cs = malloc(sizeof(float) * B * n), *ref_cs = malloc(sizeof(float) * B * n);
    float *dqkv = malloc(sizeof(float) * nqkv), *ref_dqkv = malloc(sizeof(float) * nqkv);
    size_t ns = attention_scratch_floats(n, threads), nt = attention_tile_floats(n, threads);
    float *scratch = malloc(sizeof(float) * (ns > nt ? ns : nt));
    fill(qkv, nqkv, 2.0f), fill(dout, nout, 1.0f);
    reference(ref_out, ref_probs, ref_cs, ref_dqkv, qkv, dout, B, n, D, H);

    /* kept map (training), with scratch and without (the sgemm path) */
    for (int with_scratch = 0; with_scratch < 2; with_scratch++) {
        attention_forward(out, probs, cs, qkv, B, n, D, H, 0, with_scratch ? scratch : NULL, threads);
        double eo = rel_max_err(out, ref_out, nout), ep = rel_max_err(probs, ref_probs, nprobs);
        double ec = rel_max_err(cs, ref_cs, (size_t)B * n);
        CHECK(eo < 1e-4 && ep < 1e-4 && ec < 1e-4, "forward B=%d n=%d D=%d H=%d (map kept, %s): out %g probs %g col_sum %g",
              B, n, D, H, with_scratch ? "scratch" : "no scratch", eo, ep, ec);
    }
    /* blocked rows (inference) */
    memset(out, 0, sizeof(float) * nout);
    attention_forward(out, NULL, cs, qkv, B, n, D, H, 0, scratch, threads);
    double eo = rel_max_err(out, ref_out, nout), ec = rel_max_err(cs, ref_cs, (size_t)B * n);
    CHECK(eo < 1e-4 && ec < 1e-4, "forward B=%d n=%d D=%d H=%d (blocked): out %g col_sum %g", B, n, D, H, eo, ec);

    attention_forward(out, probs, NULL, qkv, B, n, D, H, 0, scratch, threads);
    attention_backward(dqkv, dout, qkv, probs, B, n, D, H, 0, scratch, threads);
    double eg = rel_max_err(dqkv, ref_dqkv, nqkv);
    CHECK(eg < 1e-3, "backward B=%d n=%d D=%d H=%d: dqkv %g", B, n, D, H, eg);

    /* bf16 products (where the CPU has them; elsewhere the flag is ignored and float32's bounds
     * hold): the inputs rounded to 8 bits of mantissa, so the bound is bf16's, stated here:
     * 2e-2 relative for outputs, probabilities and gradients (about 5e-3 is seen). */
    if (attention_bf16_usable(D / H)) {
        attention_forward(out, probs, cs, qkv, B, n, D, H, 1, scratch, threads);
        eo = rel_max_err(out, ref_out, nout), ec = rel_max_err(cs, ref_cs, (size_t)B * n);
        double ep = rel_max_err(probs, ref_probs, nprobs);
        CHECK(eo < 2e-2 && ep < 2e-2 && ec < 2e-2, "bf16 forward B=%d n=%d D=%d H=%d (map kept): out %g probs %g col_sum %g",
              B, n, D, H, eo, ep, ec);
        attention_backward(dqkv, dout, qkv, probs, B, n, D, H, 1, scratch, threads);
        eg = rel_max_err(dqkv, ref_dqkv, nqkv);
        CHECK(eg < 2e-2, "bf16 backward B=%d n=%d D=%d H=%d: dqkv %g", B, n, D, H, eg);
        memset(out, 0, sizeof(float) * nout);
        attention_forward(out, NULL, cs, qkv, B, n, D, H, 1, scratch, threads);
        double eb = rel_max_err(out, ref_out, nout);
        CHECK(eb < 2e-2, "bf16 forward B=%d n=%d D=%d H=%d (blocked): out %g", B, n, D, H, eb);
        if (getenv("AMOD_TEST_VERBOSE"))
            printf("bf16 B=%d n=%d D=%d H=%d: out %.2e probs %.2e col_sum %.2e dqkv %.2e blocked %.2e\n", B, n, D, H, eo,
                   ep, ec, eg, eb);
    }
    free(qkv), free(dout), free(out), free(ref_out), free(probs), free(ref_probs), free(cs), free(ref_cs);
    free(dqkv), free(ref_dqkv), free(scratch);
}

/* The forward's results do not depend on the thread count, bit for bit: out, the kept map and
 * the column sums (A-MoD's scores), which were added atomically by whichever thread ran a head
 * and so came out in either order when an image's heads were split over two threads (batch 1
 * and 3 heads: always). Each of 1 and 2 threads, several times, with the map and without, in
 * float32 and in bf16 where the CPU has it. */
static void determinism_case(int B, int n, int D, int H) {
    const size_t nqkv = (size_t)B * n * 3 * D, nout = (size_t)B * n * D, nprobs = (size_t)B * H * n * n;
    float *qkv = malloc(sizeof(float) * nqkv), *scratch = malloc(sizeof(float) * attention_scratch_floats(n, 2));
    float *out[2], *probs[2], *cs[2];
    for (int i = 0; i < 2; i++) {
        out[i] = malloc(sizeof(float) * nout), probs[i] = malloc(sizeof(float) * nprobs);
        cs[i] = malloc(sizeof(float) * B * n);
    }
    fill(qkv, nqkv, 2.0f);
    const int before = omp_get_max_threads();
    for (int bf16 = 0; bf16 <= attention_bf16_usable(D / H); bf16++)
        for (int kept = 0; kept < 2; kept++) {
            int same = 1;
            for (int rep = 0; rep < 5; rep++)
                for (int threads = 1; threads <= 2; threads++) {
                    const int i = threads == 1 && rep == 0 ? 0 : 1; /* slot 0: the first one-thread run */
                    omp_set_num_threads(threads);
                    attention_forward(out[i], kept ? probs[i] : NULL, cs[i], qkv, B, n, D, H, bf16, scratch, threads);
                    if (i == 1)
                        same &= !memcmp(out[0], out[1], sizeof(float) * nout) &&
                                !memcmp(cs[0], cs[1], sizeof(float) * B * n) &&
                                (!kept || !memcmp(probs[0], probs[1], sizeof(float) * nprobs));
                }
            CHECK(same, "forward B=%d n=%d D=%d H=%d (%s, %s): 1 and 2 threads give other bits", B, n, D, H,
                  kept ? "map kept" : "blocked", bf16 ? "bf16" : "float32");
        }
    omp_set_num_threads(before);
    for (int i = 0; i < 2; i++) free(out[i]), free(probs[i]), free(cs[i]);
    free(qkv), free(scratch);
}

int main(void) {
    const int hds[] = {16, 32, 48, 64}, ns[] = {1, 5, 16, 17, 25, 50, 197};
    if (attention_simd_usable(64)) {
        for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
            for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) kernel_case(ns[i], hds[h]);
        CHECK(!attention_simd_usable(8) && !attention_simd_usable(80) && !attention_simd_usable(24),
              "head sizes outside 16, 32, 48, 64 must take the sgemm path");
        if (attention_bf16_usable(64)) {
            for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
                for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) bf16_kernel_case(ns[i], hds[h]);
        } else {
            printf("no AVX-512 BF16 here: the bf16 kernels are not run\n");
        }
    } else {
        printf("no AVX-512 here: the kernels are not run, attention is checked on its sgemm path\n");
    }
    attention_case(2, 197, 192, 3, 2); /* DeiT-Tiny: hd 64 */
    attention_case(3, 25, 128, 4, 2);  /* a MoD layer's k tokens: hd 32 */
    attention_case(2, 17, 48, 1, 1);   /* hd 48, one thread */
    attention_case(1, 5, 64, 4, 2);    /* hd 16 */
    attention_case(2, 9, 40, 5, 2);    /* hd 8: the sgemm path on every CPU */
    determinism_case(1, 197, 192, 3); /* DeiT-Tiny at batch 1 */
    determinism_case(3, 197, 192, 3);
    determinism_case(2, 25, 128, 4);
    return test_summary("attention_simd");
}
