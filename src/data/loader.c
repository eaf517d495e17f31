/* Batching: epoch order, resize, augmentation, channel replication and normalisation. */
#include "data/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/imagefolder.h"
#include "data/pack.h"
#include "io/image.h"

/* Stream tags, so the shuffle and the augmentation never share random numbers. */
#define STREAM_SHUFFLE 0x5348554646ull /* "SHUFF" */
#define STREAM_AUGMENT 0x4155474dull   /* "AUGM" */

void amod_batch_config_default(amod_batch_config *cfg, const amod_dataset *ds) {
    memset(cfg, 0, sizeof *cfg);
    cfg->channels = ds->channels;
    cfg->height = ds->height;
    cfg->width = ds->width;
    cfg->resize = AMOD_RESIZE_BILINEAR;
    for (int c = 0; c < AMOD_DATA_MAX_CHANNELS; c++) {
        cfg->mean[c] = 0.0f;
        cfg->std[c] = 1.0f;
    }
}

/* For each output coordinate: the two source coordinates to blend and the weight of the
 * second. Nearest: floor(dst * src / out). Bilinear: half-pixel centres, edges clamped. */
static void sampling_table(int out, int src, amod_resize mode, int32_t *i0, int32_t *i1, float *w) {
    for (int d = 0; d < out; d++) {
        if (mode == AMOD_RESIZE_NEAREST) {
            int32_t s = (int32_t)((int64_t)d * src / out);
            i0[d] = i1[d] = s < src ? s : src - 1;
            w[d] = 0.0f;
        } else {
            double f = ((double)d + 0.5) * (double)src / (double)out - 0.5;
            if (f < 0) f = 0;
            int32_t s = (int32_t)f;
            if (s > src - 1) s = src - 1;
            i0[d] = s;
            i1[d] = s < src - 1 ? s + 1 : s;
            w[d] = (float)(f - s);
        }
    }
}

static int check_files_config(const amod_dataset *ds, const amod_batch_config *cfg, amod_error *err) {
    if (ds->count <= 0) return amod_fail(err, "loader: empty data set");
    if (cfg->channels != 1 && cfg->channels != 3)
        return amod_fail(err, "loader: %d batch channels from colour pictures, expected 1 or 3", cfg->channels);
    if (cfg->height < 1 || cfg->height > 4096 || cfg->width != cfg->height)
        return amod_fail(err, "loader: batches of pictures are square, 1..4096 pixels (got %d x %d)", cfg->height,
                         cfg->width);
    if (!(cfg->crop_pct >= 0 && cfg->crop_pct <= 1)) return amod_fail(err, "loader: crop_pct %g is not in [0, 1]", cfg->crop_pct);
    if (!(cfg->crop_scale >= 0 && cfg->crop_scale <= 1))
        return amod_fail(err, "loader: crop scale %g is not in [0, 1]", cfg->crop_scale);
    for (int c = 0; c < cfg->channels; c++)
        if (!(cfg->std[c] > 0) || !isfinite(cfg->std[c]) || !isfinite(cfg->mean[c]))
            return amod_fail(err, "loader: channel %d's mean %g and std %g must be finite, std positive", c,
                             (double)cfg->mean[c], (double)cfg->std[c]);
    return 0;
}

