#include "train/trainer.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/comm.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "data/imagefolder.h"
#include "data/prefetch.h"
#include "train/checkpoint.h"
#include "train/train_loop.h"
#include "train/evaluate.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/runlog.h"
#include "train/schedule.h"

void amod_set_threads(int n) {
    /* Single-threaded OpenBLAS (core/threads.h), which also matters here: a multi-threaded
     * sgemm splits its work by thread count, so its results would change with it. */
    amod_threads_init(n);
}

static int check_config(const amod_train_config *c, amod_error *err) {
    if (c->epochs < 1) return amod_fail(err, "epochs must be at least 1, got %d", c->epochs);
    if (c->batch_size < 1) return amod_fail(err, "batch size must be at least 1, got %d", c->batch_size);
    if (train_settings_check(&c->opt, err)) return -1;
    if (c->ckpt_every < 0 || c->max_steps < 0 || c->eval_every < 1)
        return amod_fail(err, "checkpoint and step counts must be >= 0, eval_every >= 1");
    if (!(c->mix.mixup >= 0 && c->mix.mixup <= 100) || !(c->mix.cutmix >= 0 && c->mix.cutmix <= 100) ||
        !(c->mix.smoothing >= 0 && c->mix.smoothing < 1) || !(c->reprob >= 0 && c->reprob <= 1))
        return amod_fail(err, "mixup and cutmix alphas must be in [0, 100], smoothing in [0, 1), reprob in [0, 1]");
    if (!(c->crop_scale >= 0 && c->crop_scale <= 1))
        return amod_fail(err, "--crop-scale %g is not in [0, 1] (the smallest share of the picture a crop keeps)",
                         c->crop_scale);
    return 0;
}

/* The image task: what the loop (train/train_loop.c) asks of `amod train`. */
typedef struct {
    amod_vit *m;
    amod_vit_ctx *eval; /* evaluation's own context: the training arena stays as it is */
    const amod_dataset *test;
    const char *run_dir;
    const amod_train_config *cfg;
    train_loop loop;
    train_task task;
    amod_loader ld;
    amod_prefetch *pf;      /* image files and packs: the next batch decoded during this step */
    amod_loader_state pos;  /* where the run stands: the loader may be a batch ahead of it */
    amod_train_state st;
    amod_runlog log;
    amod_progress prog;
    int64_t steps_per_epoch;
    float lr;                       /* of the last update */
    double t_start, elapsed_before; /* this process's start; seconds of earlier processes */
    double t_epoch;                 /* when this epoch started (in this process) */
    double train_time;              /* seconds in training steps (no evaluation), this process */
    double t_step;                  /* when the update in progress started */
    int64_t images_epoch, steps_here;
    int n;                          /* images of this rank in the batch in progress */
    float *images, *logits, *targets; /* targets [local, K]: mixup / cutmix / smoothing */
    int64_t *labels;
    amod_train_result *res;
    amod_comm *comm; /* never NULL: the loop's one-rank stand-in when training alone */
} trainer;

static double elapsed(const trainer *t) { return t->elapsed_before + (amod_seconds() - t->t_start); }

/* ---- the task's hooks ---- */

static int task_forward(void *self, int64_t step, double *loss, double *metrics, amod_error *err) {
    trainer *t = self;
    (void)metrics;
    t->t_step = amod_seconds();
    float l;
    const int B = t->cfg->batch_size;
    if (t->pf) { /* the batch rendered during the last step; the next one starts now */
        const int more = (t->pos.pos + B) / B < t->steps_per_epoch;
        t->n = amod_prefetch_next(t->pf, &t->images, &t->labels, more, err);
        t->pos.pos += B;
    } else {
        t->n = amod_loader_next_shard(&t->ld, B, t->comm->rank, t->comm->size, t->images, t->labels, err);
        t->pos = amod_loader_get_state(&t->ld);
    }
    if (t->n < 0) return -1;
    if (amod_mix_active(&t->cfg->mix)) { /* drawn per (seed, step, rank): a resumed run mixes alike */
        const amod_vit_config *mc = amod_vit_get_config(t->m);
        amod_data_rng r;
        amod_data_rng_seed4(&r, t->cfg->opt.seed, 0x4d495855ull /* "MIXU" */, (uint64_t)step, (uint64_t)t->comm->rank);
        amod_mix_batch(&t->cfg->mix, &r, t->images, t->n, mc->in_chans, mc->img_size, mc->img_size, t->labels,
                       mc->num_classes, t->targets);
        if (amod_vit_forward_soft(t->m, t->images, t->n, t->targets, t->logits, &l, err)) return -1;
    } else if (amod_vit_forward(t->m, t->images, t->n, t->labels, t->logits, &l, err)) {
        return -1;
    }
    *loss = l;
    return 0;
}

