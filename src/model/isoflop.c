/* isoFLOP baselines by exhaustive search: at most 64 depths or D/H widths, each counted exactly. */
#include "model/isoflop.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/flops.h"

static int64_t dist(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

/* Keeps candidate c when it is closer to the target than the best so far (cheaper on a tie). */
static int consider(const amod_vit_config *c, amod_isoflop *best, int *have, amod_error *err) {
    amod_flops f;
    if (amod_flops_count(c, NULL, &f, err)) return -1;
    int64_t dc = dist(f.total, best->target), db = dist(best->macs, best->target);
    if (!*have || dc < db || (dc == db && f.total < best->macs)) {
        best->cfg = *c;
        best->macs = f.total;
        *have = 1;
    }
    return 0;
}

int amod_isoflop_baseline(const amod_vit_config *cfg, const amod_mod_config *mod,
                          amod_isoflop_kind kind, amod_isoflop *out, amod_error *err) {
    if (!cfg || !out) return amod_fail(err, "no model config given");
    if (kind != AMOD_ISOFLOP_DEPTH && kind != AMOD_ISOFLOP_WIDTH)
        return amod_fail(err, "unknown isoFLOP kind %d", (int)kind);
    amod_flops target;
    if (amod_flops_count(cfg, mod, &target, err)) return -1;
    memset(out, 0, sizeof *out);
    out->target = target.total;
    int have = 0;
    amod_vit_config c = *cfg;
    /* The baseline is a different architecture from the named one. */
    snprintf(c.arch, sizeof c.arch, "vit_custom");
    if (kind == AMOD_ISOFLOP_DEPTH) {
        for (int d = 1; d <= cfg->depth; d++) {
            c.depth = d;
            if (consider(&c, out, &have, err)) return -1;
        }
        return 0;
    }
    /* Widths that keep head_dim an integer; the MLP keeps its ratio to the width. */
    int heads = cfg->num_heads;
    for (int w = heads; w <= cfg->embed_dim; w += heads) {
        c.embed_dim = w;
        int64_t hidden = ((int64_t)cfg->mlp_hidden * w + cfg->embed_dim / 2) / cfg->embed_dim;
        c.mlp_hidden = hidden < 1 ? 1 : (int)hidden;
        if (consider(&c, out, &have, err)) return -1;
    }
    return 0;
}

const char *amod_isoflop_kind_name(amod_isoflop_kind kind) {
    return kind == AMOD_ISOFLOP_DEPTH ? "depth" : kind == AMOD_ISOFLOP_WIDTH ? "width" : "unknown";
}

int amod_isoflop_kind_parse(const char *s, amod_isoflop_kind *out) {
    if (!s || !out) return -1;
    if (!strcmp(s, "depth")) *out = AMOD_ISOFLOP_DEPTH;
    else if (!strcmp(s, "width")) *out = AMOD_ISOFLOP_WIDTH;
    else return -1;
    return 0;
}
