/* amod flops: FLOPs per image of a (MoD) ViT, per layer, with optional isoFLOP baselines. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "model/vit_config.h"
#include "model/flops.h"
#include "model/isoflop.h"

static const char *CMD = "flops";

static void usage(FILE *f) {
    fprintf(f,
            "usage: amod flops MODEL [--router R] [--capacity C] [--mod-start S | --mod-layers L]\n"
            "                        [--isoflop depth|width|width-mlp|both] [--json]\n\n"
            "FLOPs per image, counted as multiply-accumulates the way fvcore counts them\n"
            "(docs/FLOPS.md), in total and per layer.\n\n"
            "  MODEL           a preset:");
    for (int i = 0; amod_vit_preset_name(i); i++) fprintf(f, " %s", amod_vit_preset_name(i));
    fprintf(f,
            "\n"
            "  --router R      attention (A-MoD), linear, random or none (dense). Default: none,\n"
            "                  or attention when any other MoD option is given\n"
            "  --capacity C    fraction of tokens a MoD layer processes, in (0, 1]; '12.5%%' works.\n"
            "                  Default 0.5\n"
            "  --mod-start S   MoD layers S, S+2, S+4, ... (default 1, the paper's placement)\n"
            "  --mod-layers L  MoD layers as a list, e.g. 1,3,5\n"
            "  --isoflop K     also find the dense ViT with the closest FLOPs by cutting depth,\n"
            "                  width (the MLP keeps its ratio), width-mlp (width and any MLP\n"
            "                  width), or all three (both)\n"
            "  --json          machine-readable output (counts in MACs)\n");
}

/* "0.125" or "12.5%"; anything else (or a non-finite number) is refused. */
static int parse_capacity(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return -1;
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int capacity_out_of_range(double c) { return !(c > 0.0 && c <= 1.0); }

static double gmacs(int64_t macs) { return (double)macs / 1e9; }

/* "1,3,5" into buf, or "none". */
static void layer_list(const amod_flops *f, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int l = 0; l < f->depth && used < size; l++)
        if (f->layers[l].is_mod)
            used += (size_t)snprintf(buf + used, size - used, "%s%d", used ? "," : "", l);
    if (!buf[0]) snprintf(buf, size, "none");
}

typedef struct {
    const char *model;
    const amod_vit_config *cfg;
    const amod_mod_config *mod; /* NULL: dense */
    double capacity;            /* as the user wrote it, for printing */
    const amod_flops *f;
    int64_t dense_total;
    const amod_isoflop *iso;
    const amod_isoflop_kind *iso_kind;
    int n_iso;
} report;

static void print_text(const report *r) {
    const amod_flops *f = r->f;
    const amod_vit_config *c = r->cfg;
    printf("%s: %d tokens (%d prefix), depth %d, width %d, %d heads, mlp %d\n", r->model, f->n_tokens,
           c->num_prefix, c->depth, c->embed_dim, c->num_heads, c->mlp_hidden);
    if (r->mod) {
        char layers[4 * AMOD_MAX_LAYERS];
        layer_list(f, layers, sizeof layers);
        printf("routing: %s router, capacity %g -> %d of %d tokens, MoD layers %s\n",
               amod_router_name(r->mod->router), r->capacity,
               amod_mod_tokens(r->mod->capacity, f->n_tokens, c->num_prefix), f->n_tokens, layers);
    } else {
        printf("routing: none (dense)\n");
    }
    printf("FLOPs per image in GMACs: multiply-accumulates, what fvcore and the A-MoD paper call FLOPs\n\n");
    printf("%-11s %6s %10s %12s %9s %9s %9s %9s\n", "layer", "tokens", "attn_proj", "attn_scores",
           "mlp", "norm", "router", "total");
    amod_layer_flops sum = {0};
    for (int l = 0; l < f->depth; l++) {
        const amod_layer_flops *x = &f->layers[l];
        char name[16];
        snprintf(name, sizeof name, "%2d %s", l, x->is_mod ? "mod" : "dense");
        printf("%-11s %6d %10.4f %12.4f %9.4f %9.4f %9.4f %9.4f\n", name, x->tokens, gmacs(x->attn_proj),
               gmacs(x->attn_scores), gmacs(x->mlp), gmacs(x->norm), gmacs(x->router), gmacs(x->total));
        sum.attn_proj += x->attn_proj;
        sum.attn_scores += x->attn_scores;
        sum.mlp += x->mlp;
        sum.norm += x->norm;
        sum.router += x->router;
        sum.total += x->total;
    }
    printf("%-11s %6s %10.4f %12.4f %9.4f %9.4f %9.4f %9.4f\n", "blocks", "", gmacs(sum.attn_proj),
           gmacs(sum.attn_scores), gmacs(sum.mlp), gmacs(sum.norm), gmacs(sum.router), gmacs(sum.total));
    printf("%-11s %6s %63.4f\n", "patch_embed", "", gmacs(f->patch_embed));
    printf("%-11s %6s %63.4f\n", "final_norm", "", gmacs(f->final_norm));
    printf("%-11s %6s %63.4f\n", "head", "", gmacs(f->head));
    printf("%-11s %6s %63.4f\n", "total", "", gmacs(f->total));
    if (r->mod)
        printf("\ndense model: %.4f GMACs; this one needs %.1f%% of it\n", gmacs(r->dense_total),
               100.0 * (double)f->total / (double)r->dense_total);
    for (int i = 0; i < r->n_iso; i++) {
        const amod_isoflop *s = &r->iso[i];
        if (i == 0) printf("\n");
        printf("isoFLOP by %s: depth %d, width %d, %d heads, mlp %d: %.4f GMACs (%+.1f%% vs %.4f)\n",
               amod_isoflop_kind_name(r->iso_kind[i]), s->cfg.depth, s->cfg.embed_dim, s->cfg.num_heads,
               s->cfg.mlp_hidden, gmacs(s->macs),
               100.0 * ((double)s->macs - (double)s->target) / (double)s->target, gmacs(s->target));
    }
}

