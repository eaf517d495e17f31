/* A language model's checkpoint directory: config.json (with the "amod" routing object) and
 * model.safetensors, in and out. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/lm_config.h"
#include "model/lm_internal.h"

/* ---- loading ---- */

/* Old GPT-2 files (openai-community/gpt2) name tensors without the "transformer." prefix. */
static const st_tensor *find_tensor(const st_file *f, const char *name) {
    const st_tensor *s = st_find(f, name);
    if (!s && !strncmp(name, "transformer.", 12)) s = st_find(f, name + 12);
    return s;
}

static int load_tensor(void *model, const st_file *f, int i, amod_error *err) {
    amod_lm *m = model;
    const char *name = m->pt.tensors[i].name;
    const st_tensor *s = find_tensor(f, name);
    if (!s) return amod_fail(err, "%s: missing tensor '%s'", f->path, name);
    return ptab_read(&m->pt, f, i, s->name, err);
}

amod_lm *amod_lm_load(const char *dir, amod_error *err) {
    char path[2048];
    amod_lm_config cfg;
    lm_routing routing;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (lm_config_load(path, &cfg, &routing, err)) return NULL;
    amod_lm *m = lm_new(&cfg, err);
    if (!m) return NULL;
    if ((routing.mod.router != AMOD_ROUTER_NONE &&
         amod_lm_set_mod(m, &routing.mod, routing.predictor_hidden, err)) ||
        (routing.skip.mode != AMOD_LM_SKIP_NONE && amod_lm_set_mindskip(m, &routing.skip, err))) {
        amod_fail_prefix(err, path); /* the routing comes from config.json */
    } else if (!ptab_load(&m->pt, dir, load_tensor, m, err)) {
        if (m->pred_hidden > 0) memcpy(m->pred_threshold, routing.predictor_threshold, sizeof m->pred_threshold);
        return m;
    }
    amod_lm_free(m);
    return NULL;
}

int amod_lm_load_params(amod_lm *m, const char *path, amod_error *err) { return ptab_load_some(&m->pt, path, err); }

/* ---- saving ---- */

int amod_lm_save(const amod_lm *m, const char *dir, amod_error *err) {
    char path[2048];
    int rc = ptab_save(&m->pt, dir, err);
    lm_routing r;
    memset(&r, 0, sizeof r);
    r.mod = m->mod;
    r.predictor_hidden = m->pred_hidden;
    memcpy(r.predictor_threshold, m->pred_threshold, sizeof r.predictor_threshold);
    r.skip = m->skip;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!rc) rc = lm_config_save(path, &m->cfg, &r, err);
    return rc;
}
