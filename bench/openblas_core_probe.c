/* openblas_core_probe: which OpenBLAS core does a process end up with, and
 * which ways of escaping an inherited OPENBLAS_CORETYPE work?
 *
 *   openblas_core_probe [--reinit] [--reexec] [--time]
 *
 * AMOD_PROBE_CTOR_UNSET=1  a constructor(101) in this executable unsets
 *                          OPENBLAS_CORETYPE (does it run before OpenBLAS's
 *                          own constructor?  Only when OpenBLAS is linked
 *                          statically, see docs/BENCHMARKS_TORCH_NOTES.md)
 * --reinit   unsetenv + gotoblas_dynamic_quit() + gotoblas_dynamic_init()
 *            (DYNAMIC_ARCH builds export both), then restore the variable
 * --reexec   if OPENBLAS_CORETYPE is set, unset it and execv(/proc/self/exe)
 * --time     time one 6304x768x192 sgemm (fc1 at batch 32), median of 9
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#pragma weak openblas_get_corename
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static char g_seen_in_ctor[64] = "(ctor not run)";

__attribute__((constructor(101))) static void early(void) {
  const char *v = getenv("OPENBLAS_CORETYPE");
  snprintf(g_seen_in_ctor, sizeof g_seen_in_ctor, "%s", v ? v : "(unset)");
  const char *u = getenv("AMOD_PROBE_CTOR_UNSET");
  if (u && *u == '1') unsetenv("OPENBLAS_CORETYPE");
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int reinit = 0, reexec = 0, timeit = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reinit")) reinit = 1;
    else if (!strcmp(argv[i], "--reexec")) reexec = 1;
    else if (!strcmp(argv[i], "--time")) timeit = 1;
  }
  const char *ct = getenv("OPENBLAS_CORETYPE");
  if (reexec && ct) {
    unsetenv("OPENBLAS_CORETYPE");
    setenv("AMOD_PROBE_REEXECED", ct, 1);
    execv("/proc/self/exe", argv);
    perror("execv");
  }
  printf("ctor saw OPENBLAS_CORETYPE=%s; main sees %s; reexeced-from=%s\n", g_seen_in_ctor, ct ? ct : "(unset)",
         getenv("AMOD_PROBE_REEXECED") ? getenv("AMOD_PROBE_REEXECED") : "-");
  printf("core at main: %s\n", openblas_get_corename ? openblas_get_corename() : "?");
  if (reinit) {
    if (gotoblas_dynamic_quit && gotoblas_dynamic_init) {
      char saved[64] = "";
      if (ct) snprintf(saved, sizeof saved, "%s", ct);
      unsetenv("OPENBLAS_CORETYPE");
      gotoblas_dynamic_quit();
      gotoblas_dynamic_init();
      if (saved[0]) setenv("OPENBLAS_CORETYPE", saved, 1);
      printf("core after reinit: %s\n", openblas_get_corename ? openblas_get_corename() : "?");
    } else {
      printf("reinit: gotoblas_dynamic_* not exported (not a DYNAMIC_ARCH build)\n");
    }
  }
  if (timeit) {
    const int m = 6304, n = 768, k = 192;
    float *a = calloc((size_t)m * k, 4), *b = calloc((size_t)n * k, 4), *c = calloc((size_t)m * n, 4);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)n * k; i++) b[i] = (float)(i % 5) * 0.1f;
    double t[9];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
    for (int r = 0; r < 9; r++) {
      double t0 = now_s();
      for (int j = 0; j < 4; j++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
      t[r] = (now_s() - t0) / 4;
    }
    qsort(t, 9, sizeof t[0], cmp);
    double maxerr = 0.0;
    for (int s = 0; s < 200; s++) {
      int i = (s * 7919) % m, j = (s * 104729) % n;
      double ref = 0.0;
      for (int l = 0; l < k; l++) ref += (double)a[(size_t)i * k + l] * b[(size_t)j * k + l];
      double e = ref - c[(size_t)i * n + j];
      if (e < 0) e = -e;
      if (e > maxerr) maxerr = e;
    }
    printf("fc1 6304x768x192: %.1f GFLOP/s (median of 9), max abs error vs double on 200 entries %.2e\n",
           2.0 * m * n * k / t[4] * 1e-9, maxerr);
    free(a);
    free(b);
    free(c);
  }
  return 0;
}
