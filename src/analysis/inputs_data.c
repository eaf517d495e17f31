/* Images of an IDX data set by index, through the data loader's eval pipeline. */
#include "analysis/inputs_data.h"

#include "core/error.h"
#include "data/dataset.h"

int inputs_read_data(const char *dir, const char *split, const int64_t *indices, int n, int channels, int size,
                     const float mean[3], const float std[3], int num_classes, float *x, int64_t *labels,
                     int *width, int *height, amod_error *err) {
    char images_path[4096], labels_path[4096];
    if (amod_dataset_split_paths(dir, split, images_path, labels_path, sizeof images_path, err)) return -1;
    amod_dataset ds;
    if (amod_dataset_load(dir, split, num_classes, &ds, err)) return -1;
    int rc = -1;
    amod_loader ld = {0};
    amod_batch_config bc;
    amod_batch_config_default(&bc, &ds); /* bilinear resizing, no augmentation */
    bc.channels = channels;
    bc.height = bc.width = size;
    for (int c = 0; c < channels; c++) {
        bc.mean[c] = mean[c];
        bc.std[c] = std[c];
    }
    for (int i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= ds.count) {
            amod_fail(err, "%s: index %lld is past the end of the data set (%lld images: 0..%lld)", images_path,
                      (long long)indices[i], (long long)ds.count, (long long)ds.count - 1);
            goto done;
        }
    if (amod_loader_init(&ld, &ds, &bc, 0, err)) {
        amod_error e = *err; /* amod_fail must not read the buffer it writes */
        amod_fail(err, "%s: %s", images_path, e.msg);
        goto done;
    }
    const size_t per = (size_t)channels * size * size;
    for (int i = 0; i < n; i++) {
        amod_loader_render(&ld, indices[i], NULL, x + (size_t)i * per);
        labels[i] = ds.labels[indices[i]];
    }
    *width = ds.width;
    *height = ds.height;
    rc = 0;
done:
    amod_loader_free(&ld);
    amod_dataset_free(&ds);
    return rc;
}
