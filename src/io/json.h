/* JSON files through cJSON: a whole file read into a tree, a tree written atomically. */
#ifndef AMOD_IO_JSON_H
#define AMOD_IO_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "amod/error.h"

/* The file's top-level object; NULL and "PATH: not a JSON object" otherwise. A key that
 * appears twice in one object is refused: Python's json keeps the last and cJSON finds the
 * first, so amod would read a different model than PyTorch. */
cJSON *amod_json_read_object(const char *path, amod_error *err);
/* The same for text in memory; name is used in messages. */
cJSON *amod_json_parse_object(const char *name, const char *text, size_t size, amod_error *err);
/* A float as the shortest decimal that reads back to it (0.001, not 0.0010000000474974513). */
void amod_json_add_float(cJSON *obj, const char *key, float v);
/* A 64-bit value (seed, generator state) as a hex string "0x...": JSON numbers are doubles. */
void amod_json_add_hex64(cJSON *obj, const char *key, uint64_t v);
/* Reads such a string back; -1 when v is not one. */
int amod_json_hex64(const cJSON *v, uint64_t *out);
/* Writes root, indented, to path (tmp + rename) and deletes root. */
int amod_json_write(const char *path, cJSON *root, amod_error *err);

/* Typed fields of one object of a file, each read failing with a message that names the file,
 * the section and the key ("PATH: SECTION.KEY must be ..."). */
typedef struct {
    const char *path;
    const cJSON *obj;
    const char *section;
    amod_error *err;
} amod_json_fields;
/* A finite number in [lo, hi]; the integer versions also refuse fractions. */
int amod_json_field_num(const amod_json_fields *r, const char *key, double lo, double hi, double *out);
int amod_json_field_i64(const amod_json_fields *r, const char *key, int64_t lo, int64_t hi, int64_t *out);
int amod_json_field_int(const amod_json_fields *r, const char *key, int lo, int hi, int *out);
int amod_json_field_float(const amod_json_fields *r, const char *key, double lo, double hi, float *out);
/* A hex string written by amod_json_add_hex64. */
int amod_json_field_hex64(const amod_json_fields *r, const char *key, uint64_t *out);
int amod_json_field_bool(const amod_json_fields *r, const char *key, int *out);
/* A string shorter than cap bytes, copied into out. */
int amod_json_field_str(const amod_json_fields *r, const char *key, char *out, size_t cap);

#endif
