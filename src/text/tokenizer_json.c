/* Hugging Face tokenizer.json for BPE models: the model (vocab, merges, byte_fallback,
 * ignore_merges), added tokens, and the normaliser / pre-tokeniser / post-processor / decoder
 * combinations real checkpoints ship (GPT-2, Llama 3: byte-level; Llama 2, TinyLlama,
 * Mistral: SentencePiece-style). Every other component is refused by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "text/tokenizer_internal.h"

static const char *type_of(const cJSON *o) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static int is_true(const cJSON *o, const char *k) { return cJSON_IsTrue(get(o, k)); }

static int str_is(const cJSON *v, const char *s) { return cJSON_IsString(v) && !strcmp(v->valuestring, s); }

/* A list component ("Sequence") as an array of its parts, a single one as an array of one;
 * -1 (with a message naming what) for a Sequence without its list. */
static int parts(const char *path, const char *what, const cJSON *c, const char *key, const cJSON **out, int cap,
                 amod_error *err) {
    if (strcmp(type_of(c), "Sequence")) {
        out[0] = c;
        return 1;
    }
    if (!cJSON_IsArray(get(c, key))) return amod_fail(err, "%s: %s Sequence without a '%s' list", path, what, key);
    int n = 0;
    for (const cJSON *e = get(c, key)->child; e && n < cap; e = e->next) out[n++] = e;
    return n;
}

static int utf8_valid(const unsigned char *s, size_t n) {
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = tok_utf8_len(s + i, n - i))) return 0;
    return 1;
}

static const char SPACE_MARK[] = "\xe2\x96\x81";

/* The pre-tokenizer: byte-level (ByteLevel, alone with its GPT-2 pattern or after a Split with
 * its own), Metaspace, or none. */
static int read_pre_tokenizer(amod_tokenizer *t, const char *path, const cJSON *pre, int *byte_level, amod_error *err) {
    *byte_level = 0;
    if (!pre || cJSON_IsNull(pre)) return 0;
    const cJSON *p[8];
    const int n = parts(path, "pre_tokenizer", pre, "pretokenizers", p, 8, err);
    if (n < 0) return -1;
    const char *split = NULL;
    for (int i = 0; i < n; i++) {
        const char *ty = type_of(p[i]);
        if (!strcmp(ty, "ByteLevel")) {
            *byte_level = 1;
            t->byte_prefix_space = is_true(p[i], "add_prefix_space");
            const cJSON *re = get(p[i], "use_regex");
            if (!re || cJSON_IsTrue(re)) {
                if (split) return amod_fail(err, "%s: a Split pattern and ByteLevel's own regex together are not supported", path);
                split = TOK_PATTERN_GPT2;
            }
        } else if (!strcmp(ty, "Split")) {
            const cJSON *pat = get(p[i], "pattern"), *re = pat ? get(pat, "Regex") : NULL;
            if (!cJSON_IsString(re))
                return amod_fail(err, "%s: pre_tokenizer Split: only a 'Regex' pattern is supported", path);
            if (!str_is(get(p[i], "behavior"), "Isolated") || is_true(p[i], "invert"))
                return amod_fail(err, "%s: pre_tokenizer Split: only behavior 'Isolated' without invert is supported", path);
            if (split) return amod_fail(err, "%s: more than one Split pattern is not supported", path);
            split = re->valuestring;
        } else if (!strcmp(ty, "Metaspace")) {
            const cJSON *rep = get(p[i], "replacement"), *scheme = get(p[i], "prepend_scheme");
            if (rep && !str_is(rep, SPACE_MARK))
                return amod_fail(err, "%s: pre_tokenizer Metaspace with a replacement other than U+2581", path);
            t->sp_prefix = scheme ? !str_is(scheme, "never") : !cJSON_IsFalse(get(p[i], "add_prefix_space"));
            if (scheme && str_is(scheme, "always") == 0 && str_is(scheme, "first") == 0 && str_is(scheme, "never") == 0)
                return amod_fail(err, "%s: pre_tokenizer Metaspace prepend_scheme must be always, first or never", path);
            t->sp_split = !cJSON_IsFalse(get(p[i], "split"));
        } else {
            return amod_fail(err, "%s: pre_tokenizer '%s' is not supported (ByteLevel, Split, Metaspace)", path, ty);
        }
    }
    if (split && !*byte_level) return amod_fail(err, "%s: a Split pattern without ByteLevel is not supported", path);
    return split ? tok_set_pattern(t, split, err) : 0;
}

