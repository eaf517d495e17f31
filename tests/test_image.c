/* Image layer: PNG/JPEG round trips and errors, resizing, the model-input transform, canvas
 * text and plots. Every input file is made here, in a temporary directory. Set
 * AMOD_IMAGE_SAMPLES=DIR to keep a sample chart and canvas there for a look. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#ifdef AMOD_HAVE_PNG
#include <png.h>
#endif
#ifdef AMOD_HAVE_JPEG
#include <jpeglib.h>
#endif

#include "core/error.h"
#include "io/canvas.h"
#include "io/image.h"
#include "io/plot.h"
#include "test_support.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int slot = 0;
    char *out = buf[slot++ % 8];
    snprintf(out, sizeof buf[0], "%s/%s", tmpdir, name);
    return out;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

static unsigned char *slurp(const char *path, size_t *n) {
    amod_error err;
    unsigned char *d = amod_read_file(path, n, &err);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return d;
}

/* A picture with structure in every channel, so any mix-up shows. */
static void make_pattern(amod_image *img, int w, int h) {
    amod_error err;
    if (amod_image_alloc(img, w, h, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = img->rgb + 3 * ((size_t)y * w + x);
            p[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            p[1] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
            p[2] = (unsigned char)((x * 7 + y * 13) & 0xff);
        }
}

/* The error names the file and the read left out an empty image. */
static void check_error(int rc, const amod_error *err, const amod_image *img, const char *path, const char *what) {
    CHECK(rc == -1, "%s: expected an error", what);
    CHECK(strstr(err->msg, path) != NULL, "%s: message '%s' does not name %s", what, err->msg, path);
    CHECK(img->rgb == NULL && img->width == 0, "%s: image not left empty", what);
    CHECK(strchr(err->msg, '\n') == NULL, "%s: message is not one line", what);
}

static void expect_pixel(const amod_image *img, int x, int y, int r, int g, int b, const char *what) {
    const unsigned char *p = img->rgb + 3 * ((size_t)y * img->width + x);
    CHECK(p[0] == r && p[1] == g && p[2] == b, "%s: pixel (%d,%d) is %d,%d,%d, expected %d,%d,%d", what, x, y, p[0],
          p[1], p[2], r, g, b);
}

static void test_png_round_trip(void) {
    amod_image img, back;
    amod_error err;
    make_pattern(&img, 37, 23);
    const char *path = tmp_path("round.png");
    CHECK(amod_image_write_png(path, &img, &err) == 0, "write png: %s", err.msg);
    CHECK(access(tmp_path("round.png.tmp"), F_OK) != 0, "temporary file left behind");
    CHECK(amod_image_read(path, &back, &err) == 0, "read png: %s", err.msg);
    CHECK(back.width == 37 && back.height == 23, "size %dx%d", back.width, back.height);
    if (back.rgb) CHECK(!memcmp(back.rgb, img.rgb, 37 * 23 * 3), "pixels differ after a PNG round trip");
    amod_image_free(&back);
    amod_image_free(&img);
}

#ifdef AMOD_HAVE_PNG
/* Writes a PNG of any colour type with libpng directly, to test the decoder's conversions. */
static void write_png_raw(const char *path, int w, int h, int depth, int color_type, int interlace,
                          const unsigned char *rows, size_t rowbytes, const png_color *palette, int n_palette,
                          const png_byte *trns, int n_trns) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "test PNG writer failed for %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png); /* rows hold little-endian 16-bit samples */
    png_bytep *ptrs = malloc(sizeof *ptrs * h);
    for (int y = 0; y < h; y++) ptrs[y] = (png_bytep)rows + rowbytes * y;
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(ptrs);
    fclose(f);
}

static void test_png_color_types(void) {
    amod_error err;
    amod_image img;
    enum { W = 5, H = 3 };
    unsigned char rows[W * H * 8];

    for (int i = 0; i < W * H; i++) rows[i] = (unsigned char)(i * 17);
    write_png_raw(tmp_path("gray.png"), W, H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows, W, NULL, 0, NULL, 0);
    CHECK(amod_image_read(tmp_path("gray.png"), &img, &err) == 0, "gray: %s", err.msg);
    if (img.rgb) expect_pixel(&img, 2, 1, 7 * 17, 7 * 17, 7 * 17, "gray");
    amod_image_free(&img);

    for (int i = 0; i < W * H; i++) rows[2 * i] = (unsigned char)(i * 17), rows[2 * i + 1] = (unsigned char)(i * 3);
    write_png_raw(tmp_path("ga.png"), W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, rows, 2 * W, NULL, 0,
                  NULL, 0);
    CHECK(amod_image_read(tmp_path("ga.png"), &img, &err) == 0, "gray+alpha: %s", err.msg);
    if (img.rgb) expect_pixel(&img, 4, 2, 14 * 17, 14 * 17, 14 * 17, "gray+alpha (alpha dropped)");
    amod_image_free(&img);

    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    png_byte trns[4] = {255, 0, 128, 255};
    for (int i = 0; i < W * H; i++) rows[i] = (unsigned char)(i % 4);
    write_png_raw(tmp_path("pal.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, rows, W, pal, 4, trns, 4);
    CHECK(amod_image_read(tmp_path("pal.png"), &img, &err) == 0, "palette: %s", err.msg);
    if (img.rgb) {
        expect_pixel(&img, 3, 0, 10, 20, 30, "palette");
        expect_pixel(&img, 1, 0, 0, 255, 0, "palette with transparency");
    }
    amod_image_free(&img);

    for (int i = 0; i < W * H; i++)
        rows[4 * i] = (unsigned char)i, rows[4 * i + 1] = 100, rows[4 * i + 2] = 200, rows[4 * i + 3] = 0;
    write_png_raw(tmp_path("rgba.png"), W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, rows, 4 * W, NULL, 0,
                  NULL, 0);
    CHECK(amod_image_read(tmp_path("rgba.png"), &img, &err) == 0, "rgba: %s", err.msg);
    if (img.rgb) expect_pixel(&img, 1, 2, 11, 100, 200, "rgba interlaced");
    amod_image_free(&img);

    for (int i = 0; i < W * H * 3; i++) { /* 16-bit: high byte kept */
        unsigned v = (unsigned)(i * 1400 + 255);
        rows[2 * i] = (unsigned char)(v & 0xff), rows[2 * i + 1] = (unsigned char)(v >> 8);
    }
    write_png_raw(tmp_path("rgb16.png"), W, H, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows, 6 * W, NULL, 0, NULL,
                  0);
    CHECK(amod_image_read(tmp_path("rgb16.png"), &img, &err) == 0, "rgb16: %s", err.msg);
    if (img.rgb) {
        int i = 3 * (1 * W + 2);
        expect_pixel(&img, 2, 1, (i * 1400 + 255) >> 8, ((i + 1) * 1400 + 255) >> 8, ((i + 2) * 1400 + 255) >> 8,
                     "rgb16");
    }
    amod_image_free(&img);

    rows[0] = 0xa0; /* 1-bit gray: 1 0 1 0 0 */
    rows[1] = rows[2] = 0;
    write_png_raw(tmp_path("bit.png"), W, H, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows, 1, NULL, 0, NULL, 0);
    CHECK(amod_image_read(tmp_path("bit.png"), &img, &err) == 0, "1-bit: %s", err.msg);
    if (img.rgb) {
        expect_pixel(&img, 0, 0, 255, 255, 255, "1-bit");
        expect_pixel(&img, 1, 0, 0, 0, 0, "1-bit");
        expect_pixel(&img, 2, 0, 255, 255, 255, "1-bit");
    }
    amod_image_free(&img);
}
#endif

#ifdef AMOD_HAVE_JPEG
static void write_jpeg(const char *path, const amod_image *img, int gray) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)img->width;
    c.image_height = (JDIMENSION)img->height;
    c.input_components = gray ? 1 : 3;
    c.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)img->width * 3);
    while (c.next_scanline < c.image_height) {
        const unsigned char *s = img->rgb + (size_t)c.next_scanline * img->width * 3;
        if (gray)
            for (int x = 0; x < img->width; x++) row[x] = s[3 * x + 1];
        else
            memcpy(row, s, (size_t)img->width * 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
}

static void test_jpeg(void) {
    amod_error err;
    amod_image img, back;
    make_pattern(&img, 48, 40);
    for (size_t i = 0; i < 48 * 40; i++) img.rgb[3 * i + 2] = (unsigned char)(img.rgb[3 * i] / 2 + 40); /* smooth */
    write_jpeg(tmp_path("pic.jpg"), &img, 0);
    CHECK(amod_image_read(tmp_path("pic.jpg"), &back, &err) == 0, "read jpeg: %s", err.msg);
    CHECK(back.width == 48 && back.height == 40, "jpeg size %dx%d", back.width, back.height);
    if (back.rgb) {
        double sum = 0.0;
        int worst = 0;
        for (size_t i = 0; i < 48 * 40 * 3; i++) {
            int d = abs((int)back.rgb[i] - (int)img.rgb[i]);
            sum += d;
            if (d > worst) worst = d;
        }
        CHECK(sum / (48 * 40 * 3) < 3.0 && worst < 40, "jpeg too far off: mean %.2f, max %d", sum / (48 * 40 * 3),
              worst);
    }
    amod_image_free(&back);

    /* Same picture saved as a .png name: the magic bytes decide, not the extension. */
    size_t n;
    unsigned char *jpg = slurp(tmp_path("pic.jpg"), &n);
    write_bytes(tmp_path("really_a_jpeg.png"), jpg, n);
    CHECK(amod_image_read(tmp_path("really_a_jpeg.png"), &back, &err) == 0, "jpeg named .png: %s", err.msg);
    amod_image_free(&back);

    write_jpeg(tmp_path("gray.jpg"), &img, 1);
    CHECK(amod_image_read(tmp_path("gray.jpg"), &back, &err) == 0, "gray jpeg: %s", err.msg);
    if (back.rgb) {
        int same = 1;
        for (size_t i = 0; i < 48 * 40; i++)
            same &= back.rgb[3 * i] == back.rgb[3 * i + 1] && back.rgb[3 * i] == back.rgb[3 * i + 2];
        CHECK(same, "gray jpeg should decode to R = G = B");
        CHECK(abs((int)back.rgb[3 * (20 * 48 + 20) + 1] - (int)img.rgb[3 * (20 * 48 + 20) + 1]) < 8,
              "gray jpeg value off");
    }
    amod_image_free(&back);

    /* Corrupt: a truncated file; frame dimensions zeroed; garbage after the SOI marker. */
    write_bytes(tmp_path("cut.jpg"), jpg, n / 2);
    int rc = amod_image_read(tmp_path("cut.jpg"), &back, &err);
    check_error(rc, &err, &back, tmp_path("cut.jpg"), "truncated jpeg");
    unsigned char *bad = malloc(n);
    memcpy(bad, jpg, n);
    for (size_t i = 0; i + 8 < n; i++)
        if (bad[i] == 0xff && bad[i + 1] == 0xc0) { /* SOF0: length(2) precision(1) height(2) width(2) */
            memset(bad + i + 5, 0, 4);
            break;
        }
    write_bytes(tmp_path("zero.jpg"), bad, n);
    rc = amod_image_read(tmp_path("zero.jpg"), &back, &err);
    check_error(rc, &err, &back, tmp_path("zero.jpg"), "jpeg with a zero-size frame");
    memcpy(bad, jpg, n);
    for (size_t i = 3; i < n; i++) bad[i] = (unsigned char)(i * 131 + 7);
    write_bytes(tmp_path("garbage.jpg"), bad, n);
    rc = amod_image_read(tmp_path("garbage.jpg"), &back, &err);
    check_error(rc, &err, &back, tmp_path("garbage.jpg"), "jpeg of garbage");

    /* Random byte flips: errors or pictures, never a crash (the sanitizer build watches). */
    srand(7);
    for (int t = 0; t < 300; t++) {
        memcpy(bad, jpg, n);
        for (int k = 0; k < 1 + t % 6; k++) bad[(size_t)rand() % n] = (unsigned char)rand();
        size_t len = t % 3 == 0 ? (size_t)rand() % n : n;
        if (amod_image_decode(bad, len, "fuzz.jpg", &back, &err) == 0) {
            CHECK(back.rgb && back.width > 0, "fuzzed jpeg decoded to an empty image");
            amod_image_free(&back);
        } else {
            CHECK(back.rgb == NULL && strstr(err.msg, "fuzz.jpg"), "fuzzed jpeg: bad error '%s'", err.msg);
        }
    }
    free(bad);
    free(jpg);
    amod_image_free(&img);
}
#endif

#ifdef AMOD_HAVE_PNG
/* CRC-32 of PNG chunks (ISO 3309), so the test can forge a header libpng believes. */
static unsigned long crc32_of(const unsigned char *p, size_t n) {
    unsigned long c = 0xffffffffUL;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320UL & (0UL - (c & 1)));
    }
    return c ^ 0xffffffffUL;
}

