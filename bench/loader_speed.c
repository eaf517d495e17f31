/* The image-folder loader alone: pictures per second through the training transform
 * (RandomResizedCrop + flip) and the eval transform at a model size, from JPEG/PNG files and
 * from a pack, with the OpenMP threads given. Usage:
 *   loader_speed FOLDER_OR_PACKDIR SIZE [THREADS] [BATCH] [BATCHES]
 * (a directory holding train.amodpack reads the pack). bench/loader.sh runs it. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "data/dataset.h"

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: %s FOLDER SIZE [THREADS] [BATCH] [BATCHES]\n", argv[0]), 2;
    const int size = atoi(argv[2]), threads = argc > 3 ? atoi(argv[3]) : 2, batch = argc > 4 ? atoi(argv[4]) : 32;
    const int batches = argc > 5 ? atoi(argv[5]) : 8;
    omp_set_num_threads(threads);
    amod_error err;
    amod_dataset ds;
    if (amod_dataset_load_folder(argv[1], "train", NULL, 0, &ds, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    const size_t per = (size_t)3 * size * size;
    float *x = malloc((size_t)batch * per * sizeof *x);
    int64_t *y = malloc((size_t)batch * sizeof *y);
    for (int aug = 1; aug >= 0; aug--) {
        amod_batch_config bc;
        amod_batch_config_default(&bc, &ds);
        bc.channels = 3, bc.height = bc.width = size, bc.shuffle = 1;
        bc.random_resized_crop = aug, bc.hflip = aug;
        for (int c = 0; c < 3; c++) bc.mean[c] = 0.45f, bc.std[c] = 0.225f;
        amod_loader ld;
        if (amod_loader_init(&ld, &ds, &bc, 1, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        if (amod_loader_next(&ld, batch, x, y, &err) < 0) return fprintf(stderr, "%s\n", err.msg), 1; /* warm-up */
        const double t0 = amod_seconds();
        int64_t n = 0;
        for (int b = 0; b < batches; b++) {
            int got = amod_loader_next(&ld, batch, x, y, &err);
            if (got < 0) return fprintf(stderr, "%s\n", err.msg), 1;
            if (got == 0) amod_loader_start_epoch(&ld, ld.state.epoch + 1), b--;
            n += got;
        }
        const double s = amod_seconds() - t0;
        printf("%s %s %d px, %d threads: %.1f images/s (%lld in %.2f s)\n", ds.pack ? "pack " : "files",
               aug ? "train (RandomResizedCrop + flip)" : "eval (resize + centre crop)   ", size, threads, n / s,
               (long long)n, s);
        amod_loader_free(&ld);
    }
    free(x), free(y);
    amod_dataset_free(&ds);
    return 0;
}
