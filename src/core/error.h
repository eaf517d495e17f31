/* Errors: a one-line message in the caller's amod_error, set once where the problem is found. */
#ifndef AMOD_CORE_ERROR_H
#define AMOD_CORE_ERROR_H

#include <stddef.h>

#include "amod/error.h"

/* Formats the message into err (when not NULL) and returns -1, so callers can `return amod_fail(...)`.
 * Control characters in the result (a quoted name holding a newline) become '?'. */
int amod_fail(amod_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a status code other than AMOD_ERR_INVALID. */
int amod_fail_code(amod_error *err, amod_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already in err (which must not be NULL); returns -1. */
int amod_fail_prefix(amod_error *err, const char *prefix);

/* Appends "; suffix" to the message already in err (which must not be NULL); returns -1. */
int amod_fail_suffix(amod_error *err, const char *suffix);

/* malloc/calloc that set an error instead of returning NULL silently. */
void *amod_alloc(size_t bytes, amod_error *err);
void *amod_zalloc(size_t bytes, amod_error *err);
/* Reads a whole file into memory; *size receives its length. NULL and an error on failure. */
unsigned char *amod_read_file(const char *path, size_t *size, amod_error *err);
/* Writes a buffer to path atomically: path.tmp, fsync, rename. */
int amod_write_file_atomic(const char *path, const void *data, size_t size, amod_error *err);
/* mkdir -p: makes dir and any missing parents; fails when dir exists but is no directory. */
int amod_mkdir_p(const char *dir, amod_error *err);

#endif
