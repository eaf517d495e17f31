/* The training loop on a tiny model and a tiny in-memory data set: training lowers the
 * loss; a checkpoint loads back with identical logits and follows timm's names and config;
 * an interrupted run resumed from last/ ends bit for bit where an uninterrupted one does
 * (random router included, whose generator state the checkpoint keeps), also after a stop
 * request (Ctrl-C); a run that diverges
 * names the step and leaves last/ as it was; an interrupted checkpoint swap is recovered. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amod/amod.h"
#include "core/error.h"
#include "data/dataset.h"
#include "io/safetensors.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/trainer.h"

#define SIDE 8
#define CLASSES 4

/* Class k: brightness 60 k plus a faint texture (as tests/support/tiny_idx.sh). */
static void make_data(amod_dataset *ds, int n, int salt) {
    ds->count = n;
    ds->channels = 1, ds->height = SIDE, ds->width = SIDE, ds->num_classes = CLASSES;
    ds->pixels = malloc((size_t)n * SIDE * SIDE);
    ds->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int k = (i * 7 + salt) % CLASSES;
        ds->labels[i] = (uint8_t)k;
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                int v = 60 * k + (y * 7 + x * 13 + i * 5 + salt) % 40;
                ds->pixels[((size_t)i * SIDE + y) * SIDE + x] = (uint8_t)v;
            }
    }
}

