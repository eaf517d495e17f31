/* Loading a split of an IDX data set into memory, and simple statistics over it. */
#include "data/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/comm.h"
#include "core/error.h"
#include "data/imagefolder.h"
#include "data/pack.h"
#include "io/idx.h"

int amod_dataset_split_paths(const char *dir, const char *split, char *images, char *labels, size_t cap,
                             amod_error *err) {
    const char *prefix;
    if (!strcmp(split, "train"))
        prefix = "train";
    else if (!strcmp(split, "test"))
        prefix = "t10k"; /* the name MNIST gave its test files */
    else
        return amod_fail(err, "%s: unknown split '%s' (expected train or test)", dir, split);
    int a = snprintf(images, cap, "%s/%s-images-idx3-ubyte", dir, prefix);
    int b = snprintf(labels, cap, "%s/%s-labels-idx1-ubyte", dir, prefix);
    if (a < 0 || b < 0 || (size_t)a >= cap || (size_t)b >= cap) return amod_fail(err, "%s: path too long", dir);
    return 0;
}

int amod_dataset_load(const char *dir, const char *split, int num_classes, amod_dataset *ds, amod_error *err) {
    memset(ds, 0, sizeof *ds);
    if (num_classes > 256)
        return amod_fail(err, "%s: %d classes asked, IDX labels are bytes (at most 256)", dir, num_classes);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return amod_fail(err, "%s: no such data set directory (scripts/setup_data.sh creates data/fashion-mnist "
                              "and data/mnist)", dir);
    char images_path[4096], labels_path[4096];
    if (amod_dataset_split_paths(dir, split, images_path, labels_path, sizeof images_path, err)) return -1;
    amod_idx_images im;
    amod_idx_labels lb;
    if (amod_idx_read_pair(images_path, labels_path, num_classes, &im, &lb, err)) return -1;
    if (im.count == 0) {
        amod_idx_images_free(&im);
        amod_idx_labels_free(&lb);
        return amod_fail(err, "%s: no images in the %s split", images_path, split);
    }
    if (num_classes <= 0) {
        num_classes = 0;
        for (int64_t i = 0; i < lb.count; i++)
            if (lb.labels[i] >= num_classes) num_classes = lb.labels[i] + 1;
    }
    ds->pixels = im.pixels;
    ds->labels = lb.labels;
    ds->count = im.count;
    ds->channels = 1; /* IDX images are grayscale */
    ds->height = im.rows;
    ds->width = im.cols;
    ds->num_classes = num_classes;
    return 0;
}

void amod_dataset_free(amod_dataset *ds) {
    if (!ds) return;
    free(ds->pixels);
    free(ds->labels);
    if (ds->owned_files) amod_file_list_free(ds->owned_files);
    free(ds->owned_files);
    if (ds->owned_pack) amod_pack_close(ds->owned_pack);
    free(ds->owned_pack);
    memset(ds, 0, sizeof *ds);
}

void amod_dataset_from_pack(amod_dataset *ds, const amod_pack *pack) {
    memset(ds, 0, sizeof *ds);
    ds->pack = pack;
    ds->count = pack->count;
    ds->channels = 3;
    ds->num_classes = pack->names.num_classes;
}

void amod_dataset_from_files(amod_dataset *ds, const amod_file_list *files) {
    memset(ds, 0, sizeof *ds);
    ds->files = files;
    ds->count = files->count;
    ds->channels = 3;
    ds->num_classes = files->num_classes;
}

static int load_pack(const char *path, char *const *names, int n, amod_dataset *ds, amod_error *err) {
    amod_pack *p = amod_zalloc(sizeof *p, err);
    if (!p || amod_pack_open(path, p, err)) return free(p), -1;
    int same = !names || n == p->names.num_classes;
    for (int c = 0; same && names && c < n; c++) same = !strcmp(names[c], p->names.classes[c]);
    if (!same) {
        amod_pack_close(p);
        free(p);
        return amod_fail(err, "%s: the pack's classes are not the training classes (pack train and val together)", path);
    }
    amod_dataset_from_pack(ds, p);
    ds->owned_pack = p;
    return 0;
}

int amod_dataset_load_folder(const char *dir, const char *split, char *const *names, int n, amod_dataset *ds,
                             amod_error *err) {
    memset(ds, 0, sizeof *ds);
    char path[4200];
    struct stat st;
    const char *s = split;
    if (!strcmp(split, "test")) { /* test/ (or test.amodpack, test.csv) when there is one, else val */
        int found = 0;
        static const char *const forms[] = {"%s/test", "%s/test.amodpack", "%s/test.csv"};
        for (int f = 0; f < 3 && !found; f++) {
            snprintf(path, sizeof path, forms[f], dir);
            found = stat(path, &st) == 0;
        }
        if (!found) s = "val";
    }
    snprintf(path, sizeof path, "%s/%s.amodpack", dir, s);
    if (stat(path, &st) == 0) return load_pack(path, names, n, ds, err);
    amod_file_list *l = amod_zalloc(sizeof *l, err);
    if (!l) return -1;
    snprintf(path, sizeof path, "%s/%s.csv", dir, s); /* a list file for other layouts */
    const int list = stat(path, &st) == 0;
    int rc = list ? amod_file_list_read_csv(path, l, err) : amod_imagefolder_scan(dir, s, l, err);
    if (!rc && names) {
        if (!list) snprintf(path, sizeof path, "%s/%s", dir, s);
        rc = amod_file_list_use_classes(l, names, n, path, err);
    }
    if (rc) {
        amod_file_list_free(l);
        free(l);
        return -1;
    }
    amod_dataset_from_files(ds, l);
    ds->owned_files = l;
    return 0;
}

