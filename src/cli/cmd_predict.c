/* amod predict: classifies pictures and folders of pictures with a checkpoint. Pictures go
 * through timm's eval transform (the checkpoint's size, mean and std) on the loader's
 * threads, a batch at a time, so memory follows the batch, not the number of files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/amod.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/imagefolder.h"
#include "io/safetensors.h"
#include "train/evaluate.h"

static const char *CMD = "predict";

static void usage(void) {
    printf("usage: amod predict CKPT_DIR IMAGE|DIR... [--topk 5] [--out FILE.csv|FILE.json]\n"
           "                    [--batch-size 32] [--threads N] [--dump-inputs FILE.safetensors] [MoD options]\n\n"
           "Classifies PNG and JPEG pictures (read by content) and every picture under the folders\n"
           "given (found as torchvision's ImageFolder finds a class's files), with timm's eval\n"
           "transform at the checkpoint's size, mean and std. Writes CSV (a header, then\n"
           "path,top1,p1,top2,p2,... with the checkpoint's class names, or indices) or, for a .json\n"
           "FILE, a list of {path, top: [{class, index, p}]}; stdout when --out is not given.\n"
           "Prints the pictures and images/s on stderr.\n\n"
           "options:\n" CLI_MOD_HELP
           "  --topk K             classes per picture (default 5, at most the model's)\n"
           "  --dump-inputs FILE   also write the model inputs: 'input' [N, C, H, W] and the file\n"
           "                       names in the metadata (\"files\", newline separated)\n");
}

typedef struct {
    const char *ckpt, *out, *dump;
    const char **inputs;
    int n_inputs;
    long topk, batch, threads;
    cli_mod_opts mod;
} options;

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->topk = 5, o->batch = 32;
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) return cli_error(CMD, "out of memory"), 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
        int r = cli_mod_option(CMD, argc, argv, &i, &o->mod);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--topk") || !strcmp(a, "--out") || !strcmp(a, "--batch-size") || !strcmp(a, "--threads") ||
            !strcmp(a, "--dump-inputs")) {
            if (!(v = cli_value(CMD, argc, argv, &i))) return 2;
            if (!strcmp(a, "--out")) o->out = v;
            else if (!strcmp(a, "--dump-inputs")) o->dump = v;
            else if (!strcmp(a, "--topk") && cli_parse_int(CMD, a, v, 1, 1 << 20, &o->topk)) return 2;
            else if (!strcmp(a, "--batch-size") && cli_parse_int(CMD, a, v, 1, 4096, &o->batch)) return 2;
            else if (!strcmp(a, "--threads") && cli_parse_threads(CMD, a, v, &o->threads)) return 2;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(CMD, "unknown option '%s'", a), 2;
        } else if (!o->ckpt) {
            o->ckpt = a;
        } else {
            o->inputs[o->n_inputs++] = a;
        }
    }
    if (!o->ckpt) return cli_usage_error(CMD, "CKPT_DIR is required"), 2;
    if (!o->n_inputs) return cli_usage_error(CMD, "give at least one picture or folder to classify"), 2;
    return -1;
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* Softmax of logits [K] into p, and the indices of the k largest, best first (ties: lower index). */
static void top_classes(const float *logits, int K, int k, double *p, int *best) {
    float mx = logits[0];
    for (int i = 1; i < K; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < K; i++) sum += p[i] = exp((double)logits[i] - mx);
    for (int i = 0; i < K; i++) p[i] /= sum;
    for (int j = 0; j < k; j++) {
        int b = -1;
        for (int i = 0; i < K; i++) {
            int taken = 0;
            for (int q = 0; q < j; q++) taken |= best[q] == i;
            if (!taken && (b < 0 || p[i] > p[b])) b = i;
        }
        best[j] = b;
    }
}

