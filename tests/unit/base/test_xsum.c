/*
 * test_xsum: exact sums read as the nearest double, whatever the order of
 * their terms and the grouping of merged parts (where a double's running
 * sum differs); cancellation and the extremes of the doubles; the
 * double-double reading; non-finite terms; the text form, read back.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/rng.h"
#include "base/xsum.h"
#include "suites.h"

static double
sum_of(const double *x, size_t n)
{
	tp_xsum s = {0};

	for (size_t i = 0; i < n; i++)
		tp_xsum_add(&s, x[i]);
	return tp_xsum_value(&s);
}

/* Values worked out by hand: what a double's running sum gets wrong. */
START_TEST(test_exact)
{
	double tenth[10], big[] = {1e16, 1, -1e16}, huge[] = {1e308, 1e308, -1e308};
	double tiny[] = {0x1p-1074, 0x1p-1074, -0x1p-1073, 1};
	tp_xsum s = {0};
	double hi, lo;

	for (int i = 0; i < 10; i++)
		tenth[i] = 0.1;
	/* Ten 0.1s are 1 + 5.55e-17, nearer 1 than the next double. */
	ck_assert_double_eq(sum_of(tenth, 10), 1.0);
	ck_assert_double_eq(sum_of(big, 3), 1.0);
	ck_assert_double_eq(sum_of(huge, 3), 1e308);
	ck_assert_double_eq(sum_of(tiny, 4), 1.0);
	ck_assert_double_eq(sum_of(tiny, 2), 0x1p-1073);
	ck_assert_double_eq(sum_of(NULL, 0), 0);
	/* Ties go to even: 1 + 2^-53 is 1, 1 + 3 2^-53 is 1 + 2^-51. */
	ck_assert_double_eq(sum_of((double[]){1, 0x1p-53}, 2), 1.0);
	ck_assert_double_eq(sum_of((double[]){1, 0x1p-53, 0x1p-52}, 3),
	    1 + 0x1p-51);
	/* Just above the tie rounds up: the bit below the kept ones. */
	ck_assert_double_eq(sum_of((double[]){1, 0x1p-53, 0x1p-200}, 3),
	    1 + 0x1p-52);
	ck_assert_double_eq(sum_of((double[]){-1, -0x1p-53, -0x1p-200}, 3),
	    -1 - 0x1p-52);
	tp_xsum_add(&s, 1);
	tp_xsum_add(&s, 0x1p-80);
	tp_xsum_dd(&s, &hi, &lo);
	ck_assert(hi == 1 && lo == 0x1p-80);
	tp_xsum_add(&s, -1);
	ck_assert_double_eq(tp_xsum_value(&s), 0x1p-80);
}
END_TEST

/* Terms of every size and sign, added in two orders and in parts merged
 * in two groupings: the same double every time. */
START_TEST(test_order)
{
	enum { N = 20000 };
	static double x[N];
	tp_xsum fwd = {0}, back = {0}, part[4], left = {0}, right = {0};
	tp_rng r;

	memset(part, 0, sizeof(part));
	tp_rng_seed(&r, 3);
	for (int i = 0; i < N; i++)
		x[i] = ldexp(tp_rng_normal(&r), (int)tp_rng_below(&r, 200) - 100);
	for (int i = 0; i < N; i++) {
		tp_xsum_add(&fwd, x[i]);
		tp_xsum_add(&back, x[N - 1 - i]);
		tp_xsum_add(&part[i * 4 / N], x[i]);
	}
	ck_assert_double_eq(tp_xsum_value(&fwd), tp_xsum_value(&back));
	/* ((0 + 1) + 2) + 3 against 0 + (1 + (2 + 3)). */
	for (int k = 0; k < 4; k++)
		tp_xsum_merge(&left, &part[k]);
	tp_xsum_merge(&part[2], &part[3]);
	tp_xsum_merge(&part[1], &part[2]);
	tp_xsum_merge(&right, &part[0]);
	tp_xsum_merge(&right, &part[1]);
	ck_assert_double_eq(tp_xsum_value(&left), tp_xsum_value(&fwd));
	ck_assert_double_eq(tp_xsum_value(&right), tp_xsum_value(&fwd));
	/* A double's running sums of the same terms differ. */
	double a = 0, b = 0;
	for (int i = 0; i < N; i++) {
		a += x[i];
		b += x[N - 1 - i];
	}
	ck_assert_double_ne(a, b);
}
END_TEST

START_TEST(test_special)
{
	tp_xsum s = {0}, t = {0};

	tp_xsum_add(&s, 1);
	tp_xsum_add(&s, INFINITY);
	ck_assert(isinf(tp_xsum_value(&s)) && tp_xsum_value(&s) > 0);
	tp_xsum_add(&t, -INFINITY);
	tp_xsum_merge(&s, &t);
	ck_assert(isnan(tp_xsum_value(&s)));
}
END_TEST

/* The text form gives back the very sum, and is refused when it is not
 * one. */
START_TEST(test_text)
{
	static const double cases[][3] = {{0, 0, 0}, {1.5, 0, 0},
	    {-1.5, 0, 0}, {1e300, -1e-300, 3}, {0x1p-1074, 0, 0},
	    {-2, 0x1p-60, 0}};
	char buf[TP_XSUM_TEXT];
	tp_xsum s, back;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		for (int k = 0; k < 3; k++)
			tp_xsum_add(&s, cases[i][k]);
		tp_xsum_format(&s, buf);
		ck_assert_msg(tp_xsum_parse(&back, buf) == 0, "%s", buf);
		tp_xsum_add(&back, 1e-200);
		tp_xsum_add(&s, 1e-200);
		double hi1, lo1, hi2, lo2;
		tp_xsum_dd(&s, &hi1, &lo1);
		tp_xsum_dd(&back, &hi2, &lo2);
		ck_assert_msg(hi1 == hi2 && lo1 == lo2, "case %zu: %s", i, buf);
	}
	memset(&s, 0, sizeof(s));
	tp_xsum_add(&s, 1.5);
	tp_xsum_format(&s, buf);
	ck_assert_str_eq(buf, "180000000p-32");
	tp_xsum_format(&(tp_xsum){.special = -INFINITY}, buf);
	ck_assert_str_eq(buf, "-inf");
	ck_assert_int_eq(tp_xsum_parse(&s, "-inf"), 0);
	ck_assert(isinf(tp_xsum_value(&s)));
	ck_assert_int_eq(tp_xsum_parse(&s, "3p-31"), -1);   /* not 32 | E */
	ck_assert_int_eq(tp_xsum_parse(&s, "3p"), -1);
	ck_assert_int_eq(tp_xsum_parse(&s, "0x3p0"), -1);
	ck_assert_int_eq(tp_xsum_parse(&s, "3p-9999"), -1);
	ck_assert_int_eq(tp_xsum_parse(&s, "3p99999"), -1);
	ck_assert_int_eq(tp_xsum_parse(&s, "1.5"), -1);
	ck_assert_int_eq(tp_xsum_parse(&s, ""), -1);
}
END_TEST

Suite *
xsum_suite(void)
{
	Suite *s = suite_create("xsum");
	TCase *tc = tcase_create("xsum");

	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_special);
	tcase_add_test(tc, test_text);
	suite_add_tcase(s, tc);
	return s;
}
