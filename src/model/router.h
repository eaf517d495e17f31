/* Router scores, written once for the ViT and the language models: the attention a token
 * received (A-MoD, bidirectional or causal), the linear router, the random router, the causal
 * predictor (an MLP on a stop-gradient copy of x whose positive logit means "run the block")
 * and MindSkip's gate (a sigmoid of a linear router on a row or a sequence mean). */
#ifndef AMOD_MODEL_ROUTER_H
#define AMOD_MODEL_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

/* r [B, N]: the attention token i received in the previous layer, the mean over heads and
 * query rows. probs [B, H, N, N] when the map was kept, else col_sum [B, N] (its column sums,
 * computed in the same pass). Causal: token i is seen only by the queries j >= i, and a query
 * spreads its attention over j + 1 tokens, so even a uniform causal map favours the first
 * tokens (token 0 gets H_N = sum 1/(j+1) times what the last gets, 5.4x at N = 128); the sum is
 * divided by H times what token i gets under the uniform causal map, sum over j >= i of
 * 1 / (j + 1): a uniform map scores every token 1. */
void router_attention_received(float *r, const float *probs, const float *col_sum, int B, int H, int N, int causal);

/* r[i] uniform in [0, 1): Raposo et al.'s stochastic baseline. */
void router_random(float *r, amod_rng *rng, size_t n);

/* The causal predictor's weights: Linear(D, P) -> ReLU -> Linear(P, 1); gradients NULL when
 * frozen. */
typedef struct {
    const float *w1, *b1, *w2, *b2; /* [P, D], [P], [1, P], [1] */
    float *dw1, *db1, *dw2, *db2;
    int P;
} router_predictor;

/* The predictor's logit for one row x [D]; the same arithmetic whether a token comes alone
 * (decoding) or in a sequence. */
float router_predictor_logit(const router_predictor *p, const float *x, int D);
/* Training the predictor on n rows x (stop-gradient) against target [n] (0/1: the rows
 * top-k chose): h [n, P] after ReLU and z [n] are kept for backward. Returns the mean
 * binary cross-entropy; *correct counts rows whose sign of z matches the target. */
double router_predictor_forward(const router_predictor *p, float *h, float *z, const float *x, const float *target,
                                int n, int D, int *correct);
/* Accumulates the predictor's weight gradients of scale * BCE; scratch holds n (P + 1) floats. */
void router_predictor_backward(const router_predictor *p, float *scratch, const float *h, const float *z,
                               const float *x, const float *target, int n, int D, float scale);

/* Whether a MindSkip gate with sigmoid s is open: s > 0.5, or s >= 0.5 when inclusive. */
static inline int router_gate_open(float s, int inclusive) { return inclusive ? s >= 0.5f : s > 0.5f; }

/* MindSkip's gate: s[i] = sigmoid(w . in_i) on n inputs. Per row (token level): in = the
 * rows x [n, D]; per sequence (mean_rows > 0): in_i = the mean of the mean_rows rows of
 * sequence i, written to mean [n, D]. gate[i] = s (soft) or s > 0.5 (s >= 0.5 when inclusive:
 * Router-Tuning's, whose zero-initialised routers start with every gate open). Returns the
 * gates open. */
int router_gate_forward(float *s, float *gate, float *mean, const float *x, const float *w, int n, int mean_rows, int inclusive,
                        int D, int soft);
/* Given dz [n] (d loss / d pre-sigmoid), dw += dz in_i, and dx += dz w for each row that fed
 * gate i (divided by mean_rows for a sequence mean). */
void router_gate_backward(float *dw, float *dx, const float *dz, const float *x, const float *mean, const float *w,
                          int n, int mean_rows, int D);

#endif
