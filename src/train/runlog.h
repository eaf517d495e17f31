/* log.csv of a training run: a header and one row per epoch. The file is rewritten whole
 * (atomically) for each row, so it is never half-written; on resume the rows after the
 * checkpoint's step are dropped, since the resumed run will write them again. */
#ifndef AMOD_TRAIN_RUNLOG_H
#define AMOD_TRAIN_RUNLOG_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"

#define AMOD_RUNLOG_HEADER "epoch,step,train_loss,test_loss,test_acc,lr,images_per_s,elapsed_s"

typedef struct amod_runlog_row {
    int64_t epoch, step;
    double train_loss;
    double test_loss, test_acc; /* NaN: not evaluated this epoch (empty fields) */
    double lr, images_per_s, elapsed_s;
} amod_runlog_row;

typedef struct amod_runlog {
    char path[4096];
    char *text;
    size_t len, cap;
} amod_runlog;

/* Starts RUN/log.csv afresh (keep_until_step < 0) or keeps the existing rows whose step is
 * at most keep_until_step; writes the file at once, so a run always has one. */
int amod_runlog_open(amod_runlog *l, const char *run_dir, int64_t keep_until_step, amod_error *err);
int amod_runlog_add(amod_runlog *l, const amod_runlog_row *row, amod_error *err);
void amod_runlog_free(amod_runlog *l);

#endif
