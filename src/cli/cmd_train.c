/* amod train: trains a (MoD) ViT on an IDX data set (docs/TRAINING.md). A fresh run starts
 * from a preset (--model, with shape overrides) or a checkpoint (--init); --isoflop trains
 * the dense baseline whose FLOPs match the MoD options; --resume continues a run exactly. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/comm.h"
#include "core/error.h"
#include "core/runlock.h"
#include "data/dataset.h"
#include "data/imagefolder.h"
#include "model/isoflop.h"
#include "train/checkpoint.h"
#include "train/progress.h"
#include "train/trainer.h"

static const char *CMD = "train";

static void usage(void) {
    printf("usage: amod train --out RUN_DIR [--data DIR] [--dataset NAME] [--model PRESET | --init CKPT_DIR]\n"
           "                  [shape overrides] [MoD options] [--isoflop depth|width|width-mlp] [training options]\n"
           "       amod train --out RUN_DIR --resume [--max-steps N] [--threads N] [--data DIR]\n\n"
           "Trains on DIR/NAME (IDX files; scripts/setup_data.sh makes data/fashion-mnist and data/mnist),\n"
           "or with --dataset imagefolder on the pictures of DIR/train/<class>/ (val/ or test/ to evaluate),\n"
           "evaluates on its test split, and writes RUN_DIR/log.csv, RUN_DIR/last/ and RUN_DIR/best/.\n\n"
           "model:\n"
           "  --data DIR           directory of the data sets (default data)\n"
           "  --dataset NAME       fashion-mnist (default), mnist, or imagefolder (--data is the folder)\n"
           "  --model PRESET       a preset (default vit_tiny_mnist); normalised with the training\n"
           "                       split's pixel mean and std\n"
           "  --init CKPT_DIR      start from a checkpoint (e.g. one made by amod adapt); with\n"
           "                       --num-classes K a new classifier (timm's reset_classifier) and with\n"
           "                       --img-size N the position embedding resampled (bicubic)\n"
           "  --img-size N, --patch-size N, --embed-dim N, --depth N, --heads N\n"
           "                       override the preset's shape (the MLP keeps its ratio)\n" CLI_MOD_HELP
           "  --seed N             model initialisation, data order, augmentation, routers (default 0)\n"
           "  --in-chans 1|3       image folders: the new model's input channels (default 3; 1 takes\n"
           "                       the pictures' luma, as PIL's convert(\"L\"))\n"
           "  --train-only WHAT    all (default), head (a linear probe) or head+routers: the other\n"
           "                       tensors stay as loaded\n"
           "  --isoflop depth|width|width-mlp  train the dense ViT whose FLOPs match the MoD options\n"
           "                       instead: fewer blocks, a narrower model (the MLP keeps its ratio),\n"
           "                       or a narrower model with the MLP width that matches best\n\n"
           "training:\n"
           "  --epochs N           (default 10)\n"
           "  --batch-size N       (default 128)\n"
           "  --lr F               peak learning rate (default 1e-3); --min-lr F final (default 1e-5)\n"
           "  --weight-decay F     AdamW's decoupled decay, not on biases, norms, tokens (default 0.05)\n"
           "  --warmup-epochs F | --warmup-steps N   linear warmup, then cosine decay (default 1 epoch)\n"
           "  --clip F             maximum global gradient norm, 0 for none (default 1)\n"
           "  --augment            random crop (2-pixel padding), and horizontal flips for fashion-mnist;\n"
           "                       image folders: RandomResizedCrop (scale 0.08-1) and flips\n"
           "  --mixup A --cutmix A --smoothing E   timm's Mixup (batch mode; both: one or the other,\n"
           "                       evenly) and label smoothing, with the soft-target cross-entropy\n"
           "  --reprob P           image folders, with --augment: random erasing with probability P\n"
           "  --crop-scale S       image folders, with --augment: RandomResizedCrop's smallest area\n"
           "                       share (timm's --scale S 1; default 0.08)\n"
           "  --auto-augment A     image folders, with --augment: trivial (TrivialAugmentWide) or\n"
           "                       rand-m9-mstd0.5[-n2][-p0.5] (timm's RandAugment)\n"
           "  --prefetch, --no-prefetch   image folders: decode the next batch on a thread of its own\n"
           "                       during the step, or not (the same run either way); default: when a\n"
           "                       core is left beside the training threads\n"
           "  --skip-bad-images    image folders: replace a picture that cannot be read by the next\n"
           "                       one of the epoch's order, count them and say so at the end\n"
           "  --eval-every N       evaluate every N epochs, and after the last (default 1)\n"
           "  --eval-steps N       also evaluate every N steps within an epoch: a log.csv row each\n"
           "                       (learning curves; they do not choose best/)\n"
           "  --ckpt-every N       also checkpoint RUN_DIR/last every N steps (default: every epoch)\n"
           "  --max-steps N        stop after N steps overall (the schedule still spans --epochs)\n"
           "  --threads N          OpenMP threads; OpenBLAS runs single-threaded (docs/TRAINING.md)\n"
           "  --precision P        f32 (default) or bf16: mixed precision, the blocks' linear and attention\n"
           "                       products in bfloat16 with float32 weights, optimizer, softmax and loss\n"
           "                       (oneDNN, AVX-512 BF16 or AMX; evaluations during the run too)\n"
           "  --log-every N        progress line every N steps when stderr is not a terminal (default 50)\n"
           "  --quiet              no progress output\n"
           "  --check-ranks        under mpirun: verify after every step that all ranks hold the same weights\n"
           "  --resume             continue RUN_DIR from RUN_DIR/last with the run's own settings\n");
}

typedef struct {
    const char *out, *data, *dataset, *model, *init, *isoflop;
    long img, patch, dim, depth, heads; /* 0: the preset's */
    long num_classes;                   /* --init: a new classifier for this many classes (0: keep) */
    long in_chans;                      /* image folders: 1 (PIL's luma) or 3; 0: 3 */
    cli_mod_opts mod;
    amod_train_config tc;
    float warmup_epochs;
    int warmup_epochs_set, warmup_steps_set, augment, resume, data_set;
    const char *run_option; /* first option that defines the run: refused with --resume */
} options;

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out) {
    return cli_parse_int(CMD, opt, v, lo, hi, out);
}

