/*
 * test_sketch: exact below its bins (each distinct value its counts, -0
 * and 0 one value, negative values in order); beyond, the least level at
 * which the values fit, worked out by brute force, whatever the order of
 * the values; parts merged in any grouping give the whole's sketch, bin
 * for bin; the text form read back, and refused when damaged.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/sketch.h"
#include "suites.h"

static char *
text_of(const tp_sketch *s)
{
	char *t = tp_sketch_format(s);

	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_exact)
{
	static const float x[] = {0.5f, -2.0f, 0.0f, -0.0f, 0.5f, 1e-30f,
	    -1e-30f, 3.0f};
	tp_sketch s;
	tp_err e = {0};

	ck_assert_int_eq(tp_sketch_init(&s, 16, &e), TP_OK);
	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		ck_assert_int_eq(tp_sketch_add(&s, x[i], (int)(i % 3), 1, &e), TP_OK);
	tp_sketch_sort(&s);
	ck_assert_int_eq(s.level, 0);
	ck_assert_uint_eq(s.n, 6);
	static const float want[] = {-2.0f, -1e-30f, 0.0f, 1e-30f, 0.5f, 3.0f};
	static const uint64_t total[] = {1, 1, 2, 1, 2, 1};
	for (size_t i = 0; i < s.n; i++) {
		ck_assert_float_eq(tp_sketch_value(s.bin[i].least), want[i]);
		ck_assert_uint_eq(tp_sketch_total(&s.bin[i]), total[i]);
	}
	/* 0 came in class 2 and -0 in class 0: one bin, both counted. */
	ck_assert(s.bin[2].count[2] == 1 && s.bin[2].count[0] == 1);
	ck_assert_int_eq(signbit(tp_sketch_value(s.bin[2].least)), 0);
	tp_sketch_free(&s);
	tp_sketch_free(&s);
	ck_assert_int_eq(tp_sketch_init(&s, 1, &e), TP_EUSAGE);
}
END_TEST

static int
by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The least level at which n values' keys are max or fewer. */
static int
least_level(const float *x, size_t n, size_t max)
{
	uint32_t *u = malloc(n * sizeof(*u));

	for (int level = 0;; level++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			u[i] = tp_sketch_bits(x[i]) >> level;
		qsort(u, n, sizeof(*u), by_u32);
		for (size_t i = 0; i < n; i++)
			k += i == 0 || u[i] != u[i - 1];
		if (k <= max) {
			free(u);
			return level;
		}
	}
}

START_TEST(test_merge)
{
	enum { N = 30000, MAX = 500 };
	static float x[N];
	tp_sketch whole, back, part[3], merged;
	tp_err e = {0};
	tp_rng r;
	char *want, *got;

	tp_rng_seed(&r, 9);
	for (int i = 0; i < N; i++)
		x[i] = (float)(tp_rng_normal(&r) * (i % 2 ? 1 : 1000));
	ck_assert_int_eq(tp_sketch_init(&whole, MAX, &e), TP_OK);
	ck_assert_int_eq(tp_sketch_init(&back, MAX, &e), TP_OK);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(tp_sketch_add(&whole, x[i], i % 3, 1, &e), TP_OK);
		ck_assert_int_eq(tp_sketch_add(&back, x[N - 1 - i], (N - 1 - i) % 3,
		    1, &e), TP_OK);
	}
	ck_assert_int_eq(whole.level, least_level(x, N, MAX));
	ck_assert_int_gt(whole.level, 0);
	ck_assert_uint_le(whole.n, MAX);
	want = text_of(&whole);
	got = text_of(&back);
	ck_assert_str_eq(got, want);
	free(got);
	/* Three parts of unequal size, merged as (0 + 2) + 1. */
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(tp_sketch_init(&part[k], MAX, &e), TP_OK);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(tp_sketch_add(&part[i < 100 ? 0 : i < 20000 ? 1 : 2],
		    x[i], i % 3, 1, &e), TP_OK);
	ck_assert_int_eq(tp_sketch_init(&merged, MAX, &e), TP_OK);
	ck_assert_int_eq(tp_sketch_merge(&merged, &part[0], &e), TP_OK);
	ck_assert_int_eq(tp_sketch_merge(&merged, &part[2], &e), TP_OK);
	ck_assert_int_eq(tp_sketch_merge(&merged, &part[1], &e), TP_OK);
	got = text_of(&merged);
	ck_assert_str_eq(got, want);
	free(got);
	/* The bins still hold every value, in the classes they came in. */
	uint64_t count[3] = {0};
	for (size_t i = 0; i < whole.n; i++)
		for (int c = 0; c < 3; c++)
			count[c] += whole.bin[i].count[c];
	ck_assert(count[0] == N / 3 && count[1] == N / 3 && count[2] == N / 3);
	tp_sketch_free(&back);
	ck_assert_int_eq(tp_sketch_init(&back, MAX + 1, &e), TP_OK);
	ck_assert_int_eq(tp_sketch_merge(&back, &whole, &e), TP_EUSAGE);
	for (int k = 0; k < 3; k++)
		tp_sketch_free(&part[k]);
	tp_sketch_free(&merged);
	tp_sketch_free(&back);
	tp_sketch_free(&whole);
	free(want);
}
END_TEST

START_TEST(test_text)
{
	tp_sketch s, back;
	tp_err e = {0};
	char *t, *u;

	ck_assert_int_eq(tp_sketch_init(&s, 4, &e), TP_OK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(tp_sketch_add(&s, (float)i - 4.5f, i % 3, 2, &e), TP_OK);
	t = text_of(&s);
	ck_assert_int_eq(tp_sketch_parse(&back, t, &e), TP_OK);
	u = text_of(&back);
	ck_assert_str_eq(u, t);
	free(u);
	tp_sketch_free(&back);
	ck_assert_int_eq(tp_sketch_parse(&back, "4 0 0", &e), TP_OK);
	ck_assert_uint_eq(back.n, 0);
	tp_sketch_free(&back);
	static const char *const bad[] = {"", "1 0 0", "4 32 0", "4 0 1",
	    "4 0 1 5", "4 0 2 2147483648 2147483648 1 0 0 1 1 1 0 0",
	    "4 0 1 2147483648 2147483648 1 0 0 7", "4 1 1 5 10 1 0 0",
	    "4 0 1 -1 -1 0 0 0", "4 0 1 4294967295 4294967295 1 0 0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tp_sketch_parse(&back, bad[i], &e) == TP_EDATA,
		    "\"%s\" was read", bad[i]);
	free(t);
	tp_sketch_free(&s);
}
END_TEST

Suite *
sketch_suite(void)
{
	Suite *s = suite_create("sketch");
	TCase *tc = tcase_create("sketch");

	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_text);
	suite_add_tcase(s, tc);
	return s;
}
