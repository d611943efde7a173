/*
 * test_fairness: the measures by group on the small case of
 * $TP_TESTDATA/fairness/case.csv (group, probability, label; threshold
 * 0.5), against values worked out by hand below; a group named but
 * without rows, a row of no group, the report's JSON, bad input; the
 * groups of a stream's categorical column and of a CSV matched by id.
 *
 * By hand, approved meaning p < 0.5:
 *   A  6 rows, 3 positive. Approved 0.4, 0.3, 0.1: 3/6 = 0.5. Declined
 *      positives 0.9, 0.7: tpr 2/3; declined negatives 0.6: fpr 1/3.
 *      AUC: of the 9 (positive, negative) pairs, 0.9 and 0.7 beat all
 *      three negatives, 0.4 beats 0.3 and 0.1: 8/9. Mean p 3.0/6 = 0.5,
 *      observed 3/6 = 0.5.
 *   B  5 rows, 4 labelled (0.3 is not), 2 positive. Approved 0.2, 0.2,
 *      0.3: 3/5 = 0.6. Declined positives 0.8: tpr 1/2; declined
 *      negatives 0.5 (p >= threshold is declined): fpr 1/2. AUC: 0.8
 *      beats both negatives, 0.2 ties 0.2 (a half) and loses to 0.5:
 *      2.5/4 = 0.625. Mean p of the labelled (0.8 + 0.5 + 0.2 + 0.2) / 4
 *      = 0.425, observed 2/4 = 0.5.
 *   C  3 rows, no positive, none approved: rate 0; tpr and AUC null, fpr
 *      3/3 = 1; mean p (0.9 + 0.6 + 0.55) / 3 = 0.683333..., observed 0.
 *   D  no row: left out. "none": not a group name, 1 row ungrouped.
 *   With no minimum of rows, B is the most approved (0.6) and the
 *   reference: impact ratios A 0.5/0.6 = 0.8333 (not under 0.8), B 1, C 0
 *   (adverse): 1 adverse group. The tpr gap is A's 2/3 - B's 1/2 = 1/6; C
 *   has no tpr.
 *
 * Small groups, on rows of their own (test_small_reference): a group of
 * one approved row, the most approved, is not the reference; with no
 * group of the minimum there is none (test_none_large).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "quality/fairness.h"
#include "suites.h"

/* The probabilities are float32: their sums and means to float's. */
#define TOL 1e-6

static const char *const names[] = {"A", "B", "C", "D"};

typedef struct {
	float p[64];
	int8_t y[64];
	int g[64];
	size_t n;
} rows;

static void
load(rows *r)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[4096], name[16];
	float p;
	int y;
	FILE *f;

	ck_assert_msg(dir != NULL,
	    "TP_TESTDATA is not set: run with TP_TESTDATA=tests/data");
	snprintf(path, sizeof(path), "%s/fairness/case.csv", dir);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s: cannot open", path);
	ck_assert_int_eq(fscanf(f, "%*[^\n]\n"), 0);
	r->n = 0;
	while (fscanf(f, "%15[^,],%f,%d\n", name, &p, &y) == 3) {
		ck_assert_uint_lt(r->n, 64);
		r->p[r->n] = p;
		r->y[r->n] = (int8_t)y;
		r->g[r->n] = -1;
		for (int k = 0; k < 4; k++)
			if (strcmp(name, names[k]) == 0)
				r->g[r->n] = k;
		r->n++;
	}
	fclose(f);
	ck_assert_uint_eq(r->n, 15);
}

static void
near(const char *what, double got, double want)
{
	if (isnan(want))
		ck_assert_msg(isnan(got), "%s: %.17g, expected NaN", what, got);
	else
		ck_assert_msg(fabs(got - want) <= TOL, "%s: %.17g, expected %.17g",
		    what, got, want);
}

