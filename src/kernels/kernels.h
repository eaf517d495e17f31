/* Tensor kernels, forward and backward side by side. Row-major float32 throughout.
 * Backward kernels ACCUMULATE into parameter gradients (dw, db) and, where noted, into the
 * input gradient, so that residual branches can add up without extra buffers. */
#ifndef AMOD_KERNELS_H
#define AMOD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Work (multiply-adds or element operations) below which a kernel stays on one thread:
 * forking costs microseconds, and far more when another process holds the other core. On a
 * combined `parallel for simd` the clause must be `if (parallel : ...)`: a plain `if` applies
 * to the simd construct too (OpenMP 5.0) and a small loop then runs scalar (GELU's backward
 * 8.6x slower below the threshold; tests/test_openmp_clauses.sh checks the sources). */
#define AMOD_PAR_MIN_WORK 32768

/* This OpenMP thread's contiguous share [lo, hi) of n items (the whole range outside a
 * parallel region). */
void kernel_share(int n, int *lo, int *hi);

/* matmul.c: out[rows, n_out] = in[rows, n_in] @ w[n_out, n_in]^T + b (b may be NULL). */
void linear_forward(float *out, const float *in, const float *w, const float *b, int rows, int n_in,
                    int n_out);
/* din (+)= dout @ w (accumulate_din selects +=); dw += dout^T @ in; db += column sums of dout.
 * Any of din, dw, db may be NULL to skip it. */
void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int rows, int n_in, int n_out, int accumulate_din);

/* out[r] = x[r] . w for rows of dim: a router's scores (a product with one output column,
 * which a GEMM library handles as a GEMM: a parallel region and packing for a dot product). */
void rows_dot(float *out, const float *x, const float *w, int rows, int dim);

/* layernorm.c: out = (x - mean) * rstd * w + b per row; keeps mean and rstd for backward. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                       const float *b, int rows, int dim, float eps);
/* dx += LN'(dout); dw, db accumulate. */
void layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                        const float *mean, const float *rstd, const float *w, int rows, int dim);

/* gelu.c: exact GELU, 0.5 x (1 + erf(x / sqrt 2)). */
void gelu_forward(float *out, const float *x, size_t n);
/* dx = dout * GELU'(x) (overwrites dx; dx may alias dout). */
void gelu_backward(float *dx, const float *dout, const float *x, size_t n);
/* Mixed-precision training: GELU(x) stored in bfloat16 only (the next product's input), and
 * GELU's backward into the next backward product's bfloat16 operand, dx16 = bf16(dout *
 * GELU'(x)) over [rows, cols], with db += the column sums of the float32 dx (that layer's bias
 * gradient): one pass where gelu_backward and the rounding took two. */
void gelu_forward_bf16(uint16_t *out16, const float *x, size_t n);
void gelu_backward_bf16_sums(uint16_t *dx16, float *db, const float *dout, const float *x, int rows, int cols);

/* attention.c: multi-head softmax attention over qkv [B, n, 3D] laid out as timm's
 * (q | k | v, head h at columns h*hd). out [B, n, D]. probs [B, H, n, n] is kept when not
 * NULL (training needs it). col_sum, when not NULL, receives [B, n] the attention each token
 * received, summed over heads and query rows (A-MoD's score times H n); it is computed from
 * the probabilities in the same pass, so the map need not be stored. When probs is NULL,
 * the rows are processed in blocks: memory linear in n, not quadratic. scratch holds a block
 * and a transposed k per thread (attention_tile_floats in all); it may be NULL when probs is
 * kept, which runs the products on sgemm. bf16: the products in bfloat16 (float32 accumulation,
 * scores, softmax and sums) where the CPU has AVX-512 BF16 and scratch is given, else ignored. */
void attention_forward(float *out, float *probs, float *col_sum, const float *qkv, int B, int n,
                       int D, int H, int bf16, float *scratch, int scratch_threads);
/* dqkv (overwritten) from dout [B, n, D], using the kept probs. scratch: two n x n tiles and
 * a transposed v per thread (attention_scratch_floats gives the total). */
void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int B,
                        int n, int D, int H, int bf16, float *scratch, int scratch_threads);
