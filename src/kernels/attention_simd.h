/* Attention's per-head products on AVX-512 (attention_simd.c), chosen at run time from the
 * CPU's features; attention.c falls back to sgemm where they are not usable. */
#ifndef AMOD_KERNELS_ATTENTION_SIMD_H
#define AMOD_KERNELS_ATTENTION_SIMD_H

#include <stddef.h>

#define ATTENTION_SIMD_MAX_HD 64

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

#endif
