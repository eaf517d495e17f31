/* Packed image folders: the pictures of a file list decoded once, resized (shorter side to
 * SIZE, bicubic as PIL does it) and centre-cropped to SIZE x SIZE, stored with their labels and
 * class names in one file that training maps into memory. For machines where decoding
 * pictures is what limits training; the data loader reads a pack as it reads files (the same
 * transforms, from the packed picture instead of the decoded file).
 *
 * Layout (little endian): "AMODPACK" | u32 version 1 | u32 size | i64 count | u32 classes |
 * u32 names_bytes | names (NUL-separated) | pad to 8 | i32 labels[count] | pad to 64 |
 * u8 pixels[count][size][size][3] (RGB interleaved, rows top to bottom). */
#ifndef AMOD_DATA_PACK_H
#define AMOD_DATA_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"
#include "data/imagefolder.h"

typedef struct amod_pack {
    int size;
    int64_t count;
    const int32_t *labels;        /* [count], in the mapping */
    const unsigned char *pixels;  /* [count, size, size, 3], in the mapping */
    amod_file_list names;         /* the class names (classes, num_classes); paths and labels unused */
    void *map;
    size_t map_bytes;
} amod_pack;

/* Decodes and resizes every file of `files` on the calling thread's OpenMP team and writes the
 * pack to path (a temporary name, then renamed). A file that cannot be read fails, naming it. */
int amod_pack_write(const amod_file_list *files, int size, const char *path, amod_error *err);
/* Maps a pack read-only, checking its header against the file's length (a truncated or
 * corrupt pack fails, naming the file and the field). */
int amod_pack_open(const char *path, amod_pack *p, amod_error *err);
/* The same on bytes in memory (for the fuzzer; the pack then borrows them). */
int amod_pack_parse(const char *name, const unsigned char *bytes, size_t size, amod_pack *p, amod_error *err);
void amod_pack_close(amod_pack *p);

#endif
