/* Automatic augmentation policies on 8-bit RGB pictures, as torchvision and timm define them:
 *
 *   "trivial"              TrivialAugmentWide (torchvision): one op a picture, drawn uniformly,
 *                          at a magnitude bin drawn uniformly from 31 (signed ops flip sign
 *                          with probability 1/2)
 *   "rand-mM[-mstdS][-nN][-pP]"  timm's RandAugment: N ops (default 2) drawn uniformly from its
 *                          15, each applied with probability P (default 0.5), at magnitude M of
 *                          10, jittered by a normal draw of std S and clipped to 0..10
 *
 * The ops: identity, shear x/y, translate x/y, rotate (nearest neighbour, fill 128 as timm),
 * brightness, color, contrast, sharpness (PIL's ImageEnhance blends), posterize, solarize,
 * solarize-add, invert, autocontrast and equalize (PIL's ImageOps). Draws come from the
 * caller's generator: the loader's per-picture stream, so a run stays deterministic. */
#ifndef AMOD_DATA_AUTOAUGMENT_H
#define AMOD_DATA_AUTOAUGMENT_H

#include "amod/error.h"
#include "data/rng.h"
#include "io/image.h"

typedef enum { AMOD_AUTOAUG_NONE = 0, AMOD_AUTOAUG_TRIVIAL, AMOD_AUTOAUG_RAND } amod_autoaug_kind;

typedef struct {
    amod_autoaug_kind kind;
    int n;       /* RandAugment: ops a picture */
    float m;     /* RandAugment: magnitude 0..10 */
    float mstd;  /* RandAugment: its jitter's std */
    float p;     /* RandAugment: each op's probability */
} amod_autoaug;

/* "" or "none", "trivial", "rand-m9-mstd0.5" ...; fails naming the part it does not know. */
int amod_autoaug_parse(const char *s, amod_autoaug *out, amod_error *err);
/* Writes the policy back in the form parse reads ("none" when off). */
void amod_autoaug_format(const amod_autoaug *a, char *out, int cap);
/* Augments img in place. */
int amod_autoaug_apply(const amod_autoaug *a, amod_data_rng *r, amod_image *img, amod_error *err);

#endif
