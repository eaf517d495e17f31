/* Tokenizers (amod/tokenizer.h): loading by file kind, encoding (added tokens, then the
 * pre-tokenisation pattern or SentencePiece's normalisation, then BPE per piece) and
 * decoding. */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

/* GPT-2 (r50k, p50k), tiktoken's cl100k_base and o200k_base, as tiktoken writes them. */
const char *const TOK_PATTERN_GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const TOK_PATTERN_CL100K = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                       "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const TOK_PATTERN_O200K =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const unsigned char SPACE_MARK[3] = {0xe2, 0x96, 0x81}; /* U+2581 "▁" */

/* ---- building ---- */

amod_tokenizer *tok_new(const char *source, amod_error *err) {
    amod_tokenizer *t = amod_zalloc(sizeof *t, err);
    if (!t) return NULL;
    snprintf(t->source, sizeof t->source, "%s", source);
    t->unk = -1, t->bos = -1, t->eos = -1;
    for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    return t;
}

int tok_reserve(amod_tokenizer *t, size_t tokens, size_t key_bytes, amod_error *err) {
    if (t->vkeys) return amod_fail(err, "%s: the vocabulary was read twice", t->source);
    if (!(t->vkeys = amod_alloc(key_bytes + 1, err))) return -1;
    t->vkeys_cap = key_bytes + 1;
    return bytes_map_init(&t->vocab, tokens, err);
}

static int ensure_id(amod_tokenizer *t, int32_t id, amod_error *err) {
    if (id < 0 || id >= TOK_MAX_ID)
        return amod_fail(err, "%s: token id %d is outside 0..%d", t->source, id, TOK_MAX_ID - 1);
    if (id < t->n_vocab) return 0;
    const size_t want = (size_t)id + 1;
    if (want > t->id_cap) { /* grow by doubling; new slots start empty */
        size_t cap = t->id_cap ? t->id_cap : 1024;
        while (cap < want) cap *= 2;
        size_t *off = realloc(t->tok_off, cap * sizeof *off);
        if (off) t->tok_off = off;
        uint32_t *len = off ? realloc(t->tok_len, cap * sizeof *len) : NULL;
        if (len) t->tok_len = len;
        unsigned char *present = len ? realloc(t->present, cap) : NULL;
        if (!present) return amod_fail_code(err, AMOD_ERR_NOMEM, "%s: out of memory for %zu tokens", t->source, want);
        t->present = present;
        for (size_t i = t->id_cap; i < cap; i++) t->present[i] = 0, t->tok_len[i] = 0, t->tok_off[i] = 0;
        t->id_cap = cap;
    }
    t->n_vocab = (int)want;
    return 0;
}

int tok_set_token(amod_tokenizer *t, int32_t id, const void *bytes, size_t len, amod_error *err) {
    if (ensure_id(t, id, err)) return -1;
    if (t->present[id]) return amod_fail(err, "%s: token id %d appears twice", t->source, id);
    if (t->blob_len + len > t->blob_cap) {
        size_t cap = t->blob_cap ? 2 * t->blob_cap : 1u << 16;
        while (cap < t->blob_len + len) cap *= 2;
        unsigned char *b = realloc(t->blob, cap);
        if (!b) return amod_fail_code(err, AMOD_ERR_NOMEM, "%s: out of memory for the vocabulary", t->source);
        t->blob = b, t->blob_cap = cap;
    }
    if (len) memcpy(t->blob + t->blob_len, bytes, len); /* an empty token may come before any blob */
    t->tok_off[id] = t->blob_len, t->tok_len[id] = (uint32_t)len, t->present[id] = 1;
    t->blob_len += len;
    return 0;
}

