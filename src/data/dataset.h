/* In-memory image classification data sets and the loader that turns them into batches.
 *
 * A data set holds uint8 images [count, channels, height, width] and uint8 labels. A loader
 * walks it in epochs, in order or in a seeded permutation, and fills float batches
 * [B, C, H, W]: optional resize (nearest or bilinear), optional augmentation (random crop
 * with zero padding, horizontal flip), channel replication (grayscale -> C) and per-channel
 * normalisation (pixel / 255 - mean) / std. Everything random comes from (seed, epoch,
 * position) through data/rng.h, so a run is reproducible on any machine and resumes exactly
 * from an amod_loader_state. No globals: all state is in the structs. */
#ifndef AMOD_DATA_DATASET_H
#define AMOD_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"
#include "core/resize.h"
#include "data/autoaugment.h"
#include "data/rng.h"

#define AMOD_DATA_MAX_CHANNELS 3

typedef struct amod_dataset {
    uint8_t *pixels; /* [count, channels, height, width] */
    uint8_t *labels; /* [count], each < num_classes */
    int64_t count;
    int channels, height, width;
    int num_classes;
    /* Or image files (data/imagefolder.h), borrowed: pixels and labels are NULL, and each
     * picture is decoded and transformed when a batch needs it (amod_dataset_from_files). */
    const struct amod_file_list *files;
    /* Or a pack (data/pack.h: pictures decoded once, mapped), borrowed, read like files. */
    const struct amod_pack *pack;
    struct amod_file_list *owned_files; /* freed with the data set (amod_dataset_load_folder) */
    struct amod_pack *owned_pack;
} amod_dataset;

/* A data set over a file list (which must outlive it): count and classes from the list,
 * channels 3 (pictures decode to RGB), height and width 0 (each file has its own). */
void amod_dataset_from_files(amod_dataset *ds, const struct amod_file_list *files);
/* The same over a pack (which must outlive it). */
void amod_dataset_from_pack(amod_dataset *ds, const struct amod_pack *pack);
/* The class names of a data set of files or of a pack (NULL for IDX data). */
char *const *amod_dataset_class_names(const amod_dataset *ds);

/* Paths of a split's IDX files in dir: "train" -> train-{images-idx3,labels-idx1}-ubyte,
 * "test" -> t10k-{images-idx3,labels-idx1}-ubyte. Each buffer holds cap bytes. */
int amod_dataset_split_paths(const char *dir, const char *split, char *images, char *labels, size_t cap,
                             amod_error *err);
/* Loads split "train" or "test" from dir (e.g. data/fashion-mnist). num_classes > 0 checks
 * every label against it; num_classes <= 0 takes the largest label + 1. */
int amod_dataset_load(const char *dir, const char *split, int num_classes, amod_dataset *ds, amod_error *err);
void amod_dataset_free(amod_dataset *ds);
/* An image-folder split (data/imagefolder.h) as a data set that owns its file list: DIR/SPLIT,
 * or, with split "test", DIR/val when there is no DIR/test; or the pack DIR/SPLIT.amodpack
 * (amod data pack), or the list file DIR/SPLIT.csv ("path,label"), when DIR has one. names [n] (NULL: the folder's own
 * classes) numbers the classes by name (the training split's, or a model's class names). */
int amod_dataset_load_folder(const char *dir, const char *split, char *const *names, int n, amod_dataset *ds,
                             amod_error *err);
/* The label of image i. */
int64_t amod_dataset_label(const amod_dataset *ds, int64_t i);
/* Images [lo, hi) as a data set that borrows from ds; view holds what it points into. */
typedef struct amod_dataset_view {
    struct amod_file_list *files;
    struct amod_pack *pack;
} amod_dataset_view;
int amod_dataset_slice(const amod_dataset *ds, int64_t lo, int64_t hi, amod_dataset *part, amod_dataset_view *view,
                       amod_error *err);
void amod_dataset_view_free(amod_dataset_view *view);
/* A hash of what the data set holds (pixels and labels, or file paths and labels), for
 * checking that ranks train on the same data. */
uint64_t amod_dataset_hash(const amod_dataset *ds);
/* counts[k] = images of class k, for k < ds->num_classes. */
void amod_dataset_class_counts(const amod_dataset *ds, int64_t *counts);
/* Per-channel mean and standard deviation of pixel / 255 over the whole set. */
void amod_dataset_stats(const amod_dataset *ds, double *mean, double *std);

