#include "model/vit_config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/mod_config_json.h"
#include "io/json.h"

static int get_int(const char *path, const cJSON *obj, const char *key, int lo, int hi, int *out,
                   amod_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return amod_fail(err, "%s: '%s' must be an integer in [%d, %d]", path, key, lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_float3(const char *path, const cJSON *obj, const char *key, float out[3], amod_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    int n = cJSON_GetArraySize(v);
    if (!cJSON_IsArray(v) || n < 1 || n > 3)
        return amod_fail(err, "%s: '%s' must be a list of 1 to 3 numbers", path, key);
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(v, i < n ? i : n - 1);
        if (!cJSON_IsNumber(e)) return amod_fail(err, "%s: '%s' must hold numbers", path, key);
        out[i] = (float)e->valuedouble;
    }
    return 0;
}

static int in_list(const char *key, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(key, *list)) return 1;
    return 0;
}

static int is_false_or_null(const cJSON *v) { return cJSON_IsNull(v) || cJSON_IsFalse(v); }

/* ---- timm ---- */

static int parse_model_args(const char *path, const cJSON *args, amod_vit_config *cfg, amod_error *err) {
    static const char *const known[] = {"img_size", "patch_size", "in_chans", "num_classes", "embed_dim",
                                        "depth", "num_heads", "mlp_ratio", "qkv_bias", "class_token",
                                        "global_pool", "no_embed_class", "reg_tokens", "fc_norm",
                                        "pre_norm", "init_values", "drop_rate", "attn_drop_rate",
                                        "drop_path_rate", "pos_drop_rate", "proj_drop_rate", NULL};
    for (const cJSON *it = args->child; it; it = it->next)
        if (!in_list(it->string, known))
            return amod_fail(err, "%s: unknown model_args key '%s'", path, it->string);
    if (get_int(path, args, "img_size", 1, 1 << 16, &cfg->img_size, err) ||
        get_int(path, args, "patch_size", 1, 1 << 16, &cfg->patch_size, err) ||
        get_int(path, args, "in_chans", 1, 64, &cfg->in_chans, err) ||
        get_int(path, args, "num_classes", 1, 1 << 24, &cfg->num_classes, err) ||
        get_int(path, args, "embed_dim", 1, 1 << 16, &cfg->embed_dim, err) ||
        get_int(path, args, "depth", 1, AMOD_MAX_LAYERS, &cfg->depth, err) ||
        get_int(path, args, "num_heads", 1, 1 << 12, &cfg->num_heads, err))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "img_size");
    if (cJSON_IsArray(v)) return amod_fail(err, "%s: only square images are supported (img_size)", path);
    double ratio = 4.0;
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "mlp_ratio"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble <= 0 || v->valuedouble > 64)
            return amod_fail(err, "%s: 'mlp_ratio' must be a positive number", path);
        ratio = v->valuedouble;
    }
    cfg->mlp_hidden = (int)(cfg->embed_dim * ratio);
    if (cfg->mlp_hidden < 1)
        return amod_fail(err, "%s: 'mlp_ratio' %g gives embed_dim %d an MLP of width 0", path, ratio,
                         cfg->embed_dim);
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "qkv_bias"))) cfg->qkv_bias = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "class_token")) && !cJSON_IsTrue(v))
        return amod_fail(err, "%s: models without a class token are not supported", path);
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "global_pool"))) {
        if (!cJSON_IsString(v) || strcmp(v->valuestring, "token"))
            return amod_fail(err, "%s: global_pool '%s' is not supported (only 'token')", path,
                             cJSON_IsString(v) ? v->valuestring : "?");
    }
    static const char *const must_be_off[] = {"no_embed_class", "fc_norm", "pre_norm", "init_values", NULL};
    for (int i = 0; must_be_off[i]; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(args, must_be_off[i])) && !is_false_or_null(v))
            return amod_fail(err, "%s: '%s' is not supported", path, must_be_off[i]);
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "reg_tokens")) && !(cJSON_IsNumber(v) && v->valuedouble == 0))
        return amod_fail(err, "%s: register tokens are not supported", path);
    return 0;
}