/* SentencePiece's normaliser: Prepend("▁") and Replace(" " -> "▁"), or nothing. */
static int read_normalizer(amod_tokenizer *t, const char *path, const cJSON *norm, amod_error *err) {
    if (!norm || cJSON_IsNull(norm)) return 0;
    const cJSON *p[8];
    const int n = parts(path, "normalizer", norm, "normalizers", p, 8, err);
    if (n < 0) return -1;
    int replace = 0;
    for (int i = 0; i < n; i++) {
        const char *ty = type_of(p[i]);
        if (!strcmp(ty, "Prepend") && str_is(get(p[i], "prepend"), SPACE_MARK)) {
            t->sp_prefix = 1;
        } else if (!strcmp(ty, "Replace") && get(p[i], "pattern") && str_is(get(get(p[i], "pattern"), "String"), " ") &&
                   str_is(get(p[i], "content"), SPACE_MARK)) {
            replace = 1;
        } else {
            return amod_fail(err, "%s: normalizer '%s' is not supported (only SentencePiece's Prepend('▁') and "
                                  "Replace(' ', '▁'))", path, ty);
        }
    }
    if (!replace) return amod_fail(err, "%s: a normalizer without Replace(' ', '▁') is not supported", path);
    return 0;
}

static int read_decoder(const char *path, const cJSON *dec, int byte_level, amod_error *err) {
    if (!dec || cJSON_IsNull(dec)) return 0;
    const cJSON *p[8];
    const int n = parts(path, "decoder", dec, "decoders", p, 8, err);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        const char *ty = type_of(p[i]);
        int ok = byte_level ? !strcmp(ty, "ByteLevel")
                            : !strcmp(ty, "ByteFallback") || !strcmp(ty, "Fuse") || !strcmp(ty, "Metaspace") ||
                                  (!strcmp(ty, "Replace") && str_is(get(get(p[i], "pattern"), "String"), SPACE_MARK)) ||
                                  (!strcmp(ty, "Strip") && str_is(get(p[i], "content"), " "));
        if (!ok) return amod_fail(err, "%s: decoder '%s' is not supported with this model", path, ty);
    }
    return 0;
}

/* Post-processing: nothing, ByteLevel, or a template that puts one special token before the
 * sequence (Llama's "<s> $A"). */
static int read_post_processor(amod_tokenizer *t, const char *path, const cJSON *post, char *bos, size_t cap,
                               amod_error *err) {
    if (!post || cJSON_IsNull(post)) return 0;
    const cJSON *p[8];
    const int n = parts(path, "post_processor", post, "processors", p, 8, err);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        const char *ty = type_of(p[i]);
        if (!strcmp(ty, "ByteLevel")) continue;
        if (strcmp(ty, "TemplateProcessing"))
            return amod_fail(err, "%s: post_processor '%s' is not supported", path, ty);
        const cJSON *single = get(p[i], "single");
        int seen_a = 0, k = 0;
        for (const cJSON *e = cJSON_IsArray(single) ? single->child : NULL; e; e = e->next, k++) {
            const cJSON *sp = get(e, "SpecialToken"), *seq = get(e, "Sequence");
            if (seq) {
                seen_a = 1;
            } else if (sp && k == 0 && cJSON_IsString(get(sp, "id"))) {
                snprintf(bos, cap, "%s", get(sp, "id")->valuestring);
                t->add_bos = 1;
            } else {
                return amod_fail(err, "%s: post_processor template: only one special token before the sequence "
                                      "is supported", path);
            }
        }
        if (!seen_a) return amod_fail(err, "%s: post_processor template without the sequence $A", path);
    }
    return 0;
}

