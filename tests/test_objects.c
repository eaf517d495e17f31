/* Object precision of routing (analysis/objects.h) on hand-made routings and boxes, where
 * the shares are counted by hand; the transform's placement of source pixels
 * (amod_image_transform_place) for the straight resize and timm's crop; and an image folder
 * read for the analyses (amod_inputs_add_folder): order, names, labels, placement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amod/amod.h"
#include "analysis/inputs.h"
#include "analysis/objects.h"
#include "analysis/routing.h"
#include "core/error.h"
#include "io/image.h"
#include "test_support.h"

#define tmp scratch_path

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "%s: cannot write", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void write_png(const char *path, int side) {
    amod_image img;
    amod_error err;
    CHECK(!amod_image_alloc(&img, side, side, &err), "alloc: %s", err.msg);
    memset(img.rgb, 128, (size_t)side * side * 3);
    CHECK(!amod_image_write_png(path, &img, &err), "write %s: %s", path, err.msg);
    amod_image_free(&img);
}

static void placement(void) {
    const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    amod_image_transform t;
    double pl[4];
    amod_image_transform_init(&t, 64, 3, mean, std); /* small input: resized straight */
    amod_image_transform_place(&t, 128, 32, pl);
    CHECK(pl[0] == 0.5 && pl[1] == 2.0 && pl[2] == 0 && pl[3] == 0, "64 from 128x32: %g %g %g %g", pl[0], pl[1], pl[2],
          pl[3]);
    amod_image_transform_init(&t, 224, 3, mean, std); /* timm: shorter side 256, centre crop 224 */
    amod_image_transform_place(&t, 512, 256, pl);
    CHECK(pl[0] == 1.0 && pl[1] == 1.0 && pl[2] == 144 && pl[3] == 16, "224 from 512x256: %g %g %g %g", pl[0], pl[1],
          pl[2], pl[3]);
    amod_image_transform_place(&t, 128, 128, pl);
    CHECK(pl[0] == 2.0 && pl[1] == 2.0 && pl[2] == 16 && pl[3] == 16, "224 from 128: %g %g %g %g", pl[0], pl[1], pl[2],
          pl[3]);
}

/* 2 images of a 4 x 4 patch grid (16 px, 4 px patches) plus CLS; a layer keeping k = 5. */
static void precision_by_hand(void) {
    amod_error err;
    write_text(tmp("boxes.csv"), "path,label,x,y,w,h\n"
                                 "a.png,0,0,0,8,8\n"       /* image a: the 2 x 2 top-left patches */
                                 "b.png,1,8,4,16,12\n");  /* image b: a 32 px source, see below */
    amod_boxes b;
    CHECK(!amod_boxes_read(tmp("boxes.csv"), &b, &err), "boxes: %s", err.msg);
    amod_inputs in = {0};
    in.count = 2, in.size = 16;
    char names[2][128] = {"a.png", "b.png"};
    double place[2][4] = {{1, 1, 0, 0}, {0.5, 0.5, 0, 0}}; /* b's source is 32 px: its box halves */
    in.names = names;
    in.place = place;
    amod_routing rt = {0};
    rt.n_images = 2, rt.n_tokens = 17, rt.n_prefix = 1, rt.depth = 2;
    rt.k[1] = 5;
    /* a keeps CLS and patches 0, 1, 4 (on the box) and 15 (off): 3 of 4 on. b's box halved is
     * x 4..12, y 2..8 in the input, holding the patch centres (6, 2) (10, 2) (6, 6) (10, 6):
     * patches 1, 2, 5, 6 are on; it keeps CLS and patches 1, 2 (on), 12, 13 (off): 2 of 4. */
    int32_t kept[10] = {0, 1, 2, 5, 16, 0, 2, 3, 13, 14};
    rt.kept[1] = kept;
    double on[2], chance[2], rect[2][4];
    CHECK(!amod_boxes_place(&b, &in, "boxes.csv", rect, &err), "place: %s", err.msg);
    CHECK(rect[1][0] == 4 && rect[1][1] == 2 && rect[1][2] == 12 && rect[1][3] == 8, "b's box in the input: %g %g %g %g",
          rect[1][0], rect[1][1], rect[1][2], rect[1][3]);
    CHECK(!amod_object_precision(&rt, 1, in.size, (const double(*)[4])rect, on, chance, &err), "precision: %s",
          err.msg);
    CHECK(fabs(on[0] - 0.75) < 1e-12 && fabs(chance[0] - 4.0 / 16) < 1e-12, "a: %g (3/4), chance %g (4/16)", on[0],
          chance[0]);
    CHECK(fabs(on[1] - 0.5) < 1e-12 && fabs(chance[1] - 4.0 / 16) < 1e-12, "b: %g (2/4), chance %g (4/16)", on[1],
          chance[1]);
    snprintf(names[1], sizeof names[1], "c.png");
    CHECK(amod_boxes_place(&b, &in, "boxes.csv", rect, &err) == -1 && strstr(err.msg, "c.png") &&
              strstr(err.msg, "no box"),
          "an image without a box: %s", err.msg);
    amod_boxes_free(&b);
    write_text(tmp("bad.csv"), "path,label,x,y,w\na.png,0,0,0,8\n");
    CHECK(amod_boxes_read(tmp("bad.csv"), &b, &err) == -1 && strstr(err.msg, "'h'"), "no h column: %s", err.msg);
    write_text(tmp("bad.csv"), "path,label,x,y,w,h\na.png,0,0,0,8,0\n");
    CHECK(amod_boxes_read(tmp("bad.csv"), &b, &err) == -1 && strstr(err.msg, "line 2"), "empty box: %s", err.msg);
    write_text(tmp("bad.csv"), "path,label,x,y,w,h\na.png,0,zero,0,8,8\n");
    CHECK(amod_boxes_read(tmp("bad.csv"), &b, &err) == -1 && strstr(err.msg, "bad.csv"), "not a number: %s", err.msg);
}

