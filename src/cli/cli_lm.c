#include "cli/cli_lm.h"

#include "amod/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

void cli_lm_init(cli_lm_opts *o) {
    memset(o, 0, sizeof *o);
    o->predictor = -1;
}

int cli_lm_option(const char *cmd, int argc, char **argv, int *i, cli_lm_opts *o) {
    int r = cli_mod_option(cmd, argc, argv, i, &o->mod);
    if (r) return r;
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--predictor")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_int(cmd, a, v, 0, 65536, &o->predictor)) return -1;
    } else if (!strcmp(a, "--mindskip")) {
        if (!(v = cli_value(cmd, argc, argv, i))) return -1;
        if (!strcmp(v, "sequence")) o->skip = AMOD_LM_SKIP_SEQUENCE;
        else if (!strcmp(v, "token")) o->skip = AMOD_LM_SKIP_TOKEN;
        else if (!strcmp(v, "none")) o->skip = AMOD_LM_SKIP_NONE;
        else {
            fprintf(stderr, "amod %s: --mindskip must be sequence, token or none, got '%s'\n", cmd, v);
            return -1;
        }
        o->skip_set = 1;
    } else if (!strcmp(a, "--skip-layers")) {
        if (!(o->skip_layers = cli_value(cmd, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--skip-target")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_float(cmd, a, v, &o->skip_target)) return -1;
        o->target_set = 1;
    } else if (!strcmp(a, "--skip-lambda")) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_parse_float(cmd, a, v, &o->skip_lambda)) return -1;
        o->lambda_set = 1;
    } else if (!strcmp(a, "--skip-style")) {
        if (!(v = cli_value(cmd, argc, argv, i))) return -1;
        if (strcmp(v, "amod") && strcmp(v, "router-tuning")) {
            fprintf(stderr, "amod %s: --skip-style must be amod or router-tuning, got '%s'\n", cmd, v);
            return -1;
        }
        o->skip_style = !strcmp(v, "router-tuning") ? AMOD_LM_SKIP_STYLE_ROUTER_TUNING : AMOD_LM_SKIP_STYLE_AMOD;
        o->style_set = 1;
    } else if (!strcmp(a, "--router-weights")) {
        if (!(o->router_weights = cli_value(cmd, argc, argv, i))) return -1;
    } else {
        return 0;
    }
    return 1;
}

int cli_lm_apply(const cli_lm_opts *o, amod_lm *m, amod_error *err) {
    const int L = amod_lm_get_config(m)->n_layers;
    const cli_mod_opts *mo = &o->mod;
    if (mo->start_set && mo->layers_set) return amod_fail(err, "give either --mod-start or --mod-layers, not both");
    if (mo->router_set || mo->capacity_set || mo->start_set || mo->layers_set || o->predictor >= 0) {
        amod_mod_config mod = *amod_lm_get_mod(m);
        int was_dense = mod.router == AMOD_ROUTER_NONE;
        if (mo->router_set) mod.router = mo->router;
        if (mod.router != AMOD_ROUTER_NONE) {
            if (mo->capacity_set) mod.capacity = mo->capacity;
            else if (was_dense) mod.capacity = 0.125f;
            if (mo->layers_set) {
                if (amod_mod_set_list(&mod, L, mo->layers, err)) return amod_fail_prefix(err, "--mod-layers");
            } else if (mo->start_set || was_dense) {
                amod_mod_set_start(&mod, L, mo->start_set ? (int)mo->start : 1);
            }
            if (mo->seed) mod.seed = (uint64_t)mo->seed;
        }
        long pred = o->predictor >= 0 ? o->predictor : (was_dense ? 32 : -1);
        if (pred < 0) { /* keep the checkpoint's predictor width */
            pred = 0;
            for (int i = 0; i < amod_lm_num_tensors(m); i++) {
                int64_t s[4];
                if (strstr(amod_lm_tensor_name(m, i), "mod_predictor.fc1.bias") && amod_lm_tensor_shape(m, i, s))
                    pred = (long)s[0];
            }
        }
        if (amod_lm_set_mod(m, &mod, (int)pred, err)) return -1;
    }
    if (o->skip_set || o->skip_layers || o->target_set || o->lambda_set || o->style_set) {
        amod_lm_mindskip ms = *amod_lm_get_mindskip(m);
        int was_off = ms.mode == AMOD_LM_SKIP_NONE;
        if (o->skip_set) ms.mode = o->skip;
        if (ms.mode != AMOD_LM_SKIP_NONE) {
            if (was_off) {
                ms.target = 0.5f, ms.lambda = 1.0f;
                amod_lm_mindskip_default_layers(&ms, L);
            }
            if (o->skip_layers) {
                amod_mod_config tmp = {0};
                if (amod_mod_set_list(&tmp, L, o->skip_layers, err)) return amod_fail_prefix(err, "--skip-layers");
                memcpy(ms.routed, tmp.is_mod, sizeof ms.routed);
            }
            if (o->target_set) ms.target = o->skip_target;
            if (o->lambda_set) ms.lambda = o->skip_lambda;
            if (o->style_set) ms.style = o->skip_style;
            if (mo->seed) ms.seed = (uint64_t)mo->seed;
        }
        if (amod_lm_set_mindskip(m, &ms, err)) return -1;
    }
    if (o->router_weights && amod_lm_load_params(m, o->router_weights, err)) return -1;
    return 0;
}

