#include "core/signals.h"

#include <omp.h>
#include <pthread.h>

/* Every signal but the synchronous faults (which a blocked mask would turn into a kill
 * without a handler) and abort's. */
static void asynchronous(sigset_t *set) {
    sigfillset(set);
    const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) sigdelset(set, faults[i]);
}

void amod_signals_hold(amod_signal_hold *h) {
    sigset_t set;
    asynchronous(&set);
    pthread_sigmask(SIG_BLOCK, &set, &h->saved);
}

void amod_signals_release(const amod_signal_hold *h) { pthread_sigmask(SIG_SETMASK, &h->saved, NULL); }

/* The largest team of this thread's OpenMP pool whose workers hold the signals already:
 * libgomp keeps a pool per calling thread and its workers for the life of the thread (a
 * smaller team leaves them docked), so only a larger team brings new, open ones. Without it
 * every run context's call opened a region to wake the workers: 47 us a call with
 * OMP_WAIT_POLICY=passive. */
static _Thread_local int held_team = 1;

void amod_signals_hold_workers(void) {
    const int n = omp_get_max_threads();
    if (n <= held_team || omp_in_parallel()) return;
    sigset_t set;
    asynchronous(&set);
#pragma omp parallel
    if (omp_get_thread_num() != 0) pthread_sigmask(SIG_BLOCK, &set, NULL);
    held_team = n;
}