static int check_config(const amod_dataset *ds, const amod_batch_config *cfg, amod_error *err) {
    if (ds && (ds->files || ds->pack)) return check_files_config(ds, cfg, err);
    if (!ds || !ds->pixels || !ds->labels || ds->count <= 0) return amod_fail(err, "loader: empty data set");
    if (ds->channels < 1 || ds->channels > AMOD_DATA_MAX_CHANNELS || ds->height < 1 || ds->width < 1)
        return amod_fail(err, "loader: data set has unsupported shape %d x %d x %d", ds->channels, ds->height,
                         ds->width);
    if (cfg->channels < 1 || cfg->channels > AMOD_DATA_MAX_CHANNELS)
        return amod_fail(err, "loader: %d batch channels, expected 1..%d", cfg->channels, AMOD_DATA_MAX_CHANNELS);
    if (ds->channels != cfg->channels && ds->channels != 1)
        return amod_fail(err, "loader: cannot make %d-channel batches from %d-channel images (only grayscale is "
                              "replicated)", cfg->channels, ds->channels);
    if (cfg->height < 1 || cfg->width < 1 || cfg->height > 4096 || cfg->width > 4096)
        return amod_fail(err, "loader: batch image size %d x %d, expected 1..4096", cfg->height, cfg->width);
    if (cfg->resize != AMOD_RESIZE_NEAREST && cfg->resize != AMOD_RESIZE_BILINEAR)
        return amod_fail(err, "loader: unknown resize mode %d", (int)cfg->resize);
    for (int c = 0; c < cfg->channels; c++) {
        if (!isfinite(cfg->mean[c])) return amod_fail(err, "loader: mean[%d] is not finite", c);
        if (!(cfg->std[c] > 0) || !isfinite(cfg->std[c]))
            return amod_fail(err, "loader: std[%d] must be positive and finite, got %g", c, (double)cfg->std[c]);
    }
    int side = cfg->height < cfg->width ? cfg->height : cfg->width;
    if (cfg->crop_padding < 0 || cfg->crop_padding > side)
        return amod_fail(err, "loader: crop padding %d, expected 0..%d for %d x %d batches", cfg->crop_padding, side,
                         cfg->height, cfg->width);
    return 0;
}

int amod_loader_init(amod_loader *ld, const amod_dataset *ds, const amod_batch_config *cfg, uint64_t seed,
                     amod_error *err) {
    memset(ld, 0, sizeof *ld);
    if (check_config(ds, cfg, err)) return -1;
    ld->ds = ds;
    ld->cfg = *cfg;
    ld->order = amod_alloc((size_t)ds->count * sizeof *ld->order, err);
    ld->ry0 = amod_alloc((size_t)cfg->height * sizeof *ld->ry0, err);
    ld->ry1 = amod_alloc((size_t)cfg->height * sizeof *ld->ry1, err);
    ld->wy = amod_alloc((size_t)cfg->height * sizeof *ld->wy, err);
    ld->rx0 = amod_alloc((size_t)cfg->width * sizeof *ld->rx0, err);
    ld->rx1 = amod_alloc((size_t)cfg->width * sizeof *ld->rx1, err);
    ld->wx = amod_alloc((size_t)cfg->width * sizeof *ld->wx, err);
    if (!ld->order || !ld->ry0 || !ld->ry1 || !ld->wy || !ld->rx0 || !ld->rx1 || !ld->wx) {
        amod_loader_free(ld);
        return -1;
    }
    if (!ds->files && !ds->pack) {
        sampling_table(cfg->height, ds->height, cfg->resize, ld->ry0, ld->ry1, ld->wy);
        sampling_table(cfg->width, ds->width, cfg->resize, ld->rx0, ld->rx1, ld->wx);
    }
    ld->state.seed = seed;
    amod_loader_start_epoch(ld, 0);
    return 0;
}

void amod_loader_free(amod_loader *ld) {
    if (!ld) return;
    free(ld->order);
    free(ld->ry0);
    free(ld->ry1);
    free(ld->wy);
    free(ld->rx0);
    free(ld->rx1);
    free(ld->wx);
    memset(ld, 0, sizeof *ld);
}

void amod_loader_start_epoch(amod_loader *ld, int64_t epoch) {
    ld->state.epoch = epoch;
    ld->state.pos = 0;
    for (int64_t i = 0; i < ld->ds->count; i++) ld->order[i] = i;
    if (ld->cfg.shuffle) {
        /* From the identity each time: epoch e's order needs no earlier epoch. */
        amod_data_rng r;
        amod_data_rng_seed4(&r, ld->state.seed, STREAM_SHUFFLE, (uint64_t)epoch, 0);
        amod_data_rng_shuffle(&r, ld->order, ld->ds->count);
    }
}

