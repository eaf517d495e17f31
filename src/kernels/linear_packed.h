/* Linear layers on oneDNN's matmul with the weights packed once into its blocked layout, and
 * the bias, a residual add or GELU applied as the product is stored (no extra pass over the
 * output). Packing the weights on every call is what a plain sgemm does: at batch 1 and in
 * MoD layers (a few dozen rows) it costs more than the product (docs/BENCHMARKS.md).
 *
 * A linear_engine belongs to one model: it keeps the packed copies of that model's weights
 * and the primitives for the shapes seen. Packed copies are refreshed after
 * linear_engine_weights_changed(). Calls may come from inside an OpenMP region, each thread
 * with its own rows (they then run on the calling thread). */
#ifndef AMOD_KERNELS_LINEAR_PACKED_H
#define AMOD_KERNELS_LINEAR_PACKED_H

#include <stddef.h>
#include <stdint.h>

typedef struct linear_engine linear_engine;

typedef enum linear_epilogue {
    LINEAR_BIAS = 0,     /* out = in w^T + b */
    LINEAR_BIAS_ADD = 1, /* out = in w^T + b + residual (out may be residual) */
    LINEAR_BIAS_GELU = 2 /* out = GELU(in w^T + b), exact (erf) GELU */
} linear_epilogue;

typedef enum linear_precision {
    LINEAR_F32 = 0, /* float32 throughout: the reference */
    LINEAR_BF16 = 1 /* inputs and weights rounded to bfloat16, products accumulated in float32
                       (AVX-512 BF16 / AMX) */
} linear_precision;

/* NULL when the packed path is not available: no oneDNN in the build, or the matrix-product
 * plan is OpenBLAS (AMOD_GEMM=openblas). Callers then use linear_forward. */
linear_engine *linear_engine_create(void);
void linear_engine_free(linear_engine *e);
/* The weights were written: packed copies are made again on their next use. */
void linear_engine_weights_changed(linear_engine *e);
/* The weights moved (the model's parameter storage was allocated anew): every packed copy is
 * dropped, since a copy made again would read its old, freed address. Not while a forward runs. */
void linear_engine_forget(linear_engine *e);
/* Packs again, now, every weight packed before whose copy is stale: called before a parallel
 * region, so that its threads find current copies without taking the engine's lock. */
void linear_engine_refresh(linear_engine *e);
/* out[rows, n_out] as the epilogue says, w [n_out, n_in] (PyTorch's layout), b may be NULL.
 * 0, or -1 when oneDNN refused the shape (the caller falls back to linear_forward). */
int linear_packed_forward(linear_engine *e, float *out, const float *in, const float *w, const float *b,
                          const float *residual, linear_epilogue epi, linear_precision prec, int rows, int n_in,
                          int n_out);

/* The same product on inputs already in bfloat16 (rounded to nearest even, bf16.h): the
 * bfloat16 copy a training forward pass keeps for its backward. */
int linear_packed_forward16(linear_engine *e, float *out, const uint16_t *in16, const float *w, const float *b,
                            const float *residual, linear_epilogue epi, int rows, int n_in, int n_out);

/* The operands of a mixed-precision linear backward, each given once: in float32 (rounded
 * here) or already in bfloat16 (a copy kept by the forward pass, or written by the producer
 * of the gradient, as GELU's backward does). */
typedef struct {
    const float *dout;      /* [rows, n_out] float32, or NULL when dout16 is given */
    const uint16_t *dout16; /* [rows, n_out] bfloat16 */
    const float *in;        /* [rows, n_in] float32, or NULL when in16 is given (or without dw) */
    const uint16_t *in16;
} linear_bf16_operands;

/* The backward of a linear layer with its two products in bfloat16 (mixed-precision training:
 * the float32 gradient and input rounded for the product, accumulated in float32):
 * din = dout w (overwritten), dw += dout^T in, db += column sums of dout (in float32, so db
 * needs x->dout: with x->dout16 the caller sums its own). din, dw or db may be NULL. work holds
 * linear_bf16_work_floats(rows, n_in, n_out) floats. Called outside parallel regions (oneDNN
 * threads the products itself). 0, or -1 when oneDNN refused a shape or the operands are not
 * given as said, with nothing written (the caller falls back to linear_backward). */
int linear_bf16_backward(linear_engine *e, float *din, float *dw, float *db, const linear_bf16_operands *x,
                         const float *w, int rows, int n_in, int n_out, float *work);
size_t linear_bf16_work_floats(int rows, int n_in, int n_out);
/* Makes the primitives of linear_bf16_backward for the shape now: 0 when oneDNN took them
 * (a backward of several products can then check them all before writing anything). */
int linear_bf16_prepare(linear_engine *e, int rows, int n_in, int n_out);

#endif
