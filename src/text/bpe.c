/* Byte-pair encoding of one piece: symbols start as bytes (byte-level) or characters
 * (SentencePiece), and the adjacent pair of lowest rank merges first, the leftmost among equal
 * ranks, until no pair merges: tiktoken's and Hugging Face's order. A heap of candidate pairs
 * keeps it O(n log n), so a SentencePiece text that is one long piece stays fast; pieces of
 * byte-level text go through a cache, since a few thousand words make up most of any text. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

/* Makes room for need elements of size bytes in *p (capacity *cap, doubled as it grows). */
static int grow(void **p, size_t *cap, size_t need, size_t size, amod_error *err) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory encoding text");
    *p = q, *cap = c;
    return 0;
}

int id_list_push(id_list *l, int32_t id, amod_error *err) {
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, err)) return -1;
    l->v[l->n++] = id;
    return 0;
}

typedef struct {
    int32_t id, start, end, prev, next;
    int frozen; /* a byte-fallback or unknown symbol: never merges */
} sym;

typedef struct {
    int32_t rank, left, left_id, right_id, merged;
} cand;

static int cand_less(const cand *a, const cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->left < b->left;
}

typedef struct {
    sym *s;
    cand *h;
    size_t n_h, cap_s, cap_h;
} merge_work;

static void heap_push(merge_work *w, cand c) {
    size_t i = w->n_h++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &w->h[p])) break;
        w->h[i] = w->h[p], i = p;
    }
    w->h[i] = c;
}

static cand heap_pop(merge_work *w) {
    cand top = w->h[0], last = w->h[--w->n_h];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->n_h) break;
        if (c + 1 < w->n_h && cand_less(&w->h[c + 1], &w->h[c])) c++;
        if (!cand_less(&w->h[c], &last)) break;
        w->h[i] = w->h[c], i = c;
    }
    if (w->n_h) w->h[i] = last;
    return top;
}

/* The candidate merging symbol i with its right neighbour; rank -1 when they do not merge. */
static cand pair_of(const amod_tokenizer *t, const unsigned char *text, const sym *s, int32_t i) {
    cand c = {-1, i, s[i].id, -1, -1};
    const int32_t j = s[i].next;
    if (j < 0 || s[i].frozen || s[j].frozen) return c;
    c.right_id = s[j].id;
    if (t->rank_mode == RANK_BY_TOKEN) {
        c.merged = bytes_map_get(&t->vocab, text + s[i].start, (size_t)(s[j].end - s[i].start));
        c.rank = c.merged;
    } else {
        c.rank = pair_map_get(&t->merges, s[i].id, s[j].id, &c.merged);
    }
    return c;
}


/* The initial symbols of text[0..n) into w->s; their number, -1 on failure. */
static long initial_symbols(const amod_tokenizer *t, const unsigned char *text, size_t n, merge_work *w,
                            amod_error *err) {
    if (grow((void **)&w->s, &w->cap_s, n, sizeof *w->s, err)) return -1;
    long k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = t->kind == TOK_BYTE_LEVEL ? 1 : tok_utf8_len(text + i, n - i);
        if (len == 0) len = 1; /* not UTF-8: a byte of its own (no token has it; byte fallback or unknown) */
        int32_t id = t->kind == TOK_BYTE_LEVEL ? t->byte_token[text[i]] : bytes_map_get(&t->vocab, text + i, len);
        if (id >= 0) {
            w->s[k] = (sym){id, (int32_t)i, (int32_t)(i + len), (int32_t)k - 1, (int32_t)k + 1, 0};
            k++;
        } else if (t->byte_fallback) { /* each byte of the character as <0xXX> */
            for (size_t b = 0; b < len; b++, k++)
                w->s[k] = (sym){t->byte_token[text[i + b]], (int32_t)(i + b), (int32_t)(i + b + 1), (int32_t)k - 1,
                                (int32_t)k + 1, 1};
        } else if (t->unk >= 0) { /* consecutive unknown characters fuse into one unknown token */
            if (k > 0 && w->s[k - 1].frozen && w->s[k - 1].id == t->unk) {
                w->s[k - 1].end = (int32_t)(i + len);
            } else {
                w->s[k] = (sym){t->unk, (int32_t)i, (int32_t)(i + len), (int32_t)k - 1, (int32_t)k + 1, 1};
                k++;
            }
        } else {
            return amod_fail(err, "%s: byte 0x%02x at offset %zu has no token (no byte fallback, no unknown token)",
                             t->source, text[i], i);
        }
        i += len;
    }
    if (k > 0) w->s[k - 1].next = -1;
    return k;
}

