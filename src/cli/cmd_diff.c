/* amod diff: relative max error, tensor by tensor, between two safetensors files (amod's
 * output against a PyTorch reference). Exit 1 when any common tensor exceeds the tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "io/safetensors.h"

static const char *CMD = "diff";

int amod_cmd_diff(int argc, char **argv) {
    const char *a_path = NULL, *b_path = NULL;
    float tol_act = 1e-4f, tol_grad = 1e-3f;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: amod diff OURS.safetensors REFERENCE.safetensors [--tol 1e-4] [--grad-tol 1e-3] [--quiet]\n"
                   "Prints max|ours - ref| / max|ref| per tensor present in both; grad.* use --grad-tol.\n");
            return 0;
        } else if (!strcmp(argv[i], "--tol")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_float(CMD, "--tol", v, &tol_act)) return 2;
        } else if (!strcmp(argv[i], "--grad-tol")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_float(CMD, "--grad-tol", v, &tol_grad)) return 2;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        } else if (!a_path) {
            a_path = argv[i];
        } else if (!b_path) {
            b_path = argv[i];
        } else {
            return cli_usage_error(CMD, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!a_path || !b_path) return cli_usage_error(CMD, "two files are required");
    st_file a, b;
    amod_error err;
    if (st_open(&a, a_path, &err)) return cli_error(CMD, err.msg);
    if (st_open(&b, b_path, &err)) {
        st_close(&a);
        return cli_error(CMD, err.msg);
    }
    int bad = 0, common = 0;
    double worst = 0;
    for (int i = 0; i < a.n; i++) {
        const st_tensor *ta = &a.tensors[i], *tb = st_find(&b, ta->name);
        if (!tb) continue;
        common++;
        if (ta->numel != tb->numel) {
            printf("%-60s size %zu vs %zu\n", ta->name, ta->numel, tb->numel);
            bad++;
            continue;
        }
        float *x = malloc(ta->numel * sizeof *x + 1), *y = malloc(tb->numel * sizeof *y + 1);
        st_read_f32(&a, ta, x);
        st_read_f32(&b, tb, y);
        double md = 0, mr = 0;
        for (size_t j = 0; j < ta->numel; j++) {
            double d = fabs((double)x[j] - y[j]);
            if (!(d <= md)) md = d;
            if (fabs(y[j]) > mr) mr = fabs(y[j]);
        }
        double rel = md / (mr > 1e-30 ? mr : 1e-30);
        int is_grad = !strncmp(ta->name, "grad.", 5);
        /* gradients that are zero in exact arithmetic hold only float noise: compare absolutely */
        if (is_grad && mr < 1e-7) rel = md < 1e-6 ? 0 : rel;
        int fail = !(rel <= (is_grad ? tol_grad : tol_act));
        bad += fail;
        if (rel > worst) worst = rel;
        if (!quiet || fail) printf("%-60s %.3e%s\n", ta->name, rel, fail ? "  FAIL" : "");
        free(x);
        free(y);
    }
    printf("%d common tensors, worst relative max error %.3e, %d over tolerance\n", common, worst, bad);
    st_close(&a);
    st_close(&b);
    return bad || !common ? 1 : 0;
}