static int parse_mod(const char *path, const cJSON *m, const amod_vit_config *cfg, amod_mod_config *mod,
                     amod_error *err) {
    if (mod_config_read_json(path, "mod", m, cfg->depth, NULL, mod, err)) return -1;
    amod_error why; /* not err itself: the message would be formatted from the buffer it overwrites */
    return amod_mod_validate(mod, cfg, &why) ? amod_fail(err, "%s: %s", path, why.msg) : 0;
}

static int parse_timm(const char *path, const cJSON *root, amod_vit_config *cfg, amod_mod_config *mod,
                      amod_error *err) {
    static const char *const known[] = {"architecture", "num_classes", "num_features", "global_pool",
                                        "model_args", "pretrained_cfg", "label_names",
                                        "label_descriptions", "weights", "mod", NULL};
    for (const cJSON *it = root->child; it; it = it->next)
        if (!in_list(it->string, known)) return amod_fail(err, "%s: unknown config key '%s'", path, it->string);
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architecture");
    if (!cJSON_IsString(arch)) return amod_fail(err, "%s: 'architecture' must be a string", path);
    if (!strcmp(arch->valuestring, "vit_custom")) {
        /* A custom ViT starts from timm's VisionTransformer defaults. */
        memset(cfg, 0, sizeof *cfg);
        snprintf(cfg->arch, sizeof cfg->arch, "vit_custom");
        cfg->img_size = 224, cfg->patch_size = 16, cfg->in_chans = 3, cfg->num_classes = 1000;
        cfg->embed_dim = 768, cfg->depth = 12, cfg->num_heads = 12, cfg->mlp_hidden = 3072;
        cfg->qkv_bias = 1, cfg->num_prefix = 1, cfg->ln_eps = 1e-6f;
        for (int i = 0; i < 3; i++) cfg->mean[i] = 0.5f, cfg->std[i] = 0.5f;
    } else {
        amod_error perr;
        if (amod_vit_preset(arch->valuestring, cfg, &perr)) {
            char known[512] = "vit_custom";
            for (int i = 0; amod_vit_preset_name(i); i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), ", %s", amod_vit_preset_name(i));
            return amod_fail(err, "%s: unknown architecture '%s' (known: %s)", path, arch->valuestring, known);
        }
    }
    if (get_int(path, root, "num_classes", 1, 1 << 24, &cfg->num_classes, err)) return -1;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "model_args");
    if (args) {
        if (!cJSON_IsObject(args)) return amod_fail(err, "%s: 'model_args' must be an object", path);
        if (parse_model_args(path, args, cfg, err)) return -1;
    }
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(root, "pretrained_cfg");
    if (cJSON_IsObject(pc)) {
        if (get_float3(path, pc, "mean", cfg->mean, err) || get_float3(path, pc, "std", cfg->std, err))
            return -1;
    }
    cfg->naming = AMOD_NAMING_TIMM;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "mod");
    if (mod && m) {
        if (!cJSON_IsObject(m)) return amod_fail(err, "%s: 'mod' must be an object", path);
        mod->capacity = 1.0f;
        return parse_mod(path, m, cfg, mod, err);
    }
    return 0;
}

/* ---- Hugging Face ViTForImageClassification ---- */