static cJSON *layer_json(int l, const amod_layer_flops *x) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "layer", l);
    cJSON_AddBoolToObject(o, "mod", x->is_mod);
    cJSON_AddNumberToObject(o, "tokens", x->tokens);
    cJSON_AddNumberToObject(o, "attn_proj", (double)x->attn_proj);
    cJSON_AddNumberToObject(o, "attn_scores", (double)x->attn_scores);
    cJSON_AddNumberToObject(o, "mlp", (double)x->mlp);
    cJSON_AddNumberToObject(o, "norm", (double)x->norm);
    cJSON_AddNumberToObject(o, "router", (double)x->router);
    cJSON_AddNumberToObject(o, "total", (double)x->total);
    return o;
}

/* Counts are exact integers (below 2^53, so a double holds them) in MACs per image. */
static int print_json(const report *r) {
    const amod_flops *f = r->f;
    const amod_vit_config *c = r->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddStringToObject(o, "unit", "MACs per image");
    cJSON_AddNumberToObject(o, "n_tokens", f->n_tokens);
    cJSON_AddNumberToObject(o, "num_prefix", c->num_prefix);
    cJSON_AddNumberToObject(o, "depth", c->depth);
    cJSON_AddNumberToObject(o, "embed_dim", c->embed_dim);
    cJSON_AddNumberToObject(o, "num_heads", c->num_heads);
    cJSON_AddNumberToObject(o, "mlp_hidden", c->mlp_hidden);
    cJSON_AddStringToObject(o, "router", amod_router_name(r->mod ? r->mod->router : AMOD_ROUTER_NONE));
    cJSON_AddNumberToObject(o, "capacity", r->mod ? r->capacity : 1.0);
    cJSON_AddNumberToObject(o, "mod_tokens",
                            r->mod ? amod_mod_tokens(r->mod->capacity, f->n_tokens, c->num_prefix) : f->n_tokens);
    cJSON *mods = cJSON_AddArrayToObject(o, "mod_layers");
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int l = 0; l < f->depth; l++) {
        if (f->layers[l].is_mod) cJSON_AddItemToArray(mods, cJSON_CreateNumber(l));
        cJSON_AddItemToArray(layers, layer_json(l, &f->layers[l]));
    }
    cJSON_AddNumberToObject(o, "patch_embed", (double)f->patch_embed);
    cJSON_AddNumberToObject(o, "final_norm", (double)f->final_norm);
    cJSON_AddNumberToObject(o, "head", (double)f->head);
    cJSON_AddNumberToObject(o, "total", (double)f->total);
    cJSON_AddNumberToObject(o, "total_gmacs", gmacs(f->total));
    cJSON_AddNumberToObject(o, "dense_total", (double)r->dense_total);
    cJSON *isos = cJSON_AddArrayToObject(o, "isoflop");
    for (int i = 0; i < r->n_iso; i++) {
        const amod_isoflop *s = &r->iso[i];
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "kind", amod_isoflop_kind_name(r->iso_kind[i]));
        cJSON_AddNumberToObject(b, "depth", s->cfg.depth);
        cJSON_AddNumberToObject(b, "embed_dim", s->cfg.embed_dim);
        cJSON_AddNumberToObject(b, "num_heads", s->cfg.num_heads);
        cJSON_AddNumberToObject(b, "mlp_hidden", s->cfg.mlp_hidden);
        cJSON_AddNumberToObject(b, "total", (double)s->macs);
        cJSON_AddNumberToObject(b, "target", (double)s->target);
        cJSON_AddNumberToObject(b, "rel_diff", ((double)s->macs - (double)s->target) / (double)s->target);
        cJSON_AddItemToArray(isos, b);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return cli_fail(CMD, 2, "out of memory writing JSON");
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

