/* The Mixture-of-Depths section of a config.json ("mod" in a ViT's, "amod.mod" in a language
 * model's), read and written the same way for every family. */
#ifndef AMOD_MODEL_MOD_CONFIG_JSON_H
#define AMOD_MODEL_MOD_CONFIG_JSON_H

#include <cjson/cJSON.h>

#include "amod/amod.h"

/* router, capacity, mod_layers (within 0..depth-1, each once) and seed (an integer in
 * [0, 2^64)) from the object o into mod, absent keys left as they are; any other key but
 * those in extra (NULL-terminated, may be NULL) is refused. Messages read "PATH: SECTION.KEY
 * ...". The settings' consistency is the caller's check (mod_check_routing). */
int mod_config_read_json(const char *path, const char *section, const cJSON *o, int depth, const char *const *extra,
                         amod_mod_config *mod, amod_error *err);
/* The same keys into o. */
void mod_config_write_json(cJSON *o, const amod_mod_config *mod, int depth);

#endif
