/* What the processor can do, read with cpuid: the instruction sets the matrix-product path
 * is chosen from (kernels/gemm_plan.h). Decoding is apart from reading so that tests can
 * feed the registers of other CPUs. */
#ifndef AMOD_CORE_CPU_H
#define AMOD_CORE_CPU_H

#include <stdint.h>

/* The raw registers the features come from. */
typedef struct amod_cpuid_regs {
    uint32_t max_leaf;            /* leaf 0 eax */
    char vendor[13];              /* leaf 0 ebx, edx, ecx */
    uint32_t l1_eax, l1_ecx, l1_edx;
    uint32_t l7_ebx, l7_ecx, l7_edx; /* leaf 7, subleaf 0 */
    uint32_t l7s1_eax;            /* leaf 7, subleaf 1 */
    uint64_t xcr0;                /* which register states the OS saves (xgetbv 0) */
} amod_cpuid_regs;

typedef struct amod_cpu_features {
    char vendor[13];
    int family, model;
    /* usable: the instruction set is there and the OS saves its registers */
    unsigned sse2 : 1, ssse3 : 1, sse41 : 1, sse42 : 1, avx : 1, fma : 1, f16c : 1, avx2 : 1;
    unsigned avx512f : 1, avx512dq : 1, avx512bw : 1, avx512vl : 1, avx512_vnni : 1, avx512_bf16 : 1;
    unsigned avx_vnni : 1, amx_tile : 1, amx_int8 : 1, amx_bf16 : 1;
} amod_cpu_features;

/* Fills regs from this processor's cpuid (zeros on a non-x86 build). */
void amod_cpuid_read(amod_cpuid_regs *regs);
/* Features from registers: an instruction set counts only when the OS enables its state
 * (XCR0), as a kernel that touches zmm registers faults otherwise. */
void amod_cpu_decode(const amod_cpuid_regs *regs, amod_cpu_features *f);
/* This processor's features (read once). */
const amod_cpu_features *amod_cpu(void);
/* Space-separated names of the vector sets found, "avx2 fma avx512f ...". */
void amod_cpu_flags(const amod_cpu_features *f, char *buf, int size);

#endif
