/* FLOPs accounting against the A-MoD paper's tables, internal consistency, isoFLOP baselines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/flops.h"
#include "model/isoflop.h"
#include "test_support.h"

static amod_vit_config preset(const char *name) {
    amod_vit_config c;
    amod_error err = {0};
    if (amod_vit_preset(name, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return c;
}

static amod_mod_config paper_mod(amod_router router, float capacity, int depth) {
    amod_mod_config m;
    memset(&m, 0, sizeof m);
    m.router = router;
    m.capacity = capacity;
    amod_mod_set_start(&m, depth, 1); /* Table 1: every other layer from layer 1 */
    return m;
}

static int64_t total(const amod_vit_config *c, const amod_mod_config *m) {
    amod_flops f;
    amod_error err = {0};
    if (amod_flops_count(c, m, &f, &err)) {
        CHECK(0, "count failed: %s", err.msg);
        return -1;
    }
    return f.total;
}

/* Within 3% of the paper, as the brief asks; docs/FLOPS.md explains what remains. */
static void check_paper(const char *what, int64_t macs, double paper_g) {
    double g = (double)macs / 1e9, rel = (g - paper_g) / paper_g;
    CHECK(fabs(rel) < 0.03, "%s: %.4f GMACs vs paper %.2f (%+.1f%%)", what, g, paper_g, 100 * rel);
}

static void test_paper(void) {
    amod_vit_config tiny = preset("deit_tiny_patch16_224"), small = preset("deit_small_patch16_224"),
                    base = preset("vit_base_patch16_224"), dbase = preset("deit_base_patch16_224");
    /* Table 2 (dense). The convention reproduces these to the printed two decimals. */
    int64_t t = total(&tiny, NULL), s = total(&small, NULL), b = total(&base, NULL);
    check_paper("DeiT-Tiny", t, 1.26);
    check_paper("DeiT-Small", s, 4.61);
    check_paper("ViT-Base", b, 17.58);
    CHECK(round(t / 1e7) == 126 && round(s / 1e7) == 461 && round(b / 1e7) == 1758,
          "dense counts no longer round to the paper's: %.4f %.4f %.4f", t / 1e9, s / 1e9, b / 1e9);
    CHECK(total(&dbase, NULL) == b, "DeiT-Base and ViT-Base share a shape");
    /* Exact values of the convention (documented in docs/FLOPS.md). */
    CHECK(t == 1258411200, "DeiT-Tiny exact %lld", (long long)t);

    /* Table 1 (A-MoD, DeiT-Tiny, MoD layers 1,3,...,11). */
    amod_mod_config m50 = paper_mod(AMOD_ROUTER_ATTENTION, 0.5f, 12), m125 = paper_mod(AMOD_ROUTER_ATTENTION, 0.125f, 12);
    check_paper("DeiT-Tiny MoD C=50%", total(&tiny, &m50), 0.92);
    check_paper("DeiT-Tiny MoD C=12.5%", total(&tiny, &m125), 0.71);
}

static void test_sums(void) {
    const char *names[] = {"deit_tiny_patch16_224", "vit_large_patch16_224", "vit_tiny_mnist", "vit_tiny_cifar10"};
    amod_router routers[] = {AMOD_ROUTER_NONE, AMOD_ROUTER_ATTENTION, AMOD_ROUTER_LINEAR, AMOD_ROUTER_RANDOM};
    for (int i = 0; i < 4; i++)
        for (int r = 0; r < 4; r++) {
            amod_vit_config c = preset(names[i]);
            amod_mod_config m = paper_mod(routers[r], 0.25f, c.depth);
            amod_flops f;
            amod_error err = {0};
            CHECK(amod_flops_count(&c, &m, &f, &err) == 0, "%s: %s", names[i], err.msg);
            int64_t sum = f.patch_embed + f.final_norm + f.head;
            int bad_layer = -1;
            for (int l = 0; l < f.depth; l++) {
                const amod_layer_flops *x = &f.layers[l];
                if (x->attn_proj + x->attn_scores + x->mlp + x->norm + x->router != x->total) bad_layer = l;
                int want_tokens = x->is_mod ? amod_mod_tokens(0.25f, f.n_tokens, c.num_prefix) : f.n_tokens;
                if (x->tokens != want_tokens || x->is_mod != (routers[r] != AMOD_ROUTER_NONE && m.is_mod[l]))
                    bad_layer = l;
                sum += x->total;
            }
            CHECK(bad_layer < 0, "%s router %d: layer %d inconsistent", names[i], r, bad_layer);
            CHECK(sum == f.total, "%s router %d: parts %lld != total %lld", names[i], r, (long long)sum,
                  (long long)f.total);
            CHECK(f.depth == c.depth && f.n_tokens == amod_vit_num_tokens(&c), "%s: header fields", names[i]);
        }
}