/* Frozen tensors (--train-only) get their gradients zeroed: the update, the clipping norm and
 * the ranks' average then see the trainable ones only. */
static int task_backward(void *self, amod_error *err) {
    trainer *t = self;
    if (amod_vit_backward(t->m, err)) return -1;
    if (t->cfg->train_only == AMOD_TRAIN_ALL) return 0;
    float *g = amod_vit_grads(t->m);
    for (int i = 0; i < amod_vit_num_tensors(t->m); i++)
        if (!amod_train_only_takes(t->cfg->train_only, amod_vit_tensor_name(t->m, i))) {
            int64_t shape[4];
            size_t numel = 1;
            for (int d = amod_vit_tensor_shape(t->m, i, shape) - 1; d >= 0; d--) numel *= (size_t)shape[d];
            memset(g + amod_vit_tensor_offset(t->m, i), 0, numel * sizeof *g);
        }
    return 0;
}

static int task_save_model(void *self, const char *dir, amod_error *err) {
    return amod_vit_save(((trainer *)self)->m, dir, err);
}

static void task_save_state(void *self, int64_t step, cJSON *config, cJSON *state) {
    trainer *t = self;
    t->st.step = step;
    t->st.loader = t->pos;
    t->st.model_rng = amod_vit_rng_state(t->m);
    t->st.elapsed = elapsed(t);
    amod_train_state_write(config, state, t->cfg, &t->st);
}

static int eval_within_epoch(trainer *t, amod_error *err);

static int task_after_step(void *self, const train_step_report *r, amod_error *err) {
    trainer *t = self;
    const amod_train_config *c = t->cfg;
    amod_vit_weights_changed(t->m); /* the update moved them: evaluation packs them anew */
    t->lr = r->lr;
    t->st.step = r->step;
    t->st.loss_sum += (float)r->loss;
    t->st.loss_steps++;
    t->steps_here++;
    t->images_epoch += (int64_t)t->n * t->comm->size;
    t->train_time += amod_seconds() - t->t_step;
    double per_step = t->train_time / (double)t->steps_here;
    int64_t total = t->loop.sched.total_steps;
    double mean_loss = t->st.loss_sum / (double)t->st.loss_steps; /* of the epoch so far: steadier */
    amod_progress_info info = {t->pos.epoch + 1, c->epochs, t->st.step, total, mean_loss, t->lr,
                               t->images_epoch / (amod_seconds() - t->t_epoch), per_step * (double)(total - t->st.step)};
    amod_progress_step(&t->prog, &info);
    /* --eval-steps: a log row inside the epoch (its end evaluates anyway) */
    const int epoch_done = t->pos.pos / c->batch_size >= t->steps_per_epoch;
    if (c->eval_steps > 0 && t->st.step % c->eval_steps == 0 && !epoch_done && t->test && eval_within_epoch(t, err))
        return -1;
    if (c->ckpt_every > 0 && t->st.step % c->ckpt_every == 0) return train_loop_checkpoint(&t->loop, "last", err);
    return 0;
}

/* Each rank evaluates its contiguous share of the test set; the counts are summed. */
static int evaluate_split(trainer *t, amod_eval_result *ev, amod_error *err) {
    const amod_dataset *ds = t->test;
    int r = t->comm->rank, P = t->comm->size;
    int64_t lo = ds->count * r / P, hi = ds->count * (r + 1) / P;
    amod_dataset part;
    amod_dataset_view view;
    memset(ev, 0, sizeof *ev);
    if (amod_dataset_slice(ds, lo, hi, &part, &view, err)) return -1;
    int rc = part.count > 0 ? amod_evaluate_ctx(t->eval, &part, t->cfg->batch_size, ev, err) : 0;
    amod_dataset_view_free(&view);
    if (rc) return -1;
    double sums[3] = {(double)ev->correct, (double)ev->count, ev->loss * (double)ev->count};
    if (amod_comm_allreduce_sum_f64(t->comm, sums, 3, err)) return -1;
    ev->correct = (int64_t)sums[0];
    ev->count = (int64_t)sums[1];
    ev->accuracy = ev->count ? sums[0] / sums[1] : 0;
    ev->loss = ev->count ? sums[2] / sums[1] : 0;
    return 0;
}

