/* Replays every saved fuzzer finding (each file in tests/regressions/<target>/) through its
 * fuzz target (fuzz/targets.h) in the ordinary build: each must be accepted or refused with a
 * one-line message naming the input, and must not crash (the sanitizer build catches the rest). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "targets.h"
#include "test_support.h"

static int replay_dir(const amod_fuzz_target *t, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0; /* a target with no findings has no folder */
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        amod_error err = {0};
        size_t size;
        unsigned char *data = amod_read_file(path, &size, &err);
        CHECK(data != NULL, "%s", err.msg);
        if (!data) continue;
        memset(&err, 0, sizeof err);
        int rc = t->fn(data, size, path, &err);
        const char *broken = amod_fuzz_contract(rc, path, &err);
        CHECK(!broken, "%s (%s): %s: '%s'", path, t->name, broken, err.msg);
        printf("%-12s %s: %s\n", t->name, e->d_name, rc ? err.msg : "accepted");
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

int main(void) {
    const char *src = getenv("AMOD_SRC");
    if (!src) src = ".";
    int total = 0;
    for (int i = 0; i < amod_fuzz_num_targets; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/regressions/%s", src, amod_fuzz_targets[i].name);
        total += replay_dir(&amod_fuzz_targets[i], dir);
    }
    CHECK(total > 0, "no regression inputs found under %s/tests/regressions", src);
    return test_summary("test_regressions");
}
