/* Signals during oneDNN's products leave the heap whole. oneDNN 2.6's f32 GEMM kernels run
 * with the stack pointer in a heap workspace, so a signal frame written there corrupted the
 * heap: `amod train-lm` stopped by SIGTERM aborted now and then with glibc's "corrupted size
 * vs. prev_size" inside dnnl_sgemm (core/signals.h). Here a timer fires a handled SIGALRM
 * every 20 microseconds while the products that crashed then run, on one thread and on two,
 * and through the packed (primitive) path: every result must match a plain loop, nothing
 * may be written past the output, and the process must not abort. Without the hold this
 * aborted within a few hundred products on the Zen 4 it was written on. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/linear_packed.h"
#include "test_support.h"

static volatile sig_atomic_t ticks;
static void on_tick(int sig) {
    (void)sig;
    ticks++;
}

static void timer(long usec) {
    struct itimerval t = {{0, usec}, {0, usec}};
    setitimer(ITIMER_REAL, &t, NULL);
}

#define GUARD 1024 /* floats past the output that must stay untouched */

static float value(size_t i, int seed) { return (float)(((i + 1) * (size_t)(2 * seed + 7)) % 97) / 48.0f - 1.0f; }

/* C[M,N] = 0.5 + A B (op as given, row-major) into a guarded buffer; ref (NULL: none yet)
 * is the same product from double loops, made on the first call. */
static int sgemm_case(int ta, int tb, int M, int N, int K, float **ref) {
    float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
    float *C = malloc(((size_t)M * N + GUARD) * sizeof *C);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = value(i, 1);
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = value(i, 2);
    for (size_t i = 0; i < (size_t)M * N + GUARD; i++) C[i] = i < (size_t)M * N ? 0.5f : 7.0f;
    const int lda = ta ? M : K, ldb = tb ? K : N;
    if (!*ref) {
        *ref = malloc((size_t)M * N * sizeof **ref);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double acc = 0.5;
                for (int k = 0; k < K; k++)
                    acc += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                           (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                (*ref)[(size_t)i * N + j] = (float)acc;
            }
    }
    amod_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, N);
    int bad = rel_max_err(C, *ref, (size_t)M * N) > 1e-4;
    for (size_t i = (size_t)M * N; i < (size_t)M * N + GUARD; i++)
        if (C[i] != 7.0f) bad = 1;
    free(A), free(B), free(C);
    return bad;
}

/* out = in w^T + b through the packed path (when there is one), against linear_forward. */
static int packed_case(linear_engine *e, int rows, int n_in, int n_out) {
    float *in = malloc((size_t)rows * n_in * sizeof *in), *w = malloc((size_t)n_out * n_in * sizeof *w);
    float *b = malloc((size_t)n_out * sizeof *b), *ref = malloc((size_t)rows * n_out * sizeof *ref);
    float *out = malloc(((size_t)rows * n_out + GUARD) * sizeof *out);
    for (size_t i = 0; i < (size_t)rows * n_in; i++) in[i] = value(i, 3);
    for (size_t i = 0; i < (size_t)n_out * n_in; i++) w[i] = value(i, 4);
    for (int i = 0; i < n_out; i++) b[i] = value((size_t)i, 5);
    for (size_t i = 0; i < (size_t)rows * n_out + GUARD; i++) out[i] = 7.0f;
    linear_forward(ref, in, w, b, rows, n_in, n_out);
    int bad = linear_packed_forward(e, out, in, w, b, NULL, LINEAR_BIAS, LINEAR_F32, rows, n_in, n_out) != 0;
    if (!bad && rel_max_err(out, ref, (size_t)rows * n_out) > 1e-4) bad = 1;
    for (size_t i = (size_t)rows * n_out; i < (size_t)rows * n_out + GUARD; i++)
        if (out[i] != 7.0f) bad = 1;
    free(in), free(w), free(b), free(ref), free(out);
    return bad;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    /* the shapes of train-lm's linear backward that crashed, and the forward's */
    const int shapes[][5] = {{0, 1, 64, 32, 256}, {1, 0, 32, 256, 64}, {1, 0, 256, 32, 64}, {0, 0, 64, 256, 32},
                             {0, 1, 197, 192, 192}};
    const int n_shapes = (int)(sizeof shapes / sizeof *shapes);
    for (int threads = 1; threads <= 2; threads++) {
        amod_threads_init(threads);
        int bad = 0, runs = 0;
        float *refs[sizeof shapes / sizeof *shapes] = {0};
        const sig_atomic_t before = ticks;
        timer(20);
        for (int it = 0; it < 1000; it++, runs++) {
            const int *s = shapes[it % n_shapes];
            bad += sgemm_case(s[0], s[1], s[2], s[3], s[4], &refs[it % n_shapes]);
        }
        timer(0);
        for (int i = 0; i < n_shapes; i++) free(refs[i]);
        CHECK(!bad, "%d threads: %d of %d products under signals were wrong or wrote past their output", threads, bad,
              runs);
        CHECK(ticks > before, "%d threads: the timer never fired", threads);
        if (getenv("AMOD_TEST_VERBOSE"))
            printf("%d threads: %d products, %d signals handled\n", threads, runs, (int)(ticks - before));
    }
    linear_engine *e = linear_engine_create();
    if (e) {
        int bad = 0;
        timer(20);
        for (int it = 0; it < 200; it++) bad += packed_case(e, it % 2 ? 64 : 197, 192, it % 3 ? 768 : 192);
        timer(0);
        CHECK(!bad, "packed products: %d of 200 under signals were wrong or wrote past their output", bad);
        linear_engine_free(e);
    }
    return test_summary("test_signal_safety");
}
