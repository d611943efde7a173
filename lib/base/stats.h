/*
 * stats: the distributions and two-sample tests that tabpipe-drift needs,
 * computed as SciPy computes them, so that a report can be checked against
 * scipy.stats.
 *
 * The chi-square survival function is the regularised upper incomplete
 * gamma function Q(df/2, x/2) (scipy.stats.chi2.sf). The two-sample
 * Kolmogorov-Smirnov test follows scipy.stats.ks_2samp(method='auto') of
 * SciPy 1.10: the exact distribution of the two-sample statistic when
 * neither sample has more than 10000 values, otherwise the one-sample
 * Kolmogorov distribution of D_n for n = round(n1 n2 / (n1 + n2))
 * (scipy.stats.kstwo.sf), computed with the algorithm choice of Simard and
 * L'Ecuyer (2011). No function here allocates except
 * tp_stats_ks_2samp's exact path (one vector of min(n1, n2) + 2 doubles).
 */
#ifndef TP_STATS_H
#define TP_STATS_H

#include <stddef.h>

/* Q(a, x) = Gamma(a, x) / Gamma(a), for a > 0 and x >= 0; NaN otherwise. */
double tp_stats_gamma_q(double a, double x);

/* P(X > x) for X chi-square with df > 0 degrees of freedom. */
double tp_stats_chi2_sf(double x, double df);

/* P(D+_n >= x): the exact one-sided one-sample Smirnov distribution
 * (scipy.special.smirnov), by the Birnbaum-Tingey sum. */
double tp_stats_smirnov(long n, double x);

/* P(D_n >= x): the two-sided one-sample Kolmogorov-Smirnov distribution
 * (scipy.stats.kstwo.sf(x, n)). */
double tp_stats_kolmogorov_sf(long n, double x);

/* P(D >= h / lcm(n1, n2)) under the null hypothesis, for the two-sample
 * statistic D of samples of n1 and n2 values: the share of the lattice
 * paths from (0, 0) to (n1, n2) that leave the band |x/n1 - y/n2| <
 * h / lcm. Returns -1 when the computation fails (no memory, or a result
 * out of [0, 1]). */
double tp_stats_ks_2samp_exact(long n1, long n2, long h);

/* The largest samples the exact path is used for, as SciPy's 'auto'. */
enum { TP_STATS_KS_EXACT_MAX = 10000 };

typedef struct {
	double d;       /* the statistic, sup |F1 - F2| */
	double p;       /* its two-sided p-value */
	int exact;      /* 1 when p is exact, 0 when asymptotic */
} tp_ks_result;

/* The two-sample test of two sorted samples without NaN (n1, n2 >= 1). */
void tp_stats_ks_2samp(const double *a, size_t n1, const double *b,
    size_t n2, tp_ks_result *r);
/* The same test from its statistic d, of samples of n1 and n2 values (as
 * sketches give it, quality/drift.h). */
void tp_stats_ks_2samp_p(double d, size_t n1, size_t n2, tp_ks_result *r);

/* The Jensen-Shannon distance, base 2, between two histograms (counts or
 * weights, each normalised to sum 1 first): sqrt of the divergence, as
 * scipy.spatial.distance.jensenshannon(p, q, base=2). NaN when either
 * sums to 0. */
double tp_stats_jensenshannon(const double *p, const double *q, size_t k);

/* The population stability index of an expected (reference) and actual
 * (current) histogram: sum (a - e) ln(a / e) over the bins' shares, where
 * a share that is 0 counts as eps. */
double tp_stats_psi(const double *expected, const double *actual, size_t k,
    double eps);

/* The chi-square test of homogeneity of the 2 x k table whose rows are a
 * and b (counts), without Yates' correction, over the columns that are not
 * empty in both (scipy.stats.chi2_contingency(correction=False) of that
 * table). *dof gets the degrees of freedom; with fewer than two such
 * columns the statistic is 0 and the p-value 1. */
void tp_stats_chi2_homogeneity(const double *a, const double *b, size_t k,
    double *chi2, double *p, int *dof);

/* The q-quantile of n sorted values, interpolated linearly between order
 * statistics as numpy.quantile does by default. */
double tp_stats_quantile(const double *sorted, size_t n, double q);

#endif
