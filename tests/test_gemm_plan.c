/* The matrix-product path chosen from CPU features, with cpuid stubbed: the registers of
 * other processors go through the decoder and the choice, as on those machines. */
#include <string.h>

#include "core/cpu.h"
#include "kernels/gemm.h"
#include "kernels/gemm_plan.h"
#include "test_support.h"

/* Feature bits by register (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, the same positions). */
enum {
    L1C_SSSE3 = 1u << 9, L1C_FMA = 1u << 12, L1C_SSE41 = 1u << 19, L1C_SSE42 = 1u << 20,
    L1C_OSXSAVE = 1u << 27, L1C_AVX = 1u << 28, L1C_F16C = 1u << 29,
    L1D_SSE2 = 1u << 26,
    L7B_AVX2 = 1u << 5, L7B_AVX512F = 1u << 16, L7B_AVX512DQ = 1u << 17, L7B_AVX512BW = 1u << 30,
    L7B_AVX512VL = 1u << 31,
    L7C_VNNI = 1u << 11,
    L7D_AMX_BF16 = 1u << 22, L7D_AMX_TILE = 1u << 24, L7D_AMX_INT8 = 1u << 25,
    L7S1A_AVX_VNNI = 1u << 4, L7S1A_AVX512_BF16 = 1u << 5,
};
#define SSE_ALL (L1C_SSSE3 | L1C_SSE41 | L1C_SSE42)
#define AVX2_C (SSE_ALL | L1C_OSXSAVE | L1C_AVX | L1C_FMA | L1C_F16C)
#define AVX512_B (L7B_AVX2 | L7B_AVX512F | L7B_AVX512DQ | L7B_AVX512BW | L7B_AVX512VL)

typedef struct {
    const char *name;
    amod_cpuid_regs regs;
    int family, model;
    const char *kernels;      /* expected float32 set */
    const char *openblas_core; /* expected OpenBLAS core */
    int slow;
} cpu_case;

#define REGS(vend, a1, c1, b7, c7, d7, s1, x0) \
    {.max_leaf = 0x1f, .vendor = vend, .l1_eax = a1, .l1_ecx = c1, .l1_edx = L1D_SSE2, .l7_ebx = b7, \
     .l7_ecx = c7, .l7_edx = d7, .l7s1_eax = s1, .xcr0 = x0}

