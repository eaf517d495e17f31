#include "train/runlog.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int append(amod_runlog *l, const char *s, size_t n, amod_error *err) {
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->len + n + 1) * 2;
        char *t = realloc(l->text, cap);
        if (!t) return amod_fail(err, "%s: out of memory", l->path);
        l->text = t;
        l->cap = cap;
    }
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = 0;
    return 0;
}

/* Keeps the rows of an earlier log whose step (second field) is at most keep. */
static int keep_rows(amod_runlog *l, const char *old, int64_t keep, amod_error *err) {
    const char *line = strchr(old, '\n'); /* skips the header */
    while (line && *++line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *comma = memchr(line, ',', n);
        long long step = comma ? strtoll(comma + 1, NULL, 10) : -1;
        if (step >= 0 && step <= keep && append(l, line, n, err)) return -1;
        if (!end) break;
        line = end;
    }
    if (l->len && l->text[l->len - 1] != '\n') return append(l, "\n", 1, err);
    return 0;
}

int amod_runlog_open(amod_runlog *l, const char *run_dir, int64_t keep_until_step, amod_error *err) {
    memset(l, 0, sizeof *l);
    if (snprintf(l->path, sizeof l->path, "%s/log.csv", run_dir) >= (int)sizeof l->path)
        return amod_fail(err, "%s: path too long", run_dir);
    if (append(l, AMOD_RUNLOG_HEADER "\n", strlen(AMOD_RUNLOG_HEADER) + 1, err)) return -1;
    FILE *f = keep_until_step < 0 ? NULL : fopen(l->path, "rb");
    if (f) {
        fclose(f);
        size_t size;
        unsigned char *old = amod_read_file(l->path, &size, err);
        if (!old) return -1;
        int rc = keep_rows(l, (const char *)old, keep_until_step, err);
        free(old);
        if (rc) return -1;
    } else if (keep_until_step >= 0 && errno != ENOENT) {
        return amod_fail(err, "%s: cannot open: %s", l->path, strerror(errno));
    }
    return amod_write_file_atomic(l->path, l->text, l->len, err);
}

static void field(char *buf, size_t cap, double v, const char *fmt) {
    if (isnan(v)) buf[0] = 0;
    else snprintf(buf, cap, fmt, v);
}

int amod_runlog_add(amod_runlog *l, const amod_runlog_row *r, amod_error *err) {
    char tl[32], tel[32], acc[32], line[256];
    field(tl, sizeof tl, r->train_loss, "%.6f");
    field(tel, sizeof tel, r->test_loss, "%.6f");
    field(acc, sizeof acc, r->test_acc, "%.6f");
    int n = snprintf(line, sizeof line, "%" PRId64 ",%" PRId64 ",%s,%s,%s,%.6e,%.1f,%.1f\n", r->epoch, r->step, tl,
                     tel, acc, r->lr, r->images_per_s, r->elapsed_s);
    if (append(l, line, (size_t)n, err)) return -1;
    return amod_write_file_atomic(l->path, l->text, l->len, err);
}

void amod_runlog_free(amod_runlog *l) {
    free(l->text);
    l->text = NULL;
    l->len = l->cap = 0;
}
