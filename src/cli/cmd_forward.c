/* amod forward: runs a checkpoint on the `input` (and `labels`) of a safetensors file and
 * writes logits, loss, and on request every parameter gradient and the attention maps,
 * under the names a PyTorch script would use, so the two can be compared tensor by tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_forward.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/safetensors.h"

static const char *CMD = "forward";

static void usage(void) {
    printf("usage: amod forward MODEL_DIR --input IN.safetensors --out OUT.safetensors [options]\n\n"
           "Reads `input` [B, C, H, W] (and `labels` [B] when present) and writes `logits`, and with\n"
           "labels `loss`. For GPT-2 and Llama checkpoints see `amod forward LM_DIR --help`.\n\n"
           "options:\n" CLI_MOD_HELP
           "  --router-weights F   safetensors file with blocks.{l}.router.weight\n"
           "  --grads              also write grad.{name} for every parameter (needs labels)\n"
           "  --attn               also write attn_probs.{l} [B, H, N, N] of the dense layers\n"
           "  --block-out          also write block_out.{l} [B, N, D]\n"
           "  --hf-names STYLE     gradient names of Hugging Face checkpoints: 'module' (default:\n"
           "                       transformers 5 named_parameters, vit.layers.N.attention.q_proj)\n"
           "                       or 'file' (the names in model.safetensors, vit.encoder.layer.N...)\n");
}

typedef struct {
    cli_forward_opts fw;
    const char *router_weights;
    int block_out, hf_style;
    cli_mod_opts mod;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    o->hf_style = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_mod_option(CMD, argc, argv, &i, &o->mod);
        if (!r) r = cli_forward_option(CMD, argc, argv, &i, &o->fw);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--router-weights")) {
            if (!(o->router_weights = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--hf-names")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v) return -1;
            if (strcmp(v, "module") && strcmp(v, "file")) {
                cli_usage_error(CMD, "--hf-names must be 'module' or 'file', got '%s'", v);
                return -1;
            }
            o->hf_style = !strcmp(v, "module") ? 1 : 0;
        } else if (!strcmp(a, "--block-out")) {
            o->block_out = 1;
        } else if (cli_positional(CMD, a, &o->fw.model)) {
            return -1;
        }
    }
    return cli_forward_check(CMD, &o->fw, "MODEL_DIR");
}

/* Reads and checks the input images and the optional labels against the model. */
static int read_inputs(const char *path, const amod_vit_config *cfg, float **x, int64_t **labels, int *batch,
                       amod_error *err) {
    st_file f;
    if (st_open(&f, path, err)) return -1;
    int rc = -1;
    const st_tensor *in = st_find(&f, "input"), *lab = st_find(&f, "labels");
    *x = NULL;
    *labels = NULL;
    if (!in) {
        amod_fail(err, "%s: no tensor named 'input'", path);
    } else if (in->ndim != 4 || in->shape[0] < 1 || in->shape[1] != cfg->in_chans || in->shape[2] != cfg->img_size ||
               in->shape[3] != cfg->img_size) {
        amod_fail(err, "%s: input has shape [%lld, %lld, %lld, %lld], the model expects [B, %d, %d, %d]", path,
                  (long long)(in->ndim > 0 ? in->shape[0] : 0), (long long)(in->ndim > 1 ? in->shape[1] : 0),
                  (long long)(in->ndim > 2 ? in->shape[2] : 0), (long long)(in->ndim > 3 ? in->shape[3] : 0),
                  cfg->in_chans, cfg->img_size, cfg->img_size);
    } else if (in->dtype != ST_F32 && in->dtype != ST_F16 && in->dtype != ST_BF16 && in->dtype != ST_F64) {
        amod_fail(err, "%s: input has dtype %s, expected a floating type", path, st_dtype_name(in->dtype));
    } else if (in->shape[0] > (1 << 20)) {
        amod_fail(err, "%s: batch %lld is too large", path, (long long)in->shape[0]);
    } else if (lab && (lab->ndim != 1 || lab->shape[0] != in->shape[0])) {
        amod_fail(err, "%s: labels must have shape [%lld]", path, (long long)in->shape[0]);
    } else {
        *batch = (int)in->shape[0];
        *x = malloc(in->numel * sizeof **x);
        if (!*x) {
            amod_fail(err, "out of memory");
        } else {
            st_read_f32(&f, in, *x);
            rc = 0;
            if (lab) {
                *labels = malloc(lab->numel * sizeof **labels);
                rc = *labels ? st_read_i64(&f, lab, *labels, err) : amod_fail(err, "out of memory");
            }
        }
    }
    st_close(&f);
    return rc;
}

