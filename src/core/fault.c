#include "core/fault.h"

#ifdef AMOD_FAULT_INJECTION
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long counts[2], fail_at[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void report(void) {
    fprintf(stderr, "amod fault injection: %ld file operations, %ld allocations\n", counts[AMOD_FAULT_IO],
            counts[AMOD_FAULT_ALLOC]);
}

static void read_environment(void) {
    const char *io = getenv("AMOD_FAULT_IO_AT"), *alloc = getenv("AMOD_FAULT_ALLOC_AT");
    fail_at[AMOD_FAULT_IO] = io ? atol(io) : 0;
    fail_at[AMOD_FAULT_ALLOC] = alloc ? atol(alloc) : 0;
    const char *rep = getenv("AMOD_FAULT_REPORT");
    if (rep && rep[0] == '1') atexit(report);
}

int amod_fault(amod_fault_kind kind, int e) {
    pthread_once(&once, read_environment);
    pthread_mutex_lock(&mu);
    long n = ++counts[kind];
    pthread_mutex_unlock(&mu);
    if (fail_at[kind] <= 0 || n != fail_at[kind]) return 0;
    errno = e;
    return 1;
}
#endif
