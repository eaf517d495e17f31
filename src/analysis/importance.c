/* Leave-one-out token importance and its correlation with router scores (see importance.h). */
#include "analysis/importance.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/vit_internal.h"

int amod_token_importance(amod_vit *dense, const float *images, const int64_t *labels, int n, int max_seqs,
                          float *importance, float *base_loss, amod_progress_fn progress, void *ctx,
                          amod_error *err) {
    const amod_vit_config *cfg = amod_vit_get_config(dense);
    const int N = amod_vit_num_tokens(cfg), P = cfg->num_prefix, T = N - P; /* T tokens to drop */
    const size_t per = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    if (amod_vit_get_mod(dense)->router != AMOD_ROUTER_NONE)
        return amod_fail(err, "token importance is measured on the dense model (router none)");
    if (n < 1) return amod_fail(err, "no images for token importance");
    if (T < 2) return amod_fail(err, "token importance needs at least 2 non-prefix tokens, the model has %d", T);
    if (max_seqs < 1) max_seqs = 1;
    amod_vit_set_grad_enabled(dense, 0);
    int rc = -1;
    float *x = amod_alloc((size_t)max_seqs * per * sizeof *x, err);
    int32_t *keep = amod_alloc((size_t)max_seqs * N * sizeof *keep, err);
    int64_t *lab = amod_alloc((size_t)max_seqs * sizeof *lab, err);
    float *loss = amod_alloc((size_t)max_seqs * sizeof *loss, err);
    float *base = amod_alloc((size_t)n * sizeof *base, err);
    if (!x || !keep || !lab || !loss || !base) goto done;

    /* Full sequences first, through the same code path as the shortened ones. */
    for (int i0 = 0; i0 < n; i0 += max_seqs) {
        int b = n - i0 < max_seqs ? n - i0 : max_seqs;
        for (int s = 0; s < b; s++)
            for (int t = 0; t < N; t++) keep[(size_t)s * N + t] = t;
        if (amod_vit_forward_tokens(dense, images + (size_t)i0 * per, b, keep, N, labels + i0, NULL, base + i0, err))
            goto done;
    }
    /* Then every (image, dropped token) pair as one sequence of N - 1 tokens. */
    const long total = (long)n * T;
    int reported = 0;
    for (long s0 = 0; s0 < total; s0 += max_seqs) {
        int b = total - s0 < max_seqs ? (int)(total - s0) : max_seqs;
        for (int s = 0; s < b; s++) {
            long q = s0 + s;
            int img = (int)(q / T), drop = P + (int)(q % T);
            memcpy(x + (size_t)s * per, images + (size_t)img * per, per * sizeof *x);
            lab[s] = labels[img];
            int32_t *kp = keep + (size_t)s * (N - 1);
            for (int t = 0, j = 0; t < N; t++)
                if (t != drop) kp[j++] = t;
        }
        if (amod_vit_forward_tokens(dense, x, b, keep, N - 1, lab, NULL, loss, err)) goto done;
        for (int s = 0; s < b; s++) {
            long q = s0 + s;
            int img = (int)(q / T), drop = P + (int)(q % T);
            importance[(size_t)img * N + drop] = loss[s] - base[img];
        }
        int done_images = (int)((s0 + b) / T);
        if (progress && done_images > reported) progress(reported = done_images, n, ctx);
    }
    for (int i = 0; i < n; i++)
        for (int t = 0; t < P; t++) importance[(size_t)i * N + t] = 0.0f;
    if (base_loss) memcpy(base_loss, base, (size_t)n * sizeof *base);
    rc = 0;
done:
    free(x);
    free(keep);
    free(lab);
    free(loss);
    free(base);
    return rc;
}

int amod_importance_correlate(const amod_routing *r, int layer, const float *importance, amod_corr *pearson,
                              amod_corr *spearman, amod_error *err) {
    if (layer < 0 || layer >= r->depth || !r->scores[layer])
        return amod_fail(err, "layer %d is not a MoD layer: it has no router scores", layer);
    const int N = r->n_tokens, P = r->n_prefix, T = N - P;
    const size_t count = (size_t)r->n_images * T;
    double *a = amod_alloc((2 * count + 1) * sizeof *a, err);
    if (!a) return -1;
    double *b = a + count;
    for (int i = 0; i < r->n_images; i++)
        for (int t = 0; t < T; t++) {
            a[(size_t)i * T + t] = r->scores[layer][(size_t)i * N + P + t];
            b[(size_t)i * T + t] = importance[(size_t)i * N + P + t];
        }
    *pearson = amod_pearson(a, b, count);
    int rc = amod_spearman(a, b, count, spearman, err);
    free(a);
    return rc;
}

