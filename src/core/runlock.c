#define _DEFAULT_SOURCE /* flock */
#include "core/runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"

int amod_run_lock_take(amod_run_lock *lock, const char *dir, const char *what, amod_error *err) {
    lock->fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.amod.lock", dir) >= (int)sizeof path)
        return amod_fail(err, "%s: path too long", dir);
    if (amod_mkdir_p(dir, err)) return -1;
    /* O_NOFOLLOW: a link planted in the directory is not followed to somewhere else */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot open the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[128] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK)
            return amod_fail_code(err, AMOD_ERR_BUSY, "%s is in use by another amod (%s): wait for it to finish or stop it", dir,
                             holder[0] ? holder : "pid unknown");
        return amod_fail(err, "%s: cannot lock: %s", path, strerror(e));
    }
    char line[160];
    int len = snprintf(line, sizeof line, "pid %ld, %s\n", (long)getpid(), what);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        int e = errno;
        close(fd);
        return amod_fail(err, "%s: cannot write the lock file: %s", path, strerror(e));
    }
    lock->fd = fd;
    return 0;
}

void amod_run_lock_release(amod_run_lock *lock) {
    if (lock->fd >= 0) close(lock->fd);
    lock->fd = -1;
}

void amod_run_lock_discard(amod_run_lock *lock, const char *dir) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.amod.lock", dir) < (int)sizeof path) unlink(path);
    amod_run_lock_release(lock);
    rmdir(dir); /* fails, as it should, when anything else is in it */
}
