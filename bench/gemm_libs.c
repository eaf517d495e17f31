/* gemm_libs: OpenBLAS, BLIS and oneDNN on DeiT-Tiny's own matrix products.
 *
 * One source, built once per library (a library is chosen at compile time because OpenBLAS
 * and BLIS both export cblas_sgemm):
 *   cc -O2 -fopenmp bench/gemm_libs.c -DLIB_OPENBLAS -lopenblas -o gemm_openblas
 *   cc -O2 -fopenmp bench/gemm_libs.c -DLIB_BLIS -I/usr/include/blis -lblis -o gemm_blis
 *   cc -O2 -fopenmp bench/gemm_libs.c -DLIB_DNNL -ldnnl -o gemm_dnnl
 * (bench/gemm_libs.sh builds the three and runs them alternately.)
 *
 * Shapes: one block's linear products at batch B (M = B*197 token rows): forward
 * out = in w^T, backward din = dout w and dw = dout^T in, for qkv, proj, fc1, fc2; and the
 * per-head attention products (197x197x64 and 197x64x197). Two threading schemes:
 *   split: amod's scheme, the rows split over an OpenMP team, the library single-threaded;
 *   lib:   one call, the library's own threads.
 * Each figure is the median over --reps repetitions of a loop of at least --min-ms.
 *
 *   gemm_libs [--threads 2] [--batch 32] [--reps 5] [--min-ms 200] [--scheme split|lib|both]
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(LIB_DNNL)
#include <oneapi/dnnl/dnnl.h>
static const char *LIB = "oneDNN";
#elif defined(LIB_BLIS)
#include <blis.h>
static const char *LIB = "BLIS";
#else
#include <cblas.h>
static const char *LIB = "OpenBLAS";
#endif

static void set_lib_threads(int n) {
#if defined(LIB_BLIS)
    bli_thread_set_num_threads(n);
#elif defined(LIB_DNNL)
    (void)n; /* oneDNN follows the OpenMP team it is called from */
#else
    openblas_set_num_threads(n);
#endif
}

static const char *lib_detail(void) {
#if defined(LIB_BLIS)
    static char buf[128];
    snprintf(buf, sizeof buf, "BLIS %s, arch %s", bli_info_get_version_str(),
             bli_arch_string(bli_arch_query_id()));
    return buf;
#elif defined(LIB_DNNL)
    static char buf[128];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "oneDNN %d.%d.%d, cpu isa %s", v->major, v->minor, v->patch,
             getenv("ONEDNN_MAX_CPU_ISA") ? getenv("ONEDNN_MAX_CPU_ISA") : "(auto)");
    return buf;
#else
    return openblas_get_corename();
#endif
}

/* Row-major C[M,N] = A[M,K] op B[K,N] (+ beta C) with transposes as flags. */
static void gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
#if defined(LIB_DNNL)
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                1.0f, A, lda, B, ldb, beta, C, ldc);
#endif
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const char *name;
    int kind; /* 0 fwd (NT), 1 din (NN), 2 dw (TN), 3 attention per head */
    int M, N, K;
} shape;

static float *A, *Bm, *C;
static int threads = 2;

