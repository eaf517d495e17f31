/* safetensors: read (F32, F16, BF16, F64, I64, I32 -> float/int64) and write (atomically).
 * Format: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}},
 * then the raw little-endian tensor data. */
#ifndef AMOD_IO_SAFETENSORS_H
#define AMOD_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_U8, ST_BOOL } st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets into the data section */
} st_tensor;

typedef struct {
    char path[1024];
    unsigned char *bytes; /* the whole file */
    size_t size;
    size_t data_start;
    st_tensor *tensors;
    int n;
} st_file;

int st_open(st_file *f, const char *path, amod_error *err);
/* The same from memory (copied); name is what error messages call the data. */
int st_open_memory(st_file *f, const char *name, const unsigned char *bytes, size_t size, amod_error *err);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_dtype_name(st_dtype d);
/* Converts any floating tensor to float32 into out (t->numel floats). */
void st_read_f32(const st_file *f, const st_tensor *t, float *out);
/* Reads an integer tensor (I64 or I32) into out (t->numel values). -1 for a float tensor. */
int st_read_i64(const st_file *f, const st_tensor *t, int64_t *out, amod_error *err);
/* Finds a tensor and checks its shape; error names the file, the tensor and both shapes. */
const st_tensor *st_expect(const st_file *f, const char *name, int ndim, const int64_t *shape,
                           amod_error *err);

/* Writer: collects tensors (copied), then saves atomically. */
typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    void *data;
    size_t bytes;
} st_entry;

typedef struct {
    st_entry *e;
    int n, cap;
    char *meta_key, *meta_value; /* one extra __metadata__ entry, or NULL */
} st_writer;

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, amod_error *err);
int st_writer_add_f32(st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data, amod_error *err);
/* Adds KEY: VALUE to the file's __metadata__ (beside "format": "pt"); one pair. */
int st_writer_set_metadata(st_writer *w, const char *key, const char *value, amod_error *err);
int st_writer_save(const st_writer *w, const char *path, amod_error *err);
void st_writer_free(st_writer *w);

#endif
