#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/fault.h"

static void vfail(amod_error *err, amod_status code, const char *fmt, va_list ap) {
    char full[8192];
    int n = vsnprintf(full, sizeof full, fmt, ap);
    const size_t cap = sizeof err->msg, len = n < 0 ? 0 : (size_t)n < sizeof full ? (size_t)n : sizeof full - 1;
    if (len < cap) {
        memcpy(err->msg, full, len + 1);
    } else { /* too long (a deep path): keep its start and its end, where the reason is */
        const size_t head = cap / 3, tail = cap - head - 4;
        memcpy(err->msg, full, head);
        memcpy(err->msg + head, "...", 3);
        memcpy(err->msg + head + 3, full + len - tail, tail);
        err->msg[cap - 1] = 0;
    }
    /* Names from a file (tensor names, JSON keys) may hold newlines or escapes: the message
     * stays one printable line whatever it quotes. */
    for (char *c = err->msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    err->code = code;
}

int amod_fail(amod_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vfail(err, AMOD_ERR_INVALID, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int amod_fail_code(amod_error *err, amod_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vfail(err, code, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int amod_fail_prefix(amod_error *err, const char *prefix) {
    char msg[sizeof err->msg]; /* a copy: formatting a buffer into itself is undefined */
    memcpy(msg, err->msg, sizeof msg);
    msg[sizeof msg - 1] = 0;
    const amod_status code = err->code; /* the cause's kind stays */
    return amod_fail_code(err, code, "%s: %s", prefix, msg);
}

int amod_fail_suffix(amod_error *err, const char *suffix) {
    char msg[sizeof err->msg];
    memcpy(msg, err->msg, sizeof msg);
    msg[sizeof msg - 1] = 0;
    const amod_status code = err->code;
    return amod_fail_code(err, code, "%s; %s", msg, suffix);
}

void *amod_alloc(size_t bytes, amod_error *err) {
    void *p = amod_fault(AMOD_FAULT_ALLOC, ENOMEM) ? NULL : malloc(bytes ? bytes : 1);
    if (!p) amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *amod_zalloc(size_t bytes, amod_error *err) {
    void *p = amod_fault(AMOD_FAULT_ALLOC, ENOMEM) ? NULL : calloc(1, bytes ? bytes : 1);
    if (!p) amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

unsigned char *amod_read_file(const char *path, size_t *size, amod_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        amod_fail_code(err, AMOD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        amod_fail(err, "%s: not a regular file", path);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = amod_alloc(n + 1, err);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    if (n && fread(buf, 1, n, f) != n) {
        amod_fail_code(err, AMOD_ERR_IO, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *size = n;
    return buf;
}

int amod_write_file_atomic(const char *path, const void *data, size_t size, amod_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return amod_fail(err, "%s: path too long", path);
    int fd = amod_fault(AMOD_FAULT_IO, EACCES) ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const unsigned char *p = data;
    size_t left = size;
    while (left) {
        ssize_t w = amod_fault(AMOD_FAULT_IO, ENOSPC) ? -1 : write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return amod_fail_code(err, AMOD_ERR_IO, "%s: write error: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    int bad = amod_fault(AMOD_FAULT_IO, EIO) || fsync(fd) != 0, e = errno;
    if (close(fd) != 0 && !bad) bad = 1, e = errno;
    if (bad) {
        unlink(tmp);
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot flush: %s", tmp, strerror(e));
    }
    if (amod_fault(AMOD_FAULT_IO, EIO) || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return 0;
}

int amod_mkdir_p(const char *dir, amod_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return amod_fail(err, "%s: path too long", dir);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        if ((amod_fault(AMOD_FAULT_IO, EIO) || mkdir(buf, 0755) != 0) && errno != EEXIST)
            return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return amod_fail(err, "%s: not a directory", dir);
    return 0;
}
