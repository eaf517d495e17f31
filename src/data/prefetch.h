/* The loader one batch ahead: a thread of its own renders the next batch (decoding and
 * augmenting pictures, on one OpenMP thread) while the caller trains on the last one, so
 * decoding overlaps the training step. Memory: two batches. The batches are the loader's own,
 * in its order: the result does not depend on prefetching. While a render is pending the
 * loader belongs to the prefetcher; the caller keeps its own copy of where the run stands. */
#ifndef AMOD_DATA_PREFETCH_H
#define AMOD_DATA_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"
#include "data/dataset.h"

typedef struct amod_prefetch amod_prefetch;

/* A prefetcher for batches of `batch` images (shard `shard` of `shards`), image_floats floats
 * an image; NULL with err set when the thread or the buffers cannot be made. */
amod_prefetch *amod_prefetch_create(amod_loader *ld, int batch, int shard, int shards, size_t image_floats,
                                    amod_error *err);
/* The next batch into *images and *labels (buffers exchanged with the prefetcher's: the
 * caller's pointers change): the one rendered ahead when there is one, else rendered now.
 * Then, when more_after says the epoch has another batch, starts rendering it. Returns the
 * images of this rank in the batch, 0 at the epoch's end, -1 on error (err names the file). */
int amod_prefetch_next(amod_prefetch *p, float **images, int64_t **labels, int more_after, amod_error *err);
/* Waits for a pending render and drops it (the loader is then the caller's again, standing
 * one batch further than what was taken). */
void amod_prefetch_drop(amod_prefetch *p);
/* Drops what is pending, stops the thread and frees the buffers the prefetcher holds. */
void amod_prefetch_free(amod_prefetch *p);

#endif