static void test_capacity_one(void) {
    amod_vit_config c = preset("deit_small_patch16_224");
    int64_t dense = total(&c, NULL);
    amod_mod_config none = paper_mod(AMOD_ROUTER_NONE, 0.125f, 12);
    CHECK(total(&c, &none) == dense, "router none is dense whatever the placement");
    amod_mod_config a = paper_mod(AMOD_ROUTER_ATTENTION, 1.0f, 12), r = paper_mod(AMOD_ROUTER_RANDOM, 1.0f, 12),
                    lin = paper_mod(AMOD_ROUTER_LINEAR, 1.0f, 12);
    CHECK(total(&c, &a) == dense, "A-MoD at C=1 equals dense");
    CHECK(total(&c, &r) == dense, "random MoD at C=1 equals dense");
    /* The linear router's score x.w costs D per token in each of the 6 MoD layers. */
    CHECK(total(&c, &lin) == dense + 6 * 197 * 384, "linear MoD at C=1 is dense plus its router");
    /* Fewer tokens never cost more. */
    amod_mod_config lo = paper_mod(AMOD_ROUTER_ATTENTION, 0.125f, 12), hi = paper_mod(AMOD_ROUTER_ATTENTION, 0.5f, 12);
    CHECK(total(&c, &lo) < total(&c, &hi) && total(&c, &hi) < dense, "monotone in capacity");
}

static void test_terms(void) {
    /* Hand count for DeiT-Tiny, layer 0 and a MoD layer at k = 99. */
    amod_vit_config c = preset("deit_tiny_patch16_224");
    amod_mod_config m = paper_mod(AMOD_ROUTER_LINEAR, 0.5f, 12);
    amod_flops f;
    amod_error err = {0};
    CHECK(amod_flops_count(&c, &m, &f, &err) == 0, "%s", err.msg);
    CHECK(f.patch_embed == 196LL * 768 * 192, "patch embed %lld", (long long)f.patch_embed);
    CHECK(f.layers[0].attn_proj == 197LL * 192 * 4 * 192, "qkv+proj");
    CHECK(f.layers[0].attn_scores == 2LL * 197 * 197 * 192, "scores");
    CHECK(f.layers[0].mlp == 2LL * 197 * 192 * 768, "mlp");
    CHECK(f.layers[0].norm == 2LL * 5 * 197 * 192, "norms");
    CHECK(f.layers[0].router == 0 && !f.layers[0].is_mod, "dense layer has no router");
    CHECK(f.layers[1].is_mod && f.layers[1].tokens == 99, "MoD layer tokens %d", f.layers[1].tokens);
    CHECK(f.layers[1].attn_scores == 2LL * 99 * 99 * 192, "MoD scores are quadratic in k");
    CHECK(f.layers[1].router == 197LL * 192, "linear router scores all N tokens");
    CHECK(f.final_norm == 5LL * 197 * 192 && f.head == 192LL * 1000, "final norm, head");
    c.pool = AMOD_POOL_AVG;
    CHECK(amod_flops_count(&c, NULL, &f, &err) == 0 && f.final_norm == 5 * 192, "avg pool: fc_norm on one vector");
}

