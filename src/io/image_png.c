/* PNG decoding and encoding with libpng, from and to memory.
 *
 * libpng reports errors by longjmp. Each setjmp lives in a function whose mutable state is all
 * in a context struct owned by the caller, so nothing it needs after the jump is a clobberable
 * local. */
#include "io/image.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#ifdef AMOD_HAVE_PNG
#include <png.h>

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    int truncated;
    char msg[200];
    png_structp png;
    png_infop info;
    unsigned char *rows; /* decoded samples, rowbytes a row */
    png_bytep *row_ptrs;
    amod_image img;
} png_reader;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (odd ancillary chunks, colour profiles) do not stop decoding: stay quiet. */
static void on_png_warning(png_structp png, png_const_charp msg) {}

static void read_from_memory(png_structp png, png_bytep out, png_size_t n) {
    png_reader *r = png_get_io_ptr(png);
    if (n > r->size - r->pos) {
        r->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

/* Runs libpng; returns 0 with r->img set, or -1 with r->msg set. */
static int png_decode_jmp(png_reader *r) {
    if (setjmp(png_jmpbuf(r->png))) return -1;
    png_set_read_fn(r->png, r, read_from_memory);
    /* Skip every ancillary chunk but tRNS: none changes the RGB we keep, and libpng 1.6.39
     * allocates a text chunk's claimed length even after calling it too large (a 97-byte
     * file asked for 1.7 GB). Skipped chunks are read through in small pieces. */
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_read_info(r->png, r->info);
    png_uint_32 w = png_get_image_width(r->png, r->info), h = png_get_image_height(r->png, r->info);
    if ((unsigned long long)w * h > (unsigned long long)AMOD_IMAGE_MAX_PIXELS) {
        snprintf(r->msg, sizeof r->msg, "image too large (%lux%lu pixels)", (unsigned long)w, (unsigned long)h);
        return -1;
    }
    /* Deflate expands a byte into at most 1032: rows (a filter byte each) that the whole file
     * could not hold are a truncated or hostile file, refused before allocating for them. */
    double raw = (double)h * ((double)png_get_rowbytes(r->png, r->info) + 1.0);
    if (raw > 1032.0 * (double)r->size + 4096.0) {
        snprintf(r->msg, sizeof r->msg, "%lux%lu pixels cannot come from %zu bytes (truncated?)", (unsigned long)w,
                 (unsigned long)h, r->size);
        return -1;
    }
    /* Palette -> RGB, low-bit gray -> 8 bits, tRNS -> alpha; 16 bits -> high byte (as PIL). */
    png_set_expand(r->png);
    png_set_strip_16(r->png);
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    int channels = png_get_channels(r->png, r->info);
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if (png_get_bit_depth(r->png, r->info) != 8 || channels < 1 || channels > 4 ||
        rowbytes != (size_t)w * (size_t)channels) {
        snprintf(r->msg, sizeof r->msg, "unsupported PNG layout");
        return -1;
    }
    r->rows = malloc(rowbytes * h);
    r->row_ptrs = malloc(sizeof *r->row_ptrs * h);
    if (!r->rows || !r->row_ptrs) {
        snprintf(r->msg, sizeof r->msg, "out of memory");
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) r->row_ptrs[y] = r->rows + rowbytes * y;
    png_read_image(r->png, r->row_ptrs);
    png_read_end(r->png, NULL);
    if (amod_image_alloc(&r->img, (int)w, (int)h, NULL)) {
        snprintf(r->msg, sizeof r->msg, "out of memory");
        return -1;
    }
    /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA: keep colour, drop alpha. */
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = r->rows + i * channels;
        unsigned char *d = r->img.rgb + i * 3;
        if (channels <= 2) {
            d[0] = d[1] = d[2] = s[0];
        } else {
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    return 0;
}

int amod_image_decode_png(const unsigned char *data, size_t size, const char *name, amod_image *out,
                          amod_error *err) {
    png_reader r;
    memset(&r, 0, sizeof r);
    r.data = data;
    r.size = size;
    out->width = out->height = 0;
    out->rgb = NULL;
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_png_error, on_png_warning);
    if (r.png) r.info = png_create_info_struct(r.png);
    if (!r.png || !r.info) {
        png_destroy_read_struct(r.png ? &r.png : NULL, NULL, NULL);
        return amod_fail(err, "%s: cannot start the PNG decoder (out of memory)", name);
    }
    int rc = png_decode_jmp(&r);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    free(r.rows);
    free(r.row_ptrs);
    if (rc) {
        amod_image_free(&r.img);
        if (r.truncated) return amod_fail(err, "%s: truncated PNG (the file ends early)", name);
        return amod_fail(err, "%s: corrupt PNG: %s", name, r.msg);
    }
    *out = r.img;
    return 0;
}

typedef struct {
    const amod_image *img;
    unsigned char *buf;
    size_t size, cap;
    int oom;
    char msg[200];
    png_structp png;
    png_infop info;
} png_writer;

static void on_png_write_error(png_structp png, png_const_charp msg) {
    png_writer *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void write_to_memory(png_structp png, png_bytep data, png_size_t n) {
    png_writer *w = png_get_io_ptr(png);
    if (n > w->cap - w->size) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->size < n) cap *= 2;
        unsigned char *b = realloc(w->buf, cap);
        if (!b) {
            w->oom = 1;
            png_error(png, "out of memory");
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->size, data, n);
    w->size += n;
}

static void flush_memory(png_structp png) {}

static int png_encode_jmp(png_writer *w) {
    if (setjmp(png_jmpbuf(w->png))) return -1;
    const amod_image *img = w->img;
    png_set_write_fn(w->png, w, write_to_memory, flush_memory);
    png_set_IHDR(w->png, w->info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    for (int y = 0; y < img->height; y++) png_write_row(w->png, img->rgb + (size_t)y * img->width * 3);
    png_write_end(w->png, NULL);
    return 0;
}

int amod_image_encode_png(const amod_image *img, unsigned char **data, size_t *size, amod_error *err) {
    *data = NULL;
    *size = 0;
    if (!img->rgb || img->width <= 0 || img->height <= 0)
        return amod_fail(err, "cannot encode an empty image as PNG");
    png_writer w;
    memset(&w, 0, sizeof w);
    w.img = img;
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_png_write_error, on_png_warning);
    if (w.png) w.info = png_create_info_struct(w.png);
    if (!w.png || !w.info) {
        png_destroy_write_struct(w.png ? &w.png : NULL, NULL);
        return amod_fail(err, "cannot start the PNG encoder (out of memory)");
    }
    int rc = png_encode_jmp(&w);
    png_destroy_write_struct(&w.png, &w.info);
    if (rc) {
        free(w.buf);
        return amod_fail(err, "PNG encoding failed: %s", w.msg);
    }
    *data = w.buf;
    *size = w.size;
    return 0;
}

#else /* !AMOD_HAVE_PNG */

int amod_image_decode_png(const unsigned char *data, size_t size, const char *name, amod_image *out,
                          amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    return amod_fail(err, "%s: cannot read PNG: amod was built without libpng", name);
}

int amod_image_encode_png(const amod_image *img, unsigned char **data, size_t *size, amod_error *err) {
    *data = NULL;
    *size = 0;
    return amod_fail(err, "cannot write PNG: amod was built without libpng");
}

#endif

int amod_image_write_png(const char *path, const amod_image *img, amod_error *err) {
    unsigned char *data;
    size_t size;
    if (amod_image_encode_png(img, &data, &size, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return amod_fail(err, "%s: %s", path, msg);
    }
    int rc = amod_write_file_atomic(path, data, size, err);
    free(data);
    return rc;
}
