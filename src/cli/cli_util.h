/* Small helpers shared by the subcommands: option parsing and reporting. */
#ifndef AMOD_CLI_UTIL_H
#define AMOD_CLI_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "amod/amod.h"
#include "core/comm.h"

/* A subcommand made of usage, parse and run: --help or -h anywhere prints the usage (exit
 * status 0); parse fills *opts or reports a usage error (2); run fails with a message in err,
 * printed as "amod NAME: message" unless run reported the problem itself and left the message
 * empty (1); a run that returns 128 + N (stopped by signal N, reported) gives that status.
 * Returns the exit status. */
int cli_main(const char *cmd, int argc, char **argv, void (*usage)(void),
             int (*parse)(int argc, char **argv, void *opts), int (*run)(const void *opts, amod_error *err),
             void *opts);
/* Prints "amod NAME: message" to stderr and returns exit status 1 (2 for usage errors). */
int cli_error(const char *cmd, const char *msg);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "amod NAME: message" to stderr and returns status. */
int cli_fail(const char *cmd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A whole decimal integer in [lo, hi]: 0, or -1 (and nothing printed). */
int cli_strtol(const char *s, long lo, long hi, long *out);
/* Parses a number or reports which option was malformed. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, float *out);
/* --threads N: 1 .. 4 per core (amod_threads_max), with a warning above the core count. */
int cli_parse_threads(const char *cmd, const char *opt, const char *s, long *out);
/* SIGINT and SIGTERM set *cli_stop_requested (the signal's number) instead of killing the
 * process, so that a training command can checkpoint and say how to resume. */
extern volatile sig_atomic_t cli_stop_requested;
void cli_catch_stop_signals(void);
/* Value of the option at argv[*i] (advancing *i), or NULL with a message if missing. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);
/* When argv[*i] is option NAME, given as "NAME VALUE" or "NAME=VALUE": its value (advancing *i
 * past a separate value), or NULL with *missing set when no value follows. NULL, *missing
 * untouched, when argv[*i] is another argument. */
const char *cli_named_value(int argc, char **argv, int *i, const char *name, int *missing);
/* An argument no option claimed: an unknown option when it starts with '-', else the
 * positional argument *slot when that is still unset, else one too many. 0 when stored; -1
 * after the usage error. */
int cli_positional(const char *cmd, const char *arg, const char **slot);
/* MoD options shared by several commands. */
typedef struct {
    int router_set, capacity_set, start_set, layers_set;
    amod_router router;
    float capacity;
    long start;
    const char *layers;
    long seed;
} cli_mod_opts;
/* Returns 1 when argv[*i] was a MoD option (consumed), 0 when not, -1 on error. */
int cli_mod_option(const char *cmd, int argc, char **argv, int *i, cli_mod_opts *o);
/* Builds the MoD config from the options on top of base (the checkpoint's own setting). */
int cli_mod_build(const char *cmd, const cli_mod_opts *o, const amod_vit_config *cfg,
                  const amod_mod_config *base, amod_mod_config *out);
/* Text built in memory and then written to a file atomically: write to the FILE that
 * cli_text_open returns, then cli_text_save (which also closes and frees it). */
typedef struct {
    FILE *f;
    char *text;
    size_t size;
} cli_text;
FILE *cli_text_open(cli_text *t, const char *path, amod_error *err);
int cli_text_save(cli_text *t, const char *path, amod_error *err);
/* Loads split "train" or "test" of data set NAME from DATA_DIR/NAME, checking every label
 * against num_classes; for NAME "imagefolder", DATA_DIR/SPLIT (test: DATA_DIR/val when there
 * is no DATA_DIR/test) of an image folder, its classes numbered as class_names [n_names] when
 * given. Prints the problem and returns -1 on failure. */
#define CLI_IMAGEFOLDER "imagefolder"
/* A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
void cli_csv_field(FILE *f, const char *s);
/* The model's class names as an array to free (the names are the model's), or NULL (n = 0)
 * when it has none. */
struct amod_vit;
char **cli_model_labels(const struct amod_vit *m, int *n);
struct amod_dataset;
int cli_load_split(const char *cmd, const char *data_dir, const char *name, const char *split, int num_classes,
                   char *const *class_names, int n_names, struct amod_dataset *ds);
#define CLI_MOD_HELP                                                                        \
    "  --router R           attention (A-MoD) | linear | random | none\n"                    \
    "  --capacity C         fraction of tokens a MoD layer processes, in (0, 1] (default 0.5)\n" \
    "  --mod-start S        MoD layers S, S+2, S+4, ... (default 1)\n"                        \
    "  --mod-layers 1,3,5   explicit MoD layers\n"

/* Data-parallel commands (train, train-lm): joins the other ranks when mpirun started this
 * process, else sets up a single process. */
int cli_ranks_join(amod_comm *comm, amod_error *err);
/* Ends such a command. After success rank 0 reports the time spent in allreduce; after a
 * failure (0 < rc < 128, or rc < 0) on one rank, msg (when not empty) and the rank are reported
 * and every rank is stopped, since the others would wait for it in a collective. Returns rc. */
int cli_ranks_leave(const char *cmd, amod_comm *comm, int rc, const char *msg);

#endif
