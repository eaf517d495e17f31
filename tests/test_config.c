/* config.json reader: the limits that refuse configs no model can have, each with a one-line
 * message naming the file, and amod_config_load_memory agreeing with amod_config_load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/vit_config.h"
#include "test_support.h"

static int load(const char *json, amod_vit_config *cfg, amod_mod_config *mod, amod_error *err) {
    return amod_config_load_memory("cfg.json", json, strlen(json), cfg, mod, err);
}

static void refuse(const char *json, const char *needle, const char *what) {
    amod_vit_config cfg;
    amod_mod_config mod;
    amod_error err = {0};
    CHECK(load(json, &cfg, &mod, &err) == -1, "%s: accepted", what);
    CHECK(strstr(err.msg, "cfg.json: ") == err.msg, "%s: message '%s' does not start with the name", what, err.msg);
    CHECK(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    CHECK(!strchr(err.msg, '\n'), "%s: message is not one line", what);
}

#define TIMM(args, extra) "{\"architecture\": \"vit_custom\", \"model_args\": {" args "}" extra "}"
#define SHAPE(img, depth, dim, heads) \
    "\"img_size\": " img ", \"patch_size\": 8, \"depth\": " depth ", \"embed_dim\": " dim ", \"num_heads\": " heads
#define SMALL SHAPE("32", "4", "16", "2")

static void test_limits(void) {
    amod_vit_config cfg;
    amod_mod_config mod;
    amod_error err = {0};
    CHECK(load(TIMM(SMALL, ""), &cfg, &mod, &err) == 0, "small config: %s", err.msg);
    CHECK(cfg.mlp_hidden == 64 && amod_vit_num_tokens(&cfg) == 17, "mlp %d, tokens %d", cfg.mlp_hidden,
          amod_vit_num_tokens(&cfg));

    refuse(TIMM(SMALL ", \"mlp_ratio\": 0.01", ""), "'mlp_ratio' 0.01 gives embed_dim 16 an MLP of width 0",
           "MLP of width 0");
    refuse(TIMM("\"img_size\": 65536, \"patch_size\": 1", ""), "gives more tokens than a model can have",
           "2^32 tokens");
    refuse(TIMM(SHAPE("70000", "4", "16", "2"), ""), "'img_size' must be an integer in [1, 65536]", "huge image");
    refuse(TIMM(SHAPE("32", "65", "16", "2"), ""), "'depth' must be an integer in [1, 64]", "too deep");
    refuse(TIMM(SHAPE("32", "4", "1e300", "2"), ""), "'embed_dim' must be an integer", "1e300 wide");
    refuse(TIMM(SHAPE("32", "4", "16", "3"), ""), "embed_dim 16 is not divisible by num_heads 3", "heads");
    refuse(TIMM(SMALL, ", \"mod\": {\"router\": \"random\", \"seed\": -1}"), "mod.seed must be an integer",
           "negative seed");
    refuse(TIMM(SMALL, ", \"mod\": {\"router\": \"random\", \"seed\": 1e30}"), "mod.seed must be an integer",
           "seed past 2^64");
    refuse(TIMM(SMALL, ", \"mod\": {\"router\": \"random\", \"seed\": \"7\"}"), "mod.seed must be an integer",
           "seed as a string");
    refuse(TIMM(SMALL, ", \"mod\": {\"router\": \"linear\", \"mod_layers\": [1.5]}"), "mod.mod_layers holds a layer",
           "fractional layer");
    refuse(TIMM(SMALL, ", \"mod\": {\"router\": \"linear\", \"mod_layers\": [4]}"), "layer outside 0..3",
           "layer past the depth");
    refuse(TIMM(SMALL ", \"reg_tokens\": 0.5", ""), "register tokens are not supported", "half a register");
    refuse("{\"architectures\": [\"ViTForImageClassification\"], \"id2label\": {}}", "'id2label' names no class",
           "HF config without classes");
    refuse("{\"architecture\": \"vit_\\ncustom\"}", "unknown architecture 'vit_?custom'", "newline in a name");
    refuse(TIMM(SMALL ", \"depth\": 12", ""), "key 'depth' appears twice in one object", "duplicate key");
    refuse("{\"architecture\": \"vit_custom\", \"pretrained_cfg\": {\"x\": {\"a\": 1, \"b\": 2, \"a\": 3}}}",
           "key 'a' appears twice", "duplicate key deep inside");

    CHECK(load(TIMM(SMALL, ", \"mod\": {\"router\": \"random\", \"seed\": 18446744073709549568}"), &cfg, &mod,
               &err) == 0 && mod.seed == 18446744073709549568ull,
          "largest double seed below 2^64: %s", err.msg);
}

static void test_memory_matches_file(void) {
    const char *names[] = {"vit_timm_tiny/config.json", "vit_hf_tiny/config.json", "deit_tiny_f16/config.json"};
    for (int i = 0; i < 3; i++) {
        const char *path = fixture_path(names[i]);
        amod_vit_config a, b;
        amod_mod_config ma, mb;
        amod_error err = {0};
        size_t size;
        char *text = (char *)amod_read_file(path, &size, &err);
        CHECK(text != NULL, "%s", err.msg);
        if (!text) continue;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK(amod_config_load(path, &a, &ma, &err) == 0, "%s", err.msg);
        CHECK(amod_config_load_memory(path, text, size, &b, &mb, &err) == 0, "%s", err.msg);
        CHECK(!memcmp(&a, &b, sizeof a) && !memcmp(&ma, &mb, sizeof ma), "%s: file and memory differ", path);
        free(text);
    }
}

int main(void) {
    test_limits();
    test_memory_matches_file();
    return test_summary("test_config");
}
