/* Correlation statistics against closed forms and printed tables: the regularised
 * incomplete beta function, Student's t p-values, Pearson and Spearman with average ranks. */
#include <math.h>
#include <string.h>

#include "analysis/stats.h"
#include "core/rng.h"
#include "test_support.h"

#define PI 3.14159265358979323846

static void test_betainc(void) {
    const double xs[] = {0.01, 0.1, 0.3, 0.5, 0.77, 0.99};
    for (int i = 0; i < 6; i++) {
        double x = xs[i];
        /* closed forms: I_x(a, 1) = x^a, I_x(1, b) = 1 - (1-x)^b, I_x(1/2, 1/2) = 2/pi asin(sqrt x) */
        CHECK(fabs(amod_betainc(3.5, 1, x) - pow(x, 3.5)) < 1e-12, "I_%g(3.5, 1) = %.15g", x, amod_betainc(3.5, 1, x));
        CHECK(fabs(amod_betainc(1, 7, x) - (1 - pow(1 - x, 7))) < 1e-12, "I_%g(1, 7)", x);
        CHECK(fabs(amod_betainc(0.5, 0.5, x) - 2 / PI * asin(sqrt(x))) < 1e-12, "I_%g(1/2, 1/2)", x);
        /* I_x(2, 3) = sum_{j=2}^{4} C(4, j) x^j (1-x)^(4-j) */
        double want = 6 * x * x * pow(1 - x, 2) + 4 * pow(x, 3) * (1 - x) + pow(x, 4);
        CHECK(fabs(amod_betainc(2, 3, x) - want) < 1e-12, "I_%g(2, 3) = %.15g, want %.15g", x, amod_betainc(2, 3, x),
              want);
        /* symmetry, on both sides of the switch point */
        CHECK(fabs(amod_betainc(40, 0.5, x) + amod_betainc(0.5, 40, 1 - x) - 1) < 1e-12, "symmetry at %g", x);
    }
    CHECK(amod_betainc(2, 3, 0) == 0 && amod_betainc(2, 3, 1) == 1, "ends");
    CHECK(fabs(amod_betainc(250, 250, 0.5) - 0.5) < 1e-12, "I_0.5(a, a) = 1/2 for large a: %.15g",
          amod_betainc(250, 250, 0.5));
    CHECK(isnan(amod_betainc(-1, 2, 0.5)) && isnan(amod_betainc(1, 2, NAN)), "invalid arguments give NaN");
}

static void test_t_pvalues(void) {
    /* Student's t critical values (two-sided) from printed tables */
    struct { double t, dof, p; } tab[] = {
        {12.706, 1, 0.05}, {4.303, 2, 0.05}, {2.228, 10, 0.05}, {2.042, 30, 0.05},
        {63.657, 1, 0.01}, {4.032, 5, 0.01}, {3.169, 10, 0.01}, {1.812, 10, 0.10},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        double p = amod_t_pvalue(tab[i].t, tab[i].dof);
        CHECK(fabs(p - tab[i].p) < 2e-4 * (1 + 10 * tab[i].p), "t = %g, dof %g: p %g, table %g", tab[i].t, tab[i].dof,
              p, tab[i].p);
    }
    /* dof 1 is the Cauchy distribution: p = 1 - 2/pi atan|t| */
    CHECK(fabs(amod_t_pvalue(1.0, 1) - 0.5) < 1e-12 && fabs(amod_t_pvalue(-3.0, 1) - (1 - 2 / PI * atan(3.0))) < 1e-12,
          "Cauchy");
    CHECK(amod_t_pvalue(0, 7) == 1.0 && amod_t_pvalue(INFINITY, 7) == 0.0, "t = 0 and t = inf");
}

