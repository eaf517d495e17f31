#include "kernels/linear_packed.h"

#include <stdlib.h>
#include <string.h>

#include "core/signals.h"
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

#ifndef AMOD_HAVE_ONEDNN

linear_engine *linear_engine_create(void) { return NULL; }
void linear_engine_free(linear_engine *e) { (void)e; }
void linear_engine_weights_changed(linear_engine *e) { (void)e; }
void linear_engine_forget(linear_engine *e) { (void)e; }
void linear_engine_refresh(linear_engine *e) { (void)e; }
int linear_packed_forward(linear_engine *e, float *out, const float *in, const float *w, const float *b,
                          const float *residual, linear_epilogue epi, linear_precision prec, int rows, int n_in,
                          int n_out) {
    (void)e, (void)out, (void)in, (void)w, (void)b, (void)residual, (void)epi, (void)prec, (void)rows, (void)n_in,
        (void)n_out;
    return -1;
}
int linear_packed_forward16(linear_engine *e, float *out, const uint16_t *in16, const float *w, const float *b,
                            const float *residual, linear_epilogue epi, int rows, int n_in, int n_out) {
    (void)e, (void)out, (void)in16, (void)w, (void)b, (void)residual, (void)epi, (void)rows, (void)n_in, (void)n_out;
    return -1;
}
int linear_bf16_prepare(linear_engine *e, int rows, int n_in, int n_out) {
    (void)e, (void)rows, (void)n_in, (void)n_out;
    return -1;
}
int linear_bf16_backward(linear_engine *e, float *din, float *dw, float *db, const linear_bf16_operands *x,
                         const float *w, int rows, int n_in, int n_out, float *work) {
    (void)e, (void)din, (void)dw, (void)db, (void)x, (void)w, (void)rows, (void)n_in, (void)n_out, (void)work;
    return -1;
}
size_t linear_bf16_work_floats(int rows, int n_in, int n_out) {
    (void)rows, (void)n_in, (void)n_out;
    return 0;
}

#else

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>

/* A weight matrix in the layout a primitive asked for. */
typedef struct {
    const float *w;
    int n_in, n_out;
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    unsigned long version; /* the engine's version when packed */
} packed_weight;

/* What a primitive computes: a layer's forward, or one of its backward products. */
enum { PRIM_FORWARD, PRIM_BACKWARD_DATA, PRIM_BACKWARD_WEIGHTS };

/* A matmul for one shape, product, epilogue and precision. */
typedef struct {
    int kind, rows, n_in, n_out, bias, epi, bf16;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src, wei, bia, dst;
    size_t scratch;
} matmul_prim;

/* Fixed tables, never moved: the threads of a parallel region look entries up without the
 * lock (an entry is complete before the count that publishes it); only a miss takes the lock.
 * A lock taken on every call made threads sleep on it, and waking a sleeping vCPU cost a whole
 * scheduler tick (4 ms) at batch 1. */
#define MAX_PACKS 1024
#define MAX_PRIMS 512

struct linear_engine {
    dnnl_engine_t eng;
    pthread_mutex_t mu;
    unsigned long version;
    packed_weight packs[MAX_PACKS];
    int n_packs;
    matmul_prim prims[MAX_PRIMS];
    int n_prims;
};

linear_engine *linear_engine_create(void) {
    if (amod_gemm_active()->backend != AMOD_GEMM_ONEDNN) return NULL;
    linear_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (dnnl_engine_create(&e->eng, dnnl_cpu, 0) != dnnl_success) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    e->version = 1;
    return e;
}

