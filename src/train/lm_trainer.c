#include "train/lm_trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "train/optim.h"
#include "train/lm_state.h"
#include "train/schedule.h"
#include "train/train_loop.h"

void amod_lm_train_config_default(amod_lm_train_config *c) {
    *c = (amod_lm_train_config){.steps = 1000, .batch = 16, .seq = 128, .log_every = 50};
    c->opt = (train_settings){.lr = 1e-3f, .min_lr = 1e-4f, .warmup_steps = 100, .beta1 = 0.9f, .beta2 = 0.95f,
                              .eps = 1e-8f, .weight_decay = 0.1f, .clip = 1.0f, .seed = 1};
}

int amod_lm_param_decays(const amod_lm *m, int tensor) {
    int64_t shape[4];
    return amod_lm_tensor_shape(m, tensor, shape) == 2 && !amod_lm_tensor_is_router(m, tensor);
}

/* The text task: what the loop (train/train_loop.c) asks of `amod train-lm`. */
typedef struct {
    amod_lm *m;
    const amod_lm_train_config *cfg;
    const int32_t *text; /* the training part of the corpus, as token ids */
    size_t n_train;
    train_loop loop;
    train_task task;
    amod_comm *comm;      /* the loop's (a one-rank stand-in when training alone) */
    int local;            /* sequences of this rank per step */
    amod_rng rng;         /* the windows' draw */
    int64_t *ids;         /* [local, seq] */
    double sum_loss, t0;  /* over the current logging window */
    int64_t n_loss, tokens;
    amod_lm_train_result *res;
    double cuts[AMOD_MAX_LAYERS + 1]; /* the predictors' cuts summed over the whole batch, and its sequences */
} lm_trainer;

static int check_config(const amod_lm_train_config *c, const amod_lm *m, size_t n_train, amod_error *err) {
    if (c->steps < 0 || c->batch < 1 || c->seq < 2 || c->log_every < 0 || c->max_steps < 0 || c->ckpt_every < 0)
        return amod_fail(err, "steps, log_every, max_steps and ckpt_every must be >= 0, batch >= 1, seq >= 2");
    if (c->resume && (c->resume->step < 0 || c->resume->step > c->steps))
        return amod_fail(err, "the checkpoint's step %lld is outside the run's %lld steps",
                         (long long)c->resume->step, (long long)c->steps);
    if (!(c->opt.lr > 0)) return amod_fail(err, "the learning rate must be > 0, got %g", (double)c->opt.lr);
    if (train_settings_check(&c->opt, err)) return -1;
    int positions = amod_lm_get_config(m)->max_positions;
    if (c->seq > positions)
        return amod_fail(err, "--seq %d is longer than the model's %d positions", c->seq, positions);
    if ((size_t)c->seq + 1 > n_train) return amod_fail(err, "the training part is shorter than one sequence");
    return 0;
}

/* The optimizer's tensors: all of them, or the routers for Router-Tuning; [lo, hi) covers
 * them (the routers are one tail of the buffers). */
static int make_optimizer(lm_trainer *t, amod_adamw *opt, size_t *lo, size_t *hi, amod_error *err) {
    amod_lm *m = t->m;
    const amod_lm_train_config *c = t->cfg;
    int n = amod_lm_num_tensors(m), k = 0;
    amod_adamw_span *spans = amod_zalloc((size_t)n * sizeof *spans, err);
    if (!spans) return -1;
    *lo = amod_lm_num_params(m), *hi = 0;
    for (int i = 0; i < n; i++) {
        if (c->router_tuning && !amod_lm_tensor_is_router(m, i)) continue;
        int64_t shape[4];
        int nd = amod_lm_tensor_shape(m, i, shape);
        amod_adamw_span_set(&spans[k], amod_lm_tensor_name(m, i), nd, shape, amod_lm_tensor_offset(m, i),
                            amod_lm_param_decays(m, i));
        k++;
    }
    const amod_adamw_config oc = train_settings_adamw(&c->opt);
    int rc = k ? amod_adamw_init(opt, spans, k, &oc, err)
               : amod_fail(err, "nothing to train: --router-tuning needs routers (--mindskip or --router linear)");
    free(spans);
    for (int i = 0; !rc && i < k; i++) {
        const amod_adamw_span *s = &opt->spans[i];
        if (s->offset < *lo) *lo = s->offset;
        if (s->offset + s->numel > *hi) *hi = s->offset + s->numel;
    }
    return rc;
}

