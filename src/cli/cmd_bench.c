#define _DEFAULT_SOURCE /* wait4 */
/* amod bench: images per second for inference and for a training step (forward, backward,
 * optimizer), dense vs MoD (both routers) vs isoFLOP baselines; median of repeated runs
 * after warm-up, peak memory, achieved GFLOP/s. Each configuration runs in its own child
 * process so its peak memory is its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/vit_config.h"
#include "kernels/gemm.h"
#include "model/flops.h"
#include "model/isoflop.h"
#include "train/optim.h"

static const char *CMD = "bench";

typedef struct {
    char label[64];
    char key[48]; /* the row's name in JSON: dense, mod_attention_c0500, isoflop_depth_c0500 */
    amod_vit_config cfg;
    amod_mod_config mod;
} bench_model;

typedef struct {
    double img_s, ms, gflops, macs; /* macs: multiply-accumulates per image */
    long peak_kb;
    int ok;
} bench_result;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs in the child: builds the model, times `iters` steps after `warmup`, returns the median. */
static int bf16_linear; /* --precision bf16 */

static int measure(const bench_model *bm, const char *gemm, int batch, int threads, int train, int warmup,
                   int iters, double *median_s, amod_error *err) {
    if (gemm && amod_gemm_select(gemm, err)) return -1;
    amod_threads_init(threads);
    amod_vit *m = amod_vit_create(&bm->cfg, 1, err);
    if (!m) return -1;
    int rc = bm->mod.router != AMOD_ROUTER_NONE ? amod_vit_set_mod(m, &bm->mod, err) : 0;
    const amod_vit_config *c = &bm->cfg;
    size_t nx = (size_t)batch * c->in_chans * c->img_size * c->img_size;
    float *x = malloc(nx * sizeof *x), *logits = malloc((size_t)batch * c->num_classes * sizeof *logits);
    int64_t *y = malloc((size_t)batch * sizeof *y);
    double *t = malloc((size_t)iters * sizeof *t);
    amod_rng r;
    rng_seed(&r, 42);
    for (size_t i = 0; i < nx; i++) x[i] = rng_normal(&r);
    for (int b = 0; b < batch; b++) y[b] = (int64_t)(rng_next(&r) % (uint64_t)c->num_classes);
    amod_vit_set_grad_enabled(m, train);
    if (!rc && bf16_linear) rc = amod_vit_set_precision(m, AMOD_PRECISION_BF16, err);
    amod_adamw opt = {0};
    amod_adamw_config oc;
    amod_adamw_config_default(&oc);
    if (train && !rc) rc = amod_adamw_init_vit(&opt, m, &oc, err);
    for (int i = 0; !rc && i < warmup + iters; i++) {
        double t0 = amod_seconds();
        float loss;
        rc = amod_vit_forward(m, x, batch, train ? y : NULL, logits, &loss, err);
        if (!rc && train) {
            amod_vit_zero_grad(m);
            rc = amod_vit_backward(m, err);
            if (!rc) {
                const float *g = amod_vit_grads(m); /* clipped to norm 1 as the update reads it, as training does */
                const float clip = amod_clip_coef(amod_grad_norm(g, amod_vit_num_params(m)), 1.0);
                amod_adamw_step_scaled(&opt, amod_vit_params(m), g, clip, 1e-4f);
            }
        }
        if (i >= warmup) t[i - warmup] = amod_seconds() - t0;
    }
    if (!rc) {
        qsort(t, (size_t)iters, sizeof *t, cmp_double);
        *median_s = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    }
    if (train) amod_adamw_free(&opt);
    free(x), free(logits), free(y), free(t);
    amod_vit_free(m);
    return rc;
}

