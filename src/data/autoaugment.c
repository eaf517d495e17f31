/* TrivialAugmentWide and RandAugment (autoaugment.h). */
#include "data/autoaugment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef enum {
    OP_IDENTITY, OP_SHEAR_X, OP_SHEAR_Y, OP_TRANSLATE_X, OP_TRANSLATE_Y, OP_ROTATE, OP_BRIGHTNESS, OP_COLOR,
    OP_CONTRAST, OP_SHARPNESS, OP_POSTERIZE, OP_SOLARIZE, OP_AUTOCONTRAST, OP_EQUALIZE, OP_INVERT, OP_SOLARIZE_ADD
} op_kind;

static unsigned char clamp8(double v) { return (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5)); }

/* PIL's convert("L") of one pixel. */
static unsigned char luma(const unsigned char *p) {
    return (unsigned char)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
}

/* Output pixel (x, y) reads input (a x + b y + c, d x + e y + f), nearest, fill 128 (timm's _FILL). */
static int affine(amod_image *img, double a, double b, double c, double d, double e, double f, amod_error *err) {
    amod_image out;
    if (amod_image_alloc(&out, img->width, img->height, err)) return -1;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            /* PIL samples at pixel centres */
            const double sx = a * (x + 0.5) + b * (y + 0.5) + c, sy = d * (x + 0.5) + e * (y + 0.5) + f;
            const int ix = (int)floor(sx), iy = (int)floor(sy);
            unsigned char *o = out.rgb + 3 * ((size_t)y * img->width + x);
            if (ix < 0 || iy < 0 || ix >= img->width || iy >= img->height) o[0] = o[1] = o[2] = 128;
            else memcpy(o, img->rgb + 3 * ((size_t)iy * img->width + ix), 3);
        }
    amod_image_free(img);
    *img = out;
    return 0;
}

/* PIL's ImageEnhance: degenerate * (1 - factor) + img * factor. */
static void blend(amod_image *img, const amod_image *degenerate, double factor) {
    const size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) img->rgb[i] = clamp8(degenerate->rgb[i] + factor * (img->rgb[i] - degenerate->rgb[i]));
}

static int enhance(amod_image *img, op_kind op, double factor, amod_error *err) {
    amod_image deg;
    if (amod_image_alloc(&deg, img->width, img->height, err)) return -1;
    const size_t n = (size_t)img->width * img->height;
    if (op == OP_COLOR || op == OP_CONTRAST) {
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += luma(img->rgb + 3 * i);
        const unsigned char mean = (unsigned char)(int)(sum / (double)n + 0.5);
        for (size_t i = 0; i < n; i++)
            deg.rgb[3 * i] = deg.rgb[3 * i + 1] = deg.rgb[3 * i + 2] = op == OP_COLOR ? luma(img->rgb + 3 * i) : mean;
    } else if (op == OP_SHARPNESS) { /* PIL's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1) / 13, borders kept */
        memcpy(deg.rgb, img->rgb, n * 3);
        for (int y = 1; y + 1 < img->height; y++)
            for (int x = 1; x + 1 < img->width; x++)
                for (int c = 0; c < 3; c++) {
                    int s = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            s += img->rgb[3 * ((size_t)(y + dy) * img->width + x + dx) + c] * (dx || dy ? 1 : 5);
                    deg.rgb[3 * ((size_t)y * img->width + x) + c] = clamp8(s / 13.0);
                }
    } /* brightness: black */
    blend(img, &deg, factor);
    amod_image_free(&deg);
    return 0;
}

