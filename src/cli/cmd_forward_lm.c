/* amod forward for language models (GPT-2, Llama): runs a checkpoint on the `input_ids`
 * [B, T] of a safetensors file and writes logits, the shifted next-token loss, and on request
 * every parameter gradient (grad.{Hugging Face name}) and the attention maps, under the names
 * a PyTorch script would use, so the two can be compared with `amod diff`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_lm.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/config.h"
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
    const char *model, *input, *out;
    int grads, attn;
    cli_lm_opts lm;
} options;

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    cli_lm_init(&o->lm);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_lm_option(CMD, argc, argv, &i, &o->lm);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!strcmp(a, "--input")) {
            if (!(o->input = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--out")) {
            if (!(o->out = cli_value(CMD, argc, argv, &i))) return -1;
        } else if (!strcmp(a, "--grads")) {
            o->grads = 1;
        } else if (!strcmp(a, "--attn")) {
            o->attn = 1;
        } else if (a[0] == '-') {
            cli_usage_error(CMD, "unknown option '%s' for a language model", a);
            return -1;
        } else if (!o->model) {
            o->model = a;
        } else {
            cli_usage_error(CMD, "unexpected argument '%s'", a);
            return -1;
        }
    }
    if (!o->model || !o->input || !o->out) {
        cli_usage_error(CMD, "LM_DIR, --input and --out are required");
        return -1;
    }
    return 0;
}

static int write_outputs(st_writer *w, amod_lm *m, const options *o, const float *logits, float loss, int B, int T,
                         amod_error *err) {
    const amod_lm_config *c = amod_lm_get_config(m);
    int64_t shape[4] = {B, T, c->vocab_size};
    if (st_writer_add_f32(w, "logits", 3, shape, logits, err)) return -1;
    if (T >= 2) {
        int64_t one = 1;
        if (st_writer_add_f32(w, "loss", 1, &one, &loss, err)) return -1;
    }
    char name[160];
    for (int l = 0; o->attn && l < c->n_layers; l++) {
        const float *p = amod_lm_attention(m, l);
        if (!p) continue;
        int64_t s[4] = {B, c->n_heads, T, T};
        snprintf(name, sizeof name, "attn_probs.%d", l);
        if (st_writer_add_f32(w, name, 4, s, p, err)) return -1;
    }
    if (!o->grads) return 0;
    amod_lm_zero_grad(m);
    if (amod_lm_backward(m, err)) return -1;
    for (int i = 0; i < amod_lm_num_tensors(m); i++) {
        int64_t s[4];
        int nd = amod_lm_tensor_shape(m, i, s);
        snprintf(name, sizeof name, "grad.%s", amod_lm_tensor_name(m, i));
        if (st_writer_add_f32(w, name, nd, s, amod_lm_grads(m) + amod_lm_tensor_offset(m, i), err)) return -1;
    }
    return 0;
}

static int run(const options *o, amod_error *err) {
    amod_lm *m = amod_lm_load(o->model, err);
    if (!m) return -1;
    int64_t *ids = NULL;
    float *logits = NULL, loss = 0;
    int B = 0, T = 0, rc = -1;
    st_writer w = {0};
    if (cli_lm_apply(&o->lm, m, err)) goto done;
    if (cli_lm_read_ids(o->input, "input_ids", &ids, &B, &T, err)) goto done;
    if (o->grads && T < 2) {
        amod_fail(err, "%s: --grads needs sequences of at least 2 tokens for the next-token loss", o->input);
        goto done;
    }
    const amod_lm_config *c = amod_lm_get_config(m);
    amod_lm_set_grad_enabled(m, o->grads);
    amod_lm_keep_attention(m, o->attn);
    logits = malloc((size_t)B * T * c->vocab_size * sizeof *logits);
    if (!logits) {
        amod_fail(err, "out of memory for logits [%d, %d, %d]", B, T, c->vocab_size);
        goto done;
    }
    if (amod_lm_forward(m, ids, B, T, logits, T >= 2 ? &loss : NULL, err)) {
        amod_fail_prefix(err, o->input); /* name the file the bad ids came from */
        goto done;
    }
    if (write_outputs(&w, m, o, logits, loss, B, T, err)) goto done;
    rc = st_writer_save(&w, o->out, err);
done:
    st_writer_free(&w);
    free(ids);
    free(logits);
    amod_lm_free(m);
    return rc;
}

int amod_cmd_forward_lm(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
    options o;
    if (parse(argc, argv, &o)) return 2;
    amod_error err = {{0}};
    if (run(&o, &err)) {
        if (err.msg[0]) cli_error(CMD, err.msg);
        return 1;
    }
    return 0;
}
