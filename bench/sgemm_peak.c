/* sgemm_peak: how fast is the BLAS that amod links, on DeiT-Tiny's products?
 *
 * Times cblas_sgemm on the shapes one DeiT-Tiny block needs at batch B
 * (default 32, so M = B*197 = 6304 token rows), forward and backward, the
 * per-head attention products (B*3 heads of 197x197x64 and 197x64x197), and a
 * 2048^3 square.  Each figure is the median of --reps timed repetitions after
 * one warm-up; a repetition loops until it has run at least --min-ms.
 * GFLOP/s = 2*M*N*K*calls / seconds.
 *
 * It prints the BLAS it found: the OPENBLAS_CORETYPE value in the environment,
 * openblas_get_corename(), openblas_get_config(), the thread counts.  The
 * OpenBLAS/BLIS query functions are weak references, so the same file links
 * against BLIS (cc bench/sgemm_peak.c -fopenmp -lblis -lm) for comparison.
 *
 *   sgemm_peak [--threads N] [--reps R] [--min-ms MS] [--batch B]
 *              [--only SUBSTR] [--omp-heads] [--mixed] [--split] [--reinit-core]
 *
 *   --only LIST     run only the shapes whose names contain one of the
 *                   comma-separated substrings ("none" prints the header)
 *   --threads N     openblas_set_num_threads(N) / bli_thread_set_num_threads(N)
 *                   (default: leave the library's own choice)
 *   --omp-heads     also run the per-head products inside
 *                   `#pragma omp parallel for` over heads (the way an engine
 *                   would spread heads over cores), once as is and once with
 *                   the BLAS set to 1 thread around the region
 *   --mixed         also time an MLP-like sequence: sgemm fc1, an OpenMP GELU
 *                   pass, sgemm fc2, an OpenMP residual add (mlp_seq), against
 *                   the sum of its parts timed alone (mlp_parts_sum), to
 *                   expose interference between the BLAS's threads and
 *                   OpenMP's (both spin-wait after their work)
 *   --split         also run each linear product with its rows split over
 *                   the bench's OpenMP team, one BLAS call per thread
 *                   (name_split; use with --threads 1 on the pthread build)
 *   --reinit-core   before anything else, drop OPENBLAS_CORETYPE from the
 *                   environment and redo OpenBLAS's core detection in process
 *                   (gotoblas_dynamic_quit + gotoblas_dynamic_init, exported
 *                   by DYNAMIC_ARCH builds), then put the variable back
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Present in OpenBLAS (some only in DYNAMIC_ARCH builds) or in BLIS; weak so
 * that whichever library is linked, the others resolve to NULL. */
#pragma weak openblas_get_corename
#pragma weak openblas_get_config
#pragma weak openblas_set_num_threads
#pragma weak openblas_get_num_threads
#pragma weak openblas_get_parallel
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
extern void bli_thread_set_num_threads(int64_t n) __attribute__((weak));
extern int64_t bli_thread_get_num_threads(void) __attribute__((weak));
extern const char *bli_info_get_version_str(void) __attribute__((weak));
extern int bli_arch_query_id(void) __attribute__((weak));
extern const char *bli_arch_string(int id) __attribute__((weak));

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_fill(size_t n, unsigned seed) {
  float *p = NULL;
  if (posix_memalign((void **)&p, 64, n * sizeof(float)) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  unsigned s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)((s >> 9) & 0xffff) / 65536.0f - 0.5f;
  }
  return p;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One timed operation: fn(ctx) is one "call"; flops per call given. */
typedef void (*op_fn)(void *ctx);

static int g_reps = 7;
/* OpenMP team size for the bench's own parallel regions, read before any
 * openblas_set_num_threads call: OpenBLAS's OpenMP build implements that call
 * with omp_set_num_threads, which would shrink the caller's own teams too. */
static int g_omp_threads = 1;
static double g_min_ms = 40.0;

