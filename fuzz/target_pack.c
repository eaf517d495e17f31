/* Fuzz target: an image pack (data/pack.h) from memory; an accepted pack must hold count
 * pictures of size x size and labels below its class count, every byte of them readable. */
#include "data/pack.h"
#include "targets.h"

int amod_fuzz_pack(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    amod_pack p;
    if (amod_pack_parse(name, data, size, &p, err)) {
        if (p.names.classes || p.count) amod_fuzz_broken("pack left filled after an error");
        return -1;
    }
    unsigned sum = 0;
    for (int64_t i = 0; i < p.count; i++) {
        if (p.labels[i] < 0 || p.labels[i] >= p.names.num_classes) amod_fuzz_broken("label %d accepted", (int)p.labels[i]);
        sum += p.pixels[(size_t)i * p.size * p.size * 3] + p.pixels[((size_t)i + 1) * p.size * p.size * 3 - 1];
    }
    for (int c = 0; c < p.names.num_classes; c++) sum += (unsigned char)p.names.classes[c][0];
    volatile unsigned sink = sum;
    (void)sink;
    amod_pack_close(&p);
    return 0;
}
