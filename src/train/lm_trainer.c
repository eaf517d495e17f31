#include "train/lm_trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "train/optim.h"
#include "train/schedule.h"

void amod_lm_train_config_default(amod_lm_train_config *c) {
    *c = (amod_lm_train_config){.steps = 1000, .batch = 16, .seq = 128, .lr = 1e-3f, .min_lr = 1e-4f,
                                .warmup_steps = 100, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                                .weight_decay = 0.1f, .clip = 1.0f, .seed = 1, .log_every = 50};
}

int amod_lm_param_decays(const amod_lm *m, int tensor) {
    int64_t shape[4];
    return amod_lm_tensor_shape(m, tensor, shape) == 2 && !amod_lm_tensor_is_router(m, tensor);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Everything the loop carries. */
typedef struct {
    amod_lm *m;
    const amod_lm_train_config *cfg;
    const unsigned char *bytes;
    size_t n_train;
    amod_comm *comm;
    int root;
    int local;            /* sequences of this rank per step */
    size_t lo, hi;        /* the trainable tensors' part of the buffers (routers are one tail) */
    amod_adamw opt;
    amod_lr_schedule sched;
    amod_rng rng;
    int64_t *ids;         /* [local, seq] */
    double sum_loss, t0;  /* over the current logging window */
    int64_t n_loss, tokens;
} lm_trainer;

static int check_config(const amod_lm_train_config *c, const amod_lm *m, size_t n_train, amod_error *err) {
    if (c->steps < 0 || c->batch < 1 || c->seq < 2 || c->warmup_steps < 0 || c->log_every < 0 ||
        c->max_steps < 0 || c->ckpt_every < 0)
        return amod_fail(err, "steps, warmup, log_every, max_steps and ckpt_every must be >= 0, batch >= 1, seq >= 2");
    if (c->resume && (c->resume->step < 0 || c->resume->step > c->steps))
        return amod_fail(err, "the checkpoint's step %lld is outside the run's %lld steps",
                         (long long)c->resume->step, (long long)c->steps);
    if (!(c->lr > 0) || !(c->min_lr >= 0) || !(c->weight_decay >= 0) || !(c->clip >= 0) || !isfinite(c->clip))
        return amod_fail(err, "lr must be > 0, min_lr, weight decay and clip finite and >= 0");
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0))
        return amod_fail(err, "AdamW needs betas in [0, 1) and eps > 0");
    int positions = amod_lm_get_config(m)->max_positions;
    if (c->seq > positions)
        return amod_fail(err, "--seq %d is longer than the model's %d positions", c->seq, positions);
    if ((size_t)c->seq + 1 > n_train) return amod_fail(err, "the training part is shorter than one sequence");
    return 0;
}

/* The optimizer's tensors: all of them, or the routers for Router-Tuning. */
static int setup_optimizer(lm_trainer *t, amod_error *err) {
    amod_lm *m = t->m;
    const amod_lm_train_config *c = t->cfg;
    int n = amod_lm_num_tensors(m), k = 0;
    amod_adamw_span *spans = amod_zalloc((size_t)n * sizeof *spans, err);
    if (!spans) return -1;
    t->lo = amod_lm_num_params(m), t->hi = 0;
    for (int i = 0; i < n; i++) {
        if (c->router_tuning && !amod_lm_tensor_is_router(m, i)) continue;
        int64_t shape[4];
        int nd = amod_lm_tensor_shape(m, i, shape);
        amod_adamw_span_set(&spans[k], amod_lm_tensor_name(m, i), nd, shape, amod_lm_tensor_offset(m, i),
                            amod_lm_param_decays(m, i));
        k++;
    }
    amod_adamw_config oc = {c->beta1, c->beta2, c->eps, c->weight_decay};
    int rc = amod_adamw_init(&t->opt, spans, k, &oc, err);
    free(spans);
    if (rc) return -1;
    for (int i = 0; i < k; i++) {
        const amod_adamw_span *s = &t->opt.spans[i];
        if (s->offset < t->lo) t->lo = s->offset;
        if (s->offset + s->numel > t->hi) t->hi = s->offset + s->numel;
    }
    if (!k) return amod_fail(err, "nothing to train: --router-tuning needs routers (--mindskip or --router linear)");
    return 0;
}

/* FNV of the settings and the model that must agree over the ranks (field by field: structs
 * carry padding). */