int tok_add_vocab(amod_tokenizer *t, const void *key, size_t len, int32_t id, amod_error *err) {
    if (t->vkeys_len + len > t->vkeys_cap || t->vocab.n + 1 > t->vocab.cap / 2)
        return amod_fail(err, "%s: more vocabulary than the file's size allows", t->source);
    unsigned char *k = t->vkeys + t->vkeys_len;
    memcpy(k, key, len);
    const int32_t old = bytes_map_put(&t->vocab, k, len, id);
    if (old >= 0)
        return amod_fail(err, "%s: duplicate token: ids %d and %d have the same bytes", t->source, old, id);
    t->vkeys_len += len;
    return 0;
}

int tok_add_special(amod_tokenizer *t, const char *text, size_t len, int32_t id, amod_error *err) {
    if (len == 0) return amod_fail(err, "%s: an added token (id %d) is empty", t->source, id);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == len && !memcmp(t->added[i].text, text, len)) {
            if (t->added[i].id == id) return 0;
            return amod_fail(err, "%s: added token '%.*s' has two ids (%d and %d)", t->source, (int)len, text,
                             t->added[i].id, id);
        }
    tok_added *a = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *a);
    unsigned char *copy = a ? malloc(len) : NULL;
    if (a) t->added = a;
    if (!copy) return amod_fail_code(err, AMOD_ERR_NOMEM, "%s: out of memory", t->source);
    memcpy(copy, text, len);
    t->added[t->n_added++] = (tok_added){copy, len, id};
    return 0;
}

int tok_set_pattern(amod_tokenizer *t, const char *pattern, amod_error *err) {
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return amod_fail(err, "%s: the pre-tokenizer pattern does not compile at offset %zu: %s", t->source,
                         (size_t)at, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT support, pcre2_match interprets */
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        pcre2_code_free(re);
        return amod_fail_code(err, AMOD_ERR_NOMEM, "%s: out of memory", t->source);
    }
    if (t->pattern) pcre2_code_free(t->pattern), pcre2_match_data_free(t->match);
    t->pattern = re, t->match = md;
    return 0;
}

int32_t tok_added_id(const amod_tokenizer *t, const char *text) {
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == strlen(text) && !memcmp(t->added[i].text, text, t->added[i].len)) return t->added[i].id;
    return -1;
}

int tok_finish(amod_tokenizer *t, amod_error *err) {
    if (t->n_vocab == 0) return amod_fail(err, "%s: the vocabulary is empty", t->source);
    if (t->kind == TOK_BYTE_LEVEL) {
        for (int b = 0; b < 256; b++) {
            const unsigned char c = (unsigned char)b;
            if ((t->byte_token[b] = bytes_map_get(&t->vocab, &c, 1)) < 0)
                return amod_fail(err, "%s: the vocabulary has no token for byte 0x%02x (not a byte-level BPE vocabulary)",
                                 t->source, b);
        }
    } else if (t->byte_fallback) {
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            if ((t->byte_token[b] = bytes_map_get(&t->vocab, (const unsigned char *)name, 6)) < 0)
                return amod_fail(err, "%s: byte_fallback is set but the vocabulary has no token %s", t->source, name);
        }
    }
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id >= t->n_vocab || !t->present[t->added[i].id])
            return amod_fail(err, "%s: added token '%.*s' has id %d, which is not in the vocabulary", t->source,
                             (int)t->added[i].len, (const char *)t->added[i].text, t->added[i].id);
    static const char *const eos_names[] = {"<|endoftext|>", "</s>", "<|end_of_text|>", NULL};
    static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", NULL};
    for (int i = 0; eos_names[i] && t->eos < 0; i++) t->eos = tok_added_id(t, eos_names[i]);
    for (int i = 0; bos_names[i] && t->bos < 0; i++) t->bos = tok_added_id(t, bos_names[i]);
    if (t->add_bos && t->bos < 0) return amod_fail(err, "%s: the post-processor adds a BOS token it does not define", t->source);
    if (t->kind == TOK_SENTENCEPIECE) { /* can words encode apart? (see sp_words) */
        t->sp_words = 1;
        for (size_t i = 0; i < t->vocab.cap && t->sp_words; i++) {
            const unsigned char *key = t->vocab.key[i];
            for (uint32_t j = 1; key && j + 3 <= t->vocab.len[i] && t->sp_words; j++)
                if (!memcmp(key + j, SPACE_MARK, 3) && !(j >= 3 && !memcmp(key + j - 3, SPACE_MARK, 3)))
                    t->sp_words = 0;
        }
    }
    int n_real = 0;
    for (int i = 0; i < t->n_vocab; i++) n_real += t->present[i];
    snprintf(t->desc, sizeof t->desc, "%s BPE (%s), %d tokens", t->kind == TOK_BYTE_LEVEL ? "byte-level" : "SentencePiece-style",
             t->source, n_real);
    return 0;
}