static void put_be32(unsigned char *p, unsigned long v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* A PNG of 45 bytes: signature, IHDR of w x h RGB8, and an empty IDAT. */
static void forge_png(unsigned char png[45], unsigned long w, unsigned long h) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memset(png, 0, 45);
    memcpy(png, sig, 8);
    unsigned char *ihdr = png + 8;
    put_be32(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put_be32(ihdr + 8, w);
    put_be32(ihdr + 12, h);
    ihdr[16] = 8, ihdr[17] = 2; /* 8 bits, RGB; compression, filter, interlace 0 */
    put_be32(ihdr + 21, crc32_of(ihdr + 4, 17));
    unsigned char *idat = ihdr + 25;
    memcpy(idat + 4, "IDAT", 4);
    put_be32(idat + 8, crc32_of(idat + 4, 4));
}

/* Pictures whose header claims more than AMOD_IMAGE_MAX_PIXELS, or more than the file could
 * hold, are refused before anything is allocated for them. */
static void test_size_limits(void) {
    amod_error err;
    amod_image back;
    unsigned char png[8 + 25 + 12];
    forge_png(png, 20000, 20000);
    int rc = amod_image_decode(png, sizeof png, "huge.png", &back, &err);
    check_error(rc, &err, &back, "huge.png", "20000 x 20000 png");
    CHECK(strstr(err.msg, "too large") != NULL, "huge png message: %s", err.msg);
    /* Under the limit, but far more pixels than 45 bytes can inflate to. */
    forge_png(png, 8000, 8000);
    rc = amod_image_decode(png, sizeof png, "bomb.png", &back, &err);
    check_error(rc, &err, &back, "bomb.png", "8000 x 8000 png in 45 bytes");
    CHECK(strstr(err.msg, "8000x8000 pixels cannot come from 45 bytes") != NULL, "bomb png message: %s", err.msg);
#ifdef AMOD_HAVE_JPEG
    /* A JPEG whose frame header says 20000 x 20000. */
    amod_image img;
    make_pattern(&img, 16, 16);
    write_jpeg(tmp_path("small.jpg"), &img, 0);
    size_t n;
    unsigned char *jpg = slurp(tmp_path("small.jpg"), &n);
    for (size_t i = 0; i + 9 < n; i++)
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) { /* SOF0: length(2) precision(1) height(2) width(2) */
            jpg[i + 5] = jpg[i + 7] = 20000 >> 8;
            jpg[i + 6] = jpg[i + 8] = 20000 & 0xff;
            break;
        }
    rc = amod_image_decode(jpg, n, "huge.jpg", &back, &err);
    check_error(rc, &err, &back, "huge.jpg", "20000 x 20000 jpeg");
    CHECK(strstr(err.msg, "too large") != NULL, "huge jpeg message: %s", err.msg);
    free(jpg);
    amod_image_free(&img);
#endif
    /* Allocation itself refuses the same sizes, and sizes whose product overflows an int. */
    CHECK(amod_image_alloc(&back, 20000, 20000, &err) == -1 && strstr(err.msg, "too large"), "alloc: %s", err.msg);
    CHECK(amod_image_alloc(&back, 1 << 30, 1 << 30, &err) == -1 && back.rgb == NULL, "alloc 2^60: %s", err.msg);
    CHECK(amod_image_alloc(&back, 0, 5, &err) == -1 && back.rgb == NULL, "alloc 0 x 5: %s", err.msg);
}
#endif