void amod_loader_render(const amod_loader *ld, int64_t index, amod_data_rng *aug, float *out) {
    const amod_dataset *ds = ld->ds;
    const amod_batch_config *cfg = &ld->cfg;
    int H = cfg->height, W = cfg->width, pad = cfg->crop_padding;
    int oy = pad, ox = pad, flip = 0; /* offsets into the padded image: pad = centred, no shift */
    if (aug) {
        if (pad > 0) {
            oy = (int)amod_data_rng_below(aug, (uint64_t)(2 * pad + 1));
            ox = (int)amod_data_rng_below(aug, (uint64_t)(2 * pad + 1));
        }
        if (cfg->hflip) flip = (int)(amod_data_rng_next(aug) >> 63);
    }
    size_t plane = (size_t)ds->height * (size_t)ds->width;
    for (int c = 0; c < cfg->channels; c++) {
        int sc = ds->channels == cfg->channels ? c : 0; /* grayscale: every channel reads plane 0 */
        const uint8_t *src = ds->pixels + ((size_t)index * (size_t)ds->channels + (size_t)sc) * plane;
        float scale = 1.0f / (255.0f * cfg->std[c]);
        float shift = cfg->mean[c] / cfg->std[c];
        float *o = out + (size_t)c * (size_t)H * (size_t)W;
        for (int y = 0; y < H; y++) {
            int ry = y + oy - pad; /* row in the resized image; outside it is zero padding */
            if (ry < 0 || ry >= H) {
                for (int x = 0; x < W; x++) o[(size_t)y * W + x] = -shift;
                continue;
            }
            const uint8_t *r0 = src + (size_t)ld->ry0[ry] * ds->width;
            const uint8_t *r1 = src + (size_t)ld->ry1[ry] * ds->width;
            float wy = ld->wy[ry];
            for (int x = 0; x < W; x++) {
                int rx = (flip ? W - 1 - x : x) + ox - pad; /* flip after the crop, as torchvision */
                float v = 0.0f;
                if (rx >= 0 && rx < W) {
                    int x0 = ld->rx0[rx], x1 = ld->rx1[rx];
                    float wx = ld->wx[rx];
                    float top = (float)r0[x0] + wx * ((float)r0[x1] - (float)r0[x0]);
                    float bot = (float)r1[x0] + wx * ((float)r1[x1] - (float)r1[x0]);
                    v = top + wy * (bot - top);
                }
                o[(size_t)y * W + x] = v * scale - shift;
            }
        }
    }
}

/* torchvision's RandomResizedCrop.get_params with scale (0.08, 1) and ratio (3/4, 4/3): up to
 * ten draws of an area and a log-uniform aspect ratio, else the whole picture cropped to the
 * nearest allowed ratio, centred. */
static void random_box(amod_data_rng *r, double min_scale, int width, int height, int *x, int *y, int *w, int *h) {
    const double area = (double)width * height, lo = log(3.0 / 4.0), hi = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        const double target = area * (min_scale + (1.0 - min_scale) * amod_data_rng_uniform(r));
        const double aspect = exp(lo + (hi - lo) * amod_data_rng_uniform(r));
        const int cw = (int)lround(sqrt(target * aspect)), ch = (int)lround(sqrt(target / aspect));
        if (cw > 0 && cw <= width && ch > 0 && ch <= height) {
            *y = (int)amod_data_rng_below(r, (uint64_t)(height - ch + 1));
            *x = (int)amod_data_rng_below(r, (uint64_t)(width - cw + 1));
            *w = cw, *h = ch;
            return;
        }
    }
    const double in_ratio = (double)width / height;
    *w = width, *h = height;
    if (in_ratio < 3.0 / 4.0) *h = (int)lround(width / (3.0 / 4.0));
    else if (in_ratio > 4.0 / 3.0) *w = (int)lround(height * (4.0 / 3.0));
    *y = (height - *h) / 2, *x = (width - *w) / 2;
}

/* timm's RandomErasing (mode "pixel"): with probability p, up to ten draws of an area of 2-33%
 * of the picture and a log-uniform aspect ratio in 0.3-3.3; the first box that fits is filled
 * with standard normal noise, channel by channel. */
