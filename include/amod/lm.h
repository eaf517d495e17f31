/* amod language models: Hugging Face GPT2LMHeadModel and LlamaForCausalLM, dense or with
 * causal Mixture-of-Depths (Raposo et al.), causal A-MoD, or Router-Tuning's MindSkip.
 *
 * Parameters live in one contiguous buffer under their Hugging Face names and shapes (GPT-2's
 * Conv1D weights stay [in, out]), so gradients export as grad.{name} without reshuffling.
 * Every call that can fail takes an amod_error and returns 0, or -1 with a one-line message. */
#ifndef AMOD_LM_H
#define AMOD_LM_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"
#include "amod/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum amod_lm_arch { AMOD_LM_GPT2 = 0, AMOD_LM_LLAMA = 1 } amod_lm_arch;

/* Shape of a causal language model (config.json of GPT-2 or Llama). */
typedef struct amod_lm_config {
    amod_lm_arch arch;
    int vocab_size;     /* V */
    int d_model;        /* D */
    int n_layers;       /* L */
    int n_heads;        /* H query heads */
    int n_kv_heads;     /* key/value heads: H for GPT-2, fewer for grouped-query attention */
    int head_dim;       /* hd */
    int d_ff;           /* MLP hidden width */
    int max_positions;  /* n_positions / max_position_embeddings: the longest sequence */
    float norm_eps;     /* LayerNorm (GPT-2) or RMSNorm (Llama) epsilon */
    float rope_theta;   /* Llama rotary base */
    int tie_embeddings; /* head reuses the token embedding */
    int attn_bias;      /* q, k, v and output projections have biases (always for GPT-2) */
    int mlp_bias;       /* MLP projections have biases (always for GPT-2) */
} amod_lm_config;

/* Causal Mixture-of-Depths on the layers marked in is_mod (amod_mod_set_start/_list place
 * them; the default start 1 gives every other layer).
 *  - AMOD_ROUTER_LINEAR (Raposo et al.): r = x . w on the block input, top-k = ceil(C T) over
 *    the sequence, the chosen tokens run the block in their original order under the causal
 *    mask (Llama's rotary positions stay the original ones), and out = x + r (block(x) - x).
 *    A causal predictor (Linear(D, P), ReLU, Linear(P, 1) on a stop-gradient copy of x) is
 *    trained with binary cross-entropy to say whether a token is in the top-k; sampling and
 *    AMOD_LM_ROUTE_PREDICTOR use it because the top-k needs the future.
 *  - AMOD_ROUTER_ATTENTION (A-MoD): score_i = attention token i received in the previous
 *    (dense) layer, summed over heads and queries and divided by H (T - i), the number of
 *    (head, query) pairs that can see it under the causal mask; no output scaling.
 *  - AMOD_ROUTER_RANDOM: uniform scores, a baseline. */
typedef enum amod_lm_route_mode {
    AMOD_LM_ROUTE_TOPK = 0,  /* training and evaluation: top-k over the whole sequence */
    AMOD_LM_ROUTE_PREDICTOR, /* causal: a token runs the block when its predictor logit exceeds the layer's threshold */
} amod_lm_route_mode;

/* Router-Tuning's MindSkip: a router Linear(D, 1, bias=False) per routed layer on the
 * sequence-mean of the normed block input; sigmoid > 0.5 keeps the attention sublayer for the
 * whole sequence, else it is skipped (the MLP always runs). Straight-through in training:
 * forward uses the hard gate, backward the sigmoid. The token-level variant gates each token
 * on its own normed input. */
typedef enum amod_lm_skip { AMOD_LM_SKIP_NONE = 0, AMOD_LM_SKIP_SEQUENCE, AMOD_LM_SKIP_TOKEN } amod_lm_skip;

/* Which MindSkip recipe: amod's (new routers drawn from a truncated normal, a gate opens when
 * its sigmoid > 0.5, the capacity term lambda (mean sigmoid - target)^2 over every gate), or the
 * Router-Tuning code's (routers start at zero, so every gate is open at sigmoid = 0.5 >= 0.5 and
 * training starts from the dense model; the term is the one-sided hinge
 * lambda sum_l max(0, mean hard gate of layer l - target)). */
typedef enum amod_lm_skip_style { AMOD_LM_SKIP_STYLE_AMOD = 0, AMOD_LM_SKIP_STYLE_ROUTER_TUNING } amod_lm_skip_style;

typedef struct amod_lm_mindskip {
    amod_lm_skip mode;
    unsigned char routed[AMOD_MAX_LAYERS]; /* 1 for a routed layer (never the last) */
    float target;                          /* capacity: wanted fraction of attention kept */
    float lambda;                          /* weight of (mean gate - target)^2 in the loss */
    int soft;                              /* forward uses the sigmoid itself, not the hard gate:
                                              a smooth variant whose gradient can be checked */
    uint64_t seed;                         /* initialisation of new router weights */
    amod_lm_skip_style style;
} amod_lm_mindskip;

