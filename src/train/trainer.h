/* The training loop: epochs of shuffled (optionally augmented) batches, AdamW with warmup and
 * cosine decay and gradient clipping, an evaluation on the test split after every
 * eval_every epochs, a live progress line, RUN/log.csv, and checkpoints RUN/last (every epoch,
 * every ckpt_every steps, and when stopping) and RUN/best (the best test accuracy so far).
 * A resumed run continues bit for bit where the interrupted one stopped. */
#ifndef AMOD_TRAIN_TRAINER_H
#define AMOD_TRAIN_TRAINER_H

#include <stdint.h>

#include "amod/amod.h"
#include "data/dataset.h"
#include "train/state.h"

typedef struct amod_train_result {
    int64_t steps;      /* updates done over the whole run */
    int64_t epochs;     /* epochs completed */
    int complete;       /* 1 when every epoch ran; 0 when max_steps or cfg->stop stopped the run */
    int interrupted;    /* 1 when cfg->stop stopped it */
    double test_acc;    /* last evaluation, -1 when there was none */
    double test_loss;
    double best_acc;    /* best evaluation and its epoch, -1 when none */
    int64_t best_epoch;
    double elapsed;     /* seconds of training over every process of the run */
    int64_t skipped;    /* --skip-bad-images: unreadable pictures replaced, on this rank */
    char skipped_first[512]; /* the first one's message */
} amod_train_result;

/* Trains m (its MoD routing as set) on train, evaluating on test (NULL: never). A fresh run
 * refuses a run_dir that already has a last/ checkpoint. With resume, m must have been
 * loaded from run_dir/last (amod_checkpoint_dir), and the optimizer and the run's position
 * come from there too; cfg should be the run's saved config (amod_train_state_load) for the
 * trajectory to be the uninterrupted one. A non-finite loss or gradient stops the run with
 * an error naming the step, without touching the checkpoints. */
int amod_train(amod_vit *m, const amod_dataset *train, const amod_dataset *test, const char *run_dir,
               const amod_train_config *cfg, int resume, amod_train_result *res, amod_error *err);

/* n OpenMP threads (n <= 0: OpenMP's default), OpenBLAS single-threaded (trainer.c says why):
 * results then do not depend on n. amod_train calls it with cfg->threads. */
void amod_set_threads(int n);

#endif
