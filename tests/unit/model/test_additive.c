/*
 * test_additive: the additive part's three forms of one log-odds agree:
 * the sum over a row's features (the forward's), the bias plus each
 * feature's term (the explanations'), and the sparse design row's product
 * with the weights (the fit's), its columns in order; and a numeric term by hand, below, between and
 * above the knots, and missing.
 */
#include <math.h>

#include "base/rng.h"
#include "model/additive.h"
#include "suites.h"

enum { NCAT = 2, NNUM = 2, K = TP_ADDITIVE_KNOTS, ROWS = 7,
	P = 1 + 7 + NNUM * (2 + K) };
static const int vocab_offset[NCAT] = {0, 4};  /* 4 and 3 table rows */

static tp_additive
part(float *weight, float *knot)
{
	tp_rng rng;

	tp_rng_seed(&rng, 3);
	for (int i = 0; i < P; i++)
		weight[i] = (float)tp_rng_normal(&rng);
	for (int k = 0; k < NNUM; k++)
		for (int t = 0; t < K; t++)
			knot[k * K + t] = -1.0f + 0.5f * (float)t;
	return (tp_additive){.ncat = NCAT, .nnum = NNUM, .vocab_rows = 7,
	    .vocab_offset = vocab_offset, .weight = weight, .knot = knot};
}

START_TEST(test_additive_forms_agree)
{
	float weight[P], knot[NNUM * K];
	tp_additive a = part(weight, knot);
	const int32_t cat[ROWS][NCAT] = {{0, 0}, {1, 2}, {3, 1}, {2, 0},
	    {0, 2}, {3, 2}, {1, 1}};
	const float num[ROWS][NNUM] = {{0, 0}, {-3, 2.5f}, {NAN, 0.2f},
	    {0.7f, NAN}, {NAN, NAN}, {-0.75f, -1}, {4, 0.25f}};

	ck_assert_int_eq(tp_additive_width(&a), P);
	for (int r = 0; r < ROWS; r++) {
		double val[P], term[NCAT + NNUM], dot = 0, sum = a.weight[0];
		double logit = tp_additive_logit(&a, cat[r], num[r]);
		int col[P], nz = tp_additive_design(&a, cat[r], num[r], col, val);

		ck_assert_int_le(nz, tp_additive_row_most(&a));
		for (int i = 0; i < nz; i++) {
			ck_assert(i == 0 || col[i] > col[i - 1]);
			dot += val[i] * a.weight[col[i]];
		}
		tp_additive_terms(&a, cat[r], num[r], term);
		for (int j = 0; j < NCAT + NNUM; j++)
			sum += term[j];
		ck_assert_double_eq_tol(dot, logit, 1e-9);
		ck_assert_double_eq_tol(sum, logit, 1e-9);
		ck_assert_double_eq(term[0], a.weight[1 + cat[r][0]]);
		ck_assert_double_eq(term[1], a.weight[1 + 4 + cat[r][1]]);
	}
}
END_TEST

START_TEST(test_additive_numeric_term)
{
	float weight[P], knot[NNUM * K];
	tp_additive a = part(weight, knot);
	const float *col = weight + 8 + (2 + K);  /* numeric 1's */

	/* Below every knot (-1 to 1): the linear term alone. */
	ck_assert_double_eq_tol(tp_additive_numeric_term(&a, 1, -2),
	    -2 * col[0], 1e-6);
	/* At 0.2: above the knots -1, -0.5 and 0. */
	ck_assert_double_eq_tol(tp_additive_numeric_term(&a, 1, 0.2),
	    0.2 * col[0] + 1.2 * col[2] + 0.7 * col[3] + 0.2 * col[4], 1e-6);
	/* Missing: the flag's weight alone. */
	ck_assert_double_eq(tp_additive_numeric_term(&a, 1, NAN), col[1]);
}
END_TEST

Suite *
additive_suite(void)
{
	Suite *s = suite_create("additive");
	TCase *tc = tcase_create("additive");

	tcase_add_test(tc, test_additive_forms_agree);
	tcase_add_test(tc, test_additive_numeric_term);
	suite_add_tcase(s, tc);
	return s;
}
