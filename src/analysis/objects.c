/* Object precision of routing (see objects.h). */
#include "analysis/objects.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int amod_boxes_read(const char *path, amod_boxes *b, amod_error *err) {
    memset(b, 0, sizeof *b);
    if (amod_csv_read(path, &b->csv, err)) return -1;
    static const char *const names[5] = {"path", "x", "y", "w", "h"};
    int *cols[5] = {&b->path, &b->x, &b->y, &b->w, &b->h};
    for (int c = 0; c < 5; c++)
        if ((*cols[c] = amod_csv_column(&b->csv, names[c])) < 0) {
            amod_boxes_free(b);
            return amod_fail(err, "%s: no '%s' column (expected path,label,x,y,w,h)", path, names[c]);
        }
    for (int r = 1; r < b->csv.rows; r++) {
        const double x = amod_csv_number(&b->csv, r, b->x), y = amod_csv_number(&b->csv, r, b->y),
                     w = amod_csv_number(&b->csv, r, b->w), h = amod_csv_number(&b->csv, r, b->h);
        if (!isfinite(x) || !isfinite(y) || !(w > 0 && isfinite(w)) || !(h > 0 && isfinite(h))) {
            amod_boxes_free(b);
            return amod_fail(err, "%s: line %d: the box is not x, y and a positive w, h", path, r + 1);
        }
    }
    return 0;
}

void amod_boxes_free(amod_boxes *b) {
    amod_csv_free(&b->csv);
    memset(b, 0, sizeof *b);
}

static int find_row(const amod_boxes *b, const char *name) {
    for (int r = 1; r < b->csv.rows; r++)
        if (!strcmp(amod_csv_text(&b->csv, r, b->path), name)) return r;
    return -1;
}

int amod_boxes_place(const amod_boxes *b, const amod_inputs *in, const char *boxes_path, double (*rect)[4],
                     amod_error *err) {
    for (int i = 0; i < in->count; i++) {
        const int r = find_row(b, in->names[i]);
        if (r < 0) return amod_fail(err, "%s: no box for image %s", boxes_path, in->names[i]);
        const double *pl = in->place[i];
        rect[i][0] = amod_csv_number(&b->csv, r, b->x) * pl[0] - pl[2];
        rect[i][1] = amod_csv_number(&b->csv, r, b->y) * pl[1] - pl[3];
        rect[i][2] = rect[i][0] + amod_csv_number(&b->csv, r, b->w) * pl[0];
        rect[i][3] = rect[i][1] + amod_csv_number(&b->csv, r, b->h) * pl[1];
    }
    return 0;
}

int amod_object_precision(const amod_routing *rt, int layer, int input_size, const double (*rect)[4],
                          double *on_object, double *chance, amod_error *err) {
    const int N = rt->n_tokens, P = rt->n_prefix, k = rt->k[layer];
    const int grid = (int)lround(sqrt((double)(N - P)));
    if (!rt->kept[layer] || grid * grid != N - P || input_size % grid)
        return amod_fail(err, "layer %d: no routing of square patch grids to score", layer);
    const double ps = (double)input_size / grid; /* a patch's side in input pixels */
    unsigned char *on = amod_alloc((size_t)(N - P), err); /* patch p's centre is on the object */
    if (!on) return -1;
    for (int i = 0; i < rt->n_images; i++) {
        const double *box = rect[i];
        int n_on = 0;
        for (int p = 0; p < N - P; p++) {
            const double cx = (p % grid + 0.5) * ps, cy = (p / grid + 0.5) * ps;
            on[p] = cx >= box[0] && cx < box[2] && cy >= box[1] && cy < box[3];
            n_on += on[p];
        }
        int kept = 0, kept_on = 0;
        for (int j = 0; j < k; j++) {
            const int t = rt->kept[layer][(size_t)i * k + j];
            if (t < P) continue;
            kept++;
            kept_on += on[t - P];
        }
        on_object[i] = kept ? (double)kept_on / kept : NAN;
        chance[i] = (double)n_on / (N - P);
    }
    free(on);
    return 0;
}
