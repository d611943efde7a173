/*
 * test_evaluate: every measure of an evaluation against scikit-learn's, on
 * the fixed inputs of $TP_TESTDATA/evaluate/cases.json (tied scores, bin
 * edges, missing labels, one class only, no rows) that
 * tests/evaluate/reference.py wrote; the score histogram, the gains table
 * and the KS threshold against values worked out by hand; the report's
 * JSON keys; bad input.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/metrics.h"
#include "base/rng.h"
#include "data/partial.h"
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

/* The bins of the probabilities as floats: exact edges (0.25, 0.5, 1
 * closed), floats either side of an inexact one (0.2f is above 0.2, 0.95f
 * below 0.95), and an unlabelled row that counts nowhere. */
START_TEST(test_score_histogram)
{
	static const float p[] = {0.0f, 0.25f, 0.2f, 0.95f, 0.5f, 1.0f,
	    0.999f, 0.3f};
	static const int8_t y[] = {0, 1, 0, 1, 1, 0, 1, -1};
	static const uint64_t neg[TP_SCORE_BINS] = {[0] = 1, [4] = 1, [19] = 1};
	static const uint64_t pos[TP_SCORE_BINS] = {[5] = 1, [10] = 1,
	    [18] = 1, [19] = 1};
	tp_evaluation ev;
	tp_err e = {0};

	ck_assert_int_eq(tp_evaluate(&ev, p, y, 8, 0.5, 10, &e), TP_OK);
	for (int b = 0; b < TP_SCORE_BINS; b++) {
		ck_assert_msg(ev.histogram_negatives[b] == neg[b],
		    "bin %d: %ju negatives, expected %ju", b,
		    (uintmax_t)ev.histogram_negatives[b], (uintmax_t)neg[b]);
		ck_assert_msg(ev.histogram_positives[b] == pos[b],
		    "bin %d: %ju positives, expected %ju", b,
		    (uintmax_t)ev.histogram_positives[b], (uintmax_t)pos[b]);
	}
	ck_assert_double_eq(tp_score_edge(0), 0);
	ck_assert_double_eq(tp_score_edge(3), 0.15);
	ck_assert_double_eq(tp_score_edge(TP_SCORE_BINS), 1);
	tp_evaluation_free(&ev);
}
END_TEST

/* 23 labelled rows (and an unlabelled one above them all), given out of
 * order: numpy.array_split gives deciles 1-3 three rows and the others
 * two. Sorted, rows 5-7 tie at 0.7 and go whole to decile 2, which then
 * has 5 rows and decile 3 one; rows 11-14 tie at 0.45 and go to decile
 * 5, which leaves decile 6 empty. */
static const float gains_p[] = {
	0.05f, 0.45f, 0.7f, 0.95f, 0.1f, 0.45f, 0.5f, 0.7f, 0.15f, 0.9f,
	0.2f, 0.25f, 0.99f, 0.3f, 0.85f, 0.35f, 0.45f, 0.4f, 0.6f, 0.45f,
	0.8f, 0.55f, 0.75f, 0.7f};
/* By sorted position: 0.95 0.9 0.85 | 0.8 0.75 0.7 0.7 0.7 | 0.6 |
 * 0.55 0.5 | 0.45 x4 | - | 0.4 0.35 | 0.3 0.25 | 0.2 0.15 | 0.1 0.05. */
static const int8_t gains_y[] = {
	0, 1, 1, 1, 0, 0, 0, 1, 1, 1,
	0, 0, -1, 0, 0, 1, 1, 0, 0, 0,
	1, 1, 0, 0};

