/* Generation with a KV cache equals recomputing the whole prefix at every step: the same
 * tokens and the same logits (1e-4), for GPT-2 and Llama (grouped-query attention, rotary
 * positions), for MoD models that route each token with the causal predictor (some tokens
 * skip a block, some run it: both paths are exercised), and for MindSkip. Sampling with a
 * temperature reproduces with its seed and stays within top-k. The predictors' calibrated
 * thresholds keep exactly C of a sequence they were calibrated on (of several, pooled), and
 * survive a save. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amod/lm.h"
#include "core/rng.h"
#include "model/lm_internal.h"
#include "test_support.h"

#define PROMPT 7
#define NEW 24

static void compare_paths(const char *label, amod_lm *m, const amod_lm_gen *gen) {
    const int V = amod_lm_get_config(m)->vocab_size;
    int64_t prompt[PROMPT], a[NEW], b[NEW];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int64_t)((i * 37 + 11) % V);
    float *la = malloc((size_t)NEW * V * sizeof *la), *lb = malloc((size_t)NEW * V * sizeof *lb);
    amod_error err;
    amod_lm_gen cached = *gen, uncached = *gen;
    cached.no_cache = 0;
    uncached.no_cache = 1;
    int rc = amod_lm_generate(m, prompt, PROMPT, NEW, &cached, a, la, &err);
    CHECK(rc == 0, "%s: cached generation: %s", label, err.msg);
    rc = amod_lm_generate(m, prompt, PROMPT, NEW, &uncached, b, lb, &err);
    CHECK(rc == 0, "%s: uncached generation: %s", label, err.msg);
    int same = !memcmp(a, b, sizeof a);
    double e = rel_max_err(la, lb, (size_t)NEW * V);
    CHECK(same, "%s: cached and recomputed generations differ", label);
    CHECK(!gen->forced || !memcmp(a, gen->forced, sizeof a), "%s: teacher forcing did not emit the forced tokens", label);
    CHECK(e < 1e-4, "%s: step logits differ by %.3g", label, e);
    int distinct = 0;
    for (int i = 1; i < NEW; i++) distinct += a[i] != a[0];
    printf("%-40s %d tokens equal, logits max rel err %.2e, %d tokens differ from the first\n", label, NEW, e,
           distinct);
    free(la);
    free(lb);
}

static amod_lm *load(const char *dir) {
    amod_error err;
    amod_lm *m = amod_lm_load(fixture_path(dir), &err);
    CHECK(m != NULL, "load %s: %s", dir, err.msg);
    return m;
}

/* A random Llama with MoD layers whose predictors send about half the tokens through. */
static amod_lm *mod_model(amod_lm_arch arch, int *through, int *skipped) {
    amod_lm_config c = {0};
    c.arch = arch, c.vocab_size = 256, c.d_model = 32, c.n_heads = 4, c.n_kv_heads = arch == AMOD_LM_LLAMA ? 2 : 4;
    c.head_dim = 8, c.d_ff = 64, c.n_layers = 4, c.max_positions = 64, c.norm_eps = 1e-5f, c.rope_theta = 10000.0f;
    c.tie_embeddings = arch == AMOD_LM_GPT2;
    amod_error err;
    amod_lm *m = amod_lm_create(&c, 5, &err);
    CHECK(m != NULL, "create: %s", err.msg);
    if (m) { /* the tensor getters check their index */
        const int n = amod_lm_num_tensors(m);
        int64_t shape[4];
        CHECK(amod_lm_tensor_name(m, n - 1) && !amod_lm_tensor_name(m, n) && !amod_lm_tensor_name(m, -1) &&
                  amod_lm_tensor_shape(m, n, shape) == -1 && amod_lm_tensor_offset(m, -1) == SIZE_MAX &&
                  !amod_lm_tensor_is_router(m, n),
              "LM tensor getters outside 0..%d", n - 1);
    }
    if (!m) return NULL;
    amod_mod_config mod = {0};
    mod.router = AMOD_ROUTER_LINEAR, mod.capacity = 0.5f, mod.seed = 3;
    amod_mod_set_start(&mod, c.n_layers, 1);
    CHECK(amod_lm_set_mod(m, &mod, 16, &err) == 0, "set_mod: %s", err.msg);
    /* scale the predictors and routers up so decisions and scores vary between tokens */
    float *p = amod_lm_params(m);
    amod_rng r;
    rng_seed(&r, 17);
    for (int i = 0; i < amod_lm_num_tensors(m); i++) {
        const char *n = amod_lm_tensor_name(m, i);
        int64_t s[4];
        int nd = amod_lm_tensor_shape(m, i, s);
        size_t numel = (size_t)s[0] * (nd > 1 ? (size_t)s[1] : 1);
        if (strstr(n, "mod_predictor") || strstr(n, "mod_router"))
            for (size_t j = 0; j < numel; j++) p[amod_lm_tensor_offset(m, i) + j] = rng_normal(&r) * 0.5f;
    }
    /* count the decisions on a sample sequence */
    int64_t ids[32];
    for (int i = 0; i < 32; i++) ids[i] = (i * 53 + 7) % 256;
    amod_lm_set_grad_enabled(m, 0);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    CHECK(amod_lm_forward(m, ids, 1, 32, NULL, NULL, &err) == 0, "predictor forward: %s", err.msg);
    *through = *skipped = 0;
    for (int l = 0; l < c.n_layers; l++) {
        int k;
        if (amod_lm_routed(m, l, &k)) {
            *through += k;
            *skipped += 32 - k;
        }
    }
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    /* top-k with the predictors trained beside it: their balanced accuracy, and the all-skip
     * baseline's, which is the share of tokens top-k skipped (C = 0.5: 16 of 32) */
    float loss;
    amod_lm_stats st;
    CHECK(amod_lm_forward(m, ids, 1, 32, NULL, &loss, &err) == 0, "top-k forward: %s", err.msg);
    amod_lm_get_stats(m, &st);
    CHECK(st.predictor_skip_acc == 0.5f && st.predictor_balanced >= 0 && st.predictor_balanced <= 1,
          "predictor: balanced %g, all-skip baseline %g (want 0.5)", st.predictor_balanced, st.predictor_skip_acc);
    return m;
}

