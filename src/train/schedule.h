/* Learning-rate schedule: linear warmup, then cosine decay to a floor (timm's cosine
 * scheduler, per step rather than per epoch). */
#ifndef AMOD_TRAIN_SCHEDULE_H
#define AMOD_TRAIN_SCHEDULE_H

#include <stdint.h>

typedef struct amod_lr_schedule {
    float lr;             /* peak, reached at the end of warmup */
    float min_lr;         /* floor at the last step */
    int64_t warmup_steps; /* 0: start at lr */
    int64_t total_steps;  /* warmup included */
} amod_lr_schedule;

/* Learning rate of update number step (0-based):
 *   step < warmup:  lr * (step + 1) / warmup
 *   afterwards:     min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2,
 *                   t = (step - warmup) / (total - warmup), clamped to [0, 1]. */
float amod_lr_at(const amod_lr_schedule *s, int64_t step);

#endif
