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

/* n rounded up to whole vectors: the row length of a packed operand */
static int padded(int n) { return (n + 15) / 16 * 16; }

size_t attention_simd_pack_floats(int n) { return (size_t)ATTENTION_SIMD_MAX_HD * (size_t)padded(n); }

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
    const int npad = padded(n);
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
    for (int w = 0; w < CW; w++) {
        const int j = j0 + 16 * w, left = ncols - j;
        const __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + j, m, acc[r][w]);
    }
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
    const int npad = padded(ncols), nv = npad / 16;
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

#endif