int64_t amod_dataset_label(const amod_dataset *ds, int64_t i) {
    return ds->files ? ds->files->labels[i] : ds->pack ? ds->pack->labels[i] : ds->labels[i];
}

char *const *amod_dataset_class_names(const amod_dataset *ds) {
    return ds->files ? ds->files->classes : ds->pack ? ds->pack->names.classes : NULL;
}

int amod_dataset_slice(const amod_dataset *ds, int64_t lo, int64_t hi, amod_dataset *part, amod_dataset_view *view,
                       amod_error *err) {
    *part = *ds;
    part->owned_files = NULL, part->owned_pack = NULL;
    part->count = hi - lo;
    memset(view, 0, sizeof *view);
    if (ds->files) {
        if (!(view->files = amod_alloc(sizeof *view->files, err))) return -1;
        *view->files = *ds->files;
        view->files->paths += lo;
        view->files->labels += lo;
        view->files->count = hi - lo;
        part->files = view->files;
    } else if (ds->pack) {
        if (!(view->pack = amod_alloc(sizeof *view->pack, err))) return -1;
        *view->pack = *ds->pack;
        view->pack->labels += lo;
        view->pack->pixels += (size_t)lo * ds->pack->size * ds->pack->size * 3;
        view->pack->count = hi - lo;
        view->pack->map = NULL; /* a view: nothing of its own to close */
        part->pack = view->pack;
    } else {
        const size_t per = (size_t)ds->channels * ds->height * ds->width;
        part->pixels = ds->pixels + (size_t)lo * per;
        part->labels = ds->labels + lo;
    }
    return 0;
}

void amod_dataset_view_free(amod_dataset_view *view) {
    free(view->files);
    free(view->pack);
    memset(view, 0, sizeof *view);
}

uint64_t amod_dataset_hash(const amod_dataset *ds) {
    if (ds->pack) { /* the labels and the size, not the gigabytes of pixels */
        const int64_t shape[2] = {ds->pack->size, ds->pack->count};
        return amod_hash_bytes(ds->pack->labels, (size_t)ds->count * 4, amod_hash_bytes(shape, sizeof shape, 1));
    }
    if (!ds->files) {
        const size_t per = (size_t)ds->channels * ds->height * ds->width;
        return amod_hash_bytes(ds->labels, (size_t)ds->count, amod_hash_bytes(ds->pixels, (size_t)ds->count * per, 0));
    }
    /* the files' names under the folder (nodes may keep it at other paths) and labels */
    uint64_t h = amod_hash_bytes(ds->files->labels, (size_t)ds->count * sizeof *ds->files->labels, 0);
    for (int64_t i = 0; i < ds->count; i++) {
        const char *p = ds->files->paths[i], *slash = strrchr(p, '/');
        p = slash ? slash + 1 : p;
        h = amod_hash_bytes(p, strlen(p) + 1, h);
    }
    return h;
}

void amod_dataset_class_counts(const amod_dataset *ds, int64_t *counts) {
    for (int k = 0; k < ds->num_classes; k++) counts[k] = 0;
    for (int64_t i = 0; i < ds->count; i++) {
        const int64_t y = amod_dataset_label(ds, i);
        if (y < ds->num_classes) counts[y]++;
    }
}

void amod_dataset_stats(const amod_dataset *ds, double *mean, double *std) {
    size_t plane = (size_t)ds->height * (size_t)ds->width;
    for (int c = 0; c < ds->channels; c++) {
        /* Integer sums are exact; a double sum of squares over 47M pixels would round. */
        uint64_t sum = 0, sq = 0;
        for (int64_t i = 0; i < ds->count; i++) {
            const uint8_t *p = ds->pixels + ((size_t)i * (size_t)ds->channels + (size_t)c) * plane;
            for (size_t j = 0; j < plane; j++) {
                sum += p[j];
                sq += (uint64_t)p[j] * p[j];
            }
        }
        double n = (double)ds->count * (double)plane;
        double m = n > 0 ? (double)sum / n : 0.0;
        double var = n > 0 ? (double)sq / n - m * m : 0.0;
        mean[c] = m / 255.0;
        std[c] = sqrt(var > 0 ? var : 0.0) / 255.0;
    }
}
