#include "cli/cli_util.h"
#include "core/threads.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"

int cli_main(const char *cmd, int argc, char **argv, void (*usage)(void),
             int (*parse)(int argc, char **argv, void *opts), int (*run)(const void *opts, amod_error *err),
             void *opts) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
    if (parse(argc, argv, opts)) return 2;
    amod_error err = {0};
    int rc = run(opts, &err);
    if (rc >= 128) return rc; /* stopped by a signal: 128 + its number, already reported */
    if (rc) {
        if (err.msg[0]) cli_error(cmd, err.msg);
        return 1;
    }
    return 0;
}

int cli_error(const char *cmd, const char *msg) { return cli_fail(cmd, 1, "%s", msg); }

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "amod %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see amod %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

int cli_fail(const char *cmd, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "amod %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return status;
}

int cli_strtol(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    if (!cli_strtol(s, lo, hi, out)) return 0;
    fprintf(stderr, "amod %s: %s expects an integer in [%ld, %ld], got '%s'\n", cmd, opt, lo, hi, s);
    return -1;
}

int cli_parse_float(const char *cmd, const char *opt, const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "amod %s: %s expects a number, got '%s'\n", cmd, opt, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_parse_threads(const char *cmd, const char *opt, const char *s, long *out) {
    const long hi = amod_threads_max(), cores = amod_cores();
    long v;
    if (cli_strtol(s, 1, 1L << 30, &v) == 0 && v > hi) {
        fprintf(stderr, "amod %s: %s %ld is more than %ld (4 per core on this machine's %ld): OpenMP's threads would spin against each other\n",
                cmd, opt, v, hi, cores);
        return -1;
    }
    if (cli_parse_int(cmd, opt, s, 1, hi, out)) return -1;
    if (*out > cores)
        fprintf(stderr, "amod %s: warning: %s %ld is more than the %ld cores; expect it to be slower, not faster\n", cmd,
                opt, *out, cores);
    return 0;
}

volatile sig_atomic_t cli_stop_requested;

static void on_stop_signal(int sig) { cli_stop_requested = sig; }

void cli_catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "amod %s: option %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

const char *cli_named_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n]) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cli_positional(const char *cmd, const char *arg, const char **slot) {
    if (arg[0] == '-') return cli_usage_error(cmd, "unknown option '%s'", arg), -1;
    if (*slot) return cli_usage_error(cmd, "unexpected argument '%s'", arg), -1;
    *slot = arg;
    return 0;
}

int cli_mod_option(const char *cmd, int argc, char **argv, int *i, cli_mod_opts *o) {
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--router")) {
        if (!(v = cli_value(cmd, argc, argv, i))) return -1;
        if (amod_router_parse(v, &o->router)) {
            fprintf(stderr, "amod %s: unknown router '%s' (attention, linear, random, none)\n", cmd, v);
            return -1;
        }
        o->router_set = 1;
    } else if (!strcmp(a, "--capacity")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_float(cmd, a, v, &o->capacity)) return -1;
        o->capacity_set = 1;
    } else if (!strcmp(a, "--mod-start")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_int(cmd, a, v, 0, AMOD_MAX_LAYERS, &o->start))
            return -1;
        o->start_set = 1;
    } else if (!strcmp(a, "--mod-layers")) {
        if (!(o->layers = cli_value(cmd, argc, argv, i))) return -1;
        o->layers_set = 1;
    } else if (!strcmp(a, "--seed")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_int(cmd, a, v, 0, 0x7fffffffL, &o->seed))
            return -1;
    } else {
        return 0;
    }
    return 1;
}

