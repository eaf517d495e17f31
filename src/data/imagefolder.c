/* ImageFolder trees and list files (imagefolder.h). */
#include "data/imagefolder.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/csv.h"

/* A growing array of strings. */
typedef struct {
    char **v;
    size_t n, cap;
} strings;

static int strings_add(strings *s, const char *text, amod_error *err) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory listing files");
        s->v = v, s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(text))) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory listing files");
    s->n++;
    return 0;
}

static void strings_free(strings *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Python's sorted() on str: code point order, which for UTF-8 names is byte order. */
static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* torchvision's IMG_EXTENSIONS, compared lower-cased as has_file_allowed_extension does. */
static int is_image_name(const char *name) {
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t e = strlen(ext[i]);
        if (n < e) continue;
        size_t j = 0;
        while (j < e && tolower((unsigned char)name[n - e + j]) == ext[i][j]) j++;
        if (j == e) return 1;
    }
    return 0;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode); /* follows links, as os.walk(followlinks=True) */
}

/* The entries of dir: sub-directories into dirs, image files into files (full paths). */
static int list_dir(const char *dir, strings *dirs, strings *files, amod_error *err) {
    DIR *d = opendir(dir);
    if (!d) return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    char path[4096];
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            rc = amod_fail(err, "%s/%s: path too long", dir, e->d_name);
        } else if (is_dir(path)) {
            if (dirs) rc = strings_add(dirs, path, err);
        } else if (files && is_image_name(e->d_name)) {
            rc = strings_add(files, path, err);
        }
    }
    closedir(d);
    return rc;
}

/* os.walk(class_dir) sorted by directory path, files sorted within each directory. */
static int walk_class(const char *class_dir, strings *files, amod_error *err) {
    strings dirs = {0};
    int rc = strings_add(&dirs, class_dir, err);
    for (size_t i = 0; !rc && i < dirs.n; i++) rc = list_dir(dirs.v[i], &dirs, NULL, err);
    if (dirs.n > 1) qsort(dirs.v + 1, dirs.n - 1, sizeof *dirs.v, by_bytes); /* the root sorts first */
    for (size_t i = 0; !rc && i < dirs.n; i++) {
        const size_t before = files->n;
        rc = list_dir(dirs.v[i], NULL, files, err);
        if (!rc && files->n > before) qsort(files->v + before, files->n - before, sizeof *files->v, by_bytes);
    }
    strings_free(&dirs);
    return rc;
}

static int take(amod_file_list *out, strings *paths, const int32_t *labels, strings *classes, amod_error *err) {
    out->count = (int64_t)paths->n;
    out->paths = paths->v;
    out->labels = amod_alloc((paths->n ? paths->n : 1) * sizeof *out->labels, err);
    out->num_classes = (int)classes->n;
    out->classes = classes->v;
    memset(paths, 0, sizeof *paths);
    memset(classes, 0, sizeof *classes);
    if (!out->labels) return amod_file_list_free(out), -1;
    memcpy(out->labels, labels, (size_t)out->count * sizeof *labels);
    return 0;
}

