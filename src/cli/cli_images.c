#include "cli/cli_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/inputs.h"
#include "cli/cli_util.h"
#include "core/error.h"

int cli_data_option(const char *cmd, int argc, char **argv, int *i, cli_data_opts *o) {
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--data")) {
        if (!(o->dir = cli_value(cmd, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--split")) {
        if (!(o->split = cli_value(cmd, argc, argv, i))) return -1;
        if (strcmp(o->split, "train") && strcmp(o->split, "test") && strcmp(o->split, "val")) {
            cli_usage_error(cmd, "--split must be train, test or val, got '%s'", o->split);
            return -1;
        }
    } else if (!strcmp(a, "--dataset")) {
        if (!(v = cli_value(cmd, argc, argv, i))) return -1;
        if (strcmp(v, CLI_IMAGEFOLDER)) {
            cli_usage_error(cmd, "--dataset must be imagefolder (an IDX data set needs none), got '%s'", v);
            return -1;
        }
        o->folder = 1;
    } else if (!strcmp(a, "--index")) {
        if (!(o->index = cli_value(cmd, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--n")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_int(cmd, a, v, 1, 1L << 24, &o->n)) return -1;
        o->n_set = 1;
    } else if (!strcmp(a, "--start")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_int(cmd, a, v, 0, 1L << 31, &o->start)) return -1;
        o->start_set = 1;
    } else {
        return 0;
    }
    return 1;
}

int cli_analysis_option(const char *cmd, int argc, char **argv, int *i, cli_analysis_opts *o) {
    int r = cli_mod_option(cmd, argc, argv, i, &o->mod);
    if (!r) r = cli_data_option(cmd, argc, argv, i, &o->data);
    if (r || strcmp(argv[*i], "--batch")) return r;
    const char *v = cli_value(cmd, argc, argv, i);
    return !v || cli_parse_int(cmd, "--batch", v, 1, 1 << 16, &o->batch) ? -1 : 1;
}

int cli_data_indices(const char *cmd, const cli_data_opts *o, long default_n, int64_t **idx, int *count) {
    *idx = NULL;
    *count = 0;
    if (!o->dir) {
        if (o->index || o->n_set || o->start_set || o->split || o->folder) {
            cli_usage_error(cmd, "--index, --n, --start, --split and --dataset need --data DIR");
            return -1;
        }
        return 0;
    }
    if (o->split && !strcmp(o->split, "val") && !o->folder) {
        cli_usage_error(cmd, "--split val is an image folder's (--dataset imagefolder); IDX data has train and test");
        return -1;
    }
    if (o->index && (o->n_set || o->start_set)) {
        cli_usage_error(cmd, "give either --index or --n/--start, not both");
        return -1;
    }
    if (o->index) {
        amod_error err;
        if (amod_parse_indices(o->index, idx, count, &err)) {
            cli_usage_error(cmd, "--index: %s", err.msg);
            return -1;
        }
        return 0;
    }
    long n = o->n_set ? o->n : default_n;
    int64_t *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        cli_error(cmd, "out of memory");
        return -1;
    }
    for (long i = 0; i < n; i++) v[i] = o->start + i;
    *idx = v;
    *count = (int)n;
    return 0;
}

int cli_load_routed(const char *cmd, const char *path, const cli_mod_opts *mo, const char *goal, amod_vit **m,
                    amod_mod_config *mod, amod_error *err) {
    if (!(*m = amod_vit_load(path, err))) return -1;
    if (cli_mod_build(cmd, mo, amod_vit_get_config(*m), amod_vit_get_mod(*m), mod)) {
        err->msg[0] = 0; /* already reported */
    } else if (mod->router == AMOD_ROUTER_NONE) {
        amod_fail(err, "%s: the model has no MoD layers (router none); give --router to %s", path, goal);
    } else if (!amod_vit_set_mod(*m, mod, err)) {
        return 0;
    }
    amod_vit_free(*m);
    *m = NULL;
    return -1;
}

int cli_inputs_add_data(const cli_data_opts *o, const amod_vit *m, const int64_t *idx, int n, amod_inputs *in,
                        amod_error *err) {
    if (!n) return 0;
    if (!o->folder) return amod_inputs_add_data(in, o->dir, cli_data_split(o), idx, n, err);
    int n_names;
    char **names = cli_model_labels(m, &n_names);
    int rc = amod_inputs_add_folder(in, o->dir, cli_data_split(o), names, n_names, idx, n, err);
    free(names);
    return rc;
}

const char *cli_data_split(const cli_data_opts *o) { return o->split ? o->split : "test"; }

void cli_base_name(const char *path, char *out, size_t cap) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    snprintf(out, cap, "%.*s", (int)(n - b), path + b);
}
