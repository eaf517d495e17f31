/* Fuzz target: a "path,label" list file (data/imagefolder.h), written to a temporary file
 * beside two picture files the list may name; an accepted list has labels below its class
 * count and an existing file for every path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "data/imagefolder.h"
#include "targets.h"

int amod_fuzz_filelist(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    static char dir[64];
    if (!dir[0]) { /* once per process: a folder with a.png and b.jpg */
        snprintf(dir, sizeof dir, "/tmp/amod-fuzz-list-%d", (int)getpid());
        mkdir(dir, 0700);
        char p[128];
        snprintf(p, sizeof p, "%s/a.png", dir);
        fclose(fopen(p, "wb"));
        snprintf(p, sizeof p, "%s/b.jpg", dir);
        fclose(fopen(p, "wb"));
    }
    char path[128];
    snprintf(path, sizeof path, "%s/list.csv", dir);
    FILE *f = fopen(path, "wb");
    if (!f) amod_fuzz_broken("cannot write %s", path);
    fwrite(data, 1, size, f);
    fclose(f);
    amod_file_list l;
    int rc = amod_file_list_read_csv(path, &l, err);
    if (rc) {
        /* the contract names the input: the reader names the list's path */
        if (strstr(err->msg, path)) {
            amod_error e = *err; /* amod_fail must not read the buffer it writes */
            amod_fail(err, "%s: %s", name, e.msg);
        }
        return -1;
    }
    struct stat st;
    for (int64_t i = 0; i < l.count; i++) {
        if (l.labels[i] < 0 || l.labels[i] >= l.num_classes) amod_fuzz_broken("label %d accepted", (int)l.labels[i]);
        if (stat(l.paths[i], &st) != 0) amod_fuzz_broken("path %s accepted but missing", l.paths[i]);
    }
    amod_file_list_free(&l);
    return 0;
}
