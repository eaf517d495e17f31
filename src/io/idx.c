#include "io/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Checks the first `got` bytes of an unsigned-byte IDX file of `total` bytes against the
 * magic (ndim, 1 or 3, comes from it) and the dimensions against `total`, so nothing is
 * allocated for a size the file cannot hold. Returns the header length, or -1. */
static int check_header(const char *path, const uint8_t *head, size_t got, uint64_t total, uint32_t magic,
                        const char *what, uint32_t dims[3], amod_error *err) {
    int ndim = (int)(magic & 0xff);
    uint64_t header = 4 + 4 * (uint64_t)ndim;
    if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        return amod_fail(err, "%s: gzip-compressed, not a raw IDX file (gunzip it first)", path);
    if (got < 4)
        return amod_fail(err, "%s: truncated: %zu bytes, too short for an IDX magic number", path, got);
    uint32_t m = be32(head);
    if (m != magic) return amod_fail(err, "%s: wrong magic 0x%08x, expected 0x%08x (IDX %s)", path, m, magic, what);
    if (got < header)
        return amod_fail(err, "%s: truncated: %zu bytes, the IDX %s header needs %u", path, got, what,
                         (unsigned)header);
    uint64_t elems = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        /* A file can't hold more than 2^63 bytes, so a product past that is an overflow. */
        if (dims[i] && elems > (UINT64_MAX >> 1) / dims[i])
            return amod_fail(err, "%s: IDX %s dimensions overflow (dimension %d is %u)", path, what, i, dims[i]);
        elems *= dims[i];
    }
    if (elems != total - header)
        return amod_fail(err, "%s: %s: header says %llu bytes of data, the file has %llu", path,
                         elems > total - header ? "truncated" : "trailing bytes", (unsigned long long)elems,
                         (unsigned long long)(total - header));
    if (elems > SIZE_MAX - 1) return amod_fail(err, "%s: IDX %s too large for this machine", path, what);
    return (int)header;
}

/* Reads an unsigned-byte IDX file with the given magic, checking its header first. */
static int read_idx(const char *path, uint32_t magic, const char *what, uint32_t dims[3], uint8_t **data,
                    amod_error *err) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return amod_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return amod_fail(err, "%s: not a regular file", path);
    }
    uint8_t head[16];
    size_t got = fread(head, 1, 4 + 4 * (size_t)(magic & 0xff), f);
    int header = check_header(path, head, got, (uint64_t)st.st_size, magic, what, dims, err);
    if (header < 0) {
        fclose(f);
        return -1;
    }
    size_t elems = (size_t)((uint64_t)st.st_size - (uint64_t)header);
    uint8_t *buf = amod_alloc(elems, err);
    if (!buf) {
        fclose(f);
        return -1;
    }
    if (elems && fread(buf, 1, elems, f) != elems) {
        int e = errno;
        fclose(f);
        free(buf);
        return amod_fail(err, "%s: read error: %s", path, e ? strerror(e) : "file shrank while reading");
    }
    fclose(f);
    *data = buf;
    return 0;
}

/* The same from memory: the data is copied. */
static int decode_idx(const char *name, const uint8_t *bytes, size_t size, uint32_t magic, const char *what,
                      uint32_t dims[3], uint8_t **data, amod_error *err) {
    *data = NULL;
    size_t want = 4 + 4 * (size_t)(magic & 0xff);
    int header = check_header(name, bytes, size < want ? size : want, size, magic, what, dims, err);
    if (header < 0) return -1;
    size_t elems = size - (size_t)header;
    uint8_t *buf = amod_alloc(elems, err);
    if (!buf) return -1;
    if (elems) memcpy(buf, bytes + header, elems);
    *data = buf;
    return 0;
}

/* Image sides are ints everywhere else; a zero side would make every image empty. */
static int finish_images(const char *path, const uint32_t dims[3], uint8_t *data, amod_idx_images *out,
                         amod_error *err) {
    if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65535 || dims[2] > 65535) {
        free(data);
        return amod_fail(err, "%s: unsupported image size %u x %u (each side must be 1..65535)", path, dims[1],
                         dims[2]);
    }
    out->pixels = data;
    out->count = dims[0];
    out->rows = (int)dims[1];
    out->cols = (int)dims[2];
    return 0;
}

int amod_idx_read_images(const char *path, amod_idx_images *out, amod_error *err) {
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    uint8_t *data;
    if (read_idx(path, AMOD_IDX_IMAGES_MAGIC, "images", dims, &data, err)) return -1;
    return finish_images(path, dims, data, out, err);
}

