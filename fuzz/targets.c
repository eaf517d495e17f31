/* The list of fuzz targets and the contract their errors must keep. */
#include "targets.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const amod_fuzz_target amod_fuzz_targets[] = {
    {"safetensors", amod_fuzz_safetensors},
    {"config", amod_fuzz_config},
    {"idx", amod_fuzz_idx},
    {"image", amod_fuzz_image},
    {"pack", amod_fuzz_pack},
    {"filelist", amod_fuzz_filelist},
    {"tokenizer_json", amod_fuzz_tokenizer_json},
    {"tiktoken", amod_fuzz_tiktoken},
    {"encode", amod_fuzz_encode},
};
const int amod_fuzz_num_targets = (int)(sizeof amod_fuzz_targets / sizeof amod_fuzz_targets[0]);

const char *amod_fuzz_contract(int rc, const char *name, const amod_error *err) {
    if (rc == 0) return NULL;
    if (rc != -1) return "returned neither 0 nor -1";
    /* The message must be a terminated string inside its buffer before we search it. */
    if (!memchr(err->msg, '\0', sizeof err->msg)) return "error message is not terminated";
    if (!err->msg[0]) return "failed without an error message";
    if (strchr(err->msg, '\n')) return "error message is more than one line";
    if (!strstr(err->msg, name)) return "error message does not name the input";
    return NULL;
}

void amod_fuzz_broken(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "broken promise: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}
