/*
 * test_drift: the comparisons of drift.c against values SciPy computed on
 * the same inputs (tests/drift/reference.py wrote $TP_TESTDATA/drift/), and
 * the verdict and report on cases worked out by hand. The distributions
 * and tests of base/stats.h are in base/test_stats.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quality/drift.h"
#include "suites.h"

/* Relative agreement, with an absolute floor for values near 0. */
static int
close_to(double got, double want, double rtol)
{
	if (isnan(want))
		return isnan(got);
	return fabs(got - want) <= rtol * fabs(want) + 1e-300;
}

#define ck_assert_close(got, want, rtol, what) \
	ck_assert_msg(close_to((got), (want), (rtol)), \
	    "%s: got %.17g, expected %.17g", (what), (got), (want))

static FILE *
open_data(const char *name)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/drift/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

/* Reads "N v1 v2 ..." or "gen N A B M S" after a tag into a new array. */
static float *
read_sample(FILE *f, const char *tag, size_t *n)
{
	char word[16];
	float *x;

	ck_assert_int_eq(fscanf(f, "%15s", word), 1);
	ck_assert_str_eq(word, tag);
	if (fscanf(f, " gen %zu", n) == 1) {
		long long a, b, m;
		double s;
		ck_assert_int_eq(fscanf(f, "%lld %lld %lld %lf", &a, &b, &m, &s), 4);
		x = malloc(*n * sizeof(float));
		for (size_t i = 0; i < *n; i++)
			x[i] = (float)((double)(((long long)i * a + b) % m) * s);
		return x;
	}
	ck_assert_int_eq(fscanf(f, "%zu", n), 1);
	x = malloc((*n ? *n : 1) * sizeof(float));
	for (size_t i = 0; i < *n; i++) {
		char v[64];
		ck_assert_int_eq(fscanf(f, "%63s", v), 1);
		x[i] = strtof(v, NULL);
	}
	return x;
}

START_TEST(test_cases)
{
	FILE *f = open_data("cases.txt");
	char line[256], name[64], kind[16];
	int k, ncases = 0, exact = 0, asymp = 0;
	tp_drift_opts o = tp_drift_defaults;

	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(line, "case %63s %15s %d", name, kind, &k), 3);
		size_t nr, nc;
		float *ref = read_sample(f, "ref", &nr);
		float *cur = read_sample(f, "cur", &nc);
		tp_drift_stat s = {0};
		tp_err e = {0};
		double a, b, psi, js;
		int dof, bins;
		char method[16];
		if (strcmp(kind, "numeric") == 0) {
			o.bins = k;
			ck_assert_int_eq(tp_drift_numeric(&s, ref, nr, 1, cur, nc, 1, &o, &e), TP_OK);
			ck_assert_int_eq(fscanf(f, " ks %lf %lf %15s", &a, &b, method), 3);
			ck_assert_msg(close_to(s.ks, a, 1e-9), "%s: KS %.17g, expected %.17g", name, s.ks, a);
			ck_assert_msg(close_to(s.ks_p, b, 1e-6), "%s: KS p %.17g, expected %.17g", name, s.ks_p, b);
			ck_assert_msg(s.ks_exact == (strcmp(method, "exact") == 0),
			    "%s: KS method, expected %s", name, method);
			exact += s.ks_exact;
			asymp += !s.ks_exact;
			ck_assert(isnan(s.chi2) && isnan(s.chi2_p));
		} else {
			int32_t *rc = malloc(nr * sizeof(int32_t)), *cc = malloc(nc * sizeof(int32_t));
			for (size_t i = 0; i < nr; i++)
				rc[i] = (int32_t)ref[i];
			for (size_t i = 0; i < nc; i++)
				cc[i] = (int32_t)cur[i];
			ck_assert_int_eq(tp_drift_categorical(&s, rc, nr, 1, cc, nc, 1, k, &o, &e), TP_OK);
			ck_assert_int_eq(fscanf(f, " chi2 %lf %lf %d", &a, &b, &dof), 3);
			ck_assert_msg(close_to(s.chi2, a, 1e-9), "%s: chi2 %.17g, expected %.17g", name, s.chi2, a);
			ck_assert_msg(close_to(s.chi2_p, b, 1e-6), "%s: chi2 p %.17g, expected %.17g", name, s.chi2_p, b);
			ck_assert_int_eq(s.chi2_dof, dof);
			ck_assert(isnan(s.ks) && isnan(s.ks_p));
			free(rc);
			free(cc);
		}
		ck_assert_int_eq(fscanf(f, " psi %lf js %lf bins %d end ", &psi, &js, &bins), 3);
		ck_assert_msg(close_to(s.psi, psi, 1e-9) || fabs(s.psi - psi) < 1e-15,
		    "%s: PSI %.17g, expected %.17g", name, s.psi, psi);
		ck_assert_msg(close_to(s.js, js, 1e-9) || fabs(s.js - js) < 1e-12,
		    "%s: JS %.17g, expected %.17g", name, s.js, js);
		ck_assert_msg(s.nbins == bins, "%s: %d bins, expected %d", name, s.nbins, bins);
		ck_assert_uint_eq(s.rows[0], nr);
		ck_assert_uint_eq(s.rows[1], nc);
		free(ref);
		free(cur);
		ncases++;
	}
	fclose(f);
	ck_assert_int_ge(ncases, 19);
	ck_assert_int_ge(exact, 8);
	ck_assert_int_ge(asymp, 4);
}
END_TEST