int amod_imagefolder_scan(const char *dir, const char *split, amod_file_list *out, amod_error *err) {
    memset(out, 0, sizeof *out);
    char root[4096];
    if (snprintf(root, sizeof root, "%s/%s", dir, split) >= (int)sizeof root) return amod_fail(err, "%s: path too long", dir);
    if (!is_dir(root)) return amod_fail_code(err, AMOD_ERR_IO, "%s: no such folder (an image folder has %s/<class>/<images>)", root, split);
    strings class_dirs = {0}, classes = {0}, paths = {0};
    int32_t *labels = NULL;
    size_t cap = 0;
    int rc = list_dir(root, &class_dirs, NULL, err);
    if (!rc && class_dirs.n) qsort(class_dirs.v, class_dirs.n, sizeof *class_dirs.v, by_bytes);
    if (!rc && class_dirs.n == 0) rc = amod_fail(err, "%s: no class folders (an image folder has %s/<class>/<images>)", root, split);
    if (!rc && class_dirs.n > AMOD_MAX_CLASSES) rc = amod_fail(err, "%s: %zu classes, at most %d", root, class_dirs.n, AMOD_MAX_CLASSES);
    for (size_t c = 0; !rc && c < class_dirs.n; c++) {
        const size_t before = paths.n;
        rc = strings_add(&classes, class_dirs.v[c] + strlen(root) + 1, err) || walk_class(class_dirs.v[c], &paths, err);
        if (!rc && paths.n == before) rc = amod_fail(err, "%s: the class folder holds no image file (.jpg, .jpeg, .png, ...)", class_dirs.v[c]);
        if (!rc && paths.n > cap) {
            size_t ncap = paths.n * 2;
            int32_t *l = realloc(labels, ncap * sizeof *l);
            if (!l) rc = amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory listing %s", root);
            else labels = l, cap = ncap;
        }
        for (size_t i = before; !rc && i < paths.n; i++) labels[i] = (int32_t)c;
    }
    if (!rc) rc = take(out, &paths, labels, &classes, err);
    strings_free(&class_dirs);
    strings_free(&classes);
    strings_free(&paths);
    free(labels);
    return rc;
}

static int is_index(const char *s) {
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return strlen(s) <= 9; /* beyond AMOD_MAX_CLASSES either way; kept within int32 */
}

int amod_file_list_read_csv(const char *path, amod_file_list *out, amod_error *err) {
    memset(out, 0, sizeof *out);
    amod_csv csv;
    if (amod_csv_read(path, &csv, err)) return -1;
    const int cp = amod_csv_column(&csv, "path"), cl = amod_csv_column(&csv, "label");
    strings paths = {0}, classes = {0};
    int32_t *labels = NULL;
    int rc = 0;
    if (cp < 0 || cl < 0) rc = amod_fail(err, "%s: a list file starts with the header 'path,label'", path);
    else if (csv.rows < 2) rc = amod_fail(err, "%s: no images listed", path);
    char base[4096];
    snprintf(base, sizeof base, "%s", path);
    char *slash = strrchr(base, '/');
    if (slash) slash[1] = 0;
    else base[0] = 0;
    /* labels are indices ("3") or names ("cat"): names are numbered in sorted order */
    int named = 0;
    for (int r = 1; !rc && r < csv.rows; r++) {
        const char *l = amod_csv_text(&csv, r, cl);
        if (!*l) rc = amod_fail(err, "%s: line %d: empty label", path, r + 1);
        else if (!is_index(l)) named = 1;
    }
    if (!rc && named) {
        strings all = {0};
        for (int r = 1; !rc && r < csv.rows; r++) rc = strings_add(&all, amod_csv_text(&csv, r, cl), err);
        if (!rc) qsort(all.v, all.n, sizeof *all.v, by_bytes);
        for (size_t i = 0; !rc && i < all.n; i++)
            if (!classes.n || strcmp(classes.v[classes.n - 1], all.v[i])) rc = strings_add(&classes, all.v[i], err);
        strings_free(&all);
    }
    if (!rc && !(labels = amod_alloc((size_t)csv.rows * sizeof *labels, err))) rc = -1;
    int32_t top = -1;
    for (int r = 1; !rc && r < csv.rows; r++) {
        const char *p = amod_csv_text(&csv, r, cp), *l = amod_csv_text(&csv, r, cl);
        char full[4096];
        struct stat st;
        if (!*p) {
            rc = amod_fail(err, "%s: line %d: empty path", path, r + 1);
            break;
        }
        if (snprintf(full, sizeof full, "%s%s", p[0] == '/' ? "" : base, p) >= (int)sizeof full) {
            rc = amod_fail(err, "%s: line %d: path too long", path, r + 1);
            break;
        }
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = amod_fail_code(err, AMOD_ERR_IO, "%s: line %d: %s: no such image file", path, r + 1, full);
            break;
        }
        int32_t label;
        if (named) {
            char *const *hit = bsearch(&l, classes.v, classes.n, sizeof *classes.v, by_bytes);
            label = (int32_t)(hit - classes.v);
        } else {
            label = (int32_t)atol(l);
            if (label >= AMOD_MAX_CLASSES) {
                rc = amod_fail(err, "%s: line %d: label %s is beyond the %d classes amod takes", path, r + 1, l,
                               AMOD_MAX_CLASSES);
                break;
            }
        }
        if (label > top) top = label;
        labels[r - 1] = label;
        rc = strings_add(&paths, full, err);
    }
    for (int32_t k = 0; !rc && !named && k <= top; k++) { /* index labels: the classes are their numbers */
        char name[16];
        snprintf(name, sizeof name, "%d", (int)k);
        rc = strings_add(&classes, name, err);
    }
    if (!rc) rc = take(out, &paths, labels, &classes, err);
    strings_free(&paths);
    strings_free(&classes);
    free(labels);
    amod_csv_free(&csv);
    return rc;
}

