/* The language model's internals, shared by its parameter code (lm_params.c), its passes
 * (lm.c), MindSkip (lm_skip.c) and generation (lm_generate.c).
 * Not part of the public API. */
#ifndef AMOD_MODEL_LM_INTERNAL_H
#define AMOD_MODEL_LM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "amod/lm.h"
#include "core/rng.h"
#include "model/param_table.h"
#include "model/run_state.h"

/* Parameter pointers of one block; NULL where the architecture has none. GPT-2's weights
 * are Conv1D [in, out], Llama's are Linear [out, in]. */
typedef struct {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *wqkv, *bqkv;            /* GPT-2 c_attn [D, 3D] */
    float *wq, *wk, *wv, *bq, *bk, *bv; /* Llama q/k/v_proj */
    float *wo, *bo;                /* GPT-2 attn.c_proj [D, D]; Llama o_proj [D, H hd] */
    float *w1, *b1;                /* GPT-2 mlp.c_fc [D, F]; Llama gate_proj [F, D] */
    float *w3, *b3;                /* Llama up_proj [F, D] */
    float *w2, *b2;                /* GPT-2 mlp.c_proj [F, D]; Llama down_proj [D, F] */
    float *router_w;               /* MoD linear router [1, D] */
    float *pred_w1, *pred_b1, *pred_w2, *pred_b2; /* causal predictor [P, D], [P], [1, P], [1] */
    float *skip_w;                 /* MindSkip router [1, D] */
} lm_block;

/* What one layer keeps from the forward pass for the backward pass. Row counts are
 * R = B k where k is the tokens per sequence the block runs on (T when dense). */
typedef struct {
    int k;
    int32_t *idx;    /* [B, k] MoD: chosen tokens; NULL when dense */
    int32_t *pos;    /* [B, k] position of each row (Llama's rotary angles) */
    float *scores;   /* [B, T] MoD router scores */
    float *xs;       /* block input [R, D]: gathered rows, or the layer input when dense */
    float *ln1, *mu1, *rs1, *qkv, *probs, *col_sum, *ao, *proj, *x2, *ln2, *mu2, *rs2;
    float *h1, *h3, *g; /* MLP: pre-activation (GPT-2) or gate (Llama), up (Llama), activation */
    float *y;        /* block output [R, D]; the layer output when dense */
    /* causal predictor (MoD, linear router) */
    float *p_h, *p_z, *p_target; /* [B T, P] hidden after ReLU, [B T] logits, [B T] 0/1 */
    /* MindSkip */
    float *sk_in;    /* [B, D] sequence mean of ln1 (sequence mode); token mode reads ln1 */
    float *sk_s;     /* sigmoid scores: [B] or [B, T] */
    float *sk_gate;  /* hard gates 0/1, same shape */
    int attn_ran;    /* the attention sublayer ran on every row (else only on kept sequences) */
} lm_layer_acts;

struct amod_lm {
    amod_lm_config cfg;
    amod_mod_config mod;
    int pred_hidden;
    float pred_threshold[AMOD_MAX_LAYERS]; /* a predictor's logit cut per MoD layer (amod_lm_calibrate_predictor) */
    amod_lm_mindskip skip;
    int freeze_base;

    param_table pt;       /* Hugging Face names */
    size_t n_base_params; /* router tensors follow the base model's */
    float *wte, *wpe, *lnf_w, *lnf_b, *head_w;
    lm_block blk[AMOD_MAX_LAYERS];
    float *rope_cos, *rope_sin; /* [max_positions, hd/2], Llama */

    unsigned layout;           /* bumped when routing changes: contexts carve their buffers again */
    struct amod_lm_ctx *dflt;  /* the context behind the model-level calls (amod_lm_forward, ...) */
};

/* A run context: what forward and backward passes write, for its batch, length and threads. */
struct amod_lm_ctx {
    run_state rs; /* limits, threads, the arena and the random router's stream */
    amod_lm *m;
    /* the arena holds activations for act_B sequences of act_T tokens */
    int act_B, act_T;
    int64_t *ids;
    int32_t *pos_dense; /* [B, T]: t in each row */
    float *resid[AMOD_MAX_LAYERS + 1];
    lm_layer_acts la[AMOD_MAX_LAYERS];
    float *normed, *nmu, *nrs, *logits, *dlogits;
    /* backward scratch */
    resid_grads rg;
    float *d_ao, *d_proj, *d_qkv, *d_h1, *d_h3, *d_attn, *d_normed, *d_gate, *d_pred;

    int B, T, have_loss;
    amod_lm_route_mode route_mode;
    amod_lm_stats stats;
    float *pred_sort;                     /* [T] scratch for the cut */
    double pred_cut_sum[AMOD_MAX_LAYERS]; /* last top-k pass: sum over sequences of the cut keeping k tokens */
    int pred_cut_seqs;                    /* ... and the number of sequences */
    float skip_cap_coef[AMOD_MAX_LAYERS]; /* d(capacity term)/d(one gate's sigmoid) per layer, from the last forward */
    double skip_totals[AMOD_LM_SKIP_TOTALS]; /* this pass's sum of gate sigmoids, number of gates, gates
                                                open, then each layer's sum of its gates */
};

/* lm_params.c */
int lm_is_mod(const amod_lm *m, int l);  /* layer l is a MoD layer */
int lm_has_predictor(const amod_lm *m, int l); /* ... with a causal predictor */
/* lm.c: the logit cut that keeps the k largest of z[0..n): the midpoint of the k-th and (k+1)-th
 * largest (below the smallest when k >= n, above the largest when k is 0). sorted receives z
 * in descending order; it may be z itself, sorted in place. */
double lm_predictor_cut(float *sorted, const float *z, size_t n, size_t k);
int lm_is_skip(const amod_lm *m, int l); /* layer l's attention is MindSkip-routed */
/* A model of this shape with its layout and own context, parameters not yet set. */
amod_lm *lm_new(const amod_lm_config *cfg, amod_error *err);
int lm_build_layout(amod_lm *m, amod_error *err);
/* The gradient of a parameter pointer in run's buffer, or NULL when that parameter is frozen. */
float *lm_grad(const amod_lm_ctx *run, const float *p);
/* The prefix of block tensor names: "transformer.h.3" or "model.layers.3". */
void lm_block_prefix(const amod_lm *m, int l, char *out, size_t size);

/* lm.c */
int lm_ensure_acts(amod_lm_ctx *run, int B, int T, amod_error *err);
void lm_free_acts(amod_lm_ctx *run);
/* Ids in the vocabulary and T within the positions; the message names the bad id. */
int lm_check_ids(const amod_lm *m, const int64_t *ids, int B, int T, amod_error *err);

/* lm_skip.c: MindSkip gates of layer l from ln1 (kept in la[l]); returns the number of
 * gates that are open. */
int lm_skip_gates(amod_lm_ctx *run, int l, int B, int k);
/* Given d(attention sublayer output) summed against its value, the router gradient and the
 * extra gradient on ln1 (added into dln1 [R, D]). dgate: [B] or [B, T]. */
void lm_skip_backward(amod_lm_ctx *run, int l, int B, int k, const float *dgate, float *dln1);
/* Fraction of gates open and the capacity term, into m->stats (after the forward pass). */
void lm_skip_stats(amod_lm_ctx *run, int B, int T);
/* 1 when a gate opens at sigmoid >= 0.5 (Router-Tuning's recipe), 0 for > 0.5 */
int lm_skip_inclusive(const amod_lm *m);

#endif
