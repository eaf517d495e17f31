/* Named ViT shapes: the timm ImageNet models the A-MoD paper uses, plus small ones for
 * 28x28 / 32x32 data that train in minutes on a CPU (documented in docs/PRESETS.md). */
#include <stdio.h>
#include <string.h>

#include "amod/amod.h"
#include "core/error.h"

typedef struct {
    const char *name;
    int img, patch, chans, classes, dim, depth, heads;
    float mean[3], std[3];
    int timm; /* a name timm registers (timm.create_model knows it) */
} preset;

#define IMAGENET_MEAN {0.485f, 0.456f, 0.406f}
#define IMAGENET_STD {0.229f, 0.224f, 0.225f}
#define HALF {0.5f, 0.5f, 0.5f}

static const preset presets[] = {
    /* DeiT (Touvron et al.) normalises with the ImageNet statistics. */
    {"deit_tiny_patch16_224", 224, 16, 3, 1000, 192, 12, 3, IMAGENET_MEAN, IMAGENET_STD, 1},
    {"deit_small_patch16_224", 224, 16, 3, 1000, 384, 12, 6, IMAGENET_MEAN, IMAGENET_STD, 1},
    {"deit_base_patch16_224", 224, 16, 3, 1000, 768, 12, 12, IMAGENET_MEAN, IMAGENET_STD, 1},
    /* timm's default vit_*_patch16_224 weights (augreg) were trained on inputs in [-1, 1]. */
    {"vit_base_patch16_224", 224, 16, 3, 1000, 768, 12, 12, HALF, HALF, 1},
    {"vit_large_patch16_224", 224, 16, 3, 1000, 1024, 24, 16, HALF, HALF, 1},
    {"vit_tiny_patch16_224", 224, 16, 3, 1000, 192, 12, 3, HALF, HALF, 1},
    {"vit_small_patch16_224", 224, 16, 3, 1000, 384, 12, 6, HALF, HALF, 1},
    /* MNIST / Fashion-MNIST: 7x7 patches of 4 pixels; narrow because grey digits need little
     * width, and head_dim 32 keeps the three heads useful. */
    {"vit_tiny_mnist", 28, 4, 1, 10, 96, 6, 3, {0.1307f, 0.1307f, 0.1307f}, {0.3081f, 0.3081f, 0.3081f}, 0},
    /* CIFAR-10: 8x8 patches of 4 pixels, DeiT-Tiny's width (head_dim 64) at half its depth. */
    {"vit_tiny_cifar10", 32, 4, 3, 10, 192, 6, 3, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, 0},
};

#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

const char *amod_vit_preset_name(int i) {
    return i >= 0 && i < N_PRESETS ? presets[i].name : NULL;
}

const char *amod_vit_timm_architecture(const amod_vit_config *cfg) {
    for (int i = 0; i < N_PRESETS; i++)
        if (presets[i].timm && !strcmp(cfg->arch, presets[i].name)) return presets[i].name;
    /* timm.create_model(name, **model_args): the saved model_args replace every shape the name
     * sets, so any registered ViT works; the one of the nearest width reads best */
    return cfg->embed_dim <= 192 ? "vit_tiny_patch16_224"
           : cfg->embed_dim <= 384 ? "vit_small_patch16_224"
           : cfg->embed_dim <= 768 ? "vit_base_patch16_224"
                                   : "vit_large_patch16_224";
}

int amod_vit_preset(const char *name, amod_vit_config *cfg, amod_error *err) {
    if (!name || !cfg) return amod_fail(err, "no preset name given");
    for (int i = 0; i < N_PRESETS; i++) {
        const preset *p = &presets[i];
        if (strcmp(name, p->name)) continue;
        memset(cfg, 0, sizeof *cfg);
        snprintf(cfg->arch, sizeof cfg->arch, "%s", p->name);
        cfg->img_size = p->img;
        cfg->patch_size = p->patch;
        cfg->in_chans = p->chans;
        cfg->num_classes = p->classes;
        cfg->embed_dim = p->dim;
        cfg->depth = p->depth;
        cfg->num_heads = p->heads;
        cfg->mlp_hidden = 4 * p->dim;
        cfg->qkv_bias = 1;
        cfg->num_prefix = 1;
        cfg->pool = AMOD_POOL_TOKEN;
        cfg->ln_eps = 1e-6f;
        memcpy(cfg->mean, p->mean, sizeof cfg->mean);
        memcpy(cfg->std, p->std, sizeof cfg->std);
        cfg->naming = AMOD_NAMING_TIMM;
        return 0;
    }
    char known[400] = "";
    size_t used = 0;
    for (int i = 0; i < N_PRESETS && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", presets[i].name);
    return amod_fail(err, "unknown model '%.80s' (known: %s)", name, known);
}
