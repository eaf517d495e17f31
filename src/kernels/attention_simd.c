/* The per-head products of attention on AVX-512, register-blocked, for head sizes of 16,
 * 32, 48 or 64 floats. A head's products are small (197 x 197 x 64 for DeiT-Tiny) and
 * strided inside qkv; a general sgemm packs both operands on every call and ran them at
 * half the rate of the block's linear layers (docs/BENCHMARKS.md). Here only the operand
 * read across its rows is packed (transposed, once per head) and the rest is read in place. */
#include "kernels/attention_simd.h"

#include "core/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define SIMD_TARGET __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline))

int attention_simd_usable(int hd) {
    return amod_cpu()->avx512f && hd >= 16 && hd <= 64 && hd % 16 == 0;
}


/* The mask of a vector's first `left` lanes: all 16 from 16 on, none at 0 or below. */
static inline __mmask16 lanes(int left) {
    return left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : (__mmask16)0;
}

size_t attention_simd_pack_floats(int n) {
    return (size_t)ATTENTION_SIMD_MAX_HD * (size_t)attention_simd_padded(n);
}

/* 16 x 16 transpose in registers: r[i] row i in, column i out (unpack, then two rounds of
 * lane shuffles). */
INLINE SIMD_TARGET void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

/* 16 x 16 blocks through registers: a scalar transpose cost an eighth of the QK^T product. */
SIMD_TARGET void attention_simd_pack_t(float *bt, const float *b, int ldb, int n, int hd, float scale) {
    const int npad = attention_simd_padded(n);
    const __m512 s = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < npad; j0 += 16)
        for (int d0 = 0; d0 < hd; d0 += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < n ? _mm512_loadu_ps(b + (size_t)(j0 + i) * ldb + d0) : _mm512_setzero_ps();
            transpose16(r);
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(bt + (size_t)(d0 + i) * npad + j0, _mm512_mul_ps(r[i], s));
        }
}

/* Stores R rows x CW vectors of accumulators at columns j0.., masked at ncols. */
INLINE SIMD_TARGET void store_tile(float *c, int ldc, __m512 acc[6][4], int j0, int ncols, const int R, const int CW) {
    for (int w = 0; w < CW; w++) {
        const int j = j0 + 16 * w;
        const __mmask16 m = lanes(ncols - j);
        for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + j, m, acc[r][w]);
    }
}

/* R (<= 6) rows x CW (<= 4) vectors of C = A B^T, A rows at stride lda, B^T packed [hd][npad]. */
INLINE SIMD_TARGET void abt_tile(float *c, int ldc, const float *a, int lda, const float *bt, int npad, int hd,
                                 int j0, int ncols, const int R, const int CW) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < CW; w++) acc[r][w] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 b[4];
        for (int w = 0; w < CW; w++) b[w] = _mm512_loadu_ps(bt + (size_t)d * npad + j0 + 16 * w);
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(a[(size_t)r * lda + d]);
            for (int w = 0; w < CW; w++) acc[r][w] = _mm512_fmadd_ps(x, b[w], acc[r][w]);
        }
    }
    store_tile(c, ldc, acc, j0, ncols, R, CW);
}

/* All rows against CW vectors of columns: the column strip of b^T (hd x 16 CW floats) stays
 * in L1 while the rows of a stream past it. */
INLINE SIMD_TARGET void abt_strip(float *c, int ldc, const float *a, int lda, const float *bt, int npad, int rows,
                                  int ncols, int hd, int j0, const int CW) {
    int r = 0;
    for (; r + 6 <= rows; r += 6)
        abt_tile(c + (size_t)r * ldc, ldc, a + (size_t)r * lda, lda, bt, npad, hd, j0, ncols, 6, CW);
    float *cr = c + (size_t)r * ldc;
    const float *ar = a + (size_t)r * lda;
    switch (rows - r) { /* each count its own unrolled copy */
    case 5: abt_tile(cr, ldc, ar, lda, bt, npad, hd, j0, ncols, 5, CW); break;
    case 4: abt_tile(cr, ldc, ar, lda, bt, npad, hd, j0, ncols, 4, CW); break;
    case 3: abt_tile(cr, ldc, ar, lda, bt, npad, hd, j0, ncols, 3, CW); break;
    case 2: abt_tile(cr, ldc, ar, lda, bt, npad, hd, j0, ncols, 2, CW); break;
    case 1: abt_tile(cr, ldc, ar, lda, bt, npad, hd, j0, ncols, 1, CW); break;
    default: break;
    }
}

