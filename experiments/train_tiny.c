/* A brief training run that gives routing analyses a model whose routers mean something,
 * until `amod train` lands: a tiny MoD ViT (28 px, patch 4, 49 patches + CLS, depth 6,
 * width 64, 4 heads, MoD at layers 1, 3, 5 with capacity 0.5) trained from scratch on an
 * IDX data set with AdamW (warmup, cosine decay, gradient clipping), no augmentation. Saves a checkpoint directory amod route / amod importance read.
 *
 *   build/train_tiny DATA_DIR attention|linear OUT_DIR [STEPS] [SEED]
 *
 * Weight decay applies to every parameter, biases and norms included: a demo, not a recipe.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amod/amod.h"
#include "data/dataset.h"

#define BATCH 64
#define PI 3.14159265358979323846

static double lr_at(int step, int steps, double peak) {
    const int warm = steps / 10;
    if (step < warm) return peak * (step + 1) / warm;
    return 0.5 * peak * (1.0 + cos(PI * (step - warm) / (double)(steps - warm)));
}

static double accuracy(amod_vit *m, const amod_dataset *ds, const amod_batch_config *bc, int n, amod_error *err) {
    amod_loader ld;
    if (amod_loader_init(&ld, ds, bc, 0, err)) return -1;
    const int K = amod_vit_get_config(m)->num_classes;
    float *x = malloc(sizeof(float) * BATCH * 28 * 28), *logits = malloc(sizeof(float) * BATCH * K);
    int64_t y[BATCH];
    int seen = 0, correct = 0, b;
    amod_vit_set_grad_enabled(m, 0);
    while (seen < n && (b = amod_loader_next(&ld, BATCH, x, y, err)) > 0) {
        if (amod_vit_forward(m, x, b, NULL, logits, NULL, err)) break;
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int c = 1; c < K; c++) best = logits[i * K + c] > logits[i * K + best] ? c : best;
            correct += best == y[i];
        }
        seen += b;
    }
    amod_vit_set_grad_enabled(m, 1);
    amod_loader_free(&ld);
    free(x);
    free(logits);
    return seen ? (double)correct / seen : 0.0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DATA_DIR attention|linear OUT_DIR [STEPS] [SEED]\n", argv[0]);
        return 2;
    }
    const int steps = argc > 4 ? atoi(argv[4]) : 800;
    const uint64_t seed = argc > 5 ? (uint64_t)atoll(argv[5]) : 1;
    amod_error err;
    amod_vit_config c = {0};
    strcpy(c.arch, "vit_custom");
    c.img_size = 28, c.patch_size = 4, c.in_chans = 1, c.num_classes = 10;
    c.embed_dim = 64, c.depth = 6, c.num_heads = 4, c.mlp_hidden = 128;
    c.qkv_bias = 1, c.num_prefix = 1, c.ln_eps = 1e-6f;
    c.mean[0] = 0.2860f, c.std[0] = 0.3530f; /* Fashion-MNIST's training set */
    amod_mod_config mod = {.capacity = 0.5f, .seed = seed};
    if (amod_router_parse(argv[2], &mod.router) || mod.router == AMOD_ROUTER_NONE) {
        fprintf(stderr, "router must be attention, linear or random, got '%s'\n", argv[2]);
        return 2;
    }
    amod_mod_set_start(&mod, c.depth, 1);
    amod_dataset train, test;
    if (amod_dataset_load(argv[1], "train", 10, &train, &err) || amod_dataset_load(argv[1], "test", 10, &test, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    amod_vit *m = amod_vit_create(&c, seed, &err);
    if (!m || amod_vit_set_mod(m, &mod, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    amod_batch_config bc;
    amod_batch_config_default(&bc, &train);
    bc.mean[0] = c.mean[0], bc.std[0] = c.std[0];
    amod_batch_config eval = bc;
    bc.shuffle = 1, bc.drop_last = 1;
    amod_loader ld;
    if (amod_loader_init(&ld, &train, &bc, seed, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const size_t P = amod_vit_num_params(m);
    float *w = amod_vit_params(m), *g = amod_vit_grads(m);
    float *m1 = calloc(P, sizeof(float)), *m2 = calloc(P, sizeof(float));
    float *x = malloc(sizeof(float) * BATCH * 28 * 28);
    int64_t y[BATCH];
    double avg = 0;
    for (int step = 0, epoch = 0; step < steps; step++) {
        int b = amod_loader_next(&ld, BATCH, x, y, &err);
        if (b == 0) {
            amod_loader_start_epoch(&ld, ++epoch);
            b = amod_loader_next(&ld, BATCH, x, y, &err);
        }
        float loss;
        amod_vit_zero_grad(m);
        if (b < 0 || amod_vit_forward(m, x, b, y, NULL, &loss, &err) || amod_vit_backward(m, &err)) {
            fprintf(stderr, "step %d: %s\n", step, err.msg);
            return 1;
        }
        double norm = 0;
        for (size_t i = 0; i < P; i++) norm += (double)g[i] * g[i];
        norm = sqrt(norm);
        const double clip = norm > 1.0 ? 1.0 / norm : 1.0, lr = lr_at(step, steps, 2e-3);
        const double c1 = 1.0 - pow(0.9, step + 1), c2 = 1.0 - pow(0.999, step + 1);
        for (size_t i = 0; i < P; i++) { /* AdamW: beta 0.9, 0.999, weight decay 0.05 */
            float gi = (float)(clip * g[i]);
            m1[i] = 0.9f * m1[i] + 0.1f * gi;
            m2[i] = 0.999f * m2[i] + 0.001f * gi * gi;
            w[i] -= (float)(lr * (m1[i] / c1 / (sqrt(m2[i] / c2) + 1e-8) + 0.05 * w[i]));
        }
        avg = step ? 0.98 * avg + 0.02 * loss : loss;
        if ((step + 1) % 100 == 0) {
            printf("step %d  loss %.4f  lr %.4f\n", step + 1, avg, lr);
            fflush(stdout);
        }
    }
    double acc = accuracy(m, &test, &eval, 2000, &err);
    printf("%s: test accuracy %.4f (first 2000 test images) after %d steps of %d images\n", argv[2], acc, steps, BATCH);
    mkdir(argv[3], 0777); /* amod_vit_save writes into an existing directory */
    if (amod_vit_save(m, argv[3], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    amod_loader_free(&ld);
    amod_dataset_free(&train);
    amod_dataset_free(&test);
    amod_vit_free(m);
    free(m1);
    free(m2);
    free(x);
    return 0;
}