/* SentencePiece pieces: the key is the piece; it decodes with "▁" as a space and <0xXX> as its byte. */
static int read_pieces(amod_tokenizer *t, const char *path, const cJSON *vocab, size_t key_bytes, amod_error *err) {
    if (tok_reserve(t, (size_t)cJSON_GetArraySize(vocab), key_bytes, err)) return -1;
    char *dec = amod_alloc(key_bytes + 1, err);
    if (!dec) return -1;
    int rc = 0;
    for (const cJSON *e = vocab->child; e && !rc; e = e->next) {
        const char *piece = e->string;
        const size_t n = strlen(piece);
        int32_t id;
        if (tok_json_id(e, &id)) {
            rc = amod_fail(err, "%s: the id of token '%s' is not an integer in 0..%d", path, piece, TOK_MAX_ID - 1);
            break;
        }
        if (!utf8_valid((const unsigned char *)piece, n)) {
            rc = amod_fail(err, "%s: token id %d is not valid UTF-8", path, id);
            break;
        }
        size_t k = 0;
        unsigned hex;
        if (t->byte_fallback && n == 6 && sscanf(piece, "<0x%2X>", &hex) == 1 && piece[5] == '>') {
            dec[k++] = (char)hex;
        } else {
            for (size_t i = 0; i < n;)
                if (i + 3 <= n && !memcmp(piece + i, SPACE_MARK, 3)) dec[k++] = ' ', i += 3;
                else dec[k++] = piece[i++];
        }
        rc = tok_set_token(t, id, dec, k, err) || tok_add_vocab(t, piece, n, id, err) ? -1 : 0;
    }
    free(dec);
    return rc;
}

static int read_merges(amod_tokenizer *t, const char *path, const cJSON *merges, amod_error *err) {
    if (!cJSON_IsArray(merges)) return amod_fail(err, "%s: model.merges must be a list", path);
    if (pair_map_init(&t->merges, (size_t)cJSON_GetArraySize(merges), err)) return -1;
    int32_t rank = 0;
    for (const cJSON *e = merges->child; e; e = e->next, rank++) {
        const char *a, *b;
        size_t na, nb;
        if (cJSON_IsString(e)) { /* "a b" */
            a = e->valuestring;
            if (tok_split_merge(a, strlen(a), &na, &b, &nb))
                return amod_fail(err, "%s: model.merges[%d] is not 'a b'", path, rank);
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) &&
                   cJSON_IsString(e->child->next)) { /* ["a", "b"] */
            a = e->child->valuestring, b = e->child->next->valuestring, na = strlen(a), nb = strlen(b);
        } else {
            return amod_fail(err, "%s: model.merges[%d] is neither 'a b' nor [a, b]", path, rank);
        }
        if (tok_add_merge_line(t, path, rank + 1, a, na, b, nb, rank, err)) return -1;
    }
    return 0;
}

int tok_read_hf_json(amod_tokenizer *t, const char *path, amod_error *err) {
    size_t size;
    unsigned char *text = amod_read_file(path, &size, err);
    if (!text) return -1;
    int rc = tok_parse_hf_json(t, path, (const char *)text, size, err);
    free(text);
    return rc;
}

