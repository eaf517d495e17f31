/* A training run's settings and where it stands: the two halves of trainer.json, which a
 * checkpoint keeps beside the model and the optimizer state so that a run resumes exactly. */
#ifndef AMOD_TRAIN_STATE_H
#define AMOD_TRAIN_STATE_H

#include <signal.h>
#include <stdint.h>

#include "amod/amod.h"
#include "data/dataset.h"
#include "train/mixup.h"
#include "train/train_loop.h"

/* Which tensors a run trains: all, the classifier alone (a linear probe), or the classifier
 * and the MoD routers. */
typedef enum { AMOD_TRAIN_ALL = 0, AMOD_TRAIN_HEAD, AMOD_TRAIN_HEAD_ROUTERS } amod_train_only;
/* "all", "head", "head+routers"; -1 for another name. */
int amod_train_only_parse(const char *s, amod_train_only *out);
const char *amod_train_only_name(amod_train_only t);
/* Tensor `name` trains under t. */
int amod_train_only_takes(amod_train_only t, const char *name);

/* What decides the run's trajectory (saved and reused on resume), plus a few knobs that
 * do not (threads, logging, max_steps). Start from amod_train_config_default. */
typedef struct amod_train_config {
    char dataset[64];     /* recorded for `amod train --resume`: data set name ... */
    char data_dir[1024];  /* ... and the directory holding it */
    int epochs;
    int batch_size;
    train_settings opt;   /* learning rates, AdamW, clipping, and the seed of data order and augmentation */
    int crop_padding;     /* augmentation: random crop after padding with this many pixels */
    int hflip;            /* augmentation: horizontal flip */
    int eval_every;       /* evaluate every this many epochs (and after the last) */
    int64_t ckpt_every;   /* also checkpoint last/ every this many steps; 0: once per epoch */
    int64_t eval_steps;   /* also evaluate (and log) every this many steps within epochs: curves; 0: off */
    amod_train_only train_only; /* which tensors train (the others stay as loaded) */
    amod_mix_config mix;  /* mixup / cutmix / label smoothing (train/mixup.h); zeros: off */
    float reprob;         /* image folders: random erasing's probability (timm's, "pixel" mode); 0: off */
    float crop_scale;     /* image folders: RandomResizedCrop's smallest area share; 0: 0.08 */
    int skip_bad;         /* image folders: replace unreadable pictures (and count them) instead of failing */
    amod_autoaug autoaug; /* image folders, with --augment: TrivialAugmentWide or RandAugment */
    amod_precision precision; /* the blocks' linear layers: float32, or bf16 mixed precision */
    /* not saved: */
    int64_t max_steps;    /* stop after this many steps overall (0: no limit); the schedule still spans epochs */
    int threads;          /* OpenMP threads (amod_set_threads); 0: OpenMP's default */
    int log_every;        /* a progress line every this many steps when stderr is not a terminal */
    int quiet;            /* no progress output */
    volatile sig_atomic_t *stop; /* when it turns non-zero (a signal handler), the run checkpoints and returns */
    struct amod_comm *comm; /* data-parallel ranks (core/comm.h); NULL: one process */
    int check_ranks;        /* after every update, verify that all ranks hold the same weights */
    int prefetch;           /* image folders: decode the next batch during the step (the result is the same):
                             * 1 on, 0 off, -1 when a core is left beside the training threads */
} amod_train_config;

void amod_train_config_default(amod_train_config *cfg);

/* Where a run stands after `step` updates. */
typedef struct amod_train_state {
    int64_t step;             /* optimizer updates done */
    amod_loader_state loader; /* epoch in progress and images of it consumed */
    uint64_t model_rng;       /* the random router's generator */
    double loss_sum;          /* training loss summed over the epoch's steps so far */
    int64_t loss_steps;
    double best_acc;          /* best test accuracy so far (-1: none) and its epoch */
    int64_t best_epoch;
    double elapsed;           /* seconds spent training, over every process of the run */
} amod_train_state;

/* trainer.json's two halves (train_loop.c writes the file: {"format": 1, "config": {...},
 * "state": {...}}; 64-bit seeds and generator states as hex strings). */
void amod_train_state_write(cJSON *config, cJSON *state, const amod_train_config *cfg, const amod_train_state *st);
/* Reads both halves; cfg's unsaved fields keep the defaults. */
int amod_train_state_load(const char *path, amod_train_config *cfg, amod_train_state *st, amod_error *err);

#endif
