/* GPT-2's own files (OpenAI's encoder.json + vocab.bpe, Hugging Face's vocab.json +
 * merges.txt: the same content) and tiktoken's rank files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "text/tokenizer_internal.h"

int tok_json_id(const cJSON *e, int32_t *id) {
    if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble < TOK_MAX_ID)) return -1;
    *id = (int32_t)e->valuedouble;
    return *id == e->valuedouble ? 0 : -1;
}

/* vocab.json: {"stand-in string": id}; every token becomes its bytes. */
int tok_read_byte_level_vocab(amod_tokenizer *t, const char *path, const cJSON *vocab, size_t key_bytes,
                              amod_error *err) {
    if (tok_reserve(t, (size_t)cJSON_GetArraySize(vocab), key_bytes, err)) return -1;
    unsigned char *raw = amod_alloc(key_bytes + 1, err);
    if (!raw) return -1;
    int rc = 0;
    for (const cJSON *e = vocab->child; e && !rc; e = e->next) {
        int32_t id;
        if (tok_json_id(e, &id)) {
            rc = amod_fail(err, "%s: the id of token '%s' is not an integer in 0..%d", path, e->string, TOK_MAX_ID - 1);
            break;
        }
        const long n = byte_level_decode((const unsigned char *)e->string, strlen(e->string), raw);
        if (n < 0) {
            rc = amod_fail(err, "%s: token '%s' (id %d) is not a byte-level token (a character that stands for no byte)",
                           path, e->string, id);
            break;
        }
        rc = tok_set_token(t, id, raw, (size_t)n, err) || tok_add_vocab(t, raw, (size_t)n, id, err) ? -1 : 0;
    }
    free(raw);
    return rc;
}

int tok_split_merge(const char *s, size_t n, size_t *na, const char **b, size_t *nb) {
    const char *sp = memchr(s, ' ', n);
    if (!sp || sp == s || sp + 1 == s + n || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) return -1;
    *na = (size_t)(sp - s), *b = sp + 1, *nb = (size_t)(s + n - sp - 1);
    return 0;
}

int tok_add_merge_line(amod_tokenizer *t, const char *path, long line, const char *a, size_t na, const char *b,
                       size_t nb, int32_t rank, amod_error *err) {
    unsigned char buf[1024];
    long la, lb;
    if (na + nb > sizeof buf) return amod_fail(err, "%s: line %ld: the merge is too long", path, line);
    if (t->kind == TOK_BYTE_LEVEL) {
        la = byte_level_decode((const unsigned char *)a, na, buf);
        lb = la < 0 ? -1 : byte_level_decode((const unsigned char *)b, nb, buf + la);
    } else {
        memcpy(buf, a, na), memcpy(buf + na, b, nb);
        la = (long)na, lb = (long)nb;
    }
    if (la < 0 || lb < 0) return amod_fail(err, "%s: line %ld: '%.*s %.*s' is not a byte-level merge", path, line,
                                           (int)na, a, (int)nb, b);
    const int32_t left = bytes_map_get(&t->vocab, buf, (size_t)la), right = bytes_map_get(&t->vocab, buf + la, (size_t)lb),
                  merged = bytes_map_get(&t->vocab, buf, (size_t)(la + lb));
    if (left < 0 || right < 0 || merged < 0)
        return amod_fail(err, "%s: line %ld: the merge '%.*s %.*s' names a token that is not in the vocabulary", path,
                         line, (int)na, a, (int)nb, b);
    const int32_t old = pair_map_put(&t->merges, left, right, rank, merged);
    if (old >= 0)
        return amod_fail(err, "%s: line %ld: the merge '%.*s %.*s' appears twice (first as merge %d)", path, line,
                         (int)na, a, (int)nb, b, old);
    return 0;
}

/* Lines of a text file: the next one from *at (its length in *n, without "\n" or "\r\n"). */
static const char *next_line(const char *text, size_t size, size_t *at, size_t *n) {
    const char *s = text + *at, *nl = memchr(s, '\n', size - *at);
    *n = nl ? (size_t)(nl - s) : size - *at;
    *at += *n + 1;
    if (*n && s[*n - 1] == '\r') --*n;
    return s;
}

static long count_lines(const char *text, size_t size) {
    long lines = 1;
    for (size_t i = 0; i < size; i++) lines += text[i] == '\n';
    return lines;
}

int tok_read_gpt2_files(amod_tokenizer *t, const char *vocab_path, const char *merges_path, amod_error *err) {
    t->kind = TOK_BYTE_LEVEL, t->rank_mode = RANK_BY_MERGES;
    size_t vsize;
    unsigned char *vtext = amod_read_file(vocab_path, &vsize, err);
    if (!vtext) return -1;
    cJSON *vocab = amod_json_parse_object(vocab_path, (const char *)vtext, vsize, err);
    free(vtext);
    if (!vocab) return -1;
    int rc = tok_read_byte_level_vocab(t, vocab_path, vocab, vsize, err);
    cJSON_Delete(vocab);
    if (rc) return -1;
    size_t msize;
    char *m = (char *)amod_read_file(merges_path, &msize, err);
    if (!m) return -1;
    if (pair_map_init(&t->merges, (size_t)count_lines(m, msize), err)) {
        free(m);
        return -1;
    }
    int32_t rank = 0;
    long line = 0;
    for (size_t at = 0, n; at < msize && !rc;) {
        const char *s = next_line(m, msize, &at, &n);
        line++;
        if (n == 0 || (line == 1 && n >= 8 && !memcmp(s, "#version", 8))) continue;
        size_t na, nb;
        const char *b;
        if (tok_split_merge(s, n, &na, &b, &nb)) {
            rc = amod_fail(err, "%s: line %ld is not a merge 'a b'", merges_path, line);
            break;
        }
        rc = tok_add_merge_line(t, merges_path, line, s, na, b, nb, rank++, err);
    }
    free(m);
    if (rc) return -1;
    if (rank == 0) return amod_fail(err, "%s: no merges", merges_path);
    const char *eot = "<|endoftext|>";
    const int32_t id = bytes_map_get(&t->vocab, (const unsigned char *)eot, strlen(eot));
    if (id >= 0 && tok_add_special(t, eot, strlen(eot), id, err)) return -1;
    if (tok_set_pattern(t, TOK_PATTERN_GPT2, err)) return -1;
    return 0;
}

