/* Hash maps of a tokenizer: byte strings to ids (the vocabulary) and pairs of ids to their
 * merge (rank and result). Open addressing, sized once from the number of entries. */
#ifndef AMOD_TEXT_TOKEN_MAP_H
#define AMOD_TEXT_TOKEN_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"

/* Keys point into memory the caller keeps alive (the tokenizer's token blob). */
typedef struct {
    const unsigned char **key;
    uint32_t *len;
    int32_t *val;
    size_t cap; /* a power of two, at least twice the entries */
    size_t n;
} bytes_map;

int bytes_map_init(bytes_map *m, size_t entries, amod_error *err);
void bytes_map_free(bytes_map *m);
/* The value of key, or -1. */
int32_t bytes_map_get(const bytes_map *m, const unsigned char *key, size_t len);
/* Inserts key -> val; returns the value already stored under key (and keeps it), or -1 when new. */
int32_t bytes_map_put(bytes_map *m, const unsigned char *key, size_t len, int32_t val);

typedef struct {
    uint64_t *key; /* (left << 32 | right) + 1; 0 marks an empty slot */
    int32_t *rank, *merged;
    size_t cap, n;
} pair_map;

int pair_map_init(pair_map *m, size_t entries, amod_error *err);
void pair_map_free(pair_map *m);
/* The rank of merging (a, b), its result in *merged; -1 when the pair does not merge. */
int32_t pair_map_get(const pair_map *m, int32_t a, int32_t b, int32_t *merged);
/* Inserts; returns the rank already stored for (a, b), or -1 when new. */
int32_t pair_map_put(pair_map *m, int32_t a, int32_t b, int32_t rank, int32_t merged);

uint64_t text_hash(const unsigned char *s, size_t n);

#endif
