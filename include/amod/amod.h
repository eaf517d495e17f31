/* amod: Mixture-of-Depths transformers in C.
 *
 * The public API. A model is an opaque handle that owns its parameters, gradients and
 * activation buffers; every call that can fail takes an amod_error and returns 0 on
 * success or -1 with a one-line message in err->msg. */
#ifndef AMOD_AMOD_H
#define AMOD_AMOD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AMOD_MAX_LAYERS 64

#include "amod/error.h"
#include "amod/export.h"

/* Which router picks the tokens of a MoD layer (SPEC.md, "Routers"). */
typedef enum amod_router {
    AMOD_ROUTER_NONE = 0, /* dense: every layer processes every token */
    AMOD_ROUTER_ATTENTION, /* A-MoD: attention received in the previous (dense) layer */
    AMOD_ROUTER_LINEAR,    /* Raposo et al.: r = x . w, output scaled by r */
    AMOD_ROUTER_RANDOM,    /* uniform random scores: a baseline */
} amod_router;

/* Naming convention of a checkpoint's tensors. */
typedef enum amod_naming { AMOD_NAMING_TIMM = 0, AMOD_NAMING_HF = 1 } amod_naming;

typedef enum amod_pool { AMOD_POOL_TOKEN = 0, AMOD_POOL_AVG = 1 } amod_pool;

/* Shape of a ViT/DeiT (timm VisionTransformer). */
typedef struct amod_vit_config {
    char arch[64];      /* timm architecture name, "vit_custom" when given by model_args */
    int img_size;       /* square input, pixels */
    int patch_size;
    int in_chans;
    int num_classes;
    int embed_dim;      /* D */
    int depth;          /* L */
    int num_heads;      /* H */
    int mlp_hidden;     /* hidden width of the MLP (mlp_ratio * D) */
    int qkv_bias;       /* 1 when q, k, v projections have a bias */
    int num_prefix;     /* P: 1 for the CLS token */
    amod_pool pool;     /* classifier input: CLS token or mean of patch tokens */
    float ln_eps;       /* LayerNorm epsilon: 1e-6 timm, layer_norm_eps for HF */
    float mean[3], std[3]; /* input normalisation (pretrained_cfg) */
    amod_naming naming; /* names used when the checkpoint was loaded */
} amod_vit_config;

/* Where and how Mixture-of-Depths routes. */
typedef struct amod_mod_config {
    amod_router router;
    float capacity;                        /* C in (0, 1] */
    unsigned char is_mod[AMOD_MAX_LAYERS]; /* 1 for a MoD layer */
    uint64_t seed;                         /* for the random router */
} amod_mod_config;

/* Number of tokens N = P + (img/patch)^2. */
AMOD_API int amod_vit_num_tokens(const amod_vit_config *cfg);
/* Tokens a MoD layer processes: k = ceil(C N), at least P. */
AMOD_API int amod_mod_tokens(float capacity, int n_tokens, int n_prefix);

/* Placement helpers: MoD layers S, S+2, ... (SPEC.md) or an explicit list "1,3,5". */
AMOD_API void amod_mod_set_start(amod_mod_config *mod, int depth, int start);
AMOD_API int amod_mod_set_list(amod_mod_config *mod, int depth, const char *list, amod_error *err);
/* Checks capacity, placement and router against the model (e.g. A-MoD needs a dense previous layer). */
AMOD_API int amod_mod_validate(const amod_mod_config *mod, const amod_vit_config *cfg, amod_error *err);
AMOD_API const char *amod_router_name(amod_router r);
AMOD_API int amod_router_parse(const char *s, amod_router *out);

/* Named architectures (timm names and shapes), for random initialisation. */
AMOD_API int amod_vit_preset(const char *name, amod_vit_config *cfg, amod_error *err);

/* ---- models ---- */
typedef struct amod_vit amod_vit;