/* Scratch sizes for `threads` threads. The kernels run at most scratch_threads threads (the
 * count the scratch was sized for), so raising OpenMP's thread count after the scratch was
 * made never writes past it. */
size_t attention_scratch_floats(int n, int threads);
size_t attention_tile_floats(int n, int threads);
/* The team for a kernel whose scratch holds scratch_threads slices: OpenMP's count, capped. */
int kernel_team(int scratch_threads);

/* embed.c: patch embedding as a matrix product on unfolded patches, plus prefix tokens and
 * position embedding. images [B, C, S, S] -> x [B, N, D] with N = P + (S/p)^2. cols is
 * scratch [B * np, C p p], kept for the weight gradient. */
void patch_unfold(float *cols, const float *images, int B, int C, int S, int p);
void embed_forward(float *x, float *patch_out, const float *cols, const float *w, const float *b,
                   const float *cls, const float *pos, int B, int np, int cpp, int D);
void embed_backward(float *dw, float *db, float *dcls, float *dpos, const float *dx,
                    const float *cols, float *dpatch_scratch, int B, int np, int cpp, int D);

/* loss.c: mean cross-entropy over B rows of logits [B, K]; dlogits (when not NULL) is the
 * gradient of the mean. Returns -1 when a label is out of range. */
int cross_entropy(float *loss, float *dlogits, const float *logits, const int64_t *labels, int B,
                  int K);
/* Soft targets (timm's SoftTargetCrossEntropy: mixup, cutmix, label smoothing): the mean over
 * rows of sum_k t_k (-log softmax(z)_k), targets [B, K]; dlogits (when not NULL) its gradient. */
void soft_cross_entropy(float *loss, float *dlogits, const float *logits, const float *targets, int B, int K);
/* The cross-entropy of each row: losses [B]. Labels must be in range. */
void cross_entropy_rows(float *losses, const float *logits, const int64_t *labels, int B, int K);

/* route.c: token selection and movement for Mixture-of-Depths. */
/* For each batch row: the P prefix tokens, then the k-P best-scoring others, in original
 * order. scores [B, N] -> idx [B, k]. Ties go to the lower index. */
void route_select(int32_t *idx, const float *scores, int B, int N, int k, int P);
void route_gather(float *out, const float *x, const int32_t *idx, int B, int N, int k, int D);
/* x[b, idx[b, j]] = rows[b, j] for every selected row. */
void route_scatter(float *x, const float *rows, const int32_t *idx, int B, int N, int k, int D);
/* x[b, idx[b, j]] += rows[b, j] for every selected row. */
void route_scatter_add(float *x, const float *rows, const int32_t *idx, int B, int N, int k, int D);
/* The MoD layer's output: out = x [B, N, D], then x + s (y - x) on every selected row, where
 * y [B, k, D] is the block's output on the gathered rows and s the row's router score
 * (scores [B, N]; NULL: s = 1, as for A-MoD and the random router). */
void route_combine(float *out, const float *x, const float *y, const int32_t *idx, const float *scores, int B,
                   int N, int k, int D);
/* Backward of route_combine for dout [B, N, D]: dx [B, N, D] for the path around the block,
 * dy [B, k, D] for the block. With scores, from the linear router r = x . w: the scores'
 * gradient also goes into dx (ds w) and, when dw is not NULL, into the router weight (ds x). */
void route_combine_backward(float *dx, float *dy, float *dw, const float *dout, const float *x, const float *y,
                            const int32_t *idx, const float *scores, const float *w, int B, int N, int k, int D);

/* small helpers */
/* sums[c] += sum over rows of x[r, c] */
void column_sums_add(float *sums, const float *x, int rows, int cols);
/* sums[b] += rows[b][0] + rows[b][1] + ... + rows[b][per_image - 1], row by row in that order,
 * for b < B (rows [B, per_image, n]): per-task partial column sums added up in a fixed order,
 * whichever thread made them. A worksharing loop: call it from every thread of a parallel
 * region (or outside one). */
void column_rows_add(float *sums, const float *rows, int B, int per_image, int n);
void add_inplace(float *y, const float *x, size_t n);

#endif