int cli_mod_build(const char *cmd, const cli_mod_opts *o, const amod_vit_config *cfg,
                  const amod_mod_config *base, amod_mod_config *out) {
    amod_error err;
    *out = *base;
    if (o->start_set && o->layers_set) {
        fprintf(stderr, "amod %s: give either --mod-start or --mod-layers, not both\n", cmd);
        return -1;
    }
    if (o->router_set) out->router = o->router;
    if (out->router == AMOD_ROUTER_NONE) return 0;
    if (o->capacity_set) out->capacity = o->capacity;
    else if (base->router == AMOD_ROUTER_NONE) out->capacity = 0.5f;
    if (o->layers_set) {
        if (amod_mod_set_list(out, cfg->depth, o->layers, &err)) {
            fprintf(stderr, "amod %s: --mod-layers: %s\n", cmd, err.msg);
            return -1;
        }
    } else if (o->start_set || base->router == AMOD_ROUTER_NONE) {
        amod_mod_set_start(out, cfg->depth, o->start_set ? (int)o->start : 1);
    }
    if (o->seed) out->seed = (uint64_t)o->seed;
    if (amod_mod_validate(out, cfg, &err)) {
        fprintf(stderr, "amod %s: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}

FILE *cli_text_open(cli_text *t, const char *path, amod_error *err) {
    t->text = NULL;
    t->size = 0;
    t->f = open_memstream(&t->text, &t->size);
    if (!t->f) amod_fail(err, "%s: out of memory", path);
    return t->f;
}

int cli_text_save(cli_text *t, const char *path, amod_error *err) {
    int rc = fclose(t->f) != 0 ? amod_fail(err, "%s: out of memory", path)
                               : amod_write_file_atomic(path, t->text, t->size, err);
    free(t->text);
    return rc;
}

int cli_load_split(const char *cmd, const char *data_dir, const char *name, const char *split, int num_classes,
                   char *const *class_names, int n_names, amod_dataset *ds) {
    char dir[4096];
    amod_error err;
    if (!strcmp(name, CLI_IMAGEFOLDER)) { /* --data is the folder itself */
        if (amod_dataset_load_folder(data_dir, split, class_names, n_names, ds, &err) == 0) return 0;
        fprintf(stderr, "amod %s: %s\n", cmd, err.msg);
        return -1;
    }
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
        fprintf(stderr, "amod %s: --dataset '%s' is not a data set name (fashion-mnist, mnist, imagefolder)\n", cmd,
                name);
        return -1;
    }
    if (snprintf(dir, sizeof dir, "%s/%s", data_dir, name) >= (int)sizeof dir) {
        fprintf(stderr, "amod %s: %s: path too long\n", cmd, data_dir);
        return -1;
    }
    if (amod_dataset_load(dir, split, num_classes, ds, &err)) {
        fprintf(stderr, "amod %s: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}

void cli_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

char **cli_model_labels(const amod_vit *m, int *n) {
    const int K = amod_vit_get_config(m)->num_classes;
    *n = 0;
    if (!amod_vit_label(m, 0)) return NULL;
    char **names = calloc((size_t)K, sizeof *names);
    if (!names) return NULL;
    for (int k = 0; k < K; k++) names[k] = (char *)amod_vit_label(m, k);
    *n = K;
    return names;
}

int cli_ranks_join(amod_comm *comm, amod_error *err) {
    *comm = (amod_comm){0, 1, 0, 0};
    return amod_comm_launched() ? amod_comm_init(comm, NULL, NULL, err) : 0;
}

int cli_ranks_leave(const char *cmd, amod_comm *comm, int rc, const char *msg) {
    if (comm->size > 1 && rc != 0 && rc < 128) {
        if (msg && msg[0]) cli_error(cmd, msg);
        fprintf(stderr, "amod %s: rank %d of %d failed; stopping every rank\n", cmd, comm->rank, comm->size);
        amod_comm_abort(comm, rc > 0 ? rc : 1);
    }
    if (comm->size > 1 && rc == 0 && amod_comm_is_root(comm))
        fprintf(stderr, "amod %s: %d ranks, %.1f s in gradient allreduce (%.1f MiB per rank)\n", cmd, comm->size,
                comm->allreduce_seconds, comm->allreduce_bytes / 1048576.0);
    if (amod_comm_launched()) amod_comm_finalize(comm);
    return rc;
}