static void random_erase(amod_data_rng *r, float p, float *x, int C, int H, int W) {
    if (amod_data_rng_uniform(r) >= p) return;
    const double area = (double)H * W, lo = log(0.3), hi = log(1.0 / 0.3);
    for (int attempt = 0; attempt < 10; attempt++) {
        const double target = area * (0.02 + (1.0 / 3.0 - 0.02) * amod_data_rng_uniform(r));
        const double aspect = exp(lo + (hi - lo) * amod_data_rng_uniform(r));
        const int h = (int)lround(sqrt(target * aspect)), w = (int)lround(sqrt(target / aspect));
        if (w >= W || h >= H || w < 1 || h < 1) continue;
        const int top = (int)amod_data_rng_below(r, (uint64_t)(H - h + 1));
        const int left = (int)amod_data_rng_below(r, (uint64_t)(W - w + 1));
        for (int c = 0; c < C; c++)
            for (int y = top; y < top + h; y++)
                for (int xx = left; xx < left + w; xx += 2) { /* two values a draw */
                    double second;
                    float *row = x + ((size_t)c * H + y) * W;
                    row[xx] = (float)amod_data_rng_normal(r, &second);
                    if (xx + 1 < left + w) row[xx + 1] = (float)second;
                }
        return;
    }
}

int amod_loader_render_file(const amod_loader *ld, int64_t index, amod_data_rng *aug, float *out, amod_error *err) {
    const amod_batch_config *cfg = &ld->cfg;
    const amod_pack *pack = ld->ds->pack;
    char packed[64];
    const char *path = pack ? packed : ld->ds->files->paths[index];
    amod_image img = {0}, crop = {0}, pic = {0};
    const int size = cfg->height;
    int rc = 0, flip = 0;
    if (pack) { /* a copy: the crops and the luma conversion change it */
        snprintf(packed, sizeof packed, "packed picture %lld", (long long)index);
        rc = amod_image_alloc(&img, pack->size, pack->size, err);
        if (!rc) memcpy(img.rgb, pack->pixels + (size_t)index * pack->size * pack->size * 3, (size_t)pack->size * pack->size * 3);
    } else {
        rc = amod_image_read(path, &img, err);
    }
    if (!rc && aug && cfg->random_resized_crop) {
        int x, y, w, h;
        if (cfg->channels == 1) amod_image_to_luma(&img); /* before resizing, as a grayscale pipeline does */
        random_box(aug, cfg->crop_scale > 0 ? cfg->crop_scale : 0.08, img.width, img.height, &x, &y, &w, &h);
        rc = amod_image_crop(&img, x, y, w, h, &crop, err) ||
             amod_image_resize(&crop, size, size, AMOD_RESIZE_BICUBIC, &pic, err);
    } else if (!rc) {
        amod_image_transform t;
        amod_image_transform_init(&t, size, cfg->channels, cfg->mean, cfg->std);
        t.crop_pct = cfg->crop_pct;
        rc = amod_image_preprocess(&img, &t, &pic, err);
    }
    if (!rc && aug && cfg->hflip) flip = (int)(amod_data_rng_next(aug) >> 63);
    if (!rc && aug && cfg->autoaug.kind != AMOD_AUTOAUG_NONE) rc = amod_autoaug_apply(&cfg->autoaug, aug, &pic, err);
    if (!rc) {
        amod_image_normalize(&pic, cfg->channels, cfg->mean, cfg->std, out);
        if (aug && cfg->reprob > 0) random_erase(aug, cfg->reprob, out, cfg->channels, size, size);
        for (int c = 0; flip && c < cfg->channels; c++) /* flip after the crop, as torchvision */
            for (int yy = 0; yy < size; yy++) {
                float *row = out + ((size_t)c * size + yy) * size;
                for (int a = 0, b = size - 1; a < b; a++, b--) {
                    float t = row[a];
                    row[a] = row[b], row[b] = t;
                }
            }
    } else if (!strstr(err->msg, path)) {
        amod_error e = *err;
        amod_fail_code(err, e.code, "%s: %s", path, e.msg);
    }
    amod_image_free(&img);
    amod_image_free(&crop);
    amod_image_free(&pic);
    return rc ? -1 : 0;
}

int amod_loader_next(amod_loader *ld, int max_batch, float *images, int64_t *labels, amod_error *err) {
    return amod_loader_next_shard(ld, max_batch, 0, 1, images, labels, err);
}

