/* Images for the analyses (files and data set indices, with their errors) and routing maps
 * (whitened skipped patches, grid layout). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amod/amod.h"
#include "analysis/inputs.h"
#include "analysis/routemap.h"
#include "io/idx.h"
#include "io/image.h"
#include "test_support.h"

#define tmp scratch_path
#define dir scratch_root()

static amod_vit_config model_cfg(int size, int chans) {
    amod_vit_config c = {0};
    c.img_size = size, c.patch_size = 4, c.in_chans = chans, c.num_classes = 10, c.num_prefix = 1;
    for (int i = 0; i < 3; i++) c.mean[i] = 0.25f, c.std[i] = 0.5f;
    return c;
}

static void write_png(const char *path, int w, int h) {
    amod_image img;
    amod_error err;
    CHECK(!amod_image_alloc(&img, w, h, &err), "alloc: %s", err.msg);
    for (int i = 0; i < w * h * 3; i++) img.rgb[i] = (unsigned char)(i * 7);
    CHECK(!amod_image_write_png(path, &img, &err), "write: %s", err.msg);
    amod_image_free(&img);
}

static void test_files(void) {
    amod_error err;
    amod_vit_config c = model_cfg(8, 3);
    amod_inputs in;
    amod_inputs_init(&in, &c);
    write_png(tmp("square.png"), 16, 16);
    CHECK(!amod_inputs_add_file(&in, tmp("square.png"), &err), "square: %s", err.msg);
    CHECK(in.count == 1 && in.labels[0] == -1 && !strcmp(in.names[0], "square.png"), "one unlabelled image '%s'",
          in.names[0]);
    CHECK(in.pictures[0].width == 8 && in.pictures[0].height == 8, "picture is what the model sees: %dx%d",
          in.pictures[0].width, in.pictures[0].height);
    /* the tensor is the picture normalised */
    double worst = 0;
    for (int ch = 0; ch < 3; ch++)
        for (int p = 0; p < 64; p++) {
            double v = (in.pictures[0].rgb[p * 3 + ch] / 255.0 - 0.25) / 0.5;
            worst = fmax(worst, fabs(v - in.x[ch * 64 + p]));
        }
    CHECK(worst < 1e-6, "tensor vs picture: %g", worst);

    write_png(tmp("wide.png"), 16, 12);
    CHECK(amod_inputs_add_file(&in, tmp("wide.png"), &err) == -1 && strstr(err.msg, "wide.png") &&
              strstr(err.msg, "16x12") && strstr(err.msg, "square"),
          "non-square: %s", err.msg);
    FILE *f = fopen(tmp("square.png"), "rb"), *g = fopen(tmp("corrupt.png"), "wb");
    char buf[60];
    size_t n = fread(buf, 1, sizeof buf, f);
    fwrite(buf, 1, n, g);
    fclose(f);
    fclose(g);
    CHECK(amod_inputs_add_file(&in, tmp("corrupt.png"), &err) == -1 && strstr(err.msg, "corrupt.png"),
          "corrupt: %s", err.msg);
    g = fopen(tmp("text.png"), "wb");
    fputs("hello, not an image\n", g);
    fclose(g);
    CHECK(amod_inputs_add_file(&in, tmp("text.png"), &err) == -1 && strstr(err.msg, "text.png") &&
              strstr(err.msg, "not a PNG or JPEG"),
          "not an image: %s", err.msg);
    CHECK(amod_inputs_add_file(&in, tmp("missing.png"), &err) == -1 && strstr(err.msg, "missing.png"),
          "unreadable: %s", err.msg);
    CHECK(amod_inputs_add_file(&in, dir, &err) == -1 && strstr(err.msg, dir), "a directory: %s", err.msg);
    CHECK(in.count == 1, "failures add nothing: %d", in.count);
    printf("errors read: %s\n", err.msg);
    amod_inputs_free(&in);
}

