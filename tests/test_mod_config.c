/* MoD settings: token counts, placement, layer lists, validation, router names, presets. */
#include <math.h>
#include <string.h>

#include "amod/amod.h"
#include "test_support.h"

static void check_layers(const amod_mod_config *m, const char *want, const char *what) {
    char got[256] = "";
    size_t used = 0;
    for (int l = 0; l < AMOD_MAX_LAYERS; l++)
        if (m->is_mod[l]) used += (size_t)snprintf(got + used, sizeof got - used, "%s%d", used ? "," : "", l);
    CHECK(!strcmp(got, want), "%s: MoD layers '%s', want '%s'", what, got, want);
}

static void test_tokens(void) {
    CHECK(amod_mod_tokens(0.5f, 17, 1) == 9, "N=17 C=0.5: %d", amod_mod_tokens(0.5f, 17, 1));
    CHECK(amod_mod_tokens(0.125f, 17, 1) == 3, "N=17 C=0.125: %d", amod_mod_tokens(0.125f, 17, 1));
    CHECK(amod_mod_tokens(0.125f, 197, 1) == 25, "N=197 C=0.125: %d", amod_mod_tokens(0.125f, 197, 1));
    CHECK(amod_mod_tokens(0.5f, 197, 1) == 99, "N=197 C=0.5: %d", amod_mod_tokens(0.5f, 197, 1));
    CHECK(amod_mod_tokens(0.5f, 196, 0) == 98, "N=196 C=0.5: %d", amod_mod_tokens(0.5f, 196, 0));
    CHECK(amod_mod_tokens(1.0f, 197, 1) == 197, "C=1 keeps every token");
    /* 0.1f is slightly above 0.1: a naive ceil would give 2 of 10 and 31 of 300. */
    CHECK(amod_mod_tokens(0.1f, 10, 0) == 1, "C=0.1f N=10: %d", amod_mod_tokens(0.1f, 10, 0));
    CHECK(amod_mod_tokens(0.1f, 300, 0) == 30, "C=0.1f N=300: %d", amod_mod_tokens(0.1f, 300, 0));
    CHECK(amod_mod_tokens(0.3f, 10, 0) == 3, "C=0.3f N=10: %d", amod_mod_tokens(0.3f, 10, 0));
    CHECK(amod_mod_tokens(1e-6f, 17, 0) == 1, "a tiny capacity keeps one token");
    CHECK(amod_mod_tokens(0.01f, 17, 2) == 2, "never below the prefix");
    CHECK(amod_mod_tokens(0.5f, 4, 9) == 4, "never above N, even with a bad prefix");
    CHECK(amod_mod_tokens(NAN, 17, 1) == 1, "NaN capacity keeps the prefix");
    CHECK(amod_mod_tokens(-1.0f, 17, 1) == 1, "negative capacity keeps the prefix");
    CHECK(amod_mod_tokens(2.0f, 17, 1) == 17, "capacity above 1 keeps N");
    CHECK(amod_mod_tokens(0.5f, 0, 0) == 0, "no tokens");
}

static void test_placement(void) {
    amod_mod_config m;
    memset(&m, 0, sizeof m);
    amod_mod_set_start(&m, 12, 1);
    check_layers(&m, "1,3,5,7,9,11", "S=1 depth 12");
    amod_mod_set_start(&m, 12, 4);
    check_layers(&m, "4,6,8,10", "S=4 depth 12 (replaces the previous placement)");
    amod_mod_set_start(&m, 12, 12);
    check_layers(&m, "", "S=depth");
    amod_mod_set_start(&m, 12, -3);
    check_layers(&m, "", "S<0");
    amod_mod_set_start(&m, 1000, 60);
    check_layers(&m, "60,62", "depth clamped to AMOD_MAX_LAYERS");
    amod_mod_set_start(NULL, 12, 1); /* must not crash */
}