/* What the last forward pass measured. */
typedef struct amod_lm_stats {
    float lm_loss;           /* shifted next-token mean cross-entropy */
    float predictor_loss;    /* mean BCE of the causal predictors (0 without MoD) */
    float predictor_acc;     /* fraction of tokens the predictors place correctly */
    float capacity_loss;     /* MindSkip's capacity term, lambda included */
    float attn_kept;         /* MindSkip: fraction of routed attention sublayers kept */
    float attn_skipped;      /* fraction of all attention sublayer runs (tokens x layers) skipped */
    double macs_per_token;   /* multiply-accumulates per token actually performed */
    float predictor_balanced; /* the predictors' balanced accuracy: (true-positive + true-negative rate) / 2 */
    float predictor_skip_acc; /* the all-skip baseline's accuracy: the share of tokens top-k skipped */
    float decode_mod_kept;   /* after amod_lm_generate with the KV cache: the fraction of (new token,
                                MoD layer) pairs whose block ran, as the causal predictors decided */
} amod_lm_stats;

typedef struct amod_lm amod_lm;

/* Run contexts, as for the ViT (amod.h): a context owns a pass's activations, scratch and
 * statistics; the model-level calls use the model's default context. */
typedef struct amod_lm_ctx amod_lm_ctx;
typedef struct amod_lm_ctx_params {
    int grads;                     /* keep what backward needs (default 0) */
    int keep_attention;            /* keep the attention maps (default 0) */
    int threads;                   /* OpenMP threads for its passes; 0: the calling thread's count */
    amod_lm_route_mode route_mode; /* top-k (default) or the causal predictor */
} amod_lm_ctx_params;

/* Reads config.json + model.safetensors (GPT-2 or Llama, F32/F16/BF16) from a directory.
 * amod's own checkpoints add an "amod" object to config.json with the routing settings. */
AMOD_API amod_lm *amod_lm_load(const char *dir, amod_error *err);
/* A randomly initialised model: normal(0, 0.02) weights, zero biases, unit norms. */
AMOD_API amod_lm *amod_lm_create(const amod_lm_config *cfg, uint64_t seed, amod_error *err);
AMOD_API void amod_lm_free(amod_lm *m);
AMOD_API const amod_lm_config *amod_lm_get_config(const amod_lm *m);
/* Writes model.safetensors (Hugging Face names, plus router tensors) and config.json. Atomic. */
AMOD_API int amod_lm_save(const amod_lm *m, const char *dir, amod_error *err);

/* MoD routing (router NONE makes the model dense again). predictor_hidden: the causal
 * predictor's width for the linear router (0 gives none). New router weights are drawn from a
 * truncated normal (std 0.02, seeded by mod->seed). */
AMOD_API int amod_lm_set_mod(amod_lm *m, const amod_mod_config *mod, int predictor_hidden, amod_error *err);
AMOD_API const amod_mod_config *amod_lm_get_mod(const amod_lm *m);
AMOD_API void amod_lm_set_route_mode(amod_lm *m, amod_lm_route_mode mode);
/* MindSkip routers (mode NONE removes them). MoD and MindSkip exclude each other. */
AMOD_API int amod_lm_set_mindskip(amod_lm *m, const amod_lm_mindskip *ms, amod_error *err);
AMOD_API const amod_lm_mindskip *amod_lm_get_mindskip(const amod_lm *m);
/* The default MindSkip placement: the upper half of the layers, never the last. */
AMOD_API void amod_lm_mindskip_default_layers(amod_lm_mindskip *ms, int n_layers);
/* With 1, only router tensors (MoD routers and predictors, MindSkip routers) get gradients:
 * Router-Tuning. */
AMOD_API void amod_lm_freeze_base(amod_lm *m, int freeze);

/* Forward pass on token ids [B, T] (every id in 0..V-1, T <= max_positions, B T <= 2^24).
 * logits [B, T, V] is written when not NULL. When loss is not NULL it receives the shifted
 * next-token mean cross-entropy (needs T >= 2), and with gradients enabled (the default) the
 * pass keeps what amod_lm_backward needs. */
AMOD_API int amod_lm_forward(amod_lm *m, const int64_t *ids, int B, int T, float *logits, float *loss,
                    amod_error *err);
/* Backward of the last forward (which must have computed the loss): accumulates gradients of
 * the LM loss, plus the predictors' BCE and MindSkip's capacity term where present. */
