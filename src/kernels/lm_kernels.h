/* Kernels for causal language models (GPT-2, Llama), forward and backward side by side.
 * Row-major float32. As in kernels.h, backward kernels ACCUMULATE into parameter gradients
 * and, where noted, into input gradients; any gradient pointer may be NULL to skip it. */
#ifndef AMOD_LM_KERNELS_H
#define AMOD_LM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* dense.c: y[rows, n_out] (row stride ldy) = x[rows, n_in] @ W + b. W is stored [n_out, n_in]
 * as torch.nn.Linear (w_in_out = 0) or [n_in, n_out] as GPT-2's Conv1D (w_in_out = 1). The
 * stride lets q, k and v land side by side in one buffer. */
void dense_forward(float *y, int ldy, const float *x, const float *w, int w_in_out, const float *b, int rows,
                   int n_in, int n_out);
/* dx[rows, n_in] (+)= dy W^T (accumulate selects +=); dW and db accumulate. */
void dense_backward(float *dx, int accumulate, float *dw, float *db, const float *dy, int ldy, const float *x,
                    const float *w, int w_in_out, int rows, int n_in, int n_out);

/* causal_attention.c: softmax(q k^T / sqrt(hd)) v under the causal mask, with grouped-query
 * attention: query head h reads key/value head h / (H / KV). qkv [B, T, (H + 2 KV) hd] holds
 * q | k | v, head h at column h hd within its part. out [B, T, H hd]. probs [B, H, T, T]
 * (zero above the diagonal) is kept when not NULL. col_sum [B, T], when not NULL, receives
 * the attention each token received, summed over heads and queries. */
void causal_attention_forward(float *out, float *probs, float *col_sum, const float *qkv, int B, int T, int H,
                              int KV, int hd);
/* dqkv (overwritten) from dout [B, T, H hd] and the kept probs. scratch: T * T floats per
 * thread (causal_attention_scratch_floats gives the total for all threads). */
void causal_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int B,
                               int T, int H, int KV, int hd, float *scratch, int scratch_threads);
/* For `threads` threads; the backward runs at most scratch_threads threads (kernel_team). */
size_t causal_attention_scratch_floats(int T, int threads);
/* One query row per head against n cached keys/values [n, KV hd] (the newest included):
 * the decoding step of a KV cache. q [H hd] -> out [H hd]. scratch: n floats. */
void causal_attention_decode(float *out, const float *q, const float *kc, const float *vc, int n, int H, int KV,
                             int hd, float *scratch);

/* rmsnorm.c: out = x / sqrt(mean(x^2) + eps) * w per row (Llama); keeps rstd for backward. */
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int rows, int dim, float eps);
/* dx += RMSNorm'(dout); dw accumulates. */
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *rstd, const float *w,
                      int rows, int dim);

/* rope.c: rotary position embedding as Llama's rotate_half: within each head, element i
 * pairs with i + hd/2 and turns by pos * theta^(-2i/hd). Tables [n_pos, hd/2]. */
void rope_tables(float *cos_t, float *sin_t, int n_pos, int hd, float theta);
/* Rotates nh heads of each of rows rows (row stride ld) in place, row r at position pos[r].
 * inverse turns back: the backward pass of a rotation is its inverse. */
void rope_apply(float *x, int ld, int rows, int nh, int hd, const int32_t *pos, const float *cos_t,
                const float *sin_t, int inverse);

/* gelu_tanh.c: GPT-2's "gelu_new", 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void gelu_tanh_forward(float *out, const float *x, size_t n);
/* dx = dout * GELU'(x) (overwrites; dx may alias dout). */
void gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n);

/* swiglu.c: Llama's MLP activation, a = silu(gate) * up. */
void swiglu_forward(float *a, const float *gate, const float *up, size_t n);
/* dgate, dup overwritten from da. */
void swiglu_backward(float *dgate, float *dup, const float *da, const float *gate, const float *up, size_t n);

/* token_embed.c: x[b, t] = wte[ids[b, t]] (+ wpe[pos0 + t] when wpe is not NULL). */
void token_embed_forward(float *x, const int64_t *ids, const float *wte, const float *wpe, int B, int T, int pos0,
                         int D);
void token_embed_backward(float *dwte, float *dwpe, const float *dx, const int64_t *ids, int B, int T, int D);

/* lm_loss.c: mean next-token cross-entropy: row (b, t) of logits [B, T, V] predicts
 * ids[b, t + 1] for t < T - 1. dlogits (when not NULL) receives the gradient of the mean,
 * zero in the last row of each sequence. Ids must be in range (checked by the caller). */
double lm_cross_entropy(float *dlogits, const float *logits, const int64_t *ids, int B, int T, int V);
/* Mean binary cross-entropy with logits z against targets in {0, 1}; dz (when not NULL)
 * receives scale times the gradient of the mean. *correct counts (z > 0) == target. */
double bce_with_logits(float *dz, const float *z, const float *target, int n, float scale, int *correct);

#endif
