/* The live progress line of a training run on stderr: redrawn in place (\r) when stderr is a
 * terminal, one line every N steps otherwise (logs, CI), so neither floods nor stays silent. */
#ifndef AMOD_TRAIN_PROGRESS_H
#define AMOD_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct amod_progress {
    FILE *f;
    int tty;        /* redraw in place */
    int every;      /* steps between lines when not a terminal */
    int quiet;      /* print nothing */
    int open;       /* a \r line is on screen and needs a newline before other output */
    double last;    /* when the line was last drawn */
} amod_progress;

typedef struct amod_progress_info {
    int64_t epoch, epochs;     /* epoch in progress (1-based) and epochs of the run */
    int64_t step, total_steps; /* updates done, of the run's total */
    double loss, lr;           /* training loss (mean of the epoch so far), learning rate */
    double images_per_s;
    double eta_s;              /* < 0: unknown */
} amod_progress_info;

void amod_progress_init(amod_progress *p, FILE *f, int every, int quiet);
/* After a step: draws the line when it is due. */
void amod_progress_step(amod_progress *p, const amod_progress_info *info);
/* A whole line of its own (epoch summaries), below the live line. */
void amod_progress_note(amod_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the live line. */
void amod_progress_end(amod_progress *p);

/* "1h02m", "12m34s", "45s". */
void amod_format_duration(double seconds, char *out, size_t cap);

#endif
