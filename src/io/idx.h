/* IDX files (the MNIST format): a big-endian magic 0x0000TTNN (TT = element type, NN = number
 * of dimensions), NN big-endian uint32 dimensions, then the elements. Only unsigned bytes
 * (TT = 0x08) are supported: labels are 1-D (0x00000801), images 3-D (0x00000803). */
#ifndef AMOD_IO_IDX_H
#define AMOD_IO_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"

#define AMOD_IDX_LABELS_MAGIC 0x00000801u
#define AMOD_IDX_IMAGES_MAGIC 0x00000803u

/* count images of rows x cols bytes, row-major, one after the other. */
typedef struct amod_idx_images {
    uint8_t *pixels;
    int64_t count;
    int rows, cols;
} amod_idx_images;

typedef struct amod_idx_labels {
    uint8_t *labels;
    int64_t count;
} amod_idx_labels;

/* Readers: refuse a missing or truncated file, a wrong magic, dimensions that overflow or
 * disagree with the file size (trailing bytes included). out is zeroed on failure. */
int amod_idx_read_images(const char *path, amod_idx_images *out, amod_error *err);
int amod_idx_read_labels(const char *path, amod_idx_labels *out, amod_error *err);
/* The same from size bytes in memory (copied); name is what error messages call them. */
int amod_idx_decode_images(const char *name, const uint8_t *bytes, size_t size, amod_idx_images *out,
                           amod_error *err);
int amod_idx_decode_labels(const char *name, const uint8_t *bytes, size_t size, amod_idx_labels *out,
                           amod_error *err);
void amod_idx_images_free(amod_idx_images *im);
void amod_idx_labels_free(amod_idx_labels *lb);

/* Fails naming the first label >= num_classes (index and value); path is for the message. */
int amod_idx_check_labels(const char *path, const uint8_t *labels, int64_t count, int num_classes,
                          amod_error *err);

/* Reads an images file and its labels file, and checks that the counts agree and (when
 * num_classes > 0) that every label is below num_classes. */
int amod_idx_read_pair(const char *images_path, const char *labels_path, int num_classes,
                       amod_idx_images *images, amod_idx_labels *labels, amod_error *err);

/* Writers, atomic (tmp file + rename). */
int amod_idx_write_images(const char *path, const uint8_t *pixels, int64_t count, int rows, int cols,
                          amod_error *err);
int amod_idx_write_labels(const char *path, const uint8_t *labels, int64_t count, amod_error *err);

#endif
