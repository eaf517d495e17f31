/* How a model sees a data set (its image size, channels and normalisation), and top-1
 * accuracy and mean loss over a whole split. */
#ifndef AMOD_TRAIN_EVALUATE_H
#define AMOD_TRAIN_EVALUATE_H

#include <stdint.h>

#include "amod/amod.h"
#include "data/dataset.h"

/* Batches at the model's img_size (bilinear resize when the data differ), with in_chans
 * channels (grayscale replicated) normalised by the model's mean and std. No augmentation,
 * no shuffling: the caller turns those on for training. */
void amod_model_batch_config(const amod_vit_config *cfg, const amod_dataset *ds, amod_batch_config *bc);

typedef struct amod_eval_result {
    int64_t count, correct;
    int64_t correct5; /* the label among the 5 highest logits (all of them with fewer classes) */
    double accuracy;  /* correct / count */
    double accuracy5; /* correct5 / count */
    double loss;      /* mean cross-entropy per image */
    double seconds;
} amod_eval_result;

/* Runs the whole data set in order on an inference context of its own.
 * Fails when the data set has more classes than the model. */
int amod_evaluate(amod_vit *m, const amod_dataset *ds, int batch, amod_eval_result *out, amod_error *err);
/* The same on a context of the caller's (a trainer keeps one beside its training context, so
 * evaluating neither re-carves the training arena nor draws from its random router). */
int amod_evaluate_ctx(amod_vit_ctx *ctx, const amod_dataset *ds, int batch, amod_eval_result *out, amod_error *err);
/* amod_evaluate that also counts confusion [num_classes][num_classes] (label, prediction),
 * which it zeroes first. */
int amod_evaluate_confusion(amod_vit *m, const amod_dataset *ds, int batch, amod_eval_result *out, int64_t *confusion,
                            amod_error *err);

#endif