void linear_engine_free(linear_engine *e) {
    if (!e) return;
    for (int i = 0; i < e->n_packs; i++) dnnl_memory_destroy(e->packs[i].mem);
    for (int i = 0; i < e->n_prims; i++) dnnl_primitive_destroy(e->prims[i].prim);
    dnnl_engine_destroy(e->eng);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

void linear_engine_weights_changed(linear_engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    __atomic_add_fetch(&e->version, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&e->mu);
}

static int published(const int *count) { return __atomic_load_n(count, __ATOMIC_ACQUIRE); }
static void publish(int *count, int n) { __atomic_store_n(count, n, __ATOMIC_RELEASE); }

static matmul_prim *lookup_prim(linear_engine *e, int kind, int rows, int n_in, int n_out, int bias, int epi,
                                int bf16) {
    const int n = published(&e->n_prims);
    for (int i = 0; i < n; i++) {
        matmul_prim *p = &e->prims[i];
        if (p->kind == kind && p->rows == rows && p->n_in == n_in && p->n_out == n_out && p->bias == bias &&
            p->epi == epi && p->bf16 == bf16)
            return p;
    }
    return NULL;
}

static packed_weight *lookup_pack(linear_engine *e, const float *w, int n_in, int n_out, const dnnl_memory_desc_t *md) {
    const int n = published(&e->n_packs);
    for (int i = 0; i < n; i++) {
        packed_weight *pw = &e->packs[i];
        if (pw->w == w && pw->n_in == n_in && pw->n_out == n_out && dnnl_memory_desc_equal(&pw->md, md)) return pw;
    }
    return NULL;
}

static int md2t(dnnl_memory_desc_t *md, dnnl_dim_t a, dnnl_dim_t b, dnnl_data_type_t dt, dnnl_format_tag_t tag) {
    dnnl_dims_t dims = {a, b};
    return dnnl_memory_desc_init_by_tag(md, 2, dims, dt, tag) == dnnl_success ? 0 : -1;
}

static int md2(dnnl_memory_desc_t *md, dnnl_dim_t a, dnnl_dim_t b, dnnl_format_tag_t tag) {
    return md2t(md, a, b, dnnl_f32, tag);
}

/* The operands of a product: the forward's weights in whatever layout oneDNN prefers (packed
 * once, find_pack); the backward's operands plain, dout^T read through its strides. */
static int prim_descs(matmul_prim *p) {
    const dnnl_data_type_t dt = p->bf16 ? dnnl_bf16 : dnnl_f32;
    switch (p->kind) {
    case PRIM_FORWARD: /* out[rows, n_out] = in[rows, n_in] w^T */
        return md2t(&p->src, p->rows, p->n_in, dt, dnnl_ab) ||
               md2t(&p->wei, p->n_in, p->n_out, dt, dnnl_format_tag_any) || md2(&p->bia, 1, p->n_out, dnnl_ab) ||
               md2(&p->dst, p->rows, p->n_out, dnnl_ab);
    case PRIM_BACKWARD_DATA: /* din[rows, n_in] = dout[rows, n_out] w[n_out, n_in] */
        return md2t(&p->src, p->rows, p->n_out, dt, dnnl_ab) || md2t(&p->wei, p->n_out, p->n_in, dt, dnnl_ab) ||
               md2(&p->dst, p->rows, p->n_in, dnnl_ab);
    default: /* dw[n_out, n_in] += dout^T in[rows, n_in] */
        return md2t(&p->src, p->n_out, p->rows, dt, dnnl_ba) || md2t(&p->wei, p->rows, p->n_in, dt, dnnl_ab) ||
               md2(&p->dst, p->n_out, p->n_in, dnnl_ab);
    }
}

/* Called with the lock held. */
static matmul_prim *find_prim(linear_engine *e, int kind, int rows, int n_in, int n_out, int bias, int epi,
                              int bf16) {
    matmul_prim *found = lookup_prim(e, kind, rows, n_in, n_out, bias, epi, bf16);
    if (found || e->n_prims == MAX_PRIMS) return found;
    matmul_prim p = {
        .kind = kind, .rows = rows, .n_in = n_in, .n_out = n_out, .bias = bias, .epi = epi, .bf16 = bf16};
    dnnl_memory_desc_t res;
    if (prim_descs(&p) || md2(&res, rows, n_out, dnnl_ab)) return NULL;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &p.src, &p.wei, bias ? &p.bia : NULL, &p.dst) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
             /* a scratchpad per call: the same primitive runs on several threads at once */
             dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && kind == PRIM_BACKWARD_WEIGHTS) { /* dw accumulates */
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    } else if (ok && epi != LINEAR_BIAS) {
        ok = dnnl_post_ops_create(&po) == dnnl_success &&
             (epi == LINEAR_BIAS_GELU ? dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0.0f, 0.0f)
                                      : dnnl_post_ops_append_binary(po, dnnl_binary_add, &res)) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    }
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, e->eng, NULL) == dnnl_success;
    if (ok) {
        p.wei = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        p.scratch = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
        ok = dnnl_primitive_create(&p.prim, pd) == dnnl_success;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) return NULL;
    e->prims[e->n_prims] = p;
    publish(&e->n_prims, e->n_prims + 1);
    return &e->prims[e->n_prims - 1];
}

