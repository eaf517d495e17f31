/* The loader one batch ahead (prefetch.h). */
#include "data/prefetch.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct amod_prefetch {
    amod_loader *ld;
    int batch, shard, shards;
    float *images;   /* the buffer being rendered into, or ready */
    int64_t *labels;
    int n;           /* what the render returned */
    amod_error err;
    int pending;     /* a render was asked for and not yet taken */
    int busy;        /* the thread is rendering */
    int quit;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *run(void *arg) {
    amod_prefetch *p = arg;
    omp_set_num_threads(1); /* beside the training step's team, not a second team of its own */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->busy && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        pthread_mutex_unlock(&p->mu);
        const int n = amod_loader_next_shard(p->ld, p->batch, p->shard, p->shards, p->images, p->labels, &p->err);
        pthread_mutex_lock(&p->mu);
        p->n = n;
        p->busy = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

amod_prefetch *amod_prefetch_create(amod_loader *ld, int batch, int shard, int shards, size_t image_floats,
                                    amod_error *err) {
    amod_prefetch *p = amod_zalloc(sizeof *p, err);
    if (!p) return NULL;
    p->ld = ld, p->batch = batch, p->shard = shard, p->shards = shards;
    const int local = batch / shards;
    p->images = amod_alloc((size_t)local * image_floats * sizeof *p->images, err);
    p->labels = amod_alloc((size_t)local * sizeof *p->labels, err);
    if (!p->images || !p->labels) {
        free(p->images), free(p->labels), free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p->images), free(p->labels), free(p);
        amod_fail(err, "cannot start the loader's thread");
        return NULL;
    }
    return p;
}

static void wait_idle(amod_prefetch *p) {
    pthread_mutex_lock(&p->mu);
    while (p->busy) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int amod_prefetch_next(amod_prefetch *p, float **images, int64_t **labels, int more_after, amod_error *err) {
    int n;
    if (p->pending) {
        wait_idle(p);
        p->pending = 0;
        if ((n = p->n) < 0) return *err = p->err, -1;
        float *i = *images;
        int64_t *l = *labels;
        *images = p->images, *labels = p->labels;
        p->images = i, p->labels = l;
    } else if ((n = amod_loader_next_shard(p->ld, p->batch, p->shard, p->shards, *images, *labels, err)) < 0) {
        return -1;
    }
    if (n > 0 && more_after) {
        pthread_mutex_lock(&p->mu);
        p->busy = p->pending = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return n;
}

void amod_prefetch_drop(amod_prefetch *p) {
    if (!p || !p->pending) return;
    wait_idle(p);
    p->pending = 0;
}

void amod_prefetch_free(amod_prefetch *p) {
    if (!p) return;
    amod_prefetch_drop(p);
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->images), free(p->labels);
    free(p);
}
