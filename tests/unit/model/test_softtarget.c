/*
 * test_softtarget: what a row of the cross-entropy is trained toward and
 * what it weighs: a labelled row its label (or the soft target given for
 * it) and its class's weight; a row without a label nothing, unless a
 * target stands for it, then the class weight its target expects.
 */
#include <stddef.h>
#include <stdint.h>

#include "model/softtarget.h"
#include "suites.h"

START_TEST(targets)
{
	static const int8_t label[3] = {0, 1, -1};
	static const float soft[3] = {0.25f, 0.5f, 0.75f};

	ck_assert_float_eq(tp_soft_target(label, NULL, 0), 0);
	ck_assert_float_eq(tp_soft_target(label, NULL, 1), 1);
	for (long b = 0; b < 3; b++)
		ck_assert_float_eq(tp_soft_target(label, soft, b), soft[b]);
}
END_TEST

START_TEST(weights)
{
	static const int8_t label[3] = {0, 1, -1};
	static const float soft[3] = {0.25f, 0.5f, 0.75f};
	static const float w[2] = {1, 3};

	/* A labelled row: its class's weight, whatever its target. */
	ck_assert_float_eq(tp_soft_weight(label, NULL, NULL, 0), 1);
	ck_assert_float_eq(tp_soft_weight(label, NULL, w, 0), 1);
	ck_assert_float_eq(tp_soft_weight(label, NULL, w, 1), 3);
	ck_assert_float_eq(tp_soft_weight(label, soft, w, 1), 3);
	/* Unlabelled: left out on the labels; with a target of 3/4, weighed
	 * 3/4 x 3 + 1/4 x 1 = 2.5 (1 without class weights). */
	ck_assert_float_eq(tp_soft_weight(label, NULL, w, 2), 0);
	ck_assert_float_eq(tp_soft_weight(label, NULL, NULL, 2), 0);
	ck_assert_float_eq(tp_soft_weight(label, soft, w, 2), 2.5f);
	ck_assert_float_eq(tp_soft_weight(label, soft, NULL, 2), 1);
}
END_TEST

Suite *
softtarget_suite(void)
{
	Suite *s = suite_create("softtarget");
	TCase *tc = tcase_create("softtarget");

	tcase_add_test(tc, targets);
	tcase_add_test(tc, weights);
	suite_add_tcase(s, tc);
	return s;
}