/* Runs a primitive to its end with the asynchronous signals held (core/signals.h). */
static int execute_held(dnnl_primitive_t p, dnnl_stream_t s, int n, const dnnl_exec_arg_t *args) {
    amod_signal_hold hold;
    amod_signals_hold(&hold);
    const int ok = dnnl_primitive_execute(p, s, n, args) == dnnl_success && dnnl_stream_wait(s) == dnnl_success;
    amod_signals_release(&hold);
    return ok;
}

/* Runs a one-off primitive (a reorder) on the calling thread's stream. */
static int run_reorder(linear_engine *e, dnnl_memory_t from, dnnl_memory_t to) {
    const dnnl_memory_desc_t *src, *dst;
    dnnl_memory_get_memory_desc(from, &src);
    dnnl_memory_get_memory_desc(to, &dst);
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, src, e->eng, dst, e->eng, NULL) != dnnl_success) return -1;
    dnnl_primitive_t r;
    dnnl_stream_t s;
    int ok = dnnl_primitive_create(&r, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!ok) return -1;
    ok = dnnl_stream_create(&s, e->eng, dnnl_stream_default_flags) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        ok = execute_held(r, s, 2, args);
        dnnl_stream_destroy(s);
    }
    dnnl_primitive_destroy(r);
    return ok ? 0 : -1;
}

/* The weight in the primitive's layout, packed now when missing or stale. Lock held. */
static dnnl_memory_t find_pack(linear_engine *e, const float *w, int n_in, int n_out, const dnnl_memory_desc_t *md) {
    packed_weight *pw = lookup_pack(e, w, n_in, n_out, md);
    if (!pw) {
        if (e->n_packs == MAX_PACKS) return NULL;
        packed_weight fresh = {.w = w, .n_in = n_in, .n_out = n_out, .md = *md};
        if (dnnl_memory_create(&fresh.mem, md, e->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) return NULL;
        e->packs[e->n_packs] = fresh;
        publish(&e->n_packs, e->n_packs + 1);
        pw = &e->packs[e->n_packs - 1];
    }
    if (__atomic_load_n(&pw->version, __ATOMIC_ACQUIRE) != e->version) {
        dnnl_memory_desc_t user; /* [n_out, n_in] row-major is the K x N matrix with strides (1, K) */
        dnnl_memory_t from;
        if (md2(&user, n_in, n_out, dnnl_ba) ||
            dnnl_memory_create(&from, &user, e->eng, (void *)w) != dnnl_success)
            return NULL;
        int rc = run_reorder(e, from, pw->mem);
        dnnl_memory_destroy(from);
        if (rc) return NULL;
        __atomic_store_n(&pw->version, e->version, __ATOMIC_RELEASE);
    }
    return pw->mem;
}

void linear_engine_forget(linear_engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->n_packs; i++) dnnl_memory_destroy(e->packs[i].mem);
    publish(&e->n_packs, 0);
    pthread_mutex_unlock(&e->mu);
}

void linear_engine_refresh(linear_engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->n_packs; i++) {
        packed_weight *pw = &e->packs[i];
        if (pw->version != e->version) find_pack(e, pw->w, pw->n_in, pw->n_out, &pw->md);
    }
    pthread_mutex_unlock(&e->mu);
}

/* Runs primitive mp on the calling thread's stream: src and dst are plain arrays, the weights
 * either a packed copy (wmem) or a plain array (wei); bias and residual as the primitive has
 * them. oneDNN's scratchpad comes from the stack when small, else from the heap. */
