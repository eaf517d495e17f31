/* The data RNG, epoch shuffling, exact resumption, and the values a batch holds; the
 * RandomResizedCrop of picture files at its smallest area share (crop_scale). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/imagefolder.h"
#include "data/rng.h"
#include "io/image.h"
#include "test_support.h"

static int has(const amod_error *e, const char *needle) { return strstr(e->msg, needle) != NULL; }

/* n grayscale h x w images; image i has every pixel (i * 37 + y * w + x) % 256, label i % k. */
static amod_dataset make_dataset(int64_t n, int h, int w, int k) {
    amod_dataset ds = {0};
    ds.pixels = malloc((size_t)n * h * w);
    ds.labels = malloc((size_t)n);
    ds.count = n;
    ds.channels = 1;
    ds.height = h;
    ds.width = w;
    ds.num_classes = k;
    for (int64_t i = 0; i < n; i++) {
        ds.labels[i] = (uint8_t)(i % k);
        for (int j = 0; j < h * w; j++) ds.pixels[i * h * w + j] = (uint8_t)((i * 37 + j) % 256);
    }
    return ds;
}

static int is_permutation(const int64_t *v, int64_t n) {
    char *seen = calloc((size_t)n, 1);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= n || seen[v[i]]) ok = 0;
        else seen[v[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_rng(void) {
    /* Golden values: these must never change, or old seeds stop reproducing old runs. */
    uint64_t x = 0;
    CHECK(amod_splitmix64(&x) == 0xe220a8397b1dcdafull, "splitmix64 reference value");
    amod_data_rng r;
    amod_data_rng_seed(&r, 42);
    CHECK(amod_data_rng_next(&r) == 0x15780b2e0c2ec716ull, "xoshiro256** from seed 42, 1st");
    CHECK(amod_data_rng_next(&r) == 0x6104d9866d113a7eull, "xoshiro256** from seed 42, 2nd");
    amod_data_rng_seed4(&r, 1, 2, 3, 4);
    CHECK(amod_data_rng_next(&r) == 0x198c324ca5eaaa12ull, "seed4 reference value");
    int64_t idx[10];
    for (int i = 0; i < 10; i++) idx[i] = i;
    amod_data_rng_seed(&r, 7);
    amod_data_rng_shuffle(&r, idx, 10);
    static const int64_t want[10] = {8, 3, 9, 0, 7, 2, 1, 6, 5, 4};
    CHECK(!memcmp(idx, want, sizeof want), "shuffle of 0..9 with seed 7");

    amod_data_rng a, b;
    amod_data_rng_seed4(&a, 1, 2, 3, 4);
    amod_data_rng_seed4(&b, 1, 2, 4, 3);
    CHECK(amod_data_rng_next(&a) != amod_data_rng_next(&b), "seed4 depends on the order of its words");

    /* below(n): in range, and roughly uniform. */
    int hist[6] = {0};
    amod_data_rng_seed(&r, 3);
    for (int i = 0; i < 60000; i++) {
        uint64_t v = amod_data_rng_below(&r, 6);
        if (v < 6) hist[v]++;
    }
    for (int i = 0; i < 6; i++) CHECK(hist[i] > 9500 && hist[i] < 10500, "below(6) bucket %d: %d", i, hist[i]);
    float lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        float u = amod_data_rng_uniform(&r);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo >= 0 && lo < 0.01f && hi < 1 && hi > 0.99f, "uniform in [0, 1): %g..%g", lo, hi);
}

static void test_shuffle(void) {
    amod_dataset ds = make_dataset(1000, 2, 2, 10);
    amod_batch_config cfg;
    amod_batch_config_default(&cfg, &ds);
    amod_error err = {0};
    amod_loader a, b, plain;
    cfg.shuffle = 1;
    CHECK(amod_loader_init(&a, &ds, &cfg, 123, &err) == 0, "init: %s", err.msg);
    CHECK(amod_loader_init(&b, &ds, &cfg, 123, &err) == 0, "init: %s", err.msg);
    cfg.shuffle = 0;
    CHECK(amod_loader_init(&plain, &ds, &cfg, 123, &err) == 0, "init: %s", err.msg);

    CHECK(is_permutation(a.order, ds.count), "epoch 0 order is a permutation");
    CHECK(!memcmp(a.order, b.order, (size_t)ds.count * sizeof *a.order), "same seed, same order");
    int64_t moved = 0;
    for (int64_t i = 0; i < ds.count; i++) moved += a.order[i] != i;
    CHECK(moved > 900, "shuffled: %lld of 1000 moved", (long long)moved);
    for (int64_t i = 0; i < ds.count; i++)
        if (plain.order[i] != i) {
            CHECK(0, "no shuffle keeps the data set order");
            break;
        }

    int64_t *epoch0 = malloc((size_t)ds.count * sizeof *epoch0);
    memcpy(epoch0, a.order, (size_t)ds.count * sizeof *epoch0);
    amod_loader_start_epoch(&a, 1);
    CHECK(is_permutation(a.order, ds.count), "epoch 1 order is a permutation");
    CHECK(memcmp(epoch0, a.order, (size_t)ds.count * sizeof *epoch0) != 0, "epochs differ");
    amod_loader_start_epoch(&a, 0);
    CHECK(!memcmp(epoch0, a.order, (size_t)ds.count * sizeof *epoch0), "an epoch's order depends on it alone");

    amod_loader c;
    cfg.shuffle = 1;
    amod_loader_init(&c, &ds, &cfg, 124, &err);
    CHECK(memcmp(epoch0, c.order, (size_t)ds.count * sizeof *epoch0) != 0, "another seed, another order");

    /* Labels travel with their images. */
    float img[4 * 64];
    int64_t lab[64];
    int n = amod_loader_next(&c, 64, img, lab, &err);
    CHECK(n == 64, "full batch: %d", n);
    for (int i = 0; i < n; i++) {
        int64_t src = c.order[i];
        CHECK(lab[i] == src % 10, "label of batch item %d", i);
        CHECK(fabsf(img[i * 4] - (float)((src * 37) % 256) / 255.0f) < 1e-6f, "image of batch item %d", i);
    }
    free(epoch0);
    amod_loader_free(&a);
    amod_loader_free(&b);
    amod_loader_free(&c);
    amod_loader_free(&plain);
    amod_dataset_free(&ds);
}

/* Drains the loader for `batches` batches (starting new epochs as needed) into out. */
static void run_batches(amod_loader *ld, int batches, int bsz, float *out, int64_t *labels, size_t per) {
    amod_error err = {0};
    for (int b = 0; b < batches; b++) {
        int n = amod_loader_next(ld, bsz, out + (size_t)b * bsz * per, labels + (size_t)b * bsz, &err);
        if (n == 0) {
            amod_loader_start_epoch(ld, ld->state.epoch + 1);
            n = amod_loader_next(ld, bsz, out + (size_t)b * bsz * per, labels + (size_t)b * bsz, &err);
        }
        CHECK(n == bsz, "batch %d has %d images (%s)", b, n, err.msg);
    }
}

static void test_batches_and_resume(void) {
    amod_dataset ds = make_dataset(103, 6, 6, 4);
    amod_batch_config cfg;
    amod_batch_config_default(&cfg, &ds);
    amod_error err = {0};
    amod_loader ld;

    /* Batch counts and the short last batch. */
    CHECK(amod_loader_init(&ld, &ds, &cfg, 1, &err) == 0, "init: %s", err.msg);
    CHECK(amod_loader_batches(&ld, 10) == 11, "11 batches of 10 cover 103 images");
    float buf[36 * 10];
    int64_t lab[10];
    int n, total = 0, last = 0;
    while ((n = amod_loader_next(&ld, 10, buf, lab, &err)) > 0) {
        total += n;
        last = n;
    }
    CHECK(total == 103 && last == 3, "epoch: %d images, last batch %d", total, last);
    CHECK(amod_loader_next(&ld, 10, buf, lab, &err) == 0, "an exhausted epoch stays exhausted");
    CHECK(amod_loader_next(&ld, 0, buf, lab, &err) == -1 && has(&err, "batch size 0"), "batch size 0: %s",
          err.msg);
    amod_loader_free(&ld);
    cfg.drop_last = 1;
    amod_loader_init(&ld, &ds, &cfg, 1, &err);
    CHECK(amod_loader_batches(&ld, 10) == 10, "drop_last: 10 batches");
    total = 0;
    while ((n = amod_loader_next(&ld, 10, buf, lab, &err)) > 0) total += n;
    CHECK(total == 100, "drop_last epoch: %d images", total);
    amod_loader_free(&ld);

    /* Resume: a loader restored from a saved state continues with the very same batches,
     * augmentation included, across epoch boundaries. */
    cfg.drop_last = 1;
    cfg.shuffle = 1;
    cfg.crop_padding = 2;
    cfg.hflip = 1;
    cfg.channels = 3;
    cfg.height = cfg.width = 8;
    cfg.mean[0] = 0.5f;
    cfg.std[2] = 0.25f;
    size_t per = 3 * 8 * 8;
    enum { B = 16, BATCHES = 20, SAVE_AT = 9 }; /* 6 batches an epoch: the save is mid-epoch 1 */
    float *ref = malloc(sizeof(float) * per * B * BATCHES), *again = malloc(sizeof(float) * per * B * BATCHES);
    int64_t *ref_lab = malloc(sizeof(int64_t) * B * BATCHES), *again_lab = malloc(sizeof(int64_t) * B * BATCHES);
    amod_loader a, b;
    CHECK(amod_loader_init(&a, &ds, &cfg, 99, &err) == 0, "init: %s", err.msg);
    run_batches(&a, SAVE_AT, B, ref, ref_lab, per);
    amod_loader_state saved = amod_loader_get_state(&a);
    CHECK(saved.epoch == 1 && saved.pos == 3 * B, "state after 9 batches: epoch %lld pos %lld",
          (long long)saved.epoch, (long long)saved.pos);
    run_batches(&a, BATCHES - SAVE_AT, B, ref + (size_t)SAVE_AT * B * per, ref_lab + SAVE_AT * B, per);

    CHECK(amod_loader_init(&b, &ds, &cfg, 5, &err) == 0, "init: %s", err.msg); /* seed replaced below */
    CHECK(amod_loader_set_state(&b, &saved, &err) == 0, "set_state: %s", err.msg);
    run_batches(&b, BATCHES - SAVE_AT, B, again, again_lab, per);
    size_t tail = (size_t)(BATCHES - SAVE_AT) * B;
    CHECK(!memcmp(again, ref + (size_t)SAVE_AT * B * per, tail * per * sizeof(float)), "resumed images identical");
    CHECK(!memcmp(again_lab, ref_lab + SAVE_AT * B, tail * sizeof(int64_t)), "resumed labels identical");

    amod_loader_state bad = {.seed = 1, .epoch = 0, .pos = 104};
    CHECK(amod_loader_set_state(&b, &bad, &err) == -1 && has(&err, "position 104"), "bad state: %s", err.msg);
    free(ref);
    free(again);
    free(ref_lab);
    free(again_lab);
    amod_loader_free(&a);
    amod_loader_free(&b);
    amod_dataset_free(&ds);
}

static void test_normalisation(void) {
    /* One 1 x 2 image with pixels 0 and 255, replicated to 3 channels, each normalised with
     * its own mean and std. */
    uint8_t px[2] = {0, 255}, lb[1] = {0};
    amod_dataset ds = {.pixels = px, .labels = lb, .count = 1, .channels = 1, .height = 1, .width = 2,
                       .num_classes = 1};
    amod_batch_config cfg;
    amod_batch_config_default(&cfg, &ds);
    cfg.channels = 3;
    float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(cfg.mean, mean, sizeof mean);
    memcpy(cfg.std, std, sizeof std);
    amod_error err = {0};
    amod_loader ld;
    CHECK(amod_loader_init(&ld, &ds, &cfg, 0, &err) == 0, "init: %s", err.msg);
    float out[6];
    int64_t label;
    CHECK(amod_loader_next(&ld, 4, out, &label, &err) == 1, "one image");
    for (int c = 0; c < 3; c++) {
        float want0 = (0.0f - mean[c]) / std[c], want1 = (1.0f - mean[c]) / std[c];
        CHECK(fabsf(out[2 * c] - want0) < 1e-5f, "channel %d pixel 0: %g, want %g", c, out[2 * c], want0);
        CHECK(fabsf(out[2 * c + 1] - want1) < 1e-5f, "channel %d pixel 1: %g, want %g", c, out[2 * c + 1], want1);
    }
    amod_loader_free(&ld);

    /* Mean 0 std 1 gives pixel / 255 exactly as in the file. */
    uint8_t g[4] = {0, 51, 102, 255};
    amod_dataset gs = {.pixels = g, .labels = lb, .count = 1, .channels = 1, .height = 2, .width = 2,
                       .num_classes = 1};
    amod_batch_config_default(&cfg, &gs);
    amod_loader_init(&ld, &gs, &cfg, 0, &err);
    amod_loader_render(&ld, 0, NULL, out);
    CHECK(out[0] == 0.0f && fabsf(out[1] - 0.2f) < 1e-6f && fabsf(out[2] - 0.4f) < 1e-6f && fabsf(out[3] - 1) < 1e-6f,
          "pixel / 255: %g %g %g %g", out[0], out[1], out[2], out[3]);
    amod_loader_free(&ld);

    /* Configuration mistakes are refused with a reason. */
    cfg.std[0] = 0;
    CHECK(amod_loader_init(&ld, &gs, &cfg, 0, &err) == -1 && has(&err, "std[0]"), "std 0: %s", err.msg);
    amod_batch_config_default(&cfg, &gs);
    cfg.crop_padding = 3;
    CHECK(amod_loader_init(&ld, &gs, &cfg, 0, &err) == -1 && has(&err, "crop padding 3"), "padding: %s", err.msg);
    amod_batch_config_default(&cfg, &gs);
    cfg.channels = 4;
    CHECK(amod_loader_init(&ld, &gs, &cfg, 0, &err) == -1 && has(&err, "4 batch channels"), "channels: %s",
          err.msg);
    uint8_t rgb[3] = {1, 2, 3};
    amod_dataset color = {.pixels = rgb, .labels = lb, .count = 1, .channels = 3, .height = 1, .width = 1,
                          .num_classes = 1};
    amod_batch_config_default(&cfg, &color);
    cfg.channels = 1;
    CHECK(amod_loader_init(&ld, &color, &cfg, 0, &err) == -1 && has(&err, "1-channel batches from 3-channel"),
          "colour to gray: %s", err.msg);
    amod_dataset none = {0};
    CHECK(amod_loader_init(&ld, &none, &cfg, 0, &err) == -1 && has(&err, "empty data set"), "empty: %s", err.msg);
}

static void test_resize(void) {
    /* 1 x 2 image [a, b] -> 1 x 4: nearest repeats, bilinear (half-pixel centres, clamped
     * edges) gives [a, .75a + .25b, .25a + .75b, b], as PyTorch's align_corners=False. */
    uint8_t px[2] = {40, 200}, lb[1] = {0};
    amod_dataset ds = {.pixels = px, .labels = lb, .count = 1, .channels = 1, .height = 1, .width = 2,
                       .num_classes = 1};
    amod_batch_config cfg;
    amod_batch_config_default(&cfg, &ds);
    cfg.width = 4;
    cfg.std[0] = 1.0f / 255; /* undoes the / 255: values in pixel units */
    amod_error err = {0};
    amod_loader ld;
    float out[8];
    cfg.resize = AMOD_RESIZE_NEAREST;
    amod_loader_init(&ld, &ds, &cfg, 0, &err);
    amod_loader_render(&ld, 0, NULL, out);
    CHECK(fabsf(out[0] - 40) < 1e-3f && fabsf(out[1] - 40) < 1e-3f && fabsf(out[2] - 200) < 1e-3f &&
              fabsf(out[3] - 200) < 1e-3f, "nearest: %g %g %g %g", out[0], out[1],
          out[2], out[3]);
    amod_loader_free(&ld);
    cfg.resize = AMOD_RESIZE_BILINEAR;
    amod_loader_init(&ld, &ds, &cfg, 0, &err);
    amod_loader_render(&ld, 0, NULL, out);
    float want[4] = {40, 80, 160, 200};
    for (int i = 0; i < 4; i++) CHECK(fabsf(out[i] - want[i]) < 1e-3f, "bilinear %d: %g, want %g", i, out[i], want[i]);
    amod_loader_free(&ld);

    /* 28 -> 32 keeps a constant image constant and the corners' values. */
    amod_dataset big = make_dataset(1, 28, 28, 1);
    memset(big.pixels, 90, 28 * 28);
    big.pixels[0] = 10;
    big.pixels[28 * 28 - 1] = 250;
    amod_batch_config_default(&cfg, &big);
    cfg.height = cfg.width = 32;
    cfg.std[0] = 1.0f / 255;
    amod_loader_init(&ld, &big, &cfg, 0, &err);
    float *img = malloc(sizeof(float) * 32 * 32);
    amod_loader_render(&ld, 0, NULL, img);
    CHECK(fabsf(img[0] - 10) < 1e-3f && fabsf(img[32 * 32 - 1] - 250) < 1e-3f, "corners %g %g", img[0],
          img[32 * 32 - 1]);
    CHECK(fabsf(img[16 * 32 + 16] - 90) < 1e-3f, "centre %g", img[16 * 32 + 16]);
    free(img);
    amod_loader_free(&ld);
    amod_dataset_free(&big);

    /* Same size: the identity, whatever the mode. */
    amod_dataset same = make_dataset(2, 5, 7, 2);
    amod_batch_config_default(&cfg, &same);
    cfg.std[0] = 1.0f / 255;
    amod_loader_init(&ld, &same, &cfg, 0, &err);
    float id[35];
    amod_loader_render(&ld, 1, NULL, id);
    int exact = 1;
    for (int j = 0; j < 35; j++) exact &= fabsf(id[j] - (float)same.pixels[35 + j]) < 1e-3f;
    CHECK(exact, "bilinear at the same size is the identity");
    amod_loader_free(&ld);
    amod_dataset_free(&same);
}

/* With crop padding p and flips, every augmented image is the source shifted by at most p
 * (zeros coming in) and maybe mirrored; all shifts and both flips occur. */
static void test_augmentation(void) {
    enum { S = 6, P = 2 };
    amod_dataset ds = make_dataset(1, S, S, 1);
    amod_batch_config cfg;
    amod_batch_config_default(&cfg, &ds);
    cfg.crop_padding = P;
    cfg.hflip = 1;
    cfg.std[0] = 1.0f / 255;
    amod_error err = {0};
    amod_loader ld;
    CHECK(amod_loader_init(&ld, &ds, &cfg, 0, &err) == 0, "init: %s", err.msg);
    int seen[2][2 * P + 1][2 * P + 1];
    memset(seen, 0, sizeof seen);
    amod_data_rng r;
    amod_data_rng_seed(&r, 11);
    int unexplained = 0;
    for (int t = 0; t < 400; t++) {
        float out[S * S];
        amod_loader_render(&ld, 0, &r, out);
        int found = 0;
        for (int f = 0; f < 2 && !found; f++)
            for (int dy = -P; dy <= P && !found; dy++)
                for (int dx = -P; dx <= P && !found; dx++) {
                    int ok = 1;
                    for (int y = 0; y < S && ok; y++)
                        for (int x = 0; x < S && ok; x++) {
                            int sy = y + dy, sx = (f ? S - 1 - x : x) + dx;
                            float want = sy >= 0 && sy < S && sx >= 0 && sx < S ? ds.pixels[sy * S + sx] : 0;
                            ok = fabsf(out[y * S + x] - want) < 1e-3f;
                        }
                    if (ok) {
                        found = 1;
                        seen[f][dy + P][dx + P]++;
                    }
                }
        unexplained += !found;
    }
    CHECK(unexplained == 0, "%d augmented images are no shift/flip of the source", unexplained);
    int all = 1;
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < 2 * P + 1; i++)
            for (int j = 0; j < 2 * P + 1; j++) all &= seen[f][i][j] > 0;
    CHECK(all, "every shift and both flips occur");
    /* Without augmentation the crop is centred: the image itself. */
    float plain[S * S];
    amod_loader_render(&ld, 0, NULL, plain);
    int same = 1;
    for (int j = 0; j < S * S; j++) same &= fabsf(plain[j] - ds.pixels[j]) < 1e-3f;
    CHECK(same, "no augmentation renders the image unchanged");
    amod_loader_free(&ld);
    amod_dataset_free(&ds);
}

