/* Fuzz targets: each feeds one input to one of amod's readers and uses what comes back the way
 * a caller would. Shared by the libFuzzer binaries (fuzz_main.c) and the regression replay
 * test (tests/test_regressions.c), so a saved crashing input replays through the same code.
 *
 * A target returns 0 when the reader accepted the input, or -1 with the reader's error in
 * err. It aborts itself when the reader broke a promise that a message cannot show (an
 * output left half-filled, a config accepted that no model can have). */
#ifndef AMOD_FUZZ_TARGETS_H
#define AMOD_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"

typedef int (*amod_fuzz_fn)(const uint8_t *data, size_t size, const char *name, amod_error *err);

int amod_fuzz_safetensors(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_config(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_idx(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_image(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_pack(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_filelist(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_tokenizer_json(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_tiktoken(const uint8_t *data, size_t size, const char *name, amod_error *err);
int amod_fuzz_encode(const uint8_t *data, size_t size, const char *name, amod_error *err);

/* Every target by name (the name of its fuzzer and of its tests/regressions folder). */
typedef struct amod_fuzz_target {
    const char *name;
    amod_fuzz_fn fn;
} amod_fuzz_target;

extern const amod_fuzz_target amod_fuzz_targets[];
extern const int amod_fuzz_num_targets;

/* NULL when (rc, err) keeps the contract every reader has: success, or -1 with a non-empty
 * one-line message that names the input. Otherwise what is wrong, for the report. */
const char *amod_fuzz_contract(int rc, const char *name, const amod_error *err);

/* Reports a broken promise on stderr and aborts: for the targets' own checks. */
void amod_fuzz_broken(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
