/* amod eval-lm: perplexity of a GPT-2 / Llama model (with its tokenizer, or byte-level) on the
 * held-out end of a text file, with what routing saved: the fraction of attention sublayers
 * skipped, multiply-accumulates per token actually performed, and inference tokens per second. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/tokenizer.h"
#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

static const char *CMD = "eval-lm";

static void usage(void) {
    printf("usage: amod eval-lm LM_DIR --data FILE [options]\n\n"
           "Cuts the last --val-frac of FILE's bytes into windows of --seq tokens (of the model\n"
           "directory's tokenizer, or bytes without one) and reports the perplexity per token of\n"
           "the shifted next-token loss (exp of the mean cross-entropy), bits per byte (the loss\n"
           "over the bytes the predicted tokens stand for: comparable across tokenisers), the\n"
           "fraction of (token, layer) attention sublayers skipped, MFLOPs per token\n"
           "(multiply-accumulates, fvcore's convention, as performed), and tokens per second.\n\n"
           "options:\n"
           "  --val-frac F         held-out fraction (default 0.05, as amod train-lm)\n"
           "  --seq T --batch B    window length and windows per pass (default 128, 8)\n"
           "  --max-windows N      evaluate at most N windows (default all)\n"
           "  --route topk|predictor  MoD routing: top-k over each window (as trained) or the causal\n"
           "                       predictor (as when sampling; one window at a time)\n"
           "  --markdown LABEL     also print one row of a markdown table\n" CLI_LM_HELP);
}

typedef struct {
    const char *model, *data, *label;
    long seq, batch, max_windows;
    float val_frac;
    int predictor;
    cli_lm_opts lm;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    cli_lm_init(&o->lm);
    o->seq = 128, o->batch = 8, o->val_frac = 0.05f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = cli_lm_option(CMD, argc, argv, &i, &o->lm);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--data")) {
            if (!(o->data = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--markdown")) {
            if (!(o->label = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--seq")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 2, 1 << 16, &o->seq)) return -1;
        } else if (!strcmp(a, "--batch")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 1, 1 << 16, &o->batch)) return -1;
        } else if (!strcmp(a, "--max-windows")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_int(CMD, a, v, 1, 1L << 30, &o->max_windows))
                return -1;
        } else if (!strcmp(a, "--val-frac")) {
            if (!(v = cli_value(CMD, argc, argv, &i)) || cli_parse_float(CMD, a, v, &o->val_frac)) return -1;
        } else if (!strcmp(a, "--route")) {
            if (!(v = cli_value(CMD, argc, argv, &i))) return -1;
            if (strcmp(v, "topk") && strcmp(v, "predictor"))
                return cli_usage_error(CMD, "--route must be topk or predictor, got '%s'", v), -1;
            o->predictor = !strcmp(v, "predictor");
        } else if (cli_positional(CMD, a, &o->model)) {
            return -1;
        }
    }
    if (!o->model || !o->data) return cli_usage_error(CMD, "LM_DIR and --data are required"), -1;
    return 0;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    cli_lm_corpus corpus = {0};
    amod_tokenizer *tok = NULL;
    amod_lm *m = amod_lm_load(o->model, err);
    int64_t *ids = NULL;
    int rc = -1;
    if (!m || cli_lm_apply(&o->lm, m, err)) goto done;
    tok = cli_lm_tokenizer(o->model, m, err);
    if (!tok && err->msg[0]) goto done;
    if (cli_lm_load_corpus(o->data, o->val_frac, tok, &corpus, err)) goto done;
    const int T = (int)o->seq;
    const int B = o->predictor ? 1 : (int)o->batch;
    const char *unit = tok ? "tokens" : "bytes";
    const size_t held = corpus.n - corpus.n_train;
    long windows = (long)(held / (size_t)T);
    if (o->max_windows && windows > o->max_windows) windows = o->max_windows;
    if (windows < 1) {
        amod_fail(err, "%s: the held-out part (%zu %s) is shorter than one window of %d", o->data, held, unit, T);
        goto done;
    }
    if (!(ids = amod_alloc((size_t)B * T * sizeof *ids, err))) goto done;
    amod_lm_set_grad_enabled(m, 0);
    amod_lm_set_route_mode(m, o->predictor ? AMOD_LM_ROUTE_PREDICTOR : AMOD_LM_ROUTE_TOPK);
    double loss_sum = 0, skipped = 0, macs = 0, pred_acc = 0, pred_bal = 0, pred_base = 0, seconds = 0;
    double nats = 0, target_bytes = 0; /* bits per byte: the predicted tokens' loss over their bytes */
    long done_windows = 0, passes = 0;
    while (done_windows < windows) {
        int nb = windows - done_windows < B ? (int)(windows - done_windows) : B;
        for (int b = 0; b < nb; b++) {
            const int32_t *w = corpus.ids + corpus.n_train + (size_t)(done_windows + b) * T;
            for (int t = 0; t < T; t++) ids[(size_t)b * T + t] = w[t];
            target_bytes += (double)cli_lm_corpus_bytes(&corpus, w + 1, (size_t)T - 1);
        }
        float loss;
        double t0 = amod_seconds();
        if (amod_lm_forward(m, ids, nb, T, NULL, &loss, err)) goto done;
        seconds += amod_seconds() - t0;
        amod_lm_stats st;
        amod_lm_get_stats(m, &st);
        loss_sum += (double)loss * nb;
        nats += (double)loss * nb * (T - 1);
        skipped += (double)st.attn_skipped * nb;
        macs += st.macs_per_token * nb;
        pred_acc += (double)st.predictor_acc * nb;
        pred_bal += (double)st.predictor_balanced * nb;
        pred_base += (double)st.predictor_skip_acc * nb;
        done_windows += nb;
        passes++;
    }
    const double mean = loss_sum / done_windows, ppl = exp(mean);
    const double bpb = target_bytes > 0 ? nats / log(2.0) / target_bytes : NAN;
    const double mflops = macs / done_windows / 1e6, tps = (double)done_windows * T / seconds;
    printf("%s: %ld windows of %d %s (%s routing)%s%s\n", o->model, done_windows, T, unit,
           o->predictor ? "predictor" : "top-k", tok ? "; " : "", tok ? amod_tokenizer_describe(tok) : "");
    printf("perplexity %.4f  bits/byte %.4f  attention skipped %.4f  MFLOPs/token %.4f  tokens/s %.0f", ppl, bpb,
           skipped / done_windows, mflops, tps);
    if (pred_acc > 0)
        printf("  predictor acc %.4f (balanced %.4f; all-skip baseline %.4f)", pred_acc / done_windows,
               pred_bal / done_windows, pred_base / done_windows);
    printf("\n");
    if (o->label)
        printf("| %s | %.3f | %.3f | %.1f%% | %.3f | %.0f |\n", o->label, ppl, bpb, 100.0 * skipped / done_windows,
               mflops, tps);
    rc = 0;
done:
    free(ids);
    cli_lm_corpus_free(&corpus);
    amod_tokenizer_free(tok);
    amod_lm_free(m);
    return rc;
}

int amod_cmd_eval_lm(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
