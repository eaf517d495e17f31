/* Data-parallel communication: MPI when amod is built with it (AMOD_HAVE_MPI), otherwise a
 * single process where every collective is the identity. Training code calls these
 * unconditionally. */
#ifndef AMOD_CORE_COMM_H
#define AMOD_CORE_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"

typedef struct amod_comm {
    int rank, size;
    double allreduce_seconds; /* time spent in amod_comm_allreduce_mean, summed */
    uint64_t allreduce_bytes;  /* bytes reduced, summed */
} amod_comm;

/* 1 when the process was started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE of
 * other launchers): a command then trains data-parallel. */
int amod_comm_launched(void);
/* Initialises MPI when launched under mpirun (a no-op otherwise). Errors abort all ranks
 * with a message instead of leaving the others waiting. */
int amod_comm_init(amod_comm *c, int *argc, char ***argv, amod_error *err);
void amod_comm_finalize(amod_comm *c);
int amod_comm_is_root(const amod_comm *c);
/* In-place mean over ranks of a float buffer (gradients). */
int amod_comm_allreduce_mean(amod_comm *c, float *buf, size_t n, amod_error *err);
/* In-place sum over ranks of doubles (metrics: loss sums, correct counts). */
int amod_comm_allreduce_sum_f64(amod_comm *c, double *buf, size_t n, amod_error *err);
/* Root's bytes to every rank. */
int amod_comm_bcast(amod_comm *c, void *buf, size_t bytes, amod_error *err);
/* Checks that every rank holds the same 64-bit value (a hash of weights, config, data);
 * the error names what differs. */
int amod_comm_check_same(amod_comm *c, uint64_t value, const char *what, amod_error *err);
/* Stops every rank (after a fatal error on one). */
void amod_comm_abort(amod_comm *c, int code);
/* FNV-1a over bytes, for amod_comm_check_same. */
uint64_t amod_hash_bytes(const void *data, size_t n, uint64_t h);

#endif
