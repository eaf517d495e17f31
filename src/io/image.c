/* Reading pictures (format detection by magic bytes, then the PNG or JPEG decoder) and
 * cropping. */
#include "io/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Names the formats people will try, so the message says what the file is. */
static const char *known_other_format(const unsigned char *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "GIF";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "TIFF";
    if (n >= 2 && !memcmp(d, "BM", 2)) return "BMP";
    if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7') return "PNM";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "HEIF/AVIF";
    return NULL;
}

int amod_image_decode(const unsigned char *data, size_t size, const char *name, amod_image *out,
                      amod_error *err) {
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out->width = out->height = 0;
    out->rgb = NULL;
    if (size == 0) return amod_fail(err, "%s: empty file, expected a PNG or JPEG image", name);
    if (size >= 8 && !memcmp(data, png_magic, 8)) return amod_image_decode_png(data, size, name, out, err);
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return amod_image_decode_jpeg(data, size, name, out, err);
    const char *other = known_other_format(data, size);
    if (other) return amod_fail(err, "%s: %s images are not supported, convert it to PNG or JPEG", name, other);
    return amod_fail(err, "%s: not a PNG or JPEG image", name);
}

int amod_image_read(const char *path, amod_image *out, amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    size_t size = 0;
    unsigned char *data = amod_read_file(path, &size, err);
    if (!data) return -1;
    int rc = amod_image_decode(data, size, path, out, err);
    free(data);
    return rc;
}

int amod_image_require_square(const amod_image *img, const char *name, amod_error *err) {
    if (img->width != img->height)
        return amod_fail(err, "%s is %dx%d, expected a square image", name, img->width, img->height);
    return 0;
}

int amod_image_crop(const amod_image *src, int x, int y, int width, int height, amod_image *dst,
                    amod_error *err) {
    if (amod_image_alloc(dst, width, height, err)) return -1;
    /* Columns of the window that fall inside src; the rest stays black. */
    long x0 = x < 0 ? 0 : x, x1 = (long)x + width;
    if (x1 > src->width) x1 = src->width;
    for (int r = 0; r < height; r++) {
        long sy = (long)y + r;
        if (sy < 0 || sy >= src->height || x0 >= x1) continue;
        memcpy(dst->rgb + ((size_t)r * width + (size_t)(x0 - x)) * 3,
               src->rgb + ((size_t)sy * src->width + (size_t)x0) * 3, (size_t)(x1 - x0) * 3);
    }
    return 0;
}

int amod_image_center_offset(int src, int dst) {
    /* torchvision: round() is half to even, which nearbyint does in the default rounding mode.
     * When src is smaller it pads (dst - src) / 2 on the left: the same negative offset. */
    return src >= dst ? (int)nearbyint((src - dst) / 2.0) : -((dst - src) / 2);
}

int amod_image_center_crop(const amod_image *src, int width, int height, amod_image *dst,
                           amod_error *err) {
    return amod_image_crop(src, amod_image_center_offset(src->width, width), amod_image_center_offset(src->height, height),
                           width, height, dst, err);
}
