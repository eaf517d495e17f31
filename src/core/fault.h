/* Fault injection, as SQLite tests its I/O: in a build with AMOD_FAULT_INJECTION, the Nth
 * file operation (create, write, fsync, rename, mkdir) fails when AMOD_FAULT_IO_AT=N is in the
 * environment, and the Nth allocation through amod_alloc/amod_zalloc when AMOD_FAULT_ALLOC_AT=N.
 * AMOD_FAULT_REPORT=1 prints how many of each the process made, at exit, so that a test can
 * sweep N over all of them (tests/test_fault_sweep.sh). Without the build option the checks
 * compile to nothing. */
#ifndef AMOD_CORE_FAULT_H
#define AMOD_CORE_FAULT_H

typedef enum { AMOD_FAULT_IO = 0, AMOD_FAULT_ALLOC = 1 } amod_fault_kind;

#ifdef AMOD_FAULT_INJECTION
/* 1 when this operation is the one to fail (errno is then set to e). */
int amod_fault(amod_fault_kind kind, int e);
#define AMOD_FAULT_INJECTION_BUILD 1
#else
static inline int amod_fault(amod_fault_kind kind, int e) {
    (void)kind, (void)e;
    return 0;
}
#define AMOD_FAULT_INJECTION_BUILD 0
#endif

#endif
