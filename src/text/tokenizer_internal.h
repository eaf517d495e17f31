/* The tokenizer's state, shared by its readers (tokenizer_files.c, tokenizer_json.c), the BPE
 * merge loop (bpe.c) and encode/decode (tokenizer.c). */
#ifndef AMOD_TEXT_TOKENIZER_INTERNAL_H
#define AMOD_TEXT_TOKENIZER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "amod/tokenizer.h"
#include "text/token_map.h"

typedef enum {
    TOK_BYTE_LEVEL,   /* GPT-2's byte-level BPE: every byte is a token; pieces from a pattern */
    TOK_SENTENCEPIECE /* "▁" for spaces, characters as symbols, <0xXX> byte fallback */
} tok_kind;

typedef enum {
    RANK_BY_MERGES, /* merges.txt / tokenizer.json: the rank of a pair is its line */
    RANK_BY_TOKEN   /* tiktoken: the rank of a pair is the rank of the token it makes */
} tok_rank_mode;

typedef struct {
    unsigned char *text;
    size_t len;
    int32_t id;
} tok_added;

/* Words already encoded (repeated words dominate text): word bytes -> a run of ids. */
typedef struct {
    bytes_map map;       /* word -> index into runs */
    unsigned char *keys; /* the words' bytes */
    size_t keys_len, keys_cap;
    int32_t *ids;        /* the runs' ids */
    size_t ids_len, ids_cap;
    uint32_t *run_start, *run_len;
    size_t n_runs;
} word_cache;

struct amod_tokenizer {
    char source[2048];
    char companion[2048];    /* merges.txt / vocab.bpe beside vocab.json / encoder.json, or "" */
    char desc[2200];
    tok_kind kind;
    tok_rank_mode rank_mode;
    int n_vocab;             /* ids 0 .. n_vocab - 1 */
    size_t id_cap;           /* slots allocated in tok_off, tok_len, present */
    /* id -> the bytes it decodes to (SentencePiece: "▁" already a space, <0xXX> its byte) */
    unsigned char *blob;
    size_t blob_len, blob_cap;
    size_t *tok_off;
    uint32_t *tok_len;
    unsigned char *present;  /* 1 for ids the files define */
    /* the BPE vocabulary: what a symbol is matched against (byte-level: raw bytes; SentencePiece:
     * the piece's UTF-8 with "▁"), its own copy of the keys */
    bytes_map vocab;
    unsigned char *vkeys;
    size_t vkeys_len, vkeys_cap;
    pair_map merges;         /* RANK_BY_MERGES */
    int32_t byte_token[256]; /* byte-level: the token of each single byte; SentencePiece: <0xXX> or -1 */
    int byte_fallback, ignore_merges;
    int32_t unk;             /* SentencePiece without byte fallback: the unknown token, or -1 */
    int sp_prefix;           /* SentencePiece: "▁" put in front of the text (and stripped when decoding) */
    int sp_split;            /* Metaspace(split = true): a piece starts at every "▁" */
    int sp_words;            /* no token has "▁" after another character: words ("▁" runs and what
                                follows them) encode apart, exactly as the whole text would */
    int byte_prefix_space;   /* ByteLevel(add_prefix_space): a space in front of text that has none */
    tok_added *added;        /* added and special tokens, matched in text before anything else */
    int n_added;
    int64_t bos, eos;
    int add_bos;             /* the post-processor puts bos in front */
    pcre2_code *pattern;     /* byte-level pre-tokenisation; NULL: the whole text is one piece */
    pcre2_match_data *match;
    word_cache cache;
};

/* Known pre-tokenisation patterns. */
extern const char *const TOK_PATTERN_GPT2;
extern const char *const TOK_PATTERN_CL100K;
extern const char *const TOK_PATTERN_O200K;

/* tokenizer.c: building one */
amod_tokenizer *tok_new(const char *source, amod_error *err);
/* Before tok_add_vocab: room for `tokens` vocabulary entries whose keys total at most
 * key_bytes (the map keeps pointers into that memory, so it is allocated once). */
