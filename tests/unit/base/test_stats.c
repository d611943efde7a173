/*
 * test_stats: the distributions and two-sample tests of stats.c against
 * values SciPy computed (tests/drift/reference.py wrote
 * $TP_TESTDATA/drift/special.txt), and small cases worked out by hand:
 * exact KS p-values by counting paths, closed forms of the gamma and
 * chi-square tails, PSI, Jensen-Shannon, the homogeneity test and
 * quantiles.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"
#include "suites.h"

/* Relative agreement, with an absolute floor for values near 0. */
static int
close_to(double got, double want, double rtol)
{
	if (isnan(want))
		return isnan(got);
	return fabs(got - want) <= rtol * fabs(want) + 1e-300;
}

static FILE *
open_data(const char *name)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/drift/%s", dir ? dir : "tests/data",
	    name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

START_TEST(test_special)
{
	FILE *f = open_data("special.txt");
	char line[512], what[32];
	int checked = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		double x, y, want, got;
		long n;
		if (line[0] == '#')
			continue;
		if (sscanf(line, "chi2_sf %lf %lf %lf", &x, &y, &want) == 3)
			got = tp_stats_chi2_sf(x, y);
		else if (sscanf(line, "kstwo %ld %lf %lf", &n, &x, &want) == 3)
			got = tp_stats_kolmogorov_sf(n, x);
		else if (sscanf(line, "smirnov %ld %lf %lf", &n, &x, &want) == 3)
			got = tp_stats_smirnov(n, x);
		else
			ck_abort_msg("special.txt: cannot read: %s", line);
		sscanf(line, "%31s", what);
		ck_assert_msg(close_to(got, want, 1e-6),
		    "%s: got %.17g, expected %.17g", line, got, want);
		checked++;
	}
	fclose(f);
	ck_assert_int_ge(checked, 79);
}
END_TEST

/* Small exact p-values worked out by counting paths: samples {1, 2} and
 * {3, 4}: D = 1, and 2 of the C(4, 2) = 6 orderings reach it. */
START_TEST(test_ks_by_hand)
{
	static const double a[] = {1, 2}, b[] = {3, 4}, c[] = {1, 3}, d[] = {2, 4};
	tp_ks_result r;

	tp_stats_ks_2samp(a, 2, b, 2, &r);
	ck_assert_double_eq_tol(r.d, 1, 1e-15);
	ck_assert_double_eq_tol(r.p, 2.0 / 6, 1e-15);
	ck_assert_int_eq(r.exact, 1);
	/* {1, 3} against {2, 4}: D = 1/2, reached by every ordering. */
	tp_stats_ks_2samp(c, 2, d, 2, &r);
	ck_assert_double_eq_tol(r.d, 0.5, 1e-15);
	ck_assert_double_eq_tol(r.p, 1, 1e-15);
	/* Identical samples: D = 0, p = 1. */
	tp_stats_ks_2samp(a, 2, a, 2, &r);
	ck_assert_double_eq(r.d, 0);
	ck_assert_double_eq(r.p, 1);
	/* chi2 with 2 degrees of freedom is exp(-x/2). */
	ck_assert_double_eq_tol(tp_stats_chi2_sf(3, 2), exp(-1.5), 1e-15);
	ck_assert(isnan(tp_stats_chi2_sf(1, 0)));
	ck_assert_double_eq_tol(tp_stats_quantile(a, 2, 0.5), 1.5, 1e-15);
}
END_TEST

START_TEST(test_psi_and_js_by_hand)
{
	static const double r[] = {50, 50, 0}, c[] = {25, 75, 0};
	static const double r2[] = {1, 0}, c2[] = {0, 1};

	/* (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5) */
	ck_assert_double_eq_tol(tp_stats_psi(r, c, 3, 1e-4),
	    -0.25 * log(0.5) + 0.25 * log(1.5), 1e-15);
	/* Disjoint: each share of 1 against 1e-4, twice. */
	ck_assert_double_eq_tol(tp_stats_psi(r2, c2, 2, 1e-4),
	    2 * (1 - 1e-4) * log(1e4), 1e-12);
	ck_assert_double_eq_tol(tp_stats_jensenshannon(r2, c2, 2), 1, 1e-15);
	ck_assert_double_eq(tp_stats_jensenshannon(r, r, 3), 0);
	ck_assert(isnan(tp_stats_psi(r, (const double[]){0, 0, 0}, 3, 1e-4)));
}
END_TEST

/* The exact two-sample distribution by itself: of the C(n1 + n2, n1)
 * orderings of the samples, the share whose D reaches h / lcm(n1, n2). */
START_TEST(test_ks_exact_by_hand)
{
	/* 2 and 2: D = 1 by 2 of 6 orderings, D >= 1/2 by all. */
	ck_assert_double_eq_tol(tp_stats_ks_2samp_exact(2, 2, 2), 2.0 / 6,
	    1e-15);
	ck_assert_double_eq_tol(tp_stats_ks_2samp_exact(2, 2, 1), 1, 1e-15);
	/* 3 and 3: D = 1 by 2 of 20. */
	ck_assert_double_eq_tol(tp_stats_ks_2samp_exact(3, 3, 3), 2.0 / 20,
	    1e-15);
	/* 1 and 2 (lcm 2): every ordering has D >= 1/2; D = 1 when the
	 * one value comes first or last, 2 of 3. */
	ck_assert_double_eq_tol(tp_stats_ks_2samp_exact(1, 2, 1), 1, 1e-15);
	ck_assert_double_eq_tol(tp_stats_ks_2samp_exact(1, 2, 2), 2.0 / 3,
	    1e-15);
}
END_TEST