/* Reads config.json + model.safetensors from a directory (timm or Hugging Face files). */
AMOD_API amod_vit *amod_vit_load(const char *dir, amod_error *err);
/* A randomly initialised model (timm's init: trunc normal 0.02, zero biases). */
AMOD_API amod_vit *amod_vit_create(const amod_vit_config *cfg, uint64_t seed, amod_error *err);
AMOD_API void amod_vit_free(amod_vit *m);
AMOD_API const amod_vit_config *amod_vit_get_config(const amod_vit *m);
AMOD_API const amod_mod_config *amod_vit_get_mod(const amod_vit *m);

/* Sets MoD routing. For the linear router this adds blocks.{l}.router.weight parameters,
 * initialised from a truncated normal (std 0.02, seeded by mod->seed) unless loaded later
 * with amod_vit_load_params. */
AMOD_API int amod_vit_set_mod(amod_vit *m, const amod_mod_config *mod, amod_error *err);
/* Loads any tensors of a safetensors file whose (timm) names match parameters. Every
 * tensor in the file must match a parameter by name and shape. */
AMOD_API int amod_vit_load_params(amod_vit *m, const char *path, amod_error *err);
/* Writes parameters with timm names (and config.json beside, when dir is given). Atomic. */
AMOD_API int amod_vit_save(const amod_vit *m, const char *dir, amod_error *err);

/* Forward pass on a batch of B images [B, C, H, W] (already normalised). Writes logits
 * [B, num_classes]. When labels is not NULL, *loss receives the mean cross-entropy. Keeps
 * what the backward pass needs. keep_attn keeps the attention maps of dense layers. */
/* Initialisation: chooses the matrix-product path from the CPU's instruction sets (oneDNN, or
 * OpenBLAS with the kernel set the CPU allows; AMOD_GEMM=onednn|openblas asks for one) and, on
 * the OpenBLAS path, selects OpenBLAS's kernels, which means setting OPENBLAS_CORETYPE for the
 * moment of its re-detection and putting the caller's value back. Call it once, before any
 * other amod function and before starting threads; -1 for an impossible AMOD_GEMM. A program
 * that does not call it gets the path chosen on first use, with the environment untouched. */
AMOD_API int amod_init(amod_error *err);

/* Run contexts (as llama.cpp separates llama_context from llama_model): a context owns the
 * activations, scratch and per-run state of forward and backward passes on a model, sized for
 * its batch and thread count; several contexts may run on one model at once, from different
 * threads (each forward then runs its own OpenMP team). The model-level calls below
 * (amod_vit_forward, amod_vit_backward, ...) use the model's own default context. Changing the
 * model's routing (amod_vit_set_mod) makes every context carve its buffers again on its next
 * forward. Gradients go to the model's one gradient buffer: run backward on one context at a
 * time.
 * Signals: oneDNN 2.6's float32 kernels run with the stack pointer in a heap buffer, where a
 * signal handler's frame would corrupt the heap, so amod holds the asynchronous signals on a
 * thread for the length of each oneDNN call and on its OpenMP workers for good: they are
 * handled on the caller's thread between calls (or on the program's other threads), never
 * inside a kernel; faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) are
 * not held. */
typedef struct amod_vit_ctx amod_vit_ctx;
typedef struct amod_vit_ctx_params {
    int grads;          /* keep what backward needs (default 0: inference) */
    int keep_attention; /* keep every layer's attention map (default 0) */
    int threads;        /* OpenMP threads for this context's passes; 0: the calling thread's count */
} amod_vit_ctx_params;
AMOD_API amod_vit_ctx_params amod_vit_ctx_default_params(void);
AMOD_API amod_vit_ctx *amod_vit_ctx_create(amod_vit *m, const amod_vit_ctx_params *p, amod_error *err);
AMOD_API void amod_vit_ctx_free(amod_vit_ctx *c);
/* The context's gradients, laid out like amod_vit_params (backward accumulates into them;
 * zero them between steps): NULL for a context without gradients. amod_vit_grads is the
 * model's own context's. */
AMOD_API float *amod_vit_ctx_grads(amod_vit_ctx *c);
/* The model a context runs (read-only while it runs). */
AMOD_API amod_vit *amod_vit_ctx_model(const amod_vit_ctx *c);
/* As amod_vit_forward / amod_vit_backward, on this context. */
AMOD_API int amod_vit_ctx_forward(amod_vit_ctx *c, const float *images, int batch, const int64_t *labels, float *logits,
                         float *loss, amod_error *err);
