/* The optimizer step of `amod bench`'s training step (AdamW over the flat buffers). */
#ifndef AMOD_CLI_BENCH_OPTIM_H
#define AMOD_CLI_BENCH_OPTIM_H

#include "amod/amod.h"

typedef struct bench_optimizer bench_optimizer;
bench_optimizer *bench_optimizer_new(amod_vit *m, amod_error *err);
void bench_optimizer_step(bench_optimizer *o, amod_vit *m);
void bench_optimizer_free(bench_optimizer *o);

#endif