/* Returns the median seconds per fn() over g_reps repetitions. */
static double time_op(op_fn fn, void *ctx, double *spread) {
  fn(ctx); /* warm-up (thread start, page faults, packing buffers) */
  fn(ctx);
  double t[64];
  int reps = g_reps > 64 ? 64 : g_reps;
  for (int r = 0; r < reps; r++) {
    int iters = 0;
    double t0 = now_s(), el;
    do {
      fn(ctx);
      iters++;
      el = now_s() - t0;
    } while (el * 1e3 < g_min_ms);
    t[r] = el / iters;
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_double);
  if (spread) *spread = (t[reps - 1] - t[0]) / t[reps / 2];
  return t[reps / 2];
}

/* ---- plain products --------------------------------------------------- */
typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
  const float *a, *b;
  float *c;
} gemm_ctx;

static void run_gemm(void *p) {
  gemm_ctx *g = p;
  int lda = g->ta == CblasNoTrans ? g->k : g->m;
  int ldb = g->tb == CblasNoTrans ? g->n : g->k;
  cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, lda, g->b, ldb, 0.0f, g->c, g->n);
}

/* The same product with its rows split over the bench's own OpenMP team,
 * one single-threaded BLAS call per thread (the caller, not the BLAS, owns the
 * threads).  The BLAS must be at 1 thread (--threads 1) for the pthread build;
 * the OpenMP build drops to 1 thread inside a parallel region by itself. */
static void run_gemm_split(void *p) {
  gemm_ctx *g = p;
  int lda = g->ta == CblasNoTrans ? g->k : g->m;
  int ldb = g->tb == CblasNoTrans ? g->n : g->k;
#pragma omp parallel num_threads(g_omp_threads)
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int r0 = (int)((long)g->m * t / nt), r1 = (int)((long)g->m * (t + 1) / nt);
    if (r1 > r0) {
      const float *a = g->ta == CblasNoTrans ? g->a + (size_t)r0 * lda : g->a + r0;
      cblas_sgemm(CblasRowMajor, g->ta, g->tb, r1 - r0, g->n, g->k, 1.0f, a, lda, g->b, ldb, 0.0f,
                  g->c + (size_t)r0 * g->n, g->n);
    }
  }
}

/* ---- per-head attention products --------------------------------------
 * q,k,v: [heads][T][dh] contiguous; s: [heads][T][T]; o: [heads][T][dh].
 * mode 0: serial loop over heads, BLAS threads as configured.
 * mode 1: #pragma omp parallel for over heads, BLAS as configured.
 * mode 2: as 1 but the BLAS set to one thread around the region.        */
typedef struct {
  int heads, t, dh, which; /* which: 0 = S = Q K^T, 1 = O = P V */
  int mode;
  const float *q, *k, *v;
  float *s, *o;
} heads_ctx;

static void set_blas_threads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n);
  if (bli_thread_set_num_threads) bli_thread_set_num_threads(n);
}
static int get_blas_threads(void) {
  if (openblas_get_num_threads) return openblas_get_num_threads();
  if (bli_thread_get_num_threads) return (int)bli_thread_get_num_threads();
  return -1;
}

static void one_head(const heads_ctx *h, int i) {
  size_t td = (size_t)h->t * h->dh, tt = (size_t)h->t * h->t;
  if (h->which == 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, h->t, h->t, h->dh, 1.0f, h->q + i * td, h->dh, h->k + i * td,
                h->dh, 0.0f, h->s + i * tt, h->t);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, h->t, h->dh, h->t, 1.0f, h->s + i * tt, h->t, h->v + i * td,
                h->dh, 0.0f, h->o + i * td, h->dh);
}

