/* amod eval: top-1 accuracy and mean cross-entropy of a checkpoint on a data set split, with
 * its own routing or MoD options on top; --json also writes them (and FLOPs) to a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "data/dataset.h"
#include "io/canvas.h"
#include "io/json.h"
#include "model/flops.h"
#include "train/evaluate.h"
#include "train/trainer.h"

static const char *CMD = "eval";

static void usage(void) {
    printf("usage: amod eval CKPT_DIR [--data DIR] [--dataset NAME] [--split test|train|val] [MoD options]\n"
           "                 [--batch-size N] [--threads N] [--precision f32|bf16] [--json FILE]\n"
           "                 [--per-class] [--confusion FILE.png]\n\n"
           "Prints top-1 accuracy and mean loss of CKPT_DIR (model.safetensors + config.json, e.g.\n"
           "RUN_DIR/best) on DIR/NAME (default data/fashion-mnist, test split). --dataset imagefolder:\n"
           "DIR/SPLIT/<class>/<images> (test: DIR/val when there is no DIR/test), classes matched\n"
           "by the checkpoint's class names.\n\n"
           "options:\n" CLI_MOD_HELP
           "  --batch-size N       images per forward pass (default 256)\n"
           "  --precision P        f32 (default) or bf16: linear and attention products in bfloat16 (AVX-512 BF16)\n"
           "  --json FILE          also write the result as JSON (atomically)\n"
           "  --per-class          also print each class's accuracy (with its name when the checkpoint has one)\n"
           "  --confusion FILE.png also draw the confusion matrix (rows: labels, columns: predictions,\n"
           "                       each cell shaded by its share of the row)\n");
}

static int write_json(const char *path, const char *ckpt, const char *dataset, const char *split, amod_vit *m,
                      const amod_eval_result *r, const amod_flops *f, const char *precision, amod_error *err) {
    const amod_mod_config *mod = amod_vit_get_mod(m);
    const amod_vit_config *cfg = amod_vit_get_config(m);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "checkpoint", ckpt);
    cJSON_AddStringToObject(root, "dataset", dataset);
    cJSON_AddStringToObject(root, "split", split);
    cJSON_AddNumberToObject(root, "count", (double)r->count);
    cJSON_AddNumberToObject(root, "correct", (double)r->correct);
    cJSON_AddNumberToObject(root, "accuracy", r->accuracy);
    cJSON_AddNumberToObject(root, "loss", r->loss);
    cJSON_AddStringToObject(root, "router", amod_router_name(mod->router));
    cJSON_AddNumberToObject(root, "capacity", mod->router == AMOD_ROUTER_NONE ? 1.0 : mod->capacity);
    cJSON *layers = cJSON_AddArrayToObject(root, "mod_layers");
    for (int l = 0; l < cfg->depth && mod->router != AMOD_ROUTER_NONE; l++)
        if (mod->is_mod[l]) cJSON_AddItemToArray(layers, cJSON_CreateNumber(l));
    cJSON_AddNumberToObject(root, "depth", cfg->depth);
    cJSON_AddNumberToObject(root, "embed_dim", cfg->embed_dim);
    cJSON_AddNumberToObject(root, "macs_per_image", (double)f->total);
    cJSON_AddNumberToObject(root, "seconds", r->seconds);
    cJSON_AddStringToObject(root, "precision", precision);
    return amod_json_write(path, root, err);
}

static void print_per_class(const amod_vit *m, const int64_t *confusion) {
    const int K = amod_vit_get_config(m)->num_classes;
    for (int k = 0; k < K; k++) {
        int64_t n = 0;
        for (int j = 0; j < K; j++) n += confusion[k * K + j];
        if (!n) continue;
        const char *name = amod_vit_label(m, k);
        printf("  class %d%s%s%s: %.2f%% of %lld\n", k, name ? " (" : "", name ? name : "", name ? ")" : "",
               100.0 * confusion[k * K + k] / n, (long long)n);
    }
}

/* Cells of 12 pixels (up to 80 classes; fewer pixels for more), shaded white to blue by each
 * count's share of its row, the diagonal framed; class indices along both axes. */
static int draw_confusion(const char *path, const amod_vit *m, const int64_t *confusion, amod_error *err) {
    const int K = amod_vit_get_config(m)->num_classes, cell = K <= 80 ? 12 : K <= 400 ? 3 : 1, margin = 40;
    if ((int64_t)K * cell > 4096) return amod_fail(err, "%s: %d classes are too many to draw", path, K);
    amod_image img;
    const amod_rgb white = {255, 255, 255}, black = {0, 0, 0};
    if (amod_canvas_new(&img, margin + K * cell + 4, margin + K * cell + 4, white, err)) return -1;
    for (int y = 0; y < K; y++) {
        int64_t n = 0;
        for (int x = 0; x < K; x++) n += confusion[y * K + x];
        for (int x = 0; x < K; x++) {
            const double share = n ? (double)confusion[y * K + x] / n : 0;
            const amod_rgb c = {(unsigned char)(255 * (1 - share)), (unsigned char)(255 * (1 - 0.7 * share)), 255};
            amod_canvas_fill_rect(&img, margin + x * cell, margin + y * cell, cell, cell, c);
        }
    }
    for (int k = 0; k < K && cell >= 12; k++) {
        char s[16];
        snprintf(s, sizeof s, "%d", k);
        amod_canvas_text(&img, margin - 4 - amod_canvas_text_width(s, 1), margin + k * cell + 2, s, black, 1);
        amod_canvas_text_up(&img, margin + k * cell + 2, margin - 4, s, black, 1);
    }
    amod_canvas_text(&img, 2, 2, "label \\ prediction", black, 1);
    int rc = amod_image_write_png(path, &img, err);
    amod_image_free(&img);
    return rc;
}

