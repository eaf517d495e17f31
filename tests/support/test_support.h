/* Tiny test harness: CHECK records a failure and goes on; tests return test_summary(). */
#ifndef AMOD_TEST_SUPPORT_H
#define AMOD_TEST_SUPPORT_H

#include <stddef.h>
#include <stdio.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        test_checks++;                                                     \
        if (!(cond)) {                                                     \
            test_failures++;                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* max |a-b| / max(max |b|, tiny): the relative max error used against the fixtures. */
double rel_max_err(const float *a, const float *b, size_t n);
/* Path of a file under tests/fixtures (from AMOD_FIXTURES or the source tree). */
const char *fixture_path(const char *rel);
int test_summary(const char *name);
/* A scratch directory /tmp/amod_NAME_XXXXXX for the test (0 when made), removed by
 * scratch_remove; scratch_path(name) is a file in it (4 rotating buffers). */
int scratch_make(const char *test_name);
const char *scratch_path(const char *name);
const char *scratch_root(void);
void scratch_remove(void);

#endif
