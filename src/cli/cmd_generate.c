/* amod generate: continues a prompt with a GPT-2 or Llama checkpoint, one token at a time
 * with a KV cache. Byte-level: with a 256-token vocabulary, token i is byte i, so prompts and
 * output are plain bytes; other vocabularies take and print token ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

static const char *CMD = "generate";

static void usage(void) {
    printf("usage: amod generate LM_DIR (--prompt TEXT | --prompt-file F | --ids 1,2,3) [options]\n\n"
           "Prints the prompt and its continuation. Byte-level: a model with a 256-token vocabulary\n"
           "reads and writes bytes (token i = byte i); --ids / --print-ids work for any vocabulary.\n"
           "MoD layers route each new token with their causal predictor.\n\n"
           "options:\n"
           "  --tokens N           tokens to generate (default 64, fewer when the context is full)\n"
           "  --temperature T      0: greedy (default); > 0: sample from softmax(logits / T)\n"
           "  --top-k K            sample among the K most likely tokens (default: all)\n"
           "  --seed S             sampling seed (default 1)\n"
           "  --no-cache           recompute the whole prefix at every step (slow; checks the cache)\n"
           "  --teacher-file F     teacher forcing: the new tokens are F's bytes instead of drawn ones\n"
           "                       (--tokens defaults to F's length): decode speed and MoD routing on\n"
           "                       given text\n"
           "  --print-ids          print token ids, comma-separated, instead of bytes\n"
           "  --stats              print tokens per second to stderr\n");
}

typedef struct {
    const char *model, *prompt, *prompt_file, *ids, *teacher;
    long tokens, top_k, seed;
    float temperature;
    int no_cache, print_ids, stats;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    o->tokens = -1, o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--prompt")) {
            if (!(o->prompt = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--prompt-file")) {
            if (!(o->prompt_file = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--ids")) {
            if (!(o->ids = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--tokens")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 0, 1 << 20, &o->tokens)) return -1;
        } else if (!strcmp(a, "--top-k")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 0, 1 << 24, &o->top_k)) return -1;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 0, 0x7fffffffL, &o->seed)) return -1;
        } else if (!strcmp(a, "--temperature")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_float(CMD, a, v, &o->temperature)) return -1;
            if (o->temperature < 0) {
                cli_usage_error(CMD, "--temperature must be >= 0, got %s", v);
                return -1;
            }
        } else if (!strcmp(a, "--teacher-file")) {
            if (!(o->teacher = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--no-cache")) {
            o->no_cache = 1;
        } else if (!strcmp(a, "--print-ids")) {
            o->print_ids = 1;
        } else if (!strcmp(a, "--stats")) {
            o->stats = 1;
        } else if (cli_positional(CMD, a, &o->model)) {
            return -1;
        }
    }
    if (!o->model) {
        cli_usage_error(CMD, "LM_DIR is required");
        return -1;
    }
    if (!!o->prompt + !!o->prompt_file + !!o->ids != 1) {
        cli_usage_error(CMD, "give exactly one of --prompt, --prompt-file and --ids");
        return -1;
    }
    return 0;
}

/* "1,2,3" -> ids (no range check here: the model checks against its vocabulary). */
static int parse_ids(const char *s, int64_t **ids, int *n, amod_error *err) {
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = amod_alloc((size_t)cap * sizeof **ids, err);
    if (!*ids) return -1;
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',')) return amod_fail(err, "--ids: '%s' is not a comma-separated list of integers", s);
        (*ids)[(*n)++] = v;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : amod_fail(err, "--ids: the list is empty");
}