/* The cut between the k-th and (k+1)-th largest logits, and a threshold calibrated on one
 * sequence: the predictor then keeps exactly k of that sequence's tokens in the first MoD layer
 * (later layers see other inputs once routing differs), and a save and load keeps it. */
static void calibration(amod_lm *m) {
    float z[5] = {3, -1, 2, 0, 2.5f}, sorted[5];
    CHECK(lm_predictor_cut(sorted, z, 5, 2) == 2.25 && lm_predictor_cut(sorted, z, 5, 5) < -1 &&
              lm_predictor_cut(sorted, z, 5, 0) > 3,
          "predictor cut: %g (want 2.25)", lm_predictor_cut(sorted, z, 5, 2));
    const int L = amod_lm_get_config(m)->n_layers, T = 32;
    int64_t ids[32];
    for (int i = 0; i < T; i++) ids[i] = (i * 29 + 3) % 256;
    amod_error err;
    double cuts[AMOD_MAX_LAYERS], once[AMOD_MAX_LAYERS];
    CHECK(amod_lm_forward(m, ids, 1, T, NULL, NULL, &err) == 0, "top-k forward: %s", err.msg);
    CHECK(amod_lm_predictor_cuts(m, cuts) == 1, "one sequence measured");
    amod_lm_calibrate_predictor(m, cuts, 1);
    memcpy(once, cuts, sizeof cuts);
    int first = -1;
    for (int l = 0; l < L; l++) {
        const int is_mod = amod_lm_routed(m, l, &(int){0}) != NULL;
        CHECK(amod_lm_predictor_threshold(m, l) == (is_mod ? (float)cuts[l] : 0.0f), "layer %d: threshold %g, cut %g",
              l, amod_lm_predictor_threshold(m, l), cuts[l]);
        if (is_mod && first < 0) first = l;
    }
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    CHECK(amod_lm_forward(m, ids, 1, T, NULL, NULL, &err) == 0, "predictor forward: %s", err.msg);
    int k = 0;
    CHECK(first >= 0 && amod_lm_routed(m, first, &k) && k == amod_mod_tokens(amod_lm_get_mod(m)->capacity, T, 0),
          "calibrated on this sequence, layer %d keeps %d of %d tokens (want C's)", first, k, T);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    /* a second step: the running mean of the two cuts */
    for (int i = 0; i < T; i++) ids[i] = (i * 71 + 5) % 256;
    CHECK(amod_lm_forward(m, ids, 1, T, NULL, NULL, &err) == 0 && amod_lm_predictor_cuts(m, cuts) == 1, "forward");
    amod_lm_calibrate_predictor(m, cuts, 2);
    CHECK(fabsf(amod_lm_predictor_threshold(m, first) - (float)(0.5 * (once[first] + cuts[first]))) < 1e-6f,
          "running mean of two cuts: %g", amod_lm_predictor_threshold(m, first));
    /* pooled calibration (amod_lm_calibration) on two sequences: predictor routing of the same
     * two then keeps exactly the tokens top-k kept in all, 2 k of 2 T, in the first MoD layer */
    int64_t two[64];
    for (int i = 0; i < 2 * T; i++) two[i] = (i * 37 + 11) % 256;
    amod_lm_calibration *cal = amod_lm_calibration_new(&err);
    CHECK(cal && amod_lm_forward(m, two, 2, T, NULL, NULL, &err) == 0 && amod_lm_calibration_add(cal, m, &err) == 2,
          "pooled calibration: %s", err.msg);
    CHECK(amod_lm_calibration_apply(cal, m) >= 1, "a predictor layer calibrated");
    amod_lm_calibration_free(cal);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    int kept = 0;
    for (int b = 0; b < 2; b++) {
        int kb = 0;
        CHECK(amod_lm_forward(m, two + b * T, 1, T, NULL, NULL, &err) == 0 && amod_lm_routed(m, first, &kb), "forward");
        kept += kb;
    }
    const int want = 2 * amod_mod_tokens(amod_lm_get_mod(m)->capacity, T, 0);
    CHECK(kept == want, "pooled calibration: the two sequences keep %d tokens in layer %d (want %d)", kept, first, want);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    /* pooled from position T / 2 on (the tokens a decode generates after a prompt of T / 2):
     * predictor routing then keeps k / T of those positions, k of the 2 x T / 2 */
    amod_lm_calibration *late = amod_lm_calibration_new(&err);
    CHECK(late && amod_lm_calibration_from(late, T / 2, &err) == 0 && amod_lm_forward(m, two, 2, T, NULL, NULL, &err) == 0 &&
              amod_lm_calibration_add(late, m, &err) == 2 && amod_lm_calibration_apply(late, m) >= 1,
          "calibration from position %d: %s", T / 2, err.msg);
    CHECK(amod_lm_calibration_from(late, 0, &err) != 0 && strstr(err.msg, "before the first pass"),
          "the first position is refused once a pass is pooled");
    amod_lm_calibration_free(late);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    int kept_late = 0;
    for (int b = 0; b < 2; b++) {
        int kb = 0;
        const int *idx = NULL;
        CHECK(amod_lm_forward(m, two + b * T, 1, T, NULL, NULL, &err) == 0 && (idx = amod_lm_routed(m, first, &kb)), "forward");
        for (int j = 0; idx && j < kb; j++) kept_late += idx[j] >= T / 2;
    }
    CHECK(kept_late == want / 2, "calibrated from position %d, the two sequences keep %d of their later tokens (want %d)",
          T / 2, kept_late, want / 2);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    /* calibrated under predictor routing, layer by layer: every predictor layer then keeps
     * exactly k / T of the two sequences' positions T / 2.. when routing by its predictor */
    CHECK(amod_lm_calibrate_routed(m, two, 2, T, T / 2, &err) >= 1, "routed calibration: %s", err.msg);
    CHECK(amod_lm_calibrate_routed(m, two, 2, T, T, &err) < 0 && strstr(err.msg, "from position"),
          "routed calibration from past the window is refused");
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR);
    int layer_kept[AMOD_MAX_LAYERS] = {0};
    for (int b = 0; b < 2; b++) {
        CHECK(amod_lm_forward(m, two + b * T, 1, T, NULL, NULL, &err) == 0, "forward: %s", err.msg);
        for (int l = 0; l < L; l++) {
            int kb = 0;
            const int *idx = amod_lm_routed(m, l, &kb);
            for (int j = 0; idx && j < kb; j++) layer_kept[l] += idx[j] >= T / 2;
        }
    }
    for (int l = 0; l < L; l++)
        if (amod_lm_routed(m, l, &(int){0}))
            CHECK(layer_kept[l] == want / 2, "routed calibration: layer %d keeps %d of the later tokens (want %d)", l,
                  layer_kept[l], want / 2);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    amod_lm_calibration *none = amod_lm_calibration_new(&err);
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_PREDICTOR); /* not a top-k pass: nothing to pool */
    CHECK(amod_lm_forward(m, two, 1, T, NULL, NULL, &err) == 0 && amod_lm_calibration_add(none, m, &err) == 0,
          "a predictor-routed pass pools nothing");
    amod_lm_set_route_mode(m, AMOD_LM_ROUTE_TOPK);
    amod_lm_calibration_free(none);
    char dir[] = "/tmp/amod_calib_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    CHECK(amod_lm_save(m, dir, &err) == 0, "save: %s", err.msg);
    amod_lm *back = amod_lm_load(dir, &err);
    CHECK(back != NULL, "load: %s", err.msg);
    for (int l = 0; back && l < L; l++)
        CHECK(amod_lm_predictor_threshold(back, l) == amod_lm_predictor_threshold(m, l),
              "layer %d: threshold %g saved, %g loaded", l, amod_lm_predictor_threshold(m, l),
              amod_lm_predictor_threshold(back, l));
    amod_lm_free(back);
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir), remove(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir), remove(path);
    remove(dir);
    printf("%-40s first MoD layer keeps %d of %d at its calibrated cut %.4f\n", "predictor calibration", k, T,
           amod_lm_predictor_threshold(m, first));
}

