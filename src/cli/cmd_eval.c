/* amod eval: top-1 accuracy and mean cross-entropy of a checkpoint on a data set split, with
 * its own routing or MoD options on top; --json also writes them (and FLOPs) to a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "data/dataset.h"
#include "io/json.h"
#include "model/flops.h"
#include "train/evaluate.h"
#include "train/trainer.h"

static const char *CMD = "eval";

static void usage(void) {
    printf("usage: amod eval CKPT_DIR [--data DIR] [--dataset NAME] [--split test|train|val] [MoD options]\n"
           "                 [--batch-size N] [--threads N] [--precision f32|bf16] [--json FILE]\n\n"
           "Prints top-1 accuracy and mean loss of CKPT_DIR (model.safetensors + config.json, e.g.\n"
           "RUN_DIR/best) on DIR/NAME (default data/fashion-mnist, test split). --dataset imagefolder:\n"
           "DIR/SPLIT/<class>/<images> (test: DIR/val when there is no DIR/test), classes matched\n"
           "by the checkpoint's class names.\n\n"
           "options:\n" CLI_MOD_HELP
           "  --batch-size N       images per forward pass (default 256)\n"
           "  --precision P        f32 (default) or bf16: the linear layers in bfloat16 (AVX-512 BF16)\n"
           "  --json FILE          also write the result as JSON (atomically)\n");
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
    const char *precision = "f32";
    long batch = 256, threads = 0;
    cli_mod_opts mo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
        int r = cli_mod_option(CMD, argc, argv, &i, &mo);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--data") || !strcmp(a, "--dataset") || !strcmp(a, "--split") || !strcmp(a, "--json") ||
            !strcmp(a, "--batch-size") || !strcmp(a, "--threads") || !strcmp(a, "--precision")) {
            if (!(v = cli_value(CMD, argc, argv, &i))) return 2;
            if (!strcmp(a, "--data")) data = v;
            else if (!strcmp(a, "--dataset")) dataset = v;
            else if (!strcmp(a, "--split")) split = v;
            else if (!strcmp(a, "--json")) json = v;
            else if (!strcmp(a, "--precision")) precision = v;
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
    amod_eval_result r;
    int rc = 1;
    if (cli_mod_build(CMD, &mo, amod_vit_get_config(m), amod_vit_get_mod(m), &mod) == 0 &&
        load_data(m, data, dataset, split, &ds) == 0) {
        if (amod_vit_set_mod(m, &mod, &err) ||
            amod_vit_set_precision(m, strcmp(precision, "bf16") ? AMOD_PRECISION_F32 : AMOD_PRECISION_BF16, &err) ||
            amod_flops_count(amod_vit_get_config(m), &mod, &f, &err) ||
            amod_evaluate(m, &ds, (int)batch, &r, &err) ||
            (json && write_json(json, ckpt, dataset, split, m, &r, &f, precision, &err))) {
            cli_error(CMD, err.msg);
        } else {
            printf("%s on %s %s: top-1 %.2f%% (%lld/%lld), mean loss %.4f, %.4f GMACs/image, %.1f s (%s)\n", ckpt,
                   dataset, split, 100 * r.accuracy, (long long)r.correct, (long long)r.count, r.loss, f.total / 1e9,
                   r.seconds, precision);
            rc = 0;
        }
    }
    amod_dataset_free(&ds);
    amod_vit_free(m);
    return rc;
}
