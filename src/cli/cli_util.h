/* Small helpers shared by the subcommands: option parsing and reporting. */
#ifndef AMOD_CLI_UTIL_H
#define AMOD_CLI_UTIL_H

#include "amod/amod.h"

/* Prints "amod NAME: message" to stderr and returns exit status 1 (2 for usage errors). */
int cli_error(const char *cmd, const char *msg);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a number or reports which option was malformed. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, float *out);
/* Value of the option at argv[*i] (advancing *i), or NULL with a message if missing. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);
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
/* Loads split "train" or "test" of data set NAME from DATA_DIR/NAME, checking every label
 * against num_classes; prints the problem and returns -1 on failure. */
struct amod_dataset;
int cli_load_split(const char *cmd, const char *data_dir, const char *name, const char *split, int num_classes,
                   struct amod_dataset *ds);
#define CLI_MOD_HELP                                                                        \
    "  --router R           attention (A-MoD) | linear | random | none\n"                    \
    "  --capacity C         fraction of tokens a MoD layer processes, in (0, 1] (default 0.5)\n" \
    "  --mod-start S        MoD layers S, S+2, S+4, ... (default 1)\n"                        \
    "  --mod-layers 1,3,5   explicit MoD layers\n"

#endif