static void sampling(amod_lm *m) {
    const int V = amod_lm_get_config(m)->vocab_size;
    int64_t prompt[3] = {1, 2, 3}, a[NEW], b[NEW], c[NEW];
    float *logits = malloc((size_t)NEW * V * sizeof *logits);
    amod_error err;
    amod_lm_gen g = {0.8f, 5, 42, 0, NULL, 0, 0};
    CHECK(amod_lm_generate(m, prompt, 3, NEW, &g, a, logits, &err) == 0, "sample: %s", err.msg);
    CHECK(amod_lm_generate(m, prompt, 3, NEW, &g, b, NULL, &err) == 0, "sample: %s", err.msg);
    CHECK(!memcmp(a, b, sizeof a), "sampling with the same seed differs");
    g.seed = 43;
    CHECK(amod_lm_generate(m, prompt, 3, NEW, &g, c, NULL, &err) == 0, "sample: %s", err.msg);
    CHECK(memcmp(a, c, sizeof a) != 0, "another seed gives the same sample");
    for (int i = 0; i < NEW; i++) { /* within the top 5 of its step's logits */
        const float *z = logits + (size_t)i * V;
        int above = 0;
        for (int j = 0; j < V; j++) above += z[j] > z[a[i]];
        CHECK(a[i] >= 0 && a[i] < V && above < 5, "step %d: token %lld is not in the top 5", i, (long long)a[i]);
    }
    free(logits);
}

