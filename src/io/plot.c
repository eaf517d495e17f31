/* Line plots and grouped bar charts rendered with the canvas toolkit.
 *
 * Layout, outside in: title on top, y label (turned) and tick numbers on the left, tick numbers
 * and x label below, legend on the right. The data is drawn on a separate plot-area image
 * and blitted, so lines and bars that leave a fixed range are cut at the frame. */
#include "io/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define SCALE 2       /* text: 10 x 14 pixel glyphs */
#define TITLE_SCALE 3 /* title: 15 x 21 */
#define PAD 12
#define TICK 6
#define INSET 12 /* room inside the frame so edge points keep their markers */
#define MAX_TICKS 40

static const amod_rgb ink = {40, 40, 40}, grid = {228, 228, 228}, frame = {90, 90, 90};

/* A numbered axis: range, tick step, and how tick numbers are written. */
typedef struct {
    double lo, hi, step, div;
    int decimals;
    const char *suffix;
} axis;

/* Fits ticks to [lo, hi], about target of them; expand widens the range to whole steps. */
static void axis_fit(axis *a, double lo, double hi, int target, int expand) {
    if (!(hi > lo)) {
        double d = lo == 0.0 ? 1.0 : fabs(lo) * 0.1;
        lo -= d;
        hi += d;
    }
    if (target < 2) target = 2;
    double raw = (hi - lo) / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    a->step = (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
    if (!isfinite(hi - lo) || !(a->step > 0.0) || !isfinite(a->step)) { /* absurd data: any sane axis */
        lo = -1.0;
        hi = 1.0;
        a->step = 0.5;
    }
    if (expand) {
        lo = floor(lo / a->step + 1e-9) * a->step;
        hi = ceil(hi / a->step - 1e-9) * a->step;
    }
    a->lo = lo;
    a->hi = hi;
    /* Big numbers (FLOPs) get a suffix so tick labels stay short. */
    double m = fmax(fabs(lo), fabs(hi));
    a->div = 1.0;
    a->suffix = "";
    if (m >= 1e12) a->div = 1e12, a->suffix = "T";
    else if (m >= 1e9) a->div = 1e9, a->suffix = "G";
    else if (m >= 1e6) a->div = 1e6, a->suffix = "M";
    double s = a->step / a->div;
    a->decimals = s >= 1.0 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (a->decimals > 10) a->decimals = 10;
}

static int axis_ticks(const axis *a, double *v) {
    double first = ceil(a->lo / a->step - 1e-9);
    int n = 0;
    for (int i = 0; n < MAX_TICKS; i++) {
        double t = (first + i) * a->step;
        if (t > a->hi + a->step * 1e-9) break;
        v[n++] = fabs(t) < a->step * 1e-9 ? 0.0 : t; /* never "-0.0" */
    }
    return n;
}

static void axis_label(const axis *a, double v, char *buf, size_t size) {
    snprintf(buf, size, "%.*f%s", a->decimals, v / a->div, a->suffix);
}

/* Position of v along [0, len), inset from both ends; reversed for y (up is smaller). */
static int axis_pos(const axis *a, double v, int len, int reverse) {
    double t = (v - a->lo) / (a->hi - a->lo), p = INSET + t * (len - 2 * INSET);
    if (reverse) p = len - 1 - p;
    if (!(p > -1e6)) p = -1e6; /* NaN too */
    if (p > 1e6) p = 1e6;
    return (int)lround(p);
}

static int is_named(const amod_series *s) { return s->name && s->name[0]; }

static double series_x(const amod_series *s, int i) { return s->x ? s->x[i] : (double)i; }

/* Square, diamond, triangle: series told apart without colour too. */
static void marker(amod_image *c, int x, int y, int shape, amod_rgb color) {
    const int r = 4;
    for (int dy = -r; dy <= r; dy++) {
        int half = shape == 0 ? r : shape == 1 ? r - abs(dy) : (dy + r) / 2;
        amod_canvas_fill_rect(c, x - half, y + dy, 2 * half + 1, 1, color);
    }
}

static void legend_swatch(amod_image *c, int x, int y, int i, amod_plot_kind kind) {
    amod_rgb color = amod_canvas_palette(i);
    int mid = y + 7 * SCALE / 2;
    if (kind == AMOD_PLOT_BARS) {
        amod_canvas_fill_rect(c, x + 6, mid - 7, 16, 14, color);
    } else {
        amod_canvas_line(c, x, mid, x + 28, mid, color, 2);
        marker(c, x + 14, mid, i % 3, color);
    }
}

typedef struct {
    int n_cat;        /* bars: groups */
    axis x, y;
    int px, py, pw, ph; /* plot area on the canvas */
} layout;

static int data_ranges(const amod_plot *p, double *xlo, double *xhi, double *ylo, double *yhi, int *n_cat) {
    int any = 0;
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    *n_cat = 0;
    for (int s = 0; s < p->n_series; s++) {
        const amod_series *se = &p->series[s];
        if (se->n > *n_cat) *n_cat = se->n;
        for (int i = 0; i < se->n; i++) {
            double x = series_x(se, i), y = se->y[i];
            if (!isfinite(y) || (p->kind == AMOD_PLOT_LINES && !isfinite(x))) continue;
            any = 1;
            *xlo = fmin(*xlo, x);
            *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y);
            *yhi = fmax(*yhi, y);
        }
    }
    return any;
}

