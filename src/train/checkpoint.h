/* Checkpoint directories of a training run, RUN/last and RUN/best, each holding
 *   model.safetensors, config.json  the model, timm names and a "mod" section (amod_vit_load reads it)
 *   optimizer.st                    AdamW moments and step (train/optim.h; safetensors format,
 *                                   named so that timm's loader sees one *.safetensors)
 *   trainer.json                    the run's settings and position (train/state.h, train/lm_state.h)
 * A checkpoint is written whole into RUN/NAME.new, then swapped in by renames: NAME -> NAME.old,
 * NAME.new -> NAME, and NAME.old removed. A crash between the renames leaves NAME.old, which
 * amod_checkpoint_dir takes back, so RUN/NAME is always one complete checkpoint. */
#ifndef AMOD_TRAIN_CHECKPOINT_H
#define AMOD_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"

/* The directory swap (train_loop_checkpoint fills it): begin makes an empty RUN/NAME.new (clearing leftovers) and writes its path into
 * fresh; the caller fills it; commit swaps it in as RUN/NAME. */
int amod_checkpoint_begin(const char *run_dir, const char *name, char *fresh, size_t cap, amod_error *err);
int amod_checkpoint_commit(const char *run_dir, const char *name, amod_error *err);

/* Writes RUN/NAME into out after finishing a swap a crash interrupted; fails, naming the
 * run, when there is no such checkpoint. */
int amod_checkpoint_dir(const char *run_dir, const char *name, char *out, size_t cap, amod_error *err);

/* What a failed or stopped run leaves to resume from, for its message: "RUN/last (step N) is
 * kept", or "no checkpoint was kept" when step < 0. */
void amod_checkpoint_kept(char *out, size_t cap, const char *run_dir, int64_t step);

#endif
