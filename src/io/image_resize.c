/* Separable resampling, a port of Pillow's ImagingResample (Resample.c) for 8-bit images.
 *
 * Following PIL to the bit matters: timm's eval transform resizes with PIL, and a model's
 * accuracy is measured on those pixels. Same filter coefficients (double), same 22-bit
 * fixed-point rounding, horizontal pass first into an 8-bit buffer, then vertical. */
#include "io/image.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define PRECISION_BITS (32 - 8 - 2)

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Per output pixel: first input index, count, and ksize fixed-point weights. */
typedef struct {
    int ksize;
    int *bounds; /* [out, 2] */
    int32_t *k;  /* [out, ksize] */
} coeffs;

static void coeffs_free(coeffs *c) {
    free(c->bounds);
    free(c->k);
}

static int coeffs_make(coeffs *c, int in_size, int out_size, amod_resize f, amod_error *err) {
    double (*filter)(double) = f == AMOD_RESIZE_BILINEAR ? triangle : bicubic;
    double support = f == AMOD_RESIZE_BILINEAR ? 1.0 : 2.0;
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    support *= filterscale; /* downscaling: the filter spans scale input pixels, an antialias */
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = amod_alloc(sizeof *c->bounds * 2 * (size_t)out_size, err);
    c->k = amod_zalloc(sizeof *c->k * (size_t)c->ksize * (size_t)out_size, err);
    double *w = amod_alloc(sizeof *w * (size_t)c->ksize, err);
    if (!c->bounds || !c->k || !w) {
        free(w);
        coeffs_free(c);
        return -1;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = filter((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = c->k + (size_t)xx * c->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return 0;
}

static unsigned char clip8(int64_t v) {
    if (v >= ((int64_t)1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (unsigned char)(v >> PRECISION_BITS);
}

/* Rows [0, rows) of dst from rows [y0, y0 + rows) of src. */
static void pass_horizontal(unsigned char *dst, int dst_w, const unsigned char *src, int src_w, int y0, int rows,
                            const coeffs *c) {
    for (int y = 0; y < rows; y++) {
        const unsigned char *s = src + (size_t)(y0 + y) * src_w * 3;
        unsigned char *d = dst + (size_t)y * dst_w * 3;
        for (int xx = 0; xx < dst_w; xx++) {
            int xmin = c->bounds[2 * xx], n = c->bounds[2 * xx + 1];
            const int32_t *k = c->k + (size_t)xx * c->ksize;
            for (int ch = 0; ch < 3; ch++) {
                int64_t acc = (int64_t)1 << (PRECISION_BITS - 1);
                for (int x = 0; x < n; x++) acc += (int64_t)s[(size_t)(x + xmin) * 3 + ch] * k[x];
                d[(size_t)xx * 3 + ch] = clip8(acc);
            }
        }
    }
}

static void pass_vertical(unsigned char *dst, int dst_h, const unsigned char *src, int w, int y_shift,
                          const coeffs *c) {
    for (int yy = 0; yy < dst_h; yy++) {
        int ymin = c->bounds[2 * yy] - y_shift, n = c->bounds[2 * yy + 1];
        const int32_t *k = c->k + (size_t)yy * c->ksize;
        unsigned char *d = dst + (size_t)yy * w * 3;
        for (size_t i = 0; i < (size_t)w * 3; i++) {
            int64_t acc = (int64_t)1 << (PRECISION_BITS - 1);
            for (int y = 0; y < n; y++) acc += (int64_t)src[(size_t)(y + ymin) * w * 3 + i] * k[y];
            d[i] = clip8(acc);
        }
    }
}

int amod_image_resize(const amod_image *src, int width, int height, amod_resize filter,
                      amod_image *dst, amod_error *err) {
    dst->width = dst->height = 0;
    dst->rgb = NULL;
    if (!src->rgb || src->width <= 0 || src->height <= 0) return amod_fail(err, "cannot resize an empty image");
    if (filter != AMOD_RESIZE_BICUBIC && filter != AMOD_RESIZE_BILINEAR)
        return amod_fail(err, "unknown resize filter %d", (int)filter);
    if (width == src->width && height == src->height) return amod_image_copy(src, dst, err);
    if (amod_image_alloc(dst, width, height, err)) return -1;

    coeffs ch = {0}, cv = {0};
    if (coeffs_make(&ch, src->width, width, filter, err) || coeffs_make(&cv, src->height, height, filter, err)) {
        coeffs_free(&ch);
        amod_image_free(dst);
        return -1;
    }
    /* Only the source rows the vertical pass reads go through the horizontal pass. */
    int y_first = cv.bounds[0], y_last = cv.bounds[2 * height - 2] + cv.bounds[2 * height - 1];
    const unsigned char *rows = src->rgb;
    unsigned char *tmp = NULL;
    int y_shift = 0;
    if (width != src->width) {
        tmp = amod_alloc((size_t)width * (size_t)(y_last - y_first) * 3, err);
        if (!tmp) {
            coeffs_free(&ch);
            coeffs_free(&cv);
            amod_image_free(dst);
            return -1;
        }
        pass_horizontal(tmp, width, src->rgb, src->width, y_first, y_last - y_first, &ch);
        rows = tmp;
        y_shift = y_first;
    }
    if (height != src->height)
        pass_vertical(dst->rgb, height, rows, width, y_shift, &cv);
    else
        memcpy(dst->rgb, rows, (size_t)width * (size_t)height * 3);
    free(tmp);
    coeffs_free(&ch);
    coeffs_free(&cv);
    return 0;
}