/* Options that change nothing about the run's trajectory, so --resume accepts them. */
static int is_free_option(const char *a) {
    return !strcmp(a, "--out") || !strcmp(a, "--resume") || !strcmp(a, "--max-steps") || !strcmp(a, "--threads") ||
           !strcmp(a, "--data") || !strcmp(a, "--log-every") || !strcmp(a, "--quiet") || !strcmp(a, "--check-ranks") ||
           !strcmp(a, "--no-prefetch") || !strcmp(a, "--prefetch");
}

static int parse_training(int argc, char **argv, int *i, options *o) {
    const char *a = argv[*i], *v = NULL;
    amod_train_config *c = &o->tc;
    long n;
    int flag = !strcmp(a, "--augment") || !strcmp(a, "--resume") || !strcmp(a, "--quiet") ||
               !strcmp(a, "--check-ranks") || !strcmp(a, "--skip-bad-images") || !strcmp(a, "--no-prefetch") || !strcmp(a, "--prefetch");
    static const char *valued[] = {"--epochs", "--batch-size", "--eval-every", "--eval-steps", "--ckpt-every", "--max-steps",
                                   "--threads", "--log-every", "--img-size", "--num-classes", "--train-only", "--in-chans", "--auto-augment", "--patch-size", "--embed-dim",
                                   "--depth", "--heads", "--lr", "--min-lr", "--weight-decay", "--clip", "--mixup", "--cutmix",
                                   "--smoothing", "--reprob", "--crop-scale",
                                   "--warmup-steps", "--warmup-epochs", "--out", "--data", "--dataset", "--model",
                                   "--init", "--isoflop", "--precision"};
    int known = flag;
    for (size_t k = 0; k < sizeof valued / sizeof *valued && !known; k++) known = !strcmp(a, valued[k]);
    if (!known) return cli_usage_error(CMD, "unknown option '%s'", a), -1;
    if (!flag && !(v = cli_value(CMD, argc, argv, i))) return -1;
    if (!strcmp(a, "--threads")) {
        if (cli_parse_threads(CMD, a, v, &n)) return -1;
        c->threads = (int)n;
        return 1;
    }
#define INT_OPT(name, lo, hi, field)                                   \
    if (!strcmp(a, name)) {                                            \
        if (parse_long(a, v, lo, hi, &n)) return -1;                   \
        field = n;                                                     \
        return 1;                                                      \
    }
#define FLOAT_OPT(name, field)                                         \
    if (!strcmp(a, name)) return cli_parse_float(CMD, a, v, &field) ? -1 : 1;
    INT_OPT("--epochs", 1, 100000, c->epochs)
    INT_OPT("--batch-size", 1, 65536, c->batch_size)
    INT_OPT("--eval-every", 1, 100000, c->eval_every)
    INT_OPT("--eval-steps", 0, 1L << 40, c->eval_steps)
    INT_OPT("--ckpt-every", 0, 1L << 40, c->ckpt_every)
    INT_OPT("--max-steps", 0, 1L << 40, c->max_steps)
    INT_OPT("--log-every", 1, 1L << 30, c->log_every)
    INT_OPT("--img-size", 1, 4096, o->img)
    INT_OPT("--num-classes", 1, 100000, o->num_classes)
    INT_OPT("--in-chans", 1, 3, o->in_chans)
    if (!strcmp(a, "--auto-augment")) {
        amod_error err;
        if (amod_autoaug_parse(v, &c->autoaug, &err)) return cli_usage_error(CMD, "%s", err.msg), -1;
        return 1;
    }
    if (!strcmp(a, "--train-only")) {
        if (amod_train_only_parse(v, &c->train_only))
            return cli_usage_error(CMD, "--train-only must be all, head or head+routers, got '%s'", v), -1;
        return 1;
    }
    INT_OPT("--patch-size", 1, 4096, o->patch)
    INT_OPT("--embed-dim", 1, 65536, o->dim)
    INT_OPT("--depth", 1, AMOD_MAX_LAYERS, o->depth)
    INT_OPT("--heads", 1, 4096, o->heads)
    FLOAT_OPT("--lr", c->opt.lr)
    FLOAT_OPT("--min-lr", c->opt.min_lr)
    FLOAT_OPT("--weight-decay", c->opt.weight_decay)
    FLOAT_OPT("--clip", c->opt.clip)
    FLOAT_OPT("--mixup", c->mix.mixup)
    FLOAT_OPT("--cutmix", c->mix.cutmix)
    FLOAT_OPT("--smoothing", c->mix.smoothing)
    FLOAT_OPT("--reprob", c->reprob)
    FLOAT_OPT("--crop-scale", c->crop_scale)
#undef INT_OPT
#undef FLOAT_OPT
    if (!strcmp(a, "--warmup-steps")) {
        if (parse_long(a, v, 0, 1L << 40, &n)) return -1;
        c->opt.warmup_steps = n;
        o->warmup_steps_set = 1;
    } else if (!strcmp(a, "--warmup-epochs")) {
        if (cli_parse_float(CMD, a, v, &o->warmup_epochs)) return -1;
        if (o->warmup_epochs < 0) return cli_usage_error(CMD, "--warmup-epochs must be >= 0"), -1;
        o->warmup_epochs_set = 1;
    } else if (!strcmp(a, "--augment")) {
        o->augment = 1;
    } else if (!strcmp(a, "--resume")) {
        o->resume = 1;
    } else if (!strcmp(a, "--quiet")) {
        c->quiet = 1;
    } else if (!strcmp(a, "--check-ranks")) {
        c->check_ranks = 1;
    } else if (!strcmp(a, "--no-prefetch")) {
        c->prefetch = 0;
    } else if (!strcmp(a, "--prefetch")) {
        c->prefetch = 1;
    } else if (!strcmp(a, "--skip-bad-images")) {
        c->skip_bad = 1;
    } else if (!strcmp(a, "--precision")) {
        if (strcmp(v, "f32") && strcmp(v, "bf16"))
            return cli_usage_error(CMD, "--precision must be f32 or bf16, got '%s'", v), -1;
        c->precision = strcmp(v, "bf16") ? AMOD_PRECISION_F32 : AMOD_PRECISION_BF16;
    } else if (!strcmp(a, "--out")) {
        o->out = v;
    } else if (!strcmp(a, "--data")) {
        o->data = v;
        o->data_set = 1;
    } else if (!strcmp(a, "--dataset")) {
        o->dataset = v;
    } else if (!strcmp(a, "--model")) {
        o->model = v;
    } else if (!strcmp(a, "--init")) {
        o->init = v;
    } else if (!strcmp(a, "--isoflop")) {
        o->isoflop = v;
    } else {
        cli_usage_error(CMD, "unknown option '%s'", a);
        return -1;
    }
    return 1;
}

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    amod_train_config_default(&o->tc);
    o->data = "data";
    o->dataset = "fashion-mnist";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) return cli_usage_error(CMD, "unexpected argument '%s'", a), -1;
        if (!o->run_option && !is_free_option(a)) o->run_option = a;
        int r = cli_mod_option(CMD, argc, argv, &i, &o->mod);
        if (r == 0) r = parse_training(argc, argv, &i, o);
        if (r < 0) return -1;
    }
    if (!o->out) return cli_usage_error(CMD, "--out RUN_DIR is required"), -1;
    if (!(o->tc.opt.lr > 0) || !(o->tc.opt.min_lr >= 0) || o->tc.opt.min_lr > o->tc.opt.lr)
        return cli_usage_error(CMD, "--lr must be positive and --min-lr in [0, --lr] (got --lr %g, --min-lr %g)",
                               (double)o->tc.opt.lr, (double)o->tc.opt.min_lr),
               -1;
    if (o->resume) {
        if (o->run_option)
            return cli_usage_error(CMD, "%s cannot be given with --resume: a resumed run keeps the settings in "
                                        "%s/last/trainer.json", o->run_option, o->out), -1;
        return 0;
    }
    if (o->model && o->init) return cli_usage_error(CMD, "give either --model or --init, not both"), -1;
    if (o->init && (o->patch || o->dim || o->depth || o->heads))
        return cli_usage_error(CMD, "shape overrides apply to --model presets; an --init checkpoint takes only "
                                    "--img-size (its position embedding is resampled) and --num-classes"), -1;
    if (o->in_chans == 2) return cli_usage_error(CMD, "--in-chans must be 1 or 3"), -1;
    if (o->num_classes && !o->init)
        return cli_usage_error(CMD, "--num-classes gives an --init checkpoint a new classifier (a new model takes "
                                    "its classes from the data)"), -1;
    if (o->init && o->isoflop)
        return cli_usage_error(CMD, "--isoflop builds a new model from --model, not from --init"), -1;
    if (o->warmup_steps_set && o->warmup_epochs_set)
        return cli_usage_error(CMD, "give either --warmup-epochs or --warmup-steps, not both"), -1;
    if (!o->warmup_steps_set && !o->warmup_epochs_set) o->warmup_epochs = 1.0f;
    return 0;
}

