#include "cli/cli_forward.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"

int cli_forward_option(const char *cmd, int argc, char **argv, int *i, cli_forward_opts *o) {
    const char *a = argv[*i];
    if (!strcmp(a, "--input")) {
        if (!(o->input = cli_value(cmd, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--out")) {
        if (!(o->out = cli_value(cmd, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--grads")) {
        o->grads = 1;
    } else if (!strcmp(a, "--attn")) {
        o->attn = 1;
    } else {
        return 0;
    }
    return 1;
}

int cli_forward_check(const char *cmd, const cli_forward_opts *o, const char *dir_name) {
    if (o->model && o->input && o->out) return 0;
    cli_usage_error(cmd, "%s, --input and --out are required", dir_name);
    return -1;
}

int cli_forward_add_logits(st_writer *w, int ndim, const int64_t *shape, const float *logits, const float *loss,
                           amod_error *err) {
    const int64_t one = 1;
    if (st_writer_add_f32(w, "logits", ndim, shape, logits, err)) return -1;
    return loss ? st_writer_add_f32(w, "loss", 1, &one, loss, err) : 0;
}

int cli_forward_add_layer(st_writer *w, const char *prefix, int l, int ndim, const int64_t *shape, const float *x,
                          amod_error *err) {
    char name[64];
    snprintf(name, sizeof name, "%s.%d", prefix, l);
    return st_writer_add_f32(w, name, ndim, shape, x, err);
}

int cli_forward_add_grad(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *g,
                         amod_error *err) {
    char full[160];
    snprintf(full, sizeof full, "grad.%s", name);
    return st_writer_add_f32(w, full, ndim, shape, g, err);
}