static int execute(linear_engine *e, const matmul_prim *mp, const void *src_data, dnnl_memory_t wmem,
                   const void *wei_data, void *dst_data, const float *b, const float *residual) {
    dnnl_stream_t s;
    if (dnnl_stream_create(&s, e->eng, dnnl_stream_default_flags) != dnnl_success) return -1;
    dnnl_memory_t src = NULL, wei = NULL, dst = NULL, bia = NULL, res = NULL, scr = NULL;
    unsigned char stack_scratch[4096] __attribute__((aligned(64)));
    void *scratch = mp->scratch <= sizeof stack_scratch ? stack_scratch : malloc(mp->scratch);
    dnnl_memory_desc_t scr_md;
    dnnl_dims_t scr_dims = {(dnnl_dim_t)(mp->scratch ? mp->scratch : 1)};
    int ok = scratch && dnnl_memory_create(&src, &mp->src, e->eng, (void *)src_data) == dnnl_success &&
             (wmem || dnnl_memory_create(&wei, &mp->wei, e->eng, (void *)wei_data) == dnnl_success) &&
             dnnl_memory_create(&dst, &mp->dst, e->eng, dst_data) == dnnl_success &&
             (!b || dnnl_memory_create(&bia, &mp->bia, e->eng, (void *)b) == dnnl_success) &&
             (!residual || dnnl_memory_create(&res, &mp->dst, e->eng, (void *)residual) == dnnl_success) &&
             dnnl_memory_desc_init_by_tag(&scr_md, 1, scr_dims, dnnl_u8, dnnl_a) == dnnl_success &&
             dnnl_memory_create(&scr, &scr_md, e->eng, scratch) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[6];
        int n = 0;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, wmem ? wmem : wei};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scr};
        if (bia) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bia};
        if (res) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, res};
        ok = execute_held(mp->prim, s, n, args);
    }
    dnnl_memory_t all[] = {src, wei, dst, bia, res, scr};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]) dnnl_memory_destroy(all[i]);
    if (scratch != stack_scratch) free(scratch);
    dnnl_stream_destroy(s);
    return ok ? 0 : -1;
}

/* The forward product on src, float32 or (bf16) bfloat16 rows. */
static int forward_src(linear_engine *e, float *out, const void *src, int bf16, const float *w, const float *b,
                       const float *residual, linear_epilogue epi, int rows, int n_in, int n_out) {
    if (!e || rows < 1) return rows < 1 ? 0 : -1;
    /* the common case, without the lock: both made before, the pack current */
    matmul_prim *p = lookup_prim(e, PRIM_FORWARD, rows, n_in, n_out, b != NULL, epi, bf16);
    packed_weight *pw = p ? lookup_pack(e, w, n_in, n_out, &p->wei) : NULL;
    dnnl_memory_t wmem = NULL;
    if (pw && __atomic_load_n(&pw->version, __ATOMIC_ACQUIRE) == __atomic_load_n(&e->version, __ATOMIC_ACQUIRE))
        wmem = pw->mem;
    if (!wmem) {
        pthread_mutex_lock(&e->mu);
        p = find_prim(e, PRIM_FORWARD, rows, n_in, n_out, b != NULL, epi, bf16);
        wmem = p ? find_pack(e, w, n_in, n_out, &p->wei) : NULL;
        pthread_mutex_unlock(&e->mu);
    }
    if (!p || !wmem) return -1;
    const matmul_prim mp = *p;
    return execute(e, &mp, src, wmem, NULL, out, b, epi == LINEAR_BIAS_ADD ? residual : NULL);
}

int linear_packed_forward(linear_engine *e, float *out, const float *in, const float *w, const float *b,
                          const float *residual, linear_epilogue epi, linear_precision prec, int rows, int n_in,
                          int n_out) {
    if (prec != LINEAR_BF16) return forward_src(e, out, in, 0, w, b, residual, epi, rows, n_in, n_out);
    if (!e || rows < 1) return rows < 1 ? 0 : -1;
    /* the inputs in bfloat16 for the product (the caller's array stays float32) */
    uint16_t *in16 = malloc((size_t)rows * n_in * sizeof *in16);
    if (!in16) return -1;
    bf16_from_floats(in16, in, (size_t)rows * n_in);
    const int rc = forward_src(e, out, in16, 1, w, b, residual, epi, rows, n_in, n_out);
    free(in16);
    return rc;
}

int linear_packed_forward16(linear_engine *e, float *out, const uint16_t *in16, const float *w, const float *b,
                            const float *residual, linear_epilogue epi, int rows, int n_in, int n_out) {
    return forward_src(e, out, in16, 1, w, b, residual, epi, rows, n_in, n_out);
}

/* ---- mixed-precision backward ---- */