static const cpu_case cases[] = {
    /* this project's Zen 5 VM, registers read off it */
    {"AMD Zen 5 (read)", {.max_leaf = 28, .vendor = "AuthenticAMD", .l1_eax = 0xb00f21, .l1_ecx = 0xfffa3203,
                          .l1_edx = 0x178bfbff, .l7_ebx = 0xf1bf07ab, .l7_ecx = 0x405fc6, .l7_edx = 0x110,
                          .l7s1_eax = 0x30, .xcr0 = 0xe7},
     26, 2, "avx512_core_bf16", "Cooperlake", 0},
    {"AMD Zen 4", REGS("AuthenticAMD", 0xa10f11, AVX2_C, AVX512_B, L7C_VNNI, 0, L7S1A_AVX512_BF16, 0xe7), 25, 17,
     "avx512_core_bf16", "Cooperlake", 0},
    {"AMD Zen 3 (AVX2 only)", REGS("AuthenticAMD", 0xa20f10, AVX2_C, L7B_AVX2, 0, 0, 0, 0x7), 25, 0x21, "avx2",
     "Haswell", 0},
    {"Intel Skylake-X", REGS("GenuineIntel", 0x50654, AVX2_C, AVX512_B, 0, 0, 0, 0xe7), 6, 85, "avx512_core",
     "SkylakeX", 0},
    {"Intel Ice Lake-SP", REGS("GenuineIntel", 0x606a6, AVX2_C, AVX512_B, L7C_VNNI, 0, 0, 0xe7), 6, 106,
     "avx512_core_vnni", "SkylakeX", 0},
    {"Intel Sapphire Rapids", REGS("GenuineIntel", 0x806f8, AVX2_C, AVX512_B, L7C_VNNI,
                                   L7D_AMX_BF16 | L7D_AMX_TILE | L7D_AMX_INT8, L7S1A_AVX_VNNI | L7S1A_AVX512_BF16,
                                   0x600e7),
     6, 143, "avx512_core_amx", "Cooperlake", 0},
    /* the model (207) Debian's OpenBLAS 0.3.21 does not know, and gave Prescott kernels */
    {"Intel Emerald Rapids", REGS("GenuineIntel", 0xc06f2, AVX2_C, AVX512_B, L7C_VNNI,
                                  L7D_AMX_BF16 | L7D_AMX_TILE | L7D_AMX_INT8, L7S1A_AVX_VNNI | L7S1A_AVX512_BF16,
                                  0x600e7),
     6, 207, "avx512_core_amx", "Cooperlake", 0},
    /* AVX-512 in cpuid but the OS does not save the zmm state: AVX2 only */
    {"AVX-512 without OS support", REGS("GenuineIntel", 0x50654, AVX2_C, AVX512_B, 0, 0, 0, 0x7), 6, 85, "avx2",
     "Haswell", 0},
    {"Intel Haswell", REGS("GenuineIntel", 0x306c3, AVX2_C, L7B_AVX2, 0, 0, 0, 0x7), 6, 60, "avx2", "Haswell", 0},
    {"Intel Sandy Bridge (AVX only)", REGS("GenuineIntel", 0x206a7, SSE_ALL | L1C_OSXSAVE | L1C_AVX, 0, 0, 0, 0, 0x7),
     6, 42, "avx", "Sandybridge", 1},
    {"Intel Nehalem (SSE only)", REGS("GenuineIntel", 0x106a5, SSE_ALL, 0, 0, 0, 0, 0), 6, 26, "sse4.2", "Nehalem", 1},
    {"SSE2 only", REGS("GenuineIntel", 0x6f6, 0, 0, 0, 0, 0, 0), 6, 15, "sse2", "Prescott", 1},
};

static void test_cpus(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cpu_case *c = &cases[i];
        amod_cpu_features f;
        amod_cpu_decode(&c->regs, &f);
        CHECK(f.family == c->family && f.model == c->model, "%s: family %d model %d, want %d %d", c->name, f.family,
              f.model, c->family, c->model);
        for (int have = 0; have <= 1; have++) {
            amod_gemm_request req = {.have_onednn = have};
            amod_gemm_plan p;
            amod_error err;
            CHECK(amod_gemm_choose(&f, &req, &p, &err) == 0, "%s: %s", c->name, err.msg);
            CHECK(!strcmp(p.kernels, c->kernels), "%s: kernels %s, want %s", c->name, p.kernels, c->kernels);
            CHECK(!strcmp(p.openblas_core, c->openblas_core), "%s: OpenBLAS core %s, want %s", c->name,
                  p.openblas_core, c->openblas_core);
            CHECK(p.backend == (have ? AMOD_GEMM_ONEDNN : AMOD_GEMM_OPENBLAS), "%s: backend %d", c->name, p.backend);
            CHECK(p.slow == c->slow, "%s: slow %d, want %d (%s)", c->name, p.slow, c->slow, p.note);
            CHECK(!c->slow || strstr(p.note, "no AVX2"), "%s: a slow path says why: %s", c->name, p.note);
        }
    }
}

/* OPENBLAS_CORETYPE as inherited (this project's images set Haswell) is overridden; kept only
 * when the user says it is deliberate, and then a slower core than the CPU allows is warned of. */
