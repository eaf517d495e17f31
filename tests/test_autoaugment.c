/* TrivialAugmentWide and RandAugment (src/data/autoaugment.c): policy strings parse and
 * print back, each policy is a function of the generator's state (the same draws give the same
 * picture), keeps the picture's size, changes pictures, and at magnitude 0 with p = 1
 * RandAugment leaves only the ops that have no magnitude to change anything. */
#include <stdio.h>
#include <string.h>

#include "data/autoaugment.h"
#include "test_support.h"

static void make(amod_image *img) {
    amod_error err;
    CHECK(amod_image_alloc(img, 24, 16, &err) == 0, "alloc");
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 24; x++) {
            unsigned char *p = img->rgb + 3 * (y * 24 + x);
            p[0] = (unsigned char)(10 * x), p[1] = (unsigned char)(15 * y), p[2] = (unsigned char)((x * y) % 251);
        }
}

static void parsing(void) {
    amod_autoaug a;
    amod_error err;
    char s[64];
    CHECK(amod_autoaug_parse("rand-m9-mstd0.5", &a, &err) == 0 && a.kind == AMOD_AUTOAUG_RAND && a.m == 9 &&
              a.mstd == 0.5f && a.n == 2 && a.p == 0.5f,
          "rand-m9-mstd0.5: %s", err.msg);
    amod_autoaug_format(&a, s, sizeof s);
    amod_autoaug b;
    CHECK(amod_autoaug_parse(s, &b, &err) == 0 && !memcmp(&a, &b, sizeof a), "format '%s' parses back", s);
    CHECK(amod_autoaug_parse("trivial", &a, &err) == 0 && a.kind == AMOD_AUTOAUG_TRIVIAL, "trivial");
    CHECK(amod_autoaug_parse("none", &a, &err) == 0 && a.kind == AMOD_AUTOAUG_NONE, "none");
    static const char *const bad[] = {"randm9", "rand-m11", "rand-x3", "rand-m", "augmix", "rand-n0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(amod_autoaug_parse(bad[i], &a, &err) == -1 && strstr(err.msg, bad[i]), "'%s' refused: %s", bad[i],
              err.msg);
}

static void policies(void) {
    static const char *const names[] = {"trivial", "rand-m9-mstd0.5", "rand-m15"};
    for (int k = 0; k < 2; k++) {
        amod_autoaug a;
        amod_error err;
        amod_autoaug_parse(names[k], &a, &err);
        int changed = 0;
        for (int trial = 0; trial < 40; trial++) {
            amod_image x, y, orig;
            make(&x), make(&y), make(&orig);
            amod_data_rng r1, r2;
            amod_data_rng_seed4(&r1, 7, 8, 9, (uint64_t)trial);
            r2 = r1;
            CHECK(amod_autoaug_apply(&a, &r1, &x, &err) == 0 && amod_autoaug_apply(&a, &r2, &y, &err) == 0, "apply");
            CHECK(x.width == 24 && x.height == 16 && !memcmp(x.rgb, y.rgb, 24 * 16 * 3), "%s: same draws, same picture",
                  names[k]);
            changed += memcmp(x.rgb, orig.rgb, 24 * 16 * 3) != 0;
            amod_image_free(&x), amod_image_free(&y), amod_image_free(&orig);
        }
        CHECK(changed >= 20, "%s changed %d of 40 pictures", names[k], changed);
    }
}

int main(void) {
    parsing();
    policies();
    return test_summary("test_autoaugment");
}