START_TEST(test_gains)
{
	static const uint64_t rows[] = {3, 5, 1, 2, 4, 0, 2, 2, 2, 2};
	static const uint64_t positives[] = {2, 3, 0, 1, 2, 0, 1, 0, 1, 0};
	static const float score_min[] = {0.85f, 0.7f, 0.6f, 0.5f, 0.45f, 0,
	    0.35f, 0.25f, 0.15f, 0.05f};
	float p[24];
	int8_t y[24];
	double crows = 0, cpos = 0;
	tp_evaluation ev;
	tp_err e = {0};

	memcpy(p, gains_p, sizeof(p));
	memcpy(y, gains_y, sizeof(y));
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(tp_evaluate(&ev, p, y, 24, 0.5, 10, &e), TP_OK);
		ck_assert_uint_eq(ev.labelled, 23);
		ck_assert_uint_eq(ev.positives, 10);
		crows = cpos = 0;
		for (int d = 0; d < TP_DECILES; d++) {
			const tp_gains_decile *g = &ev.gains[d];
			crows += (double)rows[d];
			cpos += (double)positives[d];
			ck_assert_msg(g->rows == rows[d] &&
			    g->positives == positives[d],
			    "round %d, decile %d: %ju rows, %ju positives, expected %ju, %ju",
			    round, d + 1, (uintmax_t)g->rows,
			    (uintmax_t)g->positives, (uintmax_t)rows[d],
			    (uintmax_t)positives[d]);
			if (rows[d] == 0) {
				ck_assert(isnan(g->score_min));
				ck_assert(isnan(g->lift));
			} else {
				ck_assert_double_eq(g->score_min, score_min[d]);
				ck_assert_double_eq_tol(g->lift, (double)positives[d] /
				    (double)rows[d] / (10.0 / 23), 1e-12);
			}
			ck_assert_double_eq_tol(g->cumulative_rows_share,
			    crows / 23, 1e-15);
			ck_assert_double_eq_tol(g->cumulative_positives_share,
			    cpos / 10, 1e-15);
			ck_assert_double_eq_tol(g->cumulative_lift,
			    cpos / 10 / (crows / 23), 1e-12);
		}
		/* A few by hand: 2/3 of decile 1 is positive, the overall
		 * rate is 10/23; decile 2 ends 8/23 of the rows with 5/10 of
		 * the positives. */
		ck_assert_double_eq_tol(ev.gains[0].lift, 46.0 / 30, 1e-12);
		ck_assert_double_eq_tol(ev.gains[1].cumulative_lift, 11.5 / 8, 1e-12);
		ck_assert_double_eq(ev.gains[9].cumulative_rows_share, 1);
		ck_assert_double_eq(ev.gains[9].cumulative_positives_share, 1);
		tp_evaluation_free(&ev);
		/* The tied rows' labels in another order (the 0.7s at 2, 7,
		 * 23 and the 0.45s at 1, 5, 16, 19) change nothing. */
		y[2] = 0, y[23] = 1;
		y[1] = 0, y[19] = 1;
	}
}
END_TEST

/* Too few rows for ten deciles: one row each for the first ones, the
 * others empty, their shares those of the rows above them. */
START_TEST(test_gains_few_rows)
{
	static const float p[] = {0.2f, 0.9f, 0.4f};
	static const int8_t y[] = {0, 1, 0};
	tp_evaluation ev;
	tp_err e = {0};

	ck_assert_int_eq(tp_evaluate(&ev, p, y, 3, 0.5, 10, &e), TP_OK);
	ck_assert_uint_eq(ev.gains[0].rows, 1);
	ck_assert_uint_eq(ev.gains[2].rows, 1);
	ck_assert_uint_eq(ev.gains[3].rows, 0);
	ck_assert_double_eq(ev.gains[0].score_min, 0.9f);
	ck_assert_double_eq(ev.gains[0].lift, 3);
	ck_assert_double_eq(ev.gains[1].lift, 0);
	ck_assert_double_eq(ev.gains[9].cumulative_rows_share, 1);
	ck_assert_double_eq(ev.gains[9].cumulative_lift, 1);
	ck_assert_double_eq_tol(ev.gains[1].cumulative_rows_share, 2.0 / 3, 1e-15);
	ck_assert_double_eq_tol(ev.gains[1].cumulative_lift, 1.5, 1e-15);
	tp_evaluation_free(&ev);
	/* No positive: no share of them, no lift. */
	ck_assert_int_eq(tp_evaluate(&ev, p, (const int8_t[]){0, 0, 0}, 3,
	    0.5, 10, &e), TP_OK);
	ck_assert(isnan(ev.gains[0].cumulative_positives_share));
	ck_assert(isnan(ev.gains[0].lift));
	ck_assert_double_eq(ev.gains[0].cumulative_rows_share, 1.0 / 3);
	tp_evaluation_free(&ev);
}
END_TEST

/* KS and where it is: the largest |tpr - fpr|, at the first (highest)
 * threshold that reaches it, and an inverted model's too. */