/* An image folder's classes are numbered by the model's class names when it has them. */
static int load_data(const amod_vit *m, const char *data, const char *dataset, const char *split, amod_dataset *ds) {
    int n;
    char **names = cli_model_labels(m, &n);
    int rc = cli_load_split(CMD, data, dataset, split, amod_vit_get_config(m)->num_classes, names, n, ds);
    free(names);
    if (!rc && ds->num_classes > amod_vit_get_config(m)->num_classes) {
        fprintf(stderr, "amod %s: the data set has %d classes, the model only %d\n", CMD, ds->num_classes,
                amod_vit_get_config(m)->num_classes);
        rc = -1;
    }
    return rc;
}

int amod_cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = "data", *dataset = "fashion-mnist", *split = "test", *json = NULL, *v;
    const char *precision = "f32", *confusion_png = NULL;
    int per_class = 0;
    long batch = 256, threads = 0;
    cli_mod_opts mo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
        int r = cli_mod_option(CMD, argc, argv, &i, &mo);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--per-class")) {
            per_class = 1;
            continue;
        }
        if (!strcmp(a, "--data") || !strcmp(a, "--dataset") || !strcmp(a, "--split") || !strcmp(a, "--json") ||
            !strcmp(a, "--batch-size") || !strcmp(a, "--threads") || !strcmp(a, "--precision") ||
            !strcmp(a, "--confusion")) {
            if (!(v = cli_value(CMD, argc, argv, &i))) return 2;
            if (!strcmp(a, "--data")) data = v;
            else if (!strcmp(a, "--dataset")) dataset = v;
            else if (!strcmp(a, "--split")) split = v;
            else if (!strcmp(a, "--json")) json = v;
            else if (!strcmp(a, "--precision")) precision = v;
            else if (!strcmp(a, "--confusion")) confusion_png = v;
            else if (!strcmp(a, "--batch-size") && cli_parse_int(CMD, a, v, 1, 65536, &batch)) return 2;
            else if (!strcmp(a, "--threads") && cli_parse_threads(CMD, a, v, &threads)) return 2;
        } else if (cli_positional(CMD, a, &ckpt)) {
            return 2;
        }
    }
    if (!ckpt) return cli_usage_error(CMD, "CKPT_DIR is required");
    if (strcmp(precision, "f32") && strcmp(precision, "bf16"))
        return cli_usage_error(CMD, "--precision must be f32 or bf16, got '%s'", precision);
    if (strcmp(split, "test") && strcmp(split, "train") && (strcmp(split, "val") || strcmp(dataset, CLI_IMAGEFOLDER)))
        return cli_usage_error(CMD, "--split must be test or train (or val for an image folder), got '%s'", split);
    amod_set_threads((int)threads);
    amod_error err;
    amod_vit *m = amod_vit_load(ckpt, &err);
    if (!m) return cli_error(CMD, err.msg);
    amod_mod_config mod;
    amod_dataset ds = {0};
    amod_flops f;
    amod_eval_result r = {0};
    const int K = amod_vit_get_config(m)->num_classes;
    int64_t *confusion = amod_zalloc((size_t)K * K * sizeof *confusion, &err);
    int rc = 1;
    if (!confusion) {
        amod_vit_free(m);
        return cli_error(CMD, err.msg);
    }
    if (cli_mod_build(CMD, &mo, amod_vit_get_config(m), amod_vit_get_mod(m), &mod) == 0 &&
        load_data(m, data, dataset, split, &ds) == 0) {
        if (amod_vit_set_mod(m, &mod, &err) ||
            amod_vit_set_precision(m, strcmp(precision, "bf16") ? AMOD_PRECISION_F32 : AMOD_PRECISION_BF16, &err) ||
            amod_flops_count(amod_vit_get_config(m), &mod, &f, &err) ||
            amod_evaluate_confusion(m, &ds, (int)batch, &r, confusion, &err) ||
            (json && write_json(json, ckpt, dataset, split, m, &r, &f, precision, &err)) ||
            (confusion_png && draw_confusion(confusion_png, m, confusion, &err))) {
            cli_error(CMD, err.msg);
        } else {
            printf("%s on %s %s: top-1 %.2f%% (%lld/%lld), top-5 %.2f%%, mean loss %.4f, %.4f GMACs/image, %.1f s (%s)\n",
                   ckpt, dataset, split, 100 * r.accuracy, (long long)r.correct, (long long)r.count, 100 * r.accuracy5,
                   r.loss, f.total / 1e9, r.seconds, precision);
            if (per_class) print_per_class(m, confusion);
            rc = 0;
        }
    }
    free(confusion);
    amod_dataset_free(&ds);
    amod_vit_free(m);
    return rc;
}
