/* isoFLOP baselines by exhaustive search: at most 64 depths, D/H widths, or D/H widths times
 * the MLP widths, each counted exactly. */
#include "model/isoflop.h"

#include <math.h>
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

/* WIDTH_MLP at width c->embed_dim: the MLP width whose FLOPs come closest to the target. Among
 * widths that come within 1 %, the one whose MLP ratio stays nearest the model's wins (so the
 * baseline looks like the model, only smaller); until one does, the closest. */
static int consider_mlp(amod_vit_config *c, const amod_vit_config *orig, amod_isoflop *best, int *have,
                        amod_error *err) {
    amod_isoflop here = {.target = best->target};
    int have_here = 0;
    for (int h = 1; h <= orig->mlp_hidden; h++) {
        c->mlp_hidden = h;
        if (consider(c, &here, &have_here, err)) return -1;
    }
    const double ratio = (double)orig->mlp_hidden / orig->embed_dim;
    const int close_here = dist(here.macs, best->target) * 100 <= best->target;
    const int close_best = *have && dist(best->macs, best->target) * 100 <= best->target;
    const double off_here = fabs((double)here.cfg.mlp_hidden / here.cfg.embed_dim - ratio);
    const double off_best = *have ? fabs((double)best->cfg.mlp_hidden / best->cfg.embed_dim - ratio) : 0;
    if (!*have || (close_here && (!close_best || off_here < off_best)) ||
        (!close_here && !close_best && dist(here.macs, best->target) < dist(best->macs, best->target))) {
        best->cfg = here.cfg;
        best->macs = here.macs;
        *have = 1;
    }
    return 0;
}

int amod_isoflop_baseline(const amod_vit_config *cfg, const amod_mod_config *mod,
                          amod_isoflop_kind kind, amod_isoflop *out, amod_error *err) {
    if (!cfg || !out) return amod_fail(err, "no model config given");
    if (kind != AMOD_ISOFLOP_DEPTH && kind != AMOD_ISOFLOP_WIDTH && kind != AMOD_ISOFLOP_WIDTH_MLP)
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
    /* Widths that keep head_dim an integer; the MLP keeps its ratio to the width, or (WIDTH_MLP)
     * takes every width up to the model's. */
    int heads = cfg->num_heads;
    for (int w = heads; w <= cfg->embed_dim; w += heads) {
        c.embed_dim = w;
        int64_t hidden = ((int64_t)cfg->mlp_hidden * w + cfg->embed_dim / 2) / cfg->embed_dim;
        c.mlp_hidden = hidden < 1 ? 1 : (int)hidden;
        if (kind == AMOD_ISOFLOP_WIDTH && consider(&c, out, &have, err)) return -1;
        if (kind == AMOD_ISOFLOP_WIDTH_MLP && consider_mlp(&c, cfg, out, &have, err)) return -1;
    }
    return 0;
}

const char *amod_isoflop_kind_name(amod_isoflop_kind kind) {
    return kind == AMOD_ISOFLOP_DEPTH       ? "depth"
           : kind == AMOD_ISOFLOP_WIDTH     ? "width"
           : kind == AMOD_ISOFLOP_WIDTH_MLP ? "width-mlp"
                                            : "unknown";
}

int amod_isoflop_kind_parse(const char *s, amod_isoflop_kind *out) {
    if (!s || !out) return -1;
    if (!strcmp(s, "depth")) *out = AMOD_ISOFLOP_DEPTH;
    else if (!strcmp(s, "width")) *out = AMOD_ISOFLOP_WIDTH;
    else if (!strcmp(s, "width-mlp")) *out = AMOD_ISOFLOP_WIDTH_MLP;
    else return -1;
    return 0;
}
