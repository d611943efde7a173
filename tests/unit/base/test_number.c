/*
 * test_number: tp_parse_double, strict and locale-independent: exact
 * values, strtod's correctly rounded results on hand-picked and 200,000
 * random decimals, the forms it rejects, and only the len bytes read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "base/rng.h"
#include "suites.h"

static void
expect_number(const char *s, double want)
{
	double x = -12345;

	ck_assert_msg(tp_parse_double(s, strlen(s), &x) == 0,
	    "\"%s\" rejected", s);
	ck_assert_msg(memcmp(&x, &want, sizeof(x)) == 0,
	    "\"%s\" gives %.17g, want %.17g", s, x, want);
}

static void
expect_strtod(const char *s)
{
	expect_number(s, strtod(s, NULL));
}

static void
expect_reject(const char *s)
{
	double x;

	ck_assert_msg(tp_parse_double(s, strlen(s), &x) == -1,
	    "\"%s\" accepted as %.17g", s, x);
}

START_TEST(test_parse_double)
{
	expect_number("12", 12);
	expect_number("-3.5", -3.5);
	expect_number("+1e-3", 1e-3);
	expect_number("0.1", 0.1);
	expect_strtod("0.1");
	expect_strtod("1234567890123456789012");
	expect_strtod("123456789012345678901234567890e-10");
	expect_strtod("9007199254740993");
	expect_strtod("0.30000000000000004");
	expect_strtod("2.2250738585072011e-308");
	expect_strtod("4.9e-324");
	expect_strtod("1.7976931348623157e308");
	expect_strtod("1e-400");
	expect_strtod("-0");
	expect_strtod("5.");
	expect_strtod(".5");
	expect_strtod("1E5");
	expect_strtod("1e+22");
	expect_strtod("1e23");
	expect_strtod("000000000000000000000000000012.5");
	expect_strtod("0.000000000000000000000000000000000000001");
	expect_strtod("100000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000.5e-100");
	expect_reject("12abc");
	expect_reject("");
	expect_reject(" 1");
	expect_reject("1 ");
	expect_reject("inf");
	expect_reject("-inf");
	expect_reject("infinity");
	expect_reject("nan");
	expect_reject("NaN");
	expect_reject("0x10");
	expect_reject("1e");
	expect_reject("1e+");
	expect_reject(".");
	expect_reject("-");
	expect_reject("+");
	expect_reject("1e999");
	expect_reject("-1e999");
	expect_reject("1.7976931348623159e308");
	expect_reject("--1");
	expect_reject("1.2.3");
	expect_reject("1,5");
	expect_reject("e5");
	expect_reject("1e5.0");
}
END_TEST

START_TEST(test_parse_double_len)
{
	double x;

	/* Only the len bytes count, whichever path parses them. */
	ck_assert_int_eq(tp_parse_double("12345", 2, &x), 0);
	ck_assert(x == 12);
	ck_assert_int_eq(tp_parse_double("1.5e3xyz", 5, &x), 0);
	ck_assert(x == 1500);
	ck_assert_int_eq(tp_parse_double("1234567890123456789012999", 22, &x), 0);
	ck_assert(x == strtod("1234567890123456789012", NULL));
	ck_assert_int_eq(tp_parse_double("12e", 2, &x), 0);
	ck_assert(x == 12);
	ck_assert_int_eq(tp_parse_double("12", 0, &x), -1);
}
END_TEST

/* Writes a random decimal number into s (NUL-terminated). */
static size_t
random_decimal(tp_rng *r, char *s)
{
	size_t n = 0;
	uint64_t form = tp_rng_below(r, 4);
	int nint = (int)tp_rng_below(r, 26), nfrac = (int)tp_rng_below(r, 26);

	switch (tp_rng_below(r, 3)) {
	case 0: s[n++] = '-'; break;
	case 1: if (tp_rng_below(r, 4) == 0) s[n++] = '+'; break;
	default: break;
	}
	if (form == 0)
		nfrac = -1; /* no decimal point */
	if (nint == 0 && nfrac <= 0)
		nint = 1;
	for (int i = 0; i < nint; i++) {
		/* Runs of zeros and nines make the rounding cases. */
		uint64_t k = tp_rng_below(r, 10);
		s[n++] = k < 3 ? '0' : k < 5 ? '9' : (char)('0' + tp_rng_below(r, 10));
	}
	if (nfrac >= 0) {
		s[n++] = '.';
		for (int i = 0; i < nfrac; i++) {
			uint64_t k = tp_rng_below(r, 10);
			s[n++] = k < 3 ? '0' : k < 5 ? '9' :
			    (char)('0' + tp_rng_below(r, 10));
		}
	}
	if (tp_rng_below(r, 2) == 0) {
		s[n++] = tp_rng_below(r, 2) ? 'e' : 'E';
		switch (tp_rng_below(r, 3)) {
		case 0: s[n++] = '-'; break;
		case 1: s[n++] = '+'; break;
		default: break;
		}
		int ex = (int)tp_rng_below(r, tp_rng_below(r, 2) ? 30 : 400);
		n += (size_t)sprintf(s + n, "%d", ex);
	}
	s[n] = '\0';
	return n;
}

START_TEST(test_parse_double_random)
{
	tp_rng r;
	char s[128];
	long shorter = 0, longer = 0;

	tp_rng_seed(&r, 20240601);
	for (int i = 0; i < 200000; i++) {
		size_t n = random_decimal(&r, s);
		char *end;
		double want = strtod(s, &end), got = -12345;
		ck_assert_msg(end == s + n, "strtod stops early in \"%s\"", s);
		int rc = tp_parse_double(s, n, &got);
		if (!isfinite(want)) {
			ck_assert_msg(rc == -1, "\"%s\" accepted as %.17g", s, got);
			continue;
		}
		ck_assert_msg(rc == 0, "\"%s\" rejected", s);
		if (memcmp(&got, &want, sizeof(got)) != 0)
			ck_abort_msg("\"%s\": %a, strtod gives %a", s, got, want);
		if (n < 17)
			shorter++;
		else
			longer++;
	}
	/* Both short numbers and ones longer than a double's digits were
	 * tried. */
	ck_assert_int_gt(shorter, 10000);
	ck_assert_int_gt(longer, 10000);
}
END_TEST

Suite *
number_suite(void)
{
	Suite *s = suite_create("number");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_double);
	tcase_add_test(tc, test_parse_double_len);
	tcase_add_test(tc, test_parse_double_random);
	suite_add_tcase(s, tc);
	return s;
}
