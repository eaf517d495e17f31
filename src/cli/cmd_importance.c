/* amod importance: leave-one-out token importance on the dense model and its correlation
 * with the router scores of the MoD model, per MoD layer (A-MoD paper, Fig. 5). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/importance.h"
#include "analysis/inputs.h"
#include "analysis/objects.h"
#include "cli/cli_images.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/plot.h"

static const char *CMD = "importance";
#define MAX_CKPT 8
#define TOKEN_BUDGET 4096 /* tokens a forward pass by default: bounds activation memory */

static void usage(void) {
    printf("usage: amod importance CHECKPOINT [CHECKPOINT...] --data DIR [options]\n\n"
           "For every image and non-prefix token: the change in the dense model's loss (same\n"
           "weights, router none) when the token is removed from the sequence (--measure input),\n"
           "or, per MoD layer l, when the token skips block l (--measure skip: it neither queries\n"
           "nor is attended to there and passes on unchanged, the decision a MoD layer makes at l;\n"
           "the other layers run dense). Then, per MoD\n"
           "layer, Pearson's and Spearman's correlation (two-sided p-values) between the MoD\n"
           "model's router scores on the full sequence and that importance, over all tokens of\n"
           "all images; and per image (the unit that is resampled): Spearman's rho averaged over\n"
           "images and precision@k (the share of the k most important tokens the router keeps, k\n"
           "= the layer's kept tokens; a random router's expectation is k / tokens), each with a\n"
           "95%% percentile bootstrap interval over images (2000 draws). Give an A-MoD and a\n"
           "linear-router checkpoint to compare the two.\n\n"
           "options:\n" CLI_DATA_HELP
           "                       (default --n 500)\n"
           "  --out-dir DIR        where tokens.csv, correlation.csv, pearson.png and\n"
           "                       spearman.png go (default: importance)\n"
           "  --batch B            sequences a forward pass (default: %d tokens' worth)\n"
           "  --measure M          input (default) | skip\n"
           "  --dense CKPT         measure importance on this (pretrained dense) model for every\n"
           "                       checkpoint, instead of each checkpoint's own weights run dense\n"
           "  --boxes F            object boxes (amod data cluttered's SPLIT/boxes.csv), with\n"
           "                       --dataset imagefolder: per MoD layer, the share of kept patches\n"
           "                       whose centre is on the object, beside a random router's share\n"
           "MoD options, applied to every checkpoint instead of its own setting:\n" CLI_MOD_HELP,
           TOKEN_BUDGET);
}

