/* Fuzz target: a PNG or JPEG from memory, and every pixel of the result touched, so a picture
 * smaller than its reported size shows as an out-of-bounds read. */
#include "io/image.h"
#include "targets.h"

int amod_fuzz_image(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    amod_image img;
    if (amod_image_decode(data, size, name, &img, err)) {
        if (img.rgb || img.width || img.height) amod_fuzz_broken("image left filled after an error");
        return -1;
    }
    if (img.width < 1 || img.height < 1 || (long)img.width * img.height > AMOD_IMAGE_MAX_PIXELS)
        amod_fuzz_broken("decoded a %d x %d image", img.width, img.height);
    unsigned sum = 0;
    size_t n = (size_t)img.width * (size_t)img.height * 3;
    for (size_t i = 0; i < n; i++) sum += img.rgb[i];
    amod_image_free(&img);
    volatile unsigned sink = sum;
    (void)sink;
    return 0;
}