/* The preset's config with the shape overrides. */
static int preset_config(const options *o, amod_vit_config *cfg) {
    amod_error err;
    if (amod_vit_preset(o->model ? o->model : "vit_tiny_mnist", cfg, &err)) return cli_error(CMD, err.msg), -1;
    if (o->img || o->patch || o->dim || o->depth || o->heads) {
        int ratio_num = cfg->mlp_hidden, ratio_den = cfg->embed_dim;
        if (o->img) cfg->img_size = (int)o->img;
        if (o->patch) cfg->patch_size = (int)o->patch;
        if (o->dim) cfg->embed_dim = (int)o->dim;
        if (o->depth) cfg->depth = (int)o->depth;
        if (o->heads) cfg->num_heads = (int)o->heads;
        cfg->mlp_hidden = (int)((long)cfg->embed_dim * ratio_num / ratio_den);
        snprintf(cfg->arch, sizeof cfg->arch, "vit_custom"); /* no longer the named shape */
    }
    /* name only the constraint that fails */
    if (cfg->img_size % cfg->patch_size)
        return cli_usage_error(CMD, "image size %d is not a multiple of the patch size %d", cfg->img_size,
                               cfg->patch_size), -1;
    if (cfg->embed_dim % cfg->num_heads)
        return cli_usage_error(CMD, "embed dim %d is not a multiple of the %d heads", cfg->embed_dim, cfg->num_heads),
               -1;
    return 0;
}

