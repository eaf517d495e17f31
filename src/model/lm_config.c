/* config.json for GPT-2 and Llama language models. Keys that change the computation and that
 * amod does not implement are refused by name rather than silently ignored. */
#include "model/lm_config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "model/mod_config_json.h"

static const cJSON *item(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* Reads an integer key when present (null counts as absent). */
static int get_int(const char *path, const cJSON *o, const char *key, int lo, int hi, int *out, amod_error *err) {
    const cJSON *v = item(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return amod_fail(err, "%s: '%s' must be an integer in [%d, %d]", path, key, lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_pos(const char *path, const cJSON *o, const char *key, float *out, amod_error *err) {
    const cJSON *v = item(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !isfinite(v->valuedouble))
        return amod_fail(err, "%s: '%s' must be a positive number", path, key);
    *out = (float)v->valuedouble;
    return 0;
}

static int get_bool(const char *path, const cJSON *o, const char *key, int *out, amod_error *err) {
    const cJSON *v = item(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return amod_fail(err, "%s: '%s' must be true or false", path, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A key whose value must equal the one amod implements (absent or null is fine). */
static int require_str(const char *path, const cJSON *o, const char *key, const char *const *allowed,
                       amod_error *err) {
    const cJSON *v = item(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v))
        for (int i = 0; allowed[i]; i++)
            if (!strcmp(v->valuestring, allowed[i])) return 0;
    return amod_fail(err, "%s: %s '%s' is not supported (only '%s')", path, key,
                     cJSON_IsString(v) ? v->valuestring : "?", allowed[0]);
}

static int require_bool(const char *path, const cJSON *o, const char *key, int want, amod_error *err) {
    int v = want;
    if (get_bool(path, o, key, &v, err)) return -1;
    if (v != want) return amod_fail(err, "%s: '%s': %s is not supported", path, key, v ? "true" : "false");
    return 0;
}

static int parse_gpt2(const char *path, const cJSON *root, amod_lm_config *c, amod_error *err) {
    static const char *const act[] = {"gelu_new", "gelu_pytorch_tanh", NULL};
    c->arch = AMOD_LM_GPT2;
    c->vocab_size = 50257, c->d_model = 768, c->n_layers = 12, c->n_heads = 12, c->max_positions = 1024;
    c->norm_eps = 1e-5f, c->tie_embeddings = 1, c->attn_bias = 1, c->mlp_bias = 1, c->d_ff = 0;
    if (get_int(path, root, "vocab_size", 1, 1 << 24, &c->vocab_size, err) ||
        get_int(path, root, "n_embd", 1, 1 << 16, &c->d_model, err) ||
        get_int(path, root, "n_layer", 1, AMOD_MAX_LAYERS, &c->n_layers, err) ||
        get_int(path, root, "n_head", 1, 1 << 12, &c->n_heads, err) ||
        get_int(path, root, "n_positions", 1, 1 << 20, &c->max_positions, err) ||
        get_int(path, root, "n_inner", 1, 1 << 20, &c->d_ff, err) ||
        get_pos(path, root, "layer_norm_epsilon", &c->norm_eps, err) ||
        get_bool(path, root, "tie_word_embeddings", &c->tie_embeddings, err) ||
        require_str(path, root, "activation_function", act, err) ||
        require_bool(path, root, "scale_attn_weights", 1, err) ||
        require_bool(path, root, "scale_attn_by_inverse_layer_idx", 0, err) ||
        require_bool(path, root, "add_cross_attention", 0, err))
        return -1;
    if (c->d_ff == 0) c->d_ff = 4 * c->d_model;
    if (c->d_model % c->n_heads)
        return amod_fail(err, "%s: n_embd %d is not divisible by n_head %d", path, c->d_model, c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d_model / c->n_heads;
    return 0;
}

static int parse_llama(const char *path, const cJSON *root, amod_lm_config *c, amod_error *err) {
    static const char *const act[] = {"silu", NULL};
    static const char *const rope_default[] = {"default", NULL};
    c->arch = AMOD_LM_LLAMA;
    c->vocab_size = 32000, c->d_model = 4096, c->n_layers = 32, c->n_heads = 32, c->n_kv_heads = 0;
    c->d_ff = 11008, c->max_positions = 2048, c->norm_eps = 1e-6f, c->rope_theta = 10000.0f;
    c->tie_embeddings = 0, c->head_dim = 0;
    int tp = 1;
    if (get_int(path, root, "vocab_size", 1, 1 << 24, &c->vocab_size, err) ||
        get_int(path, root, "hidden_size", 1, 1 << 16, &c->d_model, err) ||
        get_int(path, root, "num_hidden_layers", 1, AMOD_MAX_LAYERS, &c->n_layers, err) ||
        get_int(path, root, "num_attention_heads", 1, 1 << 12, &c->n_heads, err) ||
        get_int(path, root, "num_key_value_heads", 1, 1 << 12, &c->n_kv_heads, err) ||
        get_int(path, root, "head_dim", 2, 1 << 12, &c->head_dim, err) ||
        get_int(path, root, "intermediate_size", 1, 1 << 20, &c->d_ff, err) ||
        get_int(path, root, "max_position_embeddings", 1, 1 << 20, &c->max_positions, err) ||
        get_int(path, root, "pretraining_tp", 1, 1, &tp, err) ||
        get_pos(path, root, "rms_norm_eps", &c->norm_eps, err) ||
        get_pos(path, root, "rope_theta", &c->rope_theta, err) ||
        get_bool(path, root, "tie_word_embeddings", &c->tie_embeddings, err) ||
        get_bool(path, root, "attention_bias", &c->attn_bias, err) ||
        get_bool(path, root, "mlp_bias", &c->mlp_bias, err) ||
        require_str(path, root, "hidden_act", act, err))
        return -1;
    /* transformers 5 keeps rope_theta inside rope_parameters; older files have it top-level
     * and rope_scaling beside it. Only plain rotary embeddings are implemented. */
    const cJSON *rp = item(root, "rope_parameters");
    if (rp && !cJSON_IsNull(rp)) {
        if (!cJSON_IsObject(rp)) return amod_fail(err, "%s: 'rope_parameters' must be an object", path);
        if (get_pos(path, rp, "rope_theta", &c->rope_theta, err) ||
            require_str(path, rp, "rope_type", rope_default, err))
            return -1;
    }
    const cJSON *rs = item(root, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        if (!cJSON_IsObject(rs)) return amod_fail(err, "%s: 'rope_scaling' must be an object or null", path);
        const cJSON *t = item(rs, "rope_type");
        if (!t) t = item(rs, "type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "default"))
            return amod_fail(err, "%s: rope_scaling type '%s' is not supported (only plain rotary embeddings)",
                             path, cJSON_IsString(t) ? t->valuestring : "?");
    }
    if (c->n_kv_heads == 0) c->n_kv_heads = c->n_heads;
    if (c->n_heads % c->n_kv_heads)
        return amod_fail(err, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path,
                         c->n_heads, c->n_kv_heads);
    if (c->head_dim == 0) {
        if (c->d_model % c->n_heads)
            return amod_fail(err, "%s: hidden_size %d is not divisible by num_attention_heads %d", path, c->d_model,
                             c->n_heads);
        c->head_dim = c->d_model / c->n_heads;
    }
    if (c->head_dim % 2) return amod_fail(err, "%s: head_dim %d must be even for rotary embeddings", path, c->head_dim);
    return 0;
}

static int parse_routing(const char *path, const cJSON *a, const amod_lm_config *c, lm_routing *r,
                         amod_error *err) {
    if (!cJSON_IsObject(a)) return amod_fail(err, "%s: 'amod' must be an object", path);
    const cJSON *mod = item(a, "mod"), *ms = item(a, "mindskip");
    if (mod) {
        static const char *const extra[] = {"predictor_hidden", "predictor_threshold", NULL};
        if (mod_config_read_json(path, "amod.mod", mod, c->n_layers, extra, &r->mod, err) ||
            get_int(path, mod, "predictor_hidden", 0, 1 << 16, &r->predictor_hidden, err))
            return -1;
        const cJSON *th = item(mod, "predictor_threshold");
        if (th) {
            if (!cJSON_IsArray(th) || cJSON_GetArraySize(th) != c->n_layers)
                return amod_fail(err, "%s: amod.mod.predictor_threshold must be a list of %d numbers (one per layer)",
                                 path, c->n_layers);
            int l = 0;
            for (const cJSON *e = th->child; e; e = e->next, l++) {
                if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || fabs(e->valuedouble) > 1e30)
                    return amod_fail(err, "%s: amod.mod.predictor_threshold[%d] is not a finite number", path, l);
                r->predictor_threshold[l] = (float)e->valuedouble;
            }
        }
    }
    if (ms) {
        const cJSON *mode = item(ms, "mode"), *layers = item(ms, "layers");
        if (!cJSON_IsString(mode) || (strcmp(mode->valuestring, "sequence") && strcmp(mode->valuestring, "token")))
            return amod_fail(err, "%s: amod.mindskip.mode must be 'sequence' or 'token'", path);
        r->skip.mode = !strcmp(mode->valuestring, "token") ? AMOD_LM_SKIP_TOKEN : AMOD_LM_SKIP_SEQUENCE;
        if (!cJSON_IsArray(layers)) return amod_fail(err, "%s: amod.mindskip.layers must be a list", path);
        for (const cJSON *e = layers->child; e; e = e->next) {
            if (!cJSON_IsNumber(e) || e->valueint < 0 || e->valueint >= c->n_layers)
                return amod_fail(err, "%s: amod.mindskip.layers holds a layer outside 0..%d", path, c->n_layers - 1);
            r->skip.routed[e->valueint] = 1;
        }
        r->skip.target = 0.5f, r->skip.lambda = 1.0f;
        const cJSON *style = item(ms, "style");
        if (style && !(cJSON_IsString(style) && (!strcmp(style->valuestring, "amod") ||
                                                 !strcmp(style->valuestring, "router-tuning"))))
            return amod_fail(err, "%s: amod.mindskip.style must be 'amod' or 'router-tuning'", path);
        if (style && !strcmp(style->valuestring, "router-tuning")) r->skip.style = AMOD_LM_SKIP_STYLE_ROUTER_TUNING;
        if (get_pos(path, ms, "target", &r->skip.target, err) || get_pos(path, ms, "lambda", &r->skip.lambda, err))
            return -1;
    }
    return 0;
}

static cJSON *parse_json_file(const char *path, amod_error *err) {
    size_t size;
    unsigned char *text = amod_read_file(path, &size, err);
    if (!text) return NULL;
    cJSON *root = cJSON_ParseWithLength((const char *)text, size);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        amod_fail(err, "%s: not a JSON object", path);
        return NULL;
    }
    return root;
}

int lm_config_load(const char *path, amod_lm_config *cfg, lm_routing *routing, amod_error *err) {
    cJSON *root = parse_json_file(path, err);
    if (!root) return -1;
    memset(cfg, 0, sizeof *cfg);
    const cJSON *mt = item(root, "model_type");
    int rc;
    if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "gpt2")) rc = parse_gpt2(path, root, cfg, err);
    else if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "llama")) rc = parse_llama(path, root, cfg, err);
    else
        rc = amod_fail(err, "%s: model_type '%s' is not a supported language model (gpt2 or llama)", path,
                       cJSON_IsString(mt) ? mt->valuestring : "none given");
    if (!rc && routing) {
        memset(routing, 0, sizeof *routing);
        routing->mod.router = AMOD_ROUTER_NONE;
        routing->mod.capacity = 1.0f;
        const cJSON *a = item(root, "amod");
        if (a) rc = parse_routing(path, a, cfg, routing, err);
    }
    cJSON_Delete(root);
    return rc;
}

static void add_layers(cJSON *o, const char *key, const unsigned char *on, int L) {
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    for (int l = 0; l < L; l++)
        if (on[l]) cJSON_AddItemToArray(arr, cJSON_CreateNumber(l));
}

int lm_config_save(const char *path, const amod_lm_config *c, const lm_routing *r, amod_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(root, "architectures");
    typedef struct {
        const char *key;
        double v;
    } number;
    const int gpt2 = c->arch == AMOD_LM_GPT2;
    /* Hugging Face's names for each architecture */
    const number gpt2_keys[] = {{"vocab_size", c->vocab_size},     {"n_embd", c->d_model},
                                {"n_layer", c->n_layers},          {"n_head", c->n_heads},
                                {"n_inner", c->d_ff},              {"n_positions", c->max_positions},
                                {"layer_norm_epsilon", c->norm_eps}, {NULL, 0}};
    const number llama_keys[] = {{"vocab_size", c->vocab_size},
                                 {"hidden_size", c->d_model},
                                 {"num_hidden_layers", c->n_layers},
                                 {"num_attention_heads", c->n_heads},
                                 {"num_key_value_heads", c->n_kv_heads},
                                 {"head_dim", c->head_dim},
                                 {"intermediate_size", c->d_ff},
                                 {"max_position_embeddings", c->max_positions},
                                 {"rms_norm_eps", c->norm_eps},
                                 {NULL, 0}};
    cJSON_AddItemToArray(arch, cJSON_CreateString(gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM"));
    cJSON_AddStringToObject(root, "model_type", gpt2 ? "gpt2" : "llama");
    cJSON_AddStringToObject(root, gpt2 ? "activation_function" : "hidden_act", gpt2 ? "gelu_new" : "silu");
    for (const number *n = gpt2 ? gpt2_keys : llama_keys; n->key; n++) cJSON_AddNumberToObject(root, n->key, n->v);
    if (!gpt2) {
        cJSON *rp = cJSON_AddObjectToObject(root, "rope_parameters");
        cJSON_AddNumberToObject(rp, "rope_theta", c->rope_theta);
        cJSON_AddStringToObject(rp, "rope_type", "default");
        cJSON_AddBoolToObject(root, "attention_bias", c->attn_bias);
        cJSON_AddBoolToObject(root, "mlp_bias", c->mlp_bias);
    }
    cJSON_AddBoolToObject(root, "tie_word_embeddings", c->tie_embeddings);
    if (c->vocab_size <= 256) { /* byte-level: transformers' defaults (50256, ...) lie outside the vocabulary */
        cJSON_AddNullToObject(root, "bos_token_id");
        cJSON_AddNullToObject(root, "eos_token_id");
    }
    cJSON_AddStringToObject(root, "dtype", "float32");
    if (r && (r->mod.router != AMOD_ROUTER_NONE || r->skip.mode != AMOD_LM_SKIP_NONE)) {
        cJSON *a = cJSON_AddObjectToObject(root, "amod");
        if (r->mod.router != AMOD_ROUTER_NONE) {
            cJSON *m = cJSON_AddObjectToObject(a, "mod");
            mod_config_write_json(m, &r->mod, c->n_layers);
            cJSON_AddNumberToObject(m, "predictor_hidden", r->predictor_hidden);
            if (r->predictor_hidden > 0) {
                cJSON *th = cJSON_AddArrayToObject(m, "predictor_threshold");
                for (int l = 0; l < c->n_layers; l++)
                    cJSON_AddItemToArray(th, cJSON_CreateNumber((double)r->predictor_threshold[l]));
            }
        }
        if (r->skip.mode != AMOD_LM_SKIP_NONE) {
            cJSON *m = cJSON_AddObjectToObject(a, "mindskip");
            cJSON_AddStringToObject(m, "mode", r->skip.mode == AMOD_LM_SKIP_TOKEN ? "token" : "sequence");
            add_layers(m, "layers", r->skip.routed, c->n_layers);
            cJSON_AddNumberToObject(m, "target", r->skip.target);
            cJSON_AddNumberToObject(m, "lambda", r->skip.lambda);
            if (r->skip.style == AMOD_LM_SKIP_STYLE_ROUTER_TUNING) cJSON_AddStringToObject(m, "style", "router-tuning");
        }
    }
    return amod_json_write(path, root, err);
}
