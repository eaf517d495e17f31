/* Images: an RGB8 picture type, PNG/JPEG reading, PNG writing, resizing, cropping, and the
 * eval transform that turns a picture into the normalised [C, H, W] tensor a model takes.
 *
 * Every function that can fail takes an amod_error and returns 0 on success, -1 with a
 * one-line message (naming the file, when there is one) otherwise. An output image argument
 * receives a new image, empty on failure; it is not freed first and must not be the input. */
#ifndef AMOD_IO_IMAGE_H
#define AMOD_IO_IMAGE_H

#include <stddef.h>

#include "amod/error.h"
#include "core/resize.h"

/* Largest picture we decode or allocate, in pixels: guards against decompression bombs. */
#define AMOD_IMAGE_MAX_PIXELS (1L << 27)

/* An RGB picture, 8 bits a channel, rows top to bottom, pixels interleaved R, G, B.
 * Grayscale files decode to R = G = B. A zeroed struct is an empty image. */
typedef struct amod_image {
    int width, height;
    unsigned char *rgb; /* width * height * 3 bytes, owned */
} amod_image;

typedef struct amod_rgb {
    unsigned char r, g, b;
} amod_rgb;

/* Allocates a width x height image filled with black. */
int amod_image_alloc(amod_image *img, int width, int height, amod_error *err);
void amod_image_free(amod_image *img);
int amod_image_copy(const amod_image *src, amod_image *dst, amod_error *err);

/* ---- files ---- */

/* Reads a PNG or JPEG, told apart by their first bytes (never by the extension). PNG: gray,
 * gray+alpha, palette, RGB, RGBA, 1 to 16 bits; alpha is dropped and 16-bit samples keep
 * their high byte, as PIL's convert("RGB") does (except for 16-bit gray, which PIL clips at
 * 255). JPEG: gray, RGB/YCbCr, CMYK; decoded as PIL decodes them. */
int amod_image_read(const char *path, amod_image *out, amod_error *err);
/* The same from memory; name is what error messages call the data. */
int amod_image_decode(const unsigned char *data, size_t size, const char *name, amod_image *out,
                      amod_error *err);
int amod_image_decode_png(const unsigned char *data, size_t size, const char *name, amod_image *out,
                          amod_error *err);
int amod_image_decode_jpeg(const unsigned char *data, size_t size, const char *name, amod_image *out,
                           amod_error *err);
/* Encodes an RGB8 PNG into a malloc'd buffer. */
int amod_image_encode_png(const amod_image *img, unsigned char **data, size_t *size, amod_error *err);
/* Writes an RGB8 PNG atomically (PATH.tmp, then rename). */
int amod_image_write_png(const char *path, const amod_image *img, amod_error *err);

/* "NAME is 40x30, expected a square image" when width != height. */
int amod_image_require_square(const amod_image *img, const char *name, amod_error *err);

/* ---- geometry ---- */

/* Resizes to width x height with PIL's separable resampling (same coefficients, same 22-bit
 * fixed point, horizontal pass then vertical, 8-bit in between), so the result equals
 * PIL's Image.resize. Downscaling widens the filter by the scale factor: antialiased.
 * filter: AMOD_RESIZE_BICUBIC or AMOD_RESIZE_BILINEAR. */
int amod_image_resize(const amod_image *src, int width, int height, amod_resize filter,
                      amod_image *dst, amod_error *err);
/* Copies the width x height window at (x, y) of src; parts outside src are black. */
int amod_image_crop(const amod_image *src, int x, int y, int width, int height, amod_image *dst,
                    amod_error *err);
/* The left (top) offset of a centred crop of dst pixels from src, as torchvision's
 * CenterCrop: negative when src is smaller (it pads). */
int amod_image_center_offset(int src, int dst);
/* torchvision's CenterCrop: offsets round((W - w) / 2) half to even, black padding when src
 * is smaller than the crop. */
int amod_image_center_crop(const amod_image *src, int width, int height, amod_image *dst,
                           amod_error *err);

/* PIL's convert("L") in place: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16 in all three. */
void amod_image_to_luma(amod_image *img);

/* ---- model input ---- */

/* Small inputs (CIFAR's 32, MNIST's 28): at most this many pixels a side and no crop_pct
 * given, the picture is resized straight to the input size, with no crop. */
#define AMOD_IMAGE_SMALL_INPUT 64
#define AMOD_IMAGE_DEFAULT_CROP_PCT 0.875 /* timm's DEFAULT_CROP_PCT */

/* How a picture becomes a model input: timm's eval transform.
 *   crop_pct > 0:  resize the shorter side to floor(input_size / crop_pct), keeping the aspect
 *                  ratio (longer side truncated as torchvision does), then center-crop
 *                  input_size x input_size;
 *   crop_pct == 0: 0.875 when input_size > AMOD_IMAGE_SMALL_INPUT; for smaller inputs, resize
 *                  straight to input_size x input_size;
 *   squash:        resize straight to input_size x input_size, whatever crop_pct says
 *                  (Hugging Face's ViTImageProcessor does this, with bilinear).
 * Then channels: 3 keeps RGB (gray files are already R = G = B); 1 takes ITU-R 601 luma
 * (PIL's convert("L")), computed before resizing as a grayscale pipeline would.
 * Then x = (v / 255 - mean[c]) / std[c], in float, as ToTensor + Normalize do. */
typedef struct amod_image_transform {
    int input_size; /* square side the model takes, pixels */
    int channels;   /* 1 or 3 */
    float mean[3], std[3];
    double crop_pct; /* 0 for the default above */
    int squash;
    amod_resize filter;
} amod_image_transform;

/* Fills t for a model input of size x size pixels and `channels` channels, normalised with
 * mean and std (3 values each); bicubic; the default crop. */
void amod_image_transform_init(amod_image_transform *t, int size, int channels, const float mean[3],
                               const float std[3]);
int amod_image_transform_check(const amod_image_transform *t, amod_error *err);
/* The input_size x input_size picture the model will see (resized, cropped, gray when the
 * model takes 1 channel: then R = G = B = luma). */
int amod_image_preprocess(const amod_image *img, const amod_image_transform *t, amod_image *out,
                          amod_error *err);
/* Where the transform puts a width x height picture's pixels: input x = x * place[0] - place[2]
 * and y = y * place[1] - place[3] (for boxes given in the picture's pixels). */
void amod_image_transform_place(const amod_image_transform *t, int width, int height, double place[4]);
/* out receives the normalised tensor [channels, input_size, input_size]. */
int amod_image_to_tensor(const amod_image *img, const amod_image_transform *t, float *out,
                         amod_error *err);
/* Normalises an already preprocessed picture of any size into [channels, H, W]. */
void amod_image_normalize(const amod_image *img, int channels, const float mean[3], const float std[3],
                          float *out);
/* The inverse, for display: a [channels, H, W] tensor back to RGB8 (rounded, clamped). */
int amod_image_from_tensor(const float *chw, int channels, int height, int width, const float mean[3],
                           const float std[3], amod_image *out, amod_error *err);

#endif