/* The same with soft targets [batch, num_classes] (rows summing to 1: mixup, cutmix, label
 * smoothing): the loss is timm's SoftTargetCrossEntropy, and backward follows it. */
AMOD_API int amod_vit_ctx_forward_soft(amod_vit_ctx *c, const float *images, int batch, const float *targets,
                                       float *logits, float *loss, amod_error *err);
AMOD_API int amod_vit_ctx_backward(amod_vit_ctx *c, amod_error *err);

AMOD_API int amod_vit_forward(amod_vit *m, const float *images, int batch, const int64_t *labels,
                     float *logits, float *loss, amod_error *err);
/* amod_vit_ctx_forward_soft on the model's own context. */
AMOD_API int amod_vit_forward_soft(amod_vit *m, const float *images, int batch, const float *targets, float *logits,
                                   float *loss, amod_error *err);
/* Forward pass of the dense model (router none) on a subset of each image's tokens: sequence
 * b holds the n_keep tokens keep[b * n_keep ...] (indices into the full sequence: the prefix
 * tokens 0..P-1 first, then strictly increasing), with the position embeddings of the full
 * sequence. Writes logits [B, num_classes] and, with labels, losses [B] (the cross-entropy
 * of each image); either may be NULL. Leave-one-out importance uses it; no backward after it,
 * and the attention, block output and routing getters return NULL until the next forward. */
AMOD_API int amod_vit_forward_tokens(amod_vit *m, const float *images, int batch, const int32_t *keep, int n_keep,
                            const int64_t *labels, float *logits, float *losses, amod_error *err);
/* Backward pass of the last forward (which must have had labels): accumulates into the
 * gradients (call amod_vit_zero_grad first). */
AMOD_API int amod_vit_backward(amod_vit *m, amod_error *err);
AMOD_API void amod_vit_zero_grad(amod_vit *m);
/* Asks the next forward passes to keep attention probabilities [B, H, N, N] of dense layers. */
AMOD_API void amod_vit_keep_attention(amod_vit *m, int keep);

/* Which calls invalidate which pointers:
 * - amod_vit_attention, _block_output, _routed, _scores point into the default context's
 *   buffers: valid until the next forward, amod_vit_set_grad_enabled, amod_vit_keep_attention
 *   or amod_vit_set_mod (they return NULL for a layer out of range, a map not kept, or buffers
 *   made for another routing).
 * - amod_vit_params and amod_vit_grads: valid until amod_vit_set_mod adds or removes router
 *   tensors (the parameter buffer is laid out again) or amod_vit_free.
 * - amod_vit_get_config / _get_mod: valid for the model's life; _get_mod changes with set_mod. */
/* Attention probabilities of layer l from the last forward, or NULL when not kept. */
AMOD_API const float *amod_vit_attention(const amod_vit *m, int layer);
/* Output of block l [B, N, D] from the last forward. */
AMOD_API const float *amod_vit_block_output(const amod_vit *m, int layer);
/* Token indices kept by MoD layer l in the last forward: [B, k], *k set; NULL for dense. */
AMOD_API const int32_t *amod_vit_routed(const amod_vit *m, int layer, int *k);
/* Router scores of MoD layer l in the last forward [B, N]; NULL for dense. */
AMOD_API const float *amod_vit_scores(const amod_vit *m, int layer);

/* Forward passes keep what backward needs (default). With 0, inference only: attention maps
 * are not stored, and A-MoD scores come from column sums accumulated inside attention. */
AMOD_API void amod_vit_set_grad_enabled(amod_vit *m, int enabled);

/* Names of tensor i in the checkpoint's own convention: timm names are one tensor; Hugging
 * Face splits qkv in three row blocks. style 0: the names in HF files
 * (vit.encoder.layer.N...), style 1: transformers 5 module names (vit.layers.N...).
 * Returns the number of parts; part j covers rows row0[j] .. row0[j]+rows[j]-1. */
