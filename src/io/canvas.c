/* Canvas primitives: fills, outlines, lines, scaled blits. All clip to the canvas. */
#include "io/canvas.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

int amod_canvas_new(amod_image *c, int width, int height, amod_rgb background, amod_error *err) {
    if (amod_image_alloc(c, width, height, err)) return -1;
    amod_canvas_fill_rect(c, 0, 0, width, height, background);
    return 0;
}

/* Intersects [x, x + w) x [y, y + h) with the canvas; 0 when nothing is left. */
static int clip(const amod_image *c, long *x0, long *y0, long *x1, long *y1, int x, int y, int w, int h) {
    *x0 = x < 0 ? 0 : x;
    *y0 = y < 0 ? 0 : y;
    *x1 = (long)x + (w < 0 ? 0 : w);
    *y1 = (long)y + (h < 0 ? 0 : h);
    if (*x1 > c->width) *x1 = c->width;
    if (*y1 > c->height) *y1 = c->height;
    return c->rgb && *x0 < *x1 && *y0 < *y1;
}

void amod_canvas_fill_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color) {
    long x0, y0, x1, y1;
    if (!clip(c, &x0, &y0, &x1, &y1, x, y, w, h)) return;
    for (long r = y0; r < y1; r++) {
        unsigned char *p = c->rgb + ((size_t)r * c->width + (size_t)x0) * 3;
        for (long i = x0; i < x1; i++, p += 3) {
            p[0] = color.r;
            p[1] = color.g;
            p[2] = color.b;
        }
    }
}

void amod_canvas_blend_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color, float alpha) {
    long x0, y0, x1, y1;
    if (!(alpha > 0.0f) || !clip(c, &x0, &y0, &x1, &y1, x, y, w, h)) return;
    if (alpha > 1.0f) alpha = 1.0f;
    const float rgb[3] = {color.r, color.g, color.b};
    for (long r = y0; r < y1; r++) {
        unsigned char *p = c->rgb + ((size_t)r * c->width + (size_t)x0) * 3;
        for (long i = x0; i < x1; i++, p += 3)
            for (int k = 0; k < 3; k++) p[k] = (unsigned char)(p[k] + alpha * (rgb[k] - p[k]) + 0.5f);
    }
}

/* Keeps sums of far-off coordinates inside int. */
static int clamp_coord(long v) { return v < -(1L << 30) ? -(1 << 30) : v > (1L << 30) ? 1 << 30 : (int)v; }

void amod_canvas_rect(amod_image *c, int x, int y, int w, int h, amod_rgb color, int thickness) {
    if (thickness < 1) thickness = 1;
    int right = clamp_coord((long)x + w - thickness), bottom = clamp_coord((long)y + h - thickness);
    amod_canvas_fill_rect(c, x, y, w, thickness, color);
    amod_canvas_fill_rect(c, x, bottom, w, thickness, color);
    amod_canvas_fill_rect(c, x, y, thickness, h, color);
    amod_canvas_fill_rect(c, right, y, thickness, h, color);
}

/* Liang-Barsky: clips the segment to [lo, hi] on both axes; 0 when it misses entirely. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xlo, double ylo, double xhi,
                        double yhi) {
    double t0 = 0.0, t1 = 1.0, dx = *x1 - *x0, dy = *y1 - *y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*x0 - xlo, xhi - *x0, *y0 - ylo, yhi - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0) {
            if (t > t1) return 0;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return 0;
            if (t < t1) t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy, bx = *x0 + t1 * dx, by = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    *x1 = bx;
    *y1 = by;
    return 1;
}

void amod_canvas_line(amod_image *c, int x0, int y0, int x1, int y1, amod_rgb color, int thickness) {
    if (!c->rgb) return;
    if (thickness < 1) thickness = 1;
    if (thickness > 1 << 16) thickness = 1 << 16;
    /* Clip first so a wild endpoint costs nothing and cannot overflow the stepping below. */
    double ax = x0, ay = y0, bx = x1, by = y1, m = thickness + 1;
    if (!clip_segment(&ax, &ay, &bx, &by, -m, -m, c->width + m, c->height + m)) return;
    int xa = (int)lround(ax), ya = (int)lround(ay), xb = (int)lround(bx), yb = (int)lround(by);
    int dx = abs(xb - xa), dy = -abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1;
    int e = dx + dy, half = (thickness - 1) / 2;
    for (;;) {
        amod_canvas_fill_rect(c, xa - half, ya - half, thickness, thickness, color);
        if (xa == xb && ya == yb) break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            xa += sx;
        }
        if (e2 <= dx) {
            e += dx;
            ya += sy;
        }
    }
}

void amod_canvas_blit(amod_image *c, const amod_image *src, int x, int y, int scale) {
    if (!c->rgb || !src->rgb || scale < 1) return;
    long x0, y0, x1, y1;
    long w = (long)src->width * scale, h = (long)src->height * scale;
    if (w > 1L << 30 || h > 1L << 30) return;
    if (!clip(c, &x0, &y0, &x1, &y1, x, y, (int)w, (int)h)) return;
    for (long r = y0; r < y1; r++) {
        const unsigned char *s = src->rgb + (size_t)((r - y) / scale) * src->width * 3;
        unsigned char *d = c->rgb + ((size_t)r * c->width + (size_t)x0) * 3;
        for (long i = x0; i < x1; i++, d += 3) {
            const unsigned char *p = s + (size_t)((i - x) / scale) * 3;
            d[0] = p[0];
            d[1] = p[1];
            d[2] = p[2];
        }
    }
}

amod_rgb amod_canvas_palette(int i) {
    static const amod_rgb tableau[10] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    };
    return tableau[(unsigned)i % 10];
}