/* An evaluation between two steps of an epoch, for learning curves: logged with the epochs
 * completed so far and the step; it does not choose best/ (the epochs' evaluations do). */
static int eval_within_epoch(trainer *t, amod_error *err) {
    amod_eval_result ev;
    if (evaluate_split(t, &ev, err)) return -1;
    amod_runlog_row row = {t->pos.epoch, t->st.step, t->st.loss_sum / (double)t->st.loss_steps, ev.loss, ev.accuracy,
                           t->lr, t->images_epoch / (amod_seconds() - t->t_epoch), elapsed(t)};
    amod_progress_note(&t->prog, "step %lld: test loss %.4f, test acc %.2f%%", (long long)t->st.step, ev.loss,
                       100 * ev.accuracy);
    return t->loop.root ? amod_runlog_add(&t->log, &row, err) : 0;
}

/* After the last batch of an epoch: evaluate, log, keep the best, checkpoint. */
static int end_epoch(trainer *t, amod_error *err) {
    const amod_train_config *c = t->cfg;
    int64_t done = t->pos.epoch + 1;
    double train_loss = t->st.loss_steps ? t->st.loss_sum / (double)t->st.loss_steps : NAN;
    double ips = t->images_epoch / (amod_seconds() - t->t_epoch);
    amod_runlog_row row = {done, t->st.step, train_loss, NAN, NAN, t->lr, ips, 0};
    int best = 0;
    if (t->test && (done % c->eval_every == 0 || done == c->epochs)) {
        amod_eval_result ev;
        if (evaluate_split(t, &ev, err)) return -1;
        row.test_loss = t->res->test_loss = ev.loss;
        row.test_acc = t->res->test_acc = ev.accuracy;
        if (ev.accuracy > t->st.best_acc) {
            t->st.best_acc = ev.accuracy;
            t->st.best_epoch = done;
            best = 1;
        }
    }
    row.elapsed_s = elapsed(t);
    char took[32];
    amod_format_duration(row.elapsed_s, took, sizeof took);
    if (isnan(row.test_acc))
        amod_progress_note(&t->prog, "epoch %lld/%d: train loss %.4f, %.0f img/s, %s", (long long)done, c->epochs,
                           train_loss, ips, took);
    else
        amod_progress_note(&t->prog, "epoch %lld/%d: train loss %.4f, test loss %.4f, test acc %.2f%%%s, %.0f img/s, %s",
                           (long long)done, c->epochs, train_loss, row.test_loss, 100 * row.test_acc,
                           best ? " (best)" : "", ips, took);
    if (t->loop.root && amod_runlog_add(&t->log, &row, err)) return -1;
    if (best && train_loop_checkpoint(&t->loop, "best", err)) return -1;
    amod_prefetch_drop(t->pf); /* nothing is pending at an epoch's end; to be sure the loader is ours */
    amod_loader_start_epoch(&t->ld, done);
    t->pos = amod_loader_get_state(&t->ld);
    t->st.loss_sum = 0;
    t->st.loss_steps = 0;
    t->images_epoch = 0;
    t->t_epoch = amod_seconds();
    t->res->epochs = done;
    return train_loop_checkpoint(&t->loop, "last", err);
}

/* Closes the epochs whose batches are done (drop_last: what is left makes no batch), also
 * one a resumed run's checkpoint stopped right after; 0 when every epoch is done. */
static int task_before_step(void *self, int64_t step, amod_error *err) {
    trainer *t = self;
    (void)step;
    while (t->pos.epoch < t->cfg->epochs && t->pos.pos / t->cfg->batch_size >= t->steps_per_epoch)
        if (end_epoch(t, err)) return -1;
    return t->pos.epoch < t->cfg->epochs;
}

/* --train-only as amod_adamw_init_vit_some's filter */
static int trains(const char *name, void *only) { return amod_train_only_takes(*(const amod_train_only *)only, name); }

