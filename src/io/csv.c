#include "io/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int amod_csv_read(const char *path, amod_csv *csv, amod_error *err) {
    memset(csv, 0, sizeof *csv);
    size_t size;
    csv->text = (char *)amod_read_file(path, &size, err);
    if (!csv->text) return -1;
    int lines = 0, commas = 0;
    for (size_t i = 0; i < size; i++) {
        if (csv->text[i] == '\n') lines++;
        if (csv->text[i] == ',') commas++;
    }
    csv->fields = amod_alloc(((size_t)lines + 1 + (size_t)commas + 1) * sizeof *csv->fields, err);
    if (!csv->fields) return amod_csv_free(csv), -1;
    size_t n = 0;
    int line = 0;
    for (char *p = csv->text; *p; line++) {
        char *end = strchr(p, '\n');
        if (end) *end = 0;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r') p[--len] = 0;
        if (len) {
            int cols = 1;
            csv->fields[n++] = p;
            for (char *q = p; *q; q++)
                if (*q == ',') {
                    *q = 0;
                    csv->fields[n++] = q + 1;
                    cols++;
                }
            if (csv->rows == 0) csv->cols = cols;
            else if (cols != csv->cols) {
                int want = csv->cols;
                amod_csv_free(csv);
                return amod_fail(err, "%s: line %d has %d fields, the header %d", path, line + 1, cols, want);
            }
            csv->rows++;
        }
        if (!end) break;
        p = end + 1;
    }
    if (csv->rows == 0) return amod_csv_free(csv), amod_fail(err, "%s: empty, expected a header line", path);
    return 0;
}

void amod_csv_free(amod_csv *csv) {
    free(csv->text);
    free(csv->fields);
    memset(csv, 0, sizeof *csv);
}

int amod_csv_column(const amod_csv *csv, const char *name) {
    for (int c = 0; c < csv->cols; c++)
        if (!strcmp(csv->fields[c], name)) return c;
    return -1;
}

const char *amod_csv_text(const amod_csv *csv, int row, int col) {
    return csv->fields[(size_t)row * csv->cols + col];
}

double amod_csv_number(const amod_csv *csv, int row, int col) {
    const char *s = amod_csv_text(csv, row, col);
    char *end;
    double v = strtod(s, &end);
    return end == s || *end ? NAN : v;
}
