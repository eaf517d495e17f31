/* A tiny drawing toolkit on RGB8 images: rectangles, lines, scaled blits and bitmap text.
 *
 * A canvas is an amod_image; write it with amod_image_write_png. Coordinates are pixels with
 * the origin at the top-left; everything clips at the canvas edges, so any coordinates are
 * safe. Charts built on this live in io/plot.h. */
#ifndef AMOD_IO_CANVAS_H
#define AMOD_IO_CANVAS_H

#include "io/image.h"

#define AMOD_RGB(r, g, b) ((amod_rgb){(unsigned char)(r), (unsigned char)(g), (unsigned char)(b)})
#define AMOD_WHITE AMOD_RGB(255, 255, 255)
#define AMOD_BLACK AMOD_RGB(0, 0, 0)

/* A width x height canvas filled with background. */
int amod_canvas_new(amod_image *c, int width, int height, amod_rgb background, amod_error *err);
void amod_canvas_fill_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color);
/* Mixes color into the rectangle: alpha 1 paints it, 0.7 white "whitens" skipped patches
 * while the picture stays faintly visible. */
void amod_canvas_blend_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color, float alpha);
/* Outline of a rectangle, thickness pixels wide, inside (x, y, w, h). */
void amod_canvas_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color, int thickness);
/* A line from (x0, y0) to (x1, y1) with a square pen thickness pixels wide. */
void amod_canvas_line(amod_image *c, int x0, int y0, int x1, int y1, amod_rgb color, int thickness);
/* Copies src with its top-left at (x, y), each pixel a scale x scale block (nearest). */
void amod_canvas_blit(amod_image *c, const amod_image *src, int x, int y, int scale);

/* ---- text: a 5x7 ASCII font, scale pixels a font dot ---- */

/* Draws s with its top-left at (x, y); '\n' starts a new line. Returns the width drawn. */
int amod_canvas_text(amod_image *c, int x, int y, const char *s, amod_rgb color, int scale);
/* Draws s turned 90 degrees counter-clockwise (reading bottom to top), for a y-axis label;
 * (x, y) is the top-left of its box, which is text height wide and text width tall. */
void amod_canvas_text_up(amod_image *c, int x, int y, const char *s, amod_rgb color, int scale);
/* Size of the box s takes: width of its widest line, height of its lines. */
int amod_canvas_text_width(const char *s, int scale);
int amod_canvas_text_height(const char *s, int scale);

/* Ten distinct colours (Tableau 10) for series, cycling after ten. */
amod_rgb amod_canvas_palette(int i);

#endif