static void run_heads(void *p) {
  heads_ctx *h = p;
  if (h->mode == 0) {
    for (int i = 0; i < h->heads; i++) one_head(h, i);
  } else {
    int saved = 0;
    if (h->mode == 2) {
      saved = get_blas_threads();
      set_blas_threads(1);
    }
#pragma omp parallel for schedule(static) num_threads(g_omp_threads)
    for (int i = 0; i < h->heads; i++) one_head(h, i);
    if (h->mode == 2 && saved > 0) set_blas_threads(saved);
  }
}

/* ---- MLP-like sequence: BLAS then OpenMP then BLAS then OpenMP -----------
 * H = X W1^T (sgemm), G = gelu(H) (OpenMP), Y = G W2^T (sgemm), Y += X
 * (OpenMP).  Out of place, so every pass sees the same data. part 1 runs
 * only the two OpenMP passes, for the sum-of-parts comparison. */
typedef struct {
  int m, d, hid;
  const float *x, *w1, *w2;
  float *h, *g, *y;
  int part;
} mlp_ctx;

static void run_mlp(void *p) {
  mlp_ctx *c = p;
  size_t nh = (size_t)c->m * c->hid, ny = (size_t)c->m * c->d;
  if (c->part == 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->m, c->hid, c->d, 1.0f, c->x, c->d, c->w1, c->d, 0.0f, c->h,
                c->hid);
  const float *h = c->h;
  float *g = c->g;
#pragma omp parallel for schedule(static) num_threads(g_omp_threads)
  for (size_t i = 0; i < nh; i++) {
    float v = h[i];
    g[i] = 0.5f * v * (1.0f + erff(v * 0.70710678f));
  }
  if (c->part == 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->m, c->d, c->hid, 1.0f, c->g, c->hid, c->w2, c->hid, 0.0f,
                c->y, c->d);
  float *y = c->y;
  const float *x = c->x;
#pragma omp parallel for schedule(static) num_threads(g_omp_threads)
  for (size_t i = 0; i < ny; i++) y[i] += x[i];
}

static void report(const char *name, int m, int n, int k, int calls, double sec, double spread) {
  double gf = 2.0 * m * n * k * (double)calls / sec * 1e-9;
  printf("%-22s %5d %5d %5d %4d %10.3f %8.1f %6.1f%%\n", name, m, n, k, calls, sec * 1e3, gf, spread * 100.0);
  fflush(stdout);
}

