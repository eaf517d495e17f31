#include "core/cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define AMOD_X86 1
#endif

void amod_cpuid_read(amod_cpuid_regs *r) {
    memset(r, 0, sizeof *r);
#ifdef AMOD_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    r->max_leaf = a;
    memcpy(r->vendor, &b, 4);
    memcpy(r->vendor + 4, &d, 4);
    memcpy(r->vendor + 8, &c, 4);
    __cpuid(1, r->l1_eax, b, r->l1_ecx, r->l1_edx);
    if (r->max_leaf >= 7) {
        __cpuid_count(7, 0, a, r->l7_ebx, r->l7_ecx, r->l7_edx);
        if (a >= 1) __cpuid_count(7, 1, r->l7s1_eax, b, c, d);
    }
    if (r->l1_ecx & (1u << 27)) { /* OSXSAVE: xgetbv is there */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        r->xcr0 = ((uint64_t)hi << 32) | lo;
    }
#endif
}

#define BIT(x, n) (((x) >> (n)) & 1u)

void amod_cpu_decode(const amod_cpuid_regs *r, amod_cpu_features *f) {
    memset(f, 0, sizeof *f);
    memcpy(f->vendor, r->vendor, sizeof f->vendor);
    f->vendor[12] = 0;
    unsigned base_family = (r->l1_eax >> 8) & 0xf, base_model = (r->l1_eax >> 4) & 0xf;
    f->family = (int)(base_family == 0xf ? base_family + ((r->l1_eax >> 20) & 0xff) : base_family);
    f->model = (int)(base_family == 0x6 || base_family == 0xf ? base_model | (((r->l1_eax >> 16) & 0xf) << 4)
                                                              : base_model);
    /* xmm+ymm state (bits 1, 2); opmask and both zmm halves (5, 6, 7); AMX tiles (17, 18) */
    const int os_avx = BIT(r->l1_ecx, 27) && (r->xcr0 & 0x6) == 0x6;
    const int os_avx512 = os_avx && (r->xcr0 & 0xe0) == 0xe0;
    const int os_amx = (r->xcr0 & 0x60000) == 0x60000;
    f->sse2 = BIT(r->l1_edx, 26);
    f->ssse3 = BIT(r->l1_ecx, 9);
    f->sse41 = BIT(r->l1_ecx, 19);
    f->sse42 = BIT(r->l1_ecx, 20);
    f->avx = os_avx && BIT(r->l1_ecx, 28);
    f->fma = f->avx && BIT(r->l1_ecx, 12);
    f->f16c = f->avx && BIT(r->l1_ecx, 29);
    if (r->max_leaf >= 7) {
        f->avx2 = f->avx && BIT(r->l7_ebx, 5);
        f->avx512f = os_avx512 && BIT(r->l7_ebx, 16);
        f->avx512dq = f->avx512f && BIT(r->l7_ebx, 17);
        f->avx512bw = f->avx512f && BIT(r->l7_ebx, 30);
        f->avx512vl = f->avx512f && BIT(r->l7_ebx, 31);
        f->avx512_vnni = f->avx512f && BIT(r->l7_ecx, 11);
        f->avx512_bf16 = f->avx512f && BIT(r->l7s1_eax, 5);
        f->avx_vnni = f->avx2 && BIT(r->l7s1_eax, 4);
        f->amx_bf16 = os_amx && BIT(r->l7_edx, 22);
        f->amx_tile = os_amx && BIT(r->l7_edx, 24);
        f->amx_int8 = os_amx && BIT(r->l7_edx, 25);
    }
}

static amod_cpu_features this_cpu;
static pthread_once_t this_cpu_once = PTHREAD_ONCE_INIT;

static void read_this_cpu(void) {
    amod_cpuid_regs r;
    amod_cpuid_read(&r);
    amod_cpu_decode(&r, &this_cpu);
}

const amod_cpu_features *amod_cpu(void) {
    pthread_once(&this_cpu_once, read_this_cpu);
    return &this_cpu;
}

void amod_cpu_flags(const amod_cpu_features *f, char *buf, int size) {
    const struct {
        unsigned on;
        const char *name;
    } sets[] = {{f->sse2, "sse2"},         {f->ssse3, "ssse3"},         {f->sse41, "sse4.1"},
                {f->sse42, "sse4.2"},      {f->avx, "avx"},             {f->fma, "fma"},
                {f->f16c, "f16c"},         {f->avx2, "avx2"},           {f->avx_vnni, "avx_vnni"},
                {f->avx512f, "avx512f"},   {f->avx512dq, "avx512dq"},   {f->avx512bw, "avx512bw"},
                {f->avx512vl, "avx512vl"}, {f->avx512_vnni, "avx512_vnni"}, {f->avx512_bf16, "avx512_bf16"},
                {f->amx_tile, "amx_tile"}, {f->amx_int8, "amx_int8"},   {f->amx_bf16, "amx_bf16"}};
    int used = 0;
    if (size > 0) buf[0] = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0] && used < size; i++)
        if (sets[i].on) used += snprintf(buf + used, (size_t)(size - used), "%s%s", used ? " " : "", sets[i].name);
}