static void draw_lines(amod_image *area, const amod_plot *p, const layout *L) {
    for (int s = 0; s < p->n_series; s++) {
        const amod_series *se = &p->series[s];
        amod_rgb color = amod_canvas_palette(s);
        int have_prev = 0, px = 0, py = 0;
        for (int i = 0; i < se->n; i++) {
            double x = series_x(se, i), y = se->y[i];
            if (!isfinite(x) || !isfinite(y)) {
                have_prev = 0;
                continue;
            }
            int cx = axis_pos(&L->x, x, L->pw, 0), cy = axis_pos(&L->y, y, L->ph, 1);
            if (have_prev) amod_canvas_line(area, px, py, cx, cy, color, 2);
            have_prev = 1;
            px = cx;
            py = cy;
        }
        for (int i = 0; i < se->n; i++) {
            double x = series_x(se, i), y = se->y[i];
            if (isfinite(x) && isfinite(y))
                marker(area, axis_pos(&L->x, x, L->pw, 0), axis_pos(&L->y, y, L->ph, 1), s % 3, color);
        }
    }
}

static double group_w(const layout *L) { return (double)L->pw / L->n_cat; }

static void draw_bars(amod_image *area, const amod_plot *p, const layout *L) {
    double gw = group_w(L), bw = gw * 0.8 / p->n_series;
    double base = L->y.lo > 0.0 ? L->y.lo : L->y.hi < 0.0 ? L->y.hi : 0.0;
    int y0 = axis_pos(&L->y, base, L->ph, 1);
    for (int s = 0; s < p->n_series; s++) {
        const amod_series *se = &p->series[s];
        for (int i = 0; i < se->n; i++) {
            if (!isfinite(se->y[i])) continue;
            int x0 = (int)lround(i * gw + 0.1 * gw + s * bw), x1 = (int)lround(i * gw + 0.1 * gw + (s + 1) * bw);
            if (x1 <= x0) x1 = x0 + 1;
            int y1 = axis_pos(&L->y, se->y[i], L->ph, 1);
            int top = y1 < y0 ? y1 : y0, h = abs(y1 - y0);
            amod_canvas_fill_rect(area, x0, top, x1 - x0, h ? h : 1, amod_canvas_palette(s));
        }
    }
    if (L->y.lo < 0.0 && L->y.hi > 0.0) amod_canvas_fill_rect(area, 0, y0, L->pw, 1, frame);
}

static const char *category_name(const amod_plot *p, int i, char *buf, size_t size) {
    if (p->categories && p->categories[i]) return p->categories[i];
    snprintf(buf, size, "%d", i);
    return buf;
}