static int merge(amod_tokenizer *t, const unsigned char *text, size_t n, id_list *out, amod_error *err) {
    merge_work w = {0};
    int rc = 0;
    long k = initial_symbols(t, text, n, &w, err);
    if (k < 0) rc = -1;
    if (!rc && grow((void **)&w.h, &w.cap_h, 2 * (size_t)k + 2, sizeof *w.h, err)) rc = -1;
    for (long i = 0; !rc && i + 1 < k; i++) {
        cand c = pair_of(t, text, w.s, (int32_t)i);
        if (c.rank >= 0) heap_push(&w, c);
    }
    while (!rc && w.n_h) {
        const cand c = heap_pop(&w);
        sym *a = &w.s[c.left];
        /* stale: the left symbol merged away, or one side changed since this pair was seen */
        if (a->id != c.left_id || a->next < 0 || w.s[a->next].id != c.right_id || a->end < 0) continue;
        sym *b = &w.s[a->next];
        a->id = c.merged, a->end = b->end, a->next = b->next;
        b->end = -1, b->id = -1; /* gone */
        if (a->next >= 0) w.s[a->next].prev = c.left;
        /* at most two new pairs per merge, at most k - 1 merges: the heap stays under 2k */
        if (a->prev >= 0) {
            cand p = pair_of(t, text, w.s, a->prev);
            if (p.rank >= 0) heap_push(&w, p);
        }
        cand q = pair_of(t, text, w.s, c.left);
        if (q.rank >= 0) heap_push(&w, q);
    }
    for (long i = 0; !rc && k > 0 && i >= 0; i = w.s[i].next) rc = id_list_push(out, w.s[i].id, err);
    free(w.s);
    free(w.h);
    return rc;
}

/* ---- the cache ---- */

#define CACHE_MAX_WORD 64
#define CACHE_MAX_RUNS (1u << 16)

void word_cache_free(word_cache *c) {
    bytes_map_free(&c->map);
    free(c->keys), free(c->ids), free(c->run_start), free(c->run_len);
    memset(c, 0, sizeof *c);
}

/* Keys point into c->keys, which must not move: it is allocated once at full size. */
static int cache_ready(word_cache *c, amod_error *err) {
    if (c->keys) return 0;
    c->keys_cap = (size_t)CACHE_MAX_RUNS * 8;
    c->keys = amod_alloc(c->keys_cap, err);
    c->run_start = c->keys ? amod_alloc(CACHE_MAX_RUNS * sizeof *c->run_start, err) : NULL;
    c->run_len = c->run_start ? amod_alloc(CACHE_MAX_RUNS * sizeof *c->run_len, err) : NULL;
    if (!c->run_len || bytes_map_init(&c->map, CACHE_MAX_RUNS, err)) {
        word_cache_free(c);
        return -1;
    }
    return 0;
}

static void cache_clear(word_cache *c) {
    memset(c->map.key, 0, c->map.cap * sizeof *c->map.key);
    c->map.n = 0, c->keys_len = 0, c->ids_len = 0, c->n_runs = 0;
}

static void cache_put(word_cache *c, const unsigned char *s, size_t n, const int32_t *ids, size_t k) {
    if (c->n_runs == CACHE_MAX_RUNS || c->keys_len + n > c->keys_cap) cache_clear(c);
    if (grow((void **)&c->ids, &c->ids_cap, c->ids_len + k, sizeof *c->ids, NULL))
        return; /* the cache is an optimisation: without memory, skip it */
    unsigned char *key = c->keys + c->keys_len;
    memcpy(key, s, n);
    memcpy(c->ids + c->ids_len, ids, k * sizeof *ids);
    c->run_start[c->n_runs] = (uint32_t)c->ids_len, c->run_len[c->n_runs] = (uint32_t)k;
    bytes_map_put(&c->map, key, n, (int32_t)c->n_runs);
    c->keys_len += n, c->ids_len += k, c->n_runs++;
}

int bpe_encode_piece(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err) {
    if (n == 0) return 0;
    if (t->ignore_merges) { /* Llama 3: a piece that is a token is that token */
        const int32_t id = bytes_map_get(&t->vocab, s, n);
        if (id >= 0) return id_list_push(out, id, err);
    }
    const int cached = n <= CACHE_MAX_WORD && !cache_ready(&t->cache, NULL);
    if (cached) {
        const int32_t r = bytes_map_get(&t->cache.map, s, n);
        if (r >= 0) {
            for (uint32_t i = 0; i < t->cache.run_len[r]; i++)
                if (id_list_push(out, t->cache.ids[t->cache.run_start[r] + i], err)) return -1;
            return 0;
        }
    }
    const size_t before = out->n;
    if (merge(t, s, n, out, err)) return -1;
    if (cached) cache_put(&t->cache, s, n, out->v + before, out->n - before);
    return 0;
}