int amod_file_list_use_classes(amod_file_list *other, char *const *names, int n, const char *other_name,
                               amod_error *err) {
    int32_t *map = amod_alloc((size_t)(other->num_classes ? other->num_classes : 1) * sizeof *map, err);
    char **copy = amod_zalloc((size_t)(n ? n : 1) * sizeof *copy, err);
    int rc = map && copy ? 0 : -1;
    for (int c = 0; !rc && c < other->num_classes; c++) {
        map[c] = -1;
        for (int t = 0; t < n && map[c] < 0; t++)
            if (!strcmp(other->classes[c], names[t])) map[c] = t;
        if (map[c] < 0) rc = amod_fail(err, "%s: class '%s' is not one of the training classes", other_name, other->classes[c]);
    }
    for (int k = 0; !rc && k < n; k++)
        if (!(copy[k] = strdup(names[k]))) rc = amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
    if (!rc) {
        for (int64_t i = 0; i < other->count; i++) other->labels[i] = map[other->labels[i]];
        for (int c = 0; c < other->num_classes; c++) free(other->classes[c]);
        free(other->classes);
        other->classes = copy, other->num_classes = n;
        copy = NULL;
    }
    for (int k = 0; copy && k < n; k++) free(copy[k]);
    free(copy);
    free(map);
    return rc;
}

int amod_file_list_gather(const char *const *paths, int n, amod_file_list *out, amod_error *err) {
    memset(out, 0, sizeof *out);
    strings files = {0}, none = {0};
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) rc = amod_fail_code(err, AMOD_ERR_IO, "%s: %s", paths[i], strerror(errno));
        else if (S_ISDIR(st.st_mode)) {
            const size_t before = files.n;
            rc = walk_class(paths[i], &files, err);
            if (!rc && files.n == before) rc = amod_fail(err, "%s: no image file in this folder (.jpg, .jpeg, .png, ...)", paths[i]);
        } else {
            rc = strings_add(&files, paths[i], err);
        }
    }
    int32_t *labels = rc ? NULL : amod_zalloc((files.n ? files.n : 1) * sizeof *labels, err);
    if (!rc && !labels) rc = -1;
    if (!rc) rc = take(out, &files, labels, &none, err);
    free(labels);
    strings_free(&files);
    return rc;
}

void amod_file_list_free(amod_file_list *l) {
    if (!l) return;
    for (int64_t i = 0; l->paths && i < l->count; i++) free(l->paths[i]);
    for (int c = 0; l->classes && c < l->num_classes; c++) free(l->classes[c]);
    free(l->paths);
    free(l->classes);
    free(l->labels);
    memset(l, 0, sizeof *l);
}