static int write_grads(st_writer *w, amod_vit *m, int style, amod_error *err) {
    for (int i = 0; i < amod_vit_num_tensors(m); i++) {
        char names[3][128];
        size_t row0[3], rows[3];
        int64_t shape[4];
        int nd = amod_vit_tensor_shape(m, i, shape);
        size_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= (size_t)shape[d];
        size_t row_len = numel / (size_t)shape[0];
        int parts = amod_vit_export_names(m, i, style, names, row0, rows);
        for (int p = 0; p < parts; p++) {
            int64_t s[4];
            memcpy(s, shape, sizeof s);
            s[0] = (int64_t)rows[p];
            const float *g = amod_vit_grads(m) + amod_vit_tensor_offset(m, i) + row0[p] * row_len;
            if (cli_forward_add_grad(w, names[p], nd, s, g, err)) return -1;
        }
    }
    return 0;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    const cli_forward_opts *fw = &o->fw;
    amod_vit *m = amod_vit_load(fw->model, err);
    if (!m) return -1;
    const amod_vit_config *cfg = amod_vit_get_config(m);
    float *x = NULL, *logits = NULL;
    int64_t *labels = NULL;
    int B = 0, rc = -1;
    st_writer w = {0};
    amod_mod_config mod;
    if (cli_mod_build(CMD, &o->mod, cfg, amod_vit_get_mod(m), &mod)) {
        amod_fail(err, "invalid MoD options");
        err->msg[0] = 0; /* already reported */
        goto done;
    }
    if (amod_vit_set_mod(m, &mod, err)) goto done;
    if (o->router_weights && amod_vit_load_params(m, o->router_weights, err)) goto done;
    if (read_inputs(fw->input, cfg, &x, &labels, &B, err)) goto done;
    if (fw->grads && !labels) {
        amod_fail(err, "%s: --grads needs 'labels' in the input file", fw->input);
        goto done;
    }
    amod_vit_set_grad_enabled(m, fw->grads);
    amod_vit_keep_attention(m, fw->attn);
    logits = malloc((size_t)B * cfg->num_classes * sizeof *logits);
    float loss = 0;
    if (!logits || amod_vit_forward(m, x, B, labels, logits, &loss, err)) goto done;
    const int64_t shape[2] = {B, cfg->num_classes};
    if (cli_forward_add_logits(&w, 2, shape, logits, labels ? &loss : NULL, err)) goto done;
    const int N = amod_vit_num_tokens(cfg);
    for (int l = 0; l < cfg->depth; l++) {
        const int64_t attn[4] = {B, cfg->num_heads, N, N}, out[3] = {B, N, cfg->embed_dim};
        if (fw->attn && amod_vit_attention(m, l) &&
            cli_forward_add_layer(&w, "attn_probs", l, 4, attn, amod_vit_attention(m, l), err))
            goto done;
        if (o->block_out && cli_forward_add_layer(&w, "block_out", l, 3, out, amod_vit_block_output(m, l), err))
            goto done;
    }
    if (fw->grads) {
        amod_vit_zero_grad(m);
        if (amod_vit_backward(m, err) || write_grads(&w, m, o->hf_style, err)) goto done;
    }
    rc = st_writer_save(&w, fw->out, err);
done:
    st_writer_free(&w);
    free(x);
    free(labels);
    free(logits);
    amod_vit_free(m);
    return rc;
}

int amod_cmd_forward(int argc, char **argv) {
    if (amod_forward_is_lm(argc, argv)) return amod_cmd_forward_lm(argc, argv); /* GPT-2, Llama */
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