static amod_vit *create_model(const options *o, amod_vit_config *cfgp);

/* A new model from --model: normalised with the training split's statistics (ImageNet's for
 * an image folder, whose classes it takes); with --isoflop, the dense baseline of the MoD
 * options instead of the MoD model. */
static amod_vit *new_model(const options *o, const amod_dataset *train) {
    amod_vit_config cfg;
    if (preset_config(o, &cfg)) return NULL;
    if (train->files || train->pack) { /* colour pictures: timm's ImageNet normalisation, the data's classes */
        static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
        cfg.in_chans = o->in_chans ? (int)o->in_chans : 3;
        cfg.num_classes = train->num_classes;
        memcpy(cfg.mean, mean, sizeof mean);
        memcpy(cfg.std, std, sizeof std);
        return create_model(o, &cfg);
    }
    double mean[AMOD_DATA_MAX_CHANNELS], std[AMOD_DATA_MAX_CHANNELS];
    amod_dataset_stats(train, mean, std);
    if (!(std[0] > 0)) {
        cli_error(CMD, "the training images all have one value (pixel standard deviation 0): nothing to normalise or "
                       "learn from");
        return NULL;
    }
    for (int c = 0; c < 3; c++) {
        cfg.mean[c] = (float)mean[0];
        cfg.std[c] = (float)std[0];
    }
    return create_model(o, &cfg);
}

