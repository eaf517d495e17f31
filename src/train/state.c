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
    cfg->opt = (train_settings){.lr = 1e-3f, .min_lr = 1e-5f, .weight_decay = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f,
                                .eps = 1e-8f, .clip = 1.0f};
    cfg->eval_every = 1;
    cfg->log_every = 50;
    cfg->prefetch = -1;
}


static const char *const train_only_names[] = {"all", "head", "head+routers"};

int amod_train_only_parse(const char *s, amod_train_only *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, train_only_names[i])) return *out = (amod_train_only)i, 0;
    return -1;
}

const char *amod_train_only_name(amod_train_only t) { return t >= 0 && t <= 2 ? train_only_names[t] : "?"; }

int amod_train_only_takes(amod_train_only t, const char *name) {
    const size_t n = strlen(name);
    const int head = !strncmp(name, "head.", 5), router = n >= 13 && !strcmp(name + n - 13, "router.weight");
    return t == AMOD_TRAIN_ALL || head || (t == AMOD_TRAIN_HEAD_ROUTERS && router);
}

void amod_train_state_write(cJSON *c, cJSON *s, const amod_train_config *cfg, const amod_train_state *st) {
    cJSON_AddStringToObject(c, "dataset", cfg->dataset);
    cJSON_AddStringToObject(c, "data_dir", cfg->data_dir);
    cJSON_AddNumberToObject(c, "epochs", cfg->epochs);
    cJSON_AddNumberToObject(c, "batch_size", cfg->batch_size);
    train_settings_write(c, &cfg->opt);
    cJSON_AddNumberToObject(c, "crop_padding", cfg->crop_padding);
    cJSON_AddBoolToObject(c, "hflip", cfg->hflip);
    cJSON_AddNumberToObject(c, "eval_every", cfg->eval_every);
    cJSON_AddNumberToObject(c, "ckpt_every", (double)cfg->ckpt_every);
    cJSON_AddNumberToObject(c, "eval_steps", (double)cfg->eval_steps);
    cJSON_AddStringToObject(c, "train_only", amod_train_only_name(cfg->train_only));
    amod_json_add_float(c, "mixup", cfg->mix.mixup);
    amod_json_add_float(c, "cutmix", cfg->mix.cutmix);
    amod_json_add_float(c, "smoothing", cfg->mix.smoothing);
    amod_json_add_float(c, "reprob", cfg->reprob);
    amod_json_add_float(c, "crop_scale", cfg->crop_scale);
    cJSON_AddBoolToObject(c, "skip_bad_images", cfg->skip_bad);
    char aa[64];
    amod_autoaug_format(&cfg->autoaug, aa, sizeof aa);
    cJSON_AddStringToObject(c, "auto_augment", aa);
    cJSON_AddStringToObject(c, "precision", cfg->precision == AMOD_PRECISION_BF16 ? "bf16" : "f32");
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
}

/* absent from runs written before it existed: they trained everything */
static int read_train_only(const amod_json_fields *r, amod_train_config *c) {
    char name[32];
    c->train_only = AMOD_TRAIN_ALL;
    if (!cJSON_GetObjectItemCaseSensitive(r->obj, "train_only")) return 0;
    if (amod_json_field_str(r, "train_only", name, sizeof name)) return -1;
    if (amod_train_only_parse(name, &c->train_only))
        return amod_fail(r->err, "%s: config.train_only must be all, head or head+routers", r->path);
    return 0;
}

/* absent from runs written before it existed: they trained in float32 */
static int read_precision(const amod_json_fields *r, amod_train_config *c) {
    char s[16] = "";
    c->precision = AMOD_PRECISION_F32;
    if (!cJSON_GetObjectItemCaseSensitive(r->obj, "precision")) return 0;
    if (amod_json_field_str(r, "precision", s, sizeof s)) return -1;
    if (!strcmp(s, "bf16")) c->precision = AMOD_PRECISION_BF16;
    else if (strcmp(s, "f32")) return amod_fail(r->err, "%s: config.precision must be f32 or bf16, not '%s'", r->path, s);
    return 0;
}

static int read_autoaug(const amod_json_fields *r, amod_train_config *c) {
    char s[64] = "";
    amod_autoaug_parse(NULL, &c->autoaug, r->err);
    if (!cJSON_GetObjectItemCaseSensitive(r->obj, "auto_augment")) return 0;
    if (amod_json_field_str(r, "auto_augment", s, sizeof s)) return -1;
    amod_error why;
    if (amod_autoaug_parse(s, &c->autoaug, &why)) return amod_fail(r->err, "%s: config.auto_augment: %s", r->path, why.msg);
    return 0;
}

/* keys later runs added: absent in older files, which had the feature off */
static int read_optional_float(const amod_json_fields *r, const char *key, double hi, float *out) {
    *out = 0.0f;
    return cJSON_GetObjectItemCaseSensitive(r->obj, key) ? amod_json_field_float(r, key, 0, hi, out) : 0;
}

static int read_optional_i64(const amod_json_fields *r, const char *key, int64_t *out) {
    *out = 0; /* runs from before the key */
    return cJSON_GetObjectItemCaseSensitive(r->obj, key) ? amod_json_field_i64(r, key, 0, (int64_t)9e15, out) : 0;
}

static int read_config(const amod_json_fields *r, amod_train_config *c) {
    return amod_json_field_bool(r, "hflip", &c->hflip) || amod_json_field_str(r, "dataset", c->dataset, sizeof c->dataset) ||
                   amod_json_field_str(r, "data_dir", c->data_dir, sizeof c->data_dir) ||
                   amod_json_field_int(r, "epochs", 1, 1000000, &c->epochs) ||
                   amod_json_field_int(r, "batch_size", 1, 1 << 20, &c->batch_size) || train_settings_read(r, &c->opt) ||
                   amod_json_field_int(r, "crop_padding", 0, 4096, &c->crop_padding) ||
                   amod_json_field_int(r, "eval_every", 1, 1000000, &c->eval_every) ||
                   amod_json_field_i64(r, "ckpt_every", 0, (int64_t)9e15, &c->ckpt_every)
               ? -1
               : read_train_only(r, c) || read_optional_float(r, "mixup", 100, &c->mix.mixup) ||
                     read_optional_float(r, "cutmix", 100, &c->mix.cutmix) ||
                     read_optional_float(r, "smoothing", 0.999, &c->mix.smoothing) ||
                     read_optional_float(r, "reprob", 1, &c->reprob) ||
                     read_optional_float(r, "crop_scale", 1, &c->crop_scale) ||
                     (cJSON_GetObjectItemCaseSensitive(r->obj, "skip_bad_images") &&
                      amod_json_field_bool(r, "skip_bad_images", &c->skip_bad)) ||
                     read_autoaug(r, c) || read_precision(r, c) || read_optional_i64(r, "eval_steps", &c->eval_steps)
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
    cJSON *root;
    const cJSON *c, *s;
    if (train_state_read(path, NULL, &root, &c, &s, err)) return -1;
    amod_train_config_default(cfg);
    memset(st, 0, sizeof *st);
    amod_json_fields rc_ = {path, c, "config", err}, rs = {path, s, "state", err};
    int rc = read_config(&rc_, cfg) || read_state(&rs, st) ? -1 : 0;
    /* the fields against each other: each one alone was in range */
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