static void test_correlation_pvalues(void) {
    /* the brief's table: r = 0.5 over 10 pairs, r = 0.3 over 30 pairs */
    CHECK(fabs(amod_corr_pvalue(0.5, 10) - 0.1411) < 1e-4, "r 0.5 n 10: p %.5f, table 0.1411", amod_corr_pvalue(0.5, 10));
    CHECK(fabs(amod_corr_pvalue(0.3, 30) - 0.1073) < 1e-4, "r 0.3 n 30: p %.5f, table 0.1073", amod_corr_pvalue(0.3, 30));
    CHECK(fabs(amod_corr_pvalue(-0.3, 30) - 0.1073) < 1e-4, "two-sided: the sign does not matter");
    /* critical values of r (two-sided 0.05 and 0.01) from printed tables */
    CHECK(fabs(amod_corr_pvalue(0.6319, 10) - 0.05) < 2e-4, "r 0.6319 n 10: p %g", amod_corr_pvalue(0.6319, 10));
    CHECK(fabs(amod_corr_pvalue(0.3610, 30) - 0.05) < 2e-4, "r 0.3610 n 30: p %g", amod_corr_pvalue(0.3610, 30));
    CHECK(fabs(amod_corr_pvalue(0.7646, 10) - 0.01) < 1e-4, "r 0.7646 n 10: p %g", amod_corr_pvalue(0.7646, 10));
    CHECK(amod_corr_pvalue(1.0, 5) == 0.0 && isnan(amod_corr_pvalue(0.5, 2)), "r = 1 and n = 2");
    /* n in the millions: t large, p tiny but positive */
    double p = amod_corr_pvalue(0.01, 1000000);
    CHECK(p > 0 && p < 1e-20, "r 0.01 over 1e6 pairs: p %g", p);
}

static void test_pearson_spearman(void) {
    amod_error err;
    double x3[] = {1, 2, 3}, y3[] = {1, 3, 2};
    amod_corr c = amod_pearson(x3, y3, 3);
    /* r = 1/2; n = 3 gives t with 1 dof = 1/sqrt(3): p = 1 - 2/pi * pi/6 = 2/3 */
    CHECK(fabs(c.r - 0.5) < 1e-15 && fabs(c.p - 2.0 / 3.0) < 1e-12 && c.n == 3, "r %g p %g", c.r, c.p);

    /* no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)) with sum d^2 = 42, n = 10 */
    double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, y[] = {2, 1, 4, 3, 7, 8, 6, 10, 9, 5};
    double yx[10];
    for (int i = 0; i < 10; i++) yx[i] = exp(y[i]); /* monotone: the same ranks */
    CHECK(!amod_spearman(x, yx, 10, &c, &err), "spearman: %s", err.msg);
    CHECK(fabs(c.r - (1 - 6.0 * 42 / 990)) < 1e-12, "rho %.15g, want %.15g", c.r, 1 - 6.0 * 42 / 990);
    CHECK(fabs(c.p - amod_corr_pvalue(c.r, 10)) < 1e-15, "rho's p-value uses t with n - 2 dof");
    c = amod_pearson(x, y, 10);
    CHECK(fabs(c.r - (1 - 6.0 * 42 / 990)) < 1e-12, "Pearson of ranks equals Spearman: %g", c.r);

    /* ties share the average of their ranks */
    double t[] = {5, 1, 2, 2, 8, 5, 3, 5}, r[8], want[] = {6, 1, 2.5, 2.5, 8, 6, 4, 6};
    CHECK(!amod_rank_average(t, 8, r, &err), "ranks: %s", err.msg);
    for (int i = 0; i < 8; i++) CHECK(r[i] == want[i], "rank of %g: %g, want %g", t[i], r[i], want[i]);
    double nan_in[] = {1, NAN};
    CHECK(amod_rank_average(nan_in, 2, r, &err) == -1 && err.msg[0], "NaN refused");

    /* shift and scale do not change r; a negated variable flips it */
    double big[10], neg[10];
    for (int i = 0; i < 10; i++) big[i] = 1e7 + 0.5 * y[i], neg[i] = -y[i];
    CHECK(fabs(amod_pearson(x, big, 10).r - amod_pearson(x, y, 10).r) < 1e-9, "large offset");
    CHECK(fabs(amod_pearson(x, neg, 10).r + amod_pearson(x, y, 10).r) < 1e-15, "negation");

    /* constant variable or too few pairs: NaN, not a number */
    double k[] = {3, 3, 3, 3};
    c = amod_pearson(x, k, 4);
    CHECK(isnan(c.r) && isnan(c.p), "constant: r %g p %g", c.r, c.p);
    CHECK(!amod_spearman(x, k, 4, &c, &err) && isnan(c.r), "constant Spearman: %g", c.r);
    c = amod_pearson(x, y, 1);
    CHECK(isnan(c.r), "one pair");
}