static bench_result run_isolated(const bench_model *bm, const char *gemm, int batch, int threads, int train,
                                 int warmup, int iters) {
    bench_result res = {0};
    int fd[2];
    if (pipe(fd)) return res;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        double med = -1;
        amod_error err;
        if (measure(bm, gemm, batch, threads, train, warmup, iters, &med, &err)) {
            fprintf(stderr, "amod bench: %s: %s\n", bm->label, err.msg);
            med = -1;
        }
        if (write(fd[1], &med, sizeof med) != sizeof med) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double med = -1;
    ssize_t got = pid > 0 ? read(fd[0], &med, sizeof med) : -1;
    close(fd[0]);
    int status;
    struct rusage ru;
    if (pid > 0 && wait4(pid, &status, 0, &ru) == pid && got == sizeof med && med > 0) {
        amod_flops f;
        amod_error err;
        amod_flops_count(&bm->cfg, bm->mod.router == AMOD_ROUTER_NONE ? NULL : &bm->mod, &f, &err);
        /* FLOPs = 2 x multiply-accumulates; a training step counts 3 forward passes */
        double flops = 2.0 * (double)f.total * batch * (train ? 3.0 : 1.0);
        res.ok = 1;
        res.macs = (double)f.total;
        res.ms = 1e3 * med;
        res.img_s = batch / med;
        res.gflops = flops / med * 1e-9;
        res.peak_kb = ru.ru_maxrss;
    }
    return res;
}

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v < 1 || v > 65536) {
            free(copy);
            return -1;
        }
        out[n++] = (int)v;
    }
    free(copy);
    return n;
}

static void usage(void) {
    printf("usage: amod bench [--model PRESET|DIR] [--batch 32[,8,...]] [--threads 2[,1]] [--mode infer,train]\n"
           "                  [--capacities 0.5,0.125] [--routers attention,linear] [--no-isoflop]\n"
           "                  [--warmup 2] [--iters 10] [--gemm onednn,openblas] [--precision f32|bf16]\n"
           "                  [--json FILE] [--quick]\n\n"
           "Times dense, MoD (each router x capacity, MoD layers 1,3,5,...) and isoFLOP baselines\n"
           "(fewer layers, narrower) with random weights. Prints a markdown table; --json writes JSON.\n"
           "GFLOP/s counts 2 FLOPs per multiply-accumulate (amod flops) and 3 forward passes per\n"
           "training step. --quick: 1 warm-up, 2 iterations, batch 2 (a smoke test).\n"
           "--gemm: the matrix-product paths to time, each row once per path, alternately (default:\n"
           "the one amod chose for this CPU, printed in the header). --precision bf16: the blocks' linear\n"
           "layers and attention products in bfloat16 (training rows: mixed precision, float32 master weights). Without --iters, rows at\n"
           "batch 1 and 2 time 100 steps: single steps of milliseconds swing by whole scheduler ticks\n"
           "on a shared machine, and ten of them give an unstable median.\n");
}

