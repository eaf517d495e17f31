/* Fuzz target: an IDX file from memory, read as images or labels as its magic says, and every
 * byte of the result touched, so a size the header got wrong shows as an out-of-bounds read. */
#include "io/idx.h"
#include "targets.h"

int amod_fuzz_idx(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    unsigned sum = 0;
    if (size >= 4 && data[3] == 1) {
        amod_idx_labels lb;
        if (amod_idx_decode_labels(name, data, size, &lb, err)) {
            if (lb.labels || lb.count) amod_fuzz_broken("labels left filled after an error");
            return -1;
        }
        int rc = amod_idx_check_labels(name, lb.labels, lb.count, 10, err);
        amod_idx_labels_free(&lb);
        return rc;
    }
    amod_idx_images im;
    if (amod_idx_decode_images(name, data, size, &im, err)) {
        if (im.pixels || im.count) amod_fuzz_broken("images left filled after an error");
        return -1;
    }
    if (im.rows < 1 || im.cols < 1) amod_fuzz_broken("images of %d x %d accepted", im.rows, im.cols);
    size_t n = (size_t)im.count * (size_t)im.rows * (size_t)im.cols;
    for (size_t i = 0; i < n; i++) sum += im.pixels[i];
    amod_idx_images_free(&im);
    /* Keeps the loop from being optimised away. */
    volatile unsigned sink = sum;
    (void)sink;
    return 0;
}
