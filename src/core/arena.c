#include "core/arena.h"

#include <stdlib.h>

void *arena_take(arena_carver *c, size_t n) {
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = c->base ? c->base + c->used : NULL;
    c->used += bytes;
    return p;
}

void *arena_start(arena_carver *c) {
    c->base = aligned_alloc(64, c->used);
    if (c->base) c->used = 0;
    return c->base;
}