int amod_plot_render(const amod_plot *p, amod_image *out, amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!p->series || p->n_series <= 0) return amod_fail(err, "plot: no series to draw");
    for (int s = 0; s < p->n_series; s++)
        if (p->series[s].n < 0 || (p->series[s].n > 0 && !p->series[s].y))
            return amod_fail(err, "plot: series %d has no values", s);
    int W = p->width ? p->width : 800, H = p->height ? p->height : 500;
    double xlo, xhi, ylo, yhi;
    layout L;
    memset(&L, 0, sizeof L);
    if (!data_ranges(p, &xlo, &xhi, &ylo, &yhi, &L.n_cat))
        return amod_fail(err, "plot%s%s: nothing to plot, no finite values", p->title ? " " : "",
                         p->title ? p->title : "");
    int fixed = p->y_min < p->y_max;
    if (p->kind == AMOD_PLOT_BARS && !fixed) { /* bars grow from zero */
        ylo = fmin(ylo, 0.0);
        yhi = fmax(yhi, 0.0);
    }
    char buf[64], cat[32];
    int th = amod_canvas_text_height("0", SCALE);

    /* Left margin: y label and the widest y tick number, which depend on the ticks. */
    int top = PAD + (p->title ? amod_canvas_text_height(p->title, TITLE_SCALE) + PAD : 0);
    int bottom = TICK + 4 + th + PAD + (p->x_label ? th + PAD / 2 : 0);
    L.ph = H - top - bottom;
    axis_fit(&L.y, fixed ? p->y_min : ylo, fixed ? p->y_max : yhi, L.ph / 70, !fixed);
    double yt[MAX_TICKS], xt[MAX_TICKS];
    int nyt = axis_ticks(&L.y, yt), tick_w = 0;
    for (int i = 0; i < nyt; i++) {
        axis_label(&L.y, yt[i], buf, sizeof buf);
        int w = amod_canvas_text_width(buf, SCALE);
        if (w > tick_w) tick_w = w;
    }
    int left = PAD + (p->y_label ? th + PAD : 0) + tick_w + 4 + TICK;
    int legend_w = 0, n_named = 0;
    for (int s = 0; s < p->n_series; s++) {
        if (!is_named(&p->series[s])) continue;
        n_named++;
        int w = amod_canvas_text_width(p->series[s].name, SCALE);
        if (w > legend_w) legend_w = w;
    }
    /* Without a legend, room for half of the last x tick number. */
    int right = n_named ? PAD + 8 + 28 + 8 + legend_w + 8 + PAD : 3 * PAD;
    L.px = left;
    L.py = top;
    L.pw = W - left - right;
    if (L.pw < 80 || L.ph < 60)
        return amod_fail(err, "plot: %dx%d pixels is too small for its labels and legend", W, H);
    /* x ticks: as many as fit with their numbers a little apart. */
    for (int target = L.pw / 60; p->kind == AMOD_PLOT_LINES; target--) {
        axis_fit(&L.x, xlo, xhi, target, 0);
        double xs[MAX_TICKS];
        int n = axis_ticks(&L.x, xs), widest = 0;
        for (int i = 0; i < n; i++) {
            axis_label(&L.x, xs[i], buf, sizeof buf);
            int w = amod_canvas_text_width(buf, SCALE);
            if (w > widest) widest = w;
        }
        double spacing = L.x.step / (L.x.hi - L.x.lo) * (L.pw - 2 * INSET);
        if (widest + 16 <= spacing || target <= 2) break;
    }

    if (amod_canvas_new(out, W, H, AMOD_WHITE, err)) return -1;
    amod_image area;
    if (amod_canvas_new(&area, L.pw, L.ph, AMOD_WHITE, err)) {
        amod_image_free(out);
        return -1;
    }
    /* Grid, data, then the area goes onto the canvas inside a frame. */
    for (int i = 0; i < nyt; i++) amod_canvas_fill_rect(&area, 0, axis_pos(&L.y, yt[i], L.ph, 1), L.pw, 1, grid);
    int nxt = p->kind == AMOD_PLOT_LINES ? axis_ticks(&L.x, xt) : 0;
    for (int i = 0; i < nxt; i++) amod_canvas_fill_rect(&area, axis_pos(&L.x, xt[i], L.pw, 0), 0, 1, L.ph, grid);
    if (p->kind == AMOD_PLOT_LINES)
        draw_lines(&area, p, &L);
    else
        draw_bars(&area, p, &L);
    amod_canvas_blit(out, &area, L.px, L.py, 1);
    amod_image_free(&area);
    amod_canvas_rect(out, L.px - 1, L.py - 1, L.pw + 2, L.ph + 2, frame, 1);

    /* y ticks and numbers, right-aligned against the axis. */
    for (int i = 0; i < nyt; i++) {
        int y = L.py + axis_pos(&L.y, yt[i], L.ph, 1);
        amod_canvas_fill_rect(out, L.px - 1 - TICK, y, TICK, 1, frame);
        axis_label(&L.y, yt[i], buf, sizeof buf);
        amod_canvas_text(out, L.px - 1 - TICK - 4 - amod_canvas_text_width(buf, SCALE), y - th / 2, buf, ink, SCALE);
    }
    /* x ticks: numbers for lines, group names for bars (every k-th when they would touch). */
    int label_y = L.py + L.ph + 1 + TICK + 4;
    if (p->kind == AMOD_PLOT_LINES) {
        for (int i = 0; i < nxt; i++) {
            int x = L.px + axis_pos(&L.x, xt[i], L.pw, 0);
            amod_canvas_fill_rect(out, x, L.py + L.ph + 1, 1, TICK, frame);
            axis_label(&L.x, xt[i], buf, sizeof buf);
            amod_canvas_text(out, x - amod_canvas_text_width(buf, SCALE) / 2, label_y, buf, ink, SCALE);
        }
    } else {
        int widest = 0;
        for (int i = 0; i < L.n_cat; i++) {
            int w = amod_canvas_text_width(category_name(p, i, cat, sizeof cat), SCALE);
            if (w > widest) widest = w;
        }
        int every = (int)ceil((widest + 10) / group_w(&L));
        if (every < 1) every = 1;
        for (int i = 0; i < L.n_cat; i += every) {
            int x = L.px + (int)lround((i + 0.5) * group_w(&L));
            const char *name = category_name(p, i, cat, sizeof cat);
            amod_canvas_fill_rect(out, x, L.py + L.ph + 1, 1, TICK, frame);
            amod_canvas_text(out, x - amod_canvas_text_width(name, SCALE) / 2, label_y, name, ink, SCALE);
        }
    }
    if (p->x_label)
        amod_canvas_text(out, L.px + (L.pw - amod_canvas_text_width(p->x_label, SCALE)) / 2, label_y + th + PAD / 2,
                         p->x_label, ink, SCALE);
    if (p->y_label)
        amod_canvas_text_up(out, PAD, L.py + (L.ph - amod_canvas_text_width(p->y_label, SCALE)) / 2, p->y_label, ink,
                            SCALE);
    if (p->title)
        amod_canvas_text(out, (W - amod_canvas_text_width(p->title, TITLE_SCALE)) / 2, PAD, p->title, ink,
                         TITLE_SCALE);

    /* Legend: a framed box right of the plot, one swatch and name a named series. */
    if (n_named) {
        int lx = L.px + L.pw + PAD + 8, ly = L.py, row = th + 10;
        int bw = 8 + 28 + 8 + legend_w + 8, bh = n_named * row + 10;
        amod_canvas_rect(out, lx, ly, bw, bh, grid, 1);
        int y = ly + 8;
        for (int s = 0; s < p->n_series; s++) {
            if (!is_named(&p->series[s])) continue;
            legend_swatch(out, lx + 8, y, s, p->kind);
            amod_canvas_text(out, lx + 8 + 28 + 8, y, p->series[s].name, ink, SCALE);
            y += row;
        }
    }
    return 0;
}

int amod_plot_write_png(const amod_plot *p, const char *path, amod_error *err) {
    amod_image img;
    if (amod_plot_render(p, &img, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return amod_fail(err, "%s: %s", path, msg);
    }
    int rc = amod_image_write_png(path, &img, err);
    amod_image_free(&img);
    return rc;
}
