/* amod train-lm: trains a byte-level GPT-2 / Llama model on a text file, dense or with causal
 * MoD, or Router-Tuning: MindSkip routers trained on a frozen pretrained model. The loop is
 * train/lm_trainer.c; this file reads the options and the corpus and writes the model. Under
 * mpirun the training is data-parallel (docs/DISTRIBUTED.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amod/tokenizer.h"
#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/comm.h"
#include "core/error.h"
#include "core/runlock.h"
#include "train/checkpoint.h"
#include "train/lm_state.h"
#include "train/lm_trainer.h"

static const char *CMD = "train-lm";

static void usage(void) {
    printf("usage: amod train-lm OUT_DIR --data FILE (--init LM_DIR | model options) [options]\n"
           "       amod train-lm OUT_DIR --resume [--data FILE] [--threads N] [--log-every N]\n"
           "                     [--ckpt-every N] [--max-steps K] [--check-ranks]\n\n"
           "Trains on random windows of the first (1 - val-frac) of FILE's text, as token ids of\n"
           "the tokenizer of --tokenizer, or of --init's model directory (tokenizer.json,\n"
           "vocab.json + merges.txt, ...), and otherwise as bytes (token = byte); writes\n"
           "OUT_DIR/config.json + model.safetensors (Hugging Face names) and the tokenizer's files.\n"
           "Checkpoints go to OUT_DIR/last (model, optimizer.st, trainer.json), written\n"
           "whole under OUT_DIR/last.new and swapped in by renames.\n\n"
           "  --tokenizer T        a tokenizer file or directory (a new model gets its vocabulary)\n\n"
           "model (a new byte-level model when --init and --tokenizer are not given):\n"
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
           "  --seed S             initialisation, window order and new routers (default 1);\n"
           "  --log-every N        (default 50)\n"
           "  --threads N          OpenMP threads (default: OpenMP's)\n"
           "  --router-tuning      freeze every weight but the routers (Router-Tuning)\n"
           "  --check-ranks        under mpirun: compare the ranks' weights after every step\n"
           "checkpoints:\n"
           "  --ckpt-every N       write OUT_DIR/last every N steps and at the end (default 0: never)\n"
           "  --max-steps K        stop after K steps in all, writing OUT_DIR/last (the schedule\n"
           "                       still runs to --steps); continue with --resume\n"
           "  --resume             continue the run in OUT_DIR/last with its saved settings; the\n"
           "                       result is the same bytes as an uninterrupted run\n"
           "  --force              replace a finished model already in OUT_DIR\n"
           "Ctrl-C or SIGTERM checkpoints OUT_DIR/last after the current step and says how to resume.\n"
           "OUT_DIR is locked while the command runs (OUT_DIR/.amod.lock).\n"
           "Under mpirun the run is data-parallel: --batch is the global batch, split evenly.\n" CLI_LM_HELP);
}

typedef struct {
    const char *out, *data, *init, *tokenizer;
    amod_lm_config cfg;
    long steps, batch, seq, warmup, seed, log_every, threads, ckpt_every, max_steps;
    float lr, min_lr_ratio, wd, clip, val_frac;
    int router_tuning, check_ranks, resume, log_set, ckpt_set, force;
    int lr_set, wd_set, warmup_set; /* given: --skip-style router-tuning keeps them */
    const char *fixed; /* the first option that sets the run (model, training): not with --resume */
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

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
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
        if (r > 0) {
            if (!o->fixed) o->fixed = a;
            /* one seed for everything: initialisation, the windows' draw, new routers */
            if (!strcmp(a, "--seed")) o->seed = o->lm.mod.seed;
            continue;
        }
        if (strcmp(a, "--data") && strcmp(a, "--threads") && strcmp(a, "--log-every") && strcmp(a, "--ckpt-every") &&
            strcmp(a, "--max-steps") && strcmp(a, "--check-ranks") && strcmp(a, "--resume") && a[0] == '-' &&
            !o->fixed)
            o->fixed = a;
        if (!strcmp(a, "--data")) rc = !(o->data = cli_value(CMD, argc, argv, &i));
        else if (!strcmp(a, "--resume")) o->resume = 1;
        else if (!strcmp(a, "--force")) o->force = 1;
        else if (!strcmp(a, "--ckpt-every")) rc = int_opt(a, argc, argv, &i, 0, 1L << 30, &o->ckpt_every), o->ckpt_set = 1;
        else if (!strcmp(a, "--max-steps")) rc = int_opt(a, argc, argv, &i, 1, 1L << 30, &o->max_steps);
        else if (!strcmp(a, "--init")) rc = !(o->init = cli_value(CMD, argc, argv, &i));
        else if (!strcmp(a, "--tokenizer")) rc = !(o->tokenizer = cli_value(CMD, argc, argv, &i));
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
        else if (!strcmp(a, "--warmup")) rc = int_opt(a, argc, argv, &i, 0, 1L << 30, &o->warmup), o->warmup_set = 1;
        else if (!strcmp(a, "--log-every")) rc = int_opt(a, argc, argv, &i, 1, 1L << 30, &o->log_every), o->log_set = 1;
        else if (!strcmp(a, "--threads")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            rc = !v || cli_parse_threads(CMD, a, v, &o->threads);
        }
        else if (!strcmp(a, "--lr")) rc = float_opt(a, argc, argv, &i, &o->lr), o->lr_set = 1;
        else if (!strcmp(a, "--min-lr-ratio")) rc = float_opt(a, argc, argv, &i, &o->min_lr_ratio);
        else if (!strcmp(a, "--weight-decay")) rc = float_opt(a, argc, argv, &i, &o->wd), o->wd_set = 1;
        else if (!strcmp(a, "--clip")) rc = float_opt(a, argc, argv, &i, &o->clip);
        else if (!strcmp(a, "--val-frac")) rc = float_opt(a, argc, argv, &i, &o->val_frac);
        else if (!strcmp(a, "--router-tuning")) o->router_tuning = 1;
        else if (!strcmp(a, "--check-ranks")) o->check_ranks = 1;
        else if (cli_positional(CMD, a, &o->out)) return -1;
        if (rc) return -1;
    }
    if (o->lm.style_set && o->lm.skip_style == AMOD_LM_SKIP_STYLE_ROUTER_TUNING) { /* the Router-Tuning scripts' */
        if (!o->lr_set) o->lr = 1e-5f;
        if (!o->wd_set) o->wd = 0.0f;
        if (!o->warmup_set) o->warmup = (o->steps * 3 + 99) / 100;
    }
    if (o->resume) {
        if (o->fixed) return cli_usage_error(CMD, "%s cannot be given with --resume (the run keeps its settings)", o->fixed), -1;
        if (!o->out) return cli_usage_error(CMD, "OUT_DIR is required"), -1;
        return 0;
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

static void train_config(const options *o, amod_comm *comm, amod_lm_train_config *c) {
    amod_lm_train_config_default(c);
    c->steps = o->steps, c->batch = (int)o->batch, c->seq = (int)o->seq;
    c->opt.lr = o->lr, c->opt.min_lr = o->lr * o->min_lr_ratio, c->opt.warmup_steps = o->warmup;
    c->opt.weight_decay = o->wd, c->opt.clip = o->clip, c->opt.seed = (uint64_t)o->seed;
    c->router_tuning = o->router_tuning, c->check_ranks = o->check_ranks, c->threads = (int)o->threads;
    c->log_every = o->log_every, c->log = stdout, c->comm = comm;
    c->ckpt_every = o->ckpt_every, c->max_steps = o->max_steps;
}

static int file_exists(const char *dir, const char *name) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* Every rank reads the corpus and builds the model (or reads the checkpoint); rank 0 alone
 * writes, holding OUT's lock for the whole command. */
static int train_and_save(const options *opts, amod_comm *comm, amod_error *err) {
    options o = *opts;
    cli_lm_corpus corpus = {0};
    amod_tokenizer *tok = NULL;
    char saved_data[4096], last[4096];
    amod_lm *m = NULL;
    amod_lm_position pos = {0, 0, 0};
    amod_lm_train_config tc;
    train_config(&o, comm, &tc);
    int rc = -1, root = amod_comm_is_root(comm);
    struct stat st;
    const int created = stat(o.out, &st) != 0; /* made by this command: removed again if nothing is written */
    amod_run_lock lock = {-1};
    if (root && amod_run_lock_take(&lock, o.out, "amod train-lm", err)) return -1;
    int have = amod_checkpoint_dir(o.out, "last", last, sizeof last, err) == 0;
    int trained = 0;
    if (o.resume) { /* the run's own settings; only the knobs allowed with --resume may differ */
        char state[4200];
        if (!have) goto done; /* err names the directory */
        snprintf(state, sizeof state, "%s/trainer.json", last);
        if (amod_lm_train_state_load(state, saved_data, sizeof saved_data, &o.val_frac, &tc, &pos, err)) goto done;
        if (o.max_steps > 0 && o.max_steps <= pos.step) {
            amod_fail(err, "--max-steps %ld is not beyond the step the checkpoint %s holds (%lld): nothing would train",
                      o.max_steps, last, (long long)pos.step);
            goto done;
        }
        if (!o.data) o.data = saved_data;
        if (o.log_set) tc.log_every = o.log_every;
        if (o.ckpt_set) tc.ckpt_every = o.ckpt_every;
        tc.resume = &pos, tc.resume_dir = last;
    } else if (have) {
        amod_fail(err, "%s: a run is already there (continue it with --resume, or choose another directory)", o.out);
        goto done;
    } else if (!o.force && file_exists(o.out, "model.safetensors")) {
        amod_fail(err, "%s holds a trained model (%s/model.safetensors): choose another directory, or --force to replace it",
                  o.out, o.out);
        goto done;
    }
    memset(err, 0, sizeof *err);
    /* the tokenizer: given, or the model's own (a resumed run keeps the one it copied) */
    {
        const char *own = o.resume ? o.out : o.init;
        if (o.tokenizer) tok = amod_tokenizer_load(o.tokenizer, err);
        else if (own) tok = cli_lm_tokenizer(own, NULL, err);
        if (!tok && err->msg[0]) goto done;
        if (tok && !o.init && !o.resume) o.cfg.vocab_size = amod_tokenizer_vocab_size(tok);
    }
    if (cli_lm_load_corpus(o.data, o.val_frac, tok, &corpus, err)) goto done;
    const size_t n = corpus.n_bytes;
    {   /* the corpus's fingerprint: recorded by a new run, checked by a resumed one */
        const uint64_t h = amod_hash_bytes(corpus.bytes, n, 0);
        if (o.resume && tc.data_bytes && (tc.data_bytes != n || tc.data_hash != h)) {
            amod_fail(err,
                      "%s: %zu bytes (hash %016llx), but the run in %s trained on %llu bytes (hash %016llx) from %s: "
                      "resume with the same corpus",
                      o.data, n, (unsigned long long)h, o.out, (unsigned long long)tc.data_bytes,
                      (unsigned long long)tc.data_hash, saved_data);
            goto done;
        }
        tc.data_bytes = n, tc.data_hash = h;
    }
    if (o.resume) m = amod_lm_load(last, err);
    else m = o.init ? amod_lm_load(o.init, err) : amod_lm_create(&o.cfg, (uint64_t)o.seed, err);
    if (!m) goto done;
    if (!tok && amod_lm_get_config(m)->vocab_size < 256) {
        amod_fail(err, "%s: a byte-level corpus needs a vocabulary of at least 256 tokens (the model has %d)", o.data,
                  amod_lm_get_config(m)->vocab_size);
        goto done;
    }
    if (tok && amod_tokenizer_vocab_size(tok) > amod_lm_get_config(m)->vocab_size) {
        amod_fail(err, "%s: %d tokens, more than the model's vocabulary of %d", amod_tokenizer_describe(tok),
                  amod_tokenizer_vocab_size(tok), amod_lm_get_config(m)->vocab_size);
        goto done;
    }
    if (tok && root && amod_tokenizer_save(tok, o.out, err)) goto done; /* the run directory is a model directory */
    if (!o.resume && cli_lm_apply(&o.lm, m, err)) goto done;
    tc.run_dir = o.out, tc.data = o.data, tc.val_frac = o.val_frac;
    cli_catch_stop_signals();
    tc.stop = &cli_stop_requested;
    amod_lm_train_result res;
    trained = 1;
    if (amod_lm_train(m, corpus.ids, corpus.n_train, &tc, &res, err)) goto done;
    if (res.interrupted) {
        if (root)
            printf("interrupted by signal %d at step %lld; %s/last is kept: continue with amod train-lm %s --resume\n",
                   (int)cli_stop_requested, (long long)res.step, o.out, o.out);
        rc = 128 + (int)cli_stop_requested;
        goto done;
    }
    if (res.stopped) {
        if (root)
            printf("stopped at step %lld; %s/last is kept (continue with --resume)\n", (long long)res.step, o.out);
        rc = 0;
        goto done;
    }
    rc = root ? amod_lm_save(m, o.out, err) : 0;
    if (!rc && root) printf("saved %s\n", o.out);
done:
    if (root && rc && !trained && created) amod_run_lock_discard(&lock, o.out); /* no empty directory left */
    else amod_run_lock_release(&lock);
    amod_lm_free(m);
    amod_tokenizer_free(tok);
    cli_lm_corpus_free(&corpus);
    return rc;
}

/* Under mpirun: one rank per process. A failing rank reports and stops the others, which
 * would otherwise wait for it in a collective. */
static int run(const options *o, amod_error *err) {
    amod_comm comm;
    if (cli_ranks_join(&comm, err)) return -1;
    return cli_ranks_leave(CMD, &comm, train_and_save(o, &comm, err), err->msg);
}

/* cli_main passes the options untyped. */
static int run_opts(const void *o, amod_error *err) { return run(o, err); }

int amod_cmd_train_lm(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run_opts, &o);
}
