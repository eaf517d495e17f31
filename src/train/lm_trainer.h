/* Language-model training on a byte corpus (token = byte): every step draws `batch` random
 * windows of `seq` bytes from the training bytes, takes the shifted next-byte cross-entropy
 * (plus the routers' own terms), clips the global gradient norm and takes an AdamW step
 * (train/optim.h) with linear warmup and cosine decay (train/schedule.h). Full training, or
 * Router-Tuning: only the router tensors train, the base model stays frozen.
 *
 * Data-parallel under MPI like train/trainer.c: every rank holds the model; each step's
 * windows are drawn from one seeded generator on every rank and rank r takes the r-th of P
 * equal contiguous slices; the trainable gradients are averaged with one flat allreduce (and
 * MindSkip's capacity term is made the whole batch's), so every rank takes the same step and
 * P ranks follow one rank's trajectory up to float summation order. Only rank 0 prints. */
#ifndef AMOD_TRAIN_LM_TRAINER_H
#define AMOD_TRAIN_LM_TRAINER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "amod/lm.h"
#include "core/comm.h"
#include "train/optim.h"
#include "train/train_loop.h"

/* Where a run stands after `step` updates: the window sampler's and the model's (random
 * router) generators. With the optimizer state and the weights, all a resumed run needs. */
typedef struct amod_lm_position {
    int64_t step;
    uint64_t sampler_rng, model_rng;
} amod_lm_position;

typedef struct amod_lm_train_config {
    int64_t steps;         /* optimisation steps */
    int batch;             /* sequences per step, over all ranks (must divide by the ranks) */
    int seq;               /* bytes per sequence (<= the model's positions) */
    train_settings opt;    /* learning rates (linear warmup, then cosine decay to min_lr at the last
                            * step), AdamW, clipping, and the seed of the windows' draw */
    int router_tuning;     /* 1: train only the router tensors (amod_lm_freeze_base) */
    int threads;           /* OpenMP threads; <= 0: OpenMP's default */
    int check_ranks;       /* compare a hash of the weights over the ranks after every update */
    int64_t log_every;     /* steps between progress lines (and a line at the end); 0: none */
    FILE *log;             /* where rank 0 prints them; NULL: nowhere */
    amod_comm *comm;       /* NULL: one process */
    int64_t max_steps;     /* stop after this many steps in all (schedule unchanged); 0: run to steps */
    int64_t ckpt_every;    /* steps between checkpoints; 0: only when max_steps stops the run */
    /* Where checkpoints go (RUN/last: the model, optimizer.st, trainer.json), written
     * by rank 0 every ckpt_every steps, at the end when ckpt_every > 0 or the run was resumed,
     * and when max_steps or stop ends the run early. NULL: no checkpoints. */
    const char *run_dir;
    /* The corpus as trainer.json records it: its path, the held-out fraction, its size and a
     * hash of its bytes (a resumed run must read the same file). */
    const char *data;
    float val_frac;
    uint64_t data_bytes, data_hash;
    /* Resuming: the position to continue from and the checkpoint directory holding the
     * optimizer state saved with it (the weights are the model's own); NULL: a fresh run. */
    const amod_lm_position *resume;
    const char *resume_dir;
    /* Set (by a signal handler) to ask the run to stop: it checkpoints after the current step
     * and returns with interrupted set. NULL: never. */
    volatile sig_atomic_t *stop;
} amod_lm_train_config;

typedef struct amod_lm_train_result {
    size_t trainable;      /* parameters updated */
    double last_loss;      /* mean training loss over the last logging window */
    double elapsed;        /* seconds */
    int64_t step;          /* steps taken in all when it returned */
    int stopped;           /* max_steps stopped it before the last step */
    int interrupted;       /* cfg->stop was raised; a checkpoint of the last step was written */
} amod_lm_train_result;

/* 1000 steps of 16 x 128 bytes, lr 1e-3 with 100 warmup steps decaying to 1e-4, AdamW betas
 * (0.9, 0.95), eps 1e-8, weight decay 0.1, clipping at 1, seed 1, a line every 50 steps. */
void amod_lm_train_config_default(amod_lm_train_config *c);

/* The decay rule: matrices (2-D tensors) that are not routers; no decay on biases, norm
 * weights and router tensors. */
int amod_lm_param_decays(const amod_lm *m, int tensor);

/* Trains m (its routing as set) on windows of tokens[0, n_train) (bytes for a byte-level model), a task on train/train_loop.c.
 * Fails, naming the step, when the loss or the gradient norm stops being finite (every rank
 * stops at the same step). */
int amod_lm_train(amod_lm *m, const int32_t *tokens, size_t n_train, const amod_lm_train_config *cfg,
                  amod_lm_train_result *res, amod_error *err);

#endif