static void test_read_errors(void) {
    amod_error err;
    amod_image img, back;
    int rc;
    make_pattern(&img, 20, 20);
    CHECK(amod_image_write_png(tmp_path("whole.png"), &img, &err) == 0, "write: %s", err.msg);
    size_t n;
    unsigned char *png = slurp(tmp_path("whole.png"), &n);

    write_bytes(tmp_path("cut.png"), png, n / 2);
    rc = amod_image_read(tmp_path("cut.png"), &back, &err);
    check_error(rc, &err, &back, tmp_path("cut.png"), "truncated png");
    CHECK(strstr(err.msg, "truncated") != NULL, "truncated png message: %s", err.msg);
    write_bytes(tmp_path("cut_end.png"), png, n - 6); /* only IEND cut short */
    rc = amod_image_read(tmp_path("cut_end.png"), &back, &err);
    check_error(rc, &err, &back, tmp_path("cut_end.png"), "png without its end");

    const char text[] = "hello, this is not an image\n";
    write_bytes(tmp_path("notes.png"), text, sizeof text - 1);
    rc = amod_image_read(tmp_path("notes.png"), &back, &err);
    check_error(rc, &err, &back, tmp_path("notes.png"), "text file");
    CHECK(strstr(err.msg, "not a PNG or JPEG") != NULL, "text file message: %s", err.msg);

    write_bytes(tmp_path("anim.gif"), "GIF89a\x01\x00\x01\x00", 10);
    rc = amod_image_read(tmp_path("anim.gif"), &back, &err);
    check_error(rc, &err, &back, tmp_path("anim.gif"), "gif");
    CHECK(strstr(err.msg, "GIF") != NULL, "gif message: %s", err.msg);

    write_bytes(tmp_path("empty.png"), "", 0);
    rc = amod_image_read(tmp_path("empty.png"), &back, &err);
    check_error(rc, &err, &back, tmp_path("empty.png"), "empty file");

    rc = amod_image_read(tmp_path("missing.png"), &back, &err);
    check_error(rc, &err, &back, tmp_path("missing.png"), "missing file");
    rc = amod_image_read(tmpdir, &back, &err);
    check_error(rc, &err, &back, tmpdir, "directory");

    /* Random byte flips and cuts in the PNG: no crash, sane results. */
    unsigned char *bad = malloc(n);
    srand(11);
    for (int t = 0; t < 300; t++) {
        memcpy(bad, png, n);
        for (int k = 0; k < 1 + t % 4; k++) bad[8 + (size_t)rand() % (n - 8)] = (unsigned char)rand();
        size_t len = t % 3 == 0 ? (size_t)rand() % n : n;
        if (amod_image_decode(bad, len, "fuzz.png", &back, &err) == 0) {
            CHECK(back.rgb && back.width > 0, "fuzzed png decoded to an empty image");
            amod_image_free(&back);
        } else {
            CHECK(back.rgb == NULL && strstr(err.msg, "fuzz.png"), "fuzzed png: bad error '%s'", err.msg);
        }
    }
    free(bad);

    /* Writing where it cannot: the error names the path. */
    char nowhere[600];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/out.png", tmpdir);
    CHECK(amod_image_write_png(nowhere, &img, &err) == -1 && strstr(err.msg, "no/such/dir"), "unwritable path: %s",
          err.msg);
    free(png);
    amod_image_free(&img);
}

