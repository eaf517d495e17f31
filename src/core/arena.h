/* Activation memory: one 64-byte aligned arena, carved in two passes by the same code. The
 * first pass, on a carver with no base, only measures (every take returns NULL); arena_start
 * then allocates what it measured, and the second pass hands out the blocks. */
#ifndef AMOD_CORE_ARENA_H
#define AMOD_CORE_ARENA_H

#include <stddef.h>

typedef struct {
    char *base; /* NULL while measuring */
    size_t used;
} arena_carver;

/* The next block of n 4-byte values (floats, or int32s; n * 4 bytes in any case), 64-byte
 * aligned; NULL while measuring. */
void *arena_take(arena_carver *c, size_t n);
/* After the measuring pass: allocates the arena (the caller frees it) and rewinds the carver
 * for the second pass. NULL when out of memory; c->used still holds the bytes needed. */
void *arena_start(arena_carver *c);

#endif
