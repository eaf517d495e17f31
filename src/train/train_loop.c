/* The training loop every task runs on (train_loop.h). */
#include "train/train_loop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/json.h"
#include "train/checkpoint.h"

int train_loop_init(train_loop *L, const train_task *task, amod_adamw *opt, const amod_lr_schedule *sched, float clip,
                    int check_ranks, amod_comm *comm, const char *run_dir, amod_error *err) {
    memset(L, 0, sizeof *L);
    L->task = task;
    L->opt = *opt;
    memset(opt, 0, sizeof *opt);
    L->sched = *sched;
    L->clip = clip;
    L->check_ranks = check_ranks;
    L->alone = (amod_comm){0, 1, 0, 0};
    L->comm = comm ? comm : &L->alone;
    L->root = amod_comm_is_root(L->comm);
    L->run_dir = run_dir;
    L->kept = -1;
    if (task->ops->n_metrics < 0 || task->ops->n_metrics > TRAIN_MAX_METRICS)
        return amod_fail(err, "a training task reports at most %d metrics (got %d)", TRAIN_MAX_METRICS,
                         task->ops->n_metrics);
    return 0;
}

void train_loop_free(train_loop *L) { amod_adamw_free(&L->opt); }

int train_loop_resume(train_loop *L, const char *dir, int64_t step, amod_error *err) {
    char file[4200];
    struct stat st;
    if (snprintf(file, sizeof file, "%s/" TRAIN_OPTIMIZER_FILE, dir) >= (int)sizeof file)
        return amod_fail(err, "%s: path too long", dir);
    if (stat(file, &st) != 0) /* runs written before the rename */
        snprintf(file, sizeof file, "%s/" TRAIN_OPTIMIZER_FILE_OLD, dir);
    if (amod_adamw_load(&L->opt, file, err)) return -1;
    if (L->opt.step != step)
        return amod_fail(err, "%s: the optimizer took %lld steps, the trainer state says %lld", file,
                         (long long)L->opt.step, (long long)step);
    L->step = L->kept = step;
    return 0;
}

/* Why a run stopped on a non-finite number, and what it leaves behind. */
static int diverged(const train_loop *L, const char *what, double value, amod_error *err) {
    char kept[4200];
    amod_checkpoint_kept(kept, sizeof kept, L->run_dir ? L->run_dir : ".", L->run_dir ? L->kept : -1);
    return amod_fail(err, "step %lld: %s is %s; training stopped, %s", (long long)(L->step + 1), what,
                     isnan(value) ? "nan" : "inf", kept);
}

int train_loop_step(train_loop *L, train_step_report *r, amod_error *err) {
    const train_task *t = L->task;
    const train_ops *op = t->ops;
    amod_comm *c = L->comm;
    double sums[1 + TRAIN_MAX_METRICS] = {0};
    memset(r, 0, sizeof *r);
    if (op->forward(t->self, L->step, &sums[0], sums + 1, err)) return -1;
    if (op->sync && c->size > 1 && op->sync(t->self, c, err)) return -1;
    memset(t->grads, 0, t->n_params * sizeof *t->grads);
    if (op->backward(t->self, err)) return -1;
    float *g = t->grads + t->lo;
    const size_t n = t->hi - t->lo;
    /* Equal shares: the mean of the ranks' mean gradients is the gradient of the global
     * batch's mean loss, and every rank then takes the same step. */
    if (c->size > 1) {
        if (amod_comm_allreduce_mean(c, g, n, err) ||
            amod_comm_allreduce_sum_f64(c, sums, (size_t)(1 + op->n_metrics), err))
            return -1;
        for (int i = 0; i <= op->n_metrics; i++) sums[i] /= c->size;
    }
    r->loss = sums[0];
    memcpy(r->metrics, sums + 1, sizeof r->metrics);
    if (!isfinite(r->loss)) return diverged(L, "the training loss", r->loss, err);
    r->grad_norm = amod_grad_norm(g, n);
    if (!isfinite(r->grad_norm)) return diverged(L, "the gradient norm", r->grad_norm, err);
    r->lr = amod_lr_at(&L->sched, L->step);
    /* clipped as AdamW reads the gradients: one pass over them less than clipping in place */
    amod_adamw_step_scaled(&L->opt, t->params, t->grads, amod_clip_coef(r->grad_norm, L->clip), r->lr);
    if (L->check_ranks && c->size > 1 &&
        amod_comm_check_same(c, amod_hash_bytes(t->params, t->n_params * sizeof(float), 0), "weights after an update", err))
        return -1;
    r->step = ++L->step;
    return 0;
}

