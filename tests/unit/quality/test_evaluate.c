/*
 * test_evaluate: every measure of an evaluation against scikit-learn's, on
 * the fixed inputs of $TP_TESTDATA/evaluate/cases.json (tied scores, bin
 * edges, missing labels, one class only, no rows) that
 * tests/evaluate/reference.py wrote; the report's JSON keys; bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "quality/evaluate.h"
#include "suites.h"

/* Sums in another order than numpy's: equal to a few ulps. */
#define TOL 1e-12

typedef struct {
	cJSON *root;
	const char *name;     /* the case being checked */
} cases;

static void
load(cases *c)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[4096], *text;
	size_t len;
	tp_err e = {0};

	ck_assert_msg(dir != NULL,
	    "TP_TESTDATA is not set: run with TP_TESTDATA=tests/data");
	snprintf(path, sizeof(path), "%s/evaluate/cases.json", dir);
	ck_assert_msg(tp_read_file(path, &text, &len, &e) == TP_OK, "%s", e.msg);
	c->root = cJSON_Parse(text);
	free(text);
	ck_assert_msg(cJSON_IsArray(c->root), "%s: not a JSON array", path);
}

/* got against want, a number or null (NaN expected). */
static void
near(const cases *c, const char *what, double got, const cJSON *want,
    double tol)
{
	ck_assert_msg(want != NULL, "%s: %s: no expected value", c->name, what);
	if (cJSON_IsNull(want)) {
		ck_assert_msg(isnan(got), "%s: %s: %.17g, expected null", c->name,
		    what, got);
		return;
	}
	double w = want->valuedouble;
	ck_assert_msg(fabs(got - w) <= tol * fmax(1, fabs(w)),
	    "%s: %s: %.17g, expected %.17g", c->name, what, got, w);
}