static void test_list(void) {
    amod_mod_config m;
    memset(&m, 0, sizeof m);
    amod_error err = {0};
    CHECK(amod_mod_set_list(&m, 12, "1,3,5", &err) == 0, "1,3,5: %s", err.msg);
    check_layers(&m, "1,3,5", "list");
    CHECK(amod_mod_set_list(&m, 12, " 11 , 0,2", &err) == 0, "spaces: %s", err.msg);
    check_layers(&m, "0,2,11", "list with spaces");

    static const char *bad[][2] = {
        {"", "empty"},        {"1,,3", "expected a layer number"}, {"1,3,", "ends with ','"},
        {"a", "expected"},    {"1;3", "unexpected ';'"},          {"-1", "expected"},
        {"12", "outside [0, 11]"}, {"3,3", "appears twice"},     {"99999999999999999999", "outside"},
        {"1.5", "unexpected '.'"}, {"1 2", "unexpected '2'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK(amod_mod_set_list(&m, 12, bad[i][0], &err) == -1, "'%s' accepted", bad[i][0]);
        CHECK(strstr(err.msg, bad[i][1]) && !strchr(err.msg, '\n'), "'%s': message '%s', want '%s'",
              bad[i][0], err.msg, bad[i][1]);
        check_layers(&m, "0,2,11", "a refused list leaves the placement alone");
    }
    CHECK(amod_mod_set_list(&m, 0, "1", &err) == -1, "depth 0 accepted");
    CHECK(amod_mod_set_list(&m, 12, NULL, &err) == -1, "NULL list accepted");
    CHECK(amod_mod_set_list(NULL, 12, "1", NULL) == -1, "NULL mod accepted");
}

static void expect_invalid(const amod_mod_config *m, const amod_vit_config *c, const char *want) {
    amod_error err = {0};
    CHECK(amod_mod_validate(m, c, &err) == -1, "accepted, want '%s'", want);
    CHECK(strstr(err.msg, want) != NULL, "message '%s', want '%s'", err.msg, want);
}

static void test_validate(void) {
    amod_vit_config c;
    amod_error err = {0};
    CHECK(amod_vit_preset("deit_tiny_patch16_224", &c, &err) == 0, "%s", err.msg);
    amod_mod_config m;
    memset(&m, 0, sizeof m);
    m.router = AMOD_ROUTER_ATTENTION;
    m.capacity = 0.5f;
    amod_mod_set_start(&m, c.depth, 1);
    CHECK(amod_mod_validate(&m, &c, &err) == 0, "paper placement refused: %s", err.msg);

    m.capacity = 1.5f;
    expect_invalid(&m, &c, "capacity 1.5 is outside (0, 1]");
    m.capacity = 0.0f;
    expect_invalid(&m, &c, "capacity 0 is outside (0, 1]");
    m.capacity = -0.5f;
    expect_invalid(&m, &c, "outside (0, 1]");
    m.capacity = NAN;
    expect_invalid(&m, &c, "outside (0, 1]");
    m.capacity = INFINITY;
    expect_invalid(&m, &c, "outside (0, 1]");
    m.capacity = 1.0f;
    CHECK(amod_mod_validate(&m, &c, &err) == 0, "C=1 refused: %s", err.msg);
    m.capacity = 0.125f;

    amod_mod_set_start(&m, c.depth, 0);
    expect_invalid(&m, &c, "layer 0 cannot be a MoD layer with the attention router");
    CHECK(amod_mod_set_list(&m, c.depth, "1,3,4", &err) == 0, "%s", err.msg);
    expect_invalid(&m, &c, "MoD layer 4 follows MoD layer 3");
    /* Only A-MoD needs a dense previous layer. */
    m.router = AMOD_ROUTER_LINEAR;
    CHECK(amod_mod_validate(&m, &c, &err) == 0, "linear router refused adjacent layers: %s", err.msg);
    amod_mod_set_start(&m, c.depth, 0);
    m.router = AMOD_ROUTER_RANDOM;
    CHECK(amod_mod_validate(&m, &c, &err) == 0, "random router refused layer 0: %s", err.msg);

    memset(m.is_mod, 0, sizeof m.is_mod);
    m.is_mod[12] = 1;
    expect_invalid(&m, &c, "MoD layer 12 is beyond the model's depth 12");
    m.is_mod[12] = 0;
    c.depth = AMOD_MAX_LAYERS + 1;
    expect_invalid(&m, &c, "depth 65 is outside [1, 64]");
    c.depth = 12;
    m.router = (amod_router)42;
    expect_invalid(&m, &c, "unknown router 42");
    CHECK(amod_mod_validate(NULL, &c, &err) == -1, "NULL mod accepted");
}

static void test_routers(void) {
    const char *names[] = {"none", "attention", "linear", "random"};
    for (int i = 0; i < 4; i++) {
        amod_router r;
        CHECK(amod_router_parse(names[i], &r) == 0 && !strcmp(amod_router_name(r), names[i]), "%s", names[i]);
    }
    amod_router r = AMOD_ROUTER_LINEAR;
    CHECK(amod_router_parse("Attention ", &r) == -1 && r == AMOD_ROUTER_LINEAR, "garbage parsed");
    CHECK(amod_router_parse(NULL, &r) == -1, "NULL parsed");
    CHECK(!strcmp(amod_router_name((amod_router)9), "unknown"), "out-of-range name");
}

static void test_presets(void) {
    amod_vit_config c;
    amod_error err = {0};
    int n = 0;
    for (; amod_vit_preset_name(n); n++) {
        CHECK(amod_vit_preset(amod_vit_preset_name(n), &c, &err) == 0, "%s: %s", amod_vit_preset_name(n), err.msg);
        CHECK(c.embed_dim % c.num_heads == 0 && c.mlp_hidden == 4 * c.embed_dim, "%s shape", c.arch);
        CHECK(!strcmp(c.arch, amod_vit_preset_name(n)), "arch '%s'", c.arch);
    }
    CHECK(n >= 7, "%d presets", n);

    CHECK(amod_vit_preset("deit_tiny_patch16_224", &c, &err) == 0, "%s", err.msg);
    CHECK(c.embed_dim == 192 && c.depth == 12 && c.num_heads == 3 && c.img_size == 224 && c.patch_size == 16 &&
              c.in_chans == 3 && c.num_classes == 1000 && c.qkv_bias == 1 && c.num_prefix == 1 &&
              c.pool == AMOD_POOL_TOKEN && c.ln_eps == 1e-6f && c.naming == AMOD_NAMING_TIMM,
          "deit tiny fields");
    CHECK(c.mean[0] == 0.485f && c.std[2] == 0.225f, "DeiT uses ImageNet statistics");
    CHECK(amod_vit_num_tokens(&c) == 197, "deit tokens %d", amod_vit_num_tokens(&c));
    CHECK(amod_vit_preset("vit_base_patch16_224", &c, &err) == 0 && c.mean[1] == 0.5f && c.std[0] == 0.5f,
          "augreg ViT uses 0.5/0.5");
    CHECK(amod_vit_preset("vit_large_patch16_224", &c, &err) == 0 && c.embed_dim == 1024 && c.depth == 24 &&
              c.num_heads == 16, "vit large");
    CHECK(amod_vit_preset("vit_tiny_mnist", &c, &err) == 0 && c.in_chans == 1 && c.num_classes == 10 &&
              amod_vit_num_tokens(&c) == 50, "mnist preset");
    CHECK(amod_vit_preset("vit_tiny_cifar10", &c, &err) == 0 && c.in_chans == 3 && amod_vit_num_tokens(&c) == 65,
          "cifar preset");

    CHECK(amod_vit_preset("deit_huge", &c, &err) == -1, "unknown preset accepted");
    CHECK(strstr(err.msg, "unknown model 'deit_huge'") && strstr(err.msg, "deit_small_patch16_224") &&
              strstr(err.msg, "vit_tiny_mnist"), "message lists the known names: %s", err.msg);
    CHECK(amod_vit_preset(NULL, &c, &err) == -1, "NULL name accepted");

    c.patch_size = 0;
    CHECK(amod_vit_num_tokens(&c) == -1, "patch 0 gives no token count");
    CHECK(amod_vit_num_tokens(NULL) == -1, "NULL config");
}

int main(void) {
    test_tokens();
    test_placement();
    test_list();
    test_validate();
    test_routers();
    test_presets();
    return test_summary("test_mod_config");
}
