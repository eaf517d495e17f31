/* Fuzz targets for the tokenizers: tokenizer.json and tiktoken rank files from memory, and the
 * encoder on arbitrary bytes. A tokenizer the reader accepts must encode text and decode its
 * ids back to exactly that text (byte-level models can encode every byte string). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "targets.h"
#include "text/tokenizer_internal.h"

/* Encodes text with t, decodes, and aborts unless the bytes come back (byte-level only:
 * SentencePiece turns a literal "▁" into a space, by design). */
static void round_trip(amod_tokenizer *t, const char *text, size_t n) {
    int64_t *ids;
    size_t k;
    amod_error e;
    if (amod_tokenizer_encode(t, text, n, 1, 0, &ids, &k, &e)) {
        if (t->kind == TOK_BYTE_LEVEL && !strstr(e.msg, "out of memory"))
            amod_fuzz_broken("a byte-level tokenizer refused to encode: %s", e.msg);
        return;
    }
    char *back;
    size_t bl;
    if (amod_tokenizer_decode(t, ids, k, &back, &bl, &e)) amod_fuzz_broken("its own ids do not decode: %s", e.msg);
    /* ByteLevel(add_prefix_space) adds a space that decoding keeps, as Hugging Face's does */
    if (t->kind == TOK_BYTE_LEVEL && !t->byte_prefix_space && (bl != n || memcmp(back, text, n)))
        amod_fuzz_broken("decode(encode(x)) != x for %zu bytes", n);
    free(back);
    free(ids);
}

static int accepted(amod_tokenizer *t, const uint8_t *data, size_t size, amod_error *err) {
    if (tok_finish(t, err)) return -1;
    static const char sample[] = "Hello, world! It's 2024 \xf0\x9f\x99\x82 \xff\xfe <|endoftext|>  \n\n";
    round_trip(t, sample, sizeof sample - 1);
    round_trip(t, (const char *)data, size < 256 ? size : 256);
    return 0;
}

int amod_fuzz_tokenizer_json(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    amod_tokenizer *t = tok_new(name, err);
    if (!t) return -1;
    int rc = tok_parse_hf_json(t, name, (const char *)data, size, err);
    if (!rc) rc = accepted(t, data, size, err);
    amod_tokenizer_free(t);
    return rc;
}

int amod_fuzz_tiktoken(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    char path[600];
    snprintf(path, sizeof path, "%s/cl100k_base.tiktoken", name); /* the name fixes pattern and specials */
    amod_tokenizer *t = tok_new(path, err);
    if (!t) return -1;
    int rc = tok_parse_tiktoken(t, path, (const char *)data, size, err);
    if (!rc) rc = accepted(t, data, size, err);
    amod_tokenizer_free(t);
    if (rc) amod_fail_prefix(err, name);
    return rc;
}

/* A fixed byte-level vocabulary: the 256 bytes, and pairs of the letters "etaoin s" as tokens. */
static amod_tokenizer *fixed_tokenizer(void) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    int rank = 0;
    unsigned char tok[3];
    for (int len = 1; len <= 2; len++) {
        const char *letters = "etaoin s";
        const int count = len == 1 ? 256 : 64;
        for (int i = 0; i < count; i++) {
            if (len == 1) tok[0] = (unsigned char)i;
            else tok[0] = (unsigned char)letters[i / 8], tok[1] = (unsigned char)letters[i % 8];
            unsigned w = (unsigned)tok[0] << 16 | (len == 2 ? (unsigned)tok[1] << 8 : 0);
            char enc[5] = {b64[w >> 18 & 63], b64[w >> 12 & 63], len == 2 ? b64[w >> 6 & 63] : '=', '=', 0};
            n += (size_t)snprintf(text + n, cap - n, "%s %d\n", enc, rank++);
        }
    }
    amod_error e;
    amod_tokenizer *t = tok_new("fixed/cl100k_base.tiktoken", &e);
    if (!t || tok_parse_tiktoken(t, "fixed/cl100k_base.tiktoken", text, n, &e) || tok_finish(t, &e))
        amod_fuzz_broken("the fixed tokenizer does not load: %s", e.msg);
    free(text);
    return t;
}

int amod_fuzz_encode(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    (void)name, (void)err;
    static amod_tokenizer *t;
    if (!t) t = fixed_tokenizer(); /* kept for the process: it is the fuzzer's fixture */
    round_trip(t, (const char *)data, size);
    return 0;
}
