#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fault.h"

static int path_join(char *out, size_t cap, const char *a, const char *b, amod_error *err) {
    if (snprintf(out, cap, "%s/%s", a, b) >= (int)cap) return amod_fail(err, "%s: path too long", a);
    return 0;
}

/* lstat: a symbolic link is never taken for the directory it points to */
static int is_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_link(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Removes a checkpoint directory: its files (it has no subdirectories), then itself. */
static int remove_flat_dir(const char *dir, amod_error *err) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : amod_fail_code(err, AMOD_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    char path[4096];
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (path_join(path, sizeof path, dir, e->d_name, err)) rc = -1;
        else if (unlink(path) != 0) rc = amod_fail_code(err, AMOD_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    }
    closedir(d);
    if (!rc && rmdir(dir) != 0) rc = amod_fail_code(err, AMOD_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    return rc;
}

/* The three names of a checkpoint: RUN/NAME, RUN/NAME.new, RUN/NAME.old. */
typedef struct {
    char dir[4096], fresh[4096], old[4096];
} ckpt_paths;

/* The checkpoint names must be real directories (or absent): rotation renames and deletes
 * them, and through a link it would rename the link and empty whatever it points to. */
static int paths(const char *run_dir, const char *name, ckpt_paths *p, amod_error *err) {
    char n[256];
    if (path_join(p->dir, sizeof p->dir, run_dir, name, err)) return -1;
    snprintf(n, sizeof n, "%s.new", name);
    if (path_join(p->fresh, sizeof p->fresh, run_dir, n, err)) return -1;
    snprintf(n, sizeof n, "%s.old", name);
    if (path_join(p->old, sizeof p->old, run_dir, n, err)) return -1;
    const char *all[] = {p->dir, p->fresh, p->old};
    for (int i = 0; i < 3; i++)
        if (is_link(all[i]))
            return amod_fail(err,
                             "%s is a symbolic link: amod does not follow links inside a run directory (replace it "
                             "with the directory itself)",
                             all[i]);
    return 0;
}

/* A crash between the two renames leaves NAME.old and no NAME: take NAME.old back. A
 * complete NAME makes NAME.old and NAME.new leftovers. */
static int recover(const ckpt_paths *p, amod_error *err) {
    if (!is_dir(p->dir) && is_dir(p->old) && rename(p->old, p->dir) != 0)
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot restore from %s: %s", p->dir, p->old, strerror(errno));
    return 0;
}

int amod_checkpoint_begin(const char *run_dir, const char *name, char *fresh, size_t cap, amod_error *err) {
    ckpt_paths p;
    if (paths(run_dir, name, &p, err) || amod_mkdir_p(run_dir, err) || recover(&p, err)) return -1;
    if (remove_flat_dir(p.fresh, err) || remove_flat_dir(p.old, err)) return -1;
    if (amod_fault(AMOD_FAULT_IO, ENOSPC) || mkdir(p.fresh, 0755) != 0)
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot create: %s", p.fresh, strerror(errno));
    if (snprintf(fresh, cap, "%s", p.fresh) >= (int)cap) return amod_fail(err, "%s: path too long", p.fresh);
    return 0;
}

int amod_checkpoint_commit(const char *run_dir, const char *name, amod_error *err) {
    ckpt_paths p;
    if (paths(run_dir, name, &p, err)) return -1;
    if (is_dir(p.dir) && (amod_fault(AMOD_FAULT_IO, EIO) || rename(p.dir, p.old) != 0))
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot move aside: %s", p.dir, strerror(errno));
    if (amod_fault(AMOD_FAULT_IO, EIO) || rename(p.fresh, p.dir) != 0) {
        int e = errno;
        (void)rename(p.old, p.dir); /* best effort: recover() finishes it otherwise */
        return amod_fail_code(err, AMOD_ERR_IO, "%s: cannot move into place: %s", p.dir, strerror(e));
    }
    return remove_flat_dir(p.old, err);
}

int amod_checkpoint_dir(const char *run_dir, const char *name, char *out, size_t cap, amod_error *err) {
    ckpt_paths p;
    if (paths(run_dir, name, &p, err) || recover(&p, err)) return -1;
    if (!is_dir(p.dir)) return amod_fail(err, "%s: no checkpoint '%s' in this run directory", run_dir, name);
    if (snprintf(out, cap, "%s", p.dir) >= (int)cap) return amod_fail(err, "%s: path too long", p.dir);
    return 0;
}

void amod_checkpoint_kept(char *out, size_t cap, const char *run_dir, int64_t step) {
    if (step >= 0) snprintf(out, cap, "%s/last (step %lld) is kept", run_dir, (long long)step);
    else snprintf(out, cap, "no checkpoint was kept");
}
