/* Mixture-of-Depths settings: token counts, where MoD layers go, and what is allowed. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/mod_config.h"

/* Returns -1 when the shape cannot give a token count (non-positive sizes, patch larger
 * than the image), so callers can refuse the config instead of dividing by zero. */
int amod_vit_num_tokens(const amod_vit_config *cfg) {
    if (!cfg || cfg->img_size <= 0 || cfg->patch_size <= 0 || cfg->num_prefix < 0) return -1;
    int side = cfg->img_size / cfg->patch_size; /* a strided conv drops the remainder */
    if (side <= 0 || side > 46340 || cfg->num_prefix > INT_MAX - side * side) return -1;
    return cfg->num_prefix + side * side;
}

int amod_mod_tokens(float capacity, int n_tokens, int n_prefix) {
    if (n_tokens <= 0) return 0;
    if (n_prefix < 0) n_prefix = 0;
    if (n_prefix > n_tokens) n_prefix = n_tokens;
    /* NaN, zero and negative capacities keep only the prefix rather than reaching ceil(). */
    if (!(capacity > 0.0f)) return n_prefix;
    if (capacity >= 1.0f) return n_tokens;
    /* The epsilon absorbs float rounding: 0.1f * 10 is 1.0000000149, which must give 1. */
    double k = ceil((double)capacity * (double)n_tokens - 1e-6);
    int ki = k < 1.0 ? 1 : (int)k;
    if (ki < n_prefix) ki = n_prefix;
    if (ki > n_tokens) ki = n_tokens;
    return ki;
}

void amod_mod_set_start(amod_mod_config *mod, int depth, int start) {
    if (!mod) return;
    memset(mod->is_mod, 0, sizeof mod->is_mod);
    if (depth > AMOD_MAX_LAYERS) depth = AMOD_MAX_LAYERS;
    if (start < 0) return; /* no sensible placement: leave the model dense */
    for (int l = start; l < depth; l += 2) mod->is_mod[l] = 1;
}

int amod_mod_set_list(amod_mod_config *mod, int depth, const char *list, amod_error *err) {
    if (!mod || !list) return amod_fail(err, "no MoD layer list given");
    if (depth <= 0 || depth > AMOD_MAX_LAYERS)
        return amod_fail(err, "depth %d is outside [1, %d]", depth, AMOD_MAX_LAYERS);
    /* Parse into a scratch copy so a bad list leaves the caller's placement untouched. */
    unsigned char is_mod[AMOD_MAX_LAYERS] = {0};
    const char *p = list;
    int count = 0;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == '\0' && !count) return amod_fail(err, "MoD layer list is empty");
        if (*p == '\0') return amod_fail(err, "MoD layer list '%s' ends with ','", list);
        if (*p < '0' || *p > '9')
            return amod_fail(err, "MoD layer list '%s': expected a layer number at '%s'", list, p);
        errno = 0;
        char *end;
        long l = strtol(p, &end, 10);
        if (errno || l >= depth)
            return amod_fail(err, "MoD layer list '%s': layer %.*s is outside [0, %d]", list,
                             (int)(end - p), p, depth - 1);
        if (is_mod[l]) return amod_fail(err, "MoD layer list '%s': layer %ld appears twice", list, l);
        is_mod[l] = 1;
        count++;
        p = end;
        while (*p == ' ') p++;
        if (*p == '\0') break;
        if (*p != ',') return amod_fail(err, "MoD layer list '%s': unexpected '%c'", list, *p);
        p++;
    }
    memcpy(mod->is_mod, is_mod, sizeof is_mod);
    return 0;
}

int mod_check_routing(const amod_mod_config *mod, int depth, const unsigned char *not_dense, amod_error *err) {
    if (depth <= 0 || depth > AMOD_MAX_LAYERS)
        return amod_fail(err, "depth %d is outside [1, %d] (AMOD_MAX_LAYERS)", depth, AMOD_MAX_LAYERS);
    if (mod->router < AMOD_ROUTER_NONE || mod->router > AMOD_ROUTER_RANDOM)
        return amod_fail(err, "unknown router %d", (int)mod->router);
    if (!isfinite(mod->capacity) || !(mod->capacity > 0.0f) || mod->capacity > 1.0f)
        return amod_fail(err, "capacity %g is outside (0, 1]", (double)mod->capacity);
    for (int l = depth; l < AMOD_MAX_LAYERS; l++)
        if (mod->is_mod[l])
            return amod_fail(err, "MoD layer %d is beyond the model's depth %d", l, depth);
    if (mod->router != AMOD_ROUTER_ATTENTION) return 0;
    /* A-MoD scores tokens by the attention they received in the previous layer, which only a
     * dense layer computes over all tokens. */
    if (mod->is_mod[0])
        return amod_fail(err, "layer 0 cannot be a MoD layer with the attention router: "
                              "it needs a dense previous layer");
    for (int l = 1; l < depth; l++) {
        if (mod->is_mod[l] && mod->is_mod[l - 1])
            return amod_fail(err, "MoD layer %d follows MoD layer %d: the attention router "
                                  "needs a dense previous layer", l, l - 1);
        if (mod->is_mod[l] && not_dense && not_dense[l - 1])
            return amod_fail(err, "layer %d is MindSkip-routed: the attention router in layer %d needs a dense "
                                  "previous layer", l - 1, l);
    }
    return 0;
}

int amod_mod_validate(const amod_mod_config *mod, const amod_vit_config *cfg, amod_error *err) {
    if (!mod || !cfg) return amod_fail(err, "no MoD or model config given");
    return mod_check_routing(mod, cfg->depth, NULL, err);
}

static const char *const router_names[] = {
    [AMOD_ROUTER_NONE] = "none",
    [AMOD_ROUTER_ATTENTION] = "attention",
    [AMOD_ROUTER_LINEAR] = "linear",
    [AMOD_ROUTER_RANDOM] = "random",
};

const char *amod_router_name(amod_router r) {
    if (r < AMOD_ROUTER_NONE || r > AMOD_ROUTER_RANDOM) return "unknown";
    return router_names[r];
}

int amod_router_parse(const char *s, amod_router *out) {
    if (!s || !out) return -1;
    for (int r = AMOD_ROUTER_NONE; r <= AMOD_ROUTER_RANDOM; r++)
        if (!strcmp(s, router_names[r])) {
            *out = (amod_router)r;
            return 0;
        }
    return -1;
}