int amod_cmd_flops(int argc, char **argv) {
    const char *model = NULL, *router_s = NULL, *cap_s = NULL, *start_s = NULL, *list_s = NULL, *iso_s = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((v = cli_named_value(argc, argv, &i, "--router", &missing))) {
            router_s = v;
        } else if ((v = cli_named_value(argc, argv, &i, "--capacity", &missing))) {
            cap_s = v;
        } else if ((v = cli_named_value(argc, argv, &i, "--mod-start", &missing))) {
            start_s = v;
        } else if ((v = cli_named_value(argc, argv, &i, "--mod-layers", &missing))) {
            list_s = v;
        } else if ((v = cli_named_value(argc, argv, &i, "--isoflop", &missing))) {
            iso_s = v;
        } else if (missing) {
            return cli_fail(CMD, 2, "%s needs a value", a);
        } else if (a[0] == '-' && a[1]) {
            return cli_fail(CMD, 2, "unknown option '%s' (amod flops --help lists them)", a);
        } else if (model) {
            return cli_fail(CMD, 2, "one MODEL only, got '%s' and '%s'", model, a);
        } else {
            model = a;
        }
    }
    if (!model) return cli_fail(CMD, 2, "no MODEL given (amod flops --help)");

    amod_error err = {0};
    amod_vit_config cfg;
    if (amod_vit_preset(model, &cfg, &err)) {
        struct stat st;
        if (stat(model, &st) == 0 && S_ISDIR(st.st_mode)) { /* a checkpoint directory */
            char path[4096];
            snprintf(path, sizeof path, "%s/config.json", model);
            if (amod_config_load(path, &cfg, NULL, &err)) return cli_fail(CMD, 2, "%s", err.msg);
        } else {
            return cli_fail(CMD, 2, "%s", err.msg);
        }
    }

    amod_router router = AMOD_ROUTER_NONE;
    if (router_s && amod_router_parse(router_s, &router))
        return cli_fail(CMD, 2, "unknown router '%s' (known: attention, linear, random, none)", router_s);
    int wants_mod = cap_s || start_s || list_s;
    if (router_s && router == AMOD_ROUTER_NONE && wants_mod)
        return cli_fail(CMD, 2, "--router none is dense; it takes no --capacity, --mod-start or --mod-layers");
    if (!router_s && wants_mod) router = AMOD_ROUTER_ATTENTION;
    if (start_s && list_s) return cli_fail(CMD, 2, "give either --mod-start or --mod-layers, not both");

    amod_mod_config mod;
    memset(&mod, 0, sizeof mod);
    mod.router = router;
    double capacity = 0.5;
    if (cap_s && parse_capacity(cap_s, &capacity))
        return cli_fail(CMD, 2, "--capacity '%s' is not a number (e.g. 0.125 or 12.5%%)", cap_s);
    /* Checked as a double: 1e300 would not survive the conversion to float. */
    if (capacity_out_of_range(capacity)) return cli_fail(CMD, 2, "capacity %g is outside (0, 1]", capacity);
    mod.capacity = (float)capacity;
    if (mod.capacity == 0.0f) return cli_fail(CMD, 2, "capacity %g is too small to represent as a float", capacity);
    if (list_s) {
        if (amod_mod_set_list(&mod, cfg.depth, list_s, &err)) return cli_fail(CMD, 2, "%s", err.msg);
    } else {
        long start = 1;
        if (start_s && cli_strtol(start_s, INT_MIN, INT_MAX, &start))
            return cli_fail(CMD, 2, "--mod-start '%s' is not a layer number", start_s);
        if (start < 0 || start >= cfg.depth)
            return cli_fail(CMD, 2, "--mod-start %ld is outside [0, %d] for depth %d", start, cfg.depth - 1,
                            cfg.depth);
        amod_mod_set_start(&mod, cfg.depth, (int)start);
    }
    int routed = router != AMOD_ROUTER_NONE;
    if (routed && amod_mod_validate(&mod, &cfg, &err)) return cli_fail(CMD, 2, "%s", err.msg);

    amod_flops f, dense;
    if (amod_flops_count(&cfg, routed ? &mod : NULL, &f, &err) || amod_flops_count(&cfg, NULL, &dense, &err))
        return cli_fail(CMD, 2, "%s", err.msg);

    amod_isoflop iso[3];
    amod_isoflop_kind kinds[3];
    int n_iso = 0;
    if (iso_s) {
        if (!strcmp(iso_s, "both")) {
            kinds[n_iso++] = AMOD_ISOFLOP_DEPTH;
            kinds[n_iso++] = AMOD_ISOFLOP_WIDTH;
            kinds[n_iso++] = AMOD_ISOFLOP_WIDTH_MLP;
        } else if (amod_isoflop_kind_parse(iso_s, &kinds[0]) == 0) {
            n_iso = 1;
        } else {
            return cli_fail(CMD, 2, "--isoflop '%s' is not one of depth, width, width-mlp, both", iso_s);
        }
        for (int i = 0; i < n_iso; i++)
            if (amod_isoflop_baseline(&cfg, routed ? &mod : NULL, kinds[i], &iso[i], &err))
                return cli_fail(CMD, 2, "%s", err.msg);
    }

    report r = {model, &cfg, routed ? &mod : NULL, capacity, &f, dense.total, iso, kinds, n_iso};
    if (json) return print_json(&r);
    print_text(&r);
    return 0;
}