/* ---- loading ---- */

static int is_file(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The file beside path named name. */
static void sibling(char *out, size_t n, const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(out, n, "%.*s/%s", (int)(slash - path), path, name);
    else snprintf(out, n, "%s", name);
}

static int find_tiktoken(const char *dir, char *out, size_t n) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)))
        if (ends_with(e->d_name, ".tiktoken")) {
            snprintf(out, n, "%s/%s", dir, e->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

/* The file to read for path (a file, or a directory holding one); 0 when there is none. */
static int resolve(const char *path, char *file, size_t n) {
    struct stat st;
    if (stat(path, &st)) return 0;
    if (!S_ISDIR(st.st_mode)) {
        snprintf(file, n, "%s", path);
        return 1;
    }
    static const char *const names[] = {"tokenizer.json", "vocab.json", "encoder.json", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(file, n, "%s/%s", path, names[i]);
        if (is_file(file)) return 1;
    }
    return find_tiktoken(path, file, n);
}

int amod_tokenizer_present(const char *dir) {
    char file[2048];
    return resolve(dir, file, sizeof file);
}

amod_tokenizer *amod_tokenizer_load(const char *path, amod_error *err) {
    char file[2048], other[2048];
    if (!resolve(path, file, sizeof file)) {
        struct stat st;
        if (stat(path, &st)) amod_fail_code(err, AMOD_ERR_IO, "%s: cannot open", path);
        else amod_fail(err, "%s: no tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe or *.tiktoken", path);
        return NULL;
    }
    amod_tokenizer *t = tok_new(file, err);
    if (!t) return NULL;
    const char *name = base_name(file);
    int rc;
    if (!strcmp(name, "vocab.json")) {
        sibling(other, sizeof other, file, "merges.txt");
        snprintf(t->companion, sizeof t->companion, "%s", other);
        rc = tok_read_gpt2_files(t, file, other, err);
    } else if (!strcmp(name, "encoder.json")) {
        sibling(other, sizeof other, file, "vocab.bpe");
        snprintf(t->companion, sizeof t->companion, "%s", other);
        rc = tok_read_gpt2_files(t, file, other, err);
    } else if (ends_with(name, ".tiktoken")) {
        rc = tok_read_tiktoken(t, file, err);
    } else if (ends_with(name, ".json")) {
        rc = tok_read_hf_json(t, file, err);
    } else {
        rc = amod_fail(err, "%s: not a tokenizer file (tokenizer.json, vocab.json, encoder.json or *.tiktoken)", file);
    }
    if (!rc) rc = tok_finish(t, err);
    if (rc) {
        amod_tokenizer_free(t);
        return NULL;
    }
    return t;
}

static int copy_into(const char *file, const char *dir, amod_error *err) {
    char to[4200];
    snprintf(to, sizeof to, "%s/%s", dir, base_name(file));
    if (!strcmp(to, file)) return 0; /* already there */
    size_t n;
    unsigned char *data = amod_read_file(file, &n, err);
    if (!data) return -1;
    int rc = amod_write_file_atomic(to, data, n, err);
    free(data);
    return rc;
}

int amod_tokenizer_save(const amod_tokenizer *t, const char *dir, amod_error *err) {
    if (copy_into(t->source, dir, err)) return -1;
    return *t->companion ? copy_into(t->companion, dir, err) : 0;
}

void amod_tokenizer_free(amod_tokenizer *t) {
    if (!t) return;
    free(t->blob), free(t->tok_off), free(t->tok_len), free(t->present), free(t->vkeys);
    bytes_map_free(&t->vocab);
    pair_map_free(&t->merges);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].text);
    free(t->added);
    if (t->pattern) pcre2_code_free(t->pattern);
    if (t->match) pcre2_match_data_free(t->match);
    word_cache_free(&t->cache);
    free(t);
}