/* The model of cfg with the MoD options (or, with --isoflop, their dense baseline). */
static amod_vit *create_model(const options *o, amod_vit_config *cfgp) {
    amod_vit_config cfg = *cfgp;
    amod_error err;
    amod_mod_config dense = {0}, mod;
    dense.router = AMOD_ROUTER_NONE;
    dense.capacity = 1.0f;
    if (cli_mod_build(CMD, &o->mod, &cfg, &dense, &mod)) return NULL;
    if (o->isoflop) {
        amod_isoflop_kind kind;
        amod_isoflop iso;
        if (amod_isoflop_kind_parse(o->isoflop, &kind))
            return cli_usage_error(CMD, "--isoflop must be depth, width or width-mlp, got '%s'", o->isoflop), NULL;
        if (mod.router == AMOD_ROUTER_NONE)
            return cli_usage_error(CMD, "--isoflop needs the MoD model to match (--router, --capacity, ...)"), NULL;
        if (amod_isoflop_baseline(&cfg, &mod, kind, &iso, &err)) return cli_error(CMD, err.msg), NULL;
        fprintf(stderr, "isoFLOP baseline (%s): depth %d, width %d, mlp %d, %.4f GMACs per image (MoD model %.4f)\n",
                o->isoflop, iso.cfg.depth, iso.cfg.embed_dim, iso.cfg.mlp_hidden, iso.macs / 1e9, iso.target / 1e9);
        cfg = iso.cfg;
        mod = dense;
    }
    amod_vit *m = amod_vit_create(&cfg, (uint64_t)o->mod.seed, &err);
    if (m && mod.router != AMOD_ROUTER_NONE && amod_vit_set_mod(m, &mod, &err)) {
        amod_vit_free(m);
        m = NULL;
    }
    if (!m) cli_error(CMD, err.msg);
    return m;
}