static int run(const options *o) {
    amod_error err = {0};
    amod_vit *m = amod_vit_load(o->ckpt, &err);
    if (!m) return cli_error(CMD, err.msg);
    const amod_vit_config *cfg = amod_vit_get_config(m);
    const int K = cfg->num_classes, k = o->topk < K ? (int)o->topk : K, json = o->out && strstr(o->out, ".json");
    amod_file_list files = {0};
    amod_dataset ds;
    amod_loader ld = {0};
    amod_vit_ctx *ctx = NULL;
    amod_mod_config mod;
    cli_text text = {0};
    FILE *f = stdout;
    float *x = NULL, *logits = NULL, *dump = NULL;
    int64_t *labels = NULL;
    double *p = NULL;
    int *best = NULL, rc = 1;
    const amod_vit_ctx_params cp = {.threads = (int)o->threads};
    if (cli_mod_build(CMD, &o->mod, cfg, amod_vit_get_mod(m), &mod) || amod_vit_set_mod(m, &mod, &err) ||
        amod_file_list_gather(o->inputs, o->n_inputs, &files, &err) || !(ctx = amod_vit_ctx_create(m, &cp, &err))) {
        if (err.msg[0]) cli_error(CMD, err.msg);
        goto done;
    }
    amod_dataset_from_files(&ds, &files);
    amod_batch_config bc;
    amod_model_batch_config(cfg, &ds, &bc);
    if (amod_loader_init(&ld, &ds, &bc, 0, &err)) goto fail;
    const size_t per = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    x = amod_alloc((size_t)o->batch * per * sizeof *x, &err);
    logits = amod_alloc((size_t)o->batch * K * sizeof *logits, &err);
    labels = amod_alloc((size_t)o->batch * sizeof *labels, &err);
    p = amod_alloc((size_t)K * sizeof *p, &err);
    best = amod_alloc((size_t)k * sizeof *best, &err);
    if (o->dump) dump = amod_alloc((size_t)files.count * per * sizeof *dump, &err);
    if (!x || !logits || !labels || !p || !best || (o->dump && !dump)) goto fail;
    if (o->out && !(f = cli_text_open(&text, o->out, &err))) goto fail;
    if (json) {
        fputs("[\n", f);
    } else {
        fputs("path", f);
        for (int j = 1; j <= k; j++) fprintf(f, ",top%d,p%d", j, j);
        fputc('\n', f);
    }
    const double t0 = amod_seconds();
    int64_t done_n = 0;
    for (;;) {
        const int n = amod_loader_next(&ld, (int)o->batch, x, labels, &err);
        if (n < 0) goto fail;
        if (n == 0) break;
        if (amod_vit_ctx_forward(ctx, x, n, NULL, logits, NULL, &err)) goto fail;
        if (dump) memcpy(dump + (size_t)done_n * per, x, (size_t)n * per * sizeof *x);
        for (int b = 0; b < n; b++) {
            top_classes(logits + (size_t)b * K, K, k, p, best);
            const char *path = files.paths[done_n + b];
            if (json) {
                fputs(done_n + b ? ",\n  {\"path\": " : "  {\"path\": ", f);
                json_string(f, path);
                fputs(", \"top\": [", f);
                for (int j = 0; j < k; j++) {
                    const char *name = amod_vit_label(m, best[j]);
                    char idx[16];
                    snprintf(idx, sizeof idx, "%d", best[j]);
                    fputs(j ? ", {\"class\": " : "{\"class\": ", f);
                    json_string(f, name ? name : idx);
                    fprintf(f, ", \"index\": %d, \"p\": %.6g}", best[j], p[best[j]]);
                }
                fputs("]}", f);
            } else {
                cli_csv_field(f, path);
                for (int j = 0; j < k; j++) {
                    const char *name = amod_vit_label(m, best[j]);
                    fputc(',', f);
                    if (name) cli_csv_field(f, name);
                    else fprintf(f, "%d", best[j]);
                    fprintf(f, ",%.6g", p[best[j]]);
                }
                fputc('\n', f);
            }
        }
        done_n += n;
    }
    const double secs = amod_seconds() - t0;
    if (json) fputs("\n]\n", f);
    if (o->out && cli_text_save(&text, o->out, &err)) {
        f = stdout;
        goto fail;
    }
    f = stdout;
    if (dump) {
        st_writer w = {0};
        const int64_t shape[4] = {files.count, cfg->in_chans, cfg->img_size, cfg->img_size};
        size_t names = 1;
        for (int64_t i = 0; i < files.count; i++) names += strlen(files.paths[i]) + 1;
        char *list = amod_zalloc(names, &err);
        if (!list) goto fail;
        for (int64_t i = 0; i < files.count; i++) strcat(strcat(list, files.paths[i]), i + 1 < files.count ? "\n" : "");
        int bad = st_writer_add_f32(&w, "input", 4, shape, dump, &err) || st_writer_set_metadata(&w, "files", list, &err) ||
                  st_writer_save(&w, o->dump, &err);
        st_writer_free(&w);
        free(list);
        if (bad) goto fail;
    }
    fprintf(stderr, "%lld pictures in %.2f s: %.1f images/s\n", (long long)done_n, secs, done_n / (secs > 0 ? secs : 1e-9));
    rc = 0;
    goto done;
fail:
    if (f != stdout) fclose(f), free(text.text);
    cli_error(CMD, err.msg);
done:
    amod_vit_ctx_free(ctx);
    amod_loader_free(&ld);
    amod_file_list_free(&files);
    free(x), free(logits), free(labels), free(p), free(best), free(dump);
    amod_vit_free(m);
    return rc;
}

int amod_cmd_predict(int argc, char **argv) {
    options o;
    int st = parse(argc, argv, &o);
    if (st < 0) st = run(&o);
    free(o.inputs);
    return st;
}
