/* Fuzz target: config.json from memory. A config the reader accepts must describe a model
 * that can exist: its FLOPs must be countable (only "too large" may refuse it). */
#include <string.h>

#include "io/config.h"
#include "model/flops.h"
#include "targets.h"

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
        amod_fuzz_broken("config accepted, but its model is refused: %s", other.msg);
    return 0;
}
