/* amod route: routing maps as pictures (A-MoD paper, Fig. 4). For each image and each
 * checkpoint, a row of tiles, one per MoD layer, with the patches that layer skipped
 * whitened; optionally a dump of every router score and kept token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/inputs.h"
#include "analysis/routemap.h"
#include "analysis/routing.h"
#include "cli/cli_images.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/safetensors.h"

static const char *CMD = "route";
#define MAX_ARGS 256

static void usage(void) {
    printf("usage: amod route CHECKPOINT [CHECKPOINT...] [IMAGE...] --out routes.png [options]\n\n"
           "Draws which patches each MoD layer processed: one row per image and checkpoint, the\n"
           "input first, then one tile per MoD layer with the skipped patches whitened. Arguments\n"
           "that are directories are checkpoints (config.json + model.safetensors); files are\n"
           "square PNG or JPEG images, resized and normalised as the model's config says.\n\n"
           "options:\n"
           "  --out F.png          the picture (required)\n"
           "  --dump F             router scores and kept tokens of every MoD layer: F.csv or\n"
           "                       F.safetensors\n" CLI_DATA_HELP
           "                       (default with --data: --n 8)\n"
           "  --batch B            images a forward pass (default 64)\n"
           "MoD options, applied to every checkpoint instead of its own setting:\n" CLI_MOD_HELP);
}

typedef struct {
    const char *ckpt[MAX_ARGS], *image[MAX_ARGS];
    int n_ckpt, n_image;
    const char *out, *dump;
    cli_analysis_opts an;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    o->an.batch = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_analysis_option(CMD, argc, argv, &i, &o->an);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--out")) {
            if (!(o->out = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--dump")) {
            if (!(o->dump = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error(CMD, "unknown option '%s'", a);
            return -1;
        } else {
            struct stat st;
            int is_dir = stat(a, &st) == 0 && S_ISDIR(st.st_mode);
            if ((is_dir ? o->n_ckpt : o->n_image) >= MAX_ARGS) {
                cli_usage_error(CMD, "more than %d %s", MAX_ARGS, is_dir ? "checkpoints" : "images");
                return -1;
            }
            if (is_dir) o->ckpt[o->n_ckpt++] = a;
            else o->image[o->n_image++] = a;
        }
    }
    if (!o->n_ckpt) return cli_usage_error(CMD, "no CHECKPOINT directory given"), -1;
    if (!o->out) return cli_usage_error(CMD, "--out is required"), -1;
    if (o->dump) {
        const char *dot = strrchr(o->dump, '.');
        if (!dot || (strcmp(dot, ".csv") && strcmp(dot, ".safetensors")))
            return cli_usage_error(CMD, "--dump %s: the name must end in .csv or .safetensors", o->dump), -1;
    }
    return 0;
}

/* One checkpoint's model setting, the images as it sees them and what its routers did. */
typedef struct {
    char name[128];
    amod_mod_config mod;
    int patch_size, img_size;
    amod_inputs in;
    amod_routing rt;
} run_ckpt;

