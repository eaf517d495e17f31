/* The tokenizer's hash maps (token_map.h). */
#include "text/token_map.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* FNV-1a with a final mix: tokens are short, and the mix spreads FNV's weak low bits. */
uint64_t text_hash(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static size_t capacity_for(size_t entries) {
    size_t cap = 16;
    while (cap < 2 * entries + 1) cap <<= 1;
    return cap;
}

int bytes_map_init(bytes_map *m, size_t entries, amod_error *err) {
    memset(m, 0, sizeof *m);
    m->cap = capacity_for(entries);
    m->key = amod_zalloc(m->cap * sizeof *m->key, err);
    m->len = m->key ? amod_zalloc(m->cap * sizeof *m->len, err) : NULL;
    m->val = m->len ? amod_alloc(m->cap * sizeof *m->val, err) : NULL;
    if (!m->val) {
        bytes_map_free(m);
        return -1;
    }
    return 0;
}

void bytes_map_free(bytes_map *m) {
    free(m->key), free(m->len), free(m->val);
    memset(m, 0, sizeof *m);
}

static size_t bytes_slot(const bytes_map *m, const unsigned char *key, size_t len) {
    size_t i = (size_t)text_hash(key, len) & (m->cap - 1);
    while (m->key[i] && !(m->len[i] == len && !memcmp(m->key[i], key, len))) i = (i + 1) & (m->cap - 1);
    return i;
}

int32_t bytes_map_get(const bytes_map *m, const unsigned char *key, size_t len) {
    if (!m->cap) return -1;
    size_t i = bytes_slot(m, key, len);
    return m->key[i] ? m->val[i] : -1;
}

int32_t bytes_map_put(bytes_map *m, const unsigned char *key, size_t len, int32_t val) {
    size_t i = bytes_slot(m, key, len);
    if (m->key[i]) return m->val[i];
    if (2 * (m->n + 1) > m->cap) return -2; /* sized by init: never reached */
    /* an empty key needs a non-NULL pointer to mark the slot taken */
    static const unsigned char empty = 0;
    m->key[i] = len ? key : &empty, m->len[i] = (uint32_t)len, m->val[i] = val;
    m->n++;
    return -1;
}

int pair_map_init(pair_map *m, size_t entries, amod_error *err) {
    memset(m, 0, sizeof *m);
    m->cap = capacity_for(entries);
    m->key = amod_zalloc(m->cap * sizeof *m->key, err);
    m->rank = m->key ? amod_alloc(m->cap * sizeof *m->rank, err) : NULL;
    m->merged = m->rank ? amod_alloc(m->cap * sizeof *m->merged, err) : NULL;
    if (!m->merged) {
        pair_map_free(m);
        return -1;
    }
    return 0;
}

void pair_map_free(pair_map *m) {
    free(m->key), free(m->rank), free(m->merged);
    memset(m, 0, sizeof *m);
}

static size_t pair_slot(const pair_map *m, uint64_t k) {
    uint64_t h = k * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

int32_t pair_map_get(const pair_map *m, int32_t a, int32_t b, int32_t *merged) {
    if (!m->cap) return -1;
    size_t i = pair_slot(m, pair_key(a, b));
    if (!m->key[i]) return -1;
    *merged = m->merged[i];
    return m->rank[i];
}

int32_t pair_map_put(pair_map *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
    const uint64_t k = pair_key(a, b);
    size_t i = pair_slot(m, k);
    if (m->key[i]) return m->rank[i];
    m->key[i] = k, m->rank[i] = rank, m->merged[i] = merged;
    m->n++;
    return -1;
}
