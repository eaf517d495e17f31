/* safetensors reader: every limit that refuses an absurd or lying file, with a one-line message
 * naming it, and st_open_memory agreeing with st_open. Files are built here, in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "test_support.h"

/* A file: 8-byte little-endian header length, the header, then data_bytes zero bytes. */
static unsigned char *make(const char *header, size_t data_bytes, size_t *size) {
    size_t h = strlen(header);
    *size = 8 + h + data_bytes;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

/* Opens the bytes as "lie.st": must fail, naming the file, on one line, matching needle. */
static void refuse_bytes(const unsigned char *b, size_t size, const char *needle, const char *what) {
    st_file f;
    amod_error err = {0};
    int rc = st_open_memory(&f, "lie.st", b, size, &err);
    CHECK(rc == -1, "%s: accepted", what);
    CHECK(strstr(err.msg, "lie.st: ") == err.msg, "%s: message '%s' does not start with the name", what, err.msg);
    CHECK(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    CHECK(!strchr(err.msg, '\n'), "%s: message is not one line", what);
    CHECK(!f.bytes && !f.tensors && f.n == 0, "%s: file left open after the error", what);
}

static void refuse(const char *header, size_t data_bytes, const char *needle, const char *what) {
    size_t size;
    unsigned char *b = make(header, data_bytes, &size);
    refuse_bytes(b, size, needle, what);
    free(b);
}

static void accept(const char *header, size_t data_bytes, int n, const char *what) {
    size_t size;
    unsigned char *b = make(header, data_bytes, &size);
    st_file f;
    amod_error err = {0};
    CHECK(st_open_memory(&f, "ok.st", b, size, &err) == 0, "%s: %s", what, err.msg);
    CHECK(f.n == n, "%s: %d tensors, expected %d", what, f.n, n);
    st_close(&f);
    free(b);
}

static void test_framing(void) {
    refuse_bytes((const unsigned char *)"\x10\0\0", 3, "truncated: 3 bytes", "3-byte file");
    refuse_bytes((const unsigned char *)"", 0, "truncated: 0 bytes", "empty file");
    /* Header lengths past the file, and past the 100 MB cap whatever the file's size. */
    const unsigned char huge[12] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}', ' ', ' '};
    refuse_bytes(huge, sizeof huge, "header length 1099511627776 does not fit", "header past the end");
    const unsigned char all_ones[8] = {255, 255, 255, 255, 255, 255, 255, 255};
    refuse_bytes(all_ones, 8, "header length 18446744073709551615", "header length 2^64 - 1");
    refuse("[1, 2]", 0, "header is not a JSON object", "array header");
    refuse("{\"a\": ", 0, "header is not a JSON object", "cut JSON");
    accept("{}", 0, 0, "empty header");
    accept("{\"__metadata__\": {\"format\": \"pt\"}}", 0, 0, "metadata only");
}

static void test_entries(void) {
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "malformed header entry", "no offsets");
    refuse("{\"t\": {\"dtype\": \"Q8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1, "unknown dtype 'Q8'",
           "unknown dtype");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4,
           "9 dimensions (at most 8)", "nine dimensions");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "invalid dimension",
           "negative dimension");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, "invalid dimension",
           "fractional dimension");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0, 4]}}", 4, "invalid dimension",
           "dimension past 2^53");
    refuse("{\"t\": {\"dtype\": \"U8\", \"shape\": [4294967296, 4294967296, 16], \"data_offsets\": [0, 4]}}", 4,
           "shape whose size overflows", "dimensions whose product overflows");
    refuse("{\"t\": {\"dtype\": \"F64\", \"shape\": [3000000000, 1000000000], \"data_offsets\": [0, 8]}}", 8,
           "size in bytes overflows", "elements fit, bytes overflow");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 15,
           "data offsets [0, 16] outside the 15 data bytes", "offsets past the end");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", 16, "data offsets [8, 4]",
           "offsets reversed");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0.5, 4.5]}}", 8, "data offsets",
           "fractional offsets");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", 4]}}", 8, "data offsets",
           "offsets that are not numbers");
    refuse("{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
           "occupies 8 bytes but its shape and dtype need 12", "size disagrees with the shape");
    /* A name holding a newline is quoted, but the message stays one line. */
    refuse("{\"a\\nb\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, "'a?b' occupies",
           "newline in a name");
    accept("{\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
           " \"z\": {\"dtype\": \"BF16\", \"shape\": [0, 7], \"data_offsets\": [4, 4]}}", 4, 2,
           "a scalar and an empty tensor");
}

static void test_layout(void) {
    refuse("{\"a\": {\"dtype\": \"F32\", \"shape\": [100], \"data_offsets\": [0, 400]},"
           " \"b\": {\"dtype\": \"F32\", \"shape\": [50], \"data_offsets\": [200, 400]}}", 400,
           "tensors 'a' and 'b' overlap", "overlapping tensors");
    /* An empty tensor sorted between two others used to hide their overlap. */
    refuse("{\"a\": {\"dtype\": \"F32\", \"shape\": [100], \"data_offsets\": [0, 400]},"
           " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [10, 10]},"
           " \"c\": {\"dtype\": \"F32\", \"shape\": [10], \"data_offsets\": [40, 80]}}", 400,
           "tensors 'a' and 'c' overlap", "overlap behind an empty tensor");
    refuse("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
           " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8,
           "tensor 'w' appears twice", "duplicate names");
    accept("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
           " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [2, 2]},"
           " \"b\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, 3,
           "touching tensors and an empty one inside another");
}

/* More tensors than ST_MAX_TENSORS (one million) is refused before allocating for them. */
static void test_tensor_count(void) {
    const int n = 1000001;
    char *h = malloc((size_t)n * 12 + 16), *p = h;
    *p++ = '{';
    for (int i = 0; i < n; i++) p += sprintf(p, "%s\"%x\":0", i ? "," : "", (unsigned)i);
    *p++ = '}';
    *p = 0;
    refuse(h, 0, "1000001 tensors is more than the 1000000 allowed", "a million and one tensors");
    free(h);
}

static void test_memory_matches_file(void) {
    const char *path = fixture_path("vit_timm_tiny/model.safetensors");
    amod_error err = {0};
    st_file a, b;
    size_t size;
    unsigned char *bytes = amod_read_file(path, &size, &err);
    CHECK(bytes != NULL, "%s", err.msg);
    if (!bytes) return;
    CHECK(st_open(&a, path, &err) == 0, "st_open: %s", err.msg);
    CHECK(st_open_memory(&b, path, bytes, size, &err) == 0, "st_open_memory: %s", err.msg);
    free(bytes); /* the reader keeps its own copy */
    CHECK(a.n == b.n && a.n > 10 && a.data_start == b.data_start, "%d vs %d tensors", a.n, b.n);
    for (int i = 0; i < a.n && i < b.n; i++) {
        const st_tensor *s = &a.tensors[i], *t = st_find(&b, s->name);
        CHECK(t && t->begin == s->begin && t->end == s->end && t->dtype == s->dtype, "tensor %s differs", s->name);
        if (t) CHECK(!memcmp(a.bytes + a.data_start + s->begin, b.bytes + b.data_start + t->begin, s->end - s->begin),
                     "tensor %s data differs", s->name);
    }
    st_close(&a);
    st_close(&b);
    CHECK(st_open(&a, fixture_path("no/such.safetensors"), &err) == -1 && strstr(err.msg, "no/such.safetensors"),
          "missing file: %s", err.msg);
}

int main(void) {
    test_framing();
    test_entries();
    test_layout();
    test_tensor_count();
    test_memory_matches_file();
    return test_summary("test_safetensors");
}