/* --only: comma-separated substrings; a shape runs when its name contains one. */
static int want(const char *only, const char *name) {
  if (!only) return 1;
  const char *p = only;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char tok[64];
    if (n >= sizeof tok) n = sizeof tok - 1;
    memcpy(tok, p, n);
    tok[n] = 0;
    if (n && strstr(name, tok)) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int threads = 0, batch = 32, omp_heads = 0, mixed = 0, reinit = 0, split = 0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) g_reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) g_min_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--omp-heads")) omp_heads = 1;
    else if (!strcmp(argv[i], "--mixed")) mixed = 1;
    else if (!strcmp(argv[i], "--split")) split = 1;
    else if (!strcmp(argv[i], "--reinit-core")) reinit = 1;
    else {
      fprintf(stderr,
              "usage: %s [--threads N] [--reps R] [--min-ms MS] [--batch B] [--only SUBSTR] [--omp-heads] [--mixed] "
              "[--split] [--reinit-core]\n",
              argv[0]);
      return 2;
    }
  }
  if (g_reps < 1) g_reps = 1;

  const char *ct = getenv("OPENBLAS_CORETYPE");
  char ctbuf[64];
  snprintf(ctbuf, sizeof ctbuf, "%s", ct ? ct : "(unset)");
  if (reinit) {
    if (gotoblas_dynamic_init && gotoblas_dynamic_quit) {
      unsetenv("OPENBLAS_CORETYPE");
      gotoblas_dynamic_quit();
      gotoblas_dynamic_init();
      if (ct) setenv("OPENBLAS_CORETYPE", ctbuf, 1);
      printf("# reinit-core: core detection redone without OPENBLAS_CORETYPE\n");
    } else {
      printf("# reinit-core: not a DYNAMIC_ARCH OpenBLAS, nothing done\n");
    }
  }
  g_omp_threads = omp_get_max_threads();
  if (threads > 0) set_blas_threads(threads);

  printf("# OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s OPENBLAS_L2_SIZE=%s\n", ctbuf,
         getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)",
         getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "(unset)",
         getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "(unset)");
  if (openblas_get_corename)
    printf("# openblas core=%s parallel=%d threads=%d config=%s\n", openblas_get_corename(),
           openblas_get_parallel ? openblas_get_parallel() : -1, get_blas_threads(),
           openblas_get_config ? openblas_get_config() : "?");
  if (bli_info_get_version_str)
    printf("# blis %s arch=%s threads=%d\n", bli_info_get_version_str(),
           (bli_arch_query_id && bli_arch_string) ? bli_arch_string(bli_arch_query_id()) : "?", get_blas_threads());
  printf("# omp_get_max_threads: %d at start, %d after --threads (bench's own OpenMP teams use %d) batch=%d reps=%d min_ms=%.0f (median of reps; spread=(max-min)/median)\n",
         g_omp_threads, omp_get_max_threads(), g_omp_threads, batch, g_reps, g_min_ms);
  printf("%-22s %5s %5s %5s %4s %10s %8s %7s\n", "shape", "M", "N", "K", "call", "ms", "GFLOP/s", "spread");

  const int T = 197, D = 192, HID = 768, H = 3, DH = 64;
  const int M = batch * T;
  float *X = alloc_fill((size_t)M * HID, 1), *G = alloc_fill((size_t)M * HID, 2);
  float *W = alloc_fill((size_t)HID * HID, 3), *C = alloc_fill((size_t)M * HID, 4);
  float *Cw = alloc_fill((size_t)HID * HID, 5);

  /* forward: Y[M,N] = X[M,K] W[N,K]^T (nn.Linear layout);
   * backward: dX[M,K] = dY[M,N] W[N,K]; dW[N,K] = dY[M,N]^T X[M,K]. */
  struct {
    const char *name;
    int k, n;
  } lin[] = {{"qkv", D, 3 * D}, {"proj", D, D}, {"fc1", D, HID}, {"fc2", HID, D}};
  double sp;
  for (int i = 0; i < 4; i++) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s_fwd", lin[i].name);
    if (want(only, nm)) {
      gemm_ctx g = {CblasNoTrans, CblasTrans, M, lin[i].n, lin[i].k, X, W, C};
      double s = time_op(run_gemm, &g, &sp);
      report(nm, M, lin[i].n, lin[i].k, 1, s, sp);
      if (split) {
        strcat(nm, "_split");
        s = time_op(run_gemm_split, &g, &sp);
        report(nm, M, lin[i].n, lin[i].k, 1, s, sp);
      }
    }
  }
  for (int i = 0; i < 4; i++) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s_dX", lin[i].name);
    if (want(only, nm)) {
      gemm_ctx g = {CblasNoTrans, CblasNoTrans, M, lin[i].k, lin[i].n, G, W, C};
      double s = time_op(run_gemm, &g, &sp);
      report(nm, M, lin[i].k, lin[i].n, 1, s, sp);
      if (split) {
        strcat(nm, "_split");
        s = time_op(run_gemm_split, &g, &sp);
        report(nm, M, lin[i].k, lin[i].n, 1, s, sp);
      }
    }
    snprintf(nm, sizeof nm, "%s_dW", lin[i].name);
    if (want(only, nm)) {
      gemm_ctx g = {CblasTrans, CblasNoTrans, lin[i].n, lin[i].k, M, G, X, Cw};
      double s = time_op(run_gemm, &g, &sp);
      report(nm, lin[i].n, lin[i].k, M, 1, s, sp);
      if (split) {
        strcat(nm, "_split");
        s = time_op(run_gemm_split, &g, &sp);
        report(nm, lin[i].n, lin[i].k, M, 1, s, sp);
      }
    }
  }

  /* attention, one call per (image, head) */
  const int NH = batch * H;
  float *Q = alloc_fill((size_t)NH * T * DH, 6), *K = alloc_fill((size_t)NH * T * DH, 7);
  float *V = alloc_fill((size_t)NH * T * DH, 8), *S = alloc_fill((size_t)NH * T * T, 9);
  float *O = alloc_fill((size_t)NH * T * DH, 10);
  const char *modename[3] = {"", "_ompfor", "_ompfor_b1"};
  for (int mode = 0; mode < (omp_heads ? 3 : 1); mode++) {
    for (int which = 0; which < 2; which++) {
      char nm[64];
      snprintf(nm, sizeof nm, "%s%s", which == 0 ? "attn_qk" : "attn_pv", modename[mode]);
      if (!want(only, nm)) continue;
      heads_ctx h = {NH, T, DH, which, mode, Q, K, V, S, O};
      double s = time_op(run_heads, &h, &sp);
      if (which == 0) report(nm, T, T, DH, NH, s, sp);
      else report(nm, T, DH, T, NH, s, sp);
    }
  }

  if (mixed && want(only, "mlp")) {
    float *Hb = alloc_fill((size_t)M * HID, 14), *Gb = alloc_fill((size_t)M * HID, 15);
    float *Yb = alloc_fill((size_t)M * D, 16);
    /* the gelu input of the omp-only timing: a real fc1 output */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, HID, D, 1.0f, X, D, W, D, 0.0f, Hb, HID);
    mlp_ctx c = {M, D, HID, X, W, W, Hb, Gb, Yb, 0};
    double s_all = time_op(run_mlp, &c, &sp);
    report("mlp_seq", M, HID, D, 2, s_all, sp);
    c.part = 1;
    double s_omp = time_op(run_mlp, &c, &sp);
    printf("%-22s %5d %5d %5s %4s %10.3f %8s %6.1f%%\n", "mlp_omp_only", M, HID, "-", "-", s_omp * 1e3, "-",
           sp * 100.0);
    gemm_ctx g1 = {CblasNoTrans, CblasTrans, M, HID, D, X, W, Hb};
    gemm_ctx g2 = {CblasNoTrans, CblasTrans, M, D, HID, Gb, W, Yb};
    double s1 = time_op(run_gemm, &g1, &sp), s2 = time_op(run_gemm, &g2, &sp);
    printf("%-22s %5d %5d %5s %4s %10.3f %8s %7s\n", "mlp_parts_sum", M, HID, "-", "-", (s1 + s2 + s_omp) * 1e3, "-",
           "-");
    printf("# mlp: sequence %.3f ms vs parts fc1 %.3f + fc2 %.3f + omp %.3f = %.3f ms (overhead %+.1f%%)\n", s_all * 1e3,
           s1 * 1e3, s2 * 1e3, s_omp * 1e3, (s1 + s2 + s_omp) * 1e3, (s_all / (s1 + s2 + s_omp) - 1.0) * 100.0);
    free(Hb);
    free(Gb);
    free(Yb);
  }

  if (want(only, "square")) {
    const int n = 2048;
    float *A = alloc_fill((size_t)n * n, 11), *B = alloc_fill((size_t)n * n, 12), *Cs = alloc_fill((size_t)n * n, 13);
    gemm_ctx g = {CblasNoTrans, CblasNoTrans, n, n, n, A, B, Cs};
    double s = time_op(run_gemm, &g, &sp);
    report("square_2048", n, n, n, 1, s, sp);
    free(A);
    free(B);
    free(Cs);
  }
  free(X);
  free(G);
  free(W);
  free(C);
  free(Cw);
  free(Q);
  free(K);
  free(V);
  free(S);
  free(O);
  return 0;
}