static uint64_t settings_hash(const lm_trainer *t) {
    const amod_lm_train_config *c = t->cfg;
    const double s[] = {(double)c->steps, c->batch, c->seq, c->lr, c->min_lr, (double)c->warmup_steps, c->beta1,
                        c->beta2, c->eps, c->weight_decay, c->clip, c->router_tuning};
    uint64_t h = amod_hash_bytes(s, sizeof s, 0);
    return amod_hash_bytes(&c->seed, sizeof c->seed, h);
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
    amod_comm *c = t->comm;
    if (c->size == 1) return 0;
    amod_lm *m = t->m;
    uint64_t weights = amod_hash_bytes(amod_lm_params(m), amod_lm_num_params(m) * sizeof(float), 0);
    if (amod_comm_check_same(c, amod_hash_bytes(t->bytes, t->n_train, 0), "training data", err) ||
        amod_comm_check_same(c, settings_hash(t), "training settings", err) ||
        amod_comm_check_same(c, model_hash(m), "model configuration", err) ||
        amod_comm_check_same(c, weights, "initial weights", err))
        return -1;
    return 0;
}

/* Every rank draws the whole global batch's windows, so the generator stays in step, and
 * keeps its own contiguous slice of them. */
static void next_batch(lm_trainer *t) {
    const int B = t->cfg->batch, T = t->cfg->seq, first = t->comm->rank * t->local;
    for (int b = 0; b < B; b++) {
        size_t off = (size_t)(rng_next(&t->rng) % (uint64_t)(t->n_train - (size_t)T));
        if (b < first || b >= first + t->local) continue;
        int64_t *row = t->ids + (size_t)(b - first) * T;
        for (int i = 0; i < T; i++) row[i] = t->bytes[off + i];
    }
}

static int diverged(const char *what, double value, int64_t step, amod_error *err) {
    return amod_fail(err, "the %s became %g at step %lld: lower --lr", what, value, (long long)step);
}

/* One update; *metrics receives {loss, predictor accuracy, predictor BCE}, means over ranks. */
static int step(lm_trainer *t, int64_t s, double metrics[3], float *lr, amod_error *err) {
    amod_lm *m = t->m;
    amod_comm *c = t->comm;
    float loss;
    next_batch(t);
    if (amod_lm_forward(m, t->ids, t->local, t->cfg->seq, NULL, &loss, err)) return -1;
    if (c->size > 1 && amod_lm_get_mindskip(m)->mode != AMOD_LM_SKIP_NONE) {
        double totals[3];
        amod_lm_skip_totals(m, totals);
        if (amod_comm_allreduce_sum_f64(c, totals, 3, err)) return -1;
        amod_lm_set_skip_totals(m, totals);
    }
    amod_lm_zero_grad(m);
    if (amod_lm_backward(m, err)) return -1;
    float *g = amod_lm_grads(m) + t->lo;
    const size_t n = t->hi - t->lo;
    amod_lm_stats st;
    amod_lm_get_stats(m, &st);
    metrics[0] = loss, metrics[1] = st.predictor_acc, metrics[2] = st.predictor_loss;
    /* Equal shares: the mean of the ranks' mean gradients is the global batch's gradient. */
    if (c->size > 1) {
        if (amod_comm_allreduce_mean(c, g, n, err) || amod_comm_allreduce_sum_f64(c, metrics, 3, err)) return -1;
        for (int i = 0; i < 3; i++) metrics[i] /= c->size;
    }
    if (!isfinite(metrics[0])) return diverged("loss", metrics[0], s, err);
    double norm = t->cfg->clip > 0 ? amod_clip_grad_norm(g, n, t->cfg->clip) : amod_grad_norm(g, n);
    if (!isfinite(norm)) return diverged("gradient norm", norm, s, err);
    *lr = amod_lr_at(&t->sched, s);
    amod_adamw_step(&t->opt, amod_lm_params(m), amod_lm_grads(m), *lr);
    if (t->cfg->check_ranks && c->size > 1 &&
        amod_comm_check_same(c, amod_hash_bytes(amod_lm_params(m), amod_lm_num_params(m) * sizeof(float), 0),
                             "weights after an update", err))
        return -1;
    return 0;
}

static void log_line(lm_trainer *t, int64_t s, const double metrics[3], float lr) {
    FILE *f = t->cfg->log;
    amod_lm_stats st;
    amod_lm_get_stats(t->m, &st);
    double el = now() - t->t0;
    fprintf(f, "step %6lld  loss %.4f  lr %.2e  %.0f tokens/s", (long long)s + 1, t->sum_loss / (double)t->n_loss,
            (double)lr, (double)t->tokens / (el > 0 ? el : 1));
    if (metrics[1] > 0) fprintf(f, "  predictor acc %.3f bce %.3f", metrics[1], metrics[2]);
    if (amod_lm_get_mindskip(t->m)->mode != AMOD_LM_SKIP_NONE)
        fprintf(f, "  attn kept %.3f  capacity term %.4f", (double)st.attn_kept, (double)st.capacity_loss);
    fprintf(f, "\n");
    fflush(f);
}

/* Rank 0 writes the checkpoint after s steps. */
static int checkpoint(lm_trainer *t, int64_t s, amod_error *err) {
    if (!t->root || !t->cfg->checkpoint) return 0;
    amod_lm_position pos = {s, t->rng.state, amod_lm_rng_state(t->m)};
    return t->cfg->checkpoint(t->cfg->checkpoint_ctx, t->m, &t->opt, &pos, err);
}

