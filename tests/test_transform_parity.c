/* timm's eval transform on real photographs against torchvision's (tests/fixtures/photos,
 * made by make_reference.py with torchvision 0.14 and Pillow 9.4): Resize(256, bicubic) +
 * CenterCrop(224) of a JPEG (rocket.jpg), an RGB PNG (chelsea.png) and a grayscale PNG
 * converted to RGB (camera.png), through amod_image_preprocess and through the data
 * loader's image-file path. Criterion: mean absolute error below one intensity level (1/255
 * of the range); the maximum is printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/imagefolder.h"
#include "io/image.h"
#include "test_support.h"

static void compare(const char *name) {
    char dir[2048], stem[64], path[4096], ref_path[4096];
    snprintf(dir, sizeof dir, "%s", fixture_path("photos"));
    snprintf(stem, sizeof stem, "%s", name);
    *strrchr(stem, '.') = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(ref_path, sizeof ref_path, "%s/%s.ref224.png", dir, stem);
    amod_image img = {0}, ref = {0}, out = {0};
    amod_error err;
    CHECK(amod_image_read(path, &img, &err) == 0, "%s", err.msg);
    CHECK(amod_image_read(ref_path, &ref, &err) == 0, "%s", err.msg);
    if (!img.rgb || !ref.rgb) return;
    const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    amod_image_transform t;
    amod_image_transform_init(&t, 224, 3, mean, std); /* crop_pct 0: timm's 0.875 for 224 px */
    CHECK(amod_image_preprocess(&img, &t, &out, &err) == 0 && out.width == 224 && out.height == 224, "%s: %s", name,
          err.msg);
    double sum = 0;
    int mx = 0;
    const size_t n = (size_t)224 * 224 * 3;
    for (size_t i = 0; out.rgb && i < n; i++) {
        const int d = abs((int)out.rgb[i] - (int)ref.rgb[i]);
        sum += d;
        if (d > mx) mx = d;
    }
    printf("%-12s %dx%d: eval transform vs torchvision: mean abs error %.4f levels, max %d\n", name, img.width,
           img.height, sum / (double)n, mx);
    CHECK(sum / (double)n < 1.0, "%s: mean absolute error %.3f levels", name, sum / (double)n);

    /* the loader's image-file path gives the same picture, as floats */
    const char *paths[1] = {path};
    amod_file_list files;
    amod_dataset ds;
    amod_loader ld;
    amod_batch_config bc;
    CHECK(amod_file_list_gather(paths, 1, &files, &err) == 0, "%s", err.msg);
    amod_dataset_from_files(&ds, &files);
    amod_batch_config_default(&bc, &ds);
    bc.height = bc.width = 224;
    float *x = malloc(n * sizeof *x);
    int64_t label;
    CHECK(amod_loader_init(&ld, &ds, &bc, 0, &err) == 0, "%s", err.msg);
    CHECK(amod_loader_next(&ld, 1, x, &label, &err) == 1, "%s", err.msg);
    double e = 0;
    for (int c = 0; c < 3; c++) /* [C, H, W] against interleaved RGB */
        for (size_t p = 0; p < (size_t)224 * 224; p++)
            e = fmax(e, fabs(x[(size_t)c * 224 * 224 + p] - out.rgb[3 * p + c] / 255.0));
    CHECK(e < 1e-6, "%s: the loader's picture differs from the transform's by %g", name, e);
    amod_loader_free(&ld);
    amod_file_list_free(&files);
    free(x);
    amod_image_free(&img);
    amod_image_free(&ref);
    amod_image_free(&out);
}

int main(void) {
    compare("rocket.jpg");
    compare("chelsea.png");
    compare("camera.png");
    return test_summary("test_transform_parity");
}