/* trainer.json: {"format": 1, ["command": ...,] "config": {...}, "state": {...}}. */
static int write_state(const train_loop *L, const char *path, amod_error *err) {
    const train_task *t = L->task;
    cJSON *root = cJSON_CreateObject();
    if (!root) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory writing %s", path);
    cJSON_AddNumberToObject(root, "format", 1);
    if (t->ops->command) cJSON_AddStringToObject(root, "command", t->ops->command);
    cJSON *config = cJSON_AddObjectToObject(root, "config"), *state = cJSON_AddObjectToObject(root, "state");
    t->ops->save_state(t->self, L->step, config, state);
    return amod_json_write(path, root, err);
}

int train_loop_checkpoint(train_loop *L, const char *name, amod_error *err) {
    if (!L->root || !L->run_dir) return 0; /* every rank holds the same weights: rank 0 writes them */
    const train_task *t = L->task;
    char fresh[4096], file[4200];
    int rc = amod_checkpoint_begin(L->run_dir, name, fresh, sizeof fresh, err) || t->ops->save_model(t->self, fresh, err);
    if (!rc) {
        snprintf(file, sizeof file, "%s/" TRAIN_OPTIMIZER_FILE, fresh);
        rc = amod_adamw_save(&L->opt, file, err);
    }
    if (!rc) {
        snprintf(file, sizeof file, "%s/trainer.json", fresh);
        rc = write_state(L, file, err) || amod_checkpoint_commit(L->run_dir, name, err);
    }
    if (rc) { /* say what is left to resume from */
        char kept[4200];
        amod_checkpoint_kept(kept, sizeof kept, L->run_dir, L->kept);
        return amod_fail_suffix(err, kept);
    }
    if (!strcmp(name, "last")) L->kept = L->step;
    return 0;
}

int train_loop_run(train_loop *L, int64_t max_steps, volatile sig_atomic_t *stop, int save_at_end, train_end *end,
                   amod_error *err) {
    const train_task *t = L->task;
    *end = TRAIN_COMPLETE;
    for (;;) {
        int more = t->ops->before_step(t->self, L->step, err);
        if (more < 0) return -1;
        if (!more) break;
        if (max_steps > 0 && L->step >= max_steps) {
            *end = TRAIN_MAX_STEPS;
            break;
        }
        if (stop && *stop) {
            *end = TRAIN_INTERRUPTED;
            break;
        }
        train_step_report r;
        if (train_loop_step(L, &r, err) || t->ops->after_step(t->self, &r, err)) return -1;
    }
    if (L->kept == L->step || (*end == TRAIN_COMPLETE && !save_at_end)) return 0;
    return train_loop_checkpoint(L, "last", err);
}

int train_check_ranks(amod_comm *comm, const train_rank_check *checks, int n, amod_error *err) {
    if (!comm || comm->size == 1) return 0;
    for (int i = 0; i < n; i++)
        if (amod_comm_check_same(comm, checks[i].hash, checks[i].what, err)) return -1;
    return 0;
}

