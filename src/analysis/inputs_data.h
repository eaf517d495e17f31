/* Data set images for analysis/inputs.c, through the data loader's eval pipeline. */
#ifndef AMOD_ANALYSIS_INPUTS_DATA_H
#define AMOD_ANALYSIS_INPUTS_DATA_H

#include <stdint.h>

#include "amod/amod.h"

/* Renders images `indices` of a split into x [n, channels, size, size] (bilinear resize,
 * (v / 255 - mean) / std) and their labels; num_classes > 0 checks the labels. *width and
 * *height get the data set's picture size. */
int inputs_read_data(const char *dir, const char *split, const int64_t *indices, int n, int channels, int size,
                     const float mean[3], const float std[3], int num_classes, float *x, int64_t *labels,
                     int *width, int *height, amod_error *err);

#endif
