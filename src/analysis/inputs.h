/* The images an analysis runs on, from picture files (PNG/JPEG) or from an IDX data set by
 * index, each turned into the model's input (its img_size, channels, mean and std) and kept
 * as the picture the model sees, for drawing. */
#ifndef AMOD_ANALYSIS_INPUTS_H
#define AMOD_ANALYSIS_INPUTS_H

#include <stdint.h>

#include "amod/amod.h"
#include "io/image.h"

typedef struct amod_inputs {
    int count, cap;
    int channels, size; /* the model's input: [channels, size, size] an image */
    float mean[3], std[3];
    int num_classes;
    float *x;            /* [count, channels, size, size], normalised */
    int64_t *labels;     /* [count]; -1 for picture files, which have none */
    amod_image *pictures; /* [count]: size x size RGB, what the model sees */
    char (*names)[128];  /* "shirt.png", "test #17", an image folder's "val/03/000017.png" */
    double (*place)[4];  /* [count]: where the source picture's pixels land in the input, as
                            amod_image_transform_place says (for object boxes) */
} amod_inputs;

/* An empty set for a model with this config. */
void amod_inputs_init(amod_inputs *in, const amod_vit_config *cfg);
void amod_inputs_free(amod_inputs *in);

/* Reads a PNG or JPEG; it must be square (a clear error names the file otherwise). Resized
 * and normalised by the model's config through the timm eval transform (io/image.h). */
int amod_inputs_add_file(amod_inputs *in, const char *path, amod_error *err);
/* Adds images `indices` of split "train" or "test" of the IDX data set in dir, resized
 * (bilinear) to the model's input and normalised by its mean and std. An index past the
 * end is an error naming the images file. */
int amod_inputs_add_data(amod_inputs *in, const char *dir, const char *split, const int64_t *indices, int n,
                         amod_error *err);

/* Adds images `indices` of split train, val or test (test: val when there is none) of an
 * image folder (data/imagefolder.h: dir/SPLIT/<class>/...), in the order training reads it,
 * each transformed as a picture file is; labels are numbered as class_names [n_names] (the
 * model's, NULL: the folders' sorted order) and checked against the model's classes. Each is
 * named by its path relative to dir, as boxes.csv rows are. */
int amod_inputs_add_folder(amod_inputs *in, const char *dir, const char *split, char *const *class_names, int n_names,
                           const int64_t *indices, int n, amod_error *err);

/* Parses "0,5,17" (non-negative integers, comma separated) into a malloc'd array. */
int amod_parse_indices(const char *s, int64_t **out, int *n, amod_error *err);

#endif
