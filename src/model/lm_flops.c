/* Multiply-accumulates per token of a language model, counted as docs/FLOPS.md counts ViTs
 * (fvcore's convention): matrix products only, attention scores as the full t x t products
 * the kernels compute (the causal mask does not halve them), no norms, activations or
 * softmax. The forward pass counts the same terms as it runs (amod_lm_stats.macs_per_token);
 * this gives them ahead of a run. */
#include "model/lm_internal.h"

double amod_lm_macs_per_token(const amod_lm *m, int T, float kept) {
    const amod_lm_ctx *run = m->dflt;
    const amod_lm_config *c = &m->cfg;
    if (T < 1) return 0.0;
    const double D = c->d_model, F = c->d_ff, V = c->vocab_size;
    const double qd = (double)c->n_heads * c->head_dim, W = (double)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
    const double mlp_mats = c->arch == AMOD_LM_GPT2 ? 2.0 : 3.0;
    if (kept < 0.0f) kept = run->stats.attn_kept;
    double per_seq = (double)T * D * V; /* the head */
    for (int l = 0; l < c->n_layers; l++) {
        double t = T, attn_share = 1.0;
        if (lm_is_mod(m, l)) {
            t = amod_mod_tokens(m->mod.capacity, T, 0);
            if (m->mod.router == AMOD_ROUTER_LINEAR) per_seq += (double)T * D;
            if (m->pred_hidden > 0) per_seq += (double)T * (D * m->pred_hidden + m->pred_hidden);
        }
        if (lm_is_skip(m, l)) {
            attn_share = kept;
            per_seq += (m->skip.mode == AMOD_LM_SKIP_TOKEN ? (double)T : 1.0) * D;
            if (m->skip.mode == AMOD_LM_SKIP_TOKEN) attn_share = 1.0; /* token gates do not save compute here */
        }
        per_seq += attn_share * (t * D * W + 2.0 * t * t * qd + t * qd * D);
        per_seq += t * D * F * mlp_mats;
    }
    return per_seq / T;
}