static void test_environment(void) {
    amod_cpu_features f;
    amod_cpu_decode(&cases[6].regs, &f); /* Emerald Rapids */
    amod_gemm_plan p;
    amod_error err;
    amod_gemm_request inherited = {.coretype = "Haswell", .have_onednn = 0};
    CHECK(!amod_gemm_choose(&f, &inherited, &p, &err) && !strcmp(p.openblas_core, "Cooperlake") && !p.slow,
          "inherited Haswell: core %s", p.openblas_core);
    amod_gemm_request pinned = {.coretype = "Prescott", .respect_coretype = 1, .have_onednn = 1};
    CHECK(!amod_gemm_choose(&f, &pinned, &p, &err), "pinned: %s", err.msg);
    CHECK(p.backend == AMOD_GEMM_OPENBLAS && !strcmp(p.openblas_core, "Prescott") && p.slow &&
              !strcmp(p.kernels, "sse2") && strstr(p.note, "unset AMOD_RESPECT_OPENBLAS_CORETYPE"),
          "pinned Prescott: %s %s slow %d: %s", p.openblas_core, p.kernels, p.slow, p.note);
    amod_gemm_request pinned_fast = {.coretype = "SkylakeX", .respect_coretype = 1, .have_onednn = 1};
    CHECK(!amod_gemm_choose(&f, &pinned_fast, &p, &err) && !p.slow && !strcmp(p.openblas_core, "SkylakeX"),
          "pinned SkylakeX: %s", p.note);
    /* a core above what the CPU has runs at the CPU's level (OpenBLAS falls back itself) */
    amod_cpu_decode(&cases[8].regs, &f); /* Haswell */
    CHECK(!amod_gemm_choose(&f, &pinned_fast, &p, &err) && !strcmp(p.kernels, "avx2"), "SkylakeX on Haswell: %s",
          p.kernels);

    amod_gemm_request bogus = {.gemm = "mkl", .have_onednn = 1};
    CHECK(amod_gemm_choose(&f, &bogus, &p, &err) == -1 && strstr(err.msg, "AMOD_GEMM='mkl'"), "bogus: %s", err.msg);
    amod_gemm_request missing = {.gemm = "onednn", .have_onednn = 0};
    CHECK(amod_gemm_choose(&f, &missing, &p, &err) == -1 && strstr(err.msg, "libdnnl-dev"), "missing: %s", err.msg);
    amod_gemm_request blas = {.gemm = "openblas", .have_onednn = 1};
    CHECK(!amod_gemm_choose(&f, &blas, &p, &err) && p.backend == AMOD_GEMM_OPENBLAS, "AMOD_GEMM=openblas");
}

/* Both paths give the same product as a plain loop, on this machine. */
static void test_both_paths(void) {
    enum { M = 37, N = 29, K = 53 };
    static float a[M * K], b[N * K], c[M * N], want[M * N];
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    for (int i = 0; i < N * K; i++) b[i] = (float)((i * 11) % 13) / 6.0f - 1.0f;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)a[i * K + k] * b[j * K + k];
            want[i * N + j] = (float)(0.5 * s + 2.0); /* alpha 0.5, beta 1 on C = 2 */
        }
    const char *paths[] = {"openblas", "onednn"};
    for (int p = 0; p < 2; p++) {
        amod_error err;
        if (amod_gemm_select(paths[p], &err)) {
            CHECK(p == 1, "%s: %s", paths[p], err.msg); /* oneDNN may be absent from the build */
            continue;
        }
        for (int i = 0; i < M * N; i++) c[i] = 2.0f;
        amod_sgemm(0, 1, M, N, K, 0.5f, a, K, b, K, 1.0f, c, N);
        CHECK(rel_max_err(c, want, M * N) < 1e-6, "%s: NT product rel err %g", paths[p], rel_max_err(c, want, M * N));
    }
    amod_error err;
    CHECK(!amod_gemm_select(NULL, &err), "back to automatic: %s", err.msg);
}

int main(void) {
    test_cpus();
    test_environment();
    test_both_paths();
    return test_summary("test_gemm_plan");
}