int amod_cmd_bench(int argc, char **argv) {
    const char *model = "deit_tiny_patch16_224", *json = NULL;
    int batches[8] = {32}, nb = 1, threads[8] = {2}, nt = 1, warmup = 2, iters = 10, iters_set = 0;
    int modes[2] = {0, 1}, nm = 2, isoflop = 1;
    float caps[8] = {0.5f, 0.125f};
    int nc = 2;
    amod_router routers[4] = {AMOD_ROUTER_ATTENTION, AMOD_ROUTER_LINEAR};
    int nr = 2;
    const char *gemms[2] = {NULL, NULL};
    int ng = 1;
    char gemm_list[64] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else if (!strcmp(a, "--quick")) {
            warmup = 1, iters = 2, iters_set = 1, batches[0] = 2, nb = 1;
        } else if (!strcmp(a, "--no-isoflop")) {
            isoflop = 0;
        } else if (strcmp(a, "--model") && strcmp(a, "--json") && strcmp(a, "--batch") && strcmp(a, "--threads") &&
                   strcmp(a, "--warmup") && strcmp(a, "--iters") && strcmp(a, "--mode") && strcmp(a, "--capacities") &&
                   strcmp(a, "--routers") && strcmp(a, "--gemm") && strcmp(a, "--precision")) {
            return cli_usage_error(CMD, "unknown option '%s'", a);
        } else if (!(v = cli_value(CMD, argc, argv, &i))) {
            return 2;
        } else if (!strcmp(a, "--model")) {
            model = v;
        } else if (!strcmp(a, "--json")) {
            json = v;
        } else if (!strcmp(a, "--batch")) {
            if ((nb = parse_list(v, batches, 8)) < 1) return cli_usage_error(CMD, "bad --batch '%s'", v);
        } else if (!strcmp(a, "--threads")) {
            if ((nt = parse_list(v, threads, 8)) < 1) return cli_usage_error(CMD, "bad --threads '%s'", v);
            for (int k = 0; k < nt; k++) {
                char one[16];
                long t;
                snprintf(one, sizeof one, "%d", threads[k]);
                if (cli_parse_threads(CMD, a, one, &t)) return 2;
            }
        } else if (!strcmp(a, "--warmup")) {
            if (cli_parse_int(CMD, a, v, 0, 1000, &n)) return 2;
            warmup = (int)n;
        } else if (!strcmp(a, "--iters")) {
            if (cli_parse_int(CMD, a, v, 1, 100000, &n)) return 2;
            iters = (int)n, iters_set = 1;
        } else if (!strcmp(a, "--mode")) {
            nm = 0;
            if (strstr(v, "infer")) modes[nm++] = 0;
            if (strstr(v, "train")) modes[nm++] = 1;
            if (!nm) return cli_usage_error(CMD, "--mode takes infer, train or infer,train");
        } else if (!strcmp(a, "--capacities")) {
            nc = 0;
            char *copy = strdup(v), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok && nc < 8; tok = strtok_r(NULL, ",", &save))
                if (cli_parse_float(CMD, a, tok, &caps[nc++])) {
                    free(copy);
                    return 2;
                }
            free(copy);
        } else if (!strcmp(a, "--precision")) {
            if (strcmp(v, "f32") && strcmp(v, "bf16")) return cli_usage_error(CMD, "--precision takes f32 or bf16, not '%s'", v);
            bf16_linear = !strcmp(v, "bf16");
        } else if (!strcmp(a, "--gemm")) {
            ng = 0;
            snprintf(gemm_list, sizeof gemm_list, "%s", v);
            for (char *save = NULL, *tok = strtok_r(gemm_list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (strcmp(tok, "onednn") && strcmp(tok, "openblas"))
                    return cli_usage_error(CMD, "--gemm takes onednn, openblas or both, not '%s'", tok);
                if (ng == 2) return cli_usage_error(CMD, "--gemm takes at most two paths");
                gemms[ng++] = tok;
            }
            if (!ng) return cli_usage_error(CMD, "--gemm takes onednn, openblas or both");
        } else if (!strcmp(a, "--routers")) {
            nr = 0;
            char *copy = strdup(v), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok && nr < 4; tok = strtok_r(NULL, ",", &save))
                if (amod_router_parse(tok, &routers[nr++]) || routers[nr - 1] == AMOD_ROUTER_NONE) {
                    free(copy);
                    return cli_usage_error(CMD, "unknown router '%s'", tok);
                }
            free(copy);
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", a);
        }
    }
    amod_error err;
    /* each path runs in the children (amod_gemm_select there); here it is only checked, so that
     * the header describes this process's own path */
    const char *gnames[2];
    for (int g = 0; g < ng; g++) {
        if (gemms[g] && amod_gemm_check(gemms[g], &err)) return cli_error(CMD, err.msg);
        gnames[g] = gemms[g] ? gemms[g] : amod_gemm_active()->backend == AMOD_GEMM_ONEDNN ? "onednn" : "openblas";
    }
    amod_vit_config cfg;
    if (amod_vit_preset(model, &cfg, &err)) {
        char path[4096];
        snprintf(path, sizeof path, "%s/config.json", model);
        if (amod_config_load(path, &cfg, NULL, &err)) return cli_error(CMD, err.msg);
    }

    /* the models: dense, then per capacity each router and the isoFLOP baselines */
    bench_model models[64];
    int n_models = 0;
    models[n_models] = (bench_model){.cfg = cfg};
    models[n_models].mod.capacity = 1.0f;
    snprintf(models[n_models].key, 48, "dense");
    snprintf(models[n_models++].label, 64, "dense");
    for (int c = 0; c < nc; c++) {
        amod_mod_config mod = {0};
        mod.capacity = caps[c];
        amod_mod_set_start(&mod, cfg.depth, 1);
        for (int r = 0; r < nr; r++) {
            mod.router = routers[r];
            if (amod_mod_validate(&mod, &cfg, &err)) return cli_error(CMD, err.msg);
            bench_model *bm = &models[n_models++];
            *bm = (bench_model){.cfg = cfg, .mod = mod};
            snprintf(bm->label, 64, "MoD %s C=%g", amod_router_name(routers[r]), caps[c]);
            snprintf(bm->key, 48, "mod_%s_c%04d", amod_router_name(routers[r]), (int)lroundf(caps[c] * 1000));
        }
        for (int k = 0; isoflop && k < 2; k++) {
            amod_isoflop iso;
            mod.router = AMOD_ROUTER_ATTENTION;
            if (amod_isoflop_baseline(&cfg, &mod, (amod_isoflop_kind)k, &iso, &err)) return cli_error(CMD, err.msg);
            bench_model *bm = &models[n_models++];
            *bm = (bench_model){.cfg = iso.cfg};
            bm->mod.capacity = 1.0f;
            snprintf(bm->key, 48, "isoflop_%s_c%04d", k ? "width" : "depth", (int)lroundf(caps[c] * 1000));
            snprintf(bm->label, 64, "isoFLOP(C=%g) %s %d/%d", caps[c], k ? "width" : "depth",
                     k ? iso.cfg.embed_dim : iso.cfg.depth, k ? cfg.embed_dim : cfg.depth);
        }
    }

    char path[256];
    amod_gemm_describe(path, sizeof path);
    FILE *jf = NULL;
    char jtmp[4096];
    if (json) {
        snprintf(jtmp, sizeof jtmp, "%s.tmp", json);
        if (!(jf = fopen(jtmp, "w"))) return cli_error(CMD, "cannot write the --json file");
        fprintf(jf, "{\"model\": \"%s\", \"gemm\": \"%s\", \"warmup\": %d, \"iters\": %d, \"rows\": [\n", model,
                path, warmup, iters);
    }
    printf("model %s, products on %s%s, median of %d runs%s after %d warm-up\n", model, path,
           bf16_linear ? ", inference linear layers in bf16" : "", iters, iters_set ? "" : " (100 at batch 1 and 2)",
           warmup);
    if (amod_gemm_warning()) printf("%s\n", amod_gemm_warning());
    printf("\n");
    printf("| model | gemm | mode | batch | threads | images/s | ms/step | GFLOP/s | peak MiB | speedup vs dense | dense/model FLOPs | speedup / FLOPs ratio |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    int first = 1, failed = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int b = 0; b < nb; b++)
            for (int t = 0; t < nt; t++) {
                bench_result dense[2] = {{0}}; /* each path's dense row, its speedups' base */
                for (int i = 0; i < n_models; i++)
                    for (int g = 0; g < ng; g++) { /* the paths alternate row by row */
                        const int row_iters = iters_set || batches[b] > 2 ? iters : 100;
                        bench_result r =
                            run_isolated(&models[i], gemms[g], batches[b], threads[t], modes[mi], warmup, row_iters);
                        const char *gname = gnames[g];
                        if (i == 0) dense[g] = r;
                        const int have_dense = dense[g].ok;
                        const char *mode = modes[mi] ? "train" : "infer";
                        if (!r.ok) {
                            failed++;
                            continue;
                        }
                        /* what a MoD model buys: its speedup next to the FLOPs it saves */
                        double speedup = have_dense ? r.img_s / dense[g].img_s : NAN;
                        double fratio = have_dense ? dense[g].macs / r.macs : NAN;
                        printf("| %s | %s | %s | %d | %d | %.1f | %.1f | %.0f | %.0f | %.2fx | %.2fx | %.2f |\n", models[i].label,
                               gname, mode, batches[b], threads[t], r.img_s, r.ms, r.gflops, r.peak_kb / 1024.0, speedup, fratio,
                               speedup / fratio);
                        fflush(stdout);
                        if (jf) {
                            fprintf(jf, "%s  {\"row\": \"%s_%s\", \"gemm\": \"%s\", \"model\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"threads\": %d, "
                                        "\"images_per_s\": %.3f, \"ms_per_step\": %.3f, \"gflops\": %.2f, \"peak_mib\": %.1f, "
                                        "\"gmacs_per_image\": %.4f, \"speedup_vs_dense\": %.4f, \"flops_ratio\": %.4f}",
                                    first ? "" : ",\n", models[i].key, mode, gname, models[i].label, mode, batches[b], threads[t], r.img_s, r.ms,
                                    r.gflops, r.peak_kb / 1024.0, r.macs * 1e-9, have_dense ? speedup : 0.0,
                                    have_dense ? fratio : 0.0);
                            first = 0;
                        }
                    }
            }
    if (jf) {
        fprintf(jf, "\n]}\n");
        if (fclose(jf) || rename(jtmp, json)) return cli_error(CMD, "cannot write the --json file");
    }
    return failed ? 1 : 0;
}
