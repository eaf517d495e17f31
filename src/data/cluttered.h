/* A cluttered image-folder data set made from an in-memory one (Fashion-MNIST, MNIST): each
 * item is tinted and placed at a random position on a larger RGB canvas strewn with fragments
 * cut from other items, as the "cluttered MNIST" of the spatial transformer paper. Most
 * patches are then background, which is where routing should matter; the object boxes are
 * saved beside the pictures. Everything random comes from (seed, split, image): the same
 * options write the same files on any machine. */
#ifndef AMOD_DATA_CLUTTERED_H
#define AMOD_DATA_CLUTTERED_H

#include <stdint.h>

#include "amod/error.h"
#include "data/dataset.h"

typedef struct {
    int size;          /* canvas side in pixels (the item is ds->height x ds->width) */
    int per_class;     /* the first this many images of each class (0: all) */
    int fragments;     /* clutter fragments per picture */
    int fragment_size; /* their side in pixels */
    uint64_t seed;
} amod_cluttered_config;

/* 64 x 64 canvases, every image, 8 fragments of 8 x 8 pixels, seed 0. */
void amod_cluttered_config_default(amod_cluttered_config *c);

/* Writes OUT/SPLIT/<class>/<index>.png (class folders 00, 01, ... so that their sorted order is
 * the label order) and OUT/SPLIT/boxes.csv ("path,label,x,y,w,h", paths relative to OUT).
 * *written receives the number of pictures. */
int amod_cluttered_write(const amod_dataset *ds, const char *out_dir, const char *split,
                         const amod_cluttered_config *cfg, int64_t *written, amod_error *err);

#endif
