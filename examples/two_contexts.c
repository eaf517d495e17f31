/* Embedding amod: one model, two run contexts, two threads.
 *
 *   two_contexts MODEL_DIR [CAPACITY]
 *
 * Loads a ViT checkpoint (config.json + model.safetensors), turns it into an A-MoD model
 * (attention router at CAPACITY, default 0.5, on layers 1, 3, ...), and classifies two batches
 * of synthetic images at once, each on its own context from its own thread; then checks that
 * each thread's logits equal those of the same batch run alone. Prints the predicted classes. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"

enum { BATCH = 2 };

typedef struct {
    amod_vit_ctx *ctx;
    const float *images;
    float *logits;
    int rc;
    amod_error err;
} job;

static void *run(void *arg) {
    job *j = arg;
    for (int i = 0; i < 5 && !j->rc; i++) /* a few passes, overlapping the other thread's */
        j->rc = amod_vit_ctx_forward(j->ctx, j->images, BATCH, NULL, j->logits, NULL, &j->err);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: two_contexts MODEL_DIR [CAPACITY]\n");
        return 2;
    }
    amod_error err;
    amod_vit *m = amod_vit_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "two_contexts: %s\n", err.msg);
        return 1;
    }
    const amod_vit_config *cfg = amod_vit_get_config(m);
    amod_mod_config mod = {0};
    mod.router = AMOD_ROUTER_ATTENTION;
    mod.capacity = argc > 2 ? (float)atof(argv[2]) : 0.5f;
    for (int l = 1; l < cfg->depth; l += 2) mod.is_mod[l] = 1;
    if (amod_vit_set_mod(m, &mod, &err)) {
        fprintf(stderr, "two_contexts: %s\n", err.msg);
        amod_vit_free(m);
        return 1;
    }
    const size_t per = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size, K = (size_t)cfg->num_classes;
    float *img[2], *alone[2], *together[2];
    for (int t = 0; t < 2; t++) {
        img[t] = malloc(BATCH * per * sizeof(float));
        alone[t] = malloc(BATCH * K * sizeof(float));
        together[t] = malloc(BATCH * K * sizeof(float));
        for (size_t i = 0; i < BATCH * per; i++) img[t][i] = sinf(0.01f * (float)i * (float)(t + 1));
    }
    /* one thread per context: OpenMP teams of one, so that the two run side by side */
    amod_vit_ctx_params p = amod_vit_ctx_default_params();
    p.threads = 1;
    amod_vit_ctx *ctx[2] = {amod_vit_ctx_create(m, &p, &err), amod_vit_ctx_create(m, &p, &err)};
    int rc = !ctx[0] || !ctx[1];
    for (int t = 0; t < 2 && !rc; t++) rc = amod_vit_ctx_forward(ctx[t], img[t], BATCH, NULL, alone[t], NULL, &err);
    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    for (int t = 0; t < 2; t++) jobs[t].ctx = ctx[t], jobs[t].images = img[t], jobs[t].logits = together[t];
    pthread_t th[2];
    for (int t = 0; t < 2 && !rc; t++) pthread_create(&th[t], NULL, run, &jobs[t]);
    for (int t = 0; t < 2 && !rc; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < 2 && !rc; t++)
        if (jobs[t].rc) {
            err = jobs[t].err;
            rc = 1;
        }
    for (int t = 0; t < 2 && !rc; t++) {
        double worst = 0, top = 0;
        for (size_t i = 0; i < BATCH * K; i++) {
            worst = fmax(worst, fabs(together[t][i] - alone[t][i]));
            top = fmax(top, fabs(alone[t][i]));
        }
        if (worst > 1e-6 * (top > 0 ? top : 1)) {
            fprintf(stderr, "two_contexts: thread %d's logits differ from its batch alone by %g\n", t, worst);
            rc = 1;
        }
        for (int b = 0; b < BATCH; b++) {
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (together[t][b * K + k] > together[t][b * K + best]) best = k;
            printf("thread %d image %d: class %zu\n", t, b, best);
        }
    }
    if (rc && err.msg[0]) fprintf(stderr, "two_contexts: %s\n", err.msg);
    for (int t = 0; t < 2; t++) {
        amod_vit_ctx_free(ctx[t]);
        free(img[t]), free(alone[t]), free(together[t]);
    }
    amod_vit_free(m);
    if (!rc) printf("two contexts on one model, two threads: logits as each batch alone\n");
    return rc;
}
