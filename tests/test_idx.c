/* IDX files and data set loading: round trips, and a clear refusal of every kind of bad file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "data/dataset.h"
#include "io/idx.h"
#include "test_support.h"

static char dir[64];
static char paths[32][4096];
static int npaths;

/* A path in the test's temporary directory, remembered for the cleanup. */
static const char *tmp_path(const char *name) {
    char *p = paths[npaths++ % 32];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static void write_raw(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An images header (magic, n, rows, cols) followed by `data` payload bytes of value 7. */
static void write_images_raw(const char *path, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                             size_t payload) {
    uint8_t *buf = calloc(1, 16 + payload);
    be32(buf, magic);
    be32(buf + 4, n);
    be32(buf + 8, rows);
    be32(buf + 12, cols);
    memset(buf + 16, 7, payload);
    write_raw(path, buf, 16 + payload);
    free(buf);
}

static int has(const amod_error *e, const char *needle) { return strstr(e->msg, needle) != NULL; }

static void test_round_trip(void) {
    uint8_t px[3 * 2 * 4], lb[3] = {2, 0, 1};
    for (int i = 0; i < 24; i++) px[i] = (uint8_t)(i * 11);
    amod_error err = {0};
    const char *ip = tmp_path("rt-images"), *lp = tmp_path("rt-labels");
    CHECK(amod_idx_write_images(ip, px, 3, 2, 4, &err) == 0, "write images: %s", err.msg);
    CHECK(amod_idx_write_labels(lp, lb, 3, &err) == 0, "write labels: %s", err.msg);
    CHECK(access(tmp_path("rt-images.tmp"), F_OK) != 0, "the temporary file is renamed away");

    /* The bytes on disk are the standard layout: big-endian magic and dimensions. */
    size_t size;
    unsigned char *raw = amod_read_file(ip, &size, &err);
    CHECK(raw && size == 16 + 24, "images file size %zu", size);
    if (raw) {
        static const uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 4};
        CHECK(!memcmp(raw, head, 16), "images header bytes");
        CHECK(!memcmp(raw + 16, px, 24), "images payload");
    }
    free(raw);

    amod_idx_images im;
    amod_idx_labels l;
    CHECK(amod_idx_read_pair(ip, lp, 3, &im, &l, &err) == 0, "read pair: %s", err.msg);
    CHECK(im.count == 3 && im.rows == 2 && im.cols == 4, "shape %lld x %d x %d", (long long)im.count, im.rows,
          im.cols);
    CHECK(l.count == 3 && !memcmp(l.labels, lb, 3), "labels round trip");
    CHECK(im.pixels && !memcmp(im.pixels, px, 24), "pixels round trip");
    amod_idx_images_free(&im);
    amod_idx_labels_free(&l);

    /* Zero images is a valid, if empty, file. */
    CHECK(amod_idx_write_labels(tmp_path("empty-labels"), lb, 0, &err) == 0, "write 0 labels: %s", err.msg);
    CHECK(amod_idx_read_labels(tmp_path("empty-labels"), &l, &err) == 0 && l.count == 0, "read 0 labels");
    amod_idx_labels_free(&l);
}

static void test_bad_files(void) {
    amod_error err = {0};
    amod_idx_images im;
    amod_idx_labels lb;

    const char *missing = tmp_path("no-such-file");
    CHECK(amod_idx_read_images(missing, &im, &err) == -1 && has(&err, missing) && has(&err, "cannot open"),
          "missing file: %s", err.msg);
    CHECK(im.pixels == NULL && im.count == 0, "out is zeroed on failure");

    const char *empty = tmp_path("empty");
    write_raw(empty, "", 0);
    CHECK(amod_idx_read_images(empty, &im, &err) == -1 && has(&err, empty) && has(&err, "truncated"),
          "empty file: %s", err.msg);

    const char *short_head = tmp_path("short-head");
    write_raw(short_head, "\0\0\x08\x03\0\0", 6);
    CHECK(amod_idx_read_images(short_head, &im, &err) == -1 && has(&err, "truncated") && has(&err, "header"),
          "truncated header: %s", err.msg);

    const char *labels_file = tmp_path("labels-as-images");
    uint8_t lab[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 1};
    write_raw(labels_file, lab, sizeof lab);
    CHECK(amod_idx_read_images(labels_file, &im, &err) == -1 && has(&err, "wrong magic 0x00000801") &&
              has(&err, "expected 0x00000803"),
          "wrong magic: %s", err.msg);

    const char *text = tmp_path("text");
    write_raw(text, "hello world, not IDX", 20);
    CHECK(amod_idx_read_labels(text, &lb, &err) == -1 && has(&err, "wrong magic"), "text file: %s", err.msg);

    const char *gz = tmp_path("gz");
    write_raw(gz, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    CHECK(amod_idx_read_images(gz, &im, &err) == -1 && has(&err, "gzip"), "gzip: %s", err.msg);

    const char *trunc = tmp_path("truncated");
    write_images_raw(trunc, AMOD_IDX_IMAGES_MAGIC, 3, 28, 28, 3 * 784 - 1);
    CHECK(amod_idx_read_images(trunc, &im, &err) == -1 && has(&err, trunc) && has(&err, "truncated") &&
              has(&err, "2352"),
          "truncated data: %s", err.msg);

    const char *trail = tmp_path("trailing");
    write_images_raw(trail, AMOD_IDX_IMAGES_MAGIC, 1, 2, 2, 5);
    CHECK(amod_idx_read_images(trail, &im, &err) == -1 && has(&err, "trailing bytes"), "trailing: %s", err.msg);

    const char *over = tmp_path("overflow");
    write_images_raw(over, AMOD_IDX_IMAGES_MAGIC, 0xffffffffu, 0xffffffffu, 0xffffffffu, 4);
    CHECK(amod_idx_read_images(over, &im, &err) == -1 && has(&err, "overflow"), "overflow: %s", err.msg);

    /* Big but representable dimensions must be refused by size, before any allocation. */
    const char *huge = tmp_path("huge");
    write_images_raw(huge, AMOD_IDX_IMAGES_MAGIC, 0x7fffffffu, 65535, 65535, 4);
    CHECK(amod_idx_read_images(huge, &im, &err) == -1 && has(&err, "truncated"), "huge dims: %s", err.msg);

    const char *zero = tmp_path("zero-rows");
    write_images_raw(zero, AMOD_IDX_IMAGES_MAGIC, 5, 0, 28, 0);
    CHECK(amod_idx_read_images(zero, &im, &err) == -1 && has(&err, "unsupported image size 0 x 28"),
          "zero rows: %s", err.msg);

    CHECK(amod_idx_read_labels(dir, &lb, &err) == -1 && has(&err, "not a regular file"), "directory: %s", err.msg);
}

/* The in-memory readers take the same header checks as the file readers. */
static void test_decode_memory(void) {
    amod_error err = {0};
    amod_idx_images im;
    amod_idx_labels lb;
    uint8_t buf[16 + 6];
    be32(buf, AMOD_IDX_IMAGES_MAGIC);
    be32(buf + 4, 1);
    be32(buf + 8, 2);
    be32(buf + 12, 3);
    for (int i = 0; i < 6; i++) buf[16 + i] = (uint8_t)(10 * i);
    CHECK(amod_idx_decode_images("mem", buf, sizeof buf, &im, &err) == 0, "decode images: %s", err.msg);
    CHECK(im.count == 1 && im.rows == 2 && im.cols == 3 && im.pixels && im.pixels[5] == 50, "decoded images");
    amod_idx_images_free(&im);
    CHECK(amod_idx_decode_images("mem", buf, sizeof buf - 1, &im, &err) == -1 && has(&err, "mem: truncated") &&
              im.pixels == NULL,
          "truncated in memory: %s", err.msg);
    CHECK(amod_idx_decode_images("mem", buf, 10, &im, &err) == -1 && has(&err, "header needs 16"),
          "header cut in memory: %s", err.msg);
    CHECK(amod_idx_decode_images("mem", buf, 0, &im, &err) == -1 && has(&err, "mem: truncated: 0 bytes"),
          "nothing in memory: %s", err.msg);
    be32(buf + 4, 0xffffffffu);
    be32(buf + 8, 0xffffffffu);
    be32(buf + 12, 0xffffffffu);
    CHECK(amod_idx_decode_images("mem", buf, sizeof buf, &im, &err) == -1 && has(&err, "overflow"),
          "overflow in memory: %s", err.msg);
    uint8_t lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 2, 0, 1};
    CHECK(amod_idx_decode_labels("mem", lab, sizeof lab, &lb, &err) == 0 && lb.count == 3 && lb.labels[0] == 2,
          "decode labels: %s", err.msg);
    amod_idx_labels_free(&lb);
    CHECK(amod_idx_decode_labels("mem", buf, sizeof buf, &lb, &err) == -1 && has(&err, "wrong magic"),
          "images as labels in memory: %s", err.msg);
}

static void test_pairs(void) {
    amod_error err = {0};
    amod_idx_images im;
    amod_idx_labels lb;
    uint8_t px[4 * 4] = {0};
    uint8_t labels[4] = {0, 1, 7, 2};
    const char *ip = tmp_path("pair-images"), *lp = tmp_path("pair-labels"), *lp3 = tmp_path("pair-labels3");
    amod_idx_write_images(ip, px, 4, 2, 2, &err);
    amod_idx_write_labels(lp, labels, 4, &err);
    amod_idx_write_labels(lp3, labels, 3, &err);

    CHECK(amod_idx_read_pair(ip, lp3, 0, &im, &lb, &err) == -1 && has(&err, "3 labels for 4 images"),
          "count mismatch: %s", err.msg);
    CHECK(im.pixels == NULL && lb.labels == NULL, "nothing leaks out of a failed pair");
    CHECK(amod_idx_read_pair(ip, lp, 5, &im, &lb, &err) == -1 && has(&err, lp) &&
              has(&err, "label 7 at index 2 is out of range for 5 classes"),
          "label out of range: %s", err.msg);
    CHECK(amod_idx_read_pair(ip, lp, 8, &im, &lb, &err) == 0, "8 classes are enough: %s", err.msg);
    amod_idx_images_free(&im);
    amod_idx_labels_free(&lb);
}

static void test_dataset_load(void) {
    amod_error err = {0};
    amod_dataset ds;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no-such-dir", dir);
    CHECK(amod_dataset_load(missing, "train", 10, &ds, &err) == -1 && has(&err, missing) &&
              has(&err, "no such data set directory"),
          "missing directory: %s", err.msg);
    CHECK(amod_dataset_load(dir, "validation", 10, &ds, &err) == -1 && has(&err, "unknown split 'validation'"),
          "bad split: %s", err.msg);
    CHECK(amod_dataset_load(dir, "test", 10, &ds, &err) == -1 && has(&err, "t10k-images-idx3-ubyte") &&
              has(&err, "cannot open"),
          "missing split files: %s", err.msg);

    uint8_t px[5 * 3 * 2], lb[5] = {0, 3, 1, 3, 0};
    for (int i = 0; i < 30; i++) px[i] = (uint8_t)(i * 8);
    amod_idx_write_images(tmp_path("train-images-idx3-ubyte"), px, 5, 3, 2, &err);
    amod_idx_write_labels(tmp_path("train-labels-idx1-ubyte"), lb, 5, &err);
    CHECK(amod_dataset_load(dir, "train", 0, &ds, &err) == 0, "load: %s", err.msg);
    CHECK(ds.count == 5 && ds.channels == 1 && ds.height == 3 && ds.width == 2, "dataset shape");
    CHECK(ds.num_classes == 4, "classes inferred from the largest label: %d", ds.num_classes);
    int64_t counts[4];
    amod_dataset_class_counts(&ds, counts);
    CHECK(counts[0] == 2 && counts[1] == 1 && counts[2] == 0 && counts[3] == 2, "class counts");
    double mean, std;
    amod_dataset_stats(&ds, &mean, &std);
    /* Pixels 0, 8, ..., 232: mean 116, variance (8^2)(30^2 - 1)/12. */
    CHECK(mean > 116.0 / 255 - 1e-12 && mean < 116.0 / 255 + 1e-12, "mean %.9f", mean);
    double want_std = 8.0 * sqrt((30.0 * 30.0 - 1.0) / 12.0) / 255.0;
    CHECK(std > want_std - 1e-9 && std < want_std + 1e-9, "std %.9f, want %.9f", std, want_std);
    amod_dataset_free(&ds);
    CHECK(amod_dataset_load(dir, "train", 3, &ds, &err) == -1 && has(&err, "label 3 at index 1"),
          "too few classes: %s", err.msg);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/amod-test-idx.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_bad_files();
    test_decode_memory();
    test_pairs();
    test_dataset_load();
    for (int i = 0; i < npaths && i < 32; i++) unlink(paths[i]);
    rmdir(dir);
    return test_summary("test_idx");
}