int tok_reserve(amod_tokenizer *t, size_t tokens, size_t key_bytes, amod_error *err);
/* Sets id's decoded bytes (and marks it present); -1 on a duplicate id or no memory. */
int tok_set_token(amod_tokenizer *t, int32_t id, const void *bytes, size_t len, amod_error *err);
/* Adds the BPE vocabulary entry key -> id; -1 with "duplicate token" when key is there already. */
int tok_add_vocab(amod_tokenizer *t, const void *key, size_t len, int32_t id, amod_error *err);
int tok_add_special(amod_tokenizer *t, const char *text, size_t len, int32_t id, amod_error *err);
int tok_set_pattern(amod_tokenizer *t, const char *pattern, amod_error *err);
/* The id of the added token whose text is text; -1 when there is none. */
int32_t tok_added_id(const amod_tokenizer *t, const char *text);
/* After the readers: checks ids are dense, fills byte_token, sizes the cache. */
int tok_finish(amod_tokenizer *t, amod_error *err);

/* The length of the UTF-8 character at s (n bytes left, n >= 1): 1 to 4, or 0 when the bytes
 * there are not one (a stray continuation byte, an overlong or out-of-range lead, a cut-off
 * sequence). */
static inline size_t tok_utf8_len(const unsigned char *s, size_t n) {
    const unsigned char c = s[0];
    const size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : (c & 0xf0) == 0xe0 ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!k || k > n) return 0;
    for (size_t j = 1; j < k; j++)
        if ((s[j] & 0xc0) != 0x80) return 0;
    return k;
}

/* bpe.c: one piece (a pre-token) to ids, appended to out through the cache */
typedef struct {
    int32_t *v;
    size_t n, cap;
} id_list;
int id_list_push(id_list *l, int32_t id, amod_error *err);
int bpe_encode_piece(amod_tokenizer *t, const unsigned char *s, size_t n, id_list *out, amod_error *err);
void word_cache_free(word_cache *c);

/* tokenizer_files.c and tokenizer_json.c */
/* {"stand-in string": id, ...} (vocab.json, or tokenizer.json's model.vocab): each token as its bytes */
struct cJSON;
/* A JSON token id: an integer in [0, TOK_MAX_ID); 0, or -1 when e is not one. */
#define TOK_MAX_ID (1 << 22)
int tok_json_id(const struct cJSON *e, int32_t *id);
int tok_read_byte_level_vocab(amod_tokenizer *t, const char *path, const struct cJSON *vocab, size_t key_bytes,
                              amod_error *err);
int tok_read_gpt2_files(amod_tokenizer *t, const char *vocab_path, const char *merges_path, amod_error *err);
int tok_read_tiktoken(amod_tokenizer *t, const char *path, amod_error *err);
int tok_read_hf_json(amod_tokenizer *t, const char *path, amod_error *err);
/* The same from memory (path names it; tiktoken's encoding is read off its name). */
int tok_parse_tiktoken(amod_tokenizer *t, const char *path, const char *text, size_t size, amod_error *err);
int tok_parse_hf_json(amod_tokenizer *t, const char *path, const char *text, size_t size, amod_error *err);
/* One merge "a b" (byte-level stand-ins, or SentencePiece pieces): (id a, id b) -> rank and the
 * id of a + b; line names it in messages. */
int tok_add_merge_line(amod_tokenizer *t, const char *path, long line, const char *a, size_t na, const char *b,
                       size_t nb, int32_t rank, amod_error *err);
/* A merge written "a b" (n bytes: one space, something on each side): *na and b, *nb; -1 when
 * s is not one. */
int tok_split_merge(const char *s, size_t n, size_t *na, const char **b, size_t *nb);

/* byte_level.c: GPT-2's printable stand-ins for bytes */
/* The UTF-8 of byte b's stand-in (1 or 2 bytes) into out; returns its length. */
int byte_level_char(unsigned char b, unsigned char out[2]);
/* A vocabulary string of stand-ins back to bytes (into out, at most n); -1 when s holds a
 * character that stands for no byte. */
long byte_level_decode(const unsigned char *s, size_t n, unsigned char *out);

#endif