int train_state_read(const char *path, const char *command, cJSON **root, const cJSON **config,
                     const cJSON **state, amod_error *err) {
    if (!(*root = amod_json_read_object(path, err))) return -1;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(*root, "format");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(*root, "command");
    *config = cJSON_GetObjectItemCaseSensitive(*root, "config");
    *state = cJSON_GetObjectItemCaseSensitive(*root, "state");
    int rc = 0;
    if (command && (!cJSON_IsString(cmd) || strcmp(cmd->valuestring, command)))
        rc = amod_fail(err, "%s: not a %s checkpoint", path, command);
    else if (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1)
        rc = amod_fail(err, "%s: unknown format (expected \"format\": 1)", path);
    else if (!cJSON_IsObject(*config) || !cJSON_IsObject(*state))
        rc = amod_fail(err, "%s: needs the objects \"config\" and \"state\"", path);
    if (rc) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return rc;
}

int train_settings_check(const train_settings *s, amod_error *err) {
    if (!(s->lr >= 0) || !isfinite(s->lr) || !(s->min_lr >= 0) || !isfinite(s->min_lr))
        return amod_fail(err, "learning rates must be finite and non-negative (lr %g, min lr %g)", (double)s->lr,
                         (double)s->min_lr);
    if (s->min_lr > s->lr)
        return amod_fail(err, "the final learning rate %g is above the peak %g", (double)s->min_lr, (double)s->lr);
    if (!(s->weight_decay >= 0) || !isfinite(s->weight_decay))
        return amod_fail(err, "weight decay must be finite and non-negative, got %g", (double)s->weight_decay);
    if (!(s->beta1 >= 0 && s->beta1 < 1) || !(s->beta2 >= 0 && s->beta2 < 1) || !(s->eps > 0))
        return amod_fail(err, "AdamW needs betas in [0, 1) and eps > 0");
    if (!(s->clip >= 0) || !isfinite(s->clip))
        return amod_fail(err, "clip must be finite and >= 0, got %g", (double)s->clip);
    if (s->warmup_steps < 0) return amod_fail(err, "warmup steps must be >= 0");
    return 0;
}

void train_settings_write(cJSON *c, const train_settings *s) {
    const struct {
        const char *key;
        float v;
    } floats[] = {{"lr", s->lr},       {"min_lr", s->min_lr}, {"weight_decay", s->weight_decay}, {"beta1", s->beta1},
                  {"beta2", s->beta2}, {"eps", s->eps},       {"clip", s->clip}};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) amod_json_add_float(c, floats[i].key, floats[i].v);
    cJSON_AddNumberToObject(c, "warmup_steps", (double)s->warmup_steps);
    amod_json_add_hex64(c, "seed", s->seed);
}

int train_settings_read(const amod_json_fields *r, train_settings *s) {
    if (amod_json_field_float(r, "lr", 0, 1e30, &s->lr) || amod_json_field_float(r, "min_lr", 0, 1e30, &s->min_lr) ||
        amod_json_field_i64(r, "warmup_steps", 0, (int64_t)1 << 50, &s->warmup_steps) ||
        amod_json_field_float(r, "weight_decay", 0, 1e30, &s->weight_decay) ||
        amod_json_field_float(r, "beta1", 0, 1, &s->beta1) || amod_json_field_float(r, "beta2", 0, 1, &s->beta2) ||
        amod_json_field_float(r, "eps", 0, 1, &s->eps) || amod_json_field_float(r, "clip", 0, 1e30, &s->clip) ||
        amod_json_field_hex64(r, "seed", &s->seed))
        return -1;
    /* the fields against each other: each one alone was in range */
    if (s->min_lr > s->lr)
        return amod_fail(r->err, "%s: %s.min_lr %g is above %s.lr %g", r->path, r->section, (double)s->min_lr,
                         r->section, (double)s->lr);
    return 0;
}

amod_adamw_config train_settings_adamw(const train_settings *s) {
    return (amod_adamw_config){s->beta1, s->beta2, s->eps, s->weight_decay};
}