SIMD_TARGET void attention_simd_abt(float *c, int ldc, const float *a, int lda, const float *bt, int rows,
                                    int ncols, int hd) {
    const int npad = attention_simd_padded(ncols), nv = npad / 16;
    int v = 0;
    for (; v + 4 <= nv; v += 4) abt_strip(c, ldc, a, lda, bt, npad, rows, ncols, hd, 16 * v, 4);
    switch (nv - v) {
    case 3: abt_strip(c, ldc, a, lda, bt, npad, rows, ncols, hd, 16 * v, 3); break;
    case 2: abt_strip(c, ldc, a, lda, bt, npad, rows, ncols, hd, 16 * v, 2); break;
    case 1: abt_strip(c, ldc, a, lda, bt, npad, rows, ncols, hd, 16 * v, 1); break;
    default: break;
    }
}

/* R rows of C [R x 16 HV] = A B, A's element (r, k) at a[r * ars + k * aks], B rows at ldb. */
INLINE SIMD_TARGET void ab_rows(float *c, int ldc, const float *a, size_t ars, size_t aks, const float *b, int ldb,
                                int K, const int R, const int HV) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int h = 0; h < HV; h++) acc[r][h] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 bv[4];
        for (int h = 0; h < HV; h++) bv[h] = _mm512_loadu_ps(b + (size_t)k * ldb + 16 * h);
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(a[r * ars + k * aks]);
            for (int h = 0; h < HV; h++) acc[r][h] = _mm512_fmadd_ps(x, bv[h], acc[r][h]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int h = 0; h < HV; h++) _mm512_storeu_ps(c + (size_t)r * ldc + 16 * h, acc[r][h]);
}

INLINE SIMD_TARGET void ab_all(float *c, int ldc, const float *a, size_t ars, size_t aks, const float *b, int ldb,
                               int rows, int K, const int HV) {
    int r = 0;
    for (; r + 6 <= rows; r += 6) ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 6, HV);
    switch (rows - r) {
    case 5: ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 5, HV); break;
    case 4: ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 4, HV); break;
    case 3: ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 3, HV); break;
    case 2: ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 2, HV); break;
    case 1: ab_rows(c + (size_t)r * ldc, ldc, a + r * ars, ars, aks, b, ldb, K, 1, HV); break;
    default: break;
    }
}

SIMD_TARGET void attention_simd_ab(float *c, int ldc, const float *a, size_t ars, size_t aks, const float *b,
                                   int ldb, int rows, int K, int hd) {
    switch (hd / 16) {
    case 4: ab_all(c, ldc, a, ars, aks, b, ldb, rows, K, 4); break;
    case 3: ab_all(c, ldc, a, ars, aks, b, ldb, rows, K, 3); break;
    case 2: ab_all(c, ldc, a, ars, aks, b, ldb, rows, K, 2); break;
    default: ab_all(c, ldc, a, ars, aks, b, ldb, rows, K, 1); break;
    }
}

/* ---- bfloat16 products (AVX-512 BF16): vdpbf16ps multiplies pairs of bf16 along the
 * inner dimension and accumulates in float32, twice the multiply-adds of an FMA. Operands are
 * packed as 32-bit words holding two bf16 (the even k in the low half), rounded to nearest
 * even; every pad is zero, since a pad times a non-finite value would not vanish. ---- */

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

int attention_bf16_usable(int hd) { return attention_simd_usable(hd) && amod_cpu()->avx512_bf16; }

