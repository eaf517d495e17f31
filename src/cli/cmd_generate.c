/* amod generate: continues a prompt with a GPT-2 or Llama checkpoint, one token at a time
 * with a KV cache. Text goes through the model directory's tokenizer (tokenizer.json,
 * vocab.json + merges.txt, ...) and generation stops at its end-of-text token; without one, a
 * 256-token vocabulary is byte-level (token i is byte i), and other vocabularies take and
 * print token ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/tokenizer.h"
#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

static const char *CMD = "generate";

static void usage(void) {
    printf("usage: amod generate LM_DIR (--prompt TEXT | --prompt-file F | --ids 1,2,3) [options]\n\n"
           "Prints the prompt and its continuation. With a tokenizer in LM_DIR (tokenizer.json,\n"
           "vocab.json + merges.txt, encoder.json + vocab.bpe, *.tiktoken) text is encoded with it\n"
           "(its BOS first, when it adds one) and decoded, and generation stops at its end-of-text\n"
           "token; without one, a model with a 256-token vocabulary reads and writes bytes (token\n"
           "i = byte i). --ids / --print-ids work for any vocabulary.\n"
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
           "  --print-ids          print token ids, comma-separated, instead of text\n"
           "  --ignore-eos         keep generating past the end-of-text token\n"
           "  --stats              print tokens per second to stderr\n");
}

typedef struct {
    const char *model, *prompt, *prompt_file, *ids, *teacher;
    long tokens, top_k, seed;
    float temperature;
    int no_cache, print_ids, stats, ignore_eos;
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
        } else if (!strcmp(a, "--ignore-eos")) {
            o->ignore_eos = 1;
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

/* TEXT or FILE as token ids: the tokenizer's (add_bos: its BOS first, when it adds one), or
 * bytes for a byte-level vocabulary; what names them in messages. */
static int read_text(const options *o, amod_tokenizer *tok, const char *text, const char *file, const char *what,
                     int add_bos, int vocab, int64_t **ids, int *n, amod_error *err) {
    if (!tok && vocab != 256)
        return amod_fail(err, "%s: text needs a tokenizer in the model directory or a 256-token (byte-level) "
                              "vocabulary, this model has %d tokens and no tokenizer; use --ids", o->model, vocab);
    size_t len = text ? strlen(text) : 0;
    unsigned char *bytes = NULL;
    if (file && !(bytes = amod_read_file(file, &len, err))) return -1;
    const unsigned char *src = bytes ? bytes : (const unsigned char *)text;
    if (len == 0 || len > (1u << 20)) {
        free(bytes);
        return amod_fail(err, "%s: the %s is %s", file ? file : "--prompt", what, len ? "longer than 2^20 bytes" : "empty");
    }
    if (tok) {
        size_t k = 0;
        int rc = amod_tokenizer_encode(tok, (const char *)src, len, 1, add_bos, ids, &k, err);
        free(bytes);
        if (rc) return amod_fail_prefix(err, file ? file : "--prompt");
        if (k == 0 || k > (1u << 20)) {
            free(*ids);
            return amod_fail(err, "%s: the %s is %s tokens", file ? file : "--prompt", what, k ? "more than 2^20" : "no");
        }
        *n = (int)k;
        return 0;
    }
    *ids = amod_alloc(len * sizeof **ids, err);
    if (*ids)
        for (size_t i = 0; i < len; i++) (*ids)[i] = src[i];
    *n = (int)len;
    free(bytes);
    return *ids ? 0 : -1;
}

static int read_prompt(const options *o, amod_tokenizer *tok, int vocab, int64_t **ids, int *n, amod_error *err) {
    if (o->ids) return parse_ids(o->ids, ids, n, err);
    return read_text(o, tok, o->prompt, o->prompt_file, "prompt", 1, vocab, ids, n, err);
}

static void print_ids(const int64_t *ids, int n, int first) {
    for (int i = 0; i < n; i++) printf(first && i == 0 ? "%lld" : ",%lld", (long long)ids[i]);
}

/* The prompt and the new tokens as text: bytes, or the tokenizer's decode of both together
 * (its BOS left out), so that SentencePiece's spaces come out as one decode gives them. */