/* FNV of the settings and the model that must agree over the ranks (field by field: structs
 * carry padding). */
static uint64_t settings_hash(const lm_trainer *t) {
    const amod_lm_train_config *c = t->cfg;
    const train_settings *o = &c->opt;
    const double s[] = {(double)c->steps, c->batch, c->seq, o->lr, o->min_lr, (double)o->warmup_steps, o->beta1,
                        o->beta2, o->eps, o->weight_decay, o->clip, c->router_tuning};
    uint64_t h = amod_hash_bytes(s, sizeof s, 0);
    return amod_hash_bytes(&o->seed, sizeof o->seed, h);
}

static uint64_t model_hash(const amod_lm *m) {
    const amod_mod_config *mod = amod_lm_get_mod(m);
    const amod_lm_mindskip *ms = amod_lm_get_mindskip(m);
    const double s[] = {mod->router, mod->capacity, ms->mode, ms->target, ms->lambda, ms->soft};
    uint64_t h = amod_hash_bytes(amod_lm_get_config(m), sizeof(amod_lm_config), 0);
    h = amod_hash_bytes(s, sizeof s, h);
    h = amod_hash_bytes(mod->is_mod, sizeof mod->is_mod, h);
    return amod_hash_bytes(ms->routed, sizeof ms->routed, h);
}

/* Ranks must train the same model on the same bytes with the same settings. */
static int check_ranks(lm_trainer *t, amod_error *err) {
    amod_lm *m = t->m;
    const train_rank_check checks[] = {
        {amod_hash_bytes(t->text, t->n_train * sizeof *t->text, 0), "training data"},
        {settings_hash(t), "training settings"},
        {model_hash(m), "model configuration"},
        {amod_hash_bytes(amod_lm_params(m), amod_lm_num_params(m) * sizeof(float), 0), "initial weights"},
    };
    return train_check_ranks(t->comm, checks, (int)(sizeof checks / sizeof *checks), err);
}

/* Where a window of seq tokens starts, drawn uniformly from the training part. */
static size_t draw_window(const lm_trainer *t, amod_rng *r) {
    return (size_t)(rng_next(r) % (uint64_t)(t->n_train - (size_t)t->cfg->seq));
}

static void copy_window(const lm_trainer *t, size_t off, int64_t *row) {
    for (int i = 0; i < t->cfg->seq; i++) row[i] = t->text[off + i];
}

/* Every rank draws the whole global batch's windows, so the generator stays in step, and
 * keeps its own contiguous slice of them. */
static void next_batch(lm_trainer *t) {
    const int B = t->cfg->batch, T = t->cfg->seq, first = t->comm->rank * t->local;
    for (int b = 0; b < B; b++) {
        const size_t off = draw_window(t, &t->rng);
        if (b >= first && b < first + t->local) copy_window(t, off, t->ids + (size_t)(b - first) * T);
    }
}

/* ---- the task's hooks ---- */

/* metrics: the causal predictor's accuracy, BCE, balanced accuracy and the all-skip baseline's accuracy */
static int task_forward(void *self, int64_t step, double *loss, double *metrics, amod_error *err) {
    lm_trainer *t = self;
    (void)step;
    float l;
    next_batch(t);
    if (amod_lm_forward(t->m, t->ids, t->local, t->cfg->seq, NULL, &l, err)) return -1;
    amod_lm_stats st;
    amod_lm_get_stats(t->m, &st);
    *loss = l, metrics[0] = st.predictor_acc, metrics[1] = st.predictor_loss;
    metrics[2] = st.predictor_balanced, metrics[3] = st.predictor_skip_acc;
    t->cuts[amod_lm_get_config(t->m)->n_layers] = amod_lm_predictor_cuts(t->m, t->cuts);
    return 0;
}

/* MindSkip's capacity term and the predictors' cuts are the whole batch's */
static int task_sync(void *self, amod_comm *comm, amod_error *err) {
    lm_trainer *t = self;
    const int L = amod_lm_get_config(t->m)->n_layers;
    if (t->cuts[L] > 0 && amod_comm_allreduce_sum_f64(comm, t->cuts, L + 1, err)) return -1;
    if (amod_lm_get_mindskip(t->m)->mode == AMOD_LM_SKIP_NONE) return 0;
    double totals[AMOD_LM_SKIP_TOTALS];
    amod_lm_skip_totals(t->m, totals);
    if (amod_comm_allreduce_sum_f64(comm, totals, AMOD_LM_SKIP_TOTALS, err)) return -1;
    amod_lm_set_skip_totals(t->m, totals);
    return 0;
}