START_TEST(test_ks_threshold)
{
	static const struct {
		float p[6];
		int8_t y[6];
		size_t n;
		double ks, at;
	} want[] = {
		/* tpr - fpr: 1/3, 0, 1/3, 2/3, 1/3, 0 */
		{{0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f}, {1, 0, 1, 1, 0, 0}, 6,
		    2.0 / 3, 0.6f},
		/* 1/2, 0, 1/2, 0: the first of the two */
		{{0.6f, 0.7f, 0.8f, 0.9f}, {0, 1, 0, 1}, 4, 0.5, 0.9f},
		/* tpr 0, fpr 1: |-1| */
		{{0.9f, 0.1f}, {0, 1}, 2, 1, 0.9f},
		/* every row tied: tpr = fpr at both points, KS 0 at the
		 * first, whose threshold is above them all (p + 1) */
		{{0.5f, 0.5f}, {0, 1}, 2, 0, 1.5},
	};
	tp_evaluation ev;
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(tp_evaluate(&ev, want[i].p, want[i].y,
		    want[i].n, 0.5, 10, &e), TP_OK);
		ck_assert_msg(fabs(ev.ks - want[i].ks) < 1e-15 &&
		    ev.ks_threshold == want[i].at,
		    "case %zu: ks %.17g at %.17g, expected %.17g at %.17g", i,
		    ev.ks, ev.ks_threshold, want[i].ks, want[i].at);
		tp_evaluation_free(&ev);
	}
	/* One class: neither. */
	ck_assert_int_eq(tp_evaluate(&ev, want[0].p,
	    (const int8_t[]){1, 1, 1}, 3, 0.5, 10, &e), TP_OK);
	ck_assert(isnan(ev.ks) && isnan(ev.ks_threshold));
	tp_evaluation_free(&ev);
}
END_TEST

/* The report has the documented keys, nulls where a measure is not
 * defined, and the model's and data's identities. */
START_TEST(test_json)
{
	static const float p[] = {0.2f, 0.7f, 0.7f, 0.9f};
	static const int8_t y[] = {1, 1, 1, -1};
	static const char *const keys[] = {"rows", "labelled", "positives",
	    "auc", "auc_error_bound", "gini", "ks", "ks_threshold",
	    "ks_error_bound", "pr_auc", "pr_auc_error_bound", "log_loss",
	    "brier", "threshold", "f1", "precision", "recall", "accuracy",
	    "confusion", "calibration", "score_histogram", "gains", "sketch",
	    "roc", "pr", "model", "data_fingerprint"};
	static const char *const decile_keys[] = {"decile", "rows",
	    "positives", "score_min", "cumulative_rows_share",
	    "cumulative_positives_share", "lift", "cumulative_lift"};
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
	ck_assert(cJSON_IsNull(item(j, "ks_threshold")));
	o = item(j, "score_histogram");
	ck_assert_int_eq(cJSON_GetArraySize(item(o, "edges")), TP_SCORE_BINS + 1);
	ck_assert_double_eq(cJSON_GetArrayItem(item(o, "edges"), 3)->valuedouble, 0.15);
	ck_assert_double_eq(cJSON_GetArrayItem(item(o, "edges"), 20)->valuedouble, 1);
	ck_assert_int_eq(cJSON_GetArraySize(item(o, "negatives")), TP_SCORE_BINS);
	/* 0.7f is 0.69999998...: in [0.65, 0.7), not [0.7, 0.75). */
	ck_assert_double_eq(cJSON_GetArrayItem(item(o, "positives"), 13)->valuedouble, 2);
	ck_assert_double_eq(cJSON_GetArrayItem(item(o, "positives"), 4)->valuedouble, 1);
	ck_assert_int_eq(cJSON_GetArraySize(item(j, "gains")), TP_DECILES);
	/* Three positive rows, two of them tied: decile 1 takes both,
	 * decile 2 none, decile 3 the last. */
	o = cJSON_GetArrayItem(item(j, "gains"), 0);
	for (size_t i = 0; i < sizeof(decile_keys) / sizeof(decile_keys[0]); i++)
		ck_assert_msg(item(o, decile_keys[i]) != NULL, "no key gains[0].%s",
		    decile_keys[i]);
	ck_assert_int_eq(cJSON_GetArraySize(o), 8);
	ck_assert_double_eq(item(o, "decile")->valuedouble, 1);
	ck_assert_double_eq(item(o, "rows")->valuedouble, 2);
	ck_assert_double_eq(item(o, "lift")->valuedouble, 1);
	o = cJSON_GetArrayItem(item(j, "gains"), 1);
	ck_assert_double_eq(item(o, "decile")->valuedouble, 2);
	ck_assert(cJSON_IsNull(item(o, "score_min")));
	ck_assert(cJSON_IsNull(item(o, "lift")));
	ck_assert_double_eq_tol(item(o, "cumulative_rows_share")->valuedouble,
	    2.0 / 3, 1e-15);
	o = cJSON_GetArrayItem(item(j, "gains"), 2);
	ck_assert_double_eq(item(o, "score_min")->valuedouble, 0.2f);
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

/* n rows of probabilities with ties: a third rounded to 1/1000, the rest
 * any float; labels drawn with the probability (a model that ranks
 * well), one in twenty missing. */
static void
random_rows(float *p, int8_t *y, size_t n, int distinct, uint64_t seed)
{
	tp_rng r;

	tp_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double x = tp_rng_float(&r);
		p[i] = (float)(distinct || i % 3 ? x : round(x * 1000) / 1000);
		y[i] = tp_rng_float(&r) < 0.05 ? -1 : tp_rng_float(&r) < x;
	}
}

