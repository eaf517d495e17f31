/* amod plot: a PNG line plot (or bar chart) of columns of CSV files, for experiment scripts:
 * accuracy against epoch from training logs, accuracy against FLOPs from result tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/csv.h"
#include "io/plot.h"

static const char *CMD = "plot";

#define MAX_SERIES 16

static void usage(void) {
    printf("usage: amod plot --out FILE.png --series SPEC [--series SPEC ...] [--title T] [--x-label X]\n"
           "                 [--y-label Y] [--y-min A --y-max B] [--y-scale F] [--bars]\n\n"
           "SPEC is NAME=CSV:XCOL:YCOL[:COL=VALUE]: the legend entry, a CSV file with a header line, the\n"
           "columns for x and y, and optionally only the rows whose column COL reads VALUE. Rows with\n"
           "an empty y are left out. --y-scale multiplies every y (100 for percent). At most %d series.\n",
           MAX_SERIES);
}

typedef struct {
    char spec[1024];
    char *name, *file, *xcol, *ycol, *fcol, *fval;
    amod_csv csv;
    double *x, *y;
    int n;
} series_src;

/* Splits NAME=CSV:XCOL:YCOL[:COL=VALUE] in place. */
static int split_spec(series_src *s, const char *spec) {
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    char *eq = strchr(s->spec, '=');
    if (!eq) return -1;
    *eq = 0;
    s->name = s->spec;
    s->file = eq + 1;
    char *parts[4] = {0};
    int n = 0;
    for (char *p = s->file; n < 4 && (p = strchr(p, ':'));) {
        *p++ = 0;
        parts[n++] = p;
    }
    if (n < 2) return -1;
    s->xcol = parts[0];
    s->ycol = parts[1];
    if (n >= 3) {
        char *feq = strchr(parts[2], '=');
        if (!feq) return -1;
        *feq = 0;
        s->fcol = parts[2];
        s->fval = feq + 1;
    }
    return 0;
}

static int load_series(series_src *s, double y_scale, amod_error *err) {
    if (amod_csv_read(s->file, &s->csv, err)) return -1;
    int xc = amod_csv_column(&s->csv, s->xcol), yc = amod_csv_column(&s->csv, s->ycol);
    int fc = s->fcol ? amod_csv_column(&s->csv, s->fcol) : -1;
    const char *missing = xc < 0 ? s->xcol : yc < 0 ? s->ycol : s->fcol && fc < 0 ? s->fcol : NULL;
    if (missing) return amod_fail(err, "%s: no column '%s'", s->file, missing);
    s->x = amod_alloc((size_t)s->csv.rows * sizeof *s->x, err);
    s->y = amod_alloc((size_t)s->csv.rows * sizeof *s->y, err);
    if (!s->x || !s->y) return -1;
    for (int r = 1; r < s->csv.rows; r++) {
        if (fc >= 0 && strcmp(amod_csv_text(&s->csv, r, fc), s->fval)) continue;
        double y = amod_csv_number(&s->csv, r, yc);
        if (isnan(y)) continue;
        s->x[s->n] = amod_csv_number(&s->csv, r, xc);
        s->y[s->n++] = y * y_scale;
    }
    if (s->n == 0) return amod_fail(err, "%s: no rows with a number in '%s'%s%s%s%s", s->file, s->ycol,
                                    s->fcol ? " where " : "", s->fcol ? s->fcol : "", s->fcol ? " is " : "",
                                    s->fval ? s->fval : "");
    return 0;
}

int amod_cmd_plot(int argc, char **argv) {
    static series_src src[MAX_SERIES];
    int n_src = 0;
    amod_plot p = {0};
    const char *out = NULL, *v;
    float y_min = 0, y_max = 0, y_scale = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
        if (!strcmp(a, "--bars")) {
            p.kind = AMOD_PLOT_BARS;
            continue;
        }
        if (a[0] != '-') return cli_usage_error(CMD, "unexpected argument '%s'", a);
        if (!(v = cli_value(CMD, argc, argv, &i))) return 2;
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--title")) p.title = v;
        else if (!strcmp(a, "--x-label")) p.x_label = v;
        else if (!strcmp(a, "--y-label")) p.y_label = v;
        else if (!strcmp(a, "--y-min")) { if (cli_parse_float(CMD, a, v, &y_min)) return 2; }
        else if (!strcmp(a, "--y-max")) { if (cli_parse_float(CMD, a, v, &y_max)) return 2; }
        else if (!strcmp(a, "--y-scale")) { if (cli_parse_float(CMD, a, v, &y_scale)) return 2; }
        else if (!strcmp(a, "--series")) {
            if (n_src == MAX_SERIES) return cli_usage_error(CMD, "at most %d series", MAX_SERIES);
            memset(&src[n_src], 0, sizeof src[n_src]);
            if (split_spec(&src[n_src], v))
                return cli_usage_error(CMD, "--series '%s' is not NAME=CSV:XCOL:YCOL[:COL=VALUE]", v);
            n_src++;
        } else return cli_usage_error(CMD, "unknown option '%s'", a);
    }
    if (!out || n_src == 0) return cli_usage_error(CMD, "--out and at least one --series are required");
    amod_series series[MAX_SERIES];
    amod_error err;
    int rc = 0;
    for (int s = 0; s < n_src && !rc; s++) {
        if (load_series(&src[s], y_scale, &err)) rc = cli_error(CMD, err.msg);
        series[s] = (amod_series){src[s].name, src[s].x, src[s].y, src[s].n};
    }
    p.series = series;
    p.n_series = n_src;
    p.y_min = y_min;
    p.y_max = y_max;
    if (!rc && amod_plot_write_png(&p, out, &err)) rc = cli_error(CMD, err.msg);
    for (int s = 0; s < n_src; s++) {
        amod_csv_free(&src[s].csv);
        free(src[s].x);
        free(src[s].y);
    }
    return rc;
}