AMOD_API int amod_lm_backward(amod_lm *m, amod_error *err);
AMOD_API amod_lm_ctx_params amod_lm_ctx_default_params(void);
AMOD_API amod_lm_ctx *amod_lm_ctx_create(amod_lm *m, const amod_lm_ctx_params *p, amod_error *err);
AMOD_API void amod_lm_ctx_free(amod_lm_ctx *c);
/* The context's gradients, laid out like amod_lm_params (backward accumulates into them):
 * NULL for a context without gradients. amod_lm_grads is the model's own context's. */
AMOD_API float *amod_lm_ctx_grads(amod_lm_ctx *c);
AMOD_API int amod_lm_ctx_forward(amod_lm_ctx *c, const int64_t *ids, int B, int T, float *logits, float *loss,
                        amod_error *err);
AMOD_API int amod_lm_ctx_backward(amod_lm_ctx *c, amod_error *err);
AMOD_API void amod_lm_zero_grad(amod_lm *m);
/* 0: inference only, nothing kept for backward (MindSkip then really skips attention). */
AMOD_API void amod_lm_set_grad_enabled(amod_lm *m, int enabled);
/* Keep attention probabilities [B, H, T, T] of every layer that runs on all T tokens. */
AMOD_API void amod_lm_keep_attention(amod_lm *m, int keep);
/* Attention probabilities of layer l from the last forward, or NULL when not kept. */
AMOD_API const float *amod_lm_attention(const amod_lm *m, int layer);
/* Token indices run by MoD layer l in the last forward: [B, k], *k set; NULL for dense. */
AMOD_API const int32_t *amod_lm_routed(const amod_lm *m, int layer, int *k);
/* MindSkip gates of layer l in the last forward ([B] or [B, T] of 0/1); NULL when not routed. */
AMOD_API const float *amod_lm_gates(const amod_lm *m, int layer);
AMOD_API void amod_lm_get_stats(const amod_lm *m, amod_lm_stats *out);
/* MindSkip's capacity term when a batch is split over processes (data-parallel training):
 * amod_lm_skip_totals gives the last forward's {sum of the gates' sigmoids, number of gates,
 * gates open} (zeros without MindSkip). Once they are added up over processes that ran equal
 * shares, amod_lm_set_skip_totals makes the capacity term and attn_kept those of the whole
 * batch, and the next amod_lm_backward this process's share of the whole batch's gradient
 * (its mean over the processes is the gradient one process would get for the whole batch). */
#define AMOD_LM_SKIP_TOTALS (3 + AMOD_MAX_LAYERS) /* the three, then each layer's sum of its gates */
AMOD_API void amod_lm_skip_totals(const amod_lm *m, double totals[AMOD_LM_SKIP_TOTALS]);
AMOD_API void amod_lm_set_skip_totals(amod_lm *m, const double totals[AMOD_LM_SKIP_TOTALS]);

/* The causal predictors' thresholds (MoD with the linear router's predictor): a token runs a
 * MoD block when sampling, and in AMOD_LM_ROUTE_PREDICTOR passes, when its predictor logit
 * exceeds the layer's threshold. The plain BCE decision (threshold 0) turns a predictor trained
 * on C = 12.5 % positives into "skip every token" until it is very accurate; amod_lm_train keeps
 * each threshold at the running mean of the cut that would have kept exactly C of each training
 * sequence's tokens, so that sampling spends about the capacity's compute. Thresholds are saved
 * in config.json ("amod.mod.predictor_threshold") and reset to 0 by amod_lm_set_mod.
 * amod_lm_predictor_cuts: after a top-k forward pass, cuts[l] (n_layers values) receives the sum
 * over the pass's sequences of layer l's cut, the midpoint of its k-th and (k+1)-th largest
 * logits (0 for layers without a predictor); returns the number of sequences, 0 when the pass
 * measured none. amod_lm_calibrate_predictor moves each predictor layer's threshold to
 * (1 - w) threshold + w mean_cuts[l] with w = max(1 / step, 0.1): a running mean over the first
 * ten steps (step counts from 1), an exponential one after. */
AMOD_API int amod_lm_predictor_cuts(const amod_lm *m, double *cuts);
AMOD_API void amod_lm_calibrate_predictor(amod_lm *m, const double *mean_cuts, int64_t step);
AMOD_API float amod_lm_predictor_threshold(const amod_lm *m, int layer);
/* Calibration on a text: after each top-k forward pass (grads on or off) over windows of the
 * text, amod_lm_calibration_add pools every predictor layer's logits (it returns the pass's
 * sequences, 0 when the model has no predictor or the pass was not top-k); apply then sets
 * each such layer's threshold to the cut that keeps the share of the pooled tokens top-k kept
 * (k of each window), and returns the number of layers set. amod train-lm calibrates on its
 * training windows after the last step, amod calibrate-lm on a user's text.
 * amod_lm_calibration_from: pool only positions >= from of each window, keeping the same share
 * k / T of them: the tokens a decode generates after a prompt of `from` tokens, whose logits
 * sit at another level than the first positions' (call before the first add; 0 by default). */
