/* The RGB8 picture's memory: allocation within the pixel limit, freeing, copying. The decoders
 * and everything that makes pictures use these. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/image.h"

int amod_image_alloc(amod_image *img, int width, int height, amod_error *err) {
    img->width = img->height = 0;
    img->rgb = NULL;
    if (width <= 0 || height <= 0)
        return amod_fail(err, "invalid image size %dx%d", width, height);
    if ((long)width * (long)height > AMOD_IMAGE_MAX_PIXELS)
        return amod_fail(err, "image too large: %dx%d pixels", width, height);
    img->rgb = amod_zalloc((size_t)width * (size_t)height * 3, err);
    if (!img->rgb) return -1;
    img->width = width;
    img->height = height;
    return 0;
}

void amod_image_free(amod_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

int amod_image_copy(const amod_image *src, amod_image *dst, amod_error *err) {
    if (amod_image_alloc(dst, src->width, src->height, err)) return -1;
    memcpy(dst->rgb, src->rgb, (size_t)src->width * (size_t)src->height * 3);
    return 0;
}
