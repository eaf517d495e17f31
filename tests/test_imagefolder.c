/* Image folders and list files (src/data/imagefolder.c): the class order and file order of
 * torchvision's ImageFolder on a tree with upper case, punctuation, nested folders, non-image
 * files and a non-ASCII class name (tests/fixtures/imagefolder_order.txt, written by
 * torchvision 0.14), list files with index and name labels, a split numbered by the training
 * split's class names, and each bad input's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/imagefolder.h"
#include "test_support.h"

static char root[] = "/tmp/amod-imagefolder-XXXXXX";

static void touch(const char *rel) {
    char path[4096], dir[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    amod_error err;
    CHECK(amod_mkdir_p(dir, &err) == 0, "mkdir %s: %s", dir, err.msg);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "create %s", path);
    if (f) fclose(f);
}

static void write_text(const char *rel, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void torchvision_order(void) {
    FILE *f = fopen(fixture_path("imagefolder_order.txt"), "r");
    CHECK(f != NULL, "no fixture imagefolder_order.txt");
    if (!f) return;
    char line[1024], classes[64][64], samples[64][256];
    int labels[64], nc = 0, ns = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "file ", 5)) touch(line + 5);
        else if (!strncmp(line, "class ", 6) && nc < 64) snprintf(classes[nc++], 64, "%.63s", line + 6);
        else if (!strncmp(line, "sample ", 7) && ns < 64) {
            char *sp = strrchr(line, ' ');
            labels[ns] = atoi(sp + 1);
            *sp = 0;
            snprintf(samples[ns++], 256, "%.255s", line + 7);
        }
    }
    fclose(f);
    amod_file_list l;
    amod_error err;
    CHECK(amod_imagefolder_scan(root, "train", &l, &err) == 0, "scan: %s", err.msg);
    CHECK(l.num_classes == nc && l.count == ns, "%d classes and %lld files, torchvision %d and %d", l.num_classes,
          (long long)l.count, nc, ns);
    for (int c = 0; c < nc && c < l.num_classes; c++)
        CHECK(!strcmp(l.classes[c], classes[c]), "class %d: '%s', torchvision '%s'", c, l.classes[c], classes[c]);
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/train/", root);
    for (int i = 0; i < ns && i < l.count; i++) {
        const char *rel = !strncmp(l.paths[i], prefix, strlen(prefix)) ? l.paths[i] + strlen(prefix) : l.paths[i];
        CHECK(!strcmp(rel, samples[i]) && l.labels[i] == labels[i], "file %d: %s (%d), torchvision %s (%d)", i, rel,
              l.labels[i], samples[i], labels[i]);
    }
    /* a split holding some of the classes is numbered by name */
    touch("val/dog/v.png");
    touch("val/cat/w.png");
    amod_file_list v;
    CHECK(amod_imagefolder_scan(root, "val", &v, &err) == 0 && v.num_classes == 2, "val: %s", err.msg);
    CHECK(amod_file_list_use_classes(&v, l.classes, l.num_classes, "val", &err) == 0 && v.num_classes == l.num_classes &&
              v.labels[0] == 4 && v.labels[1] == 5,
          "val labels by name: %d %d (%s)", v.labels[0], v.labels[1], err.msg);
    amod_file_list_free(&v);
    touch("val/wolf/u.png");
    CHECK(amod_imagefolder_scan(root, "val", &v, &err) == 0, "val: %s", err.msg);
    CHECK(amod_file_list_use_classes(&v, l.classes, l.num_classes, "val", &err) == -1 && strstr(err.msg, "'wolf'"),
          "unknown class: %s", err.msg);
    amod_file_list_free(&v);
    amod_file_list_free(&l);
}

static void list_files(void) {
    amod_file_list l;
    amod_error err;
    char path[4096];
    touch("list/a.png");
    touch("list/sub/b.jpg");
    write_text("list/names.csv", "path,label\na.png,zebra\nsub/b.jpg,ant\n");
    snprintf(path, sizeof path, "%s/list/names.csv", root);
    CHECK(amod_file_list_read_csv(path, &l, &err) == 0, "names: %s", err.msg);
    CHECK(l.count == 2 && l.num_classes == 2 && !strcmp(l.classes[0], "ant") && l.labels[0] == 1 && l.labels[1] == 0 &&
              strstr(l.paths[1], "list/sub/b.jpg"),
          "name labels are numbered in sorted order");
    amod_file_list_free(&l);
    write_text("list/index.csv", "path,label\na.png,2\nsub/b.jpg,0\n");
    snprintf(path, sizeof path, "%s/list/index.csv", root);
    CHECK(amod_file_list_read_csv(path, &l, &err) == 0 && l.num_classes == 3 && l.labels[0] == 2, "index: %s", err.msg);
    amod_file_list_free(&l);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"path,label\nmissing.png,1\n", "line 2: "},
        {"path,label\na.png,\n", "line 2: empty label"},
        {"file,class\na.png,1\n", "header 'path,label'"},
        {"path,label\n", "no images listed"},
        {"path,label\na.png,1,2\n", "line"},
        {"path,label\na.png,9999999\n", "beyond"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text("list/bad.csv", bad[i].text);
        snprintf(path, sizeof path, "%s/list/bad.csv", root);
        CHECK(amod_file_list_read_csv(path, &l, &err) == -1 && strstr(err.msg, "bad.csv") && strstr(err.msg, bad[i].want),
              "bad list %zu: '%s'", i, err.msg);
    }
}

static void bad_folders(void) {
    amod_file_list l;
    amod_error err;
    CHECK(amod_imagefolder_scan(root, "nothing", &l, &err) == -1 && strstr(err.msg, "no such folder"), "%s", err.msg);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/flat/train", root);
    amod_mkdir_p(dir, &err);
    touch("flat/train/loose.png");
    CHECK(amod_imagefolder_scan(root, "..", &l, &err) == -1 || (amod_file_list_free(&l), 1), "parent");
    snprintf(dir, sizeof dir, "%s/flat", root);
    CHECK(amod_imagefolder_scan(dir, "train", &l, &err) == -1 && strstr(err.msg, "no class folders"), "%s", err.msg);
    touch("flat/train/a/readme.txt");
    CHECK(amod_imagefolder_scan(dir, "train", &l, &err) == -1 && strstr(err.msg, "holds no image file"), "%s", err.msg);
}

int main(void) {
    CHECK(mkdtemp(root) != NULL, "mkdtemp");
    torchvision_order();
    list_files();
    bad_folders();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_summary("test_imagefolder");
}
