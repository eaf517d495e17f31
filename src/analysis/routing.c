/* Recording the routing of a MoD model (see routing.h). */
#include "analysis/routing.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void amod_routing_free(amod_routing *r) {
    for (int l = 0; l < AMOD_MAX_LAYERS; l++) {
        free(r->scores[l]);
        free(r->kept[l]);
    }
    free(r->logits);
    memset(r, 0, sizeof *r);
}

int amod_routing_layers(const amod_routing *r, int *layers) {
    int n = 0;
    for (int l = 0; l < r->depth; l++)
        if (r->k[l]) {
            if (layers) layers[n] = l;
            n++;
        }
    return n;
}

int amod_routing_collect(amod_vit *m, const float *images, int n, int max_batch, amod_routing *out,
                         amod_error *err) {
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const amod_mod_config *mod = amod_vit_get_mod(m);
    memset(out, 0, sizeof *out);
    const int N = amod_vit_num_tokens(cfg), K = cfg->num_classes;
    out->n_images = n;
    out->n_tokens = N;
    out->n_prefix = cfg->num_prefix;
    out->depth = cfg->depth;
    out->num_classes = K;
    if (n < 1) return amod_fail(err, "no images to route");
    if (max_batch < 1) max_batch = 1;
    int any = 0;
    for (int l = 0; l < cfg->depth; l++) {
        if (mod->router == AMOD_ROUTER_NONE || !mod->is_mod[l]) continue;
        any = 1;
        out->k[l] = amod_mod_tokens(mod->capacity, N, cfg->num_prefix);
        out->scores[l] = amod_alloc((size_t)n * N * sizeof(float), err);
        out->kept[l] = amod_alloc((size_t)n * out->k[l] * sizeof(int32_t), err);
        if (!out->scores[l] || !out->kept[l]) goto fail;
    }
    if (!any) {
        amod_fail(err, "the model has no MoD layers (router none): nothing was routed");
        goto fail;
    }
    out->logits = amod_alloc((size_t)n * K * sizeof(float), err);
    if (!out->logits) goto fail;
    amod_vit_set_grad_enabled(m, 0);
    const size_t per = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    for (int i0 = 0; i0 < n; i0 += max_batch) {
        int b = n - i0 < max_batch ? n - i0 : max_batch;
        if (amod_vit_forward(m, images + (size_t)i0 * per, b, NULL, out->logits + (size_t)i0 * K, NULL, err))
            goto fail;
        for (int l = 0; l < cfg->depth; l++) {
            if (!out->k[l]) continue;
            int k = 0;
            const int32_t *idx = amod_vit_routed(m, l, &k);
            const float *s = amod_vit_scores(m, l);
            if (!idx || !s || k != out->k[l]) {
                amod_fail(err, "layer %d kept no routing record", l);
                goto fail;
            }
            memcpy(out->scores[l] + (size_t)i0 * N, s, (size_t)b * N * sizeof *s);
            memcpy(out->kept[l] + (size_t)i0 * k, idx, (size_t)b * k * sizeof *idx);
        }
    }
    return 0;
fail:
    amod_routing_free(out);
    return -1;
}