static void test_square(void) {
    amod_error err;
    amod_image img;
    make_pattern(&img, 40, 30);
    CHECK(amod_image_require_square(&img, "image.png", &err) == -1, "40x30 accepted as square");
    CHECK(!strcmp(err.msg, "image.png is 40x30, expected a square image"), "message: %s", err.msg);
    amod_image_free(&img);
    make_pattern(&img, 16, 16);
    CHECK(amod_image_require_square(&img, "image.png", &err) == 0, "16x16 refused");
    amod_image_free(&img);
}

static void test_resize(void) {
    amod_error err;
    amod_image img, out;
    static const int sizes[][2] = {{7, 5}, {64, 64}, {13, 29}, {1, 1}, {100, 3}};
    CHECK(amod_canvas_new(&img, 31, 17, AMOD_RGB(200, 17, 90), &err) == 0, "%s", err.msg);
    for (int f = 0; f < 2; f++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int w = sizes[s][0], h = sizes[s][1];
            CHECK(amod_image_resize(&img, w, h, (amod_resize)f, &out, &err) == 0, "resize: %s", err.msg);
            int constant = out.width == w && out.height == h;
            for (int i = 0; constant && i < w * h; i++)
                constant = out.rgb[3 * i] == 200 && out.rgb[3 * i + 1] == 17 && out.rgb[3 * i + 2] == 90;
            CHECK(constant, "resizing a constant image to %dx%d (filter %d) changed it", w, h, f);
            amod_image_free(&out);
        }
    CHECK(amod_image_resize(&img, 0, 5, AMOD_RESIZE_BICUBIC, &out, &err) == -1, "resize to 0 wide accepted");
    amod_image_free(&img);

    /* A 2x downscale of a 0/255 checkerboard averages to mid gray (the antialias). */
    make_pattern(&img, 64, 64);
    for (int i = 0; i < 64 * 64; i++) memset(img.rgb + 3 * i, ((i % 64) + (i / 64)) % 2 ? 255 : 0, 3);
    CHECK(amod_image_resize(&img, 8, 8, AMOD_RESIZE_BICUBIC, &out, &err) == 0, "%s", err.msg);
    if (out.rgb) CHECK(abs(out.rgb[3 * (4 * 8 + 4)] - 128) <= 2, "downscaled checkerboard is %d, not gray", out.rgb[3 * 36]);
    amod_image_free(&out);
    amod_image_free(&img);

    /* Center crop: offsets round half to even, like torchvision. */
    make_pattern(&img, 7, 5);
    CHECK(amod_image_center_crop(&img, 2, 2, &out, &err) == 0, "%s", err.msg);
    if (out.rgb) CHECK(!memcmp(out.rgb, img.rgb + 3 * (2 + 7 * 2), 3), "crop of 7 to 2 should start at x = 2 (2.5 -> 2)");
    amod_image_free(&out);
    CHECK(amod_image_center_crop(&img, 4, 4, &out, &err) == 0, "%s", err.msg);
    if (out.rgb) CHECK(!memcmp(out.rgb, img.rgb + 3 * (2 + 7 * 0), 3), "crop of 7 to 4 should start at x = 2 (1.5 -> 2)");
    amod_image_free(&out);
    amod_image_free(&img);
}