static const cJSON *
item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Checks one case's evaluation against its expected values. */
static void
check_case(cases *c, const cJSON *k)
{
	const cJSON *ex = item(k, "expected"), *scores = item(k, "scores");
	const cJSON *labels = item(k, "labels"), *v;
	int n = cJSON_GetArraySize(scores), i = 0;
	float *p = malloc(((size_t)n + 1) * sizeof(*p));
	int8_t *y = malloc((size_t)n + 1);
	tp_evaluation ev;
	tp_err e = {0};
	char what[64];

	c->name = item(k, "name")->valuestring;
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(y);
	ck_assert_int_eq(cJSON_GetArraySize(labels), n);
	cJSON_ArrayForEach(v, scores)
		p[i++] = (float)v->valuedouble;
	i = 0;
	cJSON_ArrayForEach(v, labels)
		y[i++] = (int8_t)v->valueint;
	ck_assert_msg(tp_evaluate(&ev, p, y, (size_t)n,
	    item(k, "threshold")->valuedouble, item(k, "bins")->valueint, &e) == TP_OK,
	    "%s: %s", c->name, e.msg);

	near(c, "rows", (double)ev.rows, item(ex, "rows"), 0);
	near(c, "labelled", (double)ev.labelled, item(ex, "labelled"), 0);
	near(c, "positives", (double)ev.positives, item(ex, "positives"), 0);
	near(c, "auc", ev.auc, item(ex, "auc"), TOL);
	near(c, "gini", ev.gini, item(ex, "gini"), TOL);
	near(c, "ks", ev.ks, item(ex, "ks"), TOL);
	near(c, "pr_auc", ev.pr_auc, item(ex, "pr_auc"), TOL);
	near(c, "log_loss", ev.log_loss, item(ex, "log_loss"), TOL);
	near(c, "brier", ev.brier, item(ex, "brier"), TOL);
	near(c, "threshold", ev.threshold, item(ex, "threshold"), 0);
	near(c, "f1", ev.f1, item(ex, "f1"), TOL);
	near(c, "precision", ev.precision, item(ex, "precision"), TOL);
	near(c, "recall", ev.recall, item(ex, "recall"), TOL);
	near(c, "accuracy", ev.accuracy, item(ex, "accuracy"), TOL);
	const cJSON *cm = item(ex, "confusion");
	near(c, "tp", (double)ev.tp, item(cm, "tp"), 0);
	near(c, "fp", (double)ev.fp, item(cm, "fp"), 0);
	near(c, "tn", (double)ev.tn, item(cm, "tn"), 0);
	near(c, "fn", (double)ev.fn, item(cm, "fn"), 0);

	/* Curves: [x, y, threshold] per point, in scikit-learn's order. */
	const cJSON *roc = item(ex, "roc"), *pr = item(ex, "pr");
	ck_assert_msg((size_t)cJSON_GetArraySize(roc) == ev.nroc,
	    "%s: %zu ROC points, expected %d", c->name, ev.nroc,
	    cJSON_GetArraySize(roc));
	for (size_t j = 0; j < ev.nroc; j++) {
		const cJSON *pt = cJSON_GetArrayItem(roc, (int)j);
		snprintf(what, sizeof(what), "roc[%zu].fpr", j);
		near(c, what, ev.roc[j].fpr, cJSON_GetArrayItem(pt, 0), TOL);
		snprintf(what, sizeof(what), "roc[%zu].tpr", j);
		near(c, what, ev.roc[j].tpr, cJSON_GetArrayItem(pt, 1), TOL);
		snprintf(what, sizeof(what), "roc[%zu].threshold", j);
		near(c, what, ev.roc[j].threshold, cJSON_GetArrayItem(pt, 2), 0);
	}
	ck_assert_msg((size_t)cJSON_GetArraySize(pr) == ev.npr,
	    "%s: %zu PR points, expected %d", c->name, ev.npr,
	    cJSON_GetArraySize(pr));
	for (size_t j = 0; j < ev.npr; j++) {
		const cJSON *pt = cJSON_GetArrayItem(pr, (int)j);
		snprintf(what, sizeof(what), "pr[%zu].recall", j);
		near(c, what, ev.pr[j].recall, cJSON_GetArrayItem(pt, 0), TOL);
		snprintf(what, sizeof(what), "pr[%zu].precision", j);
		near(c, what, ev.pr[j].precision, cJSON_GetArrayItem(pt, 1), TOL);
		snprintf(what, sizeof(what), "pr[%zu].threshold", j);
		near(c, what, ev.pr[j].threshold, cJSON_GetArrayItem(pt, 2), 0);
	}

	/* Calibration: [bin, lower, upper, rows, mean_predicted,
	 * observed_rate] per bin, the edges numpy's exactly. */
	const cJSON *cal = item(ex, "calibration");
	ck_assert_int_eq(cJSON_GetArraySize(cal), ev.nbins);
	for (int b = 0; b < ev.nbins; b++) {
		const cJSON *bin = cJSON_GetArrayItem(cal, b);
		const tp_calibration_bin *got = &ev.calibration[b];
		snprintf(what, sizeof(what), "calibration[%d].lower", b);
		near(c, what, got->lower, cJSON_GetArrayItem(bin, 1), 0);
		snprintf(what, sizeof(what), "calibration[%d].upper", b);
		near(c, what, got->upper, cJSON_GetArrayItem(bin, 2), 0);
		snprintf(what, sizeof(what), "calibration[%d].rows", b);
		near(c, what, (double)got->rows, cJSON_GetArrayItem(bin, 3), 0);
		snprintf(what, sizeof(what), "calibration[%d].mean_predicted", b);
		near(c, what, got->mean_predicted, cJSON_GetArrayItem(bin, 4), TOL);
		snprintf(what, sizeof(what), "calibration[%d].observed_rate", b);
		near(c, what, got->observed_rate, cJSON_GetArrayItem(bin, 5), TOL);
	}
	tp_evaluation_free(&ev);
	free(p);
	free(y);
}