int amod_loader_next_shard(amod_loader *ld, int max_batch, int shard, int shards, float *images, int64_t *labels,
                           amod_error *err) {
    if (max_batch < 1) return amod_fail(err, "loader: batch size %d, expected at least 1", max_batch);
    if (shards < 1 || shard < 0 || shard >= shards || max_batch % shards)
        return amod_fail(err, "loader: a batch of %d does not split into %d equal shards", max_batch, shards);
    int64_t left = ld->ds->count - ld->state.pos;
    if (left <= 0) return 0;
    if (ld->cfg.drop_last && left < max_batch) return 0;
    int n_all = left < max_batch ? (int)left : max_batch;
    /* this shard's slice of the batch: the same global order on every rank */
    int lo = (int)((int64_t)n_all * shard / shards), hi = (int)((int64_t)n_all * (shard + 1) / shards);
    int n = hi - lo;
    int augment = ld->cfg.crop_padding > 0 || ld->cfg.hflip || ld->cfg.random_resized_crop;
    size_t per = (size_t)ld->cfg.channels * (size_t)ld->cfg.height * (size_t)ld->cfg.width;
    int64_t pos = ld->state.pos + lo;
    /* Each image's randomness depends on (seed, epoch, position) only, so threads can't
     * change the result. */
    const amod_file_list *files = ld->ds->files;
    const amod_pack *pack = ld->ds->pack;
    int failed = -1; /* the first image that failed, in batch order */
    amod_error first;
    first.msg[0] = 0;
#pragma omp parallel for schedule(dynamic) if (files || pack || (size_t)n * per > 65536)
    for (int i = 0; i < n; i++) {
        int64_t idx = ld->order[pos + i];
        labels[i] = amod_dataset_label(ld->ds, idx);
        amod_data_rng r, *aug = NULL;
        if (augment) {
            amod_data_rng_seed4(&r, ld->state.seed, STREAM_AUGMENT, (uint64_t)ld->state.epoch, (uint64_t)(pos + i));
            aug = &r;
        }
        if (!files && !pack) {
            amod_loader_render(ld, idx, aug, images + (size_t)i * per);
            continue;
        }
        amod_error e;
        int bad = amod_loader_render_file(ld, idx, aug, images + (size_t)i * per, &e);
        /* --skip-bad-images: the next readable picture of the order, with this slot's draws */
        for (int64_t j = 1; bad && ld->cfg.skip_bad && j < ld->ds->count; j++) {
#pragma omp critical
            {
                if (!ld->skipped) snprintf(ld->skipped_first, sizeof ld->skipped_first, "%.500s", e.msg);
                ld->skipped++;
            }
            const int64_t other = ld->order[(pos + i + j) % ld->ds->count];
            if (augment)
                amod_data_rng_seed4(&r, ld->state.seed, STREAM_AUGMENT, (uint64_t)ld->state.epoch, (uint64_t)(pos + i));
            labels[i] = amod_dataset_label(ld->ds, other);
            bad = amod_loader_render_file(ld, other, aug, images + (size_t)i * per, &e);
        }
        if (bad) {
#pragma omp critical
            if (failed < 0 || i < failed) failed = i, first = e;
        }
    }
    if (failed >= 0) {
        *err = first;
        return -1;
    }
    ld->state.pos += n_all;
    return n;
}

int64_t amod_loader_batches(const amod_loader *ld, int batch) {
    if (batch < 1) return 0;
    return ld->cfg.drop_last ? ld->ds->count / batch : (ld->ds->count + batch - 1) / batch;
}

amod_loader_state amod_loader_get_state(const amod_loader *ld) { return ld->state; }

int amod_loader_set_state(amod_loader *ld, const amod_loader_state *st, amod_error *err) {
    if (st->epoch < 0 || st->pos < 0 || st->pos > ld->ds->count)
        return amod_fail(err, "loader: cannot resume at epoch %lld position %lld of a %lld-image data set",
                         (long long)st->epoch, (long long)st->pos, (long long)ld->ds->count);
    ld->state.seed = st->seed;
    amod_loader_start_epoch(ld, st->epoch);
    ld->state.pos = st->pos;
    return 0;
}