static void test_transform(void) {
    amod_error err;
    amod_image img;
    make_pattern(&img, 32, 32);
    unsigned char *p = img.rgb + 3 * (5 * 32 + 3);
    p[0] = 10, p[1] = 128, p[2] = 250;
    amod_image_transform t = {.input_size = 32, .channels = 3, .mean = {0.485f, 0.456f, 0.406f},
                              .std = {0.229f, 0.224f, 0.225f}};
    float x[3 * 32 * 32];
    CHECK(amod_image_to_tensor(&img, &t, x, &err) == 0, "to_tensor: %s", err.msg);
    for (int c = 0; c < 3; c++) {
        float want = ((float)p[c] / 255.0f - t.mean[c]) / t.std[c];
        CHECK(x[c * 1024 + 5 * 32 + 3] == want, "channel %d: %.9g, expected %.9g", c, x[c * 1024 + 5 * 32 + 3], want);
    }
    CHECK(fabsf(x[5 * 32 + 3] - (10.0f / 255.0f - 0.485f) / 0.229f) < 1e-6f, "value off");

    /* One channel: PIL luma of (10, 128, 250): (19595*10 + 38470*128 + 7471*250 + 0x8000) >> 16 = 107. */
    t.channels = 1;
    t.mean[0] = 0.5f, t.std[0] = 0.5f;
    CHECK(amod_image_to_tensor(&img, &t, x, &err) == 0, "to_tensor gray: %s", err.msg);
    CHECK(x[5 * 32 + 3] == (107.0f / 255.0f - 0.5f) / 0.5f, "luma value %.9g", x[5 * 32 + 3]);

    /* And back for display. */
    amod_image shown;
    CHECK(amod_image_from_tensor(x, 1, 32, 32, t.mean, t.std, &shown, &err) == 0, "%s", err.msg);
    if (shown.rgb) expect_pixel(&shown, 3, 5, 107, 107, 107, "from_tensor");
    amod_image_free(&shown);
    amod_image_free(&img);

    /* Large input: 300x200 -> shorter side 256, center 224 crop. Constant image stays constant. */
    CHECK(amod_canvas_new(&img, 300, 200, AMOD_RGB(51, 102, 204), &err) == 0, "%s", err.msg);
    t = (amod_image_transform){.input_size = 224, .channels = 3, .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
    amod_image pre;
    CHECK(amod_image_preprocess(&img, &t, &pre, &err) == 0, "preprocess: %s", err.msg);
    CHECK(pre.width == 224 && pre.height == 224, "preprocessed to %dx%d", pre.width, pre.height);
    if (pre.rgb) expect_pixel(&pre, 100, 200, 51, 102, 204, "preprocessed constant");
    amod_image_free(&pre);
    t.channels = 2;
    CHECK(amod_image_preprocess(&img, &t, &pre, &err) == -1 && strstr(err.msg, "channels"), "2 channels accepted");
    amod_image_free(&img);
}

/* Every non-background pixel lies in [x0, x1) x [y0, y1), and there are some. */
static void check_ink_box(const amod_image *c, int x0, int y0, int x1, int y1, const char *what) {
    int inside = 0, outside = 0;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++) {
            const unsigned char *p = c->rgb + 3 * ((size_t)y * c->width + x);
            if (p[0] == 255 && p[1] == 255 && p[2] == 255) continue;
            if (x >= x0 && x < x1 && y >= y0 && y < y1)
                inside++;
            else
                outside++;
        }
    CHECK(inside > 0 && outside == 0, "%s: %d pixels inside the box, %d outside", what, inside, outside);
}

