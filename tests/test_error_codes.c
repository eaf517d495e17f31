/* The status code beside the message (include/amod/error.h): a missing file is AMOD_ERR_IO, a
 * bad argument AMOD_ERR_INVALID, a locked run directory AMOD_ERR_BUSY, and a prefix or suffix
 * added on the way up keeps the cause's code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amod/amod.h"
#include "core/error.h"
#include "core/runlock.h"
#include "test_support.h"

int main(void) {
    amod_error err;
    CHECK(amod_vit_load("/nonexistent/amod-model", &err) == NULL && err.code == AMOD_ERR_IO,
          "missing checkpoint: code %d (%s)", (int)err.code, err.msg);
    amod_vit_config cfg;
    CHECK(amod_vit_preset("no_such_preset", &cfg, &err) == -1 && err.code == AMOD_ERR_INVALID,
          "unknown preset: code %d (%s)", (int)err.code, err.msg);
    CHECK(amod_vit_preset("deit_tiny_patch16_224", &cfg, &err) == 0, "preset: %s", err.msg);
    cfg.num_heads = 5; /* 192 is not a multiple of 5 */
    CHECK(amod_vit_create(&cfg, 1, &err) == NULL && err.code == AMOD_ERR_INVALID, "bad shape: code %d (%s)",
          (int)err.code, err.msg);

    char dir[] = "/tmp/amod-codes-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    amod_run_lock a, b;
    CHECK(amod_run_lock_take(&a, dir, "test", &err) == 0, "lock: %s", err.msg);
    /* a second open file description conflicts with the first, as a second process would */
    CHECK(amod_run_lock_take(&b, dir, "test", &err) == -1 && err.code == AMOD_ERR_BUSY && strstr(err.msg, "in use"),
          "second lock: code %d (%s)", (int)err.code, err.msg);
    amod_run_lock_discard(&a, dir);
    CHECK(access(dir, F_OK) != 0, "the empty directory is removed with its lock");

    unsigned char *bytes;
    size_t n;
    CHECK((bytes = amod_read_file("/nonexistent/file", &n, &err)) == NULL && err.code == AMOD_ERR_IO, "read: %d",
          (int)err.code);
    amod_fail_prefix(&err, "while loading");
    CHECK(err.code == AMOD_ERR_IO && !strncmp(err.msg, "while loading: ", 15), "prefix keeps the code: %d %s",
          (int)err.code, err.msg);
    amod_fail_suffix(&err, "nothing was written");
    CHECK(err.code == AMOD_ERR_IO && strstr(err.msg, "; nothing was written"), "suffix keeps the code");
    /* AMOD_ERR_NOMEM is not provoked here: AddressSanitizer aborts on an impossible malloc */
    return test_summary("test_error_codes");
}
