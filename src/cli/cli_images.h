/* Options shared by the analysis commands (route, importance): which images of an IDX data
 * set or an image folder to take (--data, --dataset, --split, --index, --n, --start), MoD
 * options for every checkpoint, and the batch of a forward pass (--batch). */
#ifndef AMOD_CLI_IMAGES_H
#define AMOD_CLI_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli_util.h"

typedef struct {
    const char *dir;   /* --data */
    const char *split; /* --split: train | test (default test); image folders also val */
    int folder;        /* --dataset imagefolder: --data is an image folder, not IDX files */
    const char *index; /* --index 0,5,17 */
    long n, start;     /* --n, --start */
    int n_set, start_set;
} cli_data_opts;

typedef struct {
    cli_mod_opts mod;
    cli_data_opts data;
    long batch; /* --batch, in [1, 65536]; the command's default otherwise */
} cli_analysis_opts;

/* Returns 1 when argv[*i] was a data option (consumed), 0 when not, -1 on error (reported). */
int cli_data_option(const char *cmd, int argc, char **argv, int *i, cli_data_opts *o);
/* The same for a MoD, data or --batch option. */
int cli_analysis_option(const char *cmd, int argc, char **argv, int *i, cli_analysis_opts *o);
/* The data set indices the options ask for (default_n from --start when neither --index nor
 * --n is given). *idx is malloc'd; 0 with *count 0 when no --data. Reports errors itself. */
int cli_data_indices(const char *cmd, const cli_data_opts *o, long default_n, int64_t **idx, int *count);

/* Adds the images the options name (none without --data) to in, for model m (whose class
 * names number an image folder's labels). */
struct amod_inputs;
int cli_inputs_add_data(const cli_data_opts *o, const amod_vit *m, const int64_t *idx, int n, struct amod_inputs *in,
                        amod_error *err);

/* Loads the checkpoint at path with the MoD setting the options make of its own (*mod),
 * refusing a model without MoD layers ("...; give --router to GOAL"). 0 with the model in
 * *m, or -1 with the message in err (empty when already reported). */
int cli_load_routed(const char *cmd, const char *path, const cli_mod_opts *mo, const char *goal, amod_vit **m,
                    amod_mod_config *mod, amod_error *err);
/* --split, or the default: test. */
const char *cli_data_split(const cli_data_opts *o);

/* The last component of a path, trailing slashes dropped: a checkpoint's name in labels. */
void cli_base_name(const char *path, char *out, size_t cap);

#define CLI_DATA_HELP                                                                            \
    "  --data DIR           images from an IDX data set (e.g. data/fashion-mnist)\n"                \
    "  --dataset imagefolder  --data is an image folder (DIR/SPLIT/<class>/...), the images\n"     \
    "                       in the order training reads them, named by their path in DIR\n"       \
    "  --split S            train | test (default; an image folder's val when it has no test) |\n" \
    "                       val (image folders)\n"                                                 \
    "  --index 0,5,17       the data set's images by index\n"                                     \
    "  --n N [--start S]    N images from index S (default 0)\n"

#endif
