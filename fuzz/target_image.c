/* Fuzz target: a PNG or JPEG from memory, and every pixel of the result touched, so a picture
 * smaller than its reported size shows as an out-of-bounds read.
 *
 * A JPEG of a hundred bytes may legally decode to AMOD_IMAGE_MAX_PIXELS (arithmetic coding
 * and progressive end-of-band runs make blank blocks nearly free), which takes seconds under
 * the sanitizers. In the fuzzers, inputs whose header claims more than FUZZ_MAX_PIXELS are
 * skipped, as libjpeg-turbo's own fuzzers do; replayed regressions always decode. */
#include <string.h>

#include "io/image.h"
#include "targets.h"

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FUZZ_MAX_PIXELS (1UL << 20)

static unsigned long be16(const uint8_t *p) { return (unsigned long)p[0] << 8 | p[1]; }
static unsigned long be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

/* Width x height from the PNG IHDR or the first JPEG frame header; 0 when not found. This
 * walks markers roughly as libjpeg does; a mismatch only lets a slow input through. */
static unsigned long long claimed_pixels(const uint8_t *d, size_t n) {
    if (n >= 24 && d[0] == 0x89 && !memcmp(d + 12, "IHDR", 4)) return (unsigned long long)be32(d + 16) * be32(d + 20);
    if (n < 4 || d[0] != 0xff || d[1] != 0xd8) return 0;
    for (size_t i = 2; i + 9 < n;) {
        if (d[i] != 0xff) { /* garbage between segments: libjpeg skips to the next 0xff */
            i++;
            continue;
        }
        uint8_t m = d[i + 1];
        if (m == 0xff || m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { /* fill byte, no-length markers */
            i++;
            continue;
        }
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
            return (unsigned long long)be16(d + i + 5) * be16(d + i + 7);
        if (m == 0xda || m == 0xd9) return 0; /* scan data or end before any frame */
        i += 2 + be16(d + i + 2);
    }
    return 0;
}
#endif

int amod_fuzz_image(const uint8_t *data, size_t size, const char *name, amod_error *err) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (claimed_pixels(data, size) > FUZZ_MAX_PIXELS) return 0;
#endif
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
