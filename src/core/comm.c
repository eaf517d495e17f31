#include "core/comm.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"

#ifdef AMOD_HAVE_MPI
#include <mpi.h>
#endif

uint64_t amod_hash_bytes(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    if (!h) h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#ifdef AMOD_HAVE_MPI

/* MPI counts are int: large buffers go in chunks. */
#define CHUNK ((size_t)1 << 28)

int amod_comm_init(amod_comm *c, int *argc, char ***argv, amod_error *err) {
    memset(c, 0, sizeof *c);
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(argc, argv) != MPI_SUCCESS) return amod_fail(err, "MPI_Init failed");
    /* a failing collective returns an error code instead of hanging or killing silently */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return 0;
}

void amod_comm_finalize(amod_comm *c) {
    (void)c;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

static int mpi_fail(int rc, const char *what, amod_error *err) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return amod_fail(err, "%s failed: %s (did a rank die?)", what, msg);
}

int amod_comm_allreduce_mean(amod_comm *c, float *buf, size_t n, amod_error *err) {
    if (c->size == 1) return 0;
    double t0 = amod_seconds();
    for (size_t off = 0; off < n; off += CHUNK) {
        int count = (int)(n - off < CHUNK ? n - off : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "gradient allreduce", err);
    }
    const float inv = 1.0f / (float)c->size;
    for (size_t i = 0; i < n; i++) buf[i] *= inv;
    c->allreduce_seconds += amod_seconds() - t0;
    c->allreduce_bytes += n * sizeof *buf;
    return 0;
}

int amod_comm_allreduce_sum_f64(amod_comm *c, double *buf, size_t n, amod_error *err) {
    if (c->size == 1) return 0;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, "metric allreduce", err);
}

int amod_comm_bcast(amod_comm *c, void *buf, size_t bytes, amod_error *err) {
    if (c->size == 1) return 0;
    for (size_t off = 0; off < bytes; off += CHUNK) {
        int count = (int)(bytes - off < CHUNK ? bytes - off : CHUNK);
        int rc = MPI_Bcast((char *)buf + off, count, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "broadcast", err);
    }
    return 0;
}

int amod_comm_check_same(amod_comm *c, uint64_t value, const char *what, amod_error *err) {
    if (c->size == 1) return 0;
    uint64_t lo = value, hi = value;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "consistency check", err);
    if (lo != hi) return amod_fail(err, "ranks disagree on the %s (rank %d holds %016llx)", what, c->rank,
                                   (unsigned long long)value);
    return 0;
}

void amod_comm_abort(amod_comm *c, int code) {
    if (c->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

#else /* single process */

int amod_comm_init(amod_comm *c, int *argc, char ***argv, amod_error *err) {
    (void)argc, (void)argv, (void)err;
    memset(c, 0, sizeof *c);
    c->size = 1;
    return 0;
}
void amod_comm_finalize(amod_comm *c) { (void)c; }
int amod_comm_allreduce_mean(amod_comm *c, float *buf, size_t n, amod_error *err) {
    (void)c, (void)buf, (void)n, (void)err;
    return 0;
}
int amod_comm_allreduce_sum_f64(amod_comm *c, double *buf, size_t n, amod_error *err) {
    (void)c, (void)buf, (void)n, (void)err;
    return 0;
}
int amod_comm_bcast(amod_comm *c, void *buf, size_t bytes, amod_error *err) {
    (void)c, (void)buf, (void)bytes, (void)err;
    return 0;
}
int amod_comm_check_same(amod_comm *c, uint64_t value, const char *what, amod_error *err) {
    (void)c, (void)value, (void)what, (void)err;
    return 0;
}
void amod_comm_abort(amod_comm *c, int code) {
    (void)c;
    exit(code);
}

#endif

int amod_comm_is_root(const amod_comm *c) { return c->rank == 0; }

int amod_comm_launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL; }