START_TEST(test_verdict)
{
	/* 100 values in 0..99 against the same moved by 5: PSI small. */
	float ref[100], cur[100], far[100];
	tp_drift_opts o = tp_drift_defaults;
	tp_drift_stat s;
	tp_err e = {0};

	for (int i = 0; i < 100; i++) {
		ref[i] = (float)i;
		cur[i] = (float)(i + 5);
		far[i] = (float)(i + 60);
	}
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, cur, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_NONE);
	ck_assert_int_eq(s.drift, 0);
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, far, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_SIGNIFICANT);
	ck_assert_int_eq(s.drift, 1);
	/* Moderate PSI drifts only with p < alpha. */
	o.psi_moderate = 0;
	o.psi_significant = 100;
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, cur, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_MODERATE);
	ck_assert(s.ks_p > 0.05);
	ck_assert_int_eq(s.drift, 0);
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, far, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_MODERATE);
	ck_assert_int_eq(s.drift, 1);
	ck_assert_str_eq(tp_drift_level_name(TP_DRIFT_MODERATE), "moderate");
}
END_TEST

START_TEST(test_missing_only)
{
	float ref[3] = {NAN, NAN, NAN}, cur[2] = {1, NAN};
	tp_drift_stat s;
	tp_err e = {0};

	/* No present reference value: one value bin and the missing bin;
	 * no KS. */
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 3, 1, cur, 2, 1,
	    &tp_drift_defaults, &e), TP_OK);
	ck_assert_int_eq(s.nbins, 2);
	ck_assert(isnan(s.ks) && isnan(s.ks_p));
	ck_assert_uint_eq(s.missing[0], 3);
	ck_assert_uint_eq(s.missing[1], 1);
	/* Shares (0, 1) against (1/2, 1/2); the empty one counts as 1e-4. */
	ck_assert_double_eq_tol(s.psi, (0.5 - 1e-4) * log(0.5 / 1e-4) +
	    (0.5 - 1) * log(0.5), 1e-12);
}
END_TEST

START_TEST(test_bad_index)
{
	int32_t ref[] = {0, 1, 2}, cur[] = {1, 3};
	tp_drift_stat s;
	tp_err e = {0};

	ck_assert_int_eq(tp_drift_categorical(&s, ref, 3, 1, cur, 2, 1, 3,
	    &tp_drift_defaults, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "current row 2"));
}
END_TEST

