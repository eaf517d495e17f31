/* amod forward for language models (GPT-2, Llama): runs a checkpoint on the `input_ids`
 * [B, T] of a safetensors file and writes logits, the shifted next-token loss, and on request
 * every parameter gradient (grad.{Hugging Face name}) and the attention maps, under the names
 * a PyTorch script would use, so the two can be compared with `amod diff`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_forward.h"
#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "model/vit_config.h"
#include "io/safetensors.h"

static const char *CMD = "forward";

int amod_forward_is_lm(int argc, char **argv) {
    char path[4096];
    struct stat st;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        if (snprintf(path, sizeof path, "%s/config.json", argv[i]) >= (int)sizeof path) continue;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        const char *family = amod_config_model_family(path, NULL);
        return family && (!strcmp(family, "gpt2") || !strcmp(family, "llama"));
    }
    return 0;
}

static void usage(void) {
    printf("usage: amod forward LM_DIR --input IN.safetensors --out OUT.safetensors [options]\n\n"
           "For GPT-2 and Llama checkpoints (config.json + model.safetensors). Reads `input_ids`\n"
           "[B, T] (I64) and writes `logits` [B, T, V] and, when T >= 2, `loss` (mean next-token\n"
           "cross-entropy, labels = input_ids shifted by one).\n\n"
           "options:\n"
           "  --grads              also write grad.{name} for every parameter (Hugging Face names)\n"
           "  --attn               also write attn_probs.{l} [B, H, T, T] of layers that see every token\n" CLI_LM_HELP);
}

typedef struct {
    cli_forward_opts fw;
    cli_lm_opts lm;
} options;

static int parse(int argc, char **argv, void *opts) {
    options *o = opts;
    memset(o, 0, sizeof *o);
    cli_lm_init(&o->lm);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_lm_option(CMD, argc, argv, &i, &o->lm);
        if (!r) r = cli_forward_option(CMD, argc, argv, &i, &o->fw);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (a[0] == '-') return cli_usage_error(CMD, "unknown option '%s' for a language model", a), -1;
        if (cli_positional(CMD, a, &o->fw.model)) return -1;
    }
    return cli_forward_check(CMD, &o->fw, "LM_DIR");
}

static int write_outputs(st_writer *w, amod_lm *m, const cli_forward_opts *fw, const float *logits, float loss,
                         int B, int T, amod_error *err) {
    const amod_lm_config *c = amod_lm_get_config(m);
    const int64_t shape[3] = {B, T, c->vocab_size}, attn[4] = {B, c->n_heads, T, T};
    if (cli_forward_add_logits(w, 3, shape, logits, T >= 2 ? &loss : NULL, err)) return -1;
    for (int l = 0; fw->attn && l < c->n_layers; l++) {
        const float *p = amod_lm_attention(m, l);
        if (p && cli_forward_add_layer(w, "attn_probs", l, 4, attn, p, err)) return -1;
    }
    if (!fw->grads) return 0;
    amod_lm_zero_grad(m);
    if (amod_lm_backward(m, err)) return -1;
    for (int i = 0; i < amod_lm_num_tensors(m); i++) {
        int64_t s[4];
        int nd = amod_lm_tensor_shape(m, i, s);
        if (cli_forward_add_grad(w, amod_lm_tensor_name(m, i), nd, s, amod_lm_grads(m) + amod_lm_tensor_offset(m, i),
                                 err))
            return -1;
    }
    return 0;
}

static int run(const void *opts, amod_error *err) {
    const options *o = opts;
    const cli_forward_opts *fw = &o->fw;
    amod_lm *m = amod_lm_load(fw->model, err);
    if (!m) return -1;
    int64_t *ids = NULL;
    float *logits = NULL, loss = 0;
    int B = 0, T = 0, rc = -1;
    st_writer w = {0};
    if (cli_lm_apply(&o->lm, m, err)) goto done;
    if (cli_lm_read_ids(fw->input, "input_ids", &ids, &B, &T, err)) goto done;
    if (fw->grads && T < 2) {
        amod_fail(err, "%s: --grads needs sequences of at least 2 tokens for the next-token loss", fw->input);
        goto done;
    }
    const amod_lm_config *c = amod_lm_get_config(m);
    amod_lm_set_grad_enabled(m, fw->grads);
    amod_lm_keep_attention(m, fw->attn);
    logits = malloc((size_t)B * T * c->vocab_size * sizeof *logits);
    if (!logits) {
        amod_fail(err, "out of memory for logits [%d, %d, %d]", B, T, c->vocab_size);
        goto done;
    }
    if (amod_lm_forward(m, ids, B, T, logits, T >= 2 ? &loss : NULL, err)) {
        amod_fail_prefix(err, fw->input); /* name the file the bad ids came from */
        goto done;
    }
    if (write_outputs(&w, m, fw, logits, loss, B, T, err)) goto done;
    rc = st_writer_save(&w, fw->out, err);
done:
    st_writer_free(&w);
    free(ids);
    free(logits);
    amod_lm_free(m);
    return rc;
}

int amod_cmd_forward_lm(int argc, char **argv) {
    options o;
    return cli_main(CMD, argc, argv, usage, parse, run, &o);
}
