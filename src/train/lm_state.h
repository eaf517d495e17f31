/* trainer.json of `amod train-lm`: the run's settings (the corpus, its held-out fraction and the
 * saved fields of amod_lm_train_config) and its position, beside the model and the optimizer
 * state in a checkpoint, so that --resume continues exactly. */
#ifndef AMOD_TRAIN_LM_STATE_H
#define AMOD_TRAIN_LM_STATE_H

#include <stddef.h>

#include "train/lm_trainer.h"

#define AMOD_LM_TRAIN_COMMAND "train-lm"

/* trainer.json's two halves (train_loop.c writes the file: {"format": 1, "command":
 * "train-lm", "config": {...}, "state": {...}}); floats as their shortest decimal, 64-bit
 * values as hex strings. The corpus is c->data and c->val_frac. */
void amod_lm_train_state_write(cJSON *config, cJSON *state, const amod_lm_train_config *c,
                               const amod_lm_position *pos);
/* Reads it back: the corpus path into data (cap bytes), val_frac, the saved fields of c (the
 * others, e.g. threads, max_steps, comm, are left as they are) and pos. Each malformed field
 * fails naming the file and the key. */
int amod_lm_train_state_load(const char *path, char *data, size_t cap, float *val_frac, amod_lm_train_config *c,
                             amod_lm_position *pos, amod_error *err);

#endif
