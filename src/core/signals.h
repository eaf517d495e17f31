/* Asynchronous signals kept away from oneDNN's kernels.
 *
 * oneDNN 2.6's f32 GEMM kernels (behind dnnl_sgemm and its gemm-based primitives) point the
 * stack pointer into a heap workspace while they run. A signal handled on that thread then
 * has its frame written into the heap, which glibc reports later as "corrupted size vs.
 * prev_size" (oneDNN issue 4845, fixed in 3.x; `amod train-lm` stopped by Ctrl-C hit it). So
 * a thread holds the asynchronous signals for the length of each oneDNN call, and amod's
 * OpenMP workers (which run oneDNN's parallel loops) hold them for good: a Ctrl-C, a TERM or
 * a profiler's SIGPROF is handled on a thread that is not inside a kernel, or right after
 * the call. Faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) stay open. */
#ifndef AMOD_CORE_SIGNALS_H
#define AMOD_CORE_SIGNALS_H

#include <signal.h>

typedef struct {
    sigset_t saved; /* the thread's mask before the hold */
} amod_signal_hold;

/* Holds the asynchronous signals on the calling thread until amod_signals_release. */
void amod_signals_hold(amod_signal_hold *h);
void amod_signals_release(const amod_signal_hold *h);
/* Holds them for good on the workers of the calling thread's OpenMP team (of its current
 * size), not on the calling thread: the workers are created, or reused, by the region this
 * opens, once per pool size (a team no larger than one held before returns at once). */
void amod_signals_hold_workers(void);

#endif
