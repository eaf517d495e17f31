/* The bf16 / float32 rate of oneDNN's matmul on DeiT-Tiny's four linear shapes, 2 threads, rows split (amod's scheme), weights prepacked.
 * gcc -O2 -fopenmp bf16peak.c -ldnnl -o bf16peak && ./bf16peak 3152 20   (2026-12-04, Zen 4: f32 208-218, bf16 419-431 GFLOP/s) */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %s: %d\n", #x, s_); exit(1);} } while (0)
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+1e-9*t.tv_nsec;}
dnnl_engine_t eng;
typedef struct { dnnl_primitive_t p; dnnl_memory_t s,w,d,sp; } mm;
static mm make(int M,int N,int K,dnnl_data_type_t dt){
  dnnl_memory_desc_t s,w,wa,d; dnnl_dims_t sd={M,K},wd={K,N},dd={M,N};
  CK(dnnl_memory_desc_init_by_tag(&s,2,sd,dt,dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&wa,2,wd,dt,dnnl_format_tag_any));
  CK(dnnl_memory_desc_init_by_tag(&d,2,dd,dnnl_f32,dnnl_ab));
  dnnl_matmul_desc_t md; CK(dnnl_matmul_desc_init(&md,&s,&wa,NULL,&d));
  dnnl_primitive_attr_t attr; CK(dnnl_primitive_attr_create(&attr));
  CK(dnnl_primitive_attr_set_scratchpad_mode(attr,dnnl_scratchpad_mode_user));
  dnnl_primitive_desc_t pd; CK(dnnl_primitive_desc_create(&pd,&md,attr,eng,NULL));
  mm r; w=*dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0);
  const dnnl_memory_desc_t *spd=dnnl_primitive_desc_query_md(pd,dnnl_query_scratchpad_md,0);
  CK(dnnl_memory_create(&r.s,&s,eng,DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&r.w,&w,eng,DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&r.d,&d,eng,DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&r.sp,spd,eng,DNNL_MEMORY_ALLOCATE));
  void *h; dnnl_memory_get_data_handle(r.s,&h); memset(h,0,dnnl_memory_desc_get_size(&s));
  dnnl_memory_get_data_handle(r.w,&h); memset(h,0,dnnl_memory_desc_get_size(&w));
  CK(dnnl_primitive_create(&r.p,pd)); dnnl_primitive_desc_destroy(pd); dnnl_primitive_attr_destroy(attr);
  return r;
}
int main(int argc,char**argv){
  int Mt=atoi(argv[1]); int iters=atoi(argv[2]);
  CK(dnnl_engine_create(&eng,dnnl_cpu,0));
  int shapes[4][2]={{576,192},{192,192},{768,192},{192,768}};
  const char*nm[4]={"qkv","proj","fc1","fc2"};
  for(int rep=0;rep<3;rep++) for(int pr=0;pr<2;pr++){
    dnnl_data_type_t dt=pr?dnnl_bf16:dnnl_f32; double fl=0,tt=0;
    printf("%s:",pr?"bf16":"f32 ");
    for(int si=0;si<4;si++){
      int N=shapes[si][0],K=shapes[si][1];
      mm m[2];
      for(int t=0;t<2;t++) m[t]=make(Mt,N,K,dt);
      double best=1e9;
      for(int r=0;r<3;r++){
      double t0=now();
      #pragma omp parallel num_threads(2)
      { int t=omp_get_thread_num(); dnnl_stream_t st; dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
        dnnl_exec_arg_t a[4]={{DNNL_ARG_SRC,m[t].s},{DNNL_ARG_WEIGHTS,m[t].w},{DNNL_ARG_DST,m[t].d},{DNNL_ARG_SCRATCHPAD,m[t].sp}};
        for(int it=0;it<iters;it++){ dnnl_primitive_execute(m[t].p,st,4,a);} dnnl_stream_wait(st); dnnl_stream_destroy(st);}
      double dt_=(now()-t0)/iters; if(dt_<best)best=dt_;}
      double f=2.0*Mt*2*N*K; printf(" %s %.0f",nm[si],f/best*1e-9); fl+=f; tt+=best;
      for(int t=0;t<2;t++){dnnl_primitive_destroy(m[t].p);dnnl_memory_destroy(m[t].s);dnnl_memory_destroy(m[t].w);dnnl_memory_destroy(m[t].d);dnnl_memory_destroy(m[t].sp);}
    }
    printf("  all %.0f GFLOP/s\n",fl/tt*1e-9);
  }
}