int amod_importance_by_image(const amod_routing *r, int layer, const float *importance, double *rho, double *prec,
                             int *k_out, amod_error *err) {
    if (layer < 0 || layer >= r->depth || !r->scores[layer])
        return amod_fail(err, "layer %d is not a MoD layer: it has no router scores", layer);
    const int N = r->n_tokens, P = r->n_prefix, T = N - P, k = r->k[layer] - P;
    double *a = amod_alloc((2 * (size_t)T + 1) * sizeof *a, err);
    if (!a) return -1;
    double *b = a + T;
    int rc = 0;
    for (int i = 0; i < r->n_images && !rc; i++) {
        for (int t = 0; t < T; t++) {
            a[t] = r->scores[layer][(size_t)i * N + P + t];
            b[t] = importance[(size_t)i * N + P + t];
        }
        amod_corr c;
        rc = amod_spearman(a, b, (size_t)T, &c, err);
        rho[i] = c.r;
        prec[i] = amod_precision_at_k(a, b, (size_t)T, k > 0 ? (size_t)k : 0);
    }
    *k_out = k;
    free(a);
    return rc;
}

int amod_token_skip_importance(amod_vit *dense, const float *images, const int64_t *labels, int n, int layer,
                               int max_seqs, float *importance, float *base_loss, amod_progress_fn progress, void *ctx,
                               amod_error *err) {
    const amod_vit_config *cfg = amod_vit_get_config(dense);
    const int N = amod_vit_num_tokens(cfg), P = cfg->num_prefix, T = N - P, K = cfg->num_classes;
    const size_t per = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    const amod_mod_config dense_mod = *amod_vit_get_mod(dense);
    if (dense_mod.router != AMOD_ROUTER_NONE)
        return amod_fail(err, "token importance is measured on the dense model (router none)");
    if (layer < 0 || layer >= cfg->depth)
        return amod_fail(err, "layer %d does not exist (the model has layers 0..%d)", layer, cfg->depth - 1);
    if (n < 1) return amod_fail(err, "no images for token importance");
    if (T < 2) return amod_fail(err, "token importance needs at least 2 non-prefix tokens, the model has %d", T);
    if (max_seqs < 1) max_seqs = 1;
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return amod_fail(err, "label %lld of image %d is outside 0..%d", (long long)labels[i], i, K - 1);
    amod_vit_set_grad_enabled(dense, 0);
    float *x = amod_alloc((size_t)max_seqs * per * sizeof *x, err);
    float *z = amod_alloc((size_t)max_seqs * K * sizeof *z, err);
    float *base = amod_alloc((size_t)n * sizeof *base, err);
    float *loss = amod_alloc((size_t)max_seqs * sizeof *loss, err);
    int32_t *skip = amod_alloc((size_t)max_seqs * sizeof *skip, err);
    int64_t *lab = amod_alloc((size_t)max_seqs * sizeof *lab, err);
    int rc = x && z && base && loss && skip && lab ? 0 : -1;
    /* the full images, dense */
    for (int i0 = 0; !rc && i0 < n; i0 += max_seqs) {
        const int b = n - i0 < max_seqs ? n - i0 : max_seqs;
        rc = amod_vit_forward(dense, images + (size_t)i0 * per, b, NULL, z, NULL, err);
        if (!rc) cross_entropy_rows(base + i0, z, labels + i0, b, K);
    }
    /* one MoD layer that keeps N - 1 tokens; the pass says which one skips */
    amod_mod_config one = dense_mod;
    one.router = AMOD_ROUTER_RANDOM, one.capacity = (float)((N - 1.5) / N);
    memset(one.is_mod, 0, sizeof one.is_mod);
    one.is_mod[layer] = 1;
    if (!rc) rc = amod_vit_set_mod(dense, &one, err);
    const long total = (long)n * T;
    int reported = 0;
    for (long s0 = 0; !rc && s0 < total; s0 += max_seqs) {
        const int b = total - s0 < max_seqs ? (int)(total - s0) : max_seqs;
        for (int s = 0; s < b; s++) {
            const long q = s0 + s;
            memcpy(x + (size_t)s * per, images + (size_t)(q / T) * per, per * sizeof *x);
            skip[s] = P + (int)(q % T);
            lab[s] = labels[q / T];
        }
        rc = vit_forward_skipping(dense, x, b, skip, z, err);
        if (!rc) cross_entropy_rows(loss, z, lab, b, K);
        for (int s = 0; !rc && s < b; s++) {
            const int img = (int)((s0 + s) / T);
            importance[(size_t)img * N + skip[s]] = loss[s] - base[img];
        }
        const int done_images = (int)((s0 + b) / T);
        if (!rc && progress && done_images > reported) progress(reported = done_images, n, ctx);
    }
    amod_error restore;
    if (amod_vit_set_mod(dense, &dense_mod, rc ? &restore : err) && !rc) rc = -1;
    if (!rc) {
        for (int i = 0; i < n; i++)
            for (int t = 0; t < P; t++) importance[(size_t)i * N + t] = 0.0f;
        if (base_loss) memcpy(base_loss, base, (size_t)n * sizeof *base);
    }
    free(x), free(z), free(base), free(loss), free(skip), free(lab);
    return rc;
}
