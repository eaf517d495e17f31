/* Mixed-precision training (amod_vit_set_precision bf16 with gradients): the linear layers'
 * backward products in bfloat16 against float32 (kernels/linear_packed.c), and a whole
 * model's gradients, dense and A-MoD, against its float32 gradients within a stated bound.
 * On a CPU without AVX-512 BF16 (or a build without oneDNN) the setting must be refused with
 * a reason instead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/linear_packed.h"
#include "test_support.h"

/* bfloat16 keeps 8 significant bits: each rounded operand is off by up to 2^-9 relative, and
 * the errors of independent terms partly cancel in a sum. Measured (Zen 4, 2026-12-02): 2.1e-3
 * relative l2 for the products of zero-mean operands, below 1e-2 for every gradient tensor of
 * the fixture; the bounds leave 2.5x and 3x of room. */
#define PRODUCT_BOUND 5e-3
#define GRAD_BOUND 3e-2

static double rel_l2(const float *a, const float *ref, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = (double)a[i] - ref[i];
        d += e * e, r += (double)ref[i] * ref[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

/* Uniform in [-1, 1) from a 64-bit LCG: zero-mean operands, as activations and gradients are. */
static float *random_floats(size_t n, unsigned seed) {
    float *x = malloc(n * sizeof *x);
    unsigned long long s = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) * (1.0 / 8388608.0)) - 1.0f;
    }
    return x;
}

/* One linear layer's backward, bf16 against float32, on shapes that are not multiples of
 * anything; dw and db accumulate across two calls. */