static void test_text(void) {
    amod_error err;
    amod_image c;
    CHECK(amod_canvas_new(&c, 300, 80, AMOD_WHITE, &err) == 0, "%s", err.msg);
    const char *s = "layer 3 (k=9/17)";
    int w = amod_canvas_text(&c, 10, 20, s, AMOD_BLACK, 2);
    CHECK(w == amod_canvas_text_width(s, 2) && w == (16 * 6 - 1) * 2, "text width %d", w);
    check_ink_box(&c, 10, 20, 10 + w, 20 + amod_canvas_text_height(s, 2), "text");
    amod_canvas_fill_rect(&c, 0, 0, 300, 80, AMOD_WHITE);
    amod_canvas_text_up(&c, 40, 5, "C=12.5%", AMOD_BLACK, 1);
    check_ink_box(&c, 40, 5, 40 + amod_canvas_text_height("C=12.5%", 1), 5 + amod_canvas_text_width("C=12.5%", 1), "turned text");
    /* Off-canvas and absurd coordinates clip quietly. */
    amod_canvas_text(&c, -1000000000, 2000000000, "x", AMOD_BLACK, 3);
    amod_canvas_line(&c, -2000000000, -5, 2000000000, 70, AMOD_BLACK, 3);
    amod_canvas_fill_rect(&c, 2000000000, 2000000000, 2000000000, 2000000000, AMOD_BLACK);
    amod_canvas_rect(&c, 2000000000, 2000000000, 2000000000, 2000000000, AMOD_BLACK, 2000000000);
    amod_canvas_line(&c, 5, 5, 6, 6, AMOD_BLACK, 2147483647);
    amod_canvas_blend_rect(&c, -5, -5, 10, 10, AMOD_WHITE, NAN);
    amod_image_free(&c);
}