static int task_backward(void *self, amod_error *err) { return amod_lm_backward(((lm_trainer *)self)->m, err); }

static int task_before_step(void *self, int64_t step, amod_error *err) {
    (void)err;
    return step < ((lm_trainer *)self)->cfg->steps;
}

static void log_line(lm_trainer *t, const train_step_report *r) {
    FILE *f = t->cfg->log;
    amod_lm_stats st;
    amod_lm_get_stats(t->m, &st);
    double el = amod_seconds() - t->t0;
    fprintf(f, "step %6lld  loss %.4f  lr %.2e  %.0f tokens/s", (long long)r->step, t->sum_loss / (double)t->n_loss,
            (double)r->lr, (double)t->tokens / (el > 0 ? el : 1));
    if (r->metrics[0] > 0)
        fprintf(f, "  predictor acc %.3f (balanced %.3f; all-skip %.3f) bce %.3f", r->metrics[0], r->metrics[2],
                r->metrics[3], r->metrics[1]);
    if (amod_lm_get_mindskip(t->m)->mode != AMOD_LM_SKIP_NONE)
        fprintf(f, "  attn kept %.3f  capacity term %.4f", (double)st.attn_kept, (double)st.capacity_loss);
    fprintf(f, "\n");
    fflush(f);
}

static int task_after_step(void *self, const train_step_report *r, amod_error *err) {
    lm_trainer *t = self;
    const amod_lm_train_config *c = t->cfg;
    const int L = amod_lm_get_config(t->m)->n_layers;
    if (t->cuts[L] > 0) { /* the same on every rank: the cuts were added up over them */
        for (int l = 0; l < L; l++) t->cuts[l] /= t->cuts[L];
        amod_lm_calibrate_predictor(t->m, t->cuts, r->step);
    }
    t->sum_loss += r->loss;
    t->n_loss++;
    t->tokens += (int64_t)c->batch * c->seq;
    const int last = r->step == c->steps;
    if (c->log_every > 0 && (r->step % c->log_every == 0 || last)) {
        t->res->last_loss = t->sum_loss / (double)t->n_loss;
        if (t->loop.root && c->log) log_line(t, r);
        t->sum_loss = 0, t->n_loss = 0, t->tokens = 0;
        t->t0 = amod_seconds();
    } else if (last) {
        t->res->last_loss = t->sum_loss / (double)t->n_loss;
    }
    t->res->step = r->step;
    if (c->ckpt_every > 0 && r->step % c->ckpt_every == 0) return train_loop_checkpoint(&t->loop, "last", err);
    return 0;
}

static int task_save_model(void *self, const char *dir, amod_error *err) {
    return amod_lm_save(((lm_trainer *)self)->m, dir, err);
}

static void task_save_state(void *self, int64_t step, cJSON *config, cJSON *state) {
    lm_trainer *t = self;
    const amod_lm_position pos = {step, t->rng.state, amod_lm_rng_state(t->m)};
    amod_lm_train_state_write(config, state, t->cfg, &pos);
}

/* After the last step: each predictor's threshold becomes the cut that keeps the layer's share
 * of the tokens of CALIBRATION_WINDOWS training windows, pooled, under the final weights (the
 * running mean of per-window cuts follows a predictor that moved while it was averaged, and
 * keeps C only when every window's logits sit at one level). The windows come from a
 * generator of their own, the same on every rank and on a resumed run, so the thresholds are
 * too. */
#define CALIBRATION_WINDOWS 64
static int calibrate_predictors(lm_trainer *t, amod_error *err) {
    const int T = t->cfg->seq;
    amod_lm_calibration *cal = amod_lm_calibration_new(err);
    if (!cal) return -1;
    int seqs = 0, rc = 0;
    amod_rng r;
    rng_seed(&r, t->cfg->opt.seed * 104729 + 1);
    while (seqs < CALIBRATION_WINDOWS && !rc) {
        const int B = CALIBRATION_WINDOWS - seqs < t->local ? CALIBRATION_WINDOWS - seqs : t->local;
        for (int b = 0; b < B; b++) copy_window(t, draw_window(t, &r), t->ids + (size_t)b * T);
        const int n = amod_lm_forward(t->m, t->ids, B, T, NULL, NULL, err) ? -1 : amod_lm_calibration_add(cal, t->m, err);
        if (n < 0) rc = -1;
        else if (n == 0) break; /* no predictor: nothing to calibrate */
        else seqs += n;
    }
    if (!rc && seqs && amod_lm_calibration_apply(cal, t->m) && t->loop.root && t->cfg->log)
        fprintf(t->cfg->log, "causal predictors: thresholds calibrated to keep C on %d training windows\n", seqs);
    amod_lm_calibration_free(cal);
    return rc;
}

