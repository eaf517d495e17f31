#include "train/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"

void amod_train_config_default(amod_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch_size = 128;
    cfg->lr = 1e-3f;
    cfg->min_lr = 1e-5f;
    cfg->weight_decay = 0.05f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
    cfg->clip = 1.0f;
    cfg->eval_every = 1;
    cfg->log_every = 50;
}


int amod_train_state_save(const char *path, const amod_train_config *cfg, const amod_train_state *st,
                          amod_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", 1);
    cJSON *c = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(c, "dataset", cfg->dataset);
    cJSON_AddStringToObject(c, "data_dir", cfg->data_dir);
    cJSON_AddNumberToObject(c, "epochs", cfg->epochs);
    cJSON_AddNumberToObject(c, "batch_size", cfg->batch_size);
    amod_json_add_float(c, "lr", cfg->lr);
    amod_json_add_float(c, "min_lr", cfg->min_lr);
    cJSON_AddNumberToObject(c, "warmup_steps", (double)cfg->warmup_steps);
    amod_json_add_float(c, "weight_decay", cfg->weight_decay);
    amod_json_add_float(c, "beta1", cfg->beta1);
    amod_json_add_float(c, "beta2", cfg->beta2);
    amod_json_add_float(c, "eps", cfg->eps);
    amod_json_add_float(c, "clip", cfg->clip);
    amod_json_add_hex64(c, "seed", cfg->seed);
    cJSON_AddNumberToObject(c, "crop_padding", cfg->crop_padding);
    cJSON_AddBoolToObject(c, "hflip", cfg->hflip);
    cJSON_AddNumberToObject(c, "eval_every", cfg->eval_every);
    cJSON_AddNumberToObject(c, "ckpt_every", (double)cfg->ckpt_every);
    cJSON *s = cJSON_AddObjectToObject(root, "state");
    cJSON_AddNumberToObject(s, "step", (double)st->step);
    cJSON_AddNumberToObject(s, "epoch", (double)st->loader.epoch);
    cJSON_AddNumberToObject(s, "epoch_pos", (double)st->loader.pos);
    amod_json_add_hex64(s, "loader_seed", st->loader.seed);
    amod_json_add_hex64(s, "model_rng", st->model_rng);
    cJSON_AddNumberToObject(s, "loss_sum", st->loss_sum);
    cJSON_AddNumberToObject(s, "loss_steps", (double)st->loss_steps);
    cJSON_AddNumberToObject(s, "best_acc", st->best_acc);
    cJSON_AddNumberToObject(s, "best_epoch", (double)st->best_epoch);
    cJSON_AddNumberToObject(s, "elapsed_s", st->elapsed);
    return amod_json_write(path, root, err);
}

static int read_config(const amod_json_fields *r, amod_train_config *c) {
    const double big = 9e15;
    return amod_json_field_bool(r, "hflip", &c->hflip) || amod_json_field_str(r, "dataset", c->dataset, sizeof c->dataset) ||
                   amod_json_field_str(r, "data_dir", c->data_dir, sizeof c->data_dir) ||
                   amod_json_field_int(r, "epochs", 1, 1000000, &c->epochs) ||
                   amod_json_field_int(r, "batch_size", 1, 1 << 20, &c->batch_size) || amod_json_field_float(r, "lr", 0, 1e30, &c->lr) ||
                   amod_json_field_float(r, "min_lr", 0, 1e30, &c->min_lr) ||
                   amod_json_field_i64(r, "warmup_steps", 0, (int64_t)big, &c->warmup_steps) ||
                   amod_json_field_float(r, "weight_decay", 0, 1e30, &c->weight_decay) ||
                   amod_json_field_float(r, "beta1", 0, 1, &c->beta1) || amod_json_field_float(r, "beta2", 0, 1, &c->beta2) ||
                   amod_json_field_float(r, "eps", 0, 1, &c->eps) || amod_json_field_float(r, "clip", 0, 1e30, &c->clip) ||
                   amod_json_field_hex64(r, "seed", &c->seed) || amod_json_field_int(r, "crop_padding", 0, 4096, &c->crop_padding) ||
                   amod_json_field_int(r, "eval_every", 1, 1000000, &c->eval_every) ||
                   amod_json_field_i64(r, "ckpt_every", 0, (int64_t)big, &c->ckpt_every)
               ? -1
               : 0;
}

static int read_state(const amod_json_fields *r, amod_train_state *s) {
    const double big = 9e15;
    return amod_json_field_i64(r, "step", 0, (int64_t)big, &s->step) ||
                   amod_json_field_i64(r, "epoch", 0, (int64_t)big, &s->loader.epoch) ||
                   amod_json_field_i64(r, "epoch_pos", 0, (int64_t)big, &s->loader.pos) ||
                   amod_json_field_hex64(r, "loader_seed", &s->loader.seed) || amod_json_field_hex64(r, "model_rng", &s->model_rng) ||
                   amod_json_field_num(r, "loss_sum", -big, big, &s->loss_sum) ||
                   amod_json_field_i64(r, "loss_steps", 0, (int64_t)big, &s->loss_steps) ||
                   amod_json_field_num(r, "best_acc", -1, 1, &s->best_acc) ||
                   amod_json_field_i64(r, "best_epoch", -1, (int64_t)big, &s->best_epoch) ||
                   amod_json_field_num(r, "elapsed_s", 0, big, &s->elapsed)
               ? -1
               : 0;
}

int amod_train_state_load(const char *path, amod_train_config *cfg, amod_train_state *st, amod_error *err) {
    cJSON *root = amod_json_read_object(path, err);
    if (!root) return -1;
    int rc = 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1)
        rc = amod_fail(err, "%s: unknown format (expected \"format\": 1)", path);
    else if (!cJSON_IsObject(c) || !cJSON_IsObject(s))
        rc = amod_fail(err, "%s: needs the objects \"config\" and \"state\"", path);
    if (!rc) {
        amod_train_config_default(cfg);
        memset(st, 0, sizeof *st);
        amod_json_fields rc_ = {path, c, "config", err}, rs = {path, s, "state", err};
        rc = read_config(&rc_, cfg) || read_state(&rs, st) ? -1 : 0;
    }
    /* the fields against each other: each one alone was in range */
    if (!rc && cfg->min_lr > cfg->lr)
        rc = amod_fail(err, "%s: config.min_lr %g is above config.lr %g", path, (double)cfg->min_lr, (double)cfg->lr);
    if (!rc && st->loader.epoch > cfg->epochs)
        rc = amod_fail(err, "%s: state.epoch %lld is beyond config.epochs %d", path, (long long)st->loader.epoch,
                       cfg->epochs);
    if (!rc && st->loader.pos % cfg->batch_size)
        rc = amod_fail(err, "%s: state.epoch_pos %lld is not a multiple of config.batch_size %d", path,
                       (long long)st->loader.pos, cfg->batch_size);
    if (!rc && st->best_epoch > st->loader.epoch)
        rc = amod_fail(err, "%s: state.best_epoch %lld is beyond state.epoch %lld", path, (long long)st->best_epoch,
                       (long long)st->loader.epoch);
    cJSON_Delete(root);
    return rc;
}
