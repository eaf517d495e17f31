/* libFuzzer entry point for one target, picked at compile time by AMOD_FUZZ_TARGET: runs the
 * input through it and aborts (libFuzzer saves the input as a crash) when the contract breaks. */
#include <stdio.h>
#include <stdlib.h>

#include "targets.h"

#ifndef AMOD_FUZZ_TARGET
#error "define AMOD_FUZZ_TARGET to a target function, e.g. amod_fuzz_idx"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char name[] = "fuzz-input";
    amod_error err = {0};
    int rc = AMOD_FUZZ_TARGET(data, size, name, &err);
    const char *broken = amod_fuzz_contract(rc, name, &err);
    if (broken) {
        fprintf(stderr, "contract broken: %s: '%.*s'\n", broken, (int)sizeof err.msg, err.msg);
        abort();
    }
    return 0;
}