static const train_ops text_task = {task_forward,     task_sync,       task_backward,  task_before_step, task_after_step,
                                    task_save_model,  task_save_state, AMOD_LM_TRAIN_COMMAND, 4};

int amod_lm_train(amod_lm *m, const int32_t *tokens, size_t n_train, const amod_lm_train_config *cfg,
                  amod_lm_train_result *res, amod_error *err) {
    amod_lm_train_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    res->last_loss = NAN;
    if (check_config(cfg, m, n_train, err)) return -1;
    lm_trainer t;
    memset(&t, 0, sizeof t);
    t.m = m, t.cfg = cfg, t.text = tokens, t.n_train = n_train, t.res = res;
    const int ranks = cfg->comm ? cfg->comm->size : 1;
    if (cfg->batch % ranks)
        return amod_fail(err, "the global batch %d does not divide by the %d ranks", cfg->batch, ranks);
    t.local = cfg->batch / ranks;
    rng_seed(&t.rng, cfg->opt.seed * 7919);
    amod_threads_init(cfg->threads);
    amod_lm_set_grad_enabled(m, 1);
    amod_lm_freeze_base(m, cfg->router_tuning);
    double t_start = amod_seconds();
    amod_adamw opt;
    size_t lo, hi;
    if (make_optimizer(&t, &opt, &lo, &hi, err)) return -1;
    float *grads = amod_lm_grads(m);
    if (!grads) {
        amod_adamw_free(&opt);
        return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory: the gradients need %zu MiB",
                              amod_lm_num_params(m) >> 18);
    }
    t.task = (train_task){&text_task, &t, amod_lm_params(m), grads, amod_lm_num_params(m), lo, hi};
    const amod_lr_schedule sched = {cfg->opt.lr, cfg->opt.min_lr, cfg->opt.warmup_steps, cfg->steps};
    int rc = train_loop_init(&t.loop, &t.task, &opt, &sched, cfg->opt.clip, cfg->check_ranks, cfg->comm, cfg->run_dir,
                             err);
    t.comm = t.loop.comm;
    int64_t start = 0;
    if (!rc && cfg->resume) {
        start = cfg->resume->step;
        t.rng.state = cfg->resume->sampler_rng;
        amod_lm_set_rng_state(m, cfg->resume->model_rng);
        rc = train_loop_resume(&t.loop, cfg->resume_dir, start, err);
    }
    res->step = start;
    if (!rc) rc = check_ranks(&t, err);
    if (!rc) rc = (t.ids = amod_alloc((size_t)t.local * cfg->seq * sizeof *t.ids, err)) ? 0 : -1;
    if (!rc) {
        res->trainable = t.loop.opt.n;
        if (t.loop.root && cfg->log) {
            fprintf(cfg->log, "training %zu of %zu parameters, %lld steps of %d x %d %s", t.loop.opt.n,
                    amod_lm_num_params(m), (long long)cfg->steps, cfg->batch, cfg->seq,
                    amod_lm_get_config(m)->vocab_size <= 256 ? "bytes" : "tokens");
            if (start > 0) fprintf(cfg->log, ", resuming after step %lld", (long long)start);
            if (t.comm->size > 1) fprintf(cfg->log, " (%d ranks of %d sequences)", t.comm->size, t.local);
            char path[256];
            amod_gemm_describe(path, sizeof path);
            fprintf(cfg->log, "\ncompute: %s, %d threads\n", path, amod_threads_count());
            fflush(cfg->log);
        }
        t.t0 = amod_seconds();
        train_end end;
        rc = train_loop_run(&t.loop, cfg->max_steps, cfg->stop, cfg->ckpt_every > 0 || cfg->resume, &end, err);
        res->stopped = !rc && end == TRAIN_MAX_STEPS;
        res->interrupted = !rc && end == TRAIN_INTERRUPTED;
        if (!rc && end == TRAIN_COMPLETE) rc = calibrate_predictors(&t, err);
    }
    res->elapsed = amod_seconds() - t_start;
    free(t.ids);
    train_loop_free(&t.loop);
    return rc;
}
