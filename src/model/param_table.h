/* A model's parameters as named tensors in one contiguous buffer, with a gradient buffer of
 * the same layout: the machinery the ViT (vit_params.c) and the language models (lm_params.c)
 * share. Each model lists its own tensors and binds its own pointers; this module builds and
 * rebuilds the buffers, finds tensors by name, and reads and writes them as safetensors.
 * Not part of the public API. */
#ifndef AMOD_MODEL_PARAM_TABLE_H
#define AMOD_MODEL_PARAM_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/safetensors.h"

typedef struct {
    char name[96]; /* the model's own name: timm's for the ViT, Hugging Face's for the LMs */
    int ndim;
    int64_t shape[4];
    size_t offset, numel;
    int router; /* 1 for amod's router tensors (the ones Router-Tuning trains) */
} param_tensor;

typedef struct {
    param_tensor *tensors;
    int n_tensors;
    float *params; /* gradients belong to the run contexts (model/run_state.h) */
    size_t n_params;
} param_table;

/* Appends a tensor of ndim dimensions (d0, d1, ... up to ndim) after the last one. Only
 * inside the enumerate callback of ptab_build. */
void ptab_add(param_table *t, const char *name, int router, int ndim, int64_t d0, int64_t d1, int64_t d2,
              int64_t d3);
/* (Re)builds the table: enumerate(model) adds at most cap tensors with ptab_add. Tensors
 * that exist, by name, in both the old and the new layout keep their values; new ones are
 * zero, and so are all gradients. On failure the table is left as it was. */
int ptab_build(param_table *t, int cap, void (*enumerate)(void *model), void *model, amod_error *err);
void ptab_free(param_table *t);

/* Visits the tensors in order with one generator seeded with seed: init(model, tensor,
 * values, rng) fills (or leaves) the tensor's values. */
void ptab_init(param_table *t, uint64_t seed, void (*init)(void *model, const param_tensor *p, float *v, amod_rng *r),
               void *model);

/* Index of the tensor called name, or -1. */
int ptab_index(const param_table *t, const char *name);
/* The values of the tensor whose name the printf-style arguments make, or NULL when there is
 * none. */
float *ptab_find(param_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The gradient of a parameter pointer in a context's gradient buffer grads (laid out like
 * params); NULL for NULL. */
float *ptab_grad(const param_table *t, float *grads, const float *p);
/* Tensor i's shape into shape (4 entries); returns its number of dimensions. */
/* Tensor i, or NULL when i is outside 0..n_tensors-1 (the public getters' bounds check). */
const param_tensor *ptab_tensor(const param_table *t, int i);
/* Tensor i's name and offset: NULL and SIZE_MAX outside the table. */
const char *ptab_name(const param_table *t, int i);
size_t ptab_offset(const param_table *t, int i);
int ptab_shape(const param_table *t, int i, int64_t shape[4]);
/* 1 when the name ends in ".bias". */
int ptab_is_bias(const char *name);

/* Reads the file's tensor `name` into tensor i, checking that the shapes agree. */
int ptab_read(param_table *t, const st_file *f, int i, const char *name, amod_error *err);
/* Fills every tensor from DIR/model.safetensors, tensor i by load(model, f, i), then checks
 * that every value is finite. */
int ptab_load(param_table *t, const char *dir, int (*load)(void *model, const st_file *f, int i, amod_error *err),
              void *model, amod_error *err);
/* Overwrites the tensors the file at path holds, each under its own name (a tensor of the
 * file that is not a parameter is an error), then checks that every value is finite. */
int ptab_load_some(param_table *t, const char *path, amod_error *err);
/* Writes every tensor, under its name, to DIR/model.safetensors. */
int ptab_save(const param_table *t, const char *dir, amod_error *err);

#endif
