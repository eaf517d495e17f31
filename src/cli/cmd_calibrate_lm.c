/* amod calibrate-lm: sets a MoD language model's causal-predictor thresholds so that, on a text
 * of the user's, each predictor keeps the capacity C of the tokens it was trained to keep. The
 * thresholds train-lm calibrates fit its training windows; text of another kind, or decoding
 * with longer contexts than the training windows, shifts the predictor's logits and with them
 * the share of tokens that run the MoD blocks. Rewrites the model directory in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/tokenizer.h"
#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/runlock.h"

static const char *CMD = "calibrate-lm";

static void usage(void) {
    printf("usage: amod calibrate-lm LM_DIR --data FILE [--seq T] [--from P] [--route topk|predictor]\n"
           "                         [--windows N] [--batch B]\n\n"
           "Runs the MoD model with top-k routing on the first N windows of T tokens of FILE (the\n"
           "model directory's tokenizer, or bytes) and sets each causal predictor's threshold to\n"
           "the logit cut that keeps the layer's share of all the windows' tokens (k of T), as\n"
           "amod train-lm does at the end of training on its own windows. Then the predictor\n"
           "keeps about C of such text's tokens when routing alone (amod generate,\n"
           "eval-lm --route predictor). LM_DIR's config.json and weights are rewritten (each file\n"
           "atomically); the old and new thresholds are printed.\n\n"
           "options:\n"
           "  --seq T              window length (default 128; the length the text is decoded at)\n"
           "  --from P             pool only positions P.. of each window, keeping k of T of them:\n"
           "                       the tokens generated after a prompt of P (default 0)\n"
           "  --route R            the routing the logits are measured under: topk (default; each\n"
           "                       layer under top-k routing below it, as train-lm calibrates) or\n"
           "                       predictor (layer by layer under the calibrated predictors below it,\n"
           "                       as amod generate routes: one pass per window and layer)\n"
           "  --windows N          windows to average over (default 64)\n"
           "  --batch B            windows a forward pass (default 8)\n");
}

typedef struct {
    const char *model, *data;
    long seq, from, windows, batch;
    int routed; /* --route predictor */
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    o->seq = 128, o->windows = 64, o->batch = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--data")) {
            if (!(o->data = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--seq")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 2, 1 << 16, &o->seq)) return -1;
        } else if (!strcmp(a, "--from")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 0, (1 << 16) - 1, &o->from)) return -1;
        } else if (!strcmp(a, "--route")) {
            if (!(v = cli_value(CMD, argc, argv, &i))) return -1;
            if (strcmp(v, "topk") && strcmp(v, "predictor"))
                return cli_usage_error(CMD, "--route must be topk or predictor, not '%s'", v), -1;
            o->routed = !strcmp(v, "predictor");
        } else if (!strcmp(a, "--windows")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 1, 1 << 20, &o->windows)) return -1;
        } else if (!strcmp(a, "--batch")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 1, 1 << 12, &o->batch)) return -1;
        } else if (cli_positional(CMD, a, &o->model)) {
            return -1;
        }
    }
    if (!o->model || !o->data) return cli_usage_error(CMD, "LM_DIR and --data are required"), -1;
    if (o->from >= o->seq)
        return cli_usage_error(CMD, "--from %ld must be below --seq %ld (the positions pooled are P..T-1)", o->from, o->seq), -1;
    return 0;
}

/* Top-k calibration (as train-lm's): windows in batches, every predictor layer's logits pooled. */
static int calibrate_topk(amod_lm *m, const int64_t *ids, long windows, int T, int from, int batch,
                          amod_error *err) {
    const int B = batch < windows ? batch : (int)windows;
    amod_lm_calibration *cal = amod_lm_calibration_new(err);
    int rc = cal ? amod_lm_calibration_from(cal, from, err) : -1;
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    for (long w = 0; !rc && w < windows; w += B) {
        const int nb = windows - w < B ? (int)(windows - w) : B;
        if (amod_lm_forward(m, ids + (size_t)w * T, nb, T, NULL, NULL, err)) rc = -1;
        else if ((rc = amod_lm_calibration_add(cal, m, err)) == 0)
            rc = amod_fail(err, "the model has no causal predictor to calibrate (train-lm --router linear trains one)");
        else if (rc > 0) rc = 0;
    }
    if (!rc) rc = amod_lm_calibration_apply(cal, m);
    amod_lm_calibration_free(cal);
    return rc;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    amod_run_lock lock;
    if (amod_run_lock_take(&lock, o->model, "amod calibrate-lm", err)) return -1;
    unsigned char *text = NULL;
    int64_t *window_ids = NULL;
    size_t n_bytes = 0, n_ids = 0;
    amod_tokenizer *tok = NULL;
    amod_lm *m = amod_lm_load(o->model, err);
    int rc = -1;
    if (!m) goto done;
    const int L = amod_lm_get_config(m)->n_layers, T = (int)o->seq;
    tok = cli_lm_tokenizer(o->model, m, err);
    if (!tok && err->msg[0]) goto done;
    if (!(text = amod_read_file(o->data, &n_bytes, err))) goto done;
    if (tok) {
        if (amod_tokenizer_encode(tok, (const char *)text, n_bytes, 1, 0, &window_ids, &n_ids, err)) {
            amod_fail_prefix(err, o->data);
            goto done;
        }
    } else {
        n_ids = n_bytes;
    }
    const long windows = (long)(n_ids / (size_t)T) < o->windows ? (long)(n_ids / (size_t)T) : o->windows;
    if (windows < 1) {
        amod_fail(err, "%s: %zu %s make no window of %d", o->data, n_ids, tok ? "tokens" : "bytes", T);
        goto done;
    }
    if (!tok) { /* byte-level: the bytes are the ids */
        if (!(window_ids = amod_alloc((size_t)windows * T * sizeof *window_ids, err))) goto done;
        for (size_t i = 0; i < (size_t)windows * T; i++) window_ids[i] = text[i];
    }
    float before[AMOD_MAX_LAYERS];
    for (int l = 0; l < L; l++) before[l] = amod_lm_predictor_threshold(m, l);
    amod_lm_set_grad_enabled(m, 0);
    const int set = o->routed ? amod_lm_calibrate_routed(m, window_ids, (int)windows, T, (int)o->from, err)
                              : calibrate_topk(m, window_ids, windows, T, (int)o->from, (int)o->batch, err);
    if (set < 0) {
        amod_fail_prefix(err, o->model);
        goto done;
    }
    if (amod_lm_save(m, o->model, err)) goto done;
    printf("%s: predictor thresholds calibrated on %ld windows of %d %s of %s", o->model, windows, T,
           tok ? "tokens" : "bytes", o->data);
    if (o->from) printf(", positions %ld..%d", o->from, T - 1);
    if (o->routed) printf(", under predictor routing");
    printf("\n");
    for (int l = 0; l < L; l++)
        if (amod_lm_predictor_threshold(m, l) != before[l])
            printf("  layer %d: %.4f -> %.4f\n", l, before[l], amod_lm_predictor_threshold(m, l));
    rc = 0;
done:
    free(window_ids);
    free(text);
    amod_tokenizer_free(tok);
    amod_lm_free(m);
    amod_run_lock_release(&lock);
    return rc;
}

int amod_cmd_calibrate_lm(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
