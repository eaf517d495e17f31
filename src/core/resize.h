/* Resampling filters, one enumeration for the two places that resize: the data loader
 * (data/dataset.h: nearest or bilinear, on the grid of PyTorch's align_corners=False) and
 * picture resizing (io/image.h: bicubic or bilinear, PIL's antialiased filters). Each
 * refuses the filters it does not implement. */
#ifndef AMOD_CORE_RESIZE_H
#define AMOD_CORE_RESIZE_H

typedef enum amod_resize {
    AMOD_RESIZE_BICUBIC = 0,  /* Keys cubic, a = -0.5: timm's default for ViT/DeiT (pictures only) */
    AMOD_RESIZE_BILINEAR = 1, /* triangle: Hugging Face ViTImageProcessor's default */
    AMOD_RESIZE_NEAREST = 2,  /* (data loader only) */
} amod_resize;

#endif