static void folder_inputs(void) {
    amod_error err;
    CHECK(!amod_mkdir_p(tmp("f/val/cat"), &err) && !amod_mkdir_p(tmp("f/val/dog"), &err), "mkdir: %s", err.msg);
    write_png(tmp("f/val/cat/1.png"), 32);
    write_png(tmp("f/val/dog/2.png"), 32);
    write_png(tmp("f/val/dog/3.png"), 32);
    amod_vit_config c = {0};
    c.img_size = 16, c.patch_size = 4, c.in_chans = 3, c.num_classes = 2, c.num_prefix = 1;
    for (int i = 0; i < 3; i++) c.mean[i] = 0.5f, c.std[i] = 0.25f;
    amod_inputs in;
    amod_inputs_init(&in, &c);
    const int64_t idx[2] = {2, 0};
    CHECK(!amod_inputs_add_folder(&in, tmp("f"), "test", NULL, 0, idx, 2, &err), "folder (test falls back to val): %s",
          err.msg);
    CHECK(in.count == 2 && !strcmp(in.names[0], "val/dog/3.png") && !strcmp(in.names[1], "val/cat/1.png"),
          "names %s %s", in.count > 0 ? in.names[0] : "", in.count > 1 ? in.names[1] : "");
    CHECK(in.count == 2 && in.labels[0] == 1 && in.labels[1] == 0, "labels");
    CHECK(in.count == 2 && in.place[0][0] == 0.5 && in.place[0][2] == 0, "placement of a 32 px picture in 16 px");
    char *rev[2] = {"dog", "cat"}; /* the model numbers its classes the other way */
    amod_inputs_free(&in);
    amod_inputs_init(&in, &c);
    CHECK(!amod_inputs_add_folder(&in, tmp("f"), "val", rev, 2, idx, 2, &err), "with class names: %s", err.msg);
    CHECK(in.count == 2 && in.labels[0] == 0 && in.labels[1] == 1, "labels by the model's names");
    const int64_t past = 3;
    CHECK(amod_inputs_add_folder(&in, tmp("f"), "val", NULL, 0, &past, 1, &err) == -1 && strstr(err.msg, "past the end"),
          "index past the end: %s", err.msg);
    c.num_classes = 1;
    amod_inputs_free(&in);
    amod_inputs_init(&in, &c);
    CHECK(amod_inputs_add_folder(&in, tmp("f"), "val", NULL, 0, idx, 1, &err) == -1 && strstr(err.msg, "beyond"),
          "a class the model lacks: %s", err.msg);
    amod_inputs_free(&in);
}

int main(void) {
    if (scratch_make("objects")) return 1;
    placement();
    precision_by_hand();
    folder_inputs();
    scratch_remove();
    return test_summary("test_objects");
}
