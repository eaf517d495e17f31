/* amod adapt: turns a dense checkpoint into a MoD one without training (or, with
 * --drop-layers, into the shallower dense model of the layer-dropping baseline). The attention router
 * (A-MoD) adds no parameters: its scores are the attention the previous layer already
 * computes. The linear router adds blocks.{l}.router.weight, initialised trunc-normal
 * (std 0.02, seeded by --seed) as the engine and Raposo et al. do (docs/TRAINING.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/runlock.h"

static const char *CMD = "adapt";

static void usage(void) {
    printf("usage: amod adapt CKPT_DIR --out DIR --router attention|linear [--capacity C]\n"
           "                  [--mod-start S | --mod-layers L] [--seed N]\n"
           "       amod adapt CKPT_DIR --out DIR --drop-layers 1,3,5\n\n"
           "Writes DIR/model.safetensors and DIR/config.json: the checkpoint's weights with MoD routing\n"
           "(config.json's \"mod\" section). Fine-tune it with amod train --init DIR.\n\n"
           "options:\n" CLI_MOD_HELP
           "  --seed N             initialisation of new linear router weights (default 0)\n"
           "  --drop-layers L      instead of routing: the dense model without blocks L (the\n"
           "                       layer-dropping baseline; fine-tune it like the MoD models)\n");
}

/* --drop-layers: the list is parsed as a MoD layer list is (in range, no repeats). */
static int drop_layers(const amod_vit *m, const char *in, const char *list, const char *out) {
    const amod_vit_config *cfg = amod_vit_get_config(m);
    amod_mod_config which = {0};
    amod_error err;
    amod_vit *shallow = NULL;
    int rc = 1;
    if (amod_mod_set_list(&which, cfg->depth, list, &err) || !(shallow = amod_vit_drop_layers(m, which.is_mod, &err)) ||
        amod_vit_save(shallow, out, &err)) {
        fprintf(stderr, "amod %s: --drop-layers %s: %s\n", CMD, list, err.msg);
    } else {
        printf("%s: %d of %d blocks kept (dropped %s), dense -> %s\n", in, amod_vit_get_config(shallow)->depth,
               cfg->depth, list, out);
        rc = 0;
    }
    amod_vit_free(shallow);
    return rc;
}

int amod_cmd_adapt(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *drop = NULL;
    cli_mod_opts mo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
        int r = cli_mod_option(CMD, argc, argv, &i, &mo);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--out")) {
            if (!(out = cli_value(CMD, argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--drop-layers")) {
            if (!(drop = cli_value(CMD, argc, argv, &i))) return 2;
        } else if (cli_positional(CMD, a, &in)) {
            return 2;
        }
    }
    if (!in || !out) return cli_usage_error(CMD, "CKPT_DIR and --out DIR are required");
    if (drop && mo.router_set) return cli_usage_error(CMD, "give --router or --drop-layers, not both");
    if (!drop && (!mo.router_set || mo.router == AMOD_ROUTER_NONE))
        return cli_usage_error(CMD, "--router attention|linear|random (or --drop-layers) is required");
    char path[4200];
    struct stat st;
    /* the output directory is this command's alone while it writes (the check under the lock) */
    const int created = stat(out, &st) != 0;
    amod_error err;
    amod_run_lock lock;
    if (amod_run_lock_take(&lock, out, "amod adapt", &err)) return cli_error(CMD, err.msg);
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    amod_vit *m = NULL;
    int rc = 1;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "amod %s: %s already holds a model; choose another --out\n", CMD, out);
        goto done;
    }
    if (!(m = amod_vit_load(in, &err))) {
        cli_error(CMD, err.msg);
        goto done;
    }
    if (drop) {
        rc = drop_layers(m, in, drop, out);
        goto done;
    }
    amod_mod_config mod;
    if (cli_mod_build(CMD, &mo, amod_vit_get_config(m), amod_vit_get_mod(m), &mod) == 0) {
        if (amod_vit_set_mod(m, &mod, &err) || amod_vit_save(m, out, &err)) {
            cli_error(CMD, err.msg);
        } else {
            int N = amod_vit_num_tokens(amod_vit_get_config(m));
            printf("%s: %s router, capacity %g (%d of %d tokens) -> %s\n", in, amod_router_name(mod.router),
                   (double)mod.capacity, amod_mod_tokens(mod.capacity, N, 1), N, out);
            rc = 0;
        }
    }
done:
    if (rc && created) amod_run_lock_discard(&lock, out); /* leave no empty directory behind */
    else amod_run_lock_release(&lock);
    amod_vit_free(m);
    return rc;
}