typedef struct {
    const char *ckpt[MAX_CKPT];
    int n_ckpt;
    const char *out_dir, *dense, *boxes;
    int skip; /* --measure skip */
    cli_analysis_opts an;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    o->out_dir = "importance";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_analysis_option(CMD, argc, argv, &i, &o->an);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--out-dir")) {
            if (!(o->out_dir = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--measure")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v) return -1;
            if (strcmp(v, "input") && strcmp(v, "skip"))
                return cli_usage_error(CMD, "--measure must be input or skip, got '%s'", v), -1;
            o->skip = !strcmp(v, "skip");
        } else if (!strcmp(a, "--dense")) {
            if (!(o->dense = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--boxes")) {
            if (!(o->boxes = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(CMD, "unknown option '%s'", a), -1;
        } else {
            if (o->n_ckpt >= MAX_CKPT) return cli_usage_error(CMD, "more than %d checkpoints", MAX_CKPT), -1;
            o->ckpt[o->n_ckpt++] = a;
        }
    }
    if (!o->n_ckpt) return cli_usage_error(CMD, "no CHECKPOINT given"), -1;
    if (!o->an.data.dir) return cli_usage_error(CMD, "--data DIR is required (the loss needs labels)"), -1;
    if (o->boxes && !o->an.data.folder)
        return cli_usage_error(CMD, "--boxes needs the image folder they describe (--dataset imagefolder)"), -1;
    return 0;
}

/* One checkpoint's results. */
typedef struct {
    char name[128];
    amod_mod_config mod;
    amod_routing rt;
    float *importance; /* [n, N]: --measure input; NULL with skip */
    float *layer_imp[AMOD_MAX_LAYERS]; /* --measure skip: [n, N] for each MoD layer */
    float *loss;       /* [n] dense loss of the full image */
    amod_corr pearson[AMOD_MAX_LAYERS], spearman[AMOD_MAX_LAYERS];
    amod_interval image_rho[AMOD_MAX_LAYERS], precision[AMOD_MAX_LAYERS]; /* per image, bootstrapped */
    int k[AMOD_MAX_LAYERS];                                               /* precision@k's k */
    /* --boxes: the share of kept patches on the object, a random router's share, and the
     * paired per-image difference of the two */
    amod_interval object[AMOD_MAX_LAYERS], object_chance[AMOD_MAX_LAYERS], object_excess[AMOD_MAX_LAYERS];
    double mod_acc, dense_loss;
    int borrowed; /* importance, layer_imp and loss are the --dense model's (dense_ref) */
} result;

#define BOOTSTRAP_DRAWS 2000

typedef struct {
    const char *name;
    int last_tenth;
} progress_state;

/* One line on stderr per tenth of the images: the leave-one-out passes are the slow part. */
static void progress(int done, int total, void *ctx) {
    progress_state *p = ctx;
    int tenth = (int)(10L * done / total);
    if (done == total || tenth != p->last_tenth) fprintf(stderr, "  %s: %d/%d images\n", p->name, done, total);
    p->last_tenth = tenth;
}

/* The importance MoD layer l is scored against. */
static const float *importance_of(const result *r, int l) { return r->layer_imp[l] ? r->layer_imp[l] : r->importance; }

/* The object boxes (--boxes) with their file's name. */
typedef struct {
    amod_boxes b;
    const char *path;
} boxes_ref;

/* Per image object precision of MoD layer l (the images' boxes in rect) and its intervals. */
static int object_stats(result *r, int l, const amod_inputs *in, const double (*rect)[4], double *on, double *chance,
                        amod_error *err) {
    const size_t n = (size_t)in->count;
    if (amod_object_precision(&r->rt, l, in->size, rect, on, chance, err) ||
        amod_bootstrap_mean(on, n, BOOTSTRAP_DRAWS, 0.95, 3000 + (uint64_t)l, &r->object[l], err) ||
        amod_bootstrap_mean(chance, n, BOOTSTRAP_DRAWS, 0.95, 4000 + (uint64_t)l, &r->object_chance[l], err))
        return -1;
    for (size_t i = 0; i < n; i++) on[i] -= chance[i]; /* paired: the same image's expectation */
    return amod_bootstrap_mean(on, n, BOOTSTRAP_DRAWS, 0.95, 5000 + (uint64_t)l, &r->object_excess[l], err);
}

/* Per image Spearman and precision@k of every MoD layer (and object precision with boxes),
 * with their bootstrap intervals. */
static int image_stats(result *r, const amod_inputs *in, const double (*rect)[4], amod_error *err) {
    const int n_images = in->count;
    double *rho = amod_alloc(4 * (size_t)n_images * sizeof *rho, err);
    if (!rho) return -1;
    double *prec = rho + n_images, *on = prec + n_images, *chance = on + n_images;
    int rc = 0;
    for (int l = 0; l < r->rt.depth && !rc; l++) {
        if (!r->rt.k[l]) continue;
        rc = amod_importance_by_image(&r->rt, l, importance_of(r, l), rho, prec, &r->k[l], err) ||
                     amod_bootstrap_mean(rho, (size_t)n_images, BOOTSTRAP_DRAWS, 0.95, 1000 + (uint64_t)l,
                                         &r->image_rho[l], err) ||
                     amod_bootstrap_mean(prec, (size_t)n_images, BOOTSTRAP_DRAWS, 0.95, 2000 + (uint64_t)l,
                                         &r->precision[l], err) ||
                     (rect && object_stats(r, l, in, rect, on, chance, err))
                 ? -1
                 : 0;
    }
    free(rho);
    return rc;
}

/* Importance on a given dense model (--dense): loaded once, and its passes (the slow part)
 * made once for every checkpoint: the checkpoints' results borrow these arrays. */
typedef struct {
    amod_vit *m;
    const char *path;
    float *importance, *layer_imp[AMOD_MAX_LAYERS], *loss; /* NULL until a checkpoint needs them */
    float mean[3], std[3]; /* the normalisation of the inputs they were measured on */
} dense_ref;

static void dense_ref_free(dense_ref *ref) {
    amod_vit_free(ref->m);
    free(ref->importance);
    for (int l = 0; l < AMOD_MAX_LAYERS; l++) free(ref->layer_imp[l]);
    free(ref->loss);
}

/* The importance on ref's dense model for r's MoD layers (or the input measure), measured when
 * no earlier checkpoint needed it; r borrows the arrays. Without --dense, ref is made for the
 * one checkpoint (its own weights run dense) and r then takes the arrays over. */
static int dense_ref_measure(dense_ref *ref, const amod_inputs *in, int batch, int skip, result *r, progress_state *ps,
                             amod_error *err) {
    const int N = r->rt.n_tokens;
    if (!ref->loss) {
        if (!(ref->loss = amod_alloc((size_t)in->count * sizeof *ref->loss, err))) return -1;
        memcpy(ref->mean, in->mean, sizeof ref->mean);
        memcpy(ref->std, in->std, sizeof ref->std);
    } else if (memcmp(ref->mean, in->mean, sizeof ref->mean) || memcmp(ref->std, in->std, sizeof ref->std)) {
        return amod_fail(err, "normalises its inputs unlike the checkpoint before it: give the checkpoints of one "
                              "normalisation to one amod importance --dense run");
    }
    if (!skip && !ref->importance) {
        ref->importance = amod_alloc((size_t)in->count * N * sizeof *ref->importance, err);
        if (!ref->importance || amod_token_importance(ref->m, in->x, in->labels, in->count, batch, ref->importance,
                                                      ref->loss, progress, ps, err))
            return -1;
    }
    for (int l = 0; skip && l < r->rt.depth; l++) {
        if (!r->rt.k[l] || ref->layer_imp[l]) continue;
        ref->layer_imp[l] = amod_alloc((size_t)in->count * N * sizeof *ref->layer_imp[l], err);
        if (!ref->layer_imp[l] || amod_token_skip_importance(ref->m, in->x, in->labels, in->count, l, batch,
                                                             ref->layer_imp[l], ref->loss, progress, ps, err))
            return -1;
    }
    r->borrowed = 1;
    r->loss = ref->loss;
    r->importance = skip ? NULL : ref->importance;
    for (int l = 0; skip && l < r->rt.depth; l++) r->layer_imp[l] = r->rt.k[l] ? ref->layer_imp[l] : NULL;
    return 0;
}

/* Routing of the MoD model, then importance on the same weights made dense (or on the
 * --dense model), then the correlations; errors name the checkpoint. */
static int measure(amod_vit *m, const char *path, const amod_inputs *in, int batch, dense_ref *ref,
                   const double (*rect)[4], int skip, result *r, amod_error *err) {
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const int N = amod_vit_num_tokens(cfg), K = cfg->num_classes;
    if (amod_routing_collect(m, in->x, in->count, batch, &r->rt, err)) goto fail;
    int correct = 0;
    for (int i = 0; i < in->count; i++) {
        const float *z = r->rt.logits + (size_t)i * K;
        int best = 0;
        for (int c = 1; c < K; c++) best = z[c] > z[best] ? c : best;
        correct += best == in->labels[i];
    }
    r->mod_acc = (double)correct / in->count;
    /* The same weights, every layer dense: the model whose loss defines importance. */
    amod_mod_config dense = r->mod;
    dense.router = AMOD_ROUTER_NONE;
    progress_state ps = {r->name, 0};
    if (ref->m) {
        const amod_vit_config *dc = amod_vit_get_config(ref->m);
        if (amod_vit_num_tokens(dc) != N || dc->num_classes != K || dc->img_size != cfg->img_size ||
            dc->in_chans != cfg->in_chans) {
            amod_fail(err, "--dense %s has %d tokens, %d classes, %d px images; this checkpoint %d, %d, %d", ref->path,
                      amod_vit_num_tokens(dc), dc->num_classes, dc->img_size, N, K, cfg->img_size);
            goto fail;
        }
        if (dense_ref_measure(ref, in, batch, skip, r, &ps, err)) goto fail;
    } else {
        if (amod_vit_set_mod(m, &dense, err)) goto fail;
        dense_ref own = {.m = m, .path = path};
        const int rc = dense_ref_measure(&own, in, batch, skip, r, &ps, err);
        /* r owns what was measured (also after a failure, to free it) */
        r->borrowed = 0, r->loss = own.loss, r->importance = own.importance;
        memcpy(r->layer_imp, own.layer_imp, sizeof r->layer_imp);
        if (rc) goto fail;
    }
    r->dense_loss = 0.0;
    for (int i = 0; i < in->count; i++) r->dense_loss += r->loss[i] / in->count;
    for (int l = 0; l < cfg->depth; l++)
        if (r->rt.k[l] &&
            amod_importance_correlate(&r->rt, l, importance_of(r, l), &r->pearson[l], &r->spearman[l], err))
            goto fail;
    if (image_stats(r, in, rect, err)) goto fail;
    return 0;
fail:;
    amod_error e = *err;
    return amod_fail(err, "%s: %s", path, e.msg);
}

static int analyse(const options *o, const char *path, const int64_t *idx, int n_idx, dense_ref *ref,
                   const boxes_ref *bx, result *r, amod_error *err) {
    cli_base_name(path, r->name, sizeof r->name);
    amod_vit *m;
    if (cli_load_routed(CMD, path, &o->an.mod, "score its tokens", &m, &r->mod, err)) return -1;
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const int N = amod_vit_num_tokens(cfg);
    amod_inputs in;
    amod_inputs_init(&in, cfg);
    double(*rect)[4] = NULL; /* --boxes: each image's box in input pixels */
    int rc = -1;
    if (cli_inputs_add_data(&o->an.data, m, idx, n_idx, &in, err))
        goto done; /* the message names the file */
    if (bx->path && (!(rect = amod_alloc((size_t)in.count * sizeof *rect, err)) ||
                     amod_boxes_place(&bx->b, &in, bx->path, rect, err)))
        goto done;
    int batch = o->an.batch ? (int)o->an.batch : (TOKEN_BUDGET / N > 0 ? TOKEN_BUDGET / N : 1);
    if (measure(m, path, &in, batch, ref, (const double(*)[4])rect, o->skip, r, err)) goto done;
    rc = 0;
done:
    free(rect);
    amod_inputs_free(&in);
    amod_vit_free(m);
    return rc;
}

static int write_tokens(const char *path, const result *r, int n_ckpt, const int64_t *idx, const int *layers,
                        int n_layers, amod_error *err) {
    cli_text txt;
    FILE *f = cli_text_open(&txt, path, err);
    if (!f) return -1;
    const int skip = !r[0].importance;
    fprintf(f, "checkpoint,router,image,token,dense_loss,importance");
    for (int c = 0; c < n_layers; c++) fprintf(f, ",score_layer%d", layers[c]);
    for (int c = 0; skip && c < n_layers; c++) fprintf(f, ",skip_importance_layer%d", layers[c]);
    fputc('\n', f);
    for (int j = 0; j < n_ckpt; j++) {
        const amod_routing *rt = &r[j].rt;
        const int N = rt->n_tokens;
        for (int i = 0; i < rt->n_images; i++)
            for (int t = rt->n_prefix; t < N; t++) {
                fprintf(f, "%s,%s,%lld,%d,%.7g,", r[j].name, amod_router_name(r[j].mod.router), (long long)idx[i], t,
                        r[j].loss[i]);
                if (!skip) fprintf(f, "%.7g", r[j].importance[(size_t)i * N + t]);
                for (int c = 0; c < n_layers; c++) {
                    const float *s = layers[c] < rt->depth ? rt->scores[layers[c]] : NULL;
                    if (s) fprintf(f, ",%.7g", s[(size_t)i * N + t]);
                    else fputc(',', f);
                }
                for (int c = 0; skip && c < n_layers; c++) {
                    const float *s = layers[c] < rt->depth ? r[j].layer_imp[layers[c]] : NULL;
                    if (s) fprintf(f, ",%.7g", s[(size_t)i * N + t]);
                    else fputc(',', f);
                }
                fputc('\n', f);
            }
    }
    return cli_text_save(&txt, path, err);
}

static int write_correlation(const char *path, const result *r, int n_ckpt, amod_error *err) {
    cli_text txt;
    FILE *f = cli_text_open(&txt, path, err);
    if (!f) return -1;
    fprintf(f, "checkpoint,router,capacity,layer,n,pearson_r,pearson_p,spearman_rho,spearman_p,"
               "image_rho_mean,image_rho_lo,image_rho_hi,k,precision_at_k,precision_lo,precision_hi,random_precision,"
               "measure,object_precision,object_lo,object_hi,object_chance,object_excess,object_excess_lo,"
               "object_excess_hi\n");
    for (int j = 0; j < n_ckpt; j++)
        for (int l = 0; l < r[j].rt.depth; l++)
            if (r[j].rt.k[l]) {
                const amod_interval *ir = &r[j].image_rho[l], *pk = &r[j].precision[l];
                fprintf(f, "%s,%s,%g,%d,%zu,%.6f,%.6g,%.6f,%.6g,%.6f,%.6f,%.6f,%d,%.6f,%.6f,%.6f,%.6f,%s", r[j].name,
                        amod_router_name(r[j].mod.router), r[j].mod.capacity, l, r[j].pearson[l].n, r[j].pearson[l].r,
                        r[j].pearson[l].p, r[j].spearman[l].r, r[j].spearman[l].p, ir->mean, ir->lo, ir->hi, r[j].k[l],
                        pk->mean, pk->lo, pk->hi, (double)r[j].k[l] / (r[j].rt.n_tokens - r[j].rt.n_prefix),
                        r[j].importance ? "input" : "skip");
                if (!r[j].object[l].n) {
                    fprintf(f, ",,,,,,,\n");
                } else {
                    const amod_interval *ob = &r[j].object[l], *ex = &r[j].object_excess[l];
                    fprintf(f, ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", ob->mean, ob->lo, ob->hi,
                            r[j].object_chance[l].mean, ex->mean, ex->lo, ex->hi);
                }
            }
    return cli_text_save(&txt, path, err);
}

/* A bar per MoD layer, the checkpoints (routers) side by side. */
static int write_chart(const char *path, const char *method, int spearman, const result *r, int n_ckpt,
                       const int *layers, int n_layers, amod_error *err) {
    double y[MAX_CKPT][AMOD_MAX_LAYERS];
    char names[MAX_CKPT][160], cats[AMOD_MAX_LAYERS][32], title[160], xlabel[96], ylabel[64];
    const char *cat_ptr[AMOD_MAX_LAYERS];
    amod_series s[MAX_CKPT];
    for (int c = 0; c < n_layers; c++) {
        snprintf(cats[c], sizeof cats[c], "layer %d", layers[c]);
        cat_ptr[c] = cats[c];
    }
    for (int j = 0; j < n_ckpt; j++) {
        snprintf(names[j], sizeof names[j], "%s (%s)", r[j].name, amod_router_name(r[j].mod.router));
        for (int c = 0; c < n_layers; c++) {
            int l = layers[c];
            y[j][c] = l < r[j].rt.depth && r[j].rt.k[l] ? (spearman ? r[j].spearman[l].r : r[j].pearson[l].r) : NAN;
        }
        s[j] = (amod_series){.name = names[j], .y = y[j], .n = n_layers};
    }
    snprintf(title, sizeof title, "%s: router score vs importance", method);
    snprintf(xlabel, sizeof xlabel, "MoD layer (%d images x %d tokens)", r[0].rt.n_images,
             r[0].rt.n_tokens - r[0].rt.n_prefix);
    snprintf(ylabel, sizeof ylabel, "%s correlation", method);
    amod_plot p = {.kind = AMOD_PLOT_BARS, .title = title, .x_label = xlabel, .y_label = ylabel,
                   .series = s, .n_series = n_ckpt, .categories = cat_ptr, .width = 900, .height = 500};
    return amod_plot_write_png(&p, path, err);
}

static int make_dir(const char *dir, amod_error *err) {
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : amod_fail(err, "%s: exists and is not a directory", dir);
    if (mkdir(dir, 0777) != 0) return amod_fail(err, "%s: cannot create directory: %s", dir, strerror(errno));
    return 0;
}

static void print_table(const result *r, int n_ckpt) {
    for (int j = 0; j < n_ckpt; j++) {
        printf("%s: router %s C=%g, %d images x %d tokens, MoD accuracy %.3f, dense loss %.4f, importance: %s\n",
               r[j].name, amod_router_name(r[j].mod.router), r[j].mod.capacity, r[j].rt.n_images,
               r[j].rt.n_tokens - r[j].rt.n_prefix, r[j].mod_acc, r[j].dense_loss,
               r[j].importance ? "token removed from the input" : "token skips the layer");
        printf("  layer  pearson_r  p          spearman_rho  p          per-image rho [95%% CI]      precision@k [95%% CI] "
               "(random)\n");
        for (int l = 0; l < r[j].rt.depth; l++)
            if (r[j].rt.k[l]) {
                const amod_interval *ir = &r[j].image_rho[l], *pk = &r[j].precision[l];
                printf("  %5d  %9.4f  %-9.3g  %12.4f  %-9.3g  %6.3f [%6.3f, %6.3f]    @%-3d %.3f [%.3f, %.3f] (%.3f)\n", l,
                       r[j].pearson[l].r, r[j].pearson[l].p, r[j].spearman[l].r, r[j].spearman[l].p, ir->mean, ir->lo,
                       ir->hi, r[j].k[l], pk->mean, pk->lo, pk->hi,
                       (double)r[j].k[l] / (r[j].rt.n_tokens - r[j].rt.n_prefix));
            }
        for (int l = 0; l < r[j].rt.depth; l++)
            if (r[j].rt.k[l] && r[j].object[l].n) {
                const amod_interval *ob = &r[j].object[l], *ex = &r[j].object_excess[l];
                printf("  layer %d: kept patches on the object %.3f [%.3f, %.3f], random %.3f, difference %+.3f "
                       "[%+.3f, %+.3f]\n",
                       l, ob->mean, ob->lo, ob->hi, r[j].object_chance[l].mean, ex->mean, ex->lo, ex->hi);
            }
    }
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    int64_t *idx = NULL;
    int n_idx = 0, rc = -1, n_done = 0;
    result *r = NULL;
    char path[4096];
    if (cli_data_indices(CMD, &o->an.data, 500, &idx, &n_idx)) {
        err->msg[0] = 0;
        return -1;
    }
    dense_ref ref = {.path = o->dense};
    boxes_ref bx = {.path = o->boxes};
    if (o->boxes && amod_boxes_read(o->boxes, &bx.b, err)) goto done;
    if (make_dir(o->out_dir, err)) goto done;
    if (o->dense) { /* its own routing, if any, is set aside: importance is the dense model's */
        if (!(ref.m = amod_vit_load(o->dense, err))) goto done;
        amod_mod_config none = *amod_vit_get_mod(ref.m);
        none.router = AMOD_ROUTER_NONE;
        if (amod_vit_set_mod(ref.m, &none, err)) {
            amod_fail_prefix(err, o->dense);
            goto done;
        }
    }
    r = amod_zalloc((size_t)o->n_ckpt * sizeof *r, err);
    if (!r) goto done;
    for (; n_done < o->n_ckpt; n_done++)
        if (analyse(o, o->ckpt[n_done], idx, n_idx, &ref, &bx, &r[n_done], err)) {
            n_done++;
            goto done;
        }
    int layers[AMOD_MAX_LAYERS], n_layers = 0;
    for (int l = 0; l < AMOD_MAX_LAYERS; l++)
        for (int j = 0; j < o->n_ckpt; j++)
            if (l < r[j].rt.depth && r[j].rt.k[l]) {
                layers[n_layers++] = l;
                break;
            }
    snprintf(path, sizeof path, "%s/tokens.csv", o->out_dir);
    if (write_tokens(path, r, o->n_ckpt, idx, layers, n_layers, err)) goto done;
    snprintf(path, sizeof path, "%s/correlation.csv", o->out_dir);
    if (write_correlation(path, r, o->n_ckpt, err)) goto done;
    snprintf(path, sizeof path, "%s/pearson.png", o->out_dir);
    if (write_chart(path, "Pearson", 0, r, o->n_ckpt, layers, n_layers, err)) goto done;
    snprintf(path, sizeof path, "%s/spearman.png", o->out_dir);
    if (write_chart(path, "Spearman", 1, r, o->n_ckpt, layers, n_layers, err)) goto done;
    print_table(r, o->n_ckpt);
    printf("wrote %s/{tokens.csv,correlation.csv,pearson.png,spearman.png}\n", o->out_dir);
    rc = 0;
done:
    for (int j = 0; j < n_done; j++) {
        amod_routing_free(&r[j].rt);
        if (r[j].borrowed) continue;
        free(r[j].importance);
        for (int l = 0; l < AMOD_MAX_LAYERS; l++) free(r[j].layer_imp[l]);
        free(r[j].loss);
    }
    free(r);
    free(idx);
    dense_ref_free(&ref);
    amod_boxes_free(&bx.b);
    return rc;
}

int amod_cmd_importance(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
