#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int test_failures = 0;
int test_checks = 0;

double rel_max_err(const float *a, const float *b, size_t n) {
    double max_diff = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= max_diff)) max_diff = d; /* also catches NaN */
        if (fabs((double)b[i]) > max_ref) max_ref = fabs((double)b[i]);
    }
    if (max_ref < 1e-30) max_ref = 1e-30;
    return max_diff / max_ref;
}

const char *fixture_path(const char *rel) {
    static char buf[8][4096];
    static int slot = 0;
    const char *root = getenv("AMOD_FIXTURES");
    if (!root) root = "tests/fixtures";
    char *out = buf[slot++ % 8];
    snprintf(out, sizeof buf[0], "%s/%s", root, rel);
    return out;
}

int test_summary(const char *name) {
    printf("%s: %d checks, %d failures\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

static char scratch_dir[256];

int scratch_make(const char *test_name) {
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/amod_%s_XXXXXX", test_name);
    if (mkdtemp(scratch_dir)) return 0;
    perror("mkdtemp");
    return -1;
}

const char *scratch_path(const char *name) {
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", scratch_dir, name);
    return p;
}

const char *scratch_root(void) { return scratch_dir; }

void scratch_remove(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    if (scratch_dir[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch_dir);
}
