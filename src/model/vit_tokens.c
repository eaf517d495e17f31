/* The dense model on a subset of each image's tokens: the sequence shrinks to the kept
 * tokens, which keep the position embeddings of their places in the full sequence. This is
 * what leave-one-out token importance needs (a token removed, not zeroed). */
#include <string.h>

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/vit_internal.h"

/* keep must hold, per sequence, the prefix tokens 0..P-1 first, then increasing indices < N. */
static int check_keep(const int32_t *keep, int B, int k, int N, int P, amod_error *err) {
    for (int b = 0; b < B; b++) {
        const int32_t *s = keep + (size_t)b * k;
        for (int j = 0; j < k; j++) {
            if (j < P && s[j] != j)
                return amod_fail(err, "token subset of sequence %d must start with the %d prefix token(s)", b, P);
            if (s[j] < 0 || s[j] >= N)
                return amod_fail(err, "token subset of sequence %d holds %d, outside 0..%d", b, s[j], N - 1);
            if (j > 0 && s[j] <= s[j - 1])
                return amod_fail(err, "token subset of sequence %d is not strictly increasing", b);
        }
    }
    return 0;
}

int amod_vit_forward_tokens(amod_vit *m, const float *images, int batch, const int32_t *keep, int n_keep,
                            const int64_t *labels, float *logits, float *losses, amod_error *err) {
    amod_vit_ctx *c = m->dflt;
    const amod_vit_config *cfg = &m->cfg;
    const int B = batch, N = m->n_tokens, D = cfg->embed_dim, K = cfg->num_classes, P = cfg->num_prefix;
    const int g = cfg->img_size / cfg->patch_size, np = g * g;
    const int cpp = cfg->in_chans * cfg->patch_size * cfg->patch_size;
    /* MoD layers' buffers are sized for their own k: only a dense model can take any subset. */
    if (m->mod.router != AMOD_ROUTER_NONE)
        return amod_fail(err, "a forward pass on a token subset needs the dense model (router none), not %s",
                         amod_router_name(m->mod.router));
    if (batch < 1) return amod_fail(err, "batch size %d must be positive", batch);
    if (n_keep < P || n_keep > N) return amod_fail(err, "token subsets of %d tokens: expected %d to %d", n_keep, P, N);
    if (losses && !labels) return amod_fail(err, "per-image losses need labels");
    if (labels)
        for (int b = 0; b < B; b++)
            if (labels[b] < 0 || labels[b] >= K)
                return amod_fail(err, "label %lld of image %d is outside 0..%d", (long long)labels[b], b, K - 1);
    if (check_keep(keep, B, n_keep, N, P, err)) return -1;
    if (vit_ensure_acts(c, batch, err)) return -1;

    patch_unfold(c->cols, images, B, cfg->in_chans, cfg->img_size, cfg->patch_size);
    embed_forward(c->resid[0], c->patch_out, c->cols, m->patch_w, m->patch_b, m->cls, m->pos, B, np, cpp, D);
    /* Packed [B, n_keep, D] rows from here on; every dense buffer holds B * N rows. */
    route_gather(c->resid[1], c->resid[0], keep, B, N, n_keep, D);
    memcpy(c->resid[0], c->resid[1], (size_t)B * n_keep * D * sizeof(float));
    for (int l = 0; l < cfg->depth; l++) {
        c->la[l].k = n_keep;
        vit_block_forward(c, l, B);
        c->la[l].k = N;
    }
    const float *out = c->resid[cfg->depth];
    for (int b = 0; b < B; b++) /* token pooling: the CLS row of each sequence */
        memcpy(c->pooled + (size_t)b * D, out + (size_t)b * n_keep * D, (size_t)D * sizeof(float));
    layernorm_forward(c->normed, c->nmu, c->nrs, c->pooled, m->norm_w, m->norm_b, B, D, cfg->ln_eps);
    linear_forward(c->logits, c->normed, m->head_w, m->head_b, B, D, K);
    if (logits) memcpy(logits, c->logits, (size_t)B * K * sizeof *logits);
    if (losses) cross_entropy_rows(losses, c->logits, labels, B, K);
    c->batch = B;
    c->have_labels = 0;
    c->subset = 1;
    return 0;
}
