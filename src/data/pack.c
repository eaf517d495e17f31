/* Packed image folders (pack.h). */
#include "data/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/image.h"

#define MAGIC "AMODPACK"
#define HEADER 32 /* magic 8, version 4, size 4, count 8, classes 4, names_bytes 4 */

static size_t align(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The picture a pack holds: shorter side to size (bicubic, PIL's), centre crop. */
static int pack_picture(const char *path, int size, unsigned char *out, amod_error *err) {
    amod_image img = {0}, pic = {0};
    amod_image_transform t;
    const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    amod_image_transform_init(&t, size, 3, zero, one);
    t.crop_pct = 1.0; /* the whole shorter side: the loader's crops choose later */
    int rc = amod_image_read(path, &img, err) || amod_image_preprocess(&img, &t, &pic, err);
    if (!rc) memcpy(out, pic.rgb, (size_t)size * size * 3);
    else if (!strstr(err->msg, path)) {
        amod_error e = *err;
        amod_fail_code(err, e.code, "%s: %s", path, e.msg);
    }
    amod_image_free(&img);
    amod_image_free(&pic);
    return rc ? -1 : 0;
}

int amod_pack_write(const amod_file_list *files, int size, const char *path, amod_error *err) {
    if (size < 1 || size > 4096) return amod_fail(err, "pack: size %d, expected 1..4096", size);
    if (files->count < 1) return amod_fail(err, "pack: no pictures");
    size_t names_bytes = 0;
    for (int c = 0; c < files->num_classes; c++) names_bytes += strlen(files->classes[c]) + 1;
    const size_t per = (size_t)size * size * 3, labels_at = align(HEADER + names_bytes, 8);
    const size_t pixels_at = align(labels_at + (size_t)files->count * 4, 64);
    const size_t total = pixels_at + (size_t)files->count * per;
    unsigned char *buf = amod_zalloc(total, err);
    if (!buf) return -1;
    memcpy(buf, MAGIC, 8);
    put32(buf + 8, 1);
    put32(buf + 12, (uint32_t)size);
    put64(buf + 16, (uint64_t)files->count);
    put32(buf + 24, (uint32_t)files->num_classes);
    put32(buf + 28, (uint32_t)names_bytes);
    size_t at = HEADER;
    for (int c = 0; c < files->num_classes; c++) {
        const size_t n = strlen(files->classes[c]) + 1;
        memcpy(buf + at, files->classes[c], n);
        at += n;
    }
    for (int64_t i = 0; i < files->count; i++) put32(buf + labels_at + 4 * (size_t)i, (uint32_t)files->labels[i]);
    int64_t failed = -1;
    amod_error first = {0};
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < files->count; i++) {
        amod_error e;
        if (pack_picture(files->paths[i], size, buf + pixels_at + (size_t)i * per, &e)) {
#pragma omp critical
            if (failed < 0 || i < failed) failed = i, first = e;
        }
    }
    int rc = failed >= 0 ? (*err = first, -1) : amod_write_file_atomic(path, buf, total, err);
    free(buf);
    return rc;
}

int amod_pack_parse(const char *name, const unsigned char *b, size_t n, amod_pack *p, amod_error *err) {
    memset(p, 0, sizeof *p);
    if (n < HEADER || memcmp(b, MAGIC, 8)) return amod_fail(err, "%s: not an amod pack (no AMODPACK header)", name);
    if (get32(b + 8) != 1) return amod_fail(err, "%s: pack version %u, this amod reads 1", name, get32(b + 8));
    const uint32_t size = get32(b + 12), classes = get32(b + 24), names_bytes = get32(b + 28);
    const uint64_t count = get64(b + 16);
    if (size < 1 || size > 4096) return amod_fail(err, "%s: picture size %u is out of range", name, size);
    if (count < 1 || count > ((uint64_t)1 << 40)) return amod_fail(err, "%s: picture count %llu is out of range", name,
                                                                       (unsigned long long)count);
    if (classes < 1 || classes > AMOD_MAX_CLASSES || names_bytes > n - HEADER)
        return amod_fail(err, "%s: class table out of range (%u classes, %u bytes of names)", name, classes, names_bytes);
    const size_t per = (size_t)size * size * 3, labels_at = align(HEADER + names_bytes, 8);
    const size_t pixels_at = align(labels_at + (size_t)count * 4, 64);
    if (count > (SIZE_MAX - pixels_at) / per || n != pixels_at + (size_t)count * per)
        return amod_fail(err, "%s: %zu bytes, but %llu pictures of %u pixels need %zu (truncated or corrupt)", name, n,
                         (unsigned long long)count, size, count > (SIZE_MAX - pixels_at) / per ? (size_t)0 : pixels_at + (size_t)count * per);
    /* the class names: exactly `classes` NUL-terminated strings */
    const char *s = (const char *)b + HEADER, *end = s + names_bytes;
    p->names.classes = amod_zalloc(classes * sizeof *p->names.classes, err);
    if (!p->names.classes) return -1;
    for (uint32_t c = 0; c < classes; c++) {
        const char *z = memchr(s, 0, (size_t)(end - s));
        if (!z) {
            amod_pack_close(p);
            return amod_fail(err, "%s: the class names end early (class %u of %u)", name, c, classes);
        }
        if (!(p->names.classes[c] = strdup(s))) {
            amod_pack_close(p);
            return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
        }
        p->names.num_classes = (int)c + 1;
        s = z + 1;
    }
    const int32_t *labels = (const int32_t *)(b + labels_at);
    for (uint64_t i = 0; i < count; i++)
        if (labels[i] < 0 || (uint32_t)labels[i] >= classes) {
            amod_pack_close(p);
            return amod_fail(err, "%s: picture %llu has label %d, outside 0..%u", name, (unsigned long long)i,
                             (int)labels[i], classes - 1);
        }
    p->size = (int)size;
    p->count = (int64_t)count;
    p->labels = labels;
    p->pixels = b + pixels_at;
    return 0;
}

int amod_pack_open(const char *path, amod_pack *p, amod_error *err) {
    memset(p, 0, sizeof *p);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return amod_fail_code(err, AMOD_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < HEADER) {
        close(fd);
        return amod_fail(err, "%s: not an amod pack (%s)", path, st.st_size < HEADER ? "too short" : strerror(errno));
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    if (amod_pack_parse(path, map, (size_t)st.st_size, p, err)) {
        munmap(map, (size_t)st.st_size);
        return -1;
    }
    p->map = map;
    p->map_bytes = (size_t)st.st_size;
    return 0;
}

void amod_pack_close(amod_pack *p) {
    if (!p) return;
    for (int c = 0; p->names.classes && c < p->names.num_classes; c++) free(p->names.classes[c]);
    free(p->names.classes);
    if (p->map) munmap(p->map, p->map_bytes);
    memset(p, 0, sizeof *p);
}