static void test_plot(void) {
    amod_error err;
    amod_image img;
    double epochs[10], acc_a[10], acc_b[10], loss[10];
    for (int i = 0; i < 10; i++) {
        epochs[i] = i + 1;
        acc_a[i] = 90.0 - 60.0 * exp(-0.4 * i);
        acc_b[i] = 88.0 - 55.0 * exp(-0.3 * i);
        loss[i] = i == 4 ? NAN : 80.0 - 50.0 * exp(-0.5 * i);
    }
    amod_series lines[3] = {{"dense", epochs, acc_a, 10}, {"A-MoD C=12.5%", epochs, acc_b, 10},
                            {"MoD linear", epochs, loss, 10}};
    amod_plot p = {.kind = AMOD_PLOT_LINES, .title = "accuracy vs epoch", .x_label = "epoch",
                   .y_label = "top-1 accuracy (%)", .series = lines, .n_series = 3};
    CHECK(amod_plot_render(&p, &img, &err) == 0, "line plot: %s", err.msg);
    CHECK(img.width == 800 && img.height == 500, "plot size %dx%d", img.width, img.height);
    int colored = 0;
    amod_rgb c1 = amod_canvas_palette(1);
    for (int i = 0; img.rgb && i < img.width * img.height; i++)
        colored += img.rgb[3 * i] == c1.r && img.rgb[3 * i + 1] == c1.g && img.rgb[3 * i + 2] == c1.b;
    CHECK(colored > 100, "second series hardly drawn (%d pixels)", colored);
    amod_image_free(&img);
    CHECK(amod_plot_write_png(&p, tmp_path("lines.png"), &err) == 0, "write plot: %s", err.msg);

    double corr_a[12], corr_b[12];
    const char *names[12] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"};
    for (int i = 0; i < 12; i++) corr_a[i] = sin(i * 0.6) * 0.8, corr_b[i] = 0.3 + 0.05 * i;
    amod_series bars[2] = {{"attention", NULL, corr_a, 12}, {"linear", NULL, corr_b, 12}};
    amod_plot b = {.kind = AMOD_PLOT_BARS, .title = "correlation per layer", .x_label = "layer",
                   .y_label = "Spearman r", .series = bars, .n_series = 2, .categories = names};
    CHECK(amod_plot_write_png(&b, tmp_path("bars.png"), &err) == 0, "write bars: %s", err.msg);

    amod_plot none = {.kind = AMOD_PLOT_LINES};
    CHECK(amod_plot_render(&none, &img, &err) == -1 && img.rgb == NULL, "plot without series accepted");
    double nan1 = NAN;
    amod_series empty = {"nan", NULL, &nan1, 1};
    none.series = &empty;
    none.n_series = 1;
    CHECK(amod_plot_write_png(&none, tmp_path("nan.png"), &err) == -1 && strstr(err.msg, "nan.png"),
          "all-NaN plot: %s", err.msg);
    p.width = 60;
    CHECK(amod_plot_render(&p, &img, &err) == -1, "tiny plot accepted");

    const char *keep = getenv("AMOD_IMAGE_SAMPLES");
    if (keep && *keep) {
        char path[1024];
        snprintf(path, sizeof path, "%s/sample_lines.png", keep);
        p.width = 0;
        CHECK(amod_plot_write_png(&p, path, &err) == 0, "%s", err.msg);
        snprintf(path, sizeof path, "%s/sample_bars.png", keep);
        CHECK(amod_plot_write_png(&b, path, &err) == 0, "%s", err.msg);
    }
}

