/* The MoD section of config.json (mod_config_json.h). */
#include "model/mod_config_json.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

static int known_key(const char *key, const char *const *extra) {
    static const char *const keys[] = {"router", "capacity", "mod_layers", "seed", NULL};
    for (int i = 0; keys[i]; i++)
        if (!strcmp(key, keys[i])) return 1;
    for (int i = 0; extra && extra[i]; i++)
        if (!strcmp(key, extra[i])) return 1;
    return 0;
}

int mod_config_read_json(const char *path, const char *section, const cJSON *o, int depth, const char *const *extra,
                         amod_mod_config *mod, amod_error *err) {
    if (!cJSON_IsObject(o)) return amod_fail(err, "%s: '%s' must be an object", path, section);
    for (const cJSON *it = o->child; it; it = it->next)
        if (!known_key(it->string, extra)) return amod_fail(err, "%s: unknown %s key '%s'", path, section, it->string);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "router");
    if (r && (!cJSON_IsString(r) || amod_router_parse(r->valuestring, &mod->router)))
        return amod_fail(err, "%s: %s.router must be attention, linear, random or none", path, section);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "capacity");
    if (c) {
        if (!cJSON_IsNumber(c)) return amod_fail(err, "%s: %s.capacity must be a number", path, section);
        mod->capacity = (float)c->valuedouble;
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(o, "mod_layers");
    if (layers) {
        if (!cJSON_IsArray(layers)) return amod_fail(err, "%s: %s.mod_layers must be a list", path, section);
        memset(mod->is_mod, 0, sizeof mod->is_mod);
        for (const cJSON *e = layers->child; e; e = e->next) {
            if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
                e->valuedouble >= depth)
                return amod_fail(err, "%s: %s.mod_layers holds a layer outside 0..%d", path, section, depth - 1);
            if (mod->is_mod[(int)e->valuedouble])
                return amod_fail(err, "%s: %s.mod_layers lists layer %d twice", path, section, (int)e->valuedouble);
            mod->is_mod[(int)e->valuedouble] = 1;
        }
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (s) {
        /* 2^64 and beyond would overflow the conversion (undefined behaviour, not a wrap). */
        if (!cJSON_IsNumber(s) || s->valuedouble != floor(s->valuedouble) || s->valuedouble < 0 ||
            s->valuedouble >= 18446744073709551616.0)
            return amod_fail(err, "%s: %s.seed must be an integer in [0, 2^64)", path, section);
        mod->seed = (uint64_t)s->valuedouble;
    }
    return 0;
}

void mod_config_write_json(cJSON *o, const amod_mod_config *mod, int depth) {
    cJSON_AddStringToObject(o, "router", amod_router_name(mod->router));
    cJSON_AddNumberToObject(o, "capacity", mod->capacity);
    cJSON *layers = cJSON_AddArrayToObject(o, "mod_layers");
    for (int l = 0; l < depth; l++)
        if (mod->is_mod[l]) cJSON_AddItemToArray(layers, cJSON_CreateNumber(l));
    cJSON_AddNumberToObject(o, "seed", (double)mod->seed);
}
