/* The cluttered image-folder writer (cluttered.h). */
#include "data/cluttered.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/image.h"

#define STREAM_CLUTTER 0x434c5554ull /* "CLUT" */

void amod_cluttered_config_default(amod_cluttered_config *c) {
    *c = (amod_cluttered_config){.size = 64, .per_class = 0, .fragments = 8, .fragment_size = 8, .seed = 0};
}

/* Draws the w x h window at (sx, sy) of grayscale image `index` at (x, y), tinted, keeping the
 * brighter of canvas and item (items and clutter overlap the way strokes do). */
static void paste(amod_image *c, const amod_dataset *ds, int64_t index, int sx, int sy, int w, int h, int x, int y,
                  const float tint[3]) {
    const uint8_t *src = ds->pixels + (size_t)index * ds->channels * ds->height * ds->width;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            const int cx = x + i, cy = y + j;
            if (cx < 0 || cy < 0 || cx >= c->width || cy >= c->height) continue;
            const float v = src[(size_t)(sy + j) * ds->width + (sx + i)];
            unsigned char *p = c->rgb + 3 * ((size_t)cy * c->width + cx);
            for (int k = 0; k < 3; k++) {
                const int t = (int)(v * tint[k] + 0.5f);
                if (t > p[k]) p[k] = (unsigned char)(t > 255 ? 255 : t);
            }
        }
}

static void random_tint(amod_data_rng *r, float lo, float tint[3]) {
    for (int k = 0; k < 3; k++) tint[k] = lo + (1.0f - lo) * amod_data_rng_uniform(r);
}

int amod_cluttered_write(const amod_dataset *ds, const char *out_dir, const char *split,
                         const amod_cluttered_config *cfg, int64_t *written, amod_error *err) {
    *written = 0;
    if (ds->files || !ds->pixels || ds->channels != 1 || ds->count < 1)
        return amod_fail(err, "cluttered: needs a grayscale in-memory data set (IDX)");
    if (cfg->size < ds->width || cfg->size < ds->height || cfg->size > 1024)
        return amod_fail(err, "cluttered: a canvas of %d pixels does not hold %d x %d items (at most 1024)", cfg->size,
                         ds->width, ds->height);
    if (cfg->fragments < 0 || cfg->fragments > 64 || cfg->fragment_size < 1 || cfg->fragment_size > ds->width ||
        cfg->fragment_size > ds->height || cfg->per_class < 0)
        return amod_fail(err, "cluttered: 0..64 fragments of 1..%d pixels, per_class >= 0", ds->width);
    if (ds->num_classes > 100) return amod_fail(err, "cluttered: at most 100 classes (folders 00..99)");
    char dir[4096], path[4200], rel[256];
    int64_t *taken = amod_zalloc((size_t)ds->num_classes * sizeof *taken, err);
    if (!taken) return -1;
    snprintf(dir, sizeof dir, "%s/%s/boxes.csv", out_dir, split);
    size_t cap = 1 << 16, len = 0;
    char *csv = amod_alloc(cap, err);
    int rc = csv ? 0 : -1;
    if (!rc) len = (size_t)snprintf(csv, cap, "path,label,x,y,w,h\n");
    uint64_t split_tag = 0;
    for (const char *s = split; *s; s++) split_tag = split_tag * 131 + (unsigned char)*s;
    amod_image canvas = {0};
    for (int64_t i = 0; !rc && i < ds->count; i++) {
        const int label = ds->labels[i];
        if (label >= ds->num_classes || (cfg->per_class && taken[label] >= cfg->per_class)) continue;
        taken[label]++;
        amod_data_rng r;
        amod_data_rng_seed4(&r, cfg->seed, STREAM_CLUTTER, split_tag, (uint64_t)i);
        amod_rgb bg = {(unsigned char)amod_data_rng_below(&r, 40), (unsigned char)amod_data_rng_below(&r, 40),
                       (unsigned char)amod_data_rng_below(&r, 40)};
        if (amod_image_alloc(&canvas, cfg->size, cfg->size, err)) rc = -1;
        for (size_t p = 0; !rc && p < (size_t)cfg->size * cfg->size; p++)
            canvas.rgb[3 * p] = bg.r, canvas.rgb[3 * p + 1] = bg.g, canvas.rgb[3 * p + 2] = bg.b;
        float tint[3];
        const int fs = cfg->fragment_size;
        for (int f = 0; !rc && f < cfg->fragments; f++) { /* clutter: pieces of other items */
            const int64_t other = (int64_t)amod_data_rng_below(&r, (uint64_t)ds->count);
            const int sx = (int)amod_data_rng_below(&r, (uint64_t)(ds->width - fs + 1));
            const int sy = (int)amod_data_rng_below(&r, (uint64_t)(ds->height - fs + 1));
            const int x = (int)amod_data_rng_below(&r, (uint64_t)(cfg->size - fs + 1));
            const int y = (int)amod_data_rng_below(&r, (uint64_t)(cfg->size - fs + 1));
            random_tint(&r, 0.3f, tint);
            paste(&canvas, ds, other, sx, sy, fs, fs, x, y, tint);
        }
        const int x = (int)amod_data_rng_below(&r, (uint64_t)(cfg->size - ds->width + 1));
        const int y = (int)amod_data_rng_below(&r, (uint64_t)(cfg->size - ds->height + 1));
        random_tint(&r, 0.5f, tint);
        if (!rc) paste(&canvas, ds, i, 0, 0, ds->width, ds->height, x, y, tint);
        snprintf(rel, sizeof rel, "%s/%02d/%06lld.png", split, label, (long long)i);
        snprintf(dir, sizeof dir, "%s/%s/%02d", out_dir, split, label);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        if (!rc && (amod_mkdir_p(dir, err) || amod_image_write_png(path, &canvas, err))) rc = -1;
        amod_image_free(&canvas);
        if (!rc) {
            char row[512];
            const int n = snprintf(row, sizeof row, "%s,%d,%d,%d,%d,%d\n", rel, label, x, y, ds->width, ds->height);
            if (len + (size_t)n + 1 > cap) {
                char *grown = realloc(csv, cap * 2);
                if (!grown) rc = amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
                else csv = grown, cap *= 2;
            }
            if (!rc) memcpy(csv + len, row, (size_t)n + 1), len += (size_t)n;
            ++*written;
        }
    }
    if (!rc && *written == 0) rc = amod_fail(err, "cluttered: no image selected");
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s/boxes.csv", out_dir, split);
        rc = amod_write_file_atomic(path, csv, len, err);
    }
    free(csv);
    free(taken);
    return rc;
}