/* The report of a partial, finished, as text. */
static char *
report_of(tp_eval_partial *part)
{
	tp_evaluation ev;
	tp_err e = {0};
	char *text;

	ck_assert_msg(tp_eval_partial_finish(&ev, part, &e) == TP_OK, "%s", e.msg);
	cJSON *j = tp_evaluation_json(&ev, "ab12", 0, "cd34");
	ck_assert_ptr_nonnull(j);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	tp_evaluation_free(&ev);
	return text;
}

/* A partial through its JSON and back, as a file would carry it. */
static void
round_trip(tp_eval_partial *part)
{
	tp_eval_partial back;
	tp_err e = {0};
	cJSON *o = cJSON_CreateObject();
	char *text;

	ck_assert(tp_eval_partial_json(part, o));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	o = cJSON_Parse(text);
	free(text);
	ck_assert_msg(tp_eval_partial_parse(&back, o, "part", &e) == TP_OK, "%s",
	    e.msg);
	cJSON_Delete(o);
	tp_eval_partial_free(part);
	*part = back;
}

/* The rows cut into k parts at random places, each part's partial written
 * and read back, merged in order: the report of one run over all the
 * rows, byte for byte; with an exact sketch (few distinct values) and
 * with a coarse one (more than TP_EVAL_SKETCH_BINS). */
START_TEST(test_merge)
{
	enum { N = 150000 };
	float *p = malloc(N * sizeof(*p));
	int8_t *y = malloc(N);
	tp_eval_partial whole, part, merged;
	tp_err e = {0};
	tp_rng r;

	tp_rng_seed(&r, 7);
	for (int distinct = 0; distinct < 2; distinct++) {
		size_t n = distinct ? N : 20000;
		random_rows(p, y, n, distinct, 11 + (uint64_t)distinct);
		ck_assert_int_eq(tp_eval_partial_init(&whole, 0.37, 7, &e), TP_OK);
		ck_assert_int_eq(tp_eval_partial_add(&whole, p, y, n, &e), TP_OK);
		ck_assert_int_eq(whole.scores.level > 0, distinct);
		char *want = report_of(&whole);
		for (int k = 1; k <= 5; k++) {
			size_t at = 0;
			ck_assert_int_eq(tp_eval_partial_init(&merged, 0.37, 7, &e), TP_OK);
			for (int i = 0; i < k; i++) {
				size_t next = i + 1 == k ? n : at +
				    (size_t)tp_rng_below(&r, (n - at) / 2 + 1);
				ck_assert_int_eq(tp_eval_partial_init(&part, 0.37, 7, &e), TP_OK);
				ck_assert_int_eq(tp_eval_partial_add(&part, p + at,
				    y + at, next - at, &e), TP_OK);
				round_trip(&part);
				ck_assert_int_eq(tp_eval_partial_merge(&merged, &part, &e), TP_OK);
				tp_eval_partial_free(&part);
				at = next;
			}
			char *got = report_of(&merged);
			ck_assert_msg(strcmp(got, want) == 0,
			    "%d parts (distinct %d): the merged report differs", k,
			    distinct);
			free(got);
			tp_eval_partial_free(&merged);
		}
		free(want);
		tp_eval_partial_free(&whole);
	}
	free(p);
	free(y);
}
END_TEST

