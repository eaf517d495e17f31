/* Tokenizers of real language-model checkpoints: text to token ids and back.
 *
 * Byte-level BPE as GPT-2 defines it (OpenAI's encoder.json + vocab.bpe, Hugging Face's
 * vocab.json + merges.txt), tiktoken's rank files (r50k_base, p50k_base, cl100k_base,
 * o200k_base .tiktoken), and Hugging Face tokenizer.json for BPE models: byte-level with the
 * GPT-2 or a Split pattern (Llama 3, cl100k style), and SentencePiece-style BPE with the "▁"
 * space marker and byte fallback (Llama 2, TinyLlama, Mistral). Pre-tokenisation patterns run
 * on PCRE2 with Unicode properties. Anything else (WordPiece, Unigram, an unknown normaliser,
 * pre-tokeniser or decoder) is refused with a message naming the file and the component.
 *
 * A tokenizer is immutable once loaded except for its cache of encoded words: encode on one
 * thread at a time per tokenizer (give each thread its own, or lock). */
#ifndef AMOD_TOKENIZER_H
#define AMOD_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "amod/error.h"
#include "amod/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct amod_tokenizer amod_tokenizer;

/* path: a tokenizer.json, vocab.json (merges.txt beside it), encoder.json (vocab.bpe beside
 * it) or *.tiktoken file, or a directory holding one of them (tried in that order). */
AMOD_API amod_tokenizer *amod_tokenizer_load(const char *path, amod_error *err);
/* 1 when dir holds a tokenizer amod_tokenizer_load would read (model directories without one
 * stay byte-level). */
AMOD_API int amod_tokenizer_present(const char *dir);
AMOD_API void amod_tokenizer_free(amod_tokenizer *t);
/* Copies the file(s) it was read from into dir (a model directory), under their own names,
 * each written atomically. */
AMOD_API int amod_tokenizer_save(const amod_tokenizer *t, const char *dir, amod_error *err);

/* Ids run 0 .. vocab_size - 1 (added and special tokens included). */
AMOD_API int amod_tokenizer_vocab_size(const amod_tokenizer *t);
/* "byte-level BPE (tokenizer.json), 50257 tokens", for logs. */
AMOD_API const char *amod_tokenizer_describe(const amod_tokenizer *t);
/* The end-of-text / end-of-sequence and beginning-of-sequence tokens; -1 when it has none. */
AMOD_API int64_t amod_tokenizer_eos(const amod_tokenizer *t);
AMOD_API int64_t amod_tokenizer_bos(const amod_tokenizer *t);

/* Text (any bytes; invalid UTF-8 is encoded byte by byte where the vocabulary allows) to ids.
 * *ids is allocated (free it) and holds *n ids. With special != 0 the added and special
 * tokens' text ("<|endoftext|>") becomes their ids, as Hugging Face's encode does; with 0 it is
 * encoded as plain text, as tiktoken's encode_ordinary does. The tokenizer's own prefix
 * (Llama's <s>, from a post_processor) is added only with add_bos. */
AMOD_API int amod_tokenizer_encode(amod_tokenizer *t, const char *text, size_t len, int special, int add_bos,
                                   int64_t **ids, size_t *n, amod_error *err);
/* Ids to the exact bytes they stand for (a partial UTF-8 sequence stays as its bytes: the
 * reference libraries' decode with errors="replace" would show U+FFFD). *text is allocated,
 * NUL-terminated, *len bytes long. An id outside the vocabulary is refused. */
AMOD_API int amod_tokenizer_decode(const amod_tokenizer *t, const int64_t *ids, size_t n, char **text, size_t *len,
                                   amod_error *err);
/* The bytes of one token (decoding a stream one id at a time): *len set, NULL for an id
 * outside the vocabulary. SentencePiece's leading-space strip applies only to whole decodes. */
AMOD_API const char *amod_tokenizer_token(const amod_tokenizer *t, int64_t id, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