/* --init: the checkpoint with the MoD options applied on top of its own routing. */
static amod_vit *init_model(const options *o) {
    amod_error err;
    amod_vit *m = amod_vit_load(o->init, &err);
    if (!m) return cli_error(CMD, err.msg), NULL;
    if (o->num_classes || o->img) { /* transfer learning: a new head, another input size */
        amod_vit *r = amod_vit_reshape(m, (int)o->num_classes, (int)o->img, (uint64_t)o->mod.seed, &err);
        amod_vit_free(m);
        if (!(m = r)) return cli_error(CMD, err.msg), NULL;
    }
    amod_mod_config mod;
    if (cli_mod_build(CMD, &o->mod, amod_vit_get_config(m), amod_vit_get_mod(m), &mod)) {
        amod_vit_free(m);
        return NULL;
    }
    if (amod_vit_set_mod(m, &mod, &err)) {
        cli_error(CMD, err.msg);
        amod_vit_free(m);
        return NULL;
    }
    return m;
}

static void fill_config(options *o, const amod_dataset *train) {
    amod_train_config *c = &o->tc;
    snprintf(c->dataset, sizeof c->dataset, "%s", o->dataset);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", o->data);
    c->opt.seed = (uint64_t)o->mod.seed;
    if (o->augment) {
        c->crop_padding = 2;
        /* clothes and photographs mirror; digits do not */
        c->hflip = !strcmp(o->dataset, "fashion-mnist") || !strcmp(o->dataset, CLI_IMAGEFOLDER);
    }
    if (!o->warmup_steps_set) {
        int64_t per_epoch = c->batch_size > 0 ? train->count / c->batch_size : 0;
        c->opt.warmup_steps = (int64_t)llround(o->warmup_epochs * (double)per_epoch);
    }
}

static void print_result(const options *o, const amod_train_result *r) {
    char took[32];
    amod_format_duration(r->elapsed, took, sizeof took);
    if (r->interrupted)
        printf("%s: interrupted at step %lld after %s, checkpointed; continue with amod train --out %s --resume",
               o->out, (long long)r->steps, took, o->out);
    else if (r->complete)
        printf("%s: %lld steps, %lld epochs in %s", o->out, (long long)r->steps, (long long)r->epochs, took);
    else
        printf("%s: stopped at step %lld (--max-steps) after %s; continue with amod train --out %s --resume",
               o->out, (long long)r->steps, took, o->out);
    if (r->best_acc >= 0)
        printf("; best test accuracy %.2f%% (epoch %lld)", 100 * r->best_acc, (long long)r->best_epoch);
    if (r->test_acc >= 0) printf("; last %.2f%%", 100 * r->test_acc);
    printf("\n");
}

static int train_locked(options *o, amod_comm *comm);

/* Rank 0 holds RUN_DIR's lock for the whole command; a directory this command made is
 * removed again when it fails before writing anything into it. */
static int train_main(int argc, char **argv, amod_comm *comm) {
    options o;
    if (parse(argc, argv, &o)) return 2;
    amod_error err;
    amod_run_lock lock = {-1};
    struct stat st;
    const int root = amod_comm_is_root(comm), created = stat(o.out, &st) != 0;
    if (root && amod_run_lock_take(&lock, o.out, "amod train", &err)) return cli_error(CMD, err.msg);
    int rc = train_locked(&o, comm);
    if (root && rc && created) amod_run_lock_discard(&lock, o.out); /* kept when a checkpoint was written */
    else amod_run_lock_release(&lock);
    return rc;
}

