/* Line plots and grouped bar charts as PNG: axes, numbered ticks, a colour a series, a legend.
 * Used for "accuracy vs epoch", "accuracy vs FLOPs" and "correlation per layer". */
#ifndef AMOD_IO_PLOT_H
#define AMOD_IO_PLOT_H

#include "io/canvas.h"

typedef struct amod_series {
    const char *name; /* legend entry; NULL or "" leaves it out of the legend */
    const double *x;  /* line plots: x of each point, NULL for 0, 1, 2, ...; bar charts ignore it */
    const double *y;  /* non-finite values are skipped (a gap in a line) */
    int n;
} amod_series;

typedef enum amod_plot_kind {
    AMOD_PLOT_LINES = 0, /* points joined in the given order, each marked */
    AMOD_PLOT_BARS = 1,  /* point i of every series side by side in group i */
} amod_plot_kind;

/* Zero fields take defaults, so a plot is { .kind, .series, .n_series } plus what you need. */
typedef struct amod_plot {
    amod_plot_kind kind;
    const char *title, *x_label, *y_label;
    const amod_series *series;
    int n_series;
    const char *const *categories; /* bars: a label a group; NULL numbers the groups 0, 1, ... */
    double y_min, y_max;           /* fixed y range when y_min < y_max, else fitted to the data */
    int width, height;             /* pixels; 0 for 800 x 500 */
} amod_plot;

/* Draws the plot onto a new canvas. Errors: no series, no finite point, a canvas too small. */
int amod_plot_render(const amod_plot *p, amod_image *out, amod_error *err);
/* Renders and writes the PNG atomically; errors name path. */
int amod_plot_write_png(const amod_plot *p, const char *path, amod_error *err);

#endif
