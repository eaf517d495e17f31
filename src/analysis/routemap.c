/* Drawing routing maps (see routemap.h). */
#include "analysis/routemap.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/font.h"

#define TEXT 2        /* font scale: 12 x 20 pixels a character with its spacing */
#define LINE (AMOD_FONT_LINE * TEXT)
#define PAD 12        /* space between cells and around the grid */
#define LABEL_CHARS 24 /* longer row labels are cut */
#define TILE_MIN 160  /* small inputs (28, 32 px) are enlarged to at least this many pixels */

int amod_routemap_tile(const amod_image *picture, const int32_t *kept, int k, int n_prefix, int patch_size,
                       int scale, amod_image *out, amod_error *err) {
    const int S = picture->width;
    if (picture->height != S || patch_size < 1 || S % patch_size)
        return amod_fail(err, "routing map: a %dx%d picture does not split into %d-pixel patches", picture->width,
                         picture->height, patch_size);
    const int g = S / patch_size, P = patch_size * scale;
    unsigned char kept_patch[256 * 256];
    if (g > 256) return amod_fail(err, "routing map: %d x %d patches is too many", g, g);
    if (amod_canvas_new(out, S * scale, S * scale, AMOD_WHITE, err)) return -1;
    amod_canvas_blit(out, picture, 0, 0, scale);
    memset(kept_patch, 0, (size_t)g * g);
    for (int j = 0; j < k; j++)
        if (kept[j] >= n_prefix && kept[j] - n_prefix < g * g) kept_patch[kept[j] - n_prefix] = 1;
    for (int p = 0; p < g * g; p++) {
        if (kept_patch[p]) continue;
        amod_canvas_blend_rect(out, (p % g) * P, (p / g) * P, P, P, AMOD_WHITE, AMOD_ROUTEMAP_WHITEN);
        /* A faint outline, so a skipped patch over a white object still shows. */
        if (P >= 8) amod_canvas_rect(out, (p % g) * P, (p / g) * P, P, P, AMOD_RGB(200, 200, 200), 1);
    }
    return 0;
}

/* Copies s into buf, cut to LABEL_CHARS with ".." when longer. */
static const char *cut(const char *s, char *buf, size_t cap) {
    size_t n = strlen(s);
    if (n <= LABEL_CHARS) return s;
    snprintf(buf, cap, "%.*s..", LABEL_CHARS - 2, s);
    return buf;
}

static void centered(amod_image *c, int x, int w, int y, const char *s, amod_rgb color) {
    amod_canvas_text(c, x + (w - amod_canvas_text_width(s, TEXT)) / 2, y, s, color, TEXT);
}

int amod_routemap_render(const amod_routemap_row *rows, int n_rows, const int *layers, int n_layers,
                         amod_image *out, amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    if (n_rows < 1) return amod_fail(err, "routing map: no rows to draw");
    const int S = rows[0].picture->width;
    for (int r = 0; r < n_rows; r++)
        if (rows[r].picture->width != S || rows[r].picture->height != S)
            return amod_fail(err, "routing map: row %d's picture is %dx%d, the first is %dx%d", r,
                             rows[r].picture->width, rows[r].picture->height, S, S);
    const int scale = S >= TILE_MIN ? 1 : (TILE_MIN + S - 1) / S, T = S * scale;
    char buf[64];
    int label_w = 0;
    for (int r = 0; r < n_rows; r++)
        for (int i = 0; i < 4 && rows[r].label[i]; i++) {
            int w = amod_canvas_text_width(cut(rows[r].label[i], buf, sizeof buf), TEXT);
            label_w = w > label_w ? w : label_w;
        }
    const int cell_w = T + PAD, cell_h = T + LINE + PAD, header = LINE + PAD;
    const int x0 = PAD + label_w + PAD, y0 = PAD + header;
    const long width = x0 + (long)(1 + n_layers) * cell_w, height = y0 + (long)n_rows * cell_h;
    if (width > 32768 || height > 32768 || width * height > AMOD_IMAGE_MAX_PIXELS)
        return amod_fail(err, "routing map of %ld x %ld pixels is too large: fewer images or layers", width, height);
    if (amod_canvas_new(out, (int)width, (int)height, AMOD_WHITE, err)) return -1;
    const amod_rgb ink = AMOD_RGB(20, 20, 20), faint = AMOD_RGB(110, 110, 110), rule = AMOD_RGB(200, 200, 200);

    centered(out, x0, T, PAD, "input", ink);
    for (int c = 0; c < n_layers; c++) {
        snprintf(buf, sizeof buf, "layer %d", layers[c]);
        centered(out, x0 + (1 + c) * cell_w, T, PAD, buf, ink);
    }
    amod_image tile = {0};
    for (int r = 0; r < n_rows; r++) {
        const amod_routemap_row *row = &rows[r];
        const amod_routing *rt = row->routing;
        const int y = y0 + r * cell_h;
        if (r > 0 && row->picture != rows[r - 1].picture) /* a rule between images */
            amod_canvas_fill_rect(out, PAD, y - PAD / 2 - 1, (int)width - 2 * PAD, 1, rule);
        for (int i = 0; i < 4 && row->label[i]; i++)
            amod_canvas_text(out, PAD, y + i * LINE, cut(row->label[i], buf, sizeof buf), i == 0 ? ink : faint, TEXT);
        amod_canvas_blit(out, row->picture, x0, y, scale);
        for (int c = 0; c < n_layers; c++) {
            const int l = layers[c], x = x0 + (1 + c) * cell_w;
            if (l < 0 || l >= rt->depth || !rt->k[l]) {
                amod_canvas_blit(out, row->picture, x, y, scale);
                centered(out, x, T, y + T + 4, "dense", faint);
                continue;
            }
            if (amod_routemap_tile(row->picture, rt->kept[l] + (size_t)row->image * rt->k[l], rt->k[l],
                                   rt->n_prefix, row->patch_size, scale, &tile, err)) {
                amod_image_free(out);
                return -1;
            }
            amod_canvas_blit(out, &tile, x, y, 1);
            amod_image_free(&tile);
            snprintf(buf, sizeof buf, "k %d/%d", rt->k[l], rt->n_tokens);
            centered(out, x, T, y + T + 4, buf, faint);
        }
    }
    return 0;
}