static int route_one(const options *o, const char *path, const int64_t *idx, int n_idx, run_ckpt *c,
                     amod_error *err) {
    cli_base_name(path, c->name, sizeof c->name);
    amod_vit *m;
    if (cli_load_routed(CMD, path, &o->an.mod, "route it", &m, &c->mod, err)) return -1;
    const amod_vit_config *cfg = amod_vit_get_config(m);
    int rc = -1;
    c->patch_size = cfg->patch_size;
    c->img_size = cfg->img_size;
    amod_inputs_init(&c->in, cfg);
    for (int i = 0; i < o->n_image; i++)
        if (amod_inputs_add_file(&c->in, o->image[i], err)) goto done;
    if (cli_inputs_add_data(&o->an.data, m, idx, n_idx, &c->in, err))
        goto done;
    if (amod_routing_collect(m, c->in.x, c->in.count, (int)o->an.batch, &c->rt, err)) {
        amod_error e = *err;
        amod_fail(err, "%s: %s", path, e.msg);
        goto done;
    }
    rc = 0;
done:
    amod_vit_free(m);
    return rc;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static int dump_csv(const char *path, const run_ckpt *c, int n_ckpt, amod_error *err) {
    cli_text txt;
    FILE *f = cli_text_open(&txt, path, err);
    if (!f) return -1;
    fprintf(f, "image,name,label,checkpoint,router,layer,token,patch_row,patch_col,score,kept\n");
    for (int i = 0; i < c[0].in.count; i++)
        for (int j = 0; j < n_ckpt; j++) {
            const amod_routing *r = &c[j].rt;
            const int N = r->n_tokens, P = r->n_prefix, g = c[j].img_size / c[j].patch_size;
            for (int l = 0; l < r->depth; l++) {
                if (!r->k[l]) continue;
                const int32_t *kept = r->kept[l] + (size_t)i * r->k[l];
                for (int t = 0; t < N; t++) {
                    int is_kept = 0;
                    for (int q = 0; q < r->k[l]; q++) is_kept |= kept[q] == t;
                    fprintf(f, "%d,", i);
                    cli_csv_field(f, c[0].in.names[i]);
                    fprintf(f, ",%lld,", (long long)c[0].in.labels[i]);
                    cli_csv_field(f, c[j].name);
                    fprintf(f, ",%s,%d,%d,", amod_router_name(c[j].mod.router), l, t);
                    if (t < P) fprintf(f, ",,");
                    else fprintf(f, "%d,%d,", (t - P) / g, (t - P) % g);
                    fprintf(f, "%.9g,%d\n", r->scores[l][(size_t)i * N + t], is_kept);
                }
            }
        }
    return cli_text_save(&txt, path, err);
}

static int dump_safetensors(const char *path, const run_ckpt *c, int n_ckpt, amod_error *err) {
    st_writer w = {0};
    char name[96];
    const int n = c[0].in.count;
    int rc = -1;
    int64_t shape[2] = {n, 0};
    if (st_writer_add(&w, "labels", ST_I64, 1, shape, c[0].in.labels, err)) goto done;
    for (int j = 0; j < n_ckpt; j++) {
        const amod_routing *r = &c[j].rt;
        shape[1] = r->num_classes;
        snprintf(name, sizeof name, "c%d.logits", j);
        if (st_writer_add_f32(&w, name, 2, shape, r->logits, err)) goto done;
        for (int l = 0; l < r->depth; l++) {
            if (!r->k[l]) continue;
            shape[1] = r->n_tokens;
            snprintf(name, sizeof name, "c%d.layer%d.scores", j, l);
            if (st_writer_add_f32(&w, name, 2, shape, r->scores[l], err)) goto done;
            shape[1] = r->k[l];
            snprintf(name, sizeof name, "c%d.layer%d.kept", j, l);
            if (st_writer_add(&w, name, ST_I32, 2, shape, r->kept[l], err)) goto done;
        }
    }
    rc = st_writer_save(&w, path, err);
done:
    st_writer_free(&w);
    return rc;
}

/* The grid: rows image-major, a column per layer that any checkpoint routes. */
static int draw(const options *o, const run_ckpt *c, amod_error *err) {
    const int n_img = c[0].in.count, n_rows = n_img * o->n_ckpt;
    int layers[AMOD_MAX_LAYERS], n_layers = 0;
    for (int l = 0; l < AMOD_MAX_LAYERS; l++)
        for (int j = 0; j < o->n_ckpt; j++)
            if (l < c[j].rt.depth && c[j].rt.k[l]) {
                layers[n_layers++] = l;
                break;
            }
    for (int j = 1; j < o->n_ckpt; j++)
        if (c[j].img_size != c[0].img_size)
            return amod_fail(err, "%s takes %d-pixel images, %s %d: draw them separately", c[0].name, c[0].img_size,
                             c[j].name, c[j].img_size);
    amod_routemap_row *rows = amod_zalloc((size_t)n_rows * sizeof *rows, err);
    char(*text)[3][64] = amod_zalloc((size_t)n_rows * sizeof *text, err);
    int rc = -1;
    if (!rows || !text) goto done;
    for (int i = 0; i < n_img; i++)
        for (int j = 0; j < o->n_ckpt; j++) {
            const int r = i * o->n_ckpt + j;
            const run_ckpt *k = &c[j];
            const int pred = argmax(k->rt.logits + (size_t)i * k->rt.num_classes, k->rt.num_classes);
            snprintf(text[r][0], 64, "%s C=%g", amod_router_name(k->mod.router), k->mod.capacity);
            if (k->in.labels[i] >= 0) snprintf(text[r][1], 64, "label %lld pred %d", (long long)k->in.labels[i], pred);
            else snprintf(text[r][1], 64, "pred %d", pred);
            rows[r] = (amod_routemap_row){.picture = &c[0].in.pictures[i], .routing = &k->rt, .image = i,
                                          .patch_size = k->patch_size,
                                          .label = {k->name, text[r][0], c[0].in.names[i], text[r][1]}};
        }
    amod_image img = {0};
    if (amod_routemap_render(rows, n_rows, layers, n_layers, &img, err)) goto done;
    rc = amod_image_write_png(o->out, &img, err);
    if (!rc) printf("%s: %d image(s) x %d checkpoint(s), %d MoD layer(s), %dx%d pixels\n", o->out, n_img, o->n_ckpt,
                    n_layers, img.width, img.height);
    amod_image_free(&img);
done:
    free(rows);
    free(text);
    return rc;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    int64_t *idx = NULL;
    int n_idx = 0, rc = -1;
    run_ckpt *c = NULL;
    if (cli_data_indices(CMD, &o->an.data, 8, &idx, &n_idx)) {
        err->msg[0] = 0;
        return -1;
    }
    if (!o->n_image && !n_idx) {
        cli_usage_error(CMD, "no images: give IMAGE files or --data DIR");
        err->msg[0] = 0;
        goto done;
    }
    c = amod_zalloc((size_t)o->n_ckpt * sizeof *c, err);
    if (!c) goto done;
    for (int j = 0; j < o->n_ckpt; j++)
        if (route_one(o, o->ckpt[j], idx, n_idx, &c[j], err)) goto done;
    if (draw(o, c, err)) goto done;
    if (o->dump) {
        int csv = !strcmp(strrchr(o->dump, '.'), ".csv");
        if ((csv ? dump_csv : dump_safetensors)(o->dump, c, o->n_ckpt, err)) goto done;
        printf("%s: router scores and kept tokens\n", o->dump);
    }
    rc = 0;
done:
    if (c)
        for (int j = 0; j < o->n_ckpt; j++) {
            amod_inputs_free(&c[j].in);
            amod_routing_free(&c[j].rt);
        }
    free(c);
    free(idx);
    return rc;
}

int amod_cmd_route(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
