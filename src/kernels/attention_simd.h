/* Attention's per-head products on AVX-512 (attention_simd.c), chosen at run time from the
 * CPU's features; attention.c falls back to sgemm where they are not usable. */
#ifndef AMOD_KERNELS_ATTENTION_SIMD_H
#define AMOD_KERNELS_ATTENTION_SIMD_H

#include <stddef.h>
#include <stdint.h>

#define ATTENTION_SIMD_MAX_HD 64

/* n rounded up to whole vectors of 16 floats: the row length of a packed operand. */
static inline int attention_simd_padded(int n) { return (n + 15) / 16 * 16; }

/* 1 when this CPU has AVX-512 F and the head size is 16, 32, 48 or 64. */
int attention_simd_usable(int hd);
/* Floats of one transposed operand of n rows (attention_simd_pack_t), at any usable hd. */
size_t attention_simd_pack_floats(int n);
/* bt [hd][npad] = scale b^T for b [n, hd] at row stride ldb; npad = n rounded up to 16, zero
 * padded. (The scale rides on the packing, so the product below needs no register for it.) */
void attention_simd_pack_t(float *bt, const float *b, int ldb, int n, int hd, float scale);
/* c [rows, ncols] (row stride ldc) = a b^T: a [rows, hd] at row stride lda, b packed by
 * attention_simd_pack_t with n = ncols. */
void attention_simd_abt(float *c, int ldc, const float *a, int lda, const float *bt, int rows, int ncols, int hd);
/* c [rows, hd] (row stride ldc) = a b: a's element (r, k) at a[r * ars + k * aks] (so a
 * transposed operand is only a swap of strides), b [K, hd] at row stride ldb. */
void attention_simd_ab(float *c, int ldc, const float *a, size_t ars, size_t aks, const float *b, int ldb, int rows,
                       int K, int hd);

/* bfloat16 products (AVX-512 BF16: vdpbf16ps, float32 accumulation). Operands are 32-bit words
 * of two bf16 each, the even inner index in the low half, rounded to nearest even, pads zero. */
/* 1 when attention_simd_usable(hd) and the CPU has AVX-512 BF16. */
int attention_bf16_usable(int hd);
/* dst[r * ldd + k2] = (a[r][2 k2], a[r][2 k2 + 1]) scaled, for a [rows, K] at row stride lda:
 * pairs along a row (an A operand read by rows). */
void attention_bf16_pairs_rows(uint32_t *dst, int ldd, const float *a, int lda, int rows, int K, float scale);
/* dst[k2 * ldd + j] = (a[2 k2][j], a[2 k2 + 1][j]) scaled, for a [K, cols]; columns cols..ldd-1
 * zero (ldd a multiple of 16): a B operand, or an A operand read transposed. */
void attention_bf16_pairs_cols(uint32_t *dst, int ldd, const float *a, int lda, int K, int cols, float scale);
/* dst[k2 * ldd + j] = (a[j][2 k2], a[j][2 k2 + 1]) scaled, for a [n, K]; columns n..ldd-1 zero
 * (ldd a multiple of 16): a^T as a B operand. */
void attention_bf16_pairs_t(uint32_t *dst, int ldd, const float *a, int lda, int n, int K, float scale);
/* c [rows, cols] (row stride ldc) = A B over K2 pairs: A's pair (r, k2) at a2[r * ars + k2 * aks],
 * B's pair (k2, j) at b2[k2 * ldb + j], ldb >= cols rounded up to 16 (those columns zero). */
void attention_bf16_product(float *c, int ldc, const uint32_t *a2, size_t ars, size_t aks, const uint32_t *b2, int ldb,
                            int rows, int cols, int K2);

#endif