/* 16 floats to 16 bf16 in the low halves of 16 words */
INLINE BF16_TARGET __m512i bf16_words(__m512 x) {
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x));
}

BF16_TARGET void attention_bf16_pairs_rows(uint32_t *dst, int ldd, const float *a, int lda, int rows, int K,
                                           float scale) {
    const int K2 = (K + 1) / 2;
    const __m512 s = _mm512_set1_ps(scale);
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (size_t)r * lda;
        uint32_t *dr = dst + (size_t)r * ldd;
        for (int k = 0; k < 2 * K2; k += 32) { /* 32 floats -> 16 pairs */
            const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes(K - k), ar + k), s);
            const __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes(K - k - 16), ar + k + 16), s);
            _mm512_mask_storeu_epi32(dr + k / 2, lanes(K2 - k / 2), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

BF16_TARGET void attention_bf16_pairs_cols(uint32_t *dst, int ldd, const float *a, int lda, int K, int cols,
                                           float scale) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int k = 0; k < K; k += 2) {
        const float *r0 = a + (size_t)k * lda, *r1 = k + 1 < K ? r0 + lda : NULL;
        uint32_t *dr = dst + (size_t)(k / 2) * ldd;
        for (int j = 0; j < ldd; j += 16) {
            const __mmask16 m = lanes(cols - j);
            const __m512i lo = bf16_words(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, r0 + j), s));
            const __m512i hi = r1 ? bf16_words(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, r1 + j), s)) : _mm512_setzero_si512();
            _mm512_storeu_si512(dr + j, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

BF16_TARGET void attention_bf16_pairs_t(uint32_t *dst, int ldd, const float *a, int lda, int n, int K, float scale) {
    const int K2 = (K + 1) / 2;
    const __m512 s = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < ldd; j0 += 16)
        for (int c0 = 0; c0 < K2; c0 += 16) { /* rows j0.., pairs c0..: 16 x 16 words, transposed */
            const __mmask16 m0 = lanes(K - 2 * c0), m1 = lanes(K - 2 * c0 - 16);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                if (j0 + i >= n) {
                    r[i] = _mm512_setzero_ps();
                    continue;
                }
                const float *row = a + (size_t)(j0 + i) * lda + 2 * c0;
                const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, row), s);
                const __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, row + 16), s);
                r[i] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
            }
            transpose16(r);
            for (int i = 0; i < 16 && c0 + i < K2; i++) _mm512_storeu_ps((float *)dst + (size_t)(c0 + i) * ldd + j0, r[i]);
        }
}

/* R (<= 6) rows x CW (<= 4) vectors of c = A B from word pairs. */
INLINE BF16_TARGET void pair_tile(float *c, int ldc, const uint32_t *a2, size_t ars, size_t aks, const uint32_t *b2,
                                  int ldb, int K2, int j0, int cols, const int R, const int CW) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < CW; w++) acc[r][w] = _mm512_setzero_ps();
    for (int k = 0; k < K2; k++) {
        __m512i b[4];
        for (int w = 0; w < CW; w++) b[w] = _mm512_loadu_si512(b2 + (size_t)k * ldb + j0 + 16 * w);
        for (int r = 0; r < R; r++) {
            const __m512i x = _mm512_set1_epi32((int)a2[r * ars + k * aks]);
            for (int w = 0; w < CW; w++) acc[r][w] = _mm512_dpbf16_ps(acc[r][w], (__m512bh)x, (__m512bh)b[w]);
        }
    }
    store_tile(c, ldc, acc, j0, cols, R, CW);
}

