/*
 * test_importance: permutation importance on the fixture's synthetic rows,
 * whose label depends on n0 and c0 only (tests/unit/fixture.c): a model
 * trained on them loses its AUC when n0 or c0 is shuffled, and those two
 * rank first, above c1 and n1; the same seed gives the same losses, their
 * mean and spread agree with the repeats; the report's JSON; bad input.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "quality/importance.h"
#include "suites.h"

START_TEST(test_signal_ranks_first)
{
	fixture_trained t;
	tp_importance imp, again;
	tp_err e = {0};

	fixture_train(&t, 1);
	ck_assert_msg(tp_importance_measure(&imp, &t.m, &t.enc, &t.test, 5, 7, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(imp.nfeatures, 4);
	ck_assert_msg(imp.auc > 0.75, "the model did not learn: AUC %g", imp.auc);
	/* The two the label depends on, first, in either order. */
	const char *a = imp.features[0].name, *b = imp.features[1].name;
	ck_assert_msg((strcmp(a, "n0") == 0 && strcmp(b, "c0") == 0) ||
	    (strcmp(a, "c0") == 0 && strcmp(b, "n0") == 0),
	    "first %s (%g), %s (%g), then %s (%g), %s (%g)", a,
	    imp.features[0].mean, b, imp.features[1].mean,
	    imp.features[2].name, imp.features[2].mean,
	    imp.features[3].name, imp.features[3].mean);
	ck_assert_msg(imp.features[1].mean > 0.05, "%s loses only %g", b, imp.features[1].mean);
	ck_assert_msg(imp.features[2].mean < imp.features[1].mean / 3,
	    "%s loses %g, near %s's %g", imp.features[2].name,
	    imp.features[2].mean, b, imp.features[1].mean);
	for (int k = 0; k < 4; k++) {
		const tp_importance_feature *f = &imp.features[k];
		double sum = 0, sq = 0;
		for (int r = 0; r < 5; r++)
			sum += f->losses[r];
		for (int r = 0; r < 5; r++)
			sq += (f->losses[r] - sum / 5) * (f->losses[r] - sum / 5);
		ck_assert_double_eq_tol(f->mean, sum / 5, 1e-15);
		ck_assert_double_eq_tol(f->std, sqrt(sq / 5), 1e-15);
		ck_assert_int_eq(f->categorical, f->name[0] == 'c');
		if (k > 0)
			ck_assert(imp.features[k - 1].mean >= f->mean);
	}
	/* The repeats differ: each is a shuffle of its own. */
	ck_assert(imp.features[0].std > 0);
	/* The same seed, the same losses. */
	ck_assert_int_eq(tp_importance_measure(&again, &t.m, &t.enc, &t.test, 5, 7, &e), TP_OK);
	for (int k = 0; k < 4; k++) {
		ck_assert_str_eq(again.features[k].name, imp.features[k].name);
		ck_assert_mem_eq(again.features[k].losses, imp.features[k].losses, 5 * sizeof(double));
	}
	tp_importance_free(&again);
	/* Another seed, other shuffles. */
	ck_assert_int_eq(tp_importance_measure(&again, &t.m, &t.enc, &t.test, 5, 8, &e), TP_OK);
	ck_assert(again.features[0].losses[0] != imp.features[0].losses[0] ||
	    again.features[0].losses[1] != imp.features[0].losses[1]);
	tp_importance_free(&again);

	cJSON *j = tp_importance_json(&imp), *f;
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "metric")->valuestring, "roc_auc");
	ck_assert_int_eq(cJSON_GetObjectItem(j, "repeats")->valueint, 5);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "seed")->valueint, 7);
	ck_assert(cJSON_GetObjectItem(j, "auc")->valuedouble == imp.auc);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "features")), 4);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(f, "feature")->valuestring, imp.features[0].name);
	ck_assert(cJSON_GetObjectItem(f, "mean")->valuedouble == imp.features[0].mean);
	ck_assert(cJSON_GetObjectItem(f, "std")->valuedouble == imp.features[0].std);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "losses")), 5);
	ck_assert_ptr_null(cJSON_GetObjectItem(f, "mean_abs_attribution"));
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "attribution"));
	cJSON_Delete(j);

	/* The mean |attribution|: the same two first, each feature's the
	 * mean of its explainer's over the rows sampled. */
	tp_reference ref;
	ck_assert_int_eq(tp_reference_fit(&ref, &t.enc, &t.train, &e), TP_OK);
	ck_assert_msg(tp_importance_attribute(&imp, &t.m, &ref, &t.test, 150, 16, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq((int)imp.attributed, 150);
	double signal = INFINITY, noise = 0;
	for (int k = 0; k < 4; k++) {
		const tp_importance_feature *g = &imp.features[k];
		int wanted = strcmp(g->name, "n0") == 0 || strcmp(g->name, "c0") == 0;
		ck_assert(g->attribution >= 0);
		if (wanted)
			signal = fmin(signal, g->attribution);
		else
			noise = fmax(noise, g->attribution);
	}
	ck_assert_msg(signal > noise, "mean |attribution| of n0 and c0 %g at least, of c1 and n1 %g at most", signal, noise);
	ck_assert(imp.gap.mean < 0.1 * imp.gap.mean_change);
	j = tp_importance_json(&imp);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 0);
	ck_assert(cJSON_GetObjectItem(f, "mean_abs_attribution")->valuedouble == imp.features[0].attribution);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "attribution"), "rows")->valueint, 150);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "attribution"), "steps")->valueint, 16);
	cJSON_Delete(j);
	tp_reference_free(&ref);
	tp_importance_free(&imp);
	tp_importance_free(&imp);

	/* One class only: no AUC to lose. */
	for (size_t i = 0; i < t.test.n; i++)
		t.test.label[i] = 0;
	ck_assert_int_eq(tp_importance_measure(&imp, &t.m, &t.enc, &t.test, 2, 7, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "one class") != NULL, "%s", e.msg);
	ck_assert_ptr_null(imp.features);
	ck_assert_int_eq(tp_importance_measure(&imp, &t.m, &t.enc, &t.test, 0, 7, &e), TP_EUSAGE);
	fixture_untrain(&t);
}
END_TEST

Suite *
importance_suite(void)
{
	Suite *s = suite_create("importance");
	TCase *tc = tcase_create("importance");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_signal_ranks_first);
	suite_add_tcase(s, tc);
	return s;
}