static void test_errors(void) {
    amod_vit_config c = preset("deit_tiny_patch16_224");
    amod_flops f;
    amod_error err = {0};
    amod_mod_config m = paper_mod(AMOD_ROUTER_ATTENTION, 1.5f, 12);
    CHECK(amod_flops_count(&c, &m, &f, &err) == -1 && strstr(err.msg, "capacity 1.5 is outside (0, 1]"),
          "capacity: %s", err.msg);
    m = paper_mod(AMOD_ROUTER_ATTENTION, 0.5f, 12);
    amod_mod_set_start(&m, 12, 0);
    CHECK(amod_flops_count(&c, &m, &f, &err) == -1 && strstr(err.msg, "layer 0"), "A-MoD at layer 0: %s", err.msg);

    amod_vit_config b = c;
    b.embed_dim = 0;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1 && strstr(err.msg, "non-positive"), "dim 0: %s", err.msg);
    b = c;
    b.embed_dim = 100;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1 && strstr(err.msg, "not a multiple"), "heads: %s", err.msg);
    b = c;
    b.patch_size = 300;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1 && strstr(err.msg, "patch size"), "patch: %s", err.msg);
    b = c;
    b.depth = 0;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1 && strstr(err.msg, "depth 0"), "depth: %s", err.msg);
    b = c;
    b.img_size = 2000000000;
    b.patch_size = 1;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1, "absurd image accepted");
    b = c;
    b.embed_dim = 1 << 30;
    b.num_heads = 1;
    b.mlp_hidden = 1 << 30;
    CHECK(amod_flops_count(&b, NULL, &f, &err) == -1 && strstr(err.msg, "too large"), "huge: %s", err.msg);
    CHECK(amod_flops_count(NULL, NULL, &f, &err) == -1, "NULL config accepted");
}

static double rel(const amod_isoflop *s) { return ((double)s->macs - (double)s->target) / (double)s->target; }