static int parse_hf_vit(const char *path, const cJSON *root, amod_vit_config *cfg, amod_error *err) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "hf_vit");
    cfg->img_size = 224, cfg->patch_size = 16, cfg->in_chans = 3, cfg->num_classes = 2;
    cfg->embed_dim = 768, cfg->depth = 12, cfg->num_heads = 12, cfg->mlp_hidden = 3072;
    cfg->qkv_bias = 1, cfg->num_prefix = 1, cfg->ln_eps = 1e-12f, cfg->naming = AMOD_NAMING_HF;
    for (int i = 0; i < 3; i++) cfg->mean[i] = 0.5f, cfg->std[i] = 0.5f;
    if (get_int(path, root, "hidden_size", 1, 1 << 16, &cfg->embed_dim, err) ||
        get_int(path, root, "num_hidden_layers", 1, AMOD_MAX_LAYERS, &cfg->depth, err) ||
        get_int(path, root, "num_attention_heads", 1, 1 << 12, &cfg->num_heads, err) ||
        get_int(path, root, "intermediate_size", 1, 1 << 20, &cfg->mlp_hidden, err) ||
        get_int(path, root, "image_size", 1, 1 << 16, &cfg->img_size, err) ||
        get_int(path, root, "patch_size", 1, 1 << 16, &cfg->patch_size, err) ||
        get_int(path, root, "num_channels", 1, 64, &cfg->in_chans, err) ||
        get_int(path, root, "num_labels", 1, 1 << 24, &cfg->num_classes, err))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    if (cJSON_IsObject(v)) {
        cfg->num_classes = cJSON_GetArraySize(v);
        if (cfg->num_classes < 1) return amod_fail(err, "%s: 'id2label' names no class", path);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble <= 0)
            return amod_fail(err, "%s: 'layer_norm_eps' must be a positive number", path);
        cfg->ln_eps = (float)v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "qkv_bias"))) cfg->qkv_bias = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "hidden_act")) &&
        !(cJSON_IsString(v) && !strcmp(v->valuestring, "gelu")))
        return amod_fail(err, "%s: hidden_act '%s' is not supported (only 'gelu')", path,
                         cJSON_IsString(v) ? v->valuestring : "?");
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "use_mask_token")) && cJSON_IsTrue(v))
        return amod_fail(err, "%s: use_mask_token is not supported", path);
    return 0;
}

static const char *hf_architecture(const cJSON *root) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (cJSON_IsArray(a) && cJSON_IsString(a->child)) return a->child->valuestring;
    return NULL;
}

/* Reads the parsed root (and frees it). */
static int load_root(const char *path, cJSON *root, amod_vit_config *cfg, amod_mod_config *mod,
                     amod_error *err) {
    if (mod) {
        memset(mod, 0, sizeof *mod);
        mod->router = AMOD_ROUTER_NONE;
        mod->capacity = 1.0f;
    }
    int rc;
    const char *hf = hf_architecture(root);
    if (cJSON_GetObjectItemCaseSensitive(root, "architecture")) {
        rc = parse_timm(path, root, cfg, mod, err);
    } else if (hf && !strcmp(hf, "ViTForImageClassification")) {
        rc = parse_hf_vit(path, root, cfg, err);
    } else {
        rc = amod_fail(err, "%s: unknown architecture '%s' (expected a timm VisionTransformer or "
                       "ViTForImageClassification)", path, hf ? hf : "none given");
    }
    cJSON_Delete(root);
    if (rc) return -1;
    if (cfg->embed_dim % cfg->num_heads)
        return amod_fail(err, "%s: embed_dim %d is not divisible by num_heads %d", path, cfg->embed_dim,
                         cfg->num_heads);
    if (cfg->img_size % cfg->patch_size)
        return amod_fail(err, "%s: img_size %d is not a multiple of patch_size %d", path, cfg->img_size,
                         cfg->patch_size);
    if (amod_vit_num_tokens(cfg) < 1)
        return amod_fail(err, "%s: img_size %d with patch_size %d gives more tokens than a model can have",
                         path, cfg->img_size, cfg->patch_size);
    return 0;
}

int amod_config_load(const char *path, amod_vit_config *cfg, amod_mod_config *mod, amod_error *err) {
    cJSON *root = amod_json_read_object(path, err);
    if (!root) return -1;
    return load_root(path, root, cfg, mod, err);
}

int amod_config_load_memory(const char *name, const char *text, size_t size, amod_vit_config *cfg,
                            amod_mod_config *mod, amod_error *err) {
    cJSON *root = amod_json_parse_object(name, text, size, err);
    if (!root) return -1;
    return load_root(name, root, cfg, mod, err);
}

const char *amod_config_model_family(const char *path, amod_error *err) {
    cJSON *root = amod_json_read_object(path, err);
    if (!root) return NULL;
    const char *family = "vit";
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "gpt2")) family = "gpt2";
    if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "llama")) family = "llama";
    cJSON_Delete(root);
    return family;
}