/* ---- tiktoken ---- */

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with padding; the decoded length, -1 when s is not base64. */
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4) return -1;
    long k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            const unsigned char c = (unsigned char)s[i + j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0, pad++;
            } else if (pad || (v[j] = b64_value(c)) < 0) {
                return -1;
            }
        }
        const unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[k++] = (unsigned char)(w >> 16);
        if (pad < 2) out[k++] = (unsigned char)(w >> 8);
        if (pad < 1) out[k++] = (unsigned char)w;
    }
    return k;
}

typedef struct {
    const char *name, *pattern;
    struct {
        const char *text;
        int32_t id;
    } special[9];
} tiktoken_encoding;

static const tiktoken_encoding *known_encoding(const char *file) {
    static const tiktoken_encoding known[] = {
        {"r50k_base", NULL, {{"<|endoftext|>", 50256}}},
        {"p50k_base", NULL, {{"<|endoftext|>", 50256}}},
        {"cl100k_base",
         NULL,
         {{"<|endoftext|>", 100257},
          {"<|fim_prefix|>", 100258},
          {"<|fim_middle|>", 100259},
          {"<|fim_suffix|>", 100260},
          {"<|im_start|>", 100264},
          {"<|im_end|>", 100265},
          {"<|im_sep|>", 100266},
          {"<|endofprompt|>", 100276}}},
        {"o200k_base", NULL, {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
    };
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strncmp(base, known[i].name, strlen(known[i].name))) return &known[i];
    return NULL;
}

static const char *pattern_of(const tiktoken_encoding *e) {
    if (!strcmp(e->name, "cl100k_base")) return TOK_PATTERN_CL100K;
    if (!strcmp(e->name, "o200k_base")) return TOK_PATTERN_O200K;
    return TOK_PATTERN_GPT2;
}

int tok_read_tiktoken(amod_tokenizer *t, const char *path, amod_error *err) {
    if (!known_encoding(path))
        return amod_fail(err, "%s: unknown tiktoken encoding (the file name must start with r50k_base, p50k_base, "
                              "cl100k_base or o200k_base, which fix its pattern and special tokens)", path);
    size_t size;
    char *text = (char *)amod_read_file(path, &size, err);
    if (!text) return -1;
    int rc = tok_parse_tiktoken(t, path, text, size, err);
    free(text);
    return rc;
}

int tok_parse_tiktoken(amod_tokenizer *t, const char *path, const char *text, size_t size, amod_error *err) {
    t->kind = TOK_BYTE_LEVEL, t->rank_mode = RANK_BY_TOKEN;
    const tiktoken_encoding *enc = known_encoding(path);
    if (!enc) return amod_fail(err, "%s: unknown tiktoken encoding", path);
    int rc = tok_reserve(t, (size_t)count_lines(text, size), size, err);
    unsigned char *raw = rc ? NULL : amod_alloc(size + 1, err);
    if (!raw) rc = -1;
    long line = 0;
    for (size_t at = 0, n; at < size && !rc;) {
        const char *s = next_line(text, size, &at, &n);
        line++;
        if (n == 0) continue;
        const char *sp = memchr(s, ' ', n);
        long rank = sp && sp + 1 < s + n ? 0 : -1; /* digits up to the line's end (no terminator to strtol to) */
        for (const char *d = sp ? sp + 1 : s + n; d < s + n && rank >= 0; d++)
            rank = *d >= '0' && *d <= '9' && rank < TOK_MAX_ID ? rank * 10 + (*d - '0') : -1;
        if (rank < 0 || rank >= TOK_MAX_ID) {
            rc = amod_fail(err, "%s: line %ld is not 'base64-token rank'", path, line);
            break;
        }
        const long k = b64_decode(s, (size_t)(sp - s), raw);
        if (k <= 0) {
            rc = amod_fail(err, "%s: line %ld: the token is not base64", path, line);
            break;
        }
        rc = tok_set_token(t, (int32_t)rank, raw, (size_t)k, err) || tok_add_vocab(t, raw, (size_t)k, (int32_t)rank, err) ? -1 : 0;
    }
    free(raw);
    if (rc) return -1;
    for (int i = 0; i < 9 && enc->special[i].text; i++) {
        const char *s = enc->special[i].text;
        if (tok_set_token(t, enc->special[i].id, s, strlen(s), err) ||
            tok_add_special(t, s, strlen(s), enc->special[i].id, err))
            return -1;
    }
    return tok_set_pattern(t, pattern_of(enc), err);
}
