/* amod train-lm: trains a byte-level GPT-2 / Llama model on a text file with AdamW, dense or
 * with causal MoD, or Router-Tuning: MindSkip routers trained on a frozen pretrained model.
 * Sequences are random windows of the training part of the file (the last --val-frac is held
 * out for amod eval-lm); the loss is the shifted next-byte cross-entropy. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/adamw.h"

static const char *CMD = "train-lm";

static void usage(void) {
    printf("usage: amod train-lm OUT_DIR --data FILE (--init LM_DIR | model options) [options]\n\n"
           "Trains on random windows of the first (1 - val-frac) of FILE's bytes (token = byte)\n"
           "and writes OUT_DIR/config.json + model.safetensors (Hugging Face names).\n\n"
           "model (a new byte-level model when --init is not given):\n"
           "  --arch gpt2|llama    (default gpt2)\n"
           "  --layers L --width D --heads H --kv-heads K --ff F --context N\n"
           "                       (defaults 4, 128, 4, H, 4 D for GPT-2 / 8 D / 3 for Llama, 256)\n"
           "training:\n"
           "  --steps N            optimisation steps (default 1000)\n"
           "  --batch B --seq T    sequences per step and their length (default 16, 128)\n"
           "  --lr LR              peak learning rate (default 1e-3), --warmup N (default 100),\n"
           "                       cosine decay to --min-lr-ratio (default 0.1) of the peak\n"
           "  --weight-decay W     AdamW decay on matrices (default 0.1); --clip C (default 1)\n"
           "  --val-frac F         fraction of the file held out (default 0.05)\n"
           "  --seed S             (default 1); --log-every N (default 50)\n"
           "  --router-tuning      freeze every weight but the routers (Router-Tuning)\n" CLI_LM_HELP);
}

typedef struct {
    const char *out, *data, *init;
    amod_lm_config cfg;
    long steps, batch, seq, warmup, seed, log_every;
    float lr, min_lr_ratio, wd, clip, val_frac;
    int router_tuning;
    cli_lm_opts lm;
} options;

static int int_opt(const char *a, int argc, char **argv, int *i, long lo, long hi, long *out) {
    const char *v = cli_value(CMD, argc, argv, i);
    return v ? cli_parse_int(CMD, a, v, lo, hi, out) : -1;
}

static int float_opt(const char *a, int argc, char **argv, int *i, float *out) {
    const char *v = cli_value(CMD, argc, argv, i);
    return v ? cli_parse_float(CMD, a, v, out) : -1;
}

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    cli_lm_init(&o->lm);
    long layers = 4, width = 128, heads = 4, kv = 0, ff = 0, ctx = 256;
    o->steps = 1000, o->batch = 16, o->seq = 128, o->warmup = 100, o->seed = 1, o->log_every = 50;
    o->lr = 1e-3f, o->min_lr_ratio = 0.1f, o->wd = 0.1f, o->clip = 1.0f, o->val_frac = 0.05f;
    o->cfg.arch = AMOD_LM_GPT2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_lm_option(CMD, argc, argv, &i, &o->lm), rc = 0;
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--data")) rc = !(o->data = cli_value(CMD, argc, argv, &i));
        else if (!strcmp(a, "--init")) rc = !(o->init = cli_value(CMD, argc, argv, &i));
        else if (!strcmp(a, "--arch")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v) return -1;
            if (!strcmp(v, "gpt2")) o->cfg.arch = AMOD_LM_GPT2;
            else if (!strcmp(v, "llama")) o->cfg.arch = AMOD_LM_LLAMA;
            else return cli_usage_error(CMD, "--arch must be gpt2 or llama, got '%s'", v), -1;
        } else if (!strcmp(a, "--layers")) rc = int_opt(a, argc, argv, &i, 1, AMOD_MAX_LAYERS, &layers);
        else if (!strcmp(a, "--width")) rc = int_opt(a, argc, argv, &i, 2, 1 << 14, &width);
        else if (!strcmp(a, "--heads")) rc = int_opt(a, argc, argv, &i, 1, 1 << 10, &heads);
        else if (!strcmp(a, "--kv-heads")) rc = int_opt(a, argc, argv, &i, 1, 1 << 10, &kv);
        else if (!strcmp(a, "--ff")) rc = int_opt(a, argc, argv, &i, 1, 1 << 18, &ff);
        else if (!strcmp(a, "--context")) rc = int_opt(a, argc, argv, &i, 2, 1 << 16, &ctx);
        else if (!strcmp(a, "--steps")) rc = int_opt(a, argc, argv, &i, 0, 1L << 30, &o->steps);
        else if (!strcmp(a, "--batch")) rc = int_opt(a, argc, argv, &i, 1, 1 << 16, &o->batch);
        else if (!strcmp(a, "--seq")) rc = int_opt(a, argc, argv, &i, 2, 1 << 16, &o->seq);
        else if (!strcmp(a, "--warmup")) rc = int_opt(a, argc, argv, &i, 0, 1L << 30, &o->warmup);
        else if (!strcmp(a, "--log-every")) rc = int_opt(a, argc, argv, &i, 1, 1L << 30, &o->log_every);
        else if (!strcmp(a, "--lr")) rc = float_opt(a, argc, argv, &i, &o->lr);
        else if (!strcmp(a, "--min-lr-ratio")) rc = float_opt(a, argc, argv, &i, &o->min_lr_ratio);
        else if (!strcmp(a, "--weight-decay")) rc = float_opt(a, argc, argv, &i, &o->wd);
        else if (!strcmp(a, "--clip")) rc = float_opt(a, argc, argv, &i, &o->clip);
        else if (!strcmp(a, "--val-frac")) rc = float_opt(a, argc, argv, &i, &o->val_frac);
        else if (!strcmp(a, "--router-tuning")) o->router_tuning = 1;
        else if (a[0] == '-') return cli_usage_error(CMD, "unknown option '%s'", a), -1;
        else if (!o->out) o->out = a;
        else return cli_usage_error(CMD, "unexpected argument '%s'", a), -1;
        if (rc) return -1;
    }
    if (!o->out || !o->data) return cli_usage_error(CMD, "OUT_DIR and --data are required"), -1;
    if (!(o->lr > 0) || !(o->wd >= 0) || !(o->clip >= 0) || !(o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1))
        return cli_usage_error(CMD, "--lr must be > 0, --weight-decay and --clip >= 0, --min-lr-ratio in [0, 1]"), -1;
    amod_lm_config *c = &o->cfg;
    c->vocab_size = 256, c->n_layers = (int)layers, c->d_model = (int)width, c->n_heads = (int)heads;
    c->n_kv_heads = kv ? (int)kv : (int)heads, c->max_positions = (int)ctx, c->rope_theta = 10000.0f;
    if (width % heads) return cli_usage_error(CMD, "--width %ld is not divisible by --heads %ld", width, heads), -1;
    c->head_dim = (int)(width / heads);
    if (c->arch == AMOD_LM_GPT2) {
        c->d_ff = ff ? (int)ff : 4 * (int)width, c->norm_eps = 1e-5f, c->tie_embeddings = 1;
        c->attn_bias = c->mlp_bias = 1;
    } else {
        c->d_ff = ff ? (int)ff : 8 * (int)width / 3, c->norm_eps = 1e-6f, c->tie_embeddings = 0;
    }
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int train(const options *o, amod_lm *m, const unsigned char *bytes, size_t n_train, amod_error *err) {
    const int B = (int)o->batch, T = (int)o->seq;
    const amod_lm_config *c = amod_lm_get_config(m);
    if (T > c->max_positions) return amod_fail(err, "--seq %d is longer than the model's %d positions", T, c->max_positions);
    if ((size_t)T + 1 > n_train) return amod_fail(err, "%s: the training part is shorter than one sequence", o->data);
    int64_t *ids = amod_alloc((size_t)B * T * sizeof *ids, err);
    adamw_state opt;
    if (!ids || adamw_init(&opt, amod_lm_num_params(m), err)) {
        free(ids);
        return -1;
    }
    amod_lm_freeze_base(m, o->router_tuning);
    amod_rng r;
    rng_seed(&r, (uint64_t)o->seed * 7919);
    float *p = amod_lm_params(m), *g = amod_lm_grads(m);
    size_t lo = amod_lm_num_params(m), hi = 0, trainable = 0;
    for (int i = 0; i < amod_lm_num_tensors(m); i++) {
        if (o->router_tuning && !amod_lm_tensor_is_router(m, i)) continue;
        int64_t s[4];
        int nd = amod_lm_tensor_shape(m, i, s);
        size_t off = amod_lm_tensor_offset(m, i), numel = (size_t)s[0] * (nd > 1 ? (size_t)s[1] : 1);
        lo = off < lo ? off : lo;
        hi = off + numel > hi ? off + numel : hi;
        trainable += numel;
    }
    if (!trainable) {
        adamw_free(&opt);
        free(ids);
        return amod_fail(err, "nothing to train: --router-tuning needs routers (--mindskip or --router linear)");
    }
    printf("training %zu of %zu parameters, %ld steps of %d x %d bytes\n", trainable, amod_lm_num_params(m), o->steps, B, T);
    double t0 = now(), sum_loss = 0;
    long tokens = 0, n_loss = 0;
    int rc = 0;
    for (long step = 0; step < o->steps && !rc; step++) {
        for (int b = 0; b < B; b++) {
            size_t off = (size_t)(rng_next(&r) % (uint64_t)(n_train - (size_t)T));
            for (int t = 0; t < T; t++) ids[(size_t)b * T + t] = bytes[off + t];
        }
        float loss;
        if ((rc = amod_lm_forward(m, ids, B, T, NULL, &loss, err))) break;
        amod_lm_zero_grad(m);
        if ((rc = amod_lm_backward(m, err))) break;
        if (!isfinite(loss)) {
            rc = amod_fail(err, "the loss became %g at step %ld: lower --lr", (double)loss, step);
            break;
        }
        clip_grad_norm(g, lo, hi, o->clip);
        adamw_config ac = {lr_schedule(step, o->steps, o->warmup, o->lr, o->min_lr_ratio), 0.9f, 0.95f, 1e-8f, o->wd};
        adamw_begin_step(&opt);
        for (int i = 0; i < amod_lm_num_tensors(m); i++) {
            int router = amod_lm_tensor_is_router(m, i);
            if (o->router_tuning && !router) continue;
            int64_t s[4];
            int nd = amod_lm_tensor_shape(m, i, s);
            size_t off = amod_lm_tensor_offset(m, i), numel = (size_t)s[0] * (nd > 1 ? (size_t)s[1] : 1);
            adamw_update(&opt, p, g, off, off + numel, &ac, nd == 2 && !router);
        }
        sum_loss += loss, n_loss++;
        tokens += (long)B * T;
        if ((step + 1) % o->log_every == 0 || step + 1 == o->steps) {
            amod_lm_stats st;
            amod_lm_get_stats(m, &st);
            double el = now() - t0;
            printf("step %6ld  loss %.4f  lr %.2e  %.0f tokens/s", step + 1, sum_loss / n_loss, (double)ac.lr,
                   tokens / (el > 0 ? el : 1));
            if (st.predictor_acc > 0) printf("  predictor acc %.3f bce %.3f", (double)st.predictor_acc, (double)st.predictor_loss);
            if (amod_lm_get_mindskip(m)->mode != AMOD_LM_SKIP_NONE)
                printf("  attn kept %.3f  capacity term %.4f", (double)st.attn_kept, (double)st.capacity_loss);
            printf("\n");
            fflush(stdout);
            sum_loss = 0, n_loss = 0;
        }
    }
    adamw_free(&opt);
    free(ids);
    return rc;
}

static int run(const options *o, amod_error *err) {
    unsigned char *bytes = NULL;
    size_t n = 0, n_train = 0;
    if (cli_lm_read_corpus(o->data, o->val_frac, &bytes, &n, &n_train, err)) return -1;
    amod_lm *m = o->init ? amod_lm_load(o->init, err) : amod_lm_create(&o->cfg, (uint64_t)o->seed, err);
    int rc = -1;
    if (!m) goto done;
    if (amod_lm_get_config(m)->vocab_size < 256) {
        amod_fail(err, "%s: a byte-level corpus needs a vocabulary of at least 256 tokens (the model has %d)", o->data,
                  amod_lm_get_config(m)->vocab_size);
        goto done;
    }
    if (cli_lm_apply(&o->lm, m, err)) goto done;
    if (mkdir(o->out, 0755) && errno != EEXIST) {
        amod_fail(err, "%s: cannot create the output directory: %s", o->out, strerror(errno));
        goto done;
    }
    if (train(o, m, bytes, n_train, err)) goto done;
    rc = amod_lm_save(m, o->out, err);
    if (!rc) printf("saved %s\n", o->out);
done:
    amod_lm_free(m);
    free(bytes);
    return rc;
}

int amod_cmd_train_lm(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
    options o;
    if (parse(argc, argv, &o)) return 2;
    amod_error err = {{0}};
    if (run(&o, &err)) {
        cli_error(CMD, err.msg);
        return 1;
    }
    return 0;
}