/* bfloat16 values in a run of floats, rounded up to whole cache lines */
static size_t halves_floats(size_t n) { return (n + 31) / 32 * 16; }

size_t linear_bf16_work_floats(int rows, int n_in, int n_out) {
    return halves_floats((size_t)rows * n_out) + halves_floats((size_t)rows * n_in) +
           halves_floats((size_t)n_in * n_out);
}

/* to_bf16 on the threads of a parallel region (the backward's operands are megabytes) */
static void to_bf16_parallel(uint16_t *dst, const float *src, size_t n) {
#pragma omp parallel if (n >= 65536)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const size_t lo = n * t / nt / 16 * 16, hi = t + 1 == nt ? n : n * (t + 1) / nt / 16 * 16;
        bf16_from_floats(dst + lo, src + lo, hi - lo);
    }
}

/* dout to bfloat16 and its column sums into db, in one pass over dout (it is read once, not
 * twice): each thread owns a range of columns, as column_sums_add shares them. */
static void to_bf16_column_sums(uint16_t *dst, float *db, const float *src, int rows, int cols) {
#pragma omp parallel if ((size_t)rows * cols >= 65536)
    {
        int c0, c1;
        kernel_share(cols, &c0, &c1);
        for (int r = 0; r < rows && c1 > c0; r++) {
            const float *row = src + (size_t)r * cols;
            bf16_from_floats(dst + (size_t)r * cols + c0, row + c0, (size_t)(c1 - c0));
#pragma omp simd
            for (int c = c0; c < c1; c++) db[c] += row[c];
        }
    }
}

static matmul_prim *backward_prim(linear_engine *e, int kind, int rows, int n_in, int n_out) {
    matmul_prim *p = lookup_prim(e, kind, rows, n_in, n_out, 0, 0, 1);
    if (p) return p;
    pthread_mutex_lock(&e->mu);
    p = find_prim(e, kind, rows, n_in, n_out, 0, 0, 1);
    pthread_mutex_unlock(&e->mu);
    return p;
}

int linear_bf16_prepare(linear_engine *e, int rows, int n_in, int n_out) {
    if (rows < 1) return 0;
    return e && backward_prim(e, PRIM_BACKWARD_DATA, rows, n_in, n_out) &&
                   backward_prim(e, PRIM_BACKWARD_WEIGHTS, rows, n_in, n_out)
               ? 0
               : -1;
}

int linear_bf16_backward(linear_engine *e, float *din, float *dw, float *db, const linear_bf16_operands *x,
                         const float *w, int rows, int n_in, int n_out, float *work) {
    if (rows < 1) return 0;
    /* each operand once, in one precision; db sums the float32 gradient */
    if (!e || !work || !x->dout == !x->dout16 || (dw && !x->in == !x->in16) || (db && !x->dout)) return -1;
    /* both primitives first: a refusal leaves nothing written */
    const matmul_prim *pd = din ? backward_prim(e, PRIM_BACKWARD_DATA, rows, n_in, n_out) : NULL;
    const matmul_prim *pw = dw ? backward_prim(e, PRIM_BACKWARD_WEIGHTS, rows, n_in, n_out) : NULL;
    if ((din && !pd) || (dw && !pw)) return -1;
    uint16_t *dout16 = (uint16_t *)work;
    uint16_t *in16 = (uint16_t *)(work + halves_floats((size_t)rows * n_out));
    uint16_t *w16 = (uint16_t *)(work + halves_floats((size_t)rows * n_out) + halves_floats((size_t)rows * n_in));
    if (x->dout16)
        dout16 = (uint16_t *)x->dout16; /* only read */
    else if (db)
        to_bf16_column_sums(dout16, db, x->dout, rows, n_out);
    else
        to_bf16_parallel(dout16, x->dout, (size_t)rows * n_out);
    int rc = 0;
    if (din) {
        to_bf16_parallel(w16, w, (size_t)n_in * n_out);
        rc |= execute(e, pd, dout16, NULL, w16, din, NULL, NULL);
    }
    if (dw) {
        if (x->in16)
            in16 = (uint16_t *)x->in16;
        else
            to_bf16_parallel(in16, x->in, (size_t)rows * n_in);
        rc |= execute(e, pw, dout16, NULL, in16, dw, NULL, NULL);
    }
    return rc;
}

#endif
