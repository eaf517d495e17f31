/* JSON files through cJSON: a whole file read into a tree, a tree written atomically. */
#ifndef AMOD_IO_JSON_H
#define AMOD_IO_JSON_H

#include <cjson/cJSON.h>

#include "amod/amod.h"

/* The file's top-level object; NULL and "PATH: not a JSON object" otherwise. A key that
 * appears twice in one object is refused: Python's json keeps the last and cJSON finds the
 * first, so amod would read a different model than PyTorch. */
cJSON *amod_json_read_object(const char *path, amod_error *err);
/* The same for text in memory; name is used in messages. */
cJSON *amod_json_parse_object(const char *name, const char *text, size_t size, amod_error *err);
/* Writes root, indented, to path (tmp + rename) and deletes root. */
int amod_json_write(const char *path, cJSON *root, amod_error *err);

#endif