static amod_vit *make_model(amod_router router) {
    amod_vit_config c = {0};
    strcpy(c.arch, "vit_custom");
    c.img_size = SIDE, c.patch_size = 2, c.in_chans = 1, c.num_classes = CLASSES;
    c.embed_dim = 16, c.depth = 3, c.num_heads = 2, c.mlp_hidden = 32;
    c.qkv_bias = 1, c.num_prefix = 1, c.ln_eps = 1e-6f;
    for (int i = 0; i < 3; i++) c.mean[i] = 0.25f, c.std[i] = 0.3f;
    amod_error err;
    amod_vit *m = amod_vit_create(&c, 7, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    if (m && router != AMOD_ROUTER_NONE) {
        amod_mod_config mod = {0};
        mod.router = router;
        mod.capacity = 0.5f;
        mod.seed = 9;
        amod_mod_set_start(&mod, c.depth, 1);
        CHECK(amod_vit_set_mod(m, &mod, &err) == 0, "set_mod: %s", err.msg);
    }
    return m;
}

static void config(amod_train_config *c, int epochs) {
    amod_train_config_default(c);
    c->epochs = epochs;
    c->batch_size = 16;
    c->opt.lr = 3e-3f;
    c->opt.warmup_steps = 3;
    c->opt.seed = 5;
    c->crop_padding = 1;
    c->hflip = 1;
    c->quiet = 1;
}

static void run_dir(char *out, size_t cap, const char *tag) {
    snprintf(out, cap, "/tmp/amod_test_train_%d_%s", (int)getpid(), tag);
}

static void rm_run(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static unsigned char *slurp(const char *dir, const char *file, size_t *size) {
    char path[8400];
    amod_error err;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return amod_read_file(path, size, &err);
}

static int same_file(const char *a_dir, const char *b_dir, const char *file) {
    size_t na = 0, nb = 0;
    unsigned char *a = slurp(a_dir, file, &na), *b = slurp(b_dir, file, &nb);
    int same = a && b && na == nb && !memcmp(a, b, na);
    free(a);
    free(b);
    return same;
}

static void test_loss_goes_down_and_checkpoint_reloads(const amod_dataset *train, const amod_dataset *test) {
    amod_vit *m = make_model(AMOD_ROUTER_ATTENTION);
    if (!m) return;
    amod_error err;
    amod_eval_result before, after;
    CHECK(amod_evaluate(m, train, 32, &before, &err) == 0, "eval: %s", err.msg);
    char dir[256];
    run_dir(dir, sizeof dir, "basic");
    amod_train_config c;
    config(&c, 6);
    amod_train_result res;
    CHECK(amod_train(m, train, test, dir, &c, 0, &res, &err) == 0, "train: %s", err.msg);
    CHECK(amod_evaluate(m, train, 32, &after, &err) == 0, "eval: %s", err.msg);
    CHECK(after.loss < 0.8 * before.loss, "training loss %.4f -> %.4f: should fall", before.loss, after.loss);
    CHECK(res.complete && res.epochs == 6 && res.steps == 6 * (96 / 16), "result: %d complete, %lld epochs, %lld steps",
          res.complete, (long long)res.epochs, (long long)res.steps);
    CHECK(res.best_acc >= 0 && res.best_epoch >= 1, "a best checkpoint was kept");

    /* last/ loads back with the same logits, bit for bit. */
    char last[4200];
    snprintf(last, sizeof last, "%s/last", dir);
    amod_vit *back = amod_vit_load(last, &err);
    CHECK(back != NULL, "load last: %s", err.msg);
    if (back) {
        float x[4 * SIDE * SIDE], la[4 * CLASSES], lb[4 * CLASSES];
        for (int i = 0; i < 4 * SIDE * SIDE; i++) x[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
        /* in the same mode: inference fuses GELU into fc1's product, training keeps its input */
        for (int grad = 0; grad <= 1; grad++) {
            amod_vit_set_grad_enabled(m, grad);
            amod_vit_set_grad_enabled(back, grad);
            CHECK(amod_vit_forward(m, x, 4, NULL, la, NULL, &err) == 0, "forward: %s", err.msg);
            CHECK(amod_vit_forward(back, x, 4, NULL, lb, NULL, &err) == 0, "forward: %s", err.msg);
            CHECK(!memcmp(la, lb, sizeof la), "reloaded logits differ (gradients %s)", grad ? "on" : "off");
        }
        CHECK(amod_vit_get_mod(back)->router == AMOD_ROUTER_ATTENTION && amod_vit_get_mod(back)->capacity == 0.5f,
              "MoD settings survive the checkpoint");
        amod_vit_free(back);
    }

    /* timm's tensor names, and timm's config with amod's "mod" section. */
    char path[4300];
    snprintf(path, sizeof path, "%s/model.safetensors", last);
    st_file f;
    CHECK(st_open(&f, path, &err) == 0, "open: %s", err.msg);
    const char *names[] = {"patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "pos_embed",
                           "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.bias",
                           "blocks.2.mlp.fc1.weight", "blocks.2.mlp.fc2.bias", "norm.weight", "head.weight", "head.bias"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(st_find(&f, names[i]) != NULL, "model.safetensors lacks %s", names[i]);
    CHECK(f.n == amod_vit_num_tensors(m), "%d tensors, the model has %d", f.n, amod_vit_num_tensors(m));
    st_close(&f);
    size_t size;
    unsigned char *text = slurp(last, "config.json", &size);
    cJSON *cfg = text ? cJSON_Parse((const char *)text) : NULL;
    free(text);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(cfg, "architecture")), "config.json: architecture");
    cJSON *args = cJSON_GetObjectItem(cfg, "model_args");
    CHECK(cJSON_GetObjectItem(args, "embed_dim") && cJSON_GetObjectItem(args, "depth") &&
              cJSON_GetObjectItem(args, "patch_size") && cJSON_GetObjectItem(args, "in_chans"),
          "config.json: timm model_args");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "pretrained_cfg"), "mean") != NULL, "config.json: mean");
    cJSON *mod = cJSON_GetObjectItem(cfg, "mod");
    CHECK(mod && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(mod, "router")), "attention") &&
              cJSON_GetArraySize(cJSON_GetObjectItem(mod, "mod_layers")) == 1,
          "config.json: mod section");
    cJSON_Delete(cfg);

    /* A fresh run refuses a directory that already holds one. */
    CHECK(amod_train(m, train, test, dir, &c, 0, &res, &err) != 0 && strstr(err.msg, "already"),
          "a second fresh run in the same directory: %s", err.msg);
    amod_vit_free(m);
    rm_run(dir);
}

/* Stops after `stop` steps, resumes from last/ (a new model loaded from it), and compares
 * the end with an uninterrupted run. */