AMOD_API int amod_vit_export_names(const amod_vit *m, int tensor, int style, char names[3][128],
                          size_t row0[3], size_t rows[3]);

/* Parameters, in a fixed order, one contiguous buffer (and its gradient buffer). */
AMOD_API size_t amod_vit_num_params(const amod_vit *m);
/* Writable parameters; taking this pointer counts as changing the weights (their packed
 * copies for inference are made again on the next forward). A program that keeps the pointer
 * and writes through it later calls amod_vit_weights_changed() before the next forward. */
AMOD_API float *amod_vit_params(amod_vit *m);
AMOD_API void amod_vit_weights_changed(amod_vit *m);

/* Precision of the transformer blocks' linear layers, in inference and training. bf16 rounds
 * their inputs, weights and (in training) output gradients to bfloat16 for the products and
 * accumulates in float32: mixed precision, with float32 master weights, optimizer state,
 * attention, normalisation and loss. It needs oneDNN and a CPU with AVX-512 BF16 or AMX, and
 * fails with a message otherwise. float32 is the default and the reference. */
typedef enum amod_precision { AMOD_PRECISION_F32 = 0, AMOD_PRECISION_BF16 = 1 } amod_precision;
AMOD_API int amod_vit_set_precision(amod_vit *m, amod_precision p, amod_error *err);
AMOD_API float *amod_vit_grads(amod_vit *m);
AMOD_API int amod_vit_num_tensors(const amod_vit *m);
/* Name (timm naming), shape (returns ndim) and offset of parameter tensor i; for i outside
 * 0..amod_vit_num_tensors-1: NULL, -1 and SIZE_MAX. */
AMOD_API const char *amod_vit_tensor_name(const amod_vit *m, int i);
AMOD_API int amod_vit_tensor_shape(const amod_vit *m, int i, int64_t shape[4]);
AMOD_API size_t amod_vit_tensor_offset(const amod_vit *m, int i);

/* Class names, saved in config.json as timm's label_names (read from it, or from Hugging
 * Face's id2label): n must be the model's num_classes; NULL removes them. */
AMOD_API int amod_vit_set_labels(amod_vit *m, const char *const *names, int n, amod_error *err);
/* Transfer learning: a new model like src with num_classes classes (0: src's), whose
 * classifier is freshly initialised when the count changes (as timm's reset_classifier), and
 * inputs of img_size pixels (0: src's), whose position embedding is resampled as timm's
 * resample_abs_pos_embed does (bicubic, antialiased); every other tensor and the routing are
 * copied. seed initialises what is new. */
AMOD_API amod_vit *amod_vit_reshape(const amod_vit *src, int num_classes, int img_size, uint64_t seed,
                                    amod_error *err);
/* Layer dropping (the depth-pruning baseline of MoD comparisons): a dense model like src
 * without the blocks l where drop[l] is 1, the others renumbered in order, every other tensor
 * copied; routers are not kept. Fails when nothing or everything would be dropped. */
AMOD_API amod_vit *amod_vit_drop_layers(const amod_vit *src, const unsigned char drop[AMOD_MAX_LAYERS],
                                        amod_error *err);
/* Class k's name, or NULL when the model has none. */
AMOD_API const char *amod_vit_label(const amod_vit *m, int k);

/* ---- additions: preset listing ---- */

/* The timm name config.json's "architecture" gets: cfg's own when timm registers it, else a
 * registered ViT (vit_tiny_patch16_224, ...) that the saved model_args specialise, so that
 * timm.create_model opens amod's checkpoints. */
AMOD_API const char *amod_vit_timm_architecture(const amod_vit_config *cfg);
/* Name of preset i (0, 1, ...), or NULL past the last one: for help texts and tests. */
AMOD_API const char *amod_vit_preset_name(int i);

/* ---- additions: training ---- */

/* State of the generator the random router draws from, so that a resumed training run
 * draws the same scores as an uninterrupted one. amod_vit_set_mod reseeds it. */
AMOD_API uint64_t amod_vit_rng_state(const amod_vit *m);
AMOD_API void amod_vit_set_rng_state(amod_vit *m, uint64_t state);

#ifdef __cplusplus
}
#endif
#endif