/* PIL's ImageOps.autocontrast (no cutoff): each channel stretched from its min..max to 0..255. */
static void autocontrast(amod_image *img) {
    const size_t n = (size_t)img->width * img->height;
    for (int c = 0; c < 3; c++) {
        int lo = 255, hi = 0;
        for (size_t i = 0; i < n; i++) {
            const int v = img->rgb[3 * i + c];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        if (hi <= lo) continue;
        const double scale = 255.0 / (hi - lo);
        for (size_t i = 0; i < n; i++) img->rgb[3 * i + c] = clamp8((img->rgb[3 * i + c] - lo) * scale);
    }
}

/* PIL's ImageOps.equalize: per channel, a lookup table from the histogram's running sum. */
static void equalize(amod_image *img) {
    const size_t n = (size_t)img->width * img->height;
    for (int c = 0; c < 3; c++) {
        size_t h[256] = {0};
        for (size_t i = 0; i < n; i++) h[img->rgb[3 * i + c]]++;
        size_t last = 0, nonzero = 0;
        for (int v = 0; v < 256; v++)
            if (h[v]) last = h[v], nonzero++;
        const size_t step = (n - last) / 255;
        if (nonzero <= 1 || !step) continue;
        unsigned char lut[256];
        size_t run = step / 2;
        for (int v = 0; v < 256; v++) {
            const size_t o = run / step;
            lut[v] = (unsigned char)(o > 255 ? 255 : o);
            run += h[v];
        }
        for (size_t i = 0; i < n; i++) img->rgb[3 * i + c] = lut[img->rgb[3 * i + c]];
    }
}

/* One op at value v (already scaled and signed). */
static int apply_op(amod_image *img, op_kind op, double v, amod_error *err) {
    const double W = img->width, H = img->height, cx = W / 2.0, cy = H / 2.0;
    const size_t n3 = (size_t)img->width * img->height * 3;
    switch (op) {
    case OP_IDENTITY: return 0;
    case OP_SHEAR_X: return affine(img, 1, v, -v * cy, 0, 1, 0, err); /* about the centre, as torchvision */
    case OP_SHEAR_Y: return affine(img, 1, 0, 0, v, 1, -v * cx, err);
    case OP_TRANSLATE_X: return affine(img, 1, 0, v, 0, 1, 0, err);
    case OP_TRANSLATE_Y: return affine(img, 1, 0, 0, 0, 1, v, err);
    case OP_ROTATE: { /* counter-clockwise by v degrees about the centre, as PIL's rotate */
        const double t = v * 3.14159265358979323846 / 180.0, co = cos(t), si = sin(t);
        return affine(img, co, -si, cx - co * cx + si * cy, si, co, cy - si * cx - co * cy, err);
    }
    case OP_BRIGHTNESS: case OP_COLOR: case OP_CONTRAST: case OP_SHARPNESS: return enhance(img, op, v, err);
    case OP_POSTERIZE: {
        const int bits = (int)v, mask = bits >= 8 ? 0xff : (0xff << (8 - (bits < 1 ? 1 : bits))) & 0xff;
        for (size_t i = 0; i < n3; i++) img->rgb[i] &= (unsigned char)mask;
        return 0;
    }
    case OP_SOLARIZE:
        for (size_t i = 0; i < n3; i++)
            if (img->rgb[i] >= v) img->rgb[i] = (unsigned char)(255 - img->rgb[i]);
        return 0;
    case OP_SOLARIZE_ADD: /* timm: add v below the threshold 128 */
        for (size_t i = 0; i < n3; i++)
            if (img->rgb[i] < 128) img->rgb[i] = clamp8(img->rgb[i] + v);
        return 0;
    case OP_INVERT:
        for (size_t i = 0; i < n3; i++) img->rgb[i] = (unsigned char)(255 - img->rgb[i]);
        return 0;
    case OP_AUTOCONTRAST: autocontrast(img); return 0;
    case OP_EQUALIZE: equalize(img); return 0;
    }
    return 0;
}

static double sign(amod_data_rng *r) { return (amod_data_rng_next(r) >> 63) ? -1.0 : 1.0; }

/* torchvision's TrivialAugmentWide: its 14 ops and their "wide" magnitude ranges over 31 bins. */
static int trivial(amod_data_rng *r, amod_image *img, amod_error *err) {
    static const op_kind ops[] = {OP_IDENTITY, OP_SHEAR_X,   OP_SHEAR_Y,   OP_TRANSLATE_X, OP_TRANSLATE_Y,
                                  OP_ROTATE,   OP_BRIGHTNESS, OP_COLOR,    OP_CONTRAST,    OP_SHARPNESS,
                                  OP_POSTERIZE, OP_SOLARIZE,  OP_AUTOCONTRAST, OP_EQUALIZE};
    const op_kind op = ops[amod_data_rng_below(r, sizeof ops / sizeof *ops)];
    const double bin = (double)amod_data_rng_below(r, 31), t = bin / 30.0; /* linspace(0, max, 31)[bin] */
    double v = 0;
    switch (op) {
    case OP_SHEAR_X: case OP_SHEAR_Y: v = 0.99 * t * sign(r); break;
    case OP_TRANSLATE_X: case OP_TRANSLATE_Y: v = 32.0 * t * sign(r); break;
    case OP_ROTATE: v = 135.0 * t * sign(r); break;
    case OP_BRIGHTNESS: case OP_COLOR: case OP_CONTRAST: case OP_SHARPNESS: v = 1.0 + 0.99 * t * sign(r); break;
    case OP_POSTERIZE: v = 8 - round(bin / 5.0); break; /* 8 - (arange(31) / ((31 - 1) / 6)).round() */
    case OP_SOLARIZE: v = 255.0 * (1.0 - t); break;
    default: break;
    }
    return apply_op(img, op, v, err);
}

/* timm's RandAugment: its 15 ops and their ranges at magnitude m of 10. */
static int randaug(const amod_autoaug *a, amod_data_rng *r, amod_image *img, amod_error *err) {
    static const op_kind ops[] = {OP_AUTOCONTRAST, OP_EQUALIZE,  OP_INVERT,     OP_ROTATE,    OP_POSTERIZE,
                                  OP_SOLARIZE,     OP_SOLARIZE_ADD, OP_COLOR,   OP_CONTRAST,  OP_BRIGHTNESS,
                                  OP_SHARPNESS,    OP_SHEAR_X,   OP_SHEAR_Y,    OP_TRANSLATE_X, OP_TRANSLATE_Y};
    for (int k = 0; k < a->n; k++) {
        const op_kind op = ops[amod_data_rng_below(r, sizeof ops / sizeof *ops)];
        if (amod_data_rng_uniform(r) >= a->p) continue;
        double m = a->m;
        if (a->mstd > 0) m += a->mstd * amod_data_rng_normal(r, NULL);
        m = m < 0 ? 0 : m > 10 ? 10 : m;
        const double t = m / 10.0;
        double v = 0;
        switch (op) {
        case OP_ROTATE: v = 30.0 * t * sign(r); break;
        case OP_POSTERIZE: v = 4 - (int)(4 * t); break; /* timm's posterize: 4 bits down to 0 */
        case OP_SOLARIZE: v = 256.0 - 256.0 * t; break;
        case OP_SOLARIZE_ADD: v = 110.0 * t; break;
        case OP_COLOR: case OP_CONTRAST: case OP_BRIGHTNESS: case OP_SHARPNESS: v = 1.0 + 0.9 * t * sign(r); break;
        case OP_SHEAR_X: case OP_SHEAR_Y: v = 0.3 * t * sign(r); break;
        case OP_TRANSLATE_X: v = 0.45 * t * img->width * sign(r); break;
        case OP_TRANSLATE_Y: v = 0.45 * t * img->height * sign(r); break;
        default: break;
        }
        if (apply_op(img, op, v, err)) return -1;
    }
    return 0;
}

int amod_autoaug_apply(const amod_autoaug *a, amod_data_rng *r, amod_image *img, amod_error *err) {
    if (a->kind == AMOD_AUTOAUG_TRIVIAL) return trivial(r, img, err);
    if (a->kind == AMOD_AUTOAUG_RAND) return randaug(a, r, img, err);
    return 0;
}

int amod_autoaug_parse(const char *s, amod_autoaug *out, amod_error *err) {
    *out = (amod_autoaug){AMOD_AUTOAUG_NONE, 2, 9, 0, 0.5f};
    if (!s || !*s || !strcmp(s, "none")) return 0;
    if (!strcmp(s, "trivial")) return out->kind = AMOD_AUTOAUG_TRIVIAL, 0;
    if (strncmp(s, "rand", 4) || (s[4] && s[4] != '-'))
        return amod_fail(err, "--auto-augment '%s': expected none, trivial or rand-m9-mstd0.5[-n2][-p0.5]", s);
    out->kind = AMOD_AUTOAUG_RAND;
    for (const char *p = s + 4; *p;) {
        p++; /* the '-' */
        char *end;
        const char *key = p;
        const size_t klen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
        const double v = strtod(p + klen, &end);
        if (end == p + klen || (*end && *end != '-'))
            return amod_fail(err, "--auto-augment '%s': '%.*s' needs a number", s, (int)klen, key);
        if (klen == 1 && key[0] == 'm' && v >= 0 && v <= 10) out->m = (float)v;
        else if (klen == 4 && !strncmp(key, "mstd", 4) && v >= 0 && v <= 10) out->mstd = (float)v;
        else if (klen == 1 && key[0] == 'n' && v >= 1 && v <= 15 && v == floor(v)) out->n = (int)v;
        else if (klen == 1 && key[0] == 'p' && v >= 0 && v <= 1) out->p = (float)v;
        else return amod_fail(err, "--auto-augment '%s': unknown or out-of-range part '%.*s%g'", s, (int)klen, key, v);
        p = end;
    }
    return 0;
}

void amod_autoaug_format(const amod_autoaug *a, char *out, int cap) {
    if (a->kind == AMOD_AUTOAUG_TRIVIAL) snprintf(out, (size_t)cap, "trivial");
    else if (a->kind == AMOD_AUTOAUG_RAND)
        snprintf(out, (size_t)cap, "rand-m%g-mstd%g-n%d-p%g", (double)a->m, (double)a->mstd, a->n, (double)a->p);
    else snprintf(out, (size_t)cap, "none");
}