static int loop(lm_trainer *t, int64_t start, amod_lm_train_result *res, amod_error *err) {
    const amod_lm_train_config *c = t->cfg;
    const int64_t end = c->max_steps > 0 && c->max_steps < c->steps ? c->max_steps : c->steps;
    int64_t saved = start;
    res->step = start;
    if (end <= start) { /* nothing to train: leave the checkpoint as it is */
        res->stopped = end < c->steps;
        return 0;
    }
    t->t0 = now();
    int64_t s = start;
    for (; s < end; s++) {
        double metrics[3] = {0, 0, 0};
        float lr = 0;
        if (step(t, s, metrics, &lr, err)) return -1;
        t->sum_loss += metrics[0];
        t->n_loss++;
        t->tokens += (int64_t)c->batch * c->seq;
        int last = s + 1 == c->steps;
        if (c->log_every > 0 && ((s + 1) % c->log_every == 0 || last)) {
            res->last_loss = t->sum_loss / (double)t->n_loss;
            if (t->root && c->log) log_line(t, s, metrics, lr);
            t->sum_loss = 0, t->n_loss = 0, t->tokens = 0;
            t->t0 = now();
        } else if (last) {
            res->last_loss = t->sum_loss / (double)t->n_loss;
        }
        res->step = s + 1;
        if (c->ckpt_every > 0 && (s + 1) % c->ckpt_every == 0) {
            if (checkpoint(t, s + 1, err)) return -1;
            saved = s + 1;
        }
        if (c->stop && *c->stop && s + 1 < end) { /* a signal: keep what was done */
            res->interrupted = 1;
            if (saved != s + 1 && checkpoint(t, s + 1, err)) return -1;
            return 0;
        }
    }
    res->stopped = end < c->steps;
    if (saved != end && (c->ckpt_every > 0 || res->stopped || c->resume) && checkpoint(t, end, err)) return -1;
    return 0;
}

int amod_lm_train(amod_lm *m, const unsigned char *bytes, size_t n_train, const amod_lm_train_config *cfg,
                  amod_lm_train_result *res, amod_error *err) {
    amod_lm_train_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    res->last_loss = NAN;
    if (check_config(cfg, m, n_train, err)) return -1;
    lm_trainer t;
    memset(&t, 0, sizeof t);
    amod_comm alone = {0, 1, 0, 0};
    t.m = m, t.cfg = cfg, t.bytes = bytes, t.n_train = n_train;
    t.comm = cfg->comm ? cfg->comm : &alone;
    t.root = amod_comm_is_root(t.comm);
    if (cfg->batch % t.comm->size)
        return amod_fail(err, "the global batch %d does not divide by the %d ranks", cfg->batch, t.comm->size);
    t.local = cfg->batch / t.comm->size;
    t.sched = (amod_lr_schedule){cfg->lr, cfg->min_lr, cfg->warmup_steps, cfg->steps};
    rng_seed(&t.rng, cfg->seed * 7919);
    amod_threads_init(cfg->threads);
    amod_lm_set_grad_enabled(m, 1);
    amod_lm_freeze_base(m, cfg->router_tuning);
    double t_start = now();
    int rc = setup_optimizer(&t, err);
    int64_t start = 0;
    if (!rc && cfg->resume) {
        start = cfg->resume->step;
        t.rng.state = cfg->resume->sampler_rng;
        amod_lm_set_rng_state(m, cfg->resume->model_rng);
        rc = amod_adamw_load(&t.opt, cfg->resume_optimizer, err);
        if (!rc && t.opt.step != start)
            rc = amod_fail(err, "%s: the optimizer took %lld steps, the trainer state says %lld", cfg->resume_optimizer,
                           (long long)t.opt.step, (long long)start);
    }
    if (!rc) rc = check_ranks(&t, err);
    if (!rc) rc = (t.ids = amod_alloc((size_t)t.local * cfg->seq * sizeof *t.ids, err)) ? 0 : -1;
    if (!rc) {
        res->trainable = t.opt.n;
        if (t.root && cfg->log) {
            fprintf(cfg->log, "training %zu of %zu parameters, %lld steps of %d x %d bytes", t.opt.n,
                    amod_lm_num_params(m), (long long)cfg->steps, cfg->batch, cfg->seq);
            if (start > 0) fprintf(cfg->log, ", resuming after step %lld", (long long)start);
            if (t.comm->size > 1) fprintf(cfg->log, " (%d ranks of %d sequences)", t.comm->size, t.local);
            char path[256];
            amod_gemm_describe(path, sizeof path);
            fprintf(cfg->log, "\ncompute: %s, %d threads\n", path, amod_threads_count());
            fflush(cfg->log);
        }
        rc = loop(&t, start, res, err);
    }
    res->elapsed = now() - t_start;
    free(t.ids);
    amod_adamw_free(&t.opt);
    return rc;
}
