/* onednn_packed: one linear product of DeiT-Tiny's shapes, as a plain sgemm (dnnl_sgemm, which
 * packs the weights on every call) against oneDNN's matmul primitive with the weights packed
 * once (what kernels/linear_packed.c does), both with the rows split over the OpenMP threads.
 *
 *   onednn_packed N K ROWS_PER_THREAD ITERS      e.g. onednn_packed 768 192 98 300
 *
 * Prints GFLOP/s of each and the time of one weight reorder (packing). Built with amod when
 * oneDNN is found. */
#ifndef AMOD_HAVE_ONEDNN
#include <stdio.h>
int main(void) {
    fprintf(stderr, "onednn_packed: this build has no oneDNN\n");
    return 1;
}
#else
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %s: %d\n", #x, s_); exit(1);} } while (0)
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+1e-9*t.tv_nsec;}
dnnl_engine_t eng;
typedef struct { dnnl_primitive_t p; dnnl_memory_desc_t wmd; size_t scratch; } mm;
static mm make(int M, int N, int K, int gelu, int any) {
  dnnl_memory_desc_t s, w, b, d; dnnl_dims_t sd = {M, K}, wd = {K, N}, bd = {1, N}, dd = {M, N};
  CK(dnnl_memory_desc_init_by_tag(&s, 2, sd, dnnl_f32, dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&w, 2, wd, dnnl_f32, any ? dnnl_format_tag_any : dnnl_ba));
  CK(dnnl_memory_desc_init_by_tag(&b, 2, bd, dnnl_f32, dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&d, 2, dd, dnnl_f32, dnnl_ab));
  dnnl_matmul_desc_t md; CK(dnnl_matmul_desc_init(&md, &s, &w, &b, &d));
  dnnl_primitive_attr_t attr; CK(dnnl_primitive_attr_create(&attr));
  CK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  if (gelu) { dnnl_post_ops_t po; CK(dnnl_post_ops_create(&po)); CK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0, 0)); CK(dnnl_primitive_attr_set_post_ops(attr, po)); dnnl_post_ops_destroy(po); }
  dnnl_primitive_desc_t pd; CK(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
  mm r; r.wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  r.scratch = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
  const char *impl; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  printf("  M=%d impl %s scratch %zu wsize %zu\n", M, impl, r.scratch, dnnl_memory_desc_get_size(&r.wmd));
  CK(dnnl_primitive_create(&r.p, pd)); dnnl_primitive_desc_destroy(pd); dnnl_primitive_attr_destroy(attr);
  return r;
}
int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: onednn_packed N K ROWS_PER_THREAD ITERS\n"); return 2; }
  int N = atoi(argv[1]), K = atoi(argv[2]), Mt = atoi(argv[3]); int iters = atoi(argv[4]);
  CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
  int T = 2, M = Mt * T;
  float *A = malloc((size_t)M*K*4), *W = malloc((size_t)N*K*4), *B = malloc(N*4), *C = malloc((size_t)M*N*4);
  for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (i % 13) * 0.1f;
  for (int i = 0; i < N * K; i++) W[i] = (i % 7) * 0.1f;
  for (int i = 0; i < N; i++) B[i] = 0.5f;
  /* (a) sgemm split */
  double t0 = now();
  for (int it = 0; it < iters; it++) {
#pragma omp parallel num_threads(T)
    { int t = omp_get_thread_num(); float *c = C + (size_t)t*Mt*N; for (int r = 0; r < Mt; r++) memcpy(c + (size_t)r*N, B, N*4);
      dnnl_sgemm('N','T', Mt, N, K, 1.0f, A + (size_t)t*Mt*K, K, W, K, 1.0f, c, N); }
  }
  double ta = (now()-t0)/iters;
  /* (b) primitive prepacked per thread */
  mm p = make(Mt, N, K, 0, 1);
  dnnl_memory_desc_t wu; dnnl_dims_t wd = {K, N}; CK(dnnl_memory_desc_init_by_tag(&wu, 2, wd, dnnl_f32, dnnl_ba));
  dnnl_memory_t wsrc, wdst; CK(dnnl_memory_create(&wsrc, &wu, eng, W)); CK(dnnl_memory_create(&wdst, &p.wmd, eng, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_t rpd; CK(dnnl_reorder_primitive_desc_create(&rpd, &wu, eng, &p.wmd, eng, NULL)); dnnl_primitive_t rp; CK(dnnl_primitive_create(&rp, rpd));
  dnnl_stream_t st0; CK(dnnl_stream_create(&st0, eng, dnnl_stream_default_flags));
  dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wsrc}, {DNNL_ARG_TO, wdst}}; CK(dnnl_primitive_execute(rp, st0, 2, ra)); CK(dnnl_stream_wait(st0));
  double tr0 = now(); for (int i = 0; i < 20; i++) { CK(dnnl_primitive_execute(rp, st0, 2, ra)); CK(dnnl_stream_wait(st0)); } double treorder = (now()-tr0)/20;
  dnnl_memory_desc_t sd_, bd_, dd_; dnnl_dims_t s2 = {Mt, K}, b2 = {1, N}, d2 = {Mt, N};
  dnnl_memory_desc_init_by_tag(&sd_, 2, s2, dnnl_f32, dnnl_ab); dnnl_memory_desc_init_by_tag(&bd_, 2, b2, dnnl_f32, dnnl_ab); dnnl_memory_desc_init_by_tag(&dd_, 2, d2, dnnl_f32, dnnl_ab);
  t0 = now();
  for (int it = 0; it < iters + 1; it++) {
    if (it == 1) t0 = now();
#pragma omp parallel num_threads(T)
    { int t = omp_get_thread_num();
      static __thread dnnl_stream_t st; static __thread dnnl_memory_t ms, mb, md, msc; static __thread void *sc;
      if (!st) { dnnl_stream_create(&st, eng, dnnl_stream_default_flags); dnnl_memory_create(&ms, &sd_, eng, DNNL_MEMORY_NONE); dnnl_memory_create(&mb, &bd_, eng, B); dnnl_memory_create(&md, &dd_, eng, DNNL_MEMORY_NONE);
        dnnl_memory_desc_t scd; dnnl_dims_t sdims = {(dnnl_dim_t)p.scratch}; dnnl_memory_desc_init_by_tag(&scd, 1, sdims, dnnl_u8, dnnl_a); sc = malloc(p.scratch + 64); dnnl_memory_create(&msc, &scd, eng, sc); }
      dnnl_memory_set_data_handle(ms, A + (size_t)t*Mt*K); dnnl_memory_set_data_handle(md, C + (size_t)t*Mt*N);
      dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, wdst}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}, {DNNL_ARG_SCRATCHPAD, msc}};
      dnnl_primitive_execute(p.p, st, 5, args); dnnl_stream_wait(st); }
  }
  double tb = (now()-t0)/iters;
  double fl = 2.0*M*N*K;
  printf("N=%d K=%d M=%d: sgemm split %.1f GFLOP/s, primitive prepacked split %.1f GFLOP/s, reorder %.1f us\n", N, K, M, fl/ta*1e-9, fl/tb*1e-9, treorder*1e6);
  return 0;
}
#endif