static void test_data(void) {
    amod_error err;
    uint8_t px[5 * 8 * 8], lab[5] = {3, 1, 4, 1, 5};
    for (int i = 0; i < 5 * 64; i++) px[i] = (uint8_t)(i * 3);
    CHECK(!amod_idx_write_images(tmp("t10k-images-idx3-ubyte"), px, 5, 8, 8, &err), "idx: %s", err.msg);
    CHECK(!amod_idx_write_labels(tmp("t10k-labels-idx1-ubyte"), lab, 5, &err), "idx: %s", err.msg);
    amod_vit_config c = model_cfg(8, 1);
    amod_inputs in;
    amod_inputs_init(&in, &c);
    int64_t idx[] = {4, 0, 2};
    CHECK(!amod_inputs_add_data(&in, dir, "test", idx, 3, &err), "data: %s", err.msg);
    CHECK(in.count == 3 && in.labels[0] == 5 && in.labels[1] == 3 && in.labels[2] == 4, "labels %lld %lld %lld",
          (long long)in.labels[0], (long long)in.labels[1], (long long)in.labels[2]);
    CHECK(!strcmp(in.names[0], "test #4"), "name '%s'", in.names[0]);
    double worst = 0;
    for (int p = 0; p < 64; p++) {
        worst = fmax(worst, fabs(in.x[p] - (px[4 * 64 + p] / 255.0 - 0.25) / 0.5));
        worst = fmax(worst, abs(in.pictures[0].rgb[p * 3] - px[4 * 64 + p]));
    }
    CHECK(worst < 1e-5, "data image 4: %g", worst);

    int64_t past[] = {1, 5};
    CHECK(amod_inputs_add_data(&in, dir, "test", past, 2, &err) == -1 && strstr(err.msg, "t10k-images-idx3-ubyte") &&
              strstr(err.msg, "index 5 is past the end") && strstr(err.msg, "5 images"),
          "past the end: %s", err.msg);
    printf("past the end: %s\n", err.msg);
    CHECK(amod_inputs_add_data(&in, dir, "train", idx, 1, &err) == -1 && strstr(err.msg, "train-images"),
          "missing split: %s", err.msg);
    CHECK(amod_inputs_add_data(&in, tmp("nope"), "test", idx, 1, &err) == -1 && strstr(err.msg, "nope"),
          "missing dir: %s", err.msg);
    CHECK(in.count == 3, "failures add nothing: %d", in.count);

    /* a model with fewer classes than the labels: refused, naming the file */
    amod_vit_config few = model_cfg(8, 1);
    few.num_classes = 4;
    amod_inputs in2;
    amod_inputs_init(&in2, &few);
    CHECK(amod_inputs_add_data(&in2, dir, "test", idx, 1, &err) == -1 && strstr(err.msg, "labels"),
          "labels beyond the model's classes: %s", err.msg);
    amod_inputs_free(&in2);
    amod_inputs_free(&in);

    int64_t *v;
    int n;
    CHECK(!amod_parse_indices("0,5,17", &v, &n, &err) && n == 3 && v[2] == 17, "parse");
    free(v);
    const char *bad[] = {"", "1,", ",1", "a", "-1", "1,,2", "3 ", "99999999999999999999"};
    for (int i = 0; i < 8; i++)
        CHECK(amod_parse_indices(bad[i], &v, &n, &err) == -1 && strstr(err.msg, "index list"), "'%s' accepted",
              bad[i]);
}

static void test_routemap(void) {
    amod_error err;
    amod_image pic;
    CHECK(!amod_image_alloc(&pic, 8, 8, &err), "alloc");
    /* 2 x 2 patches of 4 pixels: keep patches 0 and 3 (tokens 1 and 4) */
    int32_t kept[] = {0, 1, 4};
    amod_image tile;
    CHECK(!amod_routemap_tile(&pic, kept, 3, 1, 4, 3, &tile, &err), "tile: %s", err.msg);
    CHECK(tile.width == 24 && tile.height == 24, "scaled: %dx%d", tile.width, tile.height);
    const int white = (int)(AMOD_ROUTEMAP_WHITEN * 255 + 0.5f);
    int at[4] = {tile.rgb[(2 * 24 + 2) * 3], tile.rgb[(2 * 24 + 20) * 3], tile.rgb[(20 * 24 + 2) * 3],
                 tile.rgb[(20 * 24 + 20) * 3]};
    CHECK(at[0] == 0 && at[1] == white && at[2] == white && at[3] == 0, "patches kept/skipped: %d %d %d %d", at[0],
          at[1], at[2], at[3]);
    amod_image_free(&tile);
    CHECK(amod_routemap_tile(&pic, kept, 3, 1, 3, 1, &tile, &err) == -1 && strstr(err.msg, "patches"),
          "patch size not dividing: %s", err.msg);

    amod_routing rt = {.n_images = 1, .n_tokens = 5, .n_prefix = 1, .depth = 3};
    rt.k[1] = 3;
    rt.kept[1] = kept;
    amod_routemap_row rows[2] = {
        {.picture = &pic, .routing = &rt, .image = 0, .patch_size = 4, .label = {"ckpt", "attention C=0.5"}},
        {.picture = &pic, .routing = &rt, .image = 0, .patch_size = 4,
         .label = {"a very long checkpoint name that is cut"}},
    };
    int layers[] = {1, 2};
    amod_image out;
    CHECK(!amod_routemap_render(rows, 2, layers, 2, &out, &err), "render: %s", err.msg);
    CHECK(out.width > 3 * 160 && out.height > 2 * 160, "grid %dx%d", out.width, out.height);
    CHECK(!amod_image_write_png(tmp("grid.png"), &out, &err), "write: %s", err.msg);
    amod_image_free(&out);
    amod_image wide;
    CHECK(!amod_image_alloc(&wide, 12, 12, &err), "alloc");
    rows[1].picture = &wide;
    CHECK(amod_routemap_render(rows, 2, layers, 2, &out, &err) == -1 && strstr(err.msg, "12x12"),
          "mixed sizes: %s", err.msg);
    CHECK(amod_routemap_render(rows, 0, layers, 2, &out, &err) == -1, "no rows");
    amod_image_free(&wide);
    amod_image_free(&pic);
}

int main(void) {
    if (scratch_make("test_route")) return 1;
    test_files();
    test_data();
    test_routemap();
    scratch_remove();
    return test_summary("test_route");
}
