#include "train/lm_state.h"

#include <string.h>

#include "core/error.h"
#include "io/json.h"

void amod_lm_train_state_write(cJSON *j, cJSON *st, const amod_lm_train_config *c, const amod_lm_position *pos) {
    cJSON_AddStringToObject(j, "data", c->data ? c->data : "");
    amod_json_add_float(j, "val_frac", c->val_frac);
    cJSON_AddNumberToObject(j, "steps", (double)c->steps);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "seq", c->seq);
    train_settings_write(j, &c->opt);
    cJSON_AddBoolToObject(j, "router_tuning", c->router_tuning);
    cJSON_AddNumberToObject(j, "log_every", (double)c->log_every);
    cJSON_AddNumberToObject(j, "ckpt_every", (double)c->ckpt_every);
    cJSON_AddNumberToObject(j, "data_bytes", (double)c->data_bytes);
    amod_json_add_hex64(j, "data_hash", c->data_hash);
    cJSON_AddNumberToObject(st, "step", (double)pos->step);
    amod_json_add_hex64(st, "sampler_rng", pos->sampler_rng);
    amod_json_add_hex64(st, "model_rng", pos->model_rng);
}

static int read_config(const amod_json_fields *r, char *data, size_t cap, float *val_frac, amod_lm_train_config *c) {
    const int64_t big = (int64_t)1 << 50;
    int batch = 0, seq = 0;
    if (amod_json_field_str(r, "data", data, cap) || amod_json_field_float(r, "val_frac", 0, 1, val_frac) ||
        amod_json_field_i64(r, "steps", 0, big, &c->steps) || amod_json_field_int(r, "batch", 1, 1 << 20, &batch) ||
        amod_json_field_int(r, "seq", 2, 1 << 20, &seq) || train_settings_read(r, &c->opt) ||
        amod_json_field_bool(r, "router_tuning", &c->router_tuning) ||
        amod_json_field_i64(r, "log_every", 0, big, &c->log_every) ||
        amod_json_field_i64(r, "ckpt_every", 0, big, &c->ckpt_every))
        return -1;
    /* the corpus fingerprint (absent from checkpoints written before it was recorded) */
    int64_t bytes = 0;
    c->data_bytes = 0, c->data_hash = 0;
    if (cJSON_GetObjectItemCaseSensitive(r->obj, "data_bytes") &&
        (amod_json_field_i64(r, "data_bytes", 0, (int64_t)1 << 62, &bytes) ||
         amod_json_field_hex64(r, "data_hash", &c->data_hash)))
        return -1;
    c->data_bytes = (uint64_t)bytes;
    c->batch = batch, c->seq = seq;
    return 0;
}

static int read_position(const amod_json_fields *r, const amod_lm_train_config *c, amod_lm_position *pos) {
    if (amod_json_field_i64(r, "step", 0, (int64_t)1 << 50, &pos->step)) return -1;
    if (pos->step > c->steps)
        return amod_fail(r->err, "%s: state.step %lld is beyond config.steps %lld", r->path, (long long)pos->step,
                         (long long)c->steps);
    return amod_json_field_hex64(r, "sampler_rng", &pos->sampler_rng) ||
                   amod_json_field_hex64(r, "model_rng", &pos->model_rng)
               ? -1
               : 0;
}

int amod_lm_train_state_load(const char *path, char *data, size_t cap, float *val_frac, amod_lm_train_config *c,
                             amod_lm_position *pos, amod_error *err) {
    cJSON *root;
    const cJSON *j, *st;
    if (train_state_read(path, AMOD_LM_TRAIN_COMMAND, &root, &j, &st, err)) return -1;
    amod_json_fields rc_ = {path, j, "config", err}, rs = {path, st, "state", err};
    int rc = read_config(&rc_, data, cap, val_frac, c) || read_position(&rs, c, pos) ? -1 : 0;
    cJSON_Delete(root);
    return rc;
}
