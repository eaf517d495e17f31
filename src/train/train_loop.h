/* The training loop, written once for every task (llm.c's short loop):
 *
 *   forward (the task draws this rank's share of the batch) -> zero gradients -> backward
 *   -> allreduce (mean over ranks) -> divergence check -> clip -> schedule -> AdamW
 *   -> rank check
 *
 * with one checkpoint writer (RUN/NAME: the task's model files, the optimizer state and
 * trainer.json, made whole under NAME.new and swapped in), one resume path, one divergence
 * message and one rank-equality check. `amod train` (train/trainer.c) and `amod train-lm`
 * (train/lm_trainer.c) are tasks on it: they say where batches come from, what the loss is,
 * which tensor spans train, what goes into trainer.json, and what to do between steps. */
#ifndef AMOD_TRAIN_TRAIN_LOOP_H
#define AMOD_TRAIN_TRAIN_LOOP_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"
#include "core/comm.h"
#include "io/json.h"
#include "train/optim.h"
#include "train/schedule.h"

#define TRAIN_MAX_METRICS 4
/* The optimizer state in a checkpoint (safetensors format): not named *.safetensors, because
 * timm's loader refuses a folder with two such files and takes the folder for the model's;
 * runs written before keep optimizer.safetensors, which resuming still reads. */
#define TRAIN_OPTIMIZER_FILE "optimizer.st"
#define TRAIN_OPTIMIZER_FILE_OLD "optimizer.safetensors"

/* What one update reports, averaged over the ranks. */
typedef struct {
    int64_t step; /* updates done, this one included */
    double loss;
    double metrics[TRAIN_MAX_METRICS];
    double grad_norm; /* before clipping */
    float lr;
} train_step_report;

/* What a task does, its hooks in the order the loop calls them. */
typedef struct train_ops {
    /* This rank's share of the batch of update `step` (0-based), forward with gradients:
     * its mean loss and metrics. */
    int (*forward)(void *self, int64_t step, double *loss, double *metrics, amod_error *err);
    /* Makes batch-wide quantities of the forward pass global before backward (MindSkip's
     * capacity term); NULL when there are none. */
    int (*sync)(void *self, amod_comm *comm, amod_error *err);
    int (*backward)(void *self, amod_error *err);
    /* Before each update: 1 to take it, 0 when the run is complete, -1 on error (the image
     * task closes epochs here: evaluation, best/, last/). */
    int (*before_step)(void *self, int64_t step, amod_error *err);
    /* After each update: progress, logs, periodic checkpoints. */
    int (*after_step)(void *self, const train_step_report *r, amod_error *err);
    /* Checkpoint parts: the model (config.json + model.safetensors) into dir, and the
     * task's "config" and "state" objects of trainer.json. */
    int (*save_model)(void *self, const char *dir, amod_error *err);
    void (*save_state)(void *self, int64_t step, cJSON *config, cJSON *state);
    const char *command; /* trainer.json's "command" ("train-lm"); NULL: the key is left out */
    int n_metrics;       /* task numbers averaged beside the loss (<= TRAIN_MAX_METRICS) */
} train_ops;

typedef struct train_task {
    const train_ops *ops;
    void *self;
    float *params, *grads; /* the model's contiguous buffers, n_params each */
    size_t n_params;
    size_t lo, hi;         /* the trainable part [lo, hi): averaged over ranks and clipped */
} train_task;

typedef struct {
    const train_task *task;
    amod_adamw opt;
    amod_lr_schedule sched;
    float clip;        /* bound on the global gradient norm; 0: none */
    int check_ranks;   /* compare a hash of the weights over the ranks after every update */
    amod_comm *comm;   /* never NULL: a one-rank stand-in when training alone */
    amod_comm alone;
    int root;          /* rank 0: the only one that writes checkpoints */
    const char *run_dir; /* where RUN/last and RUN/best go; NULL: no checkpoints */
    int64_t step;      /* updates done */
    int64_t kept;      /* the step RUN/last holds; -1: none */
} train_loop;

/* The loop for task with optimizer opt (made for the spans that train; moved into the loop,
 * which frees it), the schedule and ranks (comm may be NULL). */
int train_loop_init(train_loop *L, const train_task *task, amod_adamw *opt, const amod_lr_schedule *sched, float clip,
                    int check_ranks, amod_comm *comm, const char *run_dir, amod_error *err);
void train_loop_free(train_loop *L);

/* Continues from checkpoint directory dir after `step` updates: its optimizer state, which
 * must have taken as many. */
int train_loop_resume(train_loop *L, const char *dir, int64_t step, amod_error *err);

/* One update (see the top). A non-finite loss or gradient norm fails with "step N: the
 * training loss is nan; training stopped, RUN/last (step K) is kept", every rank at the same
 * step, and touches nothing. */
int train_loop_step(train_loop *L, train_step_report *r, amod_error *err);

/* Rank 0 writes RUN/NAME whole (the other ranks return at once); a failure says what is kept. */
int train_loop_checkpoint(train_loop *L, const char *name, amod_error *err);

/* Why the run loop returned. */
typedef enum { TRAIN_COMPLETE = 0, TRAIN_MAX_STEPS, TRAIN_INTERRUPTED } train_end;

/* Updates until before_step says the run is complete, max_steps (> 0) updates are done in all,
 * or *stop (may be NULL) turns non-zero; then RUN/last is written when it does not hold the
 * last step: always when stopped early, and at completion when save_at_end says so. */
int train_loop_run(train_loop *L, int64_t max_steps, volatile sig_atomic_t *stop, int save_at_end, train_end *end,
                   amod_error *err);

/* One (hash, what) a rank must share with rank 0 before training starts. */
typedef struct {
    uint64_t hash;
    const char *what;
} train_rank_check;
int train_check_ranks(amod_comm *comm, const train_rank_check *checks, int n, amod_error *err);

/* The optimisation settings every task has, read, written and checked once. */
typedef struct {
    float lr, min_lr;     /* the schedule's peak and floor */
    int64_t warmup_steps; /* linear warmup, then cosine decay */
    float weight_decay, beta1, beta2, eps;
    float clip;           /* bound on the global gradient norm; 0: none */
    uint64_t seed;        /* the data order's (images) or the windows' draw (text) */
} train_settings;
/* Finite, non-negative rates with min_lr <= lr, AdamW's betas in [0, 1) and eps > 0. */
int train_settings_check(const train_settings *s, amod_error *err);
/* Into and out of trainer.json's "config" object (the reader also checks min_lr <= lr). */
void train_settings_write(cJSON *config, const train_settings *s);
int train_settings_read(const amod_json_fields *r, train_settings *s);
amod_adamw_config train_settings_adamw(const train_settings *s);

/* trainer.json's reader: the file's "config" and "state" objects (owned by *root, which
 * the caller deletes), after checking "format": 1 and, when command is not NULL, "command". */
int train_state_read(const char *path, const char *command, cJSON **root, const cJSON **config,
                     const cJSON **state, amod_error *err);

#endif
