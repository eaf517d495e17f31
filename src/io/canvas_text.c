/* Bitmap text on a canvas with the built-in 5x7 font, at an integer scale. */
#include "io/canvas.h"

#include "io/font.h"

/* UTF-8 continuation bytes: a non-ASCII character shows as one box, not one per byte. */
static int is_continuation(char ch) { return ((unsigned char)ch & 0xc0) == 0x80; }

int amod_canvas_text_width(const char *s, int scale) {
    if (scale < 1) scale = 1;
    long best = 0, n = 0;
    for (;; s++) {
        if (*s == '\n' || !*s) {
            if (n > best) best = n;
            n = 0;
            if (!*s) break;
        } else if (!is_continuation(*s)) {
            n++;
        }
    }
    long w = best ? (best * AMOD_FONT_ADVANCE - 1) * scale : 0;
    return w > 1L << 30 ? 1 << 30 : (int)w;
}

int amod_canvas_text_height(const char *s, int scale) {
    if (scale < 1) scale = 1;
    long lines = 1;
    for (; *s; s++) lines += *s == '\n';
    long h = ((lines - 1) * AMOD_FONT_LINE + AMOD_FONT_H) * scale;
    return h > 1L << 30 ? 1 << 30 : (int)h;
}

/* One font dot at text position (tx, ty) from the box origin (x, y); turned when up. Long
 * arithmetic and an early bounds test keep far-off coordinates from overflowing. */
static void dot(amod_image *c, long x, long y, long tx, long ty, long len, int up, amod_rgb color, int scale) {
    long px = up ? x + ty : x + tx, py = up ? y + len - tx - scale : y + ty;
    if (px <= -scale || py <= -scale || px >= c->width || py >= c->height) return;
    amod_canvas_fill_rect(c, (int)px, (int)py, scale, scale, color);
}

static void draw(amod_image *c, int x, int y, const char *s, amod_rgb color, int scale, int up) {
    if (!c->rgb || !s) return;
    if (scale < 1) scale = 1;
    long len = up ? amod_canvas_text_width(s, scale) : 0, cx = 0, cy = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            cx = 0;
            cy += (long)AMOD_FONT_LINE * scale;
            continue;
        }
        if (is_continuation((char)*p)) continue;
        const unsigned char *g = amod_font_glyph(*p);
        for (int col = 0; col < AMOD_FONT_W; col++)
            for (int row = 0; row < AMOD_FONT_H; row++)
                if (g[col] >> row & 1)
                    dot(c, x, y, cx + (long)col * scale, cy + (long)row * scale, len, up, color, scale);
        cx += (long)AMOD_FONT_ADVANCE * scale;
    }
}

int amod_canvas_text(amod_image *c, int x, int y, const char *s, amod_rgb color, int scale) {
    draw(c, x, y, s, color, scale, 0);
    return s ? amod_canvas_text_width(s, scale) : 0;
}

void amod_canvas_text_up(amod_image *c, int x, int y, const char *s, amod_rgb color, int scale) {
    draw(c, x, y, s, color, scale, 1);
}