int amod_idx_decode_images(const char *name, const uint8_t *bytes, size_t size, amod_idx_images *out,
                           amod_error *err) {
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    uint8_t *data;
    if (decode_idx(name, bytes, size, AMOD_IDX_IMAGES_MAGIC, "images", dims, &data, err)) return -1;
    return finish_images(name, dims, data, out, err);
}

int amod_idx_read_labels(const char *path, amod_idx_labels *out, amod_error *err) {
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    uint8_t *data;
    if (read_idx(path, AMOD_IDX_LABELS_MAGIC, "labels", dims, &data, err)) return -1;
    out->labels = data;
    out->count = dims[0];
    return 0;
}

int amod_idx_decode_labels(const char *name, const uint8_t *bytes, size_t size, amod_idx_labels *out,
                           amod_error *err) {
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    uint8_t *data;
    if (decode_idx(name, bytes, size, AMOD_IDX_LABELS_MAGIC, "labels", dims, &data, err)) return -1;
    out->labels = data;
    out->count = dims[0];
    return 0;
}

void amod_idx_images_free(amod_idx_images *im) {
    if (!im) return;
    free(im->pixels);
    memset(im, 0, sizeof *im);
}

void amod_idx_labels_free(amod_idx_labels *lb) {
    if (!lb) return;
    free(lb->labels);
    memset(lb, 0, sizeof *lb);
}

int amod_idx_check_labels(const char *path, const uint8_t *labels, int64_t count, int num_classes,
                          amod_error *err) {
    for (int64_t i = 0; i < count; i++)
        if (labels[i] >= num_classes)
            return amod_fail(err, "%s: label %u at index %lld is out of range for %d classes", path,
                             (unsigned)labels[i], (long long)i, num_classes);
    return 0;
}

int amod_idx_read_pair(const char *images_path, const char *labels_path, int num_classes,
                       amod_idx_images *images, amod_idx_labels *labels, amod_error *err) {
    memset(labels, 0, sizeof *labels);
    if (amod_idx_read_images(images_path, images, err)) return -1;
    if (amod_idx_read_labels(labels_path, labels, err)) goto fail;
    if (images->count != labels->count) {
        amod_fail(err, "%s: %lld labels for %lld images in %s", labels_path, (long long)labels->count,
                  (long long)images->count, images_path);
        goto fail;
    }
    if (num_classes > 0 && amod_idx_check_labels(labels_path, labels->labels, labels->count, num_classes, err))
        goto fail;
    return 0;
fail:
    amod_idx_images_free(images);
    amod_idx_labels_free(labels);
    return -1;
}

/* Header and data go out in one buffer so the atomic writer sees a single write. */
static int write_idx(const char *path, uint32_t magic, const uint32_t *dims, const uint8_t *data, uint64_t bytes,
                     amod_error *err) {
    int ndim = (int)(magic & 0xff);
    size_t header = 4 + 4 * (size_t)ndim;
    if (bytes > SIZE_MAX - header) return amod_fail(err, "%s: IDX data too large", path);
    uint8_t *buf = amod_alloc(header + (size_t)bytes, err);
    if (!buf) return -1;
    put_be32(buf, magic);
    for (int i = 0; i < ndim; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    if (bytes) memcpy(buf + header, data, (size_t)bytes);
    int rc = amod_write_file_atomic(path, buf, header + (size_t)bytes, err);
    free(buf);
    return rc;
}

int amod_idx_write_images(const char *path, const uint8_t *pixels, int64_t count, int rows, int cols,
                          amod_error *err) {
    if (count < 0 || (uint64_t)count > UINT32_MAX)
        return amod_fail(err, "%s: cannot write %lld images to an IDX file", path, (long long)count);
    if (rows < 1 || cols < 1 || rows > 65535 || cols > 65535)
        return amod_fail(err, "%s: unsupported image size %d x %d", path, rows, cols);
    uint32_t dims[3] = {(uint32_t)count, (uint32_t)rows, (uint32_t)cols};
    return write_idx(path, AMOD_IDX_IMAGES_MAGIC, dims, pixels, (uint64_t)count * (uint64_t)rows * (uint64_t)cols,
                     err);
}

int amod_idx_write_labels(const char *path, const uint8_t *labels, int64_t count, amod_error *err) {
    if (count < 0 || (uint64_t)count > UINT32_MAX)
        return amod_fail(err, "%s: cannot write %lld labels to an IDX file", path, (long long)count);
    uint32_t dims[1] = {(uint32_t)count};
    return write_idx(path, AMOD_IDX_LABELS_MAGIC, dims, labels, (uint64_t)count, err);
}