/* A routing-map-like canvas: tiles with whitened patches and labels, plus the whole font. */
static void test_sample_canvas(void) {
    amod_error err;
    amod_image c, pic;
    CHECK(amod_canvas_new(&c, 700, 330, AMOD_WHITE, &err) == 0, "%s", err.msg);
    make_pattern(&pic, 32, 32);
    for (int l = 0; l < 3; l++) {
        int x = 20 + l * 220, y = 40;
        amod_canvas_blit(&c, &pic, x, y, 6);
        for (int py = 0; py < 4; py++)
            for (int px = 0; px < 4; px++)
                if ((px * 3 + py * 5 + l) % (l + 2) == 0)
                    amod_canvas_blend_rect(&c, x + px * 48, y + py * 48, 48, 48, AMOD_WHITE, 0.8f);
        amod_canvas_rect(&c, x - 1, y - 1, 194, 194, AMOD_RGB(90, 90, 90), 1);
        char label[64];
        snprintf(label, sizeof label, "layer %d (k=%d/17)", 2 * l + 1, 9 - 2 * l);
        amod_canvas_text(&c, x, y - 24, label, AMOD_BLACK, 2);
    }
    amod_canvas_text(&c, 20, 250, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`", AMOD_BLACK, 1);
    amod_canvas_text(&c, 20, 262, "abcdefghijklmnopqrstuvwxyz{|}~  C=12.5%  top-1 = 71.25", AMOD_BLACK, 2);
    amod_canvas_text(&c, 20, 285, "The quick brown fox jumps over the lazy dog.\nline two: acc_top1 = 0.875", AMOD_BLACK, 1);
    amod_canvas_line(&c, 400, 280, 680, 320, amod_canvas_palette(3), 2);
    CHECK(amod_image_write_png(tmp_path("canvas.png"), &c, &err) == 0, "%s", err.msg);
    const char *keep = getenv("AMOD_IMAGE_SAMPLES");
    if (keep && *keep) {
        char path[1024];
        snprintf(path, sizeof path, "%s/sample_canvas.png", keep);
        CHECK(amod_image_write_png(path, &c, &err) == 0, "%s", err.msg);
    }
    amod_image_free(&pic);
    amod_image_free(&c);
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(tmp_path(e->d_name));
    if (d) closedir(d);
    rmdir(tmpdir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/amod_test_image_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_png_round_trip();
#ifdef AMOD_HAVE_PNG
    test_png_color_types();
#endif
#ifdef AMOD_HAVE_JPEG
    test_jpeg();
#endif
    test_read_errors();
#ifdef AMOD_HAVE_PNG
    test_size_limits();
#endif
    test_square();
    test_resize();
    test_transform();
    test_text();
    test_plot();
    test_sample_canvas();
    remove_tmpdir();
    return test_summary("test_image");
}