static void test_isoflop(void) {
    amod_vit_config c = preset("deit_tiny_patch16_224");
    amod_error err = {0};
    amod_isoflop s;
    float caps[] = {0.5f, 0.25f, 0.125f};
    for (int i = 0; i < 3; i++) {
        amod_mod_config m = paper_mod(AMOD_ROUTER_ATTENTION, caps[i], 12);
        CHECK(amod_isoflop_baseline(&c, &m, AMOD_ISOFLOP_WIDTH, &s, &err) == 0, "%s", err.msg);
        CHECK(s.target == total(&c, &m) && s.macs == total(&s.cfg, NULL), "width: reported counts");
        CHECK(fabs(rel(&s)) < 0.02, "C=%g width baseline %d is %+.1f%% off", caps[i], s.cfg.embed_dim, 100 * rel(&s));
        CHECK(s.cfg.depth == 12 && s.cfg.embed_dim % s.cfg.num_heads == 0 && s.cfg.embed_dim < 192 &&
                  s.cfg.mlp_hidden == 4 * s.cfg.embed_dim && !strcmp(s.cfg.arch, "vit_custom"),
              "width baseline shape %d/%d/%d", s.cfg.embed_dim, s.cfg.num_heads, s.cfg.mlp_hidden);

        CHECK(amod_isoflop_baseline(&c, &m, AMOD_ISOFLOP_DEPTH, &s, &err) == 0, "%s", err.msg);
        CHECK(s.cfg.embed_dim == 192 && s.cfg.depth < 12, "depth baseline shape");
        /* Depth moves in whole blocks: the best is within half a block of the target. */
        int64_t block = 102427392;
        CHECK(llabs(s.macs - s.target) <= block / 2, "C=%g depth baseline %d is %+.1f%% off", caps[i], s.cfg.depth,
              100 * rel(&s));
        /* No other depth is closer. */
        for (int d = 1; d <= 12; d++) {
            amod_vit_config o = c;
            o.depth = d;
            CHECK(llabs(total(&o, NULL) - s.target) >= llabs(s.macs - s.target), "depth %d is closer", d);
        }
    }
    amod_mod_config m50 = paper_mod(AMOD_ROUTER_ATTENTION, 0.5f, 12);
    CHECK(amod_isoflop_baseline(&c, &m50, AMOD_ISOFLOP_DEPTH, &s, &err) == 0 && s.cfg.depth == 9 &&
              fabs(rel(&s)) < 0.03, "C=0.5 depth baseline: depth %d, %+.1f%%", s.cfg.depth, 100 * rel(&s));
    /* Dense in, the same model out. */
    CHECK(amod_isoflop_baseline(&c, NULL, AMOD_ISOFLOP_WIDTH, &s, &err) == 0 && s.cfg.embed_dim == 192 &&
              s.macs == s.target, "dense width");
    CHECK(amod_isoflop_baseline(&c, NULL, AMOD_ISOFLOP_DEPTH, &s, &err) == 0 && s.cfg.depth == 12 &&
              s.macs == s.target, "dense depth");
    CHECK(amod_isoflop_baseline(&c, NULL, (amod_isoflop_kind)7, &s, &err) == -1, "bad kind accepted");
    /* width-mlp: the cluttered testbed's 6 x 96 model with 3 heads at C = 0.5 on blocks 1, 3, 5,
     * where whole widths (81 or 84) miss by 2.5 % or more; the MLP width closes the gap and the
     * ratio stays near 4. No other width and MLP width of the search is closer to the target. */
    amod_vit_config small = c;
    small.img_size = 64, small.patch_size = 8, small.embed_dim = 96, small.num_heads = 3, small.mlp_hidden = 384;
    small.depth = 6, small.num_classes = 10;
    amod_mod_config m135 = {.router = AMOD_ROUTER_ATTENTION, .capacity = 0.5f, .is_mod = {0, 1, 0, 1, 0, 1}};
    CHECK(amod_isoflop_baseline(&small, &m135, AMOD_ISOFLOP_WIDTH, &s, &err) == 0 && fabs(rel(&s)) > 0.02,
          "width alone: %+.2f%%", 100 * rel(&s));
    CHECK(amod_isoflop_baseline(&small, &m135, AMOD_ISOFLOP_WIDTH_MLP, &s, &err) == 0, "width-mlp: %s", err.msg);
    CHECK(fabs(rel(&s)) < 0.002 && s.cfg.depth == 6 && s.cfg.embed_dim % 3 == 0 && s.cfg.embed_dim < 96 &&
              s.cfg.mlp_hidden <= 384 && fabs((double)s.cfg.mlp_hidden / s.cfg.embed_dim - 4.0) < 0.5 &&
              s.macs == total(&s.cfg, NULL),
          "width-mlp: width %d, mlp %d, %+.2f%%", s.cfg.embed_dim, s.cfg.mlp_hidden, 100 * rel(&s));
    CHECK(!strcmp(amod_isoflop_kind_name(AMOD_ISOFLOP_WIDTH_MLP), "width-mlp"), "kind name");
    amod_isoflop_kind kind;
    CHECK(amod_isoflop_kind_parse("width-mlp", &kind) == 0 && kind == AMOD_ISOFLOP_WIDTH_MLP, "kind parse");
    amod_mod_config bad = paper_mod(AMOD_ROUTER_ATTENTION, 2.0f, 12);
    CHECK(amod_isoflop_baseline(&c, &bad, AMOD_ISOFLOP_DEPTH, &s, &err) == -1 && strstr(err.msg, "capacity 2"),
          "bad capacity: %s", err.msg);

    amod_isoflop_kind k;
    CHECK(amod_isoflop_kind_parse("width", &k) == 0 && k == AMOD_ISOFLOP_WIDTH, "parse width");
    CHECK(amod_isoflop_kind_parse("depth", &k) == 0 && !strcmp(amod_isoflop_kind_name(k), "depth"), "parse depth");
    CHECK(amod_isoflop_kind_parse("heads", &k) == -1, "garbage kind parsed");
}

int main(void) {
    test_paper();
    test_sums();
    test_capacity_one();
    test_terms();
    test_errors();
    test_isoflop();
    return test_summary("test_flops");
}