void amod_labels_free(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

int amod_config_load_labels(const char *path, int num_classes, char ***names, int *n, amod_error *err) {
    *names = NULL, *n = 0;
    cJSON *root = amod_json_read_object(path, err);
    if (!root) return -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "label_names");
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    int rc = 0;
    if ((list && !cJSON_IsNull(list)) || (map && !cJSON_IsNull(map))) {
        const int count = list ? cJSON_GetArraySize(list) : cJSON_GetArraySize(map);
        if ((list && !cJSON_IsArray(list)) || (!list && !cJSON_IsObject(map)))
            rc = amod_fail(err, "%s: '%s' must be a %s", path, list ? "label_names" : "id2label", list ? "list" : "map");
        else if (count != num_classes)
            rc = amod_fail(err, "%s: '%s' names %d classes, the model has %d", path, list ? "label_names" : "id2label",
                           count, num_classes);
        else if (!(*names = amod_zalloc((size_t)(count ? count : 1) * sizeof **names, err)))
            rc = -1;
        for (int k = 0; !rc && k < count; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            const cJSON *v = list ? cJSON_GetArrayItem(list, k) : cJSON_GetObjectItemCaseSensitive(map, key);
            if (!cJSON_IsString(v)) rc = amod_fail(err, "%s: class %d has no name (a string)", path, k);
            else if (!((*names)[k] = strdup(v->valuestring))) rc = amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
            else *n = k + 1;
        }
    }
    if (rc) {
        amod_labels_free(*names, *n);
        *names = NULL, *n = 0;
    }
    cJSON_Delete(root);
    return rc;
}

int amod_config_save(const char *path, const amod_vit_config *cfg, const amod_mod_config *mod,
                     char *const *labels, int n_labels, amod_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "architecture", amod_vit_timm_architecture(cfg));
    cJSON_AddNumberToObject(root, "num_classes", cfg->num_classes);
    cJSON_AddNumberToObject(root, "num_features", cfg->embed_dim);
    cJSON_AddStringToObject(root, "global_pool", "token");
    cJSON *args = cJSON_AddObjectToObject(root, "model_args");
    cJSON_AddNumberToObject(args, "img_size", cfg->img_size);
    cJSON_AddNumberToObject(args, "patch_size", cfg->patch_size);
    cJSON_AddNumberToObject(args, "in_chans", cfg->in_chans);
    cJSON_AddNumberToObject(args, "num_classes", cfg->num_classes);
    cJSON_AddNumberToObject(args, "embed_dim", cfg->embed_dim);
    cJSON_AddNumberToObject(args, "depth", cfg->depth);
    cJSON_AddNumberToObject(args, "num_heads", cfg->num_heads);
    cJSON_AddNumberToObject(args, "mlp_ratio", (double)cfg->mlp_hidden / cfg->embed_dim);
    cJSON_AddBoolToObject(args, "qkv_bias", cfg->qkv_bias);
    cJSON *pc = cJSON_AddObjectToObject(root, "pretrained_cfg");
    cJSON *mean = cJSON_AddArrayToObject(pc, "mean"), *std = cJSON_AddArrayToObject(pc, "std");
    int nc = cfg->in_chans < 3 ? cfg->in_chans : 3;
    for (int i = 0; i < nc; i++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(cfg->mean[i]));
        cJSON_AddItemToArray(std, cJSON_CreateNumber(cfg->std[i]));
    }
    cJSON *isz = cJSON_AddArrayToObject(pc, "input_size");
    cJSON_AddItemToArray(isz, cJSON_CreateNumber(cfg->in_chans));
    cJSON_AddItemToArray(isz, cJSON_CreateNumber(cfg->img_size));
    cJSON_AddItemToArray(isz, cJSON_CreateNumber(cfg->img_size));
    if (labels) {
        cJSON *names = cJSON_AddArrayToObject(root, "label_names");
        for (int k = 0; k < n_labels; k++) cJSON_AddItemToArray(names, cJSON_CreateString(labels[k]));
    }
    if (mod && mod->router != AMOD_ROUTER_NONE) mod_config_write_json(cJSON_AddObjectToObject(root, "mod"), mod, cfg->depth);
    return amod_json_write(path, root, err);
}
