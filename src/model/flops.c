/* FLOPs accounting: fvcore's convention, term by term (see docs/FLOPS.md for why each is in). */
#include "model/flops.h"

#include <string.h>

#include "core/error.h"

/* fvcore's estimate for an affine LayerNorm: mean, variance, normalise, scale, shift. */
#define LN_PER_ELEMENT 5

/* Shapes the counter (and the model) cannot have; also keeps every count well inside int64. */
static int check_shape(const amod_vit_config *c, amod_error *err) {
    if (c->depth <= 0 || c->depth > AMOD_MAX_LAYERS)
        return amod_fail(err, "depth %d is outside [1, %d]", c->depth, AMOD_MAX_LAYERS);
    if (c->embed_dim <= 0 || c->num_heads <= 0 || c->mlp_hidden <= 0 || c->in_chans <= 0 ||
        c->num_classes < 0)
        return amod_fail(err, "model shape has a non-positive size (embed_dim %d, heads %d, "
                              "mlp_hidden %d, in_chans %d, classes %d)",
                         c->embed_dim, c->num_heads, c->mlp_hidden, c->in_chans, c->num_classes);
    if (c->embed_dim % c->num_heads)
        return amod_fail(err, "embed_dim %d is not a multiple of num_heads %d", c->embed_dim, c->num_heads);
    if (c->patch_size <= 0 || c->img_size < c->patch_size)
        return amod_fail(err, "patch size %d does not fit image size %d", c->patch_size, c->img_size);
    if (amod_vit_num_tokens(c) < 1)
        return amod_fail(err, "image %d, patch %d, %d prefix tokens give no token count",
                         c->img_size, c->patch_size, c->num_prefix);
    /* The dense count bounds every term; estimate it in double before using int64. */
    double n = amod_vit_num_tokens(c), d = c->embed_dim, m = c->mlp_hidden;
    double est = c->depth * (n * (4 * d * d + 2 * d * m + 10 * d) + 2 * n * n * d) +
                 n * d * ((double)c->in_chans * c->patch_size * c->patch_size + 5) +
                 d * (c->num_classes + 1.0);
    if (est > 1e18) return amod_fail(err, "model is too large to count (about %.3g MACs)", est);
    return 0;
}

/* One block on t tokens; the router (if any) scores all n tokens before picking t. */
static void count_block(const amod_vit_config *c, int64_t t, int64_t n, amod_router router,
                        int is_mod, amod_layer_flops *out) {
    int64_t d = c->embed_dim, m = c->mlp_hidden;
    memset(out, 0, sizeof *out);
    out->tokens = (int)t;
    out->is_mod = is_mod;
    out->attn_proj = t * d * 3 * d + t * d * d;
    /* Per head t x t x hd for QK^T and again for AV; summed over heads that is t*t*d each. */
    out->attn_scores = 2 * t * t * d;
    out->mlp = 2 * t * d * m;
    out->norm = 2 * LN_PER_ELEMENT * t * d;
    /* A-MoD reuses the previous layer's attention and random scores cost no MAC. */
    if (is_mod && router == AMOD_ROUTER_LINEAR) out->router = n * d;
    out->total = out->attn_proj + out->attn_scores + out->mlp + out->norm + out->router;
}

int amod_flops_count(const amod_vit_config *cfg, const amod_mod_config *mod, amod_flops *out,
                     amod_error *err) {
    if (!cfg || !out) return amod_fail(err, "no model config given");
    if (check_shape(cfg, err)) return -1;
    int routed = mod && mod->router != AMOD_ROUTER_NONE;
    if (routed && amod_mod_validate(mod, cfg, err)) return -1;

    memset(out, 0, sizeof *out);
    int64_t n = amod_vit_num_tokens(cfg), d = cfg->embed_dim;
    int64_t patches = n - cfg->num_prefix;
    out->n_tokens = (int)n;
    out->depth = cfg->depth;
    /* A patch_size x patch_size conv with stride patch_size: one MAC per weight per patch. */
    out->patch_embed = patches * d * cfg->in_chans * cfg->patch_size * cfg->patch_size;
    out->total = out->patch_embed;
    for (int l = 0; l < cfg->depth; l++) {
        int is_mod = routed && mod->is_mod[l];
        int64_t t = is_mod ? amod_mod_tokens(mod->capacity, (int)n, cfg->num_prefix) : n;
        count_block(cfg, t, n, routed ? mod->router : AMOD_ROUTER_NONE, is_mod, &out->layers[l]);
        out->total += out->layers[l].total;
    }
    /* timm: token pooling normalises every token; avg pooling normalises the mean (fc_norm). */
    out->final_norm = LN_PER_ELEMENT * d * (cfg->pool == AMOD_POOL_AVG ? 1 : n);
    out->head = d * cfg->num_classes;
    out->total += out->final_norm + out->head;
    return 0;
}