typedef struct {
	float p;
	int8_t y;
} row;

static int
by_p_desc(const void *a, const void *b)
{
	float x = ((const row *)a)->p, z = ((const row *)b)->p;

	return (x < z) - (x > z);
}

/* KS and average precision worked out from every row, sorted. */
static void
exact_ks_ap(const float *p, const int8_t *y, size_t n, double *ks,
    double *ap)
{
	row *s = malloc(n * sizeof(*s));
	double npos = 0, nneg = 0, tp = 0, fp = 0, last = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (y[i] >= 0) {
			s[m++] = (row){p[i], y[i]};
			npos += y[i];
			nneg += !y[i];
		}
	qsort(s, m, sizeof(*s), by_p_desc);
	*ks = *ap = 0;
	for (size_t i = 0, j; i < m; i = j) {
		for (j = i; j < m && s[j].p == s[i].p; j++) {
			tp += s[j].y;
			fp += !s[j].y;
		}
		*ks = fmax(*ks, fabs(tp / npos - fp / nneg));
		*ap += (tp / npos - last) * tp / (tp + fp);
		last = tp / npos;
	}
	free(s);
}

/* More distinct probabilities than the sketch holds: AUC, KS and average
 * precision within their stated bounds of the exact values (which the
 * bounds are not far above), the curves thinned to TP_CURVE_POINTS with
 * the KS point kept, the counts still exact. Rows all distinct, and with
 * ties (a third of them on 1/1000's). */
START_TEST(test_bounds)
{
	enum { N = 300000 };
	float *p = malloc(N * sizeof(*p));
	int8_t *y = malloc(N);
	tp_evaluation ev;
	tp_err e = {0};
	double ks, ap;

	for (int distinct = 0; distinct < 2; distinct++) {
		random_rows(p, y, N, distinct, 5 + (uint64_t)distinct);
		double auc = tp_roc_auc(p, 1, y, N, &e);
		exact_ks_ap(p, y, N, &ks, &ap);
		ck_assert_int_eq(tp_evaluate(&ev, p, y, N, 0.5, 10, &e), TP_OK);
		ck_assert_int_gt(ev.sketch_level, 0);
		ck_assert_uint_le(ev.sketch_bins, TP_EVAL_SKETCH_BINS);
		ck_assert_msg(fabs(ev.auc - auc) <= ev.auc_bound &&
		    ev.auc_bound > 0 && ev.auc_bound < 1e-3,
		    "AUC %.17g, exact %.17g, bound %.3g", ev.auc, auc, ev.auc_bound);
		ck_assert_msg(ev.ks <= ks && ks <= ev.ks + ev.ks_bound &&
		    ev.ks_bound < 1e-2,
		    "KS %.17g, exact %.17g, bound %.3g", ev.ks, ks, ev.ks_bound);
		ck_assert_msg(fabs(ev.pr_auc - ap) <= ev.pr_auc_bound &&
		    ev.pr_auc_bound < 1e-2,
		    "AP %.17g, exact %.17g, bound %.3g", ev.pr_auc, ap,
		    ev.pr_auc_bound);
		ck_assert_uint_le(ev.nroc, TP_CURVE_POINTS);
		ck_assert_uint_eq(ev.nroc, ev.npr);
		ck_assert_uint_gt(ev.nroc, TP_CURVE_POINTS / 2);
		int found = 0;
		for (size_t i = 0; i < ev.nroc; i++)
			found |= ev.roc[i].threshold == ev.ks_threshold &&
			    fabs(ev.roc[i].tpr - ev.roc[i].fpr) == ev.ks;
		ck_assert_msg(found, "no ROC point at the KS threshold");
		ck_assert(ev.roc[ev.nroc - 1].fpr == 1 && ev.roc[ev.nroc - 1].tpr == 1);
		ck_assert_uint_eq(ev.tp + ev.fp + ev.tn + ev.fn, ev.labelled);
		tp_evaluation_free(&ev);
	}
	/* Exact below the sketch's size: no bound. */
	ck_assert_int_eq(tp_evaluate(&ev, p, y, 1000, 0.5, 10, &e), TP_OK);
	ck_assert(ev.sketch_level == 0 && ev.auc_bound == 0 && ev.ks_bound == 0 &&
	    ev.pr_auc_bound == 0);
	ck_assert_double_eq(ev.auc, tp_roc_auc(p, 1, y, 1000, &e));
	tp_evaluation_free(&ev);
	free(p);
	free(y);
}
END_TEST