/* Loader, optimizer and position: fresh, or from RUN/last. */
static int setup(trainer *t, const amod_dataset *train, int resume, amod_error *err) {
    const amod_train_config *c = t->cfg;
    amod_batch_config bc;
    amod_model_batch_config(amod_vit_get_config(t->m), train, &bc);
    bc.shuffle = 1;
    bc.drop_last = 1;
    bc.crop_padding = c->crop_padding;
    bc.hflip = c->hflip;
    /* pictures of any size: --augment's crop is RandomResizedCrop */
    bc.random_resized_crop = (train->files || train->pack) && c->crop_padding > 0;
    bc.reprob = train->files || train->pack ? c->reprob : 0.0f;
    bc.crop_scale = c->crop_scale;
    bc.skip_bad = c->skip_bad;
    if (train->files || train->pack) bc.autoaug = c->autoaug;
    if (amod_loader_init(&t->ld, train, &bc, c->opt.seed, err)) return -1;
    t->steps_per_epoch = amod_loader_batches(&t->ld, c->batch_size);
    if (t->steps_per_epoch < 1)
        return amod_fail(err, "%lld training images make no batch of %d: lower the batch size",
                         (long long)train->count, c->batch_size);
    const amod_lr_schedule sched = {c->opt.lr, c->opt.min_lr, c->opt.warmup_steps, t->steps_per_epoch * c->epochs};
    const amod_adamw_config oc = train_settings_adamw(&c->opt);
    amod_adamw opt;
    amod_train_only only = c->train_only;
    if (amod_adamw_init_vit_some(&opt, t->m, &oc, trains, &only, err)) return -1;
    if (train_loop_init(&t->loop, &t->task, &opt, &sched, c->opt.clip, c->check_ranks, c->comm, t->run_dir, err))
        return -1;
    t->comm = t->loop.comm;
    char dir[4096];
    if (!resume) {
        struct stat sb;
        if (snprintf(dir, sizeof dir, "%s/last", t->run_dir) < (int)sizeof dir && stat(dir, &sb) == 0)
            return amod_fail(err, "%s: a run is already there (resume it, or choose another directory)", dir);
        t->st.loader = t->pos = amod_loader_get_state(&t->ld);
        t->st.best_acc = -1;
        t->st.best_epoch = -1;
        if (!t->loop.root) return 0;
        if (amod_mkdir_p(t->run_dir, err)) return -1;
        return amod_runlog_open(&t->log, t->run_dir, -1, err);
    }
    amod_train_config saved;
    char file[4200];
    if (amod_checkpoint_dir(t->run_dir, "last", dir, sizeof dir, err)) return -1;
    snprintf(file, sizeof file, "%s/trainer.json", dir);
    if (amod_train_state_load(file, &saved, &t->st, err) || train_loop_resume(&t->loop, dir, t->st.step, err))
        return -1;
    if (t->st.loader.seed != c->opt.seed)
        return amod_fail(err, "%s: the run's data seed differs from the one given", dir);
    amod_error lerr;
    if (amod_loader_set_state(&t->ld, &t->st.loader, &lerr)) return amod_fail(err, "%s: %s", dir, lerr.msg);
    t->pos = t->st.loader;
    amod_vit_set_rng_state(t->m, t->st.model_rng);
    t->elapsed_before = t->st.elapsed;
    if (t->st.step > 0) t->lr = amod_lr_at(&t->loop.sched, t->st.step - 1); /* for a log row due at once */
    return t->loop.root ? amod_runlog_open(&t->log, t->run_dir, t->st.step, err) : 0;
}

static const train_ops image_task = {task_forward, NULL, task_backward, task_before_step,
                                     task_after_step, task_save_model, task_save_state, NULL, 0};

/* Ranks must train the same model on the same data with the same settings; a mismatch
 * found after hours would be worse than none. */
static int check_ranks(trainer *t, const amod_dataset *train, amod_error *err) {
    amod_comm *c = t->comm;
    if (c->size == 1) return 0;
    if (t->cfg->batch_size % c->size)
        return amod_fail(err, "the global batch %d does not divide by the %d ranks", t->cfg->batch_size, c->size);
    amod_train_config saved = *t->cfg;
    saved.stop = NULL, saved.comm = NULL, saved.quiet = 0, saved.log_every = 0, saved.threads = 0;
    saved.check_ranks = 0, saved.prefetch = 0;
    memset(saved.data_dir, 0, sizeof saved.data_dir); /* nodes may keep the data at other paths: its bytes are compared */
    const uint64_t data = amod_dataset_hash(train);
    uint64_t model = amod_hash_bytes(amod_vit_get_config(t->m), sizeof(amod_vit_config), 0);
    model = amod_hash_bytes(amod_vit_get_mod(t->m), sizeof(amod_mod_config), model);
    /* data first: a model built for the data (classes, normalisation) differs when it does */
    const train_rank_check checks[] = {
        {data, "training data"},
        {amod_hash_bytes(&saved, sizeof saved, 0), "training settings"},
        {model, "model configuration"},
        {amod_hash_bytes(amod_vit_params(t->m), amod_vit_num_params(t->m) * sizeof(float), 0),
         "initial weights (checkpoint)"},
        {amod_hash_bytes(&t->st.step, sizeof t->st.step, 0), "position of the resumed run"},
    };
    return train_check_ranks(c, checks, (int)(sizeof checks / sizeof *checks), err);
}

