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

void amod_signals_hold_workers(void) {
    if (omp_get_max_threads() < 2 || omp_in_parallel()) return;
    sigset_t set;
    asynchronous(&set);
#pragma omp parallel
    if (omp_get_thread_num() != 0) pthread_sigmask(SIG_BLOCK, &set, NULL);
}
