/* Position embeddings at another input size: timm's resample_abs_pos_embed (the prefix tokens'
 * rows kept, the grid of the others resized as an image by PyTorch's F.interpolate with
 * mode "bicubic", antialias=True, align_corners=False: a = -0.5, separable, width first). */
#ifndef AMOD_MODEL_POS_EMBED_H
#define AMOD_MODEL_POS_EMBED_H

/* src [prefix + old_grid^2, D] -> dst [prefix + new_grid^2, D]. Returns -1 when out of memory. */
int pos_embed_resample(float *dst, const float *src, int old_grid, int new_grid, int D, int prefix);

#endif