static void test_resume_is_exact(const amod_dataset *train, const amod_dataset *test, amod_router router,
                                 int64_t stop) {
    char a[256], b[256], la[4200], lb[4200];
    run_dir(a, sizeof a, "whole");
    run_dir(b, sizeof b, "parts");
    amod_train_config c;
    config(&c, 3);
    c.eval_every = 2;
    amod_error err;
    amod_vit *m = make_model(router);
    CHECK(amod_train(m, train, test, a, &c, 0, NULL, &err) == 0, "uninterrupted: %s", err.msg);
    amod_vit_free(m);

    m = make_model(router);
    c.max_steps = stop;
    amod_train_result res;
    CHECK(amod_train(m, train, test, b, &c, 0, &res, &err) == 0, "first part: %s", err.msg);
    CHECK(!res.complete && res.steps == stop, "stopped at %lld, wanted %lld", (long long)res.steps, (long long)stop);
    amod_vit_free(m);
    /* A stop request (what Ctrl-C sets) checkpoints at once and returns: nothing is lost. */
    volatile sig_atomic_t stop_now = 1;
    CHECK(amod_checkpoint_dir(b, "last", lb, sizeof lb, &err) == 0, "last: %s", err.msg);
    m = amod_vit_load(lb, &err);
    c.max_steps = 0;
    c.stop = &stop_now;
    CHECK(m && amod_train(m, train, test, b, &c, 1, &res, &err) == 0, "interrupted part: %s", err.msg);
    CHECK(res.interrupted && !res.complete && res.steps == stop, "stop request: %d interrupted at %lld",
          res.interrupted, (long long)res.steps);
    c.stop = NULL;
    amod_vit_free(m);
    CHECK(amod_checkpoint_dir(b, "last", lb, sizeof lb, &err) == 0, "last: %s", err.msg);
    m = amod_vit_load(lb, &err);
    CHECK(m != NULL, "load: %s", err.msg);
    if (!m) return;
    CHECK(amod_train(m, train, test, b, &c, 1, &res, &err) == 0, "resumed: %s", err.msg);
    CHECK(res.complete && res.steps == 18, "resumed run: %lld steps", (long long)res.steps);
    amod_vit_free(m);
    snprintf(la, sizeof la, "%s/last", a);
    CHECK(same_file(la, lb, "model.safetensors"), "%s: weights differ after resuming at step %lld",
          amod_router_name(router), (long long)stop);
    CHECK(same_file(la, lb, "optimizer.st"), "%s: optimizer state differs after resuming",
          amod_router_name(router));
    rm_run(a);
    rm_run(b);
}

static void test_divergence_keeps_last(const amod_dataset *train, const amod_dataset *test) {
    char dir[256], last[4200], old[4200];
    run_dir(dir, sizeof dir, "nan");
    amod_train_config c;
    config(&c, 1);
    amod_error err;
    amod_vit *m = make_model(AMOD_ROUTER_NONE);
    CHECK(amod_train(m, train, test, dir, &c, 0, NULL, &err) == 0, "first epoch: %s", err.msg);
    amod_vit_free(m);
    snprintf(last, sizeof last, "%s/last", dir);
    snprintf(old, sizeof old, "%s/kept", dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", last, old);
    CHECK(system(cmd) == 0, "copy last/");
    /* An absurd learning rate blows the weights up within a step or two. */
    m = amod_vit_load(last, &err);
    c.epochs = 3;
    c.opt.lr = 1e30f;
    c.opt.warmup_steps = 0;
    c.ckpt_every = 0;
    int rc = m ? amod_train(m, train, test, dir, &c, 1, NULL, &err) : 0;
    CHECK(rc != 0 && strstr(err.msg, "step ") && strstr(err.msg, "nan") && strstr(err.msg, "(step 6) is kept"),
          "divergence error: %s", err.msg);
    amod_vit_free(m);
    const char *files[] = {"model.safetensors", "config.json", "optimizer.st", "trainer.json"};
    for (int i = 0; i < 4; i++) CHECK(same_file(last, old, files[i]), "last/%s changed by the failed run", files[i]);

    /* A crash between the two renames of a checkpoint swap leaves last.old only: recovered. */
    char moved[4200], got[4200];
    snprintf(moved, sizeof moved, "%s/last.old", dir);
    CHECK(rename(last, moved) == 0, "simulate the crash");
    CHECK(amod_checkpoint_dir(dir, "last", got, sizeof got, &err) == 0, "recover: %s", err.msg);
    CHECK(same_file(last, old, "model.safetensors"), "the recovered checkpoint is the old one");
    CHECK(amod_checkpoint_dir(dir, "nothing", got, sizeof got, &err) != 0 && strstr(err.msg, dir),
          "a missing checkpoint names the run: %s", err.msg);
    rm_run(dir);
}

int main(void) {
    amod_dataset train = {0}, test = {0}; /* every field, the file list too */
    make_data(&train, 96, 0);
    make_data(&test, 32, 7919);
    amod_set_threads(1);
    test_loss_goes_down_and_checkpoint_reloads(&train, &test);
    test_resume_is_exact(&train, &test, AMOD_ROUTER_NONE, 7);   /* mid-epoch */
    test_resume_is_exact(&train, &test, AMOD_ROUTER_RANDOM, 6); /* at an epoch's end */
    test_resume_is_exact(&train, &test, AMOD_ROUTER_LINEAR, 13);
    test_divergence_keeps_last(&train, &test);
    amod_dataset_free(&train);
    amod_dataset_free(&test);
    return test_summary("test_train");
}
