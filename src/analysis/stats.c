/* Correlations and their p-values (see stats.h). */
#include "analysis/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

/* Continued fraction of I_x(a, b), modified Lentz's method (Numerical Recipes, betacf);
 * converges fast for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps) break;
    }
    return h;
}

double amod_betainc(double a, double b, double x) {
    if (!(a > 0.0) || !(b > 0.0) || isnan(x)) return NAN;
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    /* Use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly. */
    if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_cf(a, b, x) / a;
    return 1.0 - front * beta_cf(b, a, 1.0 - x) / b;
}

double amod_t_pvalue(double t, double dof) {
    if (isnan(t) || !(dof > 0.0)) return NAN;
    if (isinf(t)) return 0.0;
    return amod_betainc(0.5 * dof, 0.5, dof / (dof + t * t));
}

double amod_corr_pvalue(double r, size_t n) {
    if (isnan(r) || n < 3) return NAN;
    if (fabs(r) >= 1.0) return 0.0;
    double dof = (double)n - 2.0;
    return amod_t_pvalue(r * sqrt(dof / ((1.0 - r) * (1.0 + r))), dof);
}

amod_corr amod_pearson(const double *x, const double *y, size_t n) {
    amod_corr c = {NAN, NAN, n};
    if (n < 2) return c;
    double mx = 0.0, my = 0.0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0; /* centred sums: no cancellation of large means */
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (!(sxx > 0.0) || !(syy > 0.0) || !isfinite(sxy)) return c; /* constant or non-finite */
    double r = sxy / sqrt(sxx * syy);
    c.r = r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
    c.p = amod_corr_pvalue(c.r, n);
    return c;
}

typedef struct {
    double v;
    size_t i;
} keyed;

static int by_value(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return x->i < y->i ? -1 : x->i > y->i; /* stable, so the result does not depend on qsort */
}

int amod_rank_average(const double *x, size_t n, double *ranks, amod_error *err) {
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return amod_fail(err, "cannot rank NaN (value %zu)", i);
    keyed *k = amod_alloc((n ? n : 1) * sizeof *k, err);
    if (!k) return -1;
    for (size_t i = 0; i < n; i++) k[i] = (keyed){x[i], i};
    qsort(k, n, sizeof *k, by_value);
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && k[e].v == k[s].v) e++;
        double avg = 0.5 * (double)(s + 1 + e); /* mean of ranks s+1 .. e */
        for (size_t j = s; j < e; j++) ranks[k[j].i] = avg;
        s = e;
    }
    free(k);
    return 0;
}

int amod_spearman(const double *x, const double *y, size_t n, amod_corr *out, amod_error *err) {
    double *rx = amod_alloc((2 * n + 1) * sizeof *rx, err);
    if (!rx) return -1;
    double *ry = rx + n;
    int rc = -1;
    if (!amod_rank_average(x, n, rx, err) && !amod_rank_average(y, n, ry, err)) {
        *out = amod_pearson(rx, ry, n);
        rc = 0;
    }
    free(rx);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile_sorted(const double *v, size_t n, double q) {
    const double pos = q * (double)(n - 1);
    const size_t i = (size_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

int amod_bootstrap_mean(const double *x, size_t n, int draws, double level, uint64_t seed, amod_interval *out,
                        amod_error *err) {
    if (draws < 1 || !(level > 0 && level < 1))
        return amod_fail(err, "bootstrap: %d draws at level %g (want >= 1 draws, level in (0, 1))", draws, level);
    double *v = amod_alloc((n ? n : 1) * sizeof *v, err), *means = v ? amod_alloc((size_t)draws * sizeof *means, err) : NULL;
    if (!means) {
        free(v);
        return -1;
    }
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) v[m++] = x[i], sum += x[i];
    out->n = m;
    out->mean = m ? sum / (double)m : NAN;
    out->lo = out->hi = out->mean;
    if (m > 1) {
        amod_rng r;
        rng_seed(&r, seed);
        for (int d = 0; d < draws; d++) {
            double s = 0;
            for (size_t i = 0; i < m; i++) s += v[rng_next(&r) % m];
            means[d] = s / (double)m;
        }
        qsort(means, (size_t)draws, sizeof *means, cmp_double);
        out->lo = quantile_sorted(means, (size_t)draws, 0.5 * (1.0 - level));
        out->hi = quantile_sorted(means, (size_t)draws, 0.5 * (1.0 + level));
    }
    free(v);
    free(means);
    return 0;
}

/* Indices of the k largest values (stable: the lower index first among equals) flagged in top. */
static void mark_top(const double *x, size_t n, size_t k, unsigned char *top, keyed *tmp) {
    for (size_t i = 0; i < n; i++) tmp[i] = (keyed){-x[i], i};
    qsort(tmp, n, sizeof *tmp, by_value);
    memset(top, 0, n);
    for (size_t i = 0; i < k && i < n; i++) top[tmp[i].i] = 1;
}

double amod_precision_at_k(const double *score, const double *truth, size_t n, size_t k) {
    if (k == 0 || n == 0) return NAN;
    if (k > n) k = n;
    keyed *tmp = malloc(n * sizeof *tmp);
    unsigned char *a = malloc(2 * n);
    if (!tmp || !a) {
        free(tmp), free(a);
        return NAN;
    }
    mark_top(score, n, k, a, tmp);
    mark_top(truth, n, k, a + n, tmp);
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += a[i] && a[n + i];
    free(tmp), free(a);
    return (double)hit / (double)k;
}
