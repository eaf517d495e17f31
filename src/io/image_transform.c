/* From a picture to a model input: timm's eval transform (see amod_image_transform). */
#include "io/image.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

void amod_image_transform_init(amod_image_transform *t, int size, int channels, const float mean[3],
                               const float std[3]) {
    memset(t, 0, sizeof *t);
    t->input_size = size;
    t->channels = channels;
    memcpy(t->mean, mean, sizeof t->mean);
    memcpy(t->std, std, sizeof t->std);
    t->filter = AMOD_RESIZE_BICUBIC;
}

int amod_image_transform_check(const amod_image_transform *t, amod_error *err) {
    if (t->input_size <= 0 || t->input_size > 8192)
        return amod_fail(err, "model input size %d is out of range", t->input_size);
    if (t->channels != 1 && t->channels != 3)
        return amod_fail(err, "models with %d input channels are not supported (1 or 3)", t->channels);
    if (!(t->crop_pct >= 0.0 && t->crop_pct <= 1.0))
        return amod_fail(err, "crop_pct %g is out of range: 0 (the default) or in (0, 1]", t->crop_pct);
    for (int c = 0; c < t->channels; c++)
        if (!(t->std[c] > 0.0f) || !isfinite(t->mean[c]))
            return amod_fail(err, "invalid normalisation for channel %d (mean %g, std %g)", c, t->mean[c],
                             t->std[c]);
    return 0;
}

void amod_image_to_luma(amod_image *img) {
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = img->rgb + 3 * i;
        unsigned char l = (unsigned char)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
        p[0] = p[1] = p[2] = l;
    }
}

/* The picture's size after the resize: straight to the input (squash) or, as torchvision's
 * Resize(int), the shorter side to floor(input / crop_pct), the longer one truncated. */
static void resized_size(const amod_image_transform *t, int w, int h, int *squash, int *nw, int *nh) {
    const int size = t->input_size;
    double crop_pct = t->crop_pct;
    *squash = t->squash || (crop_pct == 0.0 && size <= AMOD_IMAGE_SMALL_INPUT);
    if (crop_pct == 0.0) crop_pct = AMOD_IMAGE_DEFAULT_CROP_PCT;
    if (*squash) {
        *nw = *nh = size;
        return;
    }
    int scale = (int)floor(size / crop_pct);
    if (w <= h) {
        *nw = scale;
        *nh = (int)((double)scale * h / w);
    } else {
        *nh = scale;
        *nw = (int)((double)scale * w / h);
    }
    if (*nw < 1) *nw = 1;
    if (*nh < 1) *nh = 1;
}

void amod_image_transform_place(const amod_image_transform *t, int width, int height, double place[4]) {
    int squash, nw, nh;
    resized_size(t, width, height, &squash, &nw, &nh);
    place[0] = (double)nw / width;
    place[1] = (double)nh / height;
    place[2] = squash ? 0.0 : amod_image_center_offset(nw, t->input_size);
    place[3] = squash ? 0.0 : amod_image_center_offset(nh, t->input_size);
}

int amod_image_preprocess(const amod_image *img, const amod_image_transform *t, amod_image *out,
                          amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    if (amod_image_transform_check(t, err)) return -1;
    if (!img->rgb || img->width <= 0 || img->height <= 0) return amod_fail(err, "empty image");
    int size = t->input_size;
    amod_image gray = {0}, resized = {0};
    const amod_image *src = img;
    if (t->channels == 1) {
        if (amod_image_copy(img, &gray, err)) return -1;
        amod_image_to_luma(&gray);
        src = &gray;
    }
    int squash, nw, nh;
    resized_size(t, src->width, src->height, &squash, &nw, &nh);
    int rc;
    if (squash) {
        rc = amod_image_resize(src, size, size, t->filter, out, err);
    } else {
        rc = amod_image_resize(src, nw, nh, t->filter, &resized, err);
        if (!rc) rc = amod_image_center_crop(&resized, size, size, out, err);
    }
    amod_image_free(&resized);
    amod_image_free(&gray);
    return rc;
}

void amod_image_normalize(const amod_image *img, int channels, const float mean[3], const float std[3],
                          float *out) {
    size_t n = (size_t)img->width * img->height;
    for (int c = 0; c < channels; c++) {
        float *o = out + (size_t)c * n;
        for (size_t i = 0; i < n; i++) o[i] = ((float)img->rgb[3 * i + c] / 255.0f - mean[c]) / std[c];
    }
}

int amod_image_to_tensor(const amod_image *img, const amod_image_transform *t, float *out,
                         amod_error *err) {
    amod_image pre;
    if (amod_image_preprocess(img, t, &pre, err)) return -1;
    amod_image_normalize(&pre, t->channels, t->mean, t->std, out);
    amod_image_free(&pre);
    return 0;
}

int amod_image_from_tensor(const float *chw, int channels, int height, int width, const float mean[3],
                           const float std[3], amod_image *out, amod_error *err) {
    if (channels != 1 && channels != 3)
        return amod_fail(err, "cannot show a %d-channel tensor as an image (1 or 3)", channels);
    if (amod_image_alloc(out, width, height, err)) return -1;
    size_t n = (size_t)width * height;
    for (int c = 0; c < 3; c++) {
        int src = channels == 1 ? 0 : c;
        const float *p = chw + (size_t)src * n;
        for (size_t i = 0; i < n; i++) {
            float v = (p[i] * std[src] + mean[src]) * 255.0f;
            v = v != v ? 0.0f : v; /* NaN shows as black */
            out->rgb[3 * i + c] = (unsigned char)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
        }
    }
    return 0;
}