START_TEST(test_sklearn)
{
	cases c = {0};
	const cJSON *k;
	int seen = 0;

	load(&c);
	cJSON_ArrayForEach(k, c.root) {
		check_case(&c, k);
		seen++;
	}
	/* A file cut short must not pass for a good one. */
	ck_assert_int_ge(seen, 8);
	cJSON_Delete(c.root);
}
END_TEST

/* The report has the documented keys, nulls where a measure is not
 * defined, and the model's and data's identities. */
START_TEST(test_json)
{
	static const float p[] = {0.2f, 0.7f, 0.7f, 0.9f};
	static const int8_t y[] = {1, 1, 1, -1};
	static const char *const keys[] = {"rows", "labelled", "positives",
	    "auc", "gini", "ks", "pr_auc", "log_loss", "brier", "threshold",
	    "f1", "precision", "recall", "accuracy", "confusion", "calibration",
	    "roc", "pr", "model", "data_fingerprint"};
	tp_evaluation ev;
	tp_err e = {0};
	cJSON *j;
	const cJSON *o;
	size_t nkeys = 0;

	ck_assert_int_eq(tp_evaluate(&ev, p, y, 4, 0.5, 3, &e), TP_OK);
	j = tp_evaluation_json(&ev, "ab12", 0, "cd34");
	ck_assert_ptr_nonnull(j);
	cJSON_ArrayForEach(o, j)
		nkeys++;
	ck_assert_uint_eq(nkeys, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < nkeys; i++)
		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(j, keys[i]) != NULL,
		    "no key %s", keys[i]);
	ck_assert(cJSON_IsNull(item(j, "auc")));
	ck_assert(cJSON_IsNull(item(j, "ks")));
	ck_assert_double_eq(item(j, "pr_auc")->valuedouble, 1);
	ck_assert_int_eq(cJSON_GetArraySize(item(j, "roc")), 0);
	ck_assert_int_eq(cJSON_GetArraySize(item(j, "pr")), 3);
	ck_assert(cJSON_IsNull(item(cJSON_GetArrayItem(item(j, "pr"), 2), "threshold")));
	o = cJSON_GetArrayItem(item(j, "calibration"), 1);
	ck_assert_double_eq(item(o, "bin")->valuedouble, 1);
	ck_assert(cJSON_IsNull(item(o, "mean_predicted")));
	ck_assert_double_eq(item(item(j, "confusion"), "tp")->valuedouble, 2);
	o = item(j, "model");
	ck_assert_str_eq(item(o, "sha256")->valuestring, "ab12");
	ck_assert(cJSON_IsNull(item(o, "version")));
	ck_assert_double_eq(item(o, "threshold")->valuedouble, 0.5);
	ck_assert_str_eq(item(j, "data_fingerprint")->valuestring, "cd34");
	cJSON_Delete(j);
	j = tp_evaluation_json(&ev, "ab12", 3, "cd34");
	ck_assert_double_eq(item(item(j, "model"), "version")->valuedouble, 3);
	cJSON_Delete(j);
	tp_evaluation_free(&ev);
	tp_evaluation_free(&ev);
}
END_TEST

START_TEST(test_bad_input)
{
	const float p[] = {0.2f, NAN, 0.5f};
	static const int8_t y[] = {0, 1, 1};
	tp_evaluation ev;
	tp_err e = {0};

	ck_assert_int_eq(tp_evaluate(&ev, p, y, 3, 0.5, 10, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "row 2") != NULL, "%s", e.msg);
	ck_assert_ptr_null(ev.roc);
	ck_assert_int_eq(tp_evaluate(&ev, p, y, 1, 0.5, 0, &e), TP_EUSAGE);
	tp_evaluation_free(&ev);
}
END_TEST

Suite *
evaluate_suite(void)
{
	Suite *s = suite_create("evaluate");
	TCase *tc = tcase_create("evaluate");

	tcase_add_test(tc, test_sklearn);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}