/* All rows against CW vectors of columns: the strip of B (K2 x 16 CW words) stays in L1. */
INLINE BF16_TARGET void pair_strip(float *c, int ldc, const uint32_t *a2, size_t ars, size_t aks, const uint32_t *b2,
                                   int ldb, int rows, int cols, int K2, int j0, const int CW) {
    int r = 0;
    for (; r + 6 <= rows; r += 6)
        pair_tile(c + (size_t)r * ldc, ldc, a2 + r * ars, ars, aks, b2, ldb, K2, j0, cols, 6, CW);
    float *cr = c + (size_t)r * ldc;
    const uint32_t *ar = a2 + r * ars;
    switch (rows - r) {
    case 5: pair_tile(cr, ldc, ar, ars, aks, b2, ldb, K2, j0, cols, 5, CW); break;
    case 4: pair_tile(cr, ldc, ar, ars, aks, b2, ldb, K2, j0, cols, 4, CW); break;
    case 3: pair_tile(cr, ldc, ar, ars, aks, b2, ldb, K2, j0, cols, 3, CW); break;
    case 2: pair_tile(cr, ldc, ar, ars, aks, b2, ldb, K2, j0, cols, 2, CW); break;
    case 1: pair_tile(cr, ldc, ar, ars, aks, b2, ldb, K2, j0, cols, 1, CW); break;
    default: break;
    }
}

BF16_TARGET void attention_bf16_product(float *c, int ldc, const uint32_t *a2, size_t ars, size_t aks,
                                        const uint32_t *b2, int ldb, int rows, int cols, int K2) {
    const int nv = attention_simd_padded(cols) / 16;
    int v = 0;
    for (; v + 4 <= nv; v += 4) pair_strip(c, ldc, a2, ars, aks, b2, ldb, rows, cols, K2, 16 * v, 4);
    switch (nv - v) {
    case 3: pair_strip(c, ldc, a2, ars, aks, b2, ldb, rows, cols, K2, 16 * v, 3); break;
    case 2: pair_strip(c, ldc, a2, ars, aks, b2, ldb, rows, cols, K2, 16 * v, 2); break;
    case 1: pair_strip(c, ldc, a2, ars, aks, b2, ldb, rows, cols, K2, 16 * v, 1); break;
    default: break;
    }
}

#else /* no AVX-512 build: the sgemm path is always taken */

int attention_simd_usable(int hd) { (void)hd; return 0; }
size_t attention_simd_pack_floats(int n) { (void)n; return 0; }
void attention_simd_pack_t(float *bt, const float *b, int ldb, int n, int hd, float scale) {
    (void)bt, (void)b, (void)ldb, (void)n, (void)hd, (void)scale;
}
void attention_simd_abt(float *c, int ldc, const float *a, int lda, const float *bt, int rows, int ncols, int hd) {
    (void)c, (void)ldc, (void)a, (void)lda, (void)bt, (void)rows, (void)ncols, (void)hd;
}
void attention_simd_ab(float *c, int ldc, const float *a, size_t ars, size_t aks, const float *b, int ldb, int rows,
                       int K, int hd) {
    (void)c, (void)ldc, (void)a, (void)ars, (void)aks, (void)b, (void)ldb, (void)rows, (void)K, (void)hd;
}

int attention_bf16_usable(int hd) { (void)hd; return 0; }
void attention_bf16_pairs_rows(uint32_t *dst, int ldd, const float *a, int lda, int rows, int K, float scale) {
    (void)dst, (void)ldd, (void)a, (void)lda, (void)rows, (void)K, (void)scale;
}
void attention_bf16_pairs_cols(uint32_t *dst, int ldd, const float *a, int lda, int K, int cols, float scale) {
    (void)dst, (void)ldd, (void)a, (void)lda, (void)K, (void)cols, (void)scale;
}
void attention_bf16_pairs_t(uint32_t *dst, int ldd, const float *a, int lda, int n, int K, float scale) {
    (void)dst, (void)ldd, (void)a, (void)lda, (void)n, (void)K, (void)scale;
}
void attention_bf16_product(float *c, int ldc, const uint32_t *a2, size_t ars, size_t aks, const uint32_t *b2, int ldb,
                            int rows, int cols, int K2) {
    (void)c, (void)ldc, (void)a2, (void)ars, (void)aks, (void)b2, (void)ldb, (void)rows, (void)cols, (void)K2;
}

#endif