/* A picture file with crop_scale 1: RandomResizedCrop can only take the whole picture, so
 * every augmented render is the unaugmented one or its mirror; at 0.3 some are neither. */
static void test_crop_scale(void) {
    enum { S = 16 };
    amod_error err = {0};
    if (scratch_make("loader")) return;
    const char *path = scratch_path("p.png");
    amod_image img;
    CHECK(!amod_image_alloc(&img, S, S, &err), "alloc");
    for (int i = 0; i < S * S * 3; i++) img.rgb[i] = (unsigned char)((i * 29 + i / 7) % 251);
    CHECK(!amod_image_write_png(path, &img, &err), "write: %s", err.msg);
    amod_image_free(&img);
    char *paths[1] = {(char *)path};
    int32_t labels[1] = {0};
    char *classes[1] = {"a"};
    amod_file_list l = {paths, labels, 1, classes, 1};
    amod_dataset ds;
    amod_dataset_from_files(&ds, &l);
    const float scales[2] = {1.0f, 0.3f};
    int others[2] = {0, 0};
    for (int c = 0; c < 2; c++) {
        amod_batch_config cfg;
        amod_batch_config_default(&cfg, &ds);
        cfg.channels = 3, cfg.height = cfg.width = S;
        cfg.random_resized_crop = 1, cfg.hflip = 1, cfg.crop_scale = scales[c];
        amod_loader ld;
        CHECK(amod_loader_init(&ld, &ds, &cfg, 0, &err) == 0, "init: %s", err.msg);
        float plain[3 * S * S], out[3 * S * S];
        CHECK(amod_loader_render_file(&ld, 0, NULL, plain, &err) == 0, "render: %s", err.msg);
        amod_data_rng r;
        amod_data_rng_seed(&r, 5);
        for (int t = 0; t < 40; t++) {
            CHECK(amod_loader_render_file(&ld, 0, &r, out, &err) == 0, "render: %s", err.msg);
            int same = 1, mirror = 1;
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < S; y++)
                    for (int x = 0; x < S; x++) {
                        const float v = out[(ch * S + y) * S + x];
                        same &= fabsf(v - plain[(ch * S + y) * S + x]) < 1e-5f;
                        mirror &= fabsf(v - plain[(ch * S + y) * S + S - 1 - x]) < 1e-5f;
                    }
            others[c] += !same && !mirror;
        }
        amod_loader_free(&ld);
    }
    CHECK(others[0] == 0, "crop scale 1: %d of 40 renders are neither the picture nor its mirror", others[0]);
    CHECK(others[1] > 0, "crop scale 0.3: every render is the whole picture");
    amod_batch_config bad;
    amod_batch_config_default(&bad, &ds);
    bad.channels = 3, bad.height = bad.width = S, bad.crop_scale = 1.5f;
    amod_loader ld;
    CHECK(amod_loader_init(&ld, &ds, &bad, 0, &err) == -1 && strstr(err.msg, "crop scale"), "crop scale 1.5: %s",
          err.msg);
    scratch_remove();
}

int main(void) {
    test_rng();
    test_crop_scale();
    test_shuffle();
    test_batches_and_resume();
    test_normalisation();
    test_resize();
    test_augmentation();
    return test_summary("test_loader");
}
