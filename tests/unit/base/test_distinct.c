/*
 * test_distinct: the count is exact up to k distinct hashes, repeats
 * aside; beyond, the estimate is within four standard errors of the
 * truth; parts merged give the whole's sketch, also when some parts
 * saw more than k hashes and others fewer; the text form.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/distinct.h"
#include "base/rng.h"
#include "suites.h"

static char *
text_of(const tp_distinct *d)
{
	char *t = tp_distinct_format(d);

	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_exact)
{
	tp_distinct d;
	tp_err e = {0};
	int exact;
	double se;

	ck_assert_int_eq(tp_distinct_init(&d, 100, &e), TP_OK);
	/* 100 distinct items, each three times: exactly k. */
	for (int r = 0; r < 3; r++)
		for (uint64_t i = 0; i < 100; i++)
			ck_assert_int_eq(tp_distinct_add(&d, i, &e), TP_OK);
	ck_assert_double_eq(tp_distinct_count(&d, &exact, &se, &e), 100);
	ck_assert(exact && se == 0);
	/* One more is one too many. */
	ck_assert_int_eq(tp_distinct_add(&d, 100, &e), TP_OK);
	tp_distinct_count(&d, &exact, &se, &e);
	ck_assert(!exact && se > 0);
	tp_distinct_free(&d);
	tp_distinct_free(&d);
	ck_assert_int_eq(tp_distinct_init(&d, 2, &e), TP_EUSAGE);
}
END_TEST

START_TEST(test_estimate)
{
	enum { K = 4096, N = 300000 };
	tp_distinct d;
	tp_err e = {0};
	int exact;
	double se;

	ck_assert_int_eq(tp_distinct_init(&d, K, &e), TP_OK);
	for (uint64_t i = 0; i < N; i++)
		ck_assert_int_eq(tp_distinct_add(&d, i % (N / 2), &e), TP_OK);
	double n = tp_distinct_count(&d, &exact, &se, &e);
	ck_assert(!exact);
	ck_assert_double_eq_tol(se, 1 / sqrt(K - 2.0), 1e-15);
	ck_assert_msg(fabs(n - N / 2) < 4 * se * N / 2, "%g distinct, of %d", n,
	    N / 2);
	tp_distinct_free(&d);
}
END_TEST

START_TEST(test_merge)
{
	enum { K = 1000 };
	tp_distinct whole, part[3], merged;
	tp_err e = {0};
	tp_rng r;
	char *want, *got;
	static uint64_t h[20000];

	tp_rng_seed(&r, 4);
	for (size_t i = 0; i < 20000; i++)
		h[i] = i < 10000 ? tp_rng_next(&r) : h[tp_rng_below(&r, i)];
	ck_assert_int_eq(tp_distinct_init(&whole, K, &e), TP_OK);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(tp_distinct_init(&part[k], K, &e), TP_OK);
	for (size_t i = 0; i < 20000; i++) {
		ck_assert_int_eq(tp_distinct_add(&whole, h[i], &e), TP_OK);
		/* A part of 500, under k, and two over it. */
		ck_assert_int_eq(tp_distinct_add(&part[i < 500 ? 0 :
		    i < 12000 ? 1 : 2], h[i], &e), TP_OK);
	}
	want = text_of(&whole);
	for (int order = 0; order < 2; order++) {
		ck_assert_int_eq(tp_distinct_init(&merged, K, &e), TP_OK);
		for (int k = 0; k < 3; k++)
			ck_assert_int_eq(tp_distinct_merge(&merged,
			    &part[order ? 2 - k : k], &e), TP_OK);
		got = text_of(&merged);
		ck_assert_str_eq(got, want);
		free(got);
		tp_distinct_free(&merged);
	}
	/* The text read back is the same sketch. */
	ck_assert_int_eq(tp_distinct_parse(&merged, want, &e), TP_OK);
	got = text_of(&merged);
	ck_assert_str_eq(got, want);
	free(got);
	tp_distinct_free(&merged);
	ck_assert_int_eq(tp_distinct_init(&merged, K + 1, &e), TP_OK);
	ck_assert_int_eq(tp_distinct_merge(&merged, &whole, &e), TP_EUSAGE);
	tp_distinct_free(&merged);
	static const char *const bad[] = {"", "2 0 0", "10 0 11", "10 1 2 "
	    "0000000000000001 0000000000000002", "10 0 2 0000000000000002 "
	    "0000000000000001", "10 0 1 000000000000001", "10 0 1 "
	    "000000000000000g", "10 0 0 x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tp_distinct_parse(&merged, bad[i], &e) == TP_EDATA,
		    "\"%s\" was read", bad[i]);
	free(want);
	for (int k = 0; k < 3; k++)
		tp_distinct_free(&part[k]);
	tp_distinct_free(&whole);
}
END_TEST

Suite *
distinct_suite(void)
{
	Suite *s = suite_create("distinct");
	TCase *tc = tcase_create("distinct");

	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_estimate);
	tcase_add_test(tc, test_merge);
	suite_add_tcase(s, tc);
	return s;
}
