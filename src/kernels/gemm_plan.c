#include "kernels/gemm_plan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

/* float32 product levels, slowest first */
enum { LEVEL_SSE2, LEVEL_SSE42, LEVEL_AVX, LEVEL_AVX2, LEVEL_AVX512 };

static int cpu_level(const amod_cpu_features *f) {
    if (f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl) return LEVEL_AVX512;
    if (f->avx2 && f->fma) return LEVEL_AVX2;
    if (f->avx) return LEVEL_AVX;
    if (f->sse42) return LEVEL_SSE42;
    return LEVEL_SSE2;
}

/* oneDNN's names for the sets (dnnl_cpu_isa_t), extended by the int8/bf16 instructions that
 * AVX-512 cores may add. */
static const char *level_name(int level, const amod_cpu_features *f) {
    switch (level) {
    case LEVEL_AVX512:
        if (f->amx_tile && f->amx_bf16 && f->amx_int8 && f->avx512_bf16) return "avx512_core_amx";
        if (f->avx512_bf16) return "avx512_core_bf16";
        if (f->avx512_vnni) return "avx512_core_vnni";
        return "avx512_core";
    case LEVEL_AVX2: return f->avx_vnni ? "avx2_vnni" : "avx2";
    case LEVEL_AVX: return "avx";
    case LEVEL_SSE42: return "sse4.2";
    default: return "sse2";
    }
}

/* The OpenBLAS kernel set (a DYNAMIC_ARCH core name) for a level. */
static const char *openblas_core_for(int level, const amod_cpu_features *f) {
    switch (level) {
    case LEVEL_AVX512: return f->avx512_bf16 ? "Cooperlake" : "SkylakeX";
    case LEVEL_AVX2: return "Haswell";
    case LEVEL_AVX: return "Sandybridge";
    case LEVEL_SSE42: return "Nehalem";
    default: return "Prescott";
    }
}

/* The level of a core named in OPENBLAS_CORETYPE (names as OpenBLAS 0.3 spells them). */
static int level_of_core(const char *core) {
    static const char *avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *avx2[] = {"Haswell", "Zen", "SkylakeX_AVX2"};
    static const char *avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"};
    static const char *sse42[] = {"Nehalem", "Dunnington", "Penryn"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (!strcasecmp(core, avx512[i])) return LEVEL_AVX512;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (!strcasecmp(core, avx2[i])) return LEVEL_AVX2;
    for (size_t i = 0; i < sizeof avx / sizeof *avx; i++)
        if (!strcasecmp(core, avx[i])) return LEVEL_AVX;
    for (size_t i = 0; i < sizeof sse42 / sizeof *sse42; i++)
        if (!strcasecmp(core, sse42[i])) return LEVEL_SSE42;
    return LEVEL_SSE2; /* Prescott, Core2, Katmai, Atom, ... and names OpenBLAS does not know */
}

const char *amod_gemm_backend_name(amod_gemm_backend b) { return b == AMOD_GEMM_ONEDNN ? "oneDNN" : "OpenBLAS"; }

int amod_gemm_choose(const amod_cpu_features *f, const amod_gemm_request *req, amod_gemm_plan *plan,
                     amod_error *err) {
    memset(plan, 0, sizeof *plan);
    const int best = cpu_level(f);
    snprintf(plan->cpu_best, sizeof plan->cpu_best, "%s", level_name(best, f));
    const int pinned = req->coretype && req->coretype[0] && req->respect_coretype;
    const char *want = req->gemm && req->gemm[0] ? req->gemm : NULL;
    if (want && strcasecmp(want, "onednn") && strcasecmp(want, "openblas"))
        return amod_fail(err, "AMOD_GEMM='%s': the matrix-product path must be onednn or openblas", want);
    if (want && !strcasecmp(want, "onednn") && !req->have_onednn)
        return amod_fail(err, "AMOD_GEMM=onednn: this build has no oneDNN (apt-get install libdnnl-dev, then "
                              "configure again with cmake)");

    if (want) plan->backend = !strcasecmp(want, "onednn") ? AMOD_GEMM_ONEDNN : AMOD_GEMM_OPENBLAS;
    else if (pinned) plan->backend = AMOD_GEMM_OPENBLAS; /* a deliberate OpenBLAS core means OpenBLAS */
    else plan->backend = req->have_onednn ? AMOD_GEMM_ONEDNN : AMOD_GEMM_OPENBLAS;

    int level = best;
    snprintf(plan->openblas_core, sizeof plan->openblas_core, "%s", openblas_core_for(best, f));
    if (plan->backend == AMOD_GEMM_OPENBLAS) {
        if (pinned) {
            snprintf(plan->openblas_core, sizeof plan->openblas_core, "%s", req->coretype);
            level = level_of_core(req->coretype);
            if (level > best) level = best; /* OpenBLAS itself refuses kernels the CPU lacks */
        }
    }
    snprintf(plan->kernels, sizeof plan->kernels, "%s", level_name(level, f));
    plan->slow = level < LEVEL_AVX2;

    if (level < best)
        snprintf(plan->note, sizeof plan->note,
                 "OPENBLAS_CORETYPE=%s with AMOD_RESPECT_OPENBLAS_CORETYPE=1 runs %s kernels on a CPU with %s: "
                 "unset AMOD_RESPECT_OPENBLAS_CORETYPE (amod then picks the kernels from the CPU's features)",
                 req->coretype, plan->kernels, plan->cpu_best);
    else if (plan->slow)
        snprintf(plan->note, sizeof plan->note,
                 "this CPU has no AVX2/FMA: the products run on %s kernels, several times slower than on a "
                 "CPU with AVX2 or AVX-512",
                 plan->kernels);
    else if (want)
        snprintf(plan->note, sizeof plan->note, "AMOD_GEMM=%s asked for it", want);
    else if (pinned)
        snprintf(plan->note, sizeof plan->note, "OPENBLAS_CORETYPE=%s kept (AMOD_RESPECT_OPENBLAS_CORETYPE=1)",
                 req->coretype);
    else if (plan->backend == AMOD_GEMM_ONEDNN)
        snprintf(plan->note, sizeof plan->note, "oneDNN dispatches on the CPU's features (%s)", plan->cpu_best);
    else
        snprintf(plan->note, sizeof plan->note, "OpenBLAS core %s chosen from the CPU's features (%s)%s",
                 plan->openblas_core, plan->cpu_best, req->have_onednn ? "" : "; this build has no oneDNN");
    return 0;
}