START_TEST(test_by_hand)
{
	static const struct {
		const char *name;
		uint64_t rows, labelled, positives;
		double auc, approval, tpr, fpr, mean, observed, impact;
		int adverse;
	} want[] = {
		{"A", 6, 6, 3, 8.0 / 9, 0.5, 2.0 / 3, 1.0 / 3, 0.5, 0.5, 0.5 / 0.6, 0},
		{"B", 5, 4, 2, 0.625, 0.6, 0.5, 0.5, 0.425, 0.5, 1, 0},
		{"C", 3, 3, 0, NAN, 0, NAN, 1, 2.05 / 3, 0, 0, 1},
	};
	rows r;
	tp_fairness f;
	tp_err e = {0};

	load(&r);
	ck_assert_msg(tp_fairness_measure(&f, r.p, r.y, r.g, r.n, names, 4, 0.5,
	    1, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.ngroups, 3);
	for (int k = 0; k < 3; k++) {
		const tp_fairness_group *g = &f.groups[k];
		ck_assert_str_eq(g->name, want[k].name);
		ck_assert_uint_eq(g->rows, want[k].rows);
		ck_assert_uint_eq(g->labelled, want[k].labelled);
		ck_assert_uint_eq(g->positives, want[k].positives);
		near("auc", g->auc, want[k].auc);
		near("approval_rate", g->approval_rate, want[k].approval);
		near("tpr", g->tpr, want[k].tpr);
		near("fpr", g->fpr, want[k].fpr);
		near("mean_predicted", g->mean_predicted, want[k].mean);
		near("observed_rate", g->observed_rate, want[k].observed);
		near("impact_ratio", g->impact_ratio, want[k].impact);
		ck_assert_int_eq(g->adverse, want[k].adverse);
		ck_assert_int_eq(g->small, 0);
	}
	ck_assert_int_eq(f.reference, 1);
	ck_assert_int_eq(f.adverse, 1);
	near("tpr_gap", f.tpr_gap, 1.0 / 6);
	ck_assert_int_eq(f.tpr_highest, 0);
	ck_assert_int_eq(f.tpr_lowest, 1);
	ck_assert_uint_eq(f.ungrouped, 1);
	tp_fairness_free(&f);
	tp_fairness_free(&f);
}
END_TEST

/* One group with a tpr: no gap; the four-fifths line itself is not
 * adverse; groups of exactly the minimum of rows (5) are compared. */
START_TEST(test_edges)
{
	/* X: 5 rows, 4 approved (0.8); Y: 5 rows, 5 approved (1): X's ratio
	 * 0.8 exactly, which is not under 0.8. Only X has a positive. */
	const float p[] = {0.1f, 0.1f, 0.1f, 0.1f, 0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
	static const int8_t y[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const int g[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
	static const char *const xy[] = {"X", "Y"};
	tp_fairness f;
	tp_err e = {0};

	ck_assert_int_eq(tp_fairness_measure(&f, p, y, g, 10, xy, 2, 0.5, 5, &e), TP_OK);
	ck_assert_int_eq(f.reference, 1);
	near("X's impact_ratio", f.groups[0].impact_ratio, 0.8);
	ck_assert_int_eq(f.groups[0].adverse, 0);
	ck_assert_int_eq(f.adverse, 0);
	ck_assert_msg(isnan(f.tpr_gap), "tpr_gap %g with one tpr", f.tpr_gap);
	ck_assert_int_eq(f.tpr_highest, -1);
	tp_fairness_free(&f);
}
END_TEST

static const cJSON *
item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

START_TEST(test_json)
{
	rows r;
	tp_fairness f;
	tp_err e = {0};
	cJSON *j;
	const cJSON *c;

	load(&r);
	ck_assert_int_eq(tp_fairness_measure(&f, r.p, r.y, r.g, r.n, names, 4,
	    0.5, 1, &e), TP_OK);
	ck_assert_ptr_nonnull(j = tp_fairness_json(&f, "Sex"));
	ck_assert_str_eq(item(j, "column")->valuestring, "Sex");
	ck_assert_str_eq(item(j, "approval")->valuestring, "p < threshold");
	ck_assert_str_eq(item(j, "reference")->valuestring, "B");
	ck_assert_str_eq(item(j, "most_approved")->valuestring, "B");
	ck_assert_int_eq(item(j, "min_group_rows")->valueint, 1);
	ck_assert_str_eq(item(j, "tpr_highest")->valuestring, "A");
	ck_assert_str_eq(item(j, "tpr_lowest")->valuestring, "B");
	ck_assert_int_eq(item(j, "adverse")->valueint, 1);
	ck_assert_int_eq(item(j, "ungrouped")->valueint, 1);
	near("four_fifths", item(j, "four_fifths")->valuedouble, 0.8);
	ck_assert_int_eq(cJSON_GetArraySize(item(j, "groups")), 3);
	c = cJSON_GetArrayItem(item(j, "groups"), 2);
	ck_assert_str_eq(item(c, "group")->valuestring, "C");
	ck_assert(cJSON_IsNull(item(c, "auc")));
	ck_assert(cJSON_IsNull(item(c, "tpr")));
	ck_assert(cJSON_IsTrue(item(c, "adverse")));
	ck_assert(cJSON_IsFalse(item(c, "small")));
	const char *keys[] = {"group", "rows", "small", "labelled", "positives",
	    "auc", "approval_rate", "tpr", "fpr", "mean_predicted",
	    "observed_rate", "impact_ratio", "adverse"};
	int k = 0;
	cJSON_ArrayForEach(c, c) {
		ck_assert_int_lt(k, 13);
		ck_assert_str_eq(c->string, keys[k++]);
	}
	ck_assert_int_eq(k, 13);
	cJSON_Delete(j);
	tp_fairness_free(&f);
}
END_TEST

/* Three groups at threshold 0.5, approved meaning p < 0.5:
 *   T  1 row, positive, approved: rate 1, tpr 0/1 = 0.
 *   X  5 rows, 3 approved (0.1, 0.2, 0.3): rate 0.6; positives 0.3 and
 *      0.7, one declined: tpr 1/2.
 *   Y  5 rows, 2 approved (0.2, 0.4): rate 0.4; positives 0.6, 0.9, 0.7,
 *      all declined: tpr 1.
 * Taken as they are, T, the most approved, would be the reference and
 * flag X (0.6) and Y (0.4), and its one positive would make the tpr gap
 * 1 - 0. */
static const float small_p[] = {0.1f, 0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.2f,
    0.4f, 0.6f, 0.9f, 0.7f};
static const int8_t small_y[] = {1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1};
static const int small_g[] = {0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2};
static const char *const txy[] = {"T", "X", "Y"};

/* With 5 rows the least: T is small, listed with its figures, but X is
 * the reference: Y's ratio 0.4/0.6 flags it, T's 1/0.6 does not count,
 * and the tpr gap is Y's 1 - X's 1/2. */
START_TEST(test_small_reference)
{
	tp_fairness f;
	tp_err e = {0};
	cJSON *j;

	ck_assert_msg(tp_fairness_measure(&f, small_p, small_y, small_g, 11, txy,
	    3, 0.5, 5, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.ngroups, 3);
	ck_assert_int_eq(f.groups[0].small, 1);
	ck_assert_int_eq(f.groups[1].small, 0);
	ck_assert_int_eq(f.groups[2].small, 0);
	near("T's approval_rate", f.groups[0].approval_rate, 1);
	near("T's tpr", f.groups[0].tpr, 0);
	ck_assert_int_eq(f.reference, 1);
	near("T's impact_ratio", f.groups[0].impact_ratio, 1 / 0.6);
	near("X's impact_ratio", f.groups[1].impact_ratio, 1);
	near("Y's impact_ratio", f.groups[2].impact_ratio, 0.4 / 0.6);
	ck_assert_int_eq(f.groups[0].adverse, 0);
	ck_assert_int_eq(f.groups[1].adverse, 0);
	ck_assert_int_eq(f.groups[2].adverse, 1);
	ck_assert_int_eq(f.adverse, 1);
	near("tpr_gap", f.tpr_gap, 0.5);
	ck_assert_int_eq(f.tpr_highest, 2);
	ck_assert_int_eq(f.tpr_lowest, 1);
	ck_assert_ptr_nonnull(j = tp_fairness_json(&f, "Region"));
	ck_assert_int_eq(item(j, "min_group_rows")->valueint, 5);
	ck_assert_str_eq(item(j, "reference")->valuestring, "X");
	ck_assert_str_eq(item(j, "most_approved")->valuestring, "X");
	ck_assert(cJSON_IsTrue(item(cJSON_GetArrayItem(item(j, "groups"), 0), "small")));
	ck_assert(cJSON_IsFalse(item(cJSON_GetArrayItem(item(j, "groups"), 1), "small")));
	cJSON_Delete(j);
	tp_fairness_free(&f);

	/* A minimum of 1 takes every group: T is the reference, and flags
	 * both others; its tpr of one positive makes the gap 1. */
	ck_assert_int_eq(tp_fairness_measure(&f, small_p, small_y, small_g, 11,
	    txy, 3, 0.5, 1, &e), TP_OK);
	ck_assert_int_eq(f.reference, 0);
	ck_assert_int_eq(f.adverse, 2);
	near("tpr_gap", f.tpr_gap, 1);
	ck_assert_int_eq(f.tpr_lowest, 0);
	tp_fairness_free(&f);
}
END_TEST

/* No group of 6 rows: every group listed and small, no reference, no
 * ratio, nothing flagged, no tpr gap; not an error. */
START_TEST(test_none_large)
{
	tp_fairness f;
	tp_err e = {0};
	cJSON *j;
	const cJSON *c;

	ck_assert_msg(tp_fairness_measure(&f, small_p, small_y, small_g, 11, txy,
	    3, 0.5, 6, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.ngroups, 3);
	ck_assert_int_eq(f.reference, -1);
	ck_assert_int_eq(f.adverse, 0);
	ck_assert_msg(isnan(f.tpr_gap), "tpr_gap %g without a group compared", f.tpr_gap);
	ck_assert_int_eq(f.tpr_highest, -1);
	ck_assert_int_eq(f.tpr_lowest, -1);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(f.groups[k].small, 1);
		ck_assert_int_eq(f.groups[k].adverse, 0);
		near("impact_ratio", f.groups[k].impact_ratio, NAN);
	}
	near("X's approval_rate", f.groups[1].approval_rate, 0.6);
	near("Y's tpr", f.groups[2].tpr, 1);
	ck_assert_ptr_nonnull(j = tp_fairness_json(&f, "Region"));
	ck_assert_int_eq(item(j, "min_group_rows")->valueint, 6);
	ck_assert(cJSON_IsNull(item(j, "reference")));
	ck_assert(cJSON_IsNull(item(j, "most_approved")));
	ck_assert(cJSON_IsNull(item(j, "tpr_gap")));
	ck_assert_int_eq(item(j, "adverse")->valueint, 0);
	cJSON_ArrayForEach(c, item(j, "groups")) {
		ck_assert(cJSON_IsTrue(item(c, "small")));
		ck_assert(cJSON_IsFalse(item(c, "adverse")));
		ck_assert(cJSON_IsNull(item(c, "impact_ratio")));
	}
	cJSON_Delete(j);
	tp_fairness_free(&f);
}
END_TEST

START_TEST(test_bad_input)
{
	const float p[] = {0.2f, NAN};
	static const int8_t y[] = {0, 1};
	static const int g[] = {0, 0};
	static const char *const one[] = {"X"};
	tp_fairness f;
	tp_err e = {0};

	ck_assert_int_eq(tp_fairness_measure(&f, p, y, g, 2, one, 1, 0.5, 1, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "row 2") != NULL, "%s", e.msg);
	ck_assert_ptr_null(f.groups);
	/* No row at all: no group, no reference. */
	ck_assert_int_eq(tp_fairness_measure(&f, p, y, g, 0, one, 1, 0.5, 1, &e), TP_OK);
	ck_assert_int_eq(f.ngroups, 0);
	ck_assert_int_eq(f.reference, -1);
	tp_fairness_free(&f);
}
END_TEST

/* Writes text to a scratch file; its path in path. */
static void
scratch(char *path, size_t len, const char *text)
{
	FILE *f;

	snprintf(path, len, "%s/tp-fairness-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Groups from a CSV: by record number without an id column, by id with
 * one; a missing value, an id without a record, an id twice. */
START_TEST(test_grouping_csv)
{
	tp_column cols[] = {{.name = "id", .kind = TP_KIND_ID, .slot = -1}};
	tp_encoding noid = {.ncols = 0, .id_col = -1};
	tp_encoding byid = {.cols = cols, .ncols = 1, .id_col = 0};
	int64_t ids[] = {3, 1};
	tp_batch b = {.id = ids, .n = 2};
	tp_grouping g;
	tp_err e = {0};
	char path[4096];

	scratch(path, sizeof(path), "x,sex\n7,f\n8,NA\n9,f\n");
	ck_assert_msg(tp_grouping_from_csv(&g, &noid, &b, "sex", path, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(g.ngroups, 2);
	ck_assert_str_eq(g.names[0], "f");
	ck_assert_str_eq(g.names[1], "(missing)");
	ck_assert_int_eq(g.group[0], 0); /* record 3 */
	ck_assert_int_eq(g.group[1], 0); /* record 1 */
	tp_grouping_free(&g);
	ck_assert_int_eq(tp_grouping_from_csv(&g, &byid, &b, "sex", path, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "no column id") != NULL, "%s", e.msg);
	unlink(path);

	scratch(path, sizeof(path), "sex,id\nm,1\nf,2\n,3\n");
	ck_assert_msg(tp_grouping_from_csv(&g, &byid, &b, "sex", path, &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(g.names[g.group[0]], "(missing)"); /* id 3 */
	ck_assert_str_eq(g.names[g.group[1]], "m");         /* id 1 */
	tp_grouping_free(&g);
	unlink(path);

	scratch(path, sizeof(path), "sex,id\nm,1\nf,1\nf,3\n");
	ck_assert_int_eq(tp_grouping_from_csv(&g, &byid, &b, "sex", path, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "two records have id 1") != NULL, "%s", e.msg);
	unlink(path);

	scratch(path, sizeof(path), "sex,id\nm,1\n");
	ck_assert_int_eq(tp_grouping_from_csv(&g, &byid, &b, "sex", path, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "no record has id 3") != NULL, "%s", e.msg);
	ck_assert_ptr_null(g.group);
	unlink(path);
}
END_TEST

/* Groups from a stream's categorical column; other kinds refused. */
START_TEST(test_grouping_stream)
{
	tp_column cols[] = {
		{.name = "age", .kind = TP_KIND_NUMERIC, .slot = 0},
		{.name = "home", .kind = TP_KIND_CATEGORICAL, .slot = 0},
	};
	tp_encoding enc = {.cols = cols, .ncols = 2, .ncat = 1, .nnum = 1,
	    .id_col = -1, .target_col = -1};
	int32_t cat[] = {2, 0, 1};
	tp_batch b = {.cat = cat, .n = 3, .ncat = 1, .nnum = 1};
	tp_grouping g;
	tp_err e = {0};

	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "own", 3, &e), 0);
	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "rent", 4, &e), 0);
	ck_assert_msg(tp_grouping_from_stream(&g, &enc, &b, "home", &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(g.ngroups, 3);
	ck_assert_str_eq(g.names[0], "(missing or unseen)");
	ck_assert_str_eq(g.names[g.group[0]], "rent");
	ck_assert_str_eq(g.names[g.group[1]], "(missing or unseen)");
	ck_assert_str_eq(g.names[g.group[2]], "own");
	tp_grouping_free(&g);
	ck_assert_int_eq(tp_grouping_from_stream(&g, &enc, &b, "age", &e), TP_EUSAGE);
	ck_assert_msg(strstr(e.msg, "--group-file") != NULL, "%s", e.msg);
	ck_assert_int_eq(tp_grouping_from_stream(&g, &enc, &b, "nope", &e), TP_EUSAGE);
	tp_strmap_free(&cols[1].vocab);
}
END_TEST

Suite *
fairness_suite(void)
{
	Suite *s = suite_create("fairness");
	TCase *tc = tcase_create("fairness");

	tcase_add_test(tc, test_by_hand);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_small_reference);
	tcase_add_test(tc, test_none_large);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_grouping_csv);
	tcase_add_test(tc, test_grouping_stream);
	suite_add_tcase(s, tc);
	return s;
}