int amod_train(amod_vit *m, const amod_dataset *train, const amod_dataset *test, const char *run_dir,
               const amod_train_config *cfg, int resume, amod_train_result *res, amod_error *err) {
    amod_train_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    res->test_acc = res->test_loss = res->best_acc = -1;
    res->best_epoch = -1;
    if (check_config(cfg, err)) return -1;
    const amod_vit_config *mc = amod_vit_get_config(m);
    if (train->num_classes > mc->num_classes || (test && test->num_classes > mc->num_classes))
        return amod_fail(err, "the data set has %d classes, the model only %d", train->num_classes, mc->num_classes);
    amod_set_threads(cfg->threads);
    if (amod_vit_set_precision(m, cfg->precision, err)) return -1;
    trainer t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.test = test;
    t.run_dir = run_dir;
    t.cfg = cfg;
    t.res = res;
    t.t_start = t.t_epoch = amod_seconds();
    const size_t np = amod_vit_num_params(m);
    amod_vit_set_grad_enabled(m, 1);
    float *grads = amod_vit_grads(m);
    if (!grads) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory: the gradients need %zu MiB", np >> 18);
    t.task = (train_task){&image_task, &t, amod_vit_params(m), grads, np, 0, np};
    const int root = amod_comm_is_root(cfg->comm ? cfg->comm : &(amod_comm){0, 1, 0, 0});
    amod_progress_init(&t.prog, stderr, cfg->log_every, cfg->quiet || !root);
    int rc = setup(&t, train, resume, err);
    if (!rc) rc = check_ranks(&t, train, err);
    if (!rc && test && !(t.eval = amod_vit_ctx_create(m, NULL, err))) rc = -1;
    if (!rc) {
        size_t per = (size_t)t.ld.cfg.channels * t.ld.cfg.height * t.ld.cfg.width;
        int local = cfg->batch_size / t.comm->size;
        t.images = amod_alloc((size_t)local * per * sizeof *t.images, err);
        t.logits = amod_alloc((size_t)local * mc->num_classes * sizeof *t.logits, err);
        t.labels = amod_alloc((size_t)local * sizeof *t.labels, err);
        t.targets = amod_alloc((size_t)local * mc->num_classes * sizeof *t.targets, err);
        rc = t.images && t.logits && t.labels && t.targets ? 0 : -1;
    }
    if (!rc) {
        char path[256];
        amod_gemm_describe(path, sizeof path);
        amod_progress_note(&t.prog, "compute: %s, %d threads%s", path, amod_threads_count(),
                           cfg->precision == AMOD_PRECISION_BF16
                               ? ", linear layers in bf16 (mixed precision, float32 weights and optimizer)"
                               : "");
        t.res->epochs = t.pos.epoch;
        /* the decoding thread pays where a core is free beside the step's team (measured:
         * docs/BENCHMARKS.md; on 2 cores with 2 training threads it does not) */
        const int spare = sysconf(_SC_NPROCESSORS_ONLN) > amod_threads_count();
        if ((train->files || train->pack) && (cfg->prefetch > 0 || (cfg->prefetch < 0 && spare)) &&
            !(t.pf = amod_prefetch_create(&t.ld, cfg->batch_size, t.comm->rank, t.comm->size,
                                          (size_t)t.ld.cfg.channels * t.ld.cfg.height * t.ld.cfg.width, err)))
            rc = -1;
        train_end end;
        if (!rc) rc = train_loop_run(&t.loop, cfg->max_steps, cfg->stop, 1, &end, err);
        t.res->interrupted = !rc && end == TRAIN_INTERRUPTED;
    }
    amod_progress_end(&t.prog);
    amod_prefetch_free(t.pf); /* before the loader it renders with */
    t.pf = NULL;
    res->skipped = t.ld.skipped;
    memcpy(res->skipped_first, t.ld.skipped_first, sizeof res->skipped_first);
    res->steps = t.st.step;
    res->complete = t.ld.ds && t.pos.epoch >= cfg->epochs;
    res->best_acc = t.st.best_acc;
    res->best_epoch = t.st.best_epoch;
    res->elapsed = elapsed(&t);
    free(t.images);
    free(t.logits);
    free(t.labels);
    free(t.targets);
    amod_runlog_free(&t.log);
    amod_vit_ctx_free(t.eval);
    train_loop_free(&t.loop);
    amod_loader_free(&t.ld);
    return rc;
}