/* The AUC bound is tight, not only safe: rows where, in every bin of the
 * sketch, the positives score just above the negatives (one float32 step)
 * make the exact AUC higher than the sketch's by nearly its bound; a
 * bound of half its size would not hold. */
START_TEST(test_bound_tight)
{
	enum { M = 60000 };
	float *p = malloc(4 * M * sizeof(*p));
	int8_t *y = malloc(4 * M);
	tp_evaluation ev;
	tp_err e = {0};

	for (int j = 0; j < M; j++) {
		float c = 0.05f + 0.9f * (float)j / M;
		p[4 * j] = p[4 * j + 1] = c;
		p[4 * j + 2] = p[4 * j + 3] = nextafterf(c, 1);
		y[4 * j] = y[4 * j + 1] = 0;
		y[4 * j + 2] = y[4 * j + 3] = 1;
	}
	double auc = tp_roc_auc(p, 1, y, 4 * M, &e);
	ck_assert_int_eq(tp_evaluate(&ev, p, y, 4 * M, 0.5, 10, &e), TP_OK);
	ck_assert_int_gt(ev.sketch_level, 0);
	/* Attained to the last bits: both AUCs are rounded once. */
	ck_assert_msg(fabs(ev.auc - auc) <= ev.auc_bound + 1e-15 &&
	    fabs(ev.auc - auc) > ev.auc_bound / 2,
	    "AUC %.17g, exact %.17g, bound %.3g", ev.auc, auc, ev.auc_bound);
	tp_evaluation_free(&ev);
	free(p);
	free(y);
}
END_TEST

/* Partials of other settings do not merge, and a damaged one is not
 * read. */
START_TEST(test_refused)
{
	static const float p[] = {0.2f, 0.7f, 0.4f};
	static const int8_t y[] = {0, 1, 1};
	tp_eval_partial a, b;
	tp_err e = {0};

	ck_assert_int_eq(tp_eval_partial_init(&a, 0.5, 10, &e), TP_OK);
	ck_assert_int_eq(tp_eval_partial_init(&b, 0.5, 4, &e), TP_OK);
	ck_assert_int_eq(tp_eval_partial_merge(&a, &b, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "4 calibration bins, not 10") != NULL, "%s", e.msg);
	tp_eval_partial_free(&b);
	ck_assert_int_eq(tp_eval_partial_init(&b, 0.6, 10, &e), TP_OK);
	ck_assert_int_eq(tp_eval_partial_merge(&a, &b, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "threshold") != NULL, "%s", e.msg);
	tp_eval_partial_free(&b);
	ck_assert_int_eq(tp_eval_partial_add(&a, p, y, 3, &e), TP_OK);
	cJSON *o = cJSON_CreateObject();
	ck_assert(tp_eval_partial_json(&a, o));
	/* As a file holds it, its numbers numbers. */
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	o = cJSON_Parse(text);
	free(text);
	ck_assert_int_eq(tp_eval_partial_parse(&b, o, "part", &e), TP_OK);
	tp_eval_partial_free(&b);
	/* A positive more in the confusion matrix than in the scores. */
	cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o,
	    "confusion"), "tp"), 3);
	ck_assert_int_eq(tp_eval_partial_parse(&b, o, "part", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "part: its counts do not agree") != NULL, "%s", e.msg);
	cJSON_DeleteItemFromObject(o, "scores");
	ck_assert_int_eq(tp_eval_partial_parse(&b, o, "part", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "no member \"scores\"") != NULL, "%s", e.msg);
	cJSON_Delete(o);
	tp_eval_partial_free(&a);
}
END_TEST

Suite *
evaluate_suite(void)
{
	Suite *s = suite_create("evaluate");
	TCase *tc = tcase_create("evaluate");

	tcase_add_test(tc, test_sklearn);
	tcase_add_test(tc, test_score_histogram);
	tcase_add_test(tc, test_gains);
	tcase_add_test(tc, test_gains_few_rows);
	tcase_add_test(tc, test_ks_threshold);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_bound_tight);
	tcase_add_test(tc, test_refused);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
