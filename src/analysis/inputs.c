/* Images for the analyses, from files or a data set (see inputs.h). */
#include "analysis/inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "analysis/inputs_data.h"
#include "data/dataset.h"
#include "data/imagefolder.h"

void amod_inputs_init(amod_inputs *in, const amod_vit_config *cfg) {
    memset(in, 0, sizeof *in);
    in->channels = cfg->in_chans;
    in->size = cfg->img_size;
    in->num_classes = cfg->num_classes;
    for (int c = 0; c < 3; c++) {
        in->mean[c] = cfg->mean[c];
        in->std[c] = cfg->std[c];
    }
}

void amod_inputs_free(amod_inputs *in) {
    for (int i = 0; i < in->count; i++) amod_image_free(&in->pictures[i]);
    free(in->x);
    free(in->labels);
    free(in->pictures);
    free(in->names);
    free(in->place);
    memset(in, 0, sizeof *in);
}

static size_t image_floats(const amod_inputs *in) { return (size_t)in->channels * in->size * in->size; }

/* Room for `more` images; the new slots are zeroed. */
static int grow(amod_inputs *in, int more, amod_error *err) {
    if (more > (1 << 24) - in->count) return amod_fail(err, "too many images (%d more)", more);
    int need = in->count + more;
    if (need <= in->cap) return 0;
    int cap = in->cap ? in->cap : 8;
    while (cap < need) cap *= 2;
    float *x = realloc(in->x, (size_t)cap * image_floats(in) * sizeof *x);
    if (x) in->x = x;
    int64_t *labels = realloc(in->labels, (size_t)cap * sizeof *labels);
    if (labels) in->labels = labels;
    amod_image *pics = realloc(in->pictures, (size_t)cap * sizeof *pics);
    if (pics) in->pictures = pics;
    char(*names)[128] = realloc(in->names, (size_t)cap * sizeof *names);
    if (names) in->names = names;
    double(*place)[4] = realloc(in->place, (size_t)cap * sizeof *place);
    if (place) in->place = place;
    if (!x || !labels || !pics || !names || !place) return amod_fail(err, "out of memory for %d images", cap);
    memset(in->pictures + in->cap, 0, (size_t)(cap - in->cap) * sizeof *pics);
    in->cap = cap;
    return 0;
}

int amod_inputs_add_file(amod_inputs *in, const char *path, amod_error *err) {
    amod_image img = {0}, seen = {0};
    amod_image_transform t;
    amod_image_transform_init(&t, in->size, in->channels, in->mean, in->std);
    int rc = -1;
    if (amod_image_read(path, &img, err) || amod_image_require_square(&img, path, err) || grow(in, 1, err))
        goto done;
    float *x = in->x + (size_t)in->count * image_floats(in);
    if (amod_image_preprocess(&img, &t, &seen, err) || amod_image_to_tensor(&img, &t, x, err)) {
        amod_error e = *err; /* amod_fail must not read the buffer it writes */
        amod_fail(err, "%s: %s", path, e.msg);
        goto done;
    }
    const char *base = strrchr(path, '/');
    snprintf(in->names[in->count], sizeof in->names[0], "%s", base ? base + 1 : path);
    in->labels[in->count] = -1;
    amod_image_transform_place(&t, img.width, img.height, in->place[in->count]);
    in->pictures[in->count] = seen;
    seen = (amod_image){0};
    in->count++;
    rc = 0;
done:
    amod_image_free(&img);
    amod_image_free(&seen);
    return rc;
}

int amod_inputs_add_data(amod_inputs *in, const char *dir, const char *split, const int64_t *indices, int n,
                         amod_error *err) {
    if (grow(in, n, err)) return -1;
    float *x = in->x + (size_t)in->count * image_floats(in);
    int w, h;
    if (inputs_read_data(dir, split, indices, n, in->channels, in->size, in->mean, in->std, in->num_classes, x,
                         in->labels + in->count, &w, &h, err))
        return -1;
    for (int i = 0; i < n; i++, x += image_floats(in)) {
        double *pl = in->place[in->count]; /* the loader resizes straight to the input */
        pl[0] = (double)in->size / w, pl[1] = (double)in->size / h, pl[2] = pl[3] = 0.0;
        if (amod_image_from_tensor(x, in->channels, in->size, in->size, in->mean, in->std, &in->pictures[in->count],
                                   err))
            return -1;
        snprintf(in->names[in->count], sizeof in->names[0], "%s #%lld", split, (long long)indices[i]);
        in->count++;
    }
    return 0;
}

int amod_inputs_add_folder(amod_inputs *in, const char *dir, const char *split, char *const *class_names, int n_names,
                           const int64_t *indices, int n, amod_error *err) {
    amod_dataset ds;
    if (amod_dataset_load_folder(dir, split, class_names, n_names, &ds, err)) return -1;
    int rc = 0;
    if (!ds.files)
        rc = amod_fail(err, "%s: the analyses read the pictures of an image folder or list file, not a pack", dir);
    const size_t skip = strlen(dir) + 1; /* "DIR/" before each path */
    for (int i = 0; i < n && !rc; i++) {
        const int64_t j = indices[i];
        if (j < 0 || j >= ds.count) {
            rc = amod_fail(err, "%s (%s): index %lld is past the end (%lld pictures: 0..%lld)", dir, split,
                           (long long)j, (long long)ds.count, (long long)ds.count - 1);
        } else if (ds.files->labels[j] >= in->num_classes) {
            rc = amod_fail(err, "%s: class %d (%s) is beyond the model's %d classes", ds.files->paths[j],
                           ds.files->labels[j], ds.files->classes[ds.files->labels[j]], in->num_classes);
        } else if (!(rc = amod_inputs_add_file(in, ds.files->paths[j], err))) {
            const char *p = ds.files->paths[j];
            snprintf(in->names[in->count - 1], sizeof in->names[0], "%s",
                     strncmp(p, dir, skip - 1) == 0 && p[skip - 1] == '/' ? p + skip : p);
            in->labels[in->count - 1] = ds.files->labels[j];
        }
    }
    amod_dataset_free(&ds);
    return rc;
}

int amod_parse_indices(const char *s, int64_t **out, int *n, amod_error *err) {
    *out = NULL;
    *n = 0;
    int count = 1;
    for (const char *p = s; *p; p++) count += *p == ',';
    int64_t *v = amod_alloc((size_t)count * sizeof *v, err);
    if (!v) return -1;
    const char *p = s;
    for (int i = 0; i < count; i++) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end == p || x < 0 || (*end != ',' && *end != 0) || *p == '-' || *p == '+' || *p == ' ') {
            free(v);
            return amod_fail(err, "index list '%s': expected non-negative integers separated by commas", s);
        }
        v[i] = x;
        p = end + 1;
    }
    *out = v;
    *n = count;
    return 0;
}