/* A two-feature encoding and batches, through the report. */
START_TEST(test_report)
{
	tp_encoding enc = {0};
	tp_column cols[3] = {
		{.name = "x", .kind = TP_KIND_NUMERIC, .slot = 0, .mean = 0, .std = 1},
		{.name = "c", .kind = TP_KIND_CATEGORICAL, .slot = 0},
		{.name = "y", .kind = TP_KIND_TARGET, .slot = -1},
	};
	tp_batch ref = {0}, cur = {0};
	tp_drift_report r = {0};
	tp_err e = {0};
	float score[40];
	int worst;

	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "a", 1, &e), 0);
	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "b", 1, &e), 0);
	enc.cols = cols;
	enc.ncols = 3;
	enc.ncat = enc.nnum = 1;
	enc.id_col = -1;
	enc.target_col = 2;
	strcpy(enc.fingerprint, "f");
	ck_assert_int_eq(tp_batch_init(&ref, 1, 1, 40, &e), TP_OK);
	ck_assert_int_eq(tp_batch_init(&cur, 1, 1, 40, &e), TP_OK);
	for (int i = 0; i < 40; i++) {
		ref.num[i] = (float)i;
		ref.cat[i] = 1 + i % 2;
		cur.num[i] = (float)(i + 100); /* all above the reference */
		cur.cat[i] = 1 + i % 2;
		score[i] = (float)i / 40;
	}
	ref.n = cur.n = 40;
	ck_assert_int_eq(tp_drift_compare(&r, &enc, &ref, &cur, NULL,
	    &tp_drift_defaults, &e), TP_OK);
	ck_assert_int_eq(r.nfeatures, 2);
	ck_assert_int_eq(r.drift, 1);
	ck_assert_int_eq(tp_drift_count(&r, &worst), 1);
	ck_assert_int_eq(worst, 0);
	ck_assert_int_eq(tp_drift_compare_score(&r, score, 40, score, 40, &e), TP_OK);
	ck_assert_int_eq(r.score.drift, 0);
	ck_assert_double_eq(r.score.psi, 0);

	cJSON *j = tp_drift_report_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "drift")));
	cJSON *fs = cJSON_GetObjectItem(j, "features");
	ck_assert_int_eq(cJSON_GetArraySize(fs), 2);
	cJSON *x = cJSON_GetArrayItem(fs, 0), *c = cJSON_GetArrayItem(fs, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(x, "name")->valuestring, "x");
	ck_assert_str_eq(cJSON_GetObjectItem(x, "level")->valuestring, "significant");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(x, "chi2")));
	ck_assert_str_eq(cJSON_GetObjectItem(x, "ks_method")->valuestring, "exact");
	ck_assert_str_eq(cJSON_GetObjectItem(c, "kind")->valuestring, "categorical");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(c, "ks")));
	ck_assert_double_eq_tol(cJSON_GetObjectItem(c, "chi2_p")->valuedouble, 1, 1e-12);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "score"), "name")->valuestring, "score");
	ck_assert_double_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "thresholds"),
	    "epsilon")->valuedouble, 1e-4);
	cJSON_Delete(j);

	/* Only the features flagged. */
	uint8_t only_c[3] = {0, 1, 0};
	tp_drift_report_free(&r);
	ck_assert_int_eq(tp_drift_compare(&r, &enc, &ref, &cur, only_c,
	    &tp_drift_defaults, &e), TP_OK);
	ck_assert_int_eq(r.nfeatures, 1);
	ck_assert_str_eq(r.features[0].name, "c");
	ck_assert_int_eq(r.drift, 0);
	tp_drift_report_free(&r);
	tp_batch_free(&ref);
	tp_batch_free(&cur);
	tp_strmap_free(&cols[1].vocab);
}
END_TEST

Suite *
drift_suite(void)
{
	Suite *s = suite_create("drift");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_verdict);
	tcase_add_test(tc, test_missing_only);
	tcase_add_test(tc, test_bad_index);
	tcase_add_test(tc, test_report);
	suite_add_tcase(s, tc);
	return s;
}