/* Closed forms: Q(1, x) = e^-x, Q(1/2, x) = erfc(sqrt x), Q(3/2, x) =
 * erfc(sqrt x) + 2 sqrt(x / pi) e^-x, Q(3, x) = e^-x (1 + x + x^2 / 2). */
START_TEST(test_gamma_q_closed_forms)
{
	static const double xs[] = {1e-6, 0.01, 0.5, 1, 2, 3.5, 10, 40};

	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double x = xs[i];
		ck_assert_msg(close_to(tp_stats_gamma_q(1, x), exp(-x), 1e-12),
		    "Q(1, %g)", x);
		ck_assert_msg(close_to(tp_stats_gamma_q(0.5, x), erfc(sqrt(x)),
		    1e-12), "Q(1/2, %g)", x);
		ck_assert_msg(close_to(tp_stats_gamma_q(1.5, x), erfc(sqrt(x)) +
		    2 * sqrt(x / M_PI) * exp(-x), 1e-12), "Q(3/2, %g)", x);
		ck_assert_msg(close_to(tp_stats_gamma_q(3, x),
		    exp(-x) * (1 + x + x * x / 2), 1e-12), "Q(3, %g)", x);
		/* chi2 with 1 degree of freedom: erfc(sqrt(x / 2)). */
		ck_assert_msg(close_to(tp_stats_chi2_sf(x, 1),
		    erfc(sqrt(x / 2)), 1e-12), "chi2_sf(%g, 1)", x);
	}
	ck_assert_double_eq(tp_stats_gamma_q(2, 0), 1);
	ck_assert_double_eq(tp_stats_gamma_q(2, INFINITY), 0);
	ck_assert(isnan(tp_stats_gamma_q(0, 1)));
	ck_assert(isnan(tp_stats_gamma_q(1, -1)));
	ck_assert(isnan(tp_stats_gamma_q(NAN, 1)));
	ck_assert_double_eq(tp_stats_chi2_sf(0, 3), 1);
	ck_assert(isnan(tp_stats_chi2_sf(NAN, 3)));
}
END_TEST

/* A 2 x 2 table with expected counts of 15: chi-square 4 (5^2 / 15) =
 * 20/3 on 1 degree of freedom, p = erfc(sqrt(10/3)); a column empty in
 * both rows does not count. */
START_TEST(test_homogeneity_by_hand)
{
	static const double a[] = {10, 0, 20}, b[] = {20, 0, 10};
	static const double one_a[] = {5, 0}, one_b[] = {7, 0};
	double chi2, p;
	int dof;

	tp_stats_chi2_homogeneity(a, b, 3, &chi2, &p, &dof);
	ck_assert_double_eq_tol(chi2, 20.0 / 3, 1e-12);
	ck_assert_double_eq_tol(p, erfc(sqrt(10.0 / 3)), 1e-14);
	ck_assert_int_eq(dof, 1);
	/* The same proportions in both rows: nothing. */
	tp_stats_chi2_homogeneity(a, (const double[]){20, 0, 40}, 3, &chi2, &p,
	    &dof);
	ck_assert_double_eq_tol(chi2, 0, 1e-12);
	ck_assert_double_eq_tol(p, 1, 1e-12);
	/* One column: no test. */
	tp_stats_chi2_homogeneity(one_a, one_b, 2, &chi2, &p, &dof);
	ck_assert_double_eq(chi2, 0);
	ck_assert_double_eq(p, 1);
	ck_assert_int_eq(dof, 0);
}
END_TEST

/* numpy.quantile's default: linear between the order statistics at
 * q (n - 1). */
START_TEST(test_quantile_by_hand)
{
	static const double v[] = {1, 2, 4, 8};

	ck_assert_double_eq(tp_stats_quantile(v, 4, 0), 1);
	ck_assert_double_eq(tp_stats_quantile(v, 4, 1), 8);
	ck_assert_double_eq_tol(tp_stats_quantile(v, 4, 0.25), 1.75, 1e-15);
	ck_assert_double_eq_tol(tp_stats_quantile(v, 4, 0.5), 3, 1e-15);
	ck_assert_double_eq_tol(tp_stats_quantile(v, 4, 0.9), 6.8, 1e-14);
	ck_assert_double_eq(tp_stats_quantile(v, 1, 0.7), 1);
	ck_assert(isnan(tp_stats_quantile(v, 0, 0.5)));
}
END_TEST

Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("scipy");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_special);
	suite_add_tcase(s, tc);

	tc = tcase_create("by hand");
	tcase_add_test(tc, test_ks_by_hand);
	tcase_add_test(tc, test_psi_and_js_by_hand);
	tcase_add_test(tc, test_ks_exact_by_hand);
	tcase_add_test(tc, test_gamma_q_closed_forms);
	tcase_add_test(tc, test_homogeneity_by_hand);
	tcase_add_test(tc, test_quantile_by_hand);
	suite_add_tcase(s, tc);
	return s;
}
