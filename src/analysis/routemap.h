/* Routing maps as pictures (A-MoD paper, Fig. 4): the image with the patches a MoD layer
 * skipped whitened, one tile per MoD layer, laid out in a labelled grid. */
#ifndef AMOD_ANALYSIS_ROUTEMAP_H
#define AMOD_ANALYSIS_ROUTEMAP_H

#include "analysis/routing.h"
#include "io/canvas.h"

/* How strongly a skipped patch is whitened: the picture stays faintly visible under it. */
#define AMOD_ROUTEMAP_WHITEN 0.75f

/* The picture (side S = patch_size * grid) scaled by `scale`, with every patch whose token
 * is not among kept[0..k) whitened (and outlined in light grey when 8 pixels or more). Token t >= n_prefix is patch t - n_prefix, row-major. */
int amod_routemap_tile(const amod_image *picture, const int32_t *kept, int k, int n_prefix, int patch_size,
                       int scale, amod_image *out, amod_error *err);

typedef struct amod_routemap_row {
    const amod_image *picture;    /* what the model saw */
    const amod_routing *routing;  /* its routing */
    int image;                    /* the image's row in routing */
    int patch_size;
    const char *label[4];         /* lines printed left of the row; unused ones NULL */
} amod_routemap_row;

/* The grid: a column of labels, the picture, then one tile per layer of layers[0..n_layers)
 * (captioned "k/N", or "dense" where the row's model does not route that layer), under a
 * header naming each layer. Pictures must all be the same size. */
int amod_routemap_render(const amod_routemap_row *rows, int n_rows, const int *layers, int n_layers,
                         amod_image *out, amod_error *err);

#endif