/* The bootstrap against a plain reference: its interval brackets the mean, narrows as n grows
 * (roughly as 1 / sqrt(n)), matches the normal approximation mean +- 1.96 sd / sqrt(n) for
 * well-behaved data, repeats with its seed, skips NaN, and collapses on constant data. */
static void test_bootstrap(void) {
    amod_rng r;
    rng_seed(&r, 3);
    double x[400];
    for (int i = 0; i < 400; i++) x[i] = rng_uniform(&r); /* sd of U(0,1): 1/sqrt(12) */
    amod_interval a, b, small;
    amod_error err;
    CHECK(amod_bootstrap_mean(x, 400, 2000, 0.95, 7, &a, &err) == 0 && amod_bootstrap_mean(x, 400, 2000, 0.95, 7, &b, &err) == 0,
          "bootstrap: %s", err.msg);
    double m = 0, v = 0;
    for (int i = 0; i < 400; i++) m += x[i] / 400;
    for (int i = 0; i < 400; i++) v += (x[i] - m) * (x[i] - m) / 399;
    const double half = 1.959964 * sqrt(v / 400);
    CHECK(fabs(a.mean - m) < 1e-12 && a.lo < m && a.hi > m && a.n == 400, "interval [%g, %g] around %g", a.lo, a.hi, m);
    CHECK(fabs((a.hi - a.lo) / (2 * half) - 1) < 0.1, "bootstrap half-width %g vs normal %g", (a.hi - a.lo) / 2, half);
    CHECK(a.lo == b.lo && a.hi == b.hi, "the same seed, the same interval");
    CHECK(amod_bootstrap_mean(x, 100, 2000, 0.95, 7, &small, &err) == 0 && small.hi - small.lo > 1.5 * (a.hi - a.lo),
          "fewer values, a wider interval (%g vs %g)", small.hi - small.lo, a.hi - a.lo);
    double c[5] = {2, 2, NAN, 2, 2};
    CHECK(amod_bootstrap_mean(c, 5, 100, 0.9, 1, &a, &err) == 0 && a.n == 4 && a.mean == 2 && a.lo == 2 && a.hi == 2,
          "constant values: a point; NaN skipped");
    CHECK(amod_bootstrap_mean(c, 5, 0, 0.9, 1, &a, &err) != 0 && strstr(err.msg, "draws"), "0 draws refused");
}

static void test_precision_at_k(void) {
    const double score[6] = {0.9, 0.1, 0.8, 0.3, 0.7, 0.2}, truth[6] = {5, 4, 3, 0, 1, 2};
    /* top-3 by score {0, 2, 4}; by truth {0, 1, 2}: 2 of 3 */
    CHECK(fabs(amod_precision_at_k(score, truth, 6, 3) - 2.0 / 3) < 1e-12, "precision@3 = 2/3");
    CHECK(amod_precision_at_k(score, truth, 6, 1) == 1.0 && amod_precision_at_k(score, truth, 6, 6) == 1.0, "@1, @n");
    const double tied[4] = {1, 1, 1, 1};
    CHECK(amod_precision_at_k(tied, truth, 4, 2) == 1.0, "ties break by the lower index on both sides");
    CHECK(isnan(amod_precision_at_k(score, truth, 6, 0)), "k = 0: NaN");
}

int main(void) {
    test_bootstrap();
    test_precision_at_k();
    test_betainc();
    test_t_pvalues();
    test_correlation_pvalues();
    test_pearson_spearman();
    return test_summary("test_stats");
}