typedef struct amod_lm_calibration amod_lm_calibration;
AMOD_API amod_lm_calibration *amod_lm_calibration_new(amod_error *err);
AMOD_API int amod_lm_calibration_from(amod_lm_calibration *c, int from, amod_error *err);
AMOD_API int amod_lm_calibration_add(amod_lm_calibration *c, const amod_lm *m, amod_error *err);
AMOD_API int amod_lm_calibration_apply(amod_lm_calibration *c, amod_lm *m);
AMOD_API void amod_lm_calibration_free(amod_lm_calibration *c);
/* Calibration under predictor routing, as a decode runs: the predictor layers in order, each
 * on the residual stream that the layers below produce when they route by their own (already
 * calibrated) predictors, get the cut that keeps C of positions from..T-1 of the n windows of
 * T ids (one predictor-routed pass per window and layer). Top-k calibration measures each
 * layer under top-k routing below it, and the predictor then kept 23 % of a decode's tokens at
 * C = 12.5 % (bench/decode.sh). Returns the number of layers set, or -1 with err set. */
AMOD_API int amod_lm_calibrate_routed(amod_lm *m, const int64_t *ids, int n, int T, int from, amod_error *err);
/* Multiply-accumulates per token for a sequence of T tokens with the current routing, when
 * every MindSkip gate is open (kept = 1) or the measured fraction kept is used (kept < 0). */
AMOD_API double amod_lm_macs_per_token(const amod_lm *m, int T, float kept);

/* The state of the generator the random router draws its scores from (a resumed training
 * run restores it). */
AMOD_API uint64_t amod_lm_rng_state(const amod_lm *m);
AMOD_API void amod_lm_set_rng_state(amod_lm *m, uint64_t state);

/* Parameters, one contiguous buffer (and its gradients), tensors in a fixed order. */
AMOD_API size_t amod_lm_num_params(const amod_lm *m);
AMOD_API float *amod_lm_params(amod_lm *m);
AMOD_API float *amod_lm_grads(amod_lm *m);
AMOD_API int amod_lm_num_tensors(const amod_lm *m);
/* Hugging Face name (transformer.h.0.attn.c_attn.weight, model.layers.0.self_attn.q_proj.weight;
 * routers: ....mod_router.weight, ....mod_predictor.fc1.weight, ....mindskip_router.weight), shape
 * (returns ndim) and offset; for i outside 0..amod_lm_num_tensors-1: NULL, -1, SIZE_MAX and 0. */
AMOD_API const char *amod_lm_tensor_name(const amod_lm *m, int i);
AMOD_API int amod_lm_tensor_shape(const amod_lm *m, int i, int64_t shape[4]);
AMOD_API size_t amod_lm_tensor_offset(const amod_lm *m, int i);
/* 1 when tensor i is a router tensor (trained by Router-Tuning). */
AMOD_API int amod_lm_tensor_is_router(const amod_lm *m, int i);
/* Loads the tensors of a safetensors file whose names match parameters (all must match). */
AMOD_API int amod_lm_load_params(amod_lm *m, const char *path, amod_error *err);

/* ---- autoregressive generation with a KV cache (batch 1) ---- */
typedef struct amod_lm_gen {
    float temperature; /* 0: greedy (argmax); > 0: sample from softmax(logits / temperature) */
    int top_k;         /* 0: all tokens */
    uint64_t seed;
    int no_cache;      /* recompute the whole prefix at every step (slow; to check the cache) */
    const int64_t *forced; /* [n_new] or NULL: teacher forcing, new token i is forced[i] instead of
                              the drawn one (the decode path, its speed and routing on given text) */
    int stop_at_eos;       /* stop once token eos is drawn: it is the last one written, the rest of
                              out is -1 (and of step_logits untouched) */
    int64_t eos;
} amod_lm_gen;

/* Continues prompt[0..n_prompt-1] by n_new tokens into out[0..n_new-1] (n_prompt + n_new - 1
 * must fit the model's positions). MoD layers route each token with the causal predictor, so
 * the same choice is made one token at a time as over the whole prefix; sequence-level
 * MindSkip decides its gates on the prompt and keeps them.
 * step_logits, when not NULL, receives [n_new, V]: the logits each new token was drawn from. */
AMOD_API int amod_lm_generate(amod_lm *m, const int64_t *prompt, int n_prompt, int n_new, const amod_lm_gen *g,
                     int64_t *out, float *step_logits, amod_error *err);

#ifdef __cplusplus
}
#endif
#endif