static void check_products(linear_engine *e) {
    const int shapes[][3] = {{37, 24, 40}, {197, 64, 192}, {5, 48, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int rows = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
        const size_t ni = (size_t)rows * n_in, no = (size_t)rows * n_out, nw = (size_t)n_in * n_out;
        float *dout = random_floats(no, 1), *in = random_floats(ni, 2), *w = random_floats(nw, 3);
        float *din = calloc(ni, sizeof *din), *dw = calloc(nw, sizeof *dw), *db = calloc(n_out, sizeof *db);
        float *din_ref = calloc(ni, sizeof *din), *dw_ref = calloc(nw, sizeof *dw), *db_ref = calloc(n_out, sizeof *db);
        float *work = malloc(linear_bf16_work_floats(rows, n_in, n_out) * sizeof *work);
        const linear_bf16_operands x = {.dout = dout, .in = in};
        for (int call = 0; call < 2; call++) {
            CHECK(linear_bf16_backward(e, din, dw, db, &x, w, rows, n_in, n_out, work) == 0,
                  "bf16 backward refused %dx%dx%d", rows, n_in, n_out);
            linear_backward(din_ref, dw_ref, db_ref, dout, in, w, rows, n_in, n_out, 0);
        }
        const double ex = rel_l2(din, din_ref, ni), ew = rel_l2(dw, dw_ref, nw), eb = rel_max_err(db, db_ref, n_out);
        printf("rows %d, %d -> %d: din rel l2 %.2e, dw %.2e, db %.2e\n", rows, n_in, n_out, ex, ew, eb);
        CHECK(ex < PRODUCT_BOUND && ex > 0, "din rel err %g (bound %g; 0 means it ran in float32)", ex, PRODUCT_BOUND);
        CHECK(ew < PRODUCT_BOUND && ew > 0, "dw rel err %g (bound %g)", ew, PRODUCT_BOUND);
        CHECK(eb < 1e-5, "db is summed in float32: rel err %g", eb);
        /* only what was asked for: no din, no db */
        float *dw_only = calloc(nw, sizeof *dw_only);
        CHECK(linear_bf16_backward(e, NULL, dw_only, NULL, &x, w, rows, n_in, n_out, work) == 0, "dw only");
        for (size_t i = 0; i < nw; i++) dw_only[i] *= 2.0f;
        CHECK(rel_l2(dw_only, dw, nw) < 1e-6, "dw alone, doubled, against two accumulations: rel err %g",
              rel_l2(dw_only, dw, nw));
        free(dw_only);
        free(dout), free(in), free(w), free(din), free(dw), free(db), free(din_ref), free(dw_ref), free(db_ref);
        free(work);
    }
}

/* The operands given in bfloat16 (as the training forward keeps them) give the same bits as
 * the float32 operands rounded inside; the same for the bf16 forward, GELU's output stored in
 * bfloat16, and GELU's backward fused with the rounding and the bias sums. */
static void check_kept_operands(linear_engine *e) {
    const int rows = 37, n_in = 24, n_out = 40;
    const size_t ni = (size_t)rows * n_in, no = (size_t)rows * n_out, nw = (size_t)n_in * n_out;
    float *dout = random_floats(no, 7), *in = random_floats(ni, 8), *w = random_floats(nw, 9);
    uint16_t *in16 = malloc(ni * sizeof *in16), *dout16 = malloc(no * sizeof *dout16);
    bf16_from_floats(in16, in, ni);
    bf16_from_floats(dout16, dout, no);
    float *work = malloc(linear_bf16_work_floats(rows, n_in, n_out) * sizeof *work);
    float *din[2], *dw[2], *out[2];
    for (int v = 0; v < 2; v++) {
        din[v] = calloc(ni, sizeof(float)), dw[v] = calloc(nw, sizeof(float)), out[v] = calloc(no, sizeof(float));
        const linear_bf16_operands x = v ? (linear_bf16_operands){.dout16 = dout16, .in16 = in16}
                                         : (linear_bf16_operands){.dout = dout, .in = in};
        CHECK(linear_bf16_backward(e, din[v], dw[v], NULL, &x, w, rows, n_in, n_out, work) == 0, "backward %d", v);
        /* the forward: out[rows, n_out] = in w'^T with w' [n_out, n_in] = w read as such */
        const int rc = v ? linear_packed_forward16(e, out[v], in16, w, NULL, NULL, LINEAR_BIAS, rows, n_in, n_out)
                         : linear_packed_forward(e, out[v], in, w, NULL, NULL, LINEAR_BIAS, LINEAR_BF16, rows, n_in,
                                                 n_out);
        CHECK(rc == 0, "forward %d", v);
    }
    CHECK(!memcmp(din[0], din[1], ni * sizeof(float)), "din from bf16 operands differs");
    CHECK(!memcmp(dw[0], dw[1], nw * sizeof(float)), "dw from bf16 operands differs");
    CHECK(!memcmp(out[0], out[1], no * sizeof(float)), "forward from a bf16 input differs");
    /* db needs the float32 gradient; a half-given operand is refused */
    float *db = calloc(n_out, sizeof *db);
    CHECK(linear_bf16_backward(e, NULL, dw[0], db, &(linear_bf16_operands){.dout16 = dout16, .in16 = in16}, w, rows,
                               n_in, n_out, work) == -1, "db from a bf16 gradient accepted");
    CHECK(linear_bf16_backward(e, din[0], dw[0], NULL, &(linear_bf16_operands){.dout = dout}, w, rows, n_in, n_out,
                               work) == -1, "dw without an input accepted");
    for (int v = 0; v < 2; v++) free(din[v]), free(dw[v]), free(out[v]);

    /* GELU: x spread over [-4, 4), a size that is no multiple of a vector */
    const int gr = 53, gc = 77;
    const size_t gn = (size_t)gr * gc;
    float *x = random_floats(gn, 10), *g = malloc(gn * sizeof *g), *dg = random_floats(gn, 11);
    float *dx = malloc(gn * sizeof *dx), *db_ref = calloc(gc, sizeof *db_ref), *db_fused = calloc(gc, sizeof *db_fused);
    uint16_t *a16 = malloc(gn * sizeof *a16), *b16 = malloc(gn * sizeof *b16);
    for (size_t i = 0; i < gn; i++) x[i] *= 4.0f;
    gelu_forward(g, x, gn);
    bf16_from_floats(a16, g, gn);
    gelu_forward_bf16(b16, x, gn);
    CHECK(!memcmp(a16, b16, gn * sizeof *a16), "GELU stored in bf16 differs from GELU rounded");
    gelu_backward(dx, dg, x, gn);
    bf16_from_floats(a16, dx, gn);
    for (int r = 0; r < gr; r++)
        for (int c = 0; c < gc; c++) db_ref[c] += dx[(size_t)r * gc + c];
    gelu_backward_bf16_sums(b16, db_fused, dg, x, gr, gc);
    CHECK(!memcmp(a16, b16, gn * sizeof *a16), "fused GELU backward: bf16 gradient differs");
    CHECK(!memcmp(db_ref, db_fused, gc * sizeof *db_ref), "fused GELU backward: bias sums differ");
    free(x), free(g), free(dg), free(dx), free(db_ref), free(db_fused), free(a16), free(b16);
    free(dout), free(in), free(w), free(in16), free(dout16), free(work), free(db);
}

/* The model's gradient for one batch, at the precision set. */
static void gradient(amod_vit *m, const float *x, const int64_t *y, int B, float *g, float *loss) {
    amod_error err;
    amod_vit_set_grad_enabled(m, 1);
    amod_vit_zero_grad(m);
    CHECK(amod_vit_forward(m, x, B, y, NULL, loss, &err) == 0, "forward: %s", err.msg);
    CHECK(amod_vit_backward(m, &err) == 0, "backward: %s", err.msg);
    memcpy(g, amod_vit_grads(m), amod_vit_num_params(m) * sizeof *g);
}

/* Every parameter tensor's bf16 gradient within GRAD_BOUND (relative l2) of float32's. */
static void check_model(amod_vit *m, const char *what, const float *x, const int64_t *y, int B) {
    amod_error err;
    const size_t np = amod_vit_num_params(m);
    float *g32 = malloc(np * sizeof *g32), *g16 = malloc(np * sizeof *g16);
    float l32, l16;
    CHECK(amod_vit_set_precision(m, AMOD_PRECISION_F32, &err) == 0, "f32: %s", err.msg);
    gradient(m, x, y, B, g32, &l32);
    CHECK(amod_vit_set_precision(m, AMOD_PRECISION_BF16, &err) == 0, "bf16: %s", err.msg);
    gradient(m, x, y, B, g16, &l16);
    CHECK(fabsf(l16 - l32) < 2e-2f * fabsf(l32), "%s: bf16 loss %g vs f32 %g", what, l16, l32);
    double worst = 0, total = rel_l2(g16, g32, np);
    const char *worst_name = "";
    for (int t = 0; t < amod_vit_num_tensors(m); t++) {
        int64_t shape[4];
        const char *name = amod_vit_tensor_name(m, t);
        const size_t off = amod_vit_tensor_offset(m, t);
        const int nd = amod_vit_tensor_shape(m, t, shape);
        size_t n = 1;
        for (int d = 0; d < nd; d++) n *= (size_t)shape[d];
        double ref = 0;
        for (size_t i = 0; i < n; i++) ref += (double)g32[off + i] * g32[off + i];
        if (sqrt(ref) < 1e-6) continue; /* a gradient that is zero in exact arithmetic */
        const double e = rel_l2(g16 + off, g32 + off, n);
        if (e > worst) worst = e, worst_name = name;
    }
    printf("%s: loss f32 %.6f bf16 %.6f; gradient rel l2 %.2e overall, worst tensor %.2e (%s)\n", what, l32, l16,
           total, worst, worst_name);
    CHECK(worst < GRAD_BOUND, "%s: %s's bf16 gradient rel err %g (bound %g)", what, worst_name, worst, GRAD_BOUND);
    CHECK(total > 0, "%s: bf16 gradient identical to float32 (the products ran in float32)", what);
    CHECK(amod_vit_set_precision(m, AMOD_PRECISION_F32, &err) == 0, "back to f32: %s", err.msg);
    free(g32), free(g16);
}

int main(void) {
    amod_error err;
    amod_vit *m = amod_vit_load(fixture_path("vit_timm_tiny"), &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return test_summary("test_bf16_training");
    if (amod_vit_set_precision(m, AMOD_PRECISION_BF16, &err) != 0) {
        printf("bf16 refused: %s\n", err.msg);
        CHECK(strstr(err.msg, "bf16 needs") != NULL, "unclear refusal: %s", err.msg);
        amod_vit_free(m);
        return test_summary("test_bf16_training");
    }
    linear_engine *e = linear_engine_create();
    CHECK(e != NULL, "bf16 accepted without a oneDNN engine");
    if (e) check_products(e);
    if (e) check_kept_operands(e);
    linear_engine_free(e);

    const amod_vit_config *c = amod_vit_get_config(m);
    enum { B = 4 };
    const size_t nx = (size_t)B * c->in_chans * c->img_size * c->img_size;
    float *x = random_floats(nx, 5);
    int64_t y[B];
    for (int b = 0; b < B; b++) y[b] = (b * 3) % c->num_classes;
    check_model(m, "dense", x, y, B);
    amod_mod_config mod = {0};
    mod.router = AMOD_ROUTER_ATTENTION;
    mod.capacity = 0.5f;
    for (int l = 1; l < c->depth; l += 2) mod.is_mod[l] = 1;
    CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
    check_model(m, "A-MoD C=0.5", x, y, B);
    free(x);
    amod_vit_free(m);
    return test_summary("test_bf16_training");
}