/* Bytes of TEXT or FILE as token ids (byte-level vocabulary); what names them in messages. */
static int read_bytes(const options *o, const char *text, const char *file, const char *what, int vocab, int64_t **ids,
                      int *n, amod_error *err) {
    if (vocab != 256)
        return amod_fail(err, "%s: byte prompts need a 256-token (byte-level) vocabulary, this model has %d; use --ids",
                         o->model, vocab);
    size_t len = text ? strlen(text) : 0;
    unsigned char *bytes = NULL;
    if (file && !(bytes = amod_read_file(file, &len, err))) return -1;
    const unsigned char *src = bytes ? bytes : (const unsigned char *)text;
    if (len == 0 || len > (1u << 20)) {
        free(bytes);
        return amod_fail(err, "%s: the %s is %s", file ? file : "--prompt", what, len ? "longer than 2^20 bytes" : "empty");
    }
    *ids = amod_alloc(len * sizeof **ids, err);
    if (*ids)
        for (size_t i = 0; i < len; i++) (*ids)[i] = src[i];
    *n = (int)len;
    free(bytes);
    return *ids ? 0 : -1;
}

static int read_prompt(const options *o, int vocab, int64_t **ids, int *n, amod_error *err) {
    if (o->ids) return parse_ids(o->ids, ids, n, err);
    return read_bytes(o, o->prompt, o->prompt_file, "prompt", vocab, ids, n, err);
}

static void print_tokens(const int64_t *ids, int n, int as_ids, int first) {
    for (int i = 0; i < n; i++) {
        if (as_ids) printf(first && i == 0 ? "%lld" : ",%lld", (long long)ids[i]);
        else putchar((int)ids[i]);
    }
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    amod_lm *m = amod_lm_load(o->model, err);
    if (!m) return -1;
    int64_t *prompt = NULL, *out = NULL, *forced = NULL;
    int n = 0, n_forced = 0, rc = -1;
    const int vocab = amod_lm_get_config(m)->vocab_size;
    if (read_prompt(o, vocab, &prompt, &n, err)) goto done;
    if (o->teacher && read_bytes(o, NULL, o->teacher, "teacher text", vocab, &forced, &n_forced, err)) goto done;
    long tokens = o->tokens;
    if (tokens < 0) { /* the default: 64 (or the teacher file's length), or as many as the positions still hold */
        long room = (long)amod_lm_get_config(m)->max_positions - n + 1, want = forced ? n_forced : 64;
        tokens = room < want ? (room > 0 ? room : 0) : want;
    }
    if (forced && tokens > n_forced) {
        amod_fail(err, "%s: %d bytes, fewer than the %ld tokens asked for", o->teacher, n_forced, tokens);
        goto done;
    }
    out = amod_alloc((size_t)(tokens + 1) * sizeof *out, err);
    if (!out) goto done;
    amod_lm_gen g = {o->temperature, (int)o->top_k, (uint64_t)o->seed, o->no_cache, forced};
    const double t0 = amod_seconds();
    if (amod_lm_generate(m, prompt, n, (int)tokens, &g, out, NULL, err)) goto done;
    const double t1 = amod_seconds();
    int as_ids = o->print_ids || vocab != 256;
    print_tokens(prompt, n, as_ids, 1);
    print_tokens(out, (int)tokens, as_ids, 0);
    if (as_ids) putchar('\n');
    fflush(stdout);
    if (o->stats) {
        double s = t1 - t0;
        amod_lm_stats st;
        amod_lm_get_stats(m, &st);
        fprintf(stderr, "amod generate: %ld tokens in %.3f s (%.1f tokens/s, %s", tokens, s,
                s > 0 ? (double)tokens / s : 0.0, o->no_cache ? "no cache" : "KV cache");
        if (amod_lm_get_mod(m)->router != AMOD_ROUTER_NONE && !o->no_cache)
            fprintf(stderr, "; MoD blocks ran for %.1f%% of new tokens", 100.0 * st.decode_mod_kept);
        fprintf(stderr, ")\n");
    }
    rc = 0;
done:
    free(prompt);
    free(forced);
    free(out);
    amod_lm_free(m);
    return rc;
}

int amod_cmd_generate(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
