/* Fuzz target: config.json from memory. A config the reader accepts must describe a model
 * that can exist: its FLOPs must be countable (only "too large" may refuse it) and, when it
 * is small enough to build quickly, amod_vit_create and amod_vit_set_mod must accept it. */
#include <string.h>

#include "model/vit_config.h"
#include "model/flops.h"
#include "targets.h"

/* Parameters of the model, in floats, estimated in double so nothing overflows. */
static double param_count(const amod_vit_config *c) {
    double d = c->embed_dim, m = c->mlp_hidden, p = c->patch_size;
    double n = (double)(c->img_size / (c->patch_size ? c->patch_size : 1));
    n = n * n + 1;
    return d * (c->in_chans * p * p + 1) + d + n * d + c->depth * (4 * d * d + 2 * d * m + m + 9 * d) + 2 * d +
           (d + 1) * c->num_classes;
}

int amod_fuzz_config(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    amod_vit_config cfg;
    amod_mod_config mod;
    amod_error other;
    /* Without the MoD section first (as amod flops and bench read it), then with it. */
    int rc_plain = amod_config_load_memory(name, (const char *)data, size, &cfg, NULL, &other);
    if (amod_config_load_memory(name, (const char *)data, size, &cfg, &mod, err)) return -1;
    if (rc_plain) amod_fuzz_broken("refused without MoD settings but accepted with: '%s'", other.msg);
    amod_flops fl;
    if (amod_flops_count(&cfg, &mod, &fl, &other) && !strstr(other.msg, "too large"))
        amod_fuzz_broken("config accepted, but its FLOPs are refused: %s", other.msg);
    if (param_count(&cfg) <= 1 << 16) {
        amod_vit *m = amod_vit_create(&cfg, 1, &other);
        if (!m) amod_fuzz_broken("config accepted, but amod_vit_create refuses it: %s", other.msg);
        if (mod.router != AMOD_ROUTER_NONE && amod_vit_set_mod(m, &mod, &other))
            amod_fuzz_broken("config accepted, but amod_vit_set_mod refuses it: %s", other.msg);
        amod_vit_free(m);
    }
    return 0;
}
