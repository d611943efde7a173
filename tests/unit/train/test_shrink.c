/*
 * test_shrink: the shrinkage factors of the categorical levels from
 * labelled rows: the random-effects estimate for a column whose levels'
 * rates differ (a level of many rows kept, one of two drawn halfway), every
 * level to the mean for a column whose levels' rates are alike, unseen
 * levels at the mean with no weight, rows without a label left out, and
 * nothing shrunk without both classes.
 */
#include <math.h>
#include <string.h>

#include "fixture.h"
#include "train/rows.h"
#include "train/shrink.h"
#include "suites.h"

static const tp_config small = {
	.layers = 1, .d_model = 8, .heads = 2, .d_ff = 8, .head_hidden = 4,
	.proj_dim = 4, .dropout = 0, .activation = TP_GELU,
};

/* Rows of fixture_model_encoding: c0 is a (index 1) on 100 rows of which
 * 10 default, b on 100 with 50, c on 2 with 2, and never missing; c1 is x
 * and y on every other row of each label, so its two levels default
 * alike. Then `unlabelled` rows of c0 c and label -1. */
static void
rows_of(tp_batch *b, int unlabelled, int all_negative)
{
	static const int level[3] = {100, 100, 2}, positive[3] = {10, 50, 2};
	tp_err e = {0};
	size_t r = 0;

	ck_assert_int_eq(tp_batch_init(b, 2, 2, 202 + (size_t)unlabelled, &e),
	    TP_OK);
	for (int v = 0; v < 3; v++)
		for (int i = 0; i < level[v]; i++, r++) {
			b->id[r] = (int64_t)r + 1;
			b->cat[2 * r] = v + 1;
			b->cat[2 * r + 1] = 1 + i % 2;
			b->num[2 * r] = b->num[2 * r + 1] = 0;
			b->label[r] = all_negative ? 0 : i < positive[v];
		}
	for (int i = 0; i < unlabelled; i++, r++) {
		b->id[r] = (int64_t)r + 1;
		b->cat[2 * r] = 3;
		b->cat[2 * r + 1] = 1;
		b->num[2 * r] = b->num[2 * r + 1] = 0;
		b->label[r] = -1;
	}
	b->n = r;
}

/* The factors and weights of the rows' table rows, by tp_shrink_factors
 * with a model of fixture_model_encoding. */
static void
factors(int unlabelled, int all_negative, float *b, float *w, int *offset)
{
	tp_encoding enc;
	tp_model m;
	tp_batch rows = {0};
	tp_rows *src;
	tp_err e = {0};

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 1, 1, &e), TP_OK);
	ck_assert_int_eq(m.vocab_rows, 7);
	offset[0] = m.vocab_offset[0];
	offset[1] = m.vocab_offset[1];
	rows_of(&rows, unlabelled, all_negative);
	ck_assert_int_eq(tp_rows_memory(&src, &rows, &e), TP_OK);
	ck_assert_msg(tp_shrink_factors(src, &m, b, w, &e) == TP_OK, "%s",
	    e.msg);
	tp_rows_close(src);
	tp_batch_free(&rows);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}

START_TEST(test_shrink_levels)
{
	float b[7], w[7], b2[7], w2[7];
	int off[2];

	factors(0, 0, b, w, off);
	const float *c0 = b + off[0], *c1 = b + off[1];
	/* p = 62/202, tau2 = 0.0829836 by the method of moments: a level of
	 * 100 rows keeps 0.975 of its token, the level of 2 rows 0.438. */
	ck_assert_float_eq_tol(c0[1], 0.9750062f, 1e-5f);
	ck_assert_float_eq_tol(c0[2], 0.9750062f, 1e-5f);
	ck_assert_float_eq_tol(c0[3], 0.4382651f, 1e-5f);
	/* Missing, never seen: the mean, and no part of it. */
	ck_assert_float_eq(c0[0], 0);
	ck_assert_float_eq(w[off[0]], 0);
	ck_assert_float_eq_tol(w[off[0] + 1], 100.0f / 202, 1e-6f);
	ck_assert_float_eq_tol(w[off[0] + 3], 2.0f / 202, 1e-6f);
	/* Levels that default alike: all the mean. */
	for (int v = 0; v < 3; v++)
		ck_assert_float_eq(c1[v], 0);
	ck_assert_float_eq_tol(w[off[1] + 1] + w[off[1] + 2], 1, 1e-6f);

	/* Rows without a label count for nothing. */
	factors(50, 0, b2, w2, off);
	ck_assert_mem_eq(b2, b, sizeof(b));
	ck_assert_mem_eq(w2, w, sizeof(w));

	/* One class only: no rate to estimate, nothing shrunk. */
	factors(0, 1, b, w, off);
	for (int v = 0; v < 7; v++)
		ck_assert_float_eq(b[v], 1);
}
END_TEST

Suite *
shrink_suite(void)
{
	Suite *s = suite_create("shrink");
	TCase *tc = tcase_create("shrink");

	tcase_add_test(tc, test_shrink_levels);
	suite_add_tcase(s, tc);
	return s;
}