int amod_tokenizer_vocab_size(const amod_tokenizer *t) { return t->n_vocab; }
const char *amod_tokenizer_describe(const amod_tokenizer *t) { return t->desc; }
int64_t amod_tokenizer_eos(const amod_tokenizer *t) { return t->eos; }
int64_t amod_tokenizer_bos(const amod_tokenizer *t) { return t->bos; }

/* ---- encoding ---- */

/* Byte-level text without added tokens: the pattern's matches are the pieces; bytes no match
 * covers (invalid UTF-8) are pieces of their own, so every byte is encoded. */
static int encode_pieces(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err) {
    if (!t->pattern) return bpe_encode_piece(t, s, n, out, err);
    size_t at = 0;
    while (at < n) {
        int rc = pcre2_match(t->pattern, s, n, at, 0, t->match, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) return bpe_encode_piece(t, s + at, n - at, out, err);
        if (rc < 0) return amod_fail(err, "%s: pattern matching failed (PCRE2 error %d)", t->source, rc);
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->match);
        size_t start = ov[0], end = ov[1];
        if (start > at && bpe_encode_piece(t, s + at, start - at, out, err)) return -1;
        if (end == start) { /* an empty match: take one byte as its own piece to move on */
            end = start + 1;
        }
        if (bpe_encode_piece(t, s + start, end - start, out, err)) return -1;
        at = end;
    }
    return 0;
}

/* ByteLevel(add_prefix_space): text that does not start with a space is encoded as " " + text. */
static int encode_pattern(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err) {
    if (!t->byte_prefix_space || s[0] == ' ') return encode_pieces(t, s, n, out, err);
    unsigned char *p = amod_alloc(n + 1, err);
    if (!p) return -1;
    p[0] = ' ';
    memcpy(p + 1, s, n);
    int rc = encode_pieces(t, p, n + 1, out, err);
    free(p);
    return rc;
}

/* SentencePiece text: spaces become "▁", one goes in front, and the whole is one piece, or
 * each part starting at a "▁" (Metaspace's split), or each word: a run of "▁" and what follows
 * it, when no token could span two words (sp_words: the same ids, but short pieces that the
 * cache serves). */
static int encode_sentencepiece(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err) {
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += s[i] == ' ';
    unsigned char *norm = amod_alloc(n + 2 * spaces + 3 + 1, err);
    if (!norm) return -1;
    size_t k = 0;
    if (t->sp_prefix) memcpy(norm, SPACE_MARK, 3), k = 3;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') memcpy(norm + k, SPACE_MARK, 3), k += 3;
        else norm[k++] = s[i];
    }
    int rc = 0;
    if (!t->sp_split && !t->sp_words) {
        rc = bpe_encode_piece(t, norm, k, out, err);
    } else {
        size_t start = 0;
        for (size_t i = 1; !rc && i + 3 <= k; i++) {
            if (memcmp(norm + i, SPACE_MARK, 3)) continue;
            const int after_mark = i >= 3 && !memcmp(norm + i - 3, SPACE_MARK, 3);
            if (t->sp_split || !after_mark) {
                rc = bpe_encode_piece(t, norm + start, i - start, out, err);
                start = i;
            }
            i += 2;
        }
        if (!rc) rc = bpe_encode_piece(t, norm + start, k - start, out, err);
    }
    free(norm);
    return rc;
}

