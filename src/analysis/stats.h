/* Correlation with significance: Pearson's r, Spearman's rho (Pearson on average ranks) and
 * their two-sided p-values from Student's t with n - 2 degrees of freedom, which need the
 * regularised incomplete beta function. Double precision throughout. */
#ifndef AMOD_ANALYSIS_STATS_H
#define AMOD_ANALYSIS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "amod/amod.h"

typedef struct amod_corr {
    double r; /* coefficient in [-1, 1]; NaN when a variable is constant or n < 2 */
    double p; /* two-sided p-value; NaN when r is, or n < 3 */
    size_t n;
} amod_corr;

/* I_x(a, b) = B(x; a, b) / B(a, b) for a, b > 0 and x in [0, 1] (Lentz's continued fraction). */
double amod_betainc(double a, double b, double x);
/* P(|T| >= |t|) for Student's t with dof degrees of freedom: I_{dof/(dof+t^2)}(dof/2, 1/2). */
double amod_t_pvalue(double t, double dof);
/* p-value of a correlation coefficient r over n pairs: t = r sqrt((n-2) / (1-r^2)). */
double amod_corr_pvalue(double r, size_t n);

/* Ranks 1..n, ties sharing the mean of their ranks (as scipy.stats.rankdata "average"). */
int amod_rank_average(const double *x, size_t n, double *ranks, amod_error *err);

amod_corr amod_pearson(const double *x, const double *y, size_t n);
int amod_spearman(const double *x, const double *y, size_t n, amod_corr *out, amod_error *err);

/* The mean of x[0..n) (NaN entries left out) and its percentile bootstrap interval: `draws`
 * resamples of the n values with replacement, seeded, the (1 - level) / 2 and (1 + level) / 2
 * quantiles of their means (linear interpolation between order statistics). The resampling unit
 * is whatever x holds: per-image values, so that the tokens of one image are not treated as
 * independent. */
typedef struct amod_interval {
    double mean, lo, hi;
    size_t n; /* values that were not NaN */
} amod_interval;
int amod_bootstrap_mean(const double *x, size_t n, int draws, double level, uint64_t seed, amod_interval *out,
                        amod_error *err);

/* The share of the k largest entries of truth[0..n) that are among the k largest of score[0..n)
 * (ties broken by the lower index, both sides): precision@k of a router against importance. */
double amod_precision_at_k(const double *score, const double *truth, size_t n, size_t k);

#endif