int cli_lm_read_ids(const char *path, const char *name, int64_t **ids, int *B, int *T, amod_error *err) {
    st_file f;
    *ids = NULL;
    if (st_open(&f, path, err)) return -1;
    const st_tensor *t = st_find(&f, name);
    int rc = -1;
    if (!t) {
        amod_fail(err, "%s: no tensor named '%s'", path, name);
    } else if (t->dtype != ST_I64 && t->dtype != ST_I32) {
        amod_fail(err, "%s: %s has dtype %s, expected I64 (token ids)", path, name, st_dtype_name(t->dtype));
    } else if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1) {
        amod_fail(err, "%s: %s must have shape [B, T] with B, T >= 1", path, name);
    } else if (t->shape[0] > (1 << 20) || t->shape[1] > (1 << 20)) {
        amod_fail(err, "%s: %s of shape [%lld, %lld] is too large", path, name, (long long)t->shape[0],
                  (long long)t->shape[1]);
    } else if (!(*ids = malloc(t->numel * sizeof **ids))) {
        amod_fail(err, "out of memory reading %s", path);
    } else {
        *B = (int)t->shape[0];
        *T = (int)t->shape[1];
        rc = st_read_i64(&f, t, *ids, err);
    }
    st_close(&f);
    if (rc) {
        free(*ids);
        *ids = NULL;
    }
    return rc;
}

int cli_lm_load_corpus(const char *path, float val_frac, amod_tokenizer *tok, cli_lm_corpus *c, amod_error *err) {
    memset(c, 0, sizeof *c);
    if (!(val_frac > 0.0f && val_frac < 1.0f))
        return amod_fail(err, "--val-frac %g must be in (0, 1)", (double)val_frac);
    if (!(c->bytes = amod_read_file(path, &c->n_bytes, err))) return -1;
    c->tok = tok;
    c->train_bytes = (size_t)((double)c->n_bytes * (1.0 - val_frac));
    if (c->n_bytes < 64 || c->train_bytes < 32 || c->n_bytes - c->train_bytes < 32) {
        amod_fail(err, "%s: %zu bytes is too small a corpus to split for training and evaluation", path, c->n_bytes);
        cli_lm_corpus_free(c);
        return -1;
    }
    int64_t *part[2] = {NULL, NULL};
    size_t len[2] = {c->train_bytes, c->n_bytes - c->train_bytes}, got[2] = {len[0], len[1]};
    for (int p = 0; p < 2 && tok; p++)
        if (amod_tokenizer_encode(tok, (const char *)c->bytes + (p ? c->train_bytes : 0), len[p], 1, 0, &part[p], &got[p],
                                  err)) {
            free(part[0]);
            cli_lm_corpus_free(c);
            return amod_fail_prefix(err, path);
        }
    c->n_train = got[0], c->n = got[0] + got[1];
    if (!(c->ids = amod_alloc((c->n ? c->n : 1) * sizeof *c->ids, err))) {
        free(part[0]), free(part[1]);
        cli_lm_corpus_free(c);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++)
        c->ids[i] = tok ? (int32_t)(i < got[0] ? part[0][i] : part[1][i - got[0]]) : (int32_t)c->bytes[i];
    free(part[0]), free(part[1]);
    return 0;
}

void cli_lm_corpus_free(cli_lm_corpus *c) {
    free(c->bytes);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

size_t cli_lm_corpus_bytes(const cli_lm_corpus *c, const int32_t *ids, size_t n) {
    if (!c->tok) return n;
    size_t total = 0, len;
    for (size_t i = 0; i < n; i++)
        if (amod_tokenizer_token(c->tok, ids[i], &len)) total += len;
    return total;
}

amod_tokenizer *cli_lm_tokenizer(const char *dir, const amod_lm *m, amod_error *err) {
    memset(err, 0, sizeof *err);
    if (!amod_tokenizer_present(dir)) return NULL;
    amod_tokenizer *t = amod_tokenizer_load(dir, err);
    if (t && m && amod_tokenizer_vocab_size(t) > amod_lm_get_config(m)->vocab_size) {
        amod_fail(err, "%s: the tokenizer has %d tokens, more than the model's vocabulary of %d", dir,
                  amod_tokenizer_vocab_size(t), amod_lm_get_config(m)->vocab_size);
        amod_tokenizer_free(t);
        return NULL;
    }
    return t;
}