static void errors(amod_lm *m) {
    int64_t prompt[2] = {1, 300}, out[4];
    amod_error err;
    amod_lm_gen g = {0};
    CHECK(amod_lm_generate(m, prompt, 2, 4, &g, out, NULL, &err) != 0 && strstr(err.msg, "token id 300"),
          "an id outside the vocabulary is refused: %s", err.msg);
    prompt[1] = 2;
    CHECK(amod_lm_generate(m, prompt, 2, 64, &g, out, NULL, &err) != 0 && strstr(err.msg, "positions"),
          "a generation past the positions is refused: %s", err.msg);
}

int main(void) {
    amod_lm_gen greedy = {0};
    amod_lm *g = load("gpt2_hf_tiny"), *l = load("llama_hf_tiny");
    if (g) {
        compare_paths("gpt2 fixture, greedy", g, &greedy);
        amod_lm_gen t = {1.0f, 0, 7, 0, NULL, 0, 0};
        compare_paths("gpt2 fixture, temperature 1", g, &t);
        sampling(g);
        errors(g);
    }
    if (l) {
        compare_paths("llama fixture (GQA, RoPE), greedy", l, &greedy);
        amod_lm_mindskip ms = {0};
        ms.mode = AMOD_LM_SKIP_TOKEN, ms.target = 0.5f, ms.lambda = 1.0f, ms.seed = 3;
        amod_lm_mindskip_default_layers(&ms, 4);
        amod_error err;
        CHECK(amod_lm_set_mindskip(l, &ms, &err) == 0, "mindskip: %s", err.msg);
        compare_paths("llama fixture, token MindSkip", l, &greedy);
    }
    for (int arch = 0; arch < 2; arch++) {
        int through, skipped;
        amod_lm *m = mod_model((amod_lm_arch)arch, &through, &skipped);
        if (!m) continue;
        CHECK(through > 0 && skipped > 0, "the predictors should both send and skip tokens (%d / %d)", through,
              skipped);
        compare_paths(arch ? "llama MoD, predictor routing" : "gpt2 MoD, predictor routing", m, &greedy);
        calibration(m);
        compare_paths(arch ? "llama MoD, calibrated predictor" : "gpt2 MoD, calibrated predictor", m, &greedy);
        int64_t text[NEW];
        for (int i = 0; i < NEW; i++) text[i] = (i * 101 + 13) % 256;
        amod_lm_gen teacher = {0};
        teacher.forced = text;
        compare_paths(arch ? "llama MoD, teacher forcing" : "gpt2 MoD, teacher forcing", m, &teacher);
        amod_lm_free(m);
    }
    amod_lm_free(g);
    amod_lm_free(l);
    return test_summary("test_lm_generate");
}