/* One product of the shape under a scheme. */
static void run(const shape *s, int split) {
    int M = s->M, N = s->N, K = s->K;
    if (s->kind == 3) { /* per-head products spread over the team, as amod's attention */
        int tasks = K; /* K holds B*H here */
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int t = 0; t < tasks; t++) {
            float *c = C + (size_t)omp_get_thread_num() * 197 * 197;
            gemm(0, 1, 197, 197, 64, A, 576, A + 192, 576, 0.0f, c, 197);
            gemm(0, 0, 197, 64, 197, c, 197, A + 384, 576, 0.0f, Bm, 192);
        }
        return;
    }
    if (!split) {
        if (s->kind == 0) gemm(0, 1, M, N, K, A, K, Bm, K, 0.0f, C, N);
        else if (s->kind == 1) gemm(0, 0, M, N, K, A, K, Bm, N, 0.0f, C, N);
        else gemm(1, 0, M, N, K, A, M, Bm, N, 1.0f, C, N);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int lo = (int)((long long)M * t / nt), hi = (int)((long long)M * (t + 1) / nt), m = hi - lo;
        if (m > 0) {
            if (s->kind == 0) gemm(0, 1, m, N, K, A + (size_t)lo * K, K, Bm, K, 0.0f, C + (size_t)lo * N, N);
            else if (s->kind == 1) gemm(0, 0, m, N, K, A + (size_t)lo * K, K, Bm, N, 0.0f, C + (size_t)lo * N, N);
            else gemm(1, 0, m, N, K, A + lo, M, Bm, N, 1.0f, C + (size_t)lo * N, N);
        }
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int batch = 32, reps = 5, min_ms = 200, scheme = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scheme") && i + 1 < argc) {
            i++;
            scheme = !strcmp(argv[i], "split") ? 0 : !strcmp(argv[i], "lib") ? 1 : 2;
        } else {
            fprintf(stderr, "usage: gemm_libs [--threads N] [--batch B] [--reps R] [--min-ms MS] [--scheme split|lib|both]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || batch < 1 || batch > 256 || reps < 1 || min_ms < 1) {
        fprintf(stderr, "gemm_libs: option out of range\n");
        return 2;
    }
    omp_set_num_threads(threads);
    const int M = batch * 197;
    /* forward NT: C[M,N] = A[M,K] B[N,K]^T; din NN: C[M,K'] = A[M,N'] B[N',K']; dw TN: C[N,K] += A[M,N]^T B[M,K] */
    const shape shapes[] = {
        {"qkv fwd", 0, M, 576, 192},   {"proj fwd", 0, M, 192, 192},  {"fc1 fwd", 0, M, 768, 192},
        {"fc2 fwd", 0, M, 192, 768},   {"qkv din", 1, M, 192, 576},   {"proj din", 1, M, 192, 192},
        {"fc1 din", 1, M, 192, 768},   {"fc2 din", 1, M, 768, 192},   {"qkv dw", 2, 576, 192, M},
        {"proj dw", 2, 192, 192, M},   {"fc1 dw", 2, 768, 192, M},    {"fc2 dw", 2, 192, 768, M},
        {"attn heads", 3, 197, 197, batch * 3},
    };
    const int ns = (int)(sizeof shapes / sizeof shapes[0]);
    size_t big = (size_t)M * 768 + 4096;
    A = malloc(big * sizeof *A);
    Bm = malloc(big * sizeof *Bm);
    C = malloc(big * sizeof *C);
    if (!A || !Bm || !C) return 1;
    for (size_t i = 0; i < big; i++) {
        A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        Bm[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
        C[i] = 0.0f;
    }
    printf("# %s (%s), %d threads, batch %d (M = %d)\n", LIB, lib_detail(), threads, batch, M);
    printf("%-12s %-6s %10s\n", "shape", "scheme", "GFLOP/s");
    double total_flop[2] = {0}, total_s[2] = {0};
    for (int si = 0; si < ns; si++) {
        const shape *s = &shapes[si];
        for (int sp = 1; sp >= 0; sp--) {
            if (scheme != 2 && scheme != !sp) continue;
            if (s->kind == 3 && !sp) continue; /* heads are always spread over the team */
            set_lib_threads(sp ? 1 : threads);
            double flop = s->kind == 3 ? 2.0 * 2.0 * 197 * 197 * 64 * s->K : 2.0 * s->M * s->N * s->K;
            double *t = malloc((size_t)reps * sizeof *t);
            run(s, sp); /* warm-up */
            for (int r = 0; r < reps; r++) {
                int calls = 0;
                double t0 = now(), el;
                do {
                    run(s, sp);
                    calls++;
                    el = now() - t0;
                } while (el * 1e3 < min_ms);
                t[r] = el / calls;
            }
            qsort(t, (size_t)reps, sizeof *t, cmp);
            double sec = t[reps / 2];
            printf("%-12s %-6s %10.1f\n", s->name, sp ? "split" : "lib", flop / sec * 1e-9);
            if (s->kind != 3) { /* the block's linear products, one of each */
                total_flop[sp] += flop;
                total_s[sp] += sec;
            }
            free(t);
        }
    }
    for (int sp = 1; sp >= 0; sp--)
        if (total_s[sp] > 0)
            printf("%-12s %-6s %10.1f\n", "all linear", sp ? "split" : "lib", total_flop[sp] / total_s[sp] * 1e-9);
    fflush(stdout);
    free(A);
    free(Bm);
    free(C);
    return 0;
}