/* How a loader builds batches. Start from amod_batch_config_default. */
typedef struct amod_batch_config {
    int channels;       /* C: the data set's channels, or any C when the data set is grayscale */
    int height, width;  /* batch image size (e.g. 32 for 28 x 28 data); resized when it differs */
    amod_resize resize; /* NEAREST or BILINEAR when resizing (half-pixel centres, like PyTorch, align_corners=False) */
    float mean[AMOD_DATA_MAX_CHANNELS], std[AMOD_DATA_MAX_CHANNELS]; /* per batch channel */
    int crop_padding;   /* > 0: random crop of the (resized) image padded with this many zeros */
    int hflip;          /* 1: horizontal flip with probability 1/2. Suits Fashion-MNIST, not digits */
    int shuffle;        /* 1: a new seeded permutation every epoch; 0: data set order */
    /* Image files only (the in-memory options above do not apply to them): */
    int random_resized_crop; /* augmented batches: torchvision's RandomResizedCrop (scale
                              * crop_scale-1, ratio 3/4-4/3) then hflip; otherwise, and for
                              * unaugmented batches, timm's eval transform: */
    float crop_scale;        /* RandomResizedCrop's smallest area share (timm's --scale lower
                              * bound); 0 means torchvision's 0.08 */
    double crop_pct;         /* resize the shorter side to size / crop_pct, centre crop (0: timm's
                              * default, io/image.h); bicubic, antialiased, as PIL does it */
    float reprob;            /* augmented batches: timm's RandomErasing with this probability
                              * (area 2-33%, aspect 0.3-3.3, normal noise in the normalised tensor) */
    amod_autoaug autoaug;    /* augmented batches: TrivialAugmentWide or RandAugment (data/autoaugment.h) */
    int skip_bad;            /* a picture that cannot be read is replaced by the next readable one
                              * of the epoch's order (counted in amod_loader.skipped) instead of
                              * failing the batch */
    int drop_last;      /* 1: an epoch ends before a last batch that would be short */
} amod_batch_config;

/* Data set's own size and channels, mean 0, std 1, no augmentation, no shuffling. */
void amod_batch_config_default(amod_batch_config *cfg, const amod_dataset *ds);

/* Everything that decides the loader's future: save it to resume exactly. pos counts the
 * images of the epoch already returned. */
typedef struct amod_loader_state {
    uint64_t seed;
    int64_t epoch;
    int64_t pos;
} amod_loader_state;

typedef struct amod_loader {
    const amod_dataset *ds; /* borrowed: must outlive the loader */
    amod_batch_config cfg;
    amod_loader_state state;
    int64_t *order;      /* this epoch's order of image indices */
    int32_t *ry0, *ry1;  /* per batch row: source rows to blend */
    int32_t *rx0, *rx1;  /* per batch column: source columns to blend */
    float *wy, *wx;      /* weight of ry1 / rx1 (0 for nearest) */
    int64_t skipped;     /* skip_bad: pictures replaced so far */
    char skipped_first[512]; /* the first one's message */
} amod_loader;

/* Checks cfg against ds and starts epoch 0 with the given seed. */
int amod_loader_init(amod_loader *ld, const amod_dataset *ds, const amod_batch_config *cfg, uint64_t seed,
                     amod_error *err);
void amod_loader_free(amod_loader *ld);
/* Starts an epoch: its order is a function of (seed, epoch) only. */
void amod_loader_start_epoch(amod_loader *ld, int64_t epoch);
/* Fills the next batch of at most max_batch images: images [n, C, H, W], labels [n].
 * Returns n, 0 when the epoch is over (start the next one), -1 on error. */
int amod_loader_next(amod_loader *ld, int max_batch, float *images, int64_t *labels, amod_error *err);
/* Batches per epoch for a batch size. */
/* Data-parallel loading: the next global batch of max_batch images (which shards must
 * divide) is split in `shards` equal slices and only slice `shard` is rendered; the position
 * advances by the whole batch, so every rank walks the same order. */
int amod_loader_next_shard(amod_loader *ld, int max_batch, int shard, int shards, float *images, int64_t *labels,
                           amod_error *err);
int64_t amod_loader_batches(const amod_loader *ld, int batch);
amod_loader_state amod_loader_get_state(const amod_loader *ld);
/* Resumes at a saved state (same data set and config): the following batches are the ones
 * the saved run would have produced. */
int amod_loader_set_state(amod_loader *ld, const amod_loader_state *st, amod_error *err);
/* One image of an in-memory data set through the loader's pipeline into out [C, H, W]; aug
 * NULL means no augmentation, otherwise crop and flip draw from it. */
void amod_loader_render(const amod_loader *ld, int64_t index, amod_data_rng *aug, float *out);
/* The same for a data set of files: decoded (by content), then timm's eval transform, or
 * with aug RandomResizedCrop and flip; -1 when the file cannot be read (err names it). */
int amod_loader_render_file(const amod_loader *ld, int64_t index, amod_data_rng *aug, float *out, amod_error *err);

#endif