static int encode_plain(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err) {
    if (n == 0) return 0;
    return t->kind == TOK_BYTE_LEVEL ? encode_pattern(t, s, n, out, err) : encode_sentencepiece(t, s, n, out, err);
}

/* The earliest added token in s[at..n) (the longest where several start there): its index,
 * -1 when none; *pos its offset. next[i] remembers where token i occurs next at or after a
 * previous at (n: nowhere; SIZE_MAX: not searched yet), so each token's text is searched once
 * per occurrence, not once per piece of text between added tokens. */
static int next_added(const amod_tokenizer *t, const unsigned char *s, size_t n, size_t at, size_t *next, size_t *pos) {
    int best = -1;
    for (int i = 0; i < t->n_added; i++) {
        const tok_added *a = &t->added[i];
        if (next[i] == SIZE_MAX || next[i] < at) {
            const unsigned char *p = memmem(s + at, n - at, a->text, a->len);
            next[i] = p ? (size_t)(p - s) : n;
        }
        if (next[i] == n) continue;
        if (best < 0 || next[i] < next[best] || (next[i] == next[best] && a->len > t->added[best].len)) best = i;
    }
    *pos = best >= 0 ? next[best] : n;
    return best;
}

int amod_tokenizer_encode(amod_tokenizer *t, const char *text, size_t len, int special, int add_bos, int64_t **ids,
                          size_t *n, amod_error *err) {
    id_list out = {0};
    const unsigned char *s = (const unsigned char *)text;
    int rc = add_bos && t->add_bos ? id_list_push(&out, (int32_t)t->bos, err) : 0;
    const int look = special && t->n_added;
    size_t *next = look ? amod_alloc((size_t)t->n_added * sizeof *next, err) : NULL;
    if (look && !next) rc = -1;
    for (int i = 0; next && i < t->n_added; i++) next[i] = SIZE_MAX;
    size_t at = 0;
    while (!rc && at < len) {
        size_t pos = len;
        const int a = look ? next_added(t, s, len, at, next, &pos) : -1;
        rc = encode_plain(t, s + at, pos - at, &out, err);
        if (a < 0) break;
        if (!rc) rc = id_list_push(&out, t->added[a].id, err);
        at = pos + t->added[a].len;
    }
    free(next);
    if (!rc) {
        *ids = malloc((out.n ? out.n : 1) * sizeof **ids);
        if (!*ids) rc = amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory for %zu token ids", out.n);
        for (size_t i = 0; !rc && i < out.n; i++) (*ids)[i] = out.v[i];
        *n = out.n;
    }
    free(out.v);
    return rc;
}

/* ---- decoding ---- */

const char *amod_tokenizer_token(const amod_tokenizer *t, int64_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab || !t->present[id]) return NULL;
    *len = t->tok_len[id];
    return t->blob ? (const char *)t->blob + t->tok_off[id] : ""; /* only empty tokens so far */
}

int amod_tokenizer_decode(const amod_tokenizer *t, const int64_t *ids, size_t n, char **text, size_t *len,
                          amod_error *err) {
    size_t total = 0, len_i;
    for (size_t i = 0; i < n; i++) {
        if (!amod_tokenizer_token(t, ids[i], &len_i))
            return amod_fail(err, "token id %lld (at %zu) is not in the vocabulary of %s (0..%d)", (long long)ids[i], i,
                             t->source, t->n_vocab - 1);
        total += len_i;
    }
    char *s = amod_alloc(total + 1, err);
    if (!s) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *bytes = amod_tokenizer_token(t, ids[i], &len_i);
        memcpy(s + k, bytes, len_i);
        k += len_i;
    }
    size_t skip = t->kind == TOK_SENTENCEPIECE && t->sp_prefix && k > 0 && s[0] == ' '; /* decoder Strip(start = 1) */
    memmove(s, s + skip, k - skip);
    s[k - skip] = 0;
    *text = s, *len = k - skip;
    return 0;
}