static int print_text(amod_tokenizer *tok, const int64_t *prompt, int n, const int64_t *out, int k, amod_error *err) {
    if (!tok) {
        for (int i = 0; i < n; i++) putchar((int)prompt[i]);
        for (int i = 0; i < k; i++) putchar((int)out[i]);
        return 0;
    }
    int64_t *all = amod_alloc((size_t)(n + k) * sizeof *all, err);
    if (!all) return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!(i == 0 && prompt[0] == amod_tokenizer_bos(tok))) all[m++] = prompt[i];
    for (int i = 0; i < k; i++) all[m++] = out[i];
    char *text;
    size_t len;
    int rc = amod_tokenizer_decode(tok, all, (size_t)m, &text, &len, err);
    free(all);
    if (rc) return -1;
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    amod_lm *m = amod_lm_load(o->model, err);
    if (!m) return -1;
    int64_t *prompt = NULL, *out = NULL, *forced = NULL;
    int n = 0, n_forced = 0, rc = -1;
    const int vocab = amod_lm_get_config(m)->vocab_size;
    amod_tokenizer *tok = cli_lm_tokenizer(o->model, m, err);
    if (!tok && err->msg[0]) goto done;
    if (read_prompt(o, tok, vocab, &prompt, &n, err)) goto done;
    if (o->teacher && read_text(o, tok, NULL, o->teacher, "teacher text", 0, vocab, &forced, &n_forced, err)) goto done;
    long tokens = o->tokens;
    if (tokens < 0) { /* the default: 64 (or the teacher file's length), or as many as the positions still hold */
        long room = (long)amod_lm_get_config(m)->max_positions - n + 1, want = forced ? n_forced : 64;
        tokens = room < want ? (room > 0 ? room : 0) : want;
    }
    if (forced && tokens > n_forced) {
        amod_fail(err, "%s: %d %s, fewer than the %ld tokens asked for", o->teacher, n_forced, tok ? "tokens" : "bytes", tokens);
        goto done;
    }
    out = amod_alloc((size_t)(tokens + 1) * sizeof *out, err);
    if (!out) goto done;
    amod_lm_gen g = {o->temperature, (int)o->top_k, (uint64_t)o->seed, o->no_cache, forced, 0, 0};
    if (tok && !forced && !o->ignore_eos && amod_tokenizer_eos(tok) >= 0) g.stop_at_eos = 1, g.eos = amod_tokenizer_eos(tok);
    const double t0 = amod_seconds();
    if (amod_lm_generate(m, prompt, n, (int)tokens, &g, out, NULL, err)) goto done;
    const double t1 = amod_seconds();
    int made = 0; /* up to and with the end-of-text token, which is not printed as text */
    while (made < tokens && out[made] >= 0) made++;
    const int as_ids = o->print_ids || (!tok && vocab != 256);
    const int shown = !as_ids && made > 0 && g.stop_at_eos && out[made - 1] == g.eos ? made - 1 : made;
    if (as_ids) {
        print_ids(prompt, n, 1);
        print_ids(out, made, 0);
        putchar('\n');
    } else if (print_text(tok, prompt, n, out, shown, err)) {
        goto done;
    }
    fflush(stdout);
    if (o->stats) {
        double s = t1 - t0;
        amod_lm_stats st;
        amod_lm_get_stats(m, &st);
        fprintf(stderr, "amod generate: %d tokens in %.3f s (%.1f tokens/s, %s", made, s, s > 0 ? (double)made / s : 0.0,
                o->no_cache ? "no cache" : "KV cache");
        if (made < tokens) fprintf(stderr, "; stopped at the end-of-text token");
        if (amod_lm_get_mod(m)->router != AMOD_ROUTER_NONE && !o->no_cache)
            fprintf(stderr, "; MoD blocks ran for %.1f%% of new tokens", 100.0 * st.decode_mod_kept);
        fprintf(stderr, ")\n");
    }
    rc = 0;
done:
    free(prompt);
    free(forced);
    free(out);
    amod_tokenizer_free(tok);
    amod_lm_free(m);
    return rc;
}

int amod_cmd_generate(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
