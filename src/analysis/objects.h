/* Object boxes (amod data cluttered's boxes.csv: "path,label,x,y,w,h" in the source
 * picture's pixels) and the share of the patches a MoD layer keeps that lie on the object:
 * the A-MoD paper's routing maps (Fig. 5) as a number, against the share a router that keeps
 * patches at random would get. */
#ifndef AMOD_ANALYSIS_OBJECTS_H
#define AMOD_ANALYSIS_OBJECTS_H

#include "amod/amod.h"
#include "analysis/inputs.h"
#include "analysis/routing.h"
#include "io/csv.h"

typedef struct amod_boxes {
    amod_csv csv;
    int path, x, y, w, h; /* columns */
} amod_boxes;

/* Fails, naming the file, when a column is missing or a box is not four numbers with w, h > 0. */
int amod_boxes_read(const char *path, amod_boxes *b, amod_error *err);
void amod_boxes_free(amod_boxes *b);
/* The box of each image of in (the row whose path is in->names[i]) in input pixels, placed as
 * the picture is (in->place): rect[i] = x0, y0, x1, y1. Fails, naming the boxes file and the
 * image, when one has no box: checked before the slow passes. */
int amod_boxes_place(const amod_boxes *b, const amod_inputs *in, const char *boxes_path, double (*rect)[4],
                     amod_error *err);

/* For MoD layer `layer` of rt (run on input_size-pixel images, in order) and each image i:
 * on_object[i] = the share of the kept patch tokens (prefix tokens left out) whose centre lies
 * in rect[i] (amod_boxes_place), and chance[i] = the share of all its patches that do (a random
 * router's expectation). */
int amod_object_precision(const amod_routing *rt, int layer, int input_size, const double (*rect)[4],
                          double *on_object, double *chance, amod_error *err);

#endif
