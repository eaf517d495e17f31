/* amod tokenize: text to token ids and back with a checkpoint's tokenizer (tokenizer.json,
 * vocab.json + merges.txt, encoder.json + vocab.bpe, *.tiktoken). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/tokenizer.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

static const char *CMD = "tokenize";

static void usage(void) {
    printf("usage: amod tokenize MODEL_DIR|TOKENIZER_FILE (--text T | --file F) [--ids] [options]\n"
           "       amod tokenize MODEL_DIR|TOKENIZER_FILE --decode (--ids 1,2,3 | --file F)\n\n"
           "Prints the token ids of the text (--ids, the default), space-separated on one line, or\n"
           "with --decode the bytes the ids stand for. Reads tokenizer.json, vocab.json +\n"
           "merges.txt, encoder.json + vocab.bpe or a tiktoken rank file (r50k_base, p50k_base,\n"
           "cl100k_base, o200k_base).\n\n"
           "options:\n"
           "  --no-special   encode added/special tokens' text (\"<|endoftext|>\") as plain text\n"
           "  --bos          put the tokenizer's beginning-of-sequence token first, when its\n"
           "                 post-processor does (Llama's <s>)\n"
           "  --count        print the number of tokens instead of the ids\n"
           "  --stats        print the encoding speed (MB/s) and tokens per byte to stderr\n");
}

typedef struct {
    const char *source, *text, *file, *ids;
    int decode, no_special, bos, count, stats;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) o->decode |= !strcmp(argv[i], "--decode");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--text")) {
            if (!(o->text = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--file")) {
            if (!(o->file = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--ids") && !o->decode) { /* encoding: print ids (what it does anyway) */
        } else if (!strcmp(a, "--ids")) {
            if (!(o->ids = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--decode")) {
        } else if (!strcmp(a, "--no-special")) {
            o->no_special = 1;
        } else if (!strcmp(a, "--bos")) {
            o->bos = 1;
        } else if (!strcmp(a, "--count")) {
            o->count = 1;
        } else if (!strcmp(a, "--stats")) {
            o->stats = 1;
        } else if (cli_positional(CMD, a, &o->source)) {
            return -1;
        }
    }
    if (!o->source) return cli_usage_error(CMD, "MODEL_DIR or TOKENIZER_FILE is required");
    if (o->decode ? !!o->ids + !!o->file != 1 : !!o->text + !!o->file != 1)
        return cli_usage_error(CMD, o->decode ? "--decode takes exactly one of --ids and --file"
                                              : "give exactly one of --text and --file");
    return 0;
}

/* "1 2 3" or "1,2,3" (whitespace or commas) -> ids; what names the source in messages. */
static int parse_ids(const char *s, size_t n, const char *what, int64_t **ids, size_t *count, amod_error *err) {
    size_t cap = 16, k = 0;
    int64_t *v = amod_alloc(cap * sizeof *v, err);
    if (!v) return -1;
    for (size_t i = 0; i < n;) {
        while (i < n && (s[i] == ' ' || s[i] == ',' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++;
        if (i == n) break;
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        if (j == i || j - i > 12 || (j < n && !strchr(" ,\n\t\r", s[j]))) {
            size_t end = i;
            while (end < n && !strchr(" ,\n\t\r", s[end]) && s[end]) end++;
            free(v);
            return amod_fail(err, "%s: '%.*s' is not a token id (non-negative integers separated by spaces or commas)",
                             what, (int)(end - i > 20 ? 20 : end - i), s + i);
        }
        if (k == cap) {
            int64_t *w = realloc(v, 2 * cap * sizeof *v);
            if (!w) {
                free(v);
                return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
            }
            v = w, cap *= 2;
        }
        v[k++] = strtoll(s + i, NULL, 10);
        i = j;
    }
    *ids = v, *count = k;
    return 0;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    amod_tokenizer *t = amod_tokenizer_load(o->source, err);
    if (!t) return -1;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = -1;
    if (o->file && !(data = amod_read_file(o->file, &len, err))) goto done;
    const char *in = data ? (const char *)data : o->decode ? o->ids : o->text;
    if (!data) len = strlen(in);
    if (o->decode) {
        int64_t *ids = NULL;
        size_t n = 0;
        if (parse_ids(in, len, o->file ? o->file : "--ids", &ids, &n, err)) goto done;
        char *text;
        size_t tl;
        rc = amod_tokenizer_decode(t, ids, n, &text, &tl, err);
        free(ids);
        if (rc) {
            if (o->file) amod_fail_prefix(err, o->file);
            goto done;
        }
        fwrite(text, 1, tl, stdout);
        free(text);
    } else {
        int64_t *ids = NULL;
        size_t n = 0;
        const double t0 = amod_seconds();
        if (amod_tokenizer_encode(t, in, len, !o->no_special, o->bos, &ids, &n, err)) goto done;
        const double s = amod_seconds() - t0;
        if (o->count) {
            printf("%zu\n", n);
        } else {
            for (size_t i = 0; i < n; i++) printf(i ? " %lld" : "%lld", (long long)ids[i]);
            printf("\n");
        }
        free(ids);
        if (o->stats)
            fprintf(stderr, "amod tokenize: %zu bytes -> %zu tokens in %.3f s (%.1f MB/s, %.3f tokens per byte; %s)\n",
                    len, n, s, s > 0 ? (double)len / s / 1e6 : 0.0, len ? (double)n / (double)len : 0.0,
                    amod_tokenizer_describe(t));
    }
    rc = 0;
done:
    free(data);
    amod_tokenizer_free(t);
    return rc;
}

int amod_cmd_tokenize(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