static int train_locked(options *opts, amod_comm *comm) {
    options o = *opts;
    amod_error err;
    amod_vit *m = NULL;
    amod_train_config *c = &o.tc;
    char last[4096];
    if (o.resume) {
        /* The run's own settings; only the free options come from the command line. */
        amod_train_config saved;
        amod_train_state st;
        char path[4200];
        if (amod_checkpoint_dir(o.out, "last", last, sizeof last, &err)) return cli_error(CMD, err.msg);
        snprintf(path, sizeof path, "%s/trainer.json", last);
        if (amod_train_state_load(path, &saved, &st, &err)) return cli_error(CMD, err.msg);
        saved.max_steps = c->max_steps;
        saved.threads = c->threads;
        saved.log_every = c->log_every;
        saved.quiet = c->quiet;
        saved.check_ranks = c->check_ranks;
        saved.prefetch = c->prefetch;
        if (o.data_set) snprintf(saved.data_dir, sizeof saved.data_dir, "%s", o.data);
        *c = saved;
        o.dataset = c->dataset;
        o.data = c->data_dir;
        if (!(m = amod_vit_load(last, &err))) return cli_error(CMD, err.msg);
    } else if (o.init && !(m = init_model(&o))) {
        return 1;
    }
    int classes = 10;
    if (m) classes = amod_vit_get_config(m)->num_classes;
    else {
        amod_vit_config pc;
        if (preset_config(&o, &pc)) return 1;
        classes = pc.num_classes;
    }
    amod_dataset train = {0}, test = {0};
    const int folder = !strcmp(o.dataset, CLI_IMAGEFOLDER);
    int n_names = 0;
    char **names = m ? cli_model_labels(m, &n_names) : NULL; /* a checkpoint's classes, by name */
    int bad = cli_load_split(CMD, o.data, o.dataset, "train", classes, names, n_names, &train) ||
              cli_load_split(CMD, o.data, o.dataset, "test", classes, names ? names : (char **)amod_dataset_class_names(&train),
                             names ? n_names : train.num_classes, &test);
    free(names);
    if (bad) {
        amod_dataset_free(&train);
        amod_vit_free(m);
        return 1;
    }
    if (o.num_classes && (train.files || train.pack) && o.num_classes != train.num_classes) {
        fprintf(stderr, "amod %s: --num-classes %ld, but %s has %d classes\n", CMD, o.num_classes, o.data, train.num_classes);
        amod_dataset_free(&train);
        amod_dataset_free(&test);
        amod_vit_free(m);
        return 1;
    }
    if (!o.resume) fill_config(&o, &train);
    if (!m) m = new_model(&o, &train);
    if (m && folder && !amod_vit_label(m, 0) && train.num_classes == amod_vit_get_config(m)->num_classes &&
        amod_vit_set_labels(m, (const char *const *)amod_dataset_class_names(&train), train.num_classes, &err)) {
        cli_error(CMD, err.msg);
        amod_vit_free(m);
        m = NULL;
    }
    int rc = 1;
    if (m) {
        amod_train_result res;
        /* Ctrl-C or a TERM signal: the trainer checkpoints at the next step and returns */
        cli_catch_stop_signals();
        c->stop = &cli_stop_requested;
        c->comm = comm;
        if (amod_train(m, &train, &test, o.out, c, o.resume, &res, &err) == 0) {
            if (amod_comm_is_root(comm)) print_result(&o, &res);
            if (res.skipped) /* every rank says its own: each reads its own share of the pictures */
                fprintf(stderr, "amod %s: skipped %lld unreadable pictures (the first: %s)\n", CMD,
                        (long long)res.skipped, res.skipped_first);
            rc = res.interrupted ? 128 + (int)cli_stop_requested : 0;
        } else {
            cli_error(CMD, err.msg);
        }
    }
    amod_vit_free(m);
    amod_dataset_free(&train);
    amod_dataset_free(&test);
    return rc;
}

/* Under mpirun (Open MPI or any launcher that sets PMI_SIZE) the run is data-parallel:
 * one rank per process, the global --batch-size split evenly between them. */
int amod_cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(), 0;
    amod_comm comm;
    amod_error err;
    if (cli_ranks_join(&comm, &err)) return cli_error(CMD, err.msg);
    /* train_main reports its own errors */
    return cli_ranks_leave(CMD, &comm, train_main(argc, argv, &comm), NULL);
}