int tok_parse_hf_json(amod_tokenizer *t, const char *path, const char *text, size_t size, amod_error *err) {
    cJSON *root = amod_json_parse_object(path, text, size, err);
    if (!root) return -1;
    int rc = 0, byte_level = 0;
    char bos[256] = "";
    const cJSON *model = get(root, "model");
    const char *mt = model ? type_of(model) : "";
    if (!cJSON_IsObject(model)) {
        rc = amod_fail(err, "%s: no 'model' object", path);
    } else if (strcmp(mt, "BPE")) {
        rc = amod_fail(err, "%s: model type '%s' is not supported (only BPE)", path, *mt ? mt : "none given");
    } else if (cJSON_IsNumber(get(model, "dropout")) && get(model, "dropout")->valuedouble != 0) {
        rc = amod_fail(err, "%s: BPE dropout is not supported (a training-time option)", path);
    } else if ((cJSON_IsString(get(model, "continuing_subword_prefix")) &&
                *get(model, "continuing_subword_prefix")->valuestring) ||
               (cJSON_IsString(get(model, "end_of_word_suffix")) && *get(model, "end_of_word_suffix")->valuestring)) {
        rc = amod_fail(err, "%s: BPE with a subword prefix or word suffix is not supported", path);
    } else if (!cJSON_IsObject(get(model, "vocab"))) {
        rc = amod_fail(err, "%s: model.vocab must be an object", path);
    }
    if (!rc) rc = read_pre_tokenizer(t, path, get(root, "pre_tokenizer"), &byte_level, err);
    if (!rc && byte_level && get(root, "normalizer") && !cJSON_IsNull(get(root, "normalizer")))
        rc = amod_fail(err, "%s: normalizer '%s' with a byte-level model is not supported", path,
                       type_of(get(root, "normalizer")));
    if (!rc && !byte_level) rc = read_normalizer(t, path, get(root, "normalizer"), err);
    if (!rc && !byte_level && (cJSON_IsNull(get(root, "normalizer")) || !get(root, "normalizer")) &&
        !cJSON_IsObject(get(root, "pre_tokenizer")))
        rc = amod_fail(err, "%s: neither a byte-level nor a SentencePiece-style tokenizer (no ByteLevel pre-tokenizer, "
                            "no '▁' normalizer or Metaspace)", path);
    if (!rc) rc = read_decoder(path, get(root, "decoder"), byte_level, err);
    if (!rc) rc = read_post_processor(t, path, get(root, "post_processor"), bos, sizeof bos, err);
    if (!rc) {
        t->kind = byte_level ? TOK_BYTE_LEVEL : TOK_SENTENCEPIECE;
        t->rank_mode = RANK_BY_MERGES;
        t->byte_fallback = is_true(model, "byte_fallback");
        t->ignore_merges = is_true(model, "ignore_merges");
        rc = byte_level ? tok_read_byte_level_vocab(t, path, get(model, "vocab"), size, err)
                        : read_pieces(t, path, get(model, "vocab"), size, err);
    }
    if (!rc) rc = read_merges(t, path, get(model, "merges"), err);
    if (!rc && cJSON_IsString(get(model, "unk_token"))) {
        const char *u = get(model, "unk_token")->valuestring;
        t->unk = bytes_map_get(&t->vocab, (const unsigned char *)u, strlen(u));
    }
    const cJSON *added = get(root, "added_tokens");
    for (const cJSON *e = cJSON_IsArray(added) ? added->child : NULL; e && !rc; e = e->next) {
        const cJSON *content = get(e, "content");
        int32_t i;
        if (tok_json_id(get(e, "id"), &i) || !cJSON_IsString(content)) {
            rc = amod_fail(err, "%s: an added token without an integer id (0..%d) and a content string", path,
                           TOK_MAX_ID - 1);
            break;
        }
        const char *s = content->valuestring;
        if (i >= t->n_vocab || !t->present[i]) {
            rc = tok_set_token(t, i, s, strlen(s), err);
        } else if (t->tok_len[i] != strlen(s) || memcmp(t->blob + t->tok_off[i], s, t->tok_len[i])) {
            rc = amod_fail(err, "%s: added token '%s' has id %d, which the vocabulary gives to another token", path, s, i);
        }
        if (!rc) rc = tok_add_special(t, s, strlen(s), i, err);
    }
    if (!rc && *bos && (t->bos = tok_added_id(t, bos)) < 0)
        rc = amod_fail(err, "%s: the post_processor's token '%s' is not an added token", path, bos);
    cJSON_Delete(root);
    return rc;
}
