/* One threading system: OpenMP. The matrix-product libraries run single-threaded inside
 * amod's OpenMP regions (amod splits large products across the threads itself), so BLAS
 * worker threads never compete with OpenMP threads for the cores (which made a 2-core
 * machine 5x slower). */
#ifndef AMOD_CORE_THREADS_H
#define AMOD_CORE_THREADS_H

/* Sets the number of threads (0: all cores) and the matrix-product path. Safe to call more
 * than once; the library calls it with 0 on first use. */
void amod_threads_init(int n);
/* The most threads amod runs: 4 per core. More only make OpenMP's threads spin against each
 * other (256 threads on 2 cores took minutes for a step); amod_threads_init caps at it. */
int amod_threads_max(void);
/* A run context's thread count for the length of a call: sets n (> 0; 0 keeps the caller's)
 * and returns the count to give back to amod_threads_pop. OpenMP's count is per calling
 * thread, so contexts on other threads are not affected. */
int amod_threads_push(int n);
void amod_threads_pop(int before);
/* The cores OpenMP sees. */
int amod_cores(void);
int amod_threads_count(void);

#endif
