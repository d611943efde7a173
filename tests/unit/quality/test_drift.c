/*
 * test_drift: the comparisons of drift.c against values SciPy computed on
 * the same inputs (tests/drift/reference.py wrote $TP_TESTDATA/drift/), and
 * the verdict and report on cases worked out by hand. The distributions
 * and tests of base/stats.h are in base/test_stats.c. Sketches of more
 * values than their bins against the exact comparison: KS within its
 * stated bound, PSI near; a current profile merged from parts compared as
 * the whole one is.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
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

/* PSI from shares as drift.h defines it, the empty ones counting as
 * TP_DRIFT_EPS. */
static double
psi_of(const double *r, const double *c, int n)
{
	double psi = 0;

	for (int i = 0; i < n; i++) {
		double a = r[i] == 0 ? TP_DRIFT_EPS : r[i];
		double b = c[i] == 0 ? TP_DRIFT_EPS : c[i];
		psi += (b - a) * log(b / a);
	}
	return psi;
}

/* The Jensen-Shannon distance of base 2 from shares, 0 ln 0 being 0. */
static double
js_of(const double *r, const double *c, int n)
{
	double d = 0;

	for (int i = 0; i < n; i++) {
		double m = (r[i] + c[i]) / 2;
		if (r[i] > 0)
			d += r[i] * log2(r[i] / m);
		if (c[i] > 0)
			d += c[i] * log2(c[i] / m);
	}
	return sqrt(fmax(d, 0) / 2);
}

/* A comparison's histogram: each side's shares sum to 1 and give back its
 * PSI and JS; the edges rise. */
static void
check_histogram(const tp_drift_stat *s, const char *name)
{
	for (int k = 0; k < 2; k++) {
		double sum = 0;
		for (int b = 0; b < s->nbins; b++) {
			ck_assert_msg(s->share[k][b] >= 0, "%s: a negative share", name);
			sum += s->share[k][b];
		}
		ck_assert_msg(fabs(sum - 1) < 1e-12, "%s: shares sum to %.17g",
		    name, sum);
	}
	ck_assert_msg(fabs(psi_of(s->share[0], s->share[1], s->nbins) - s->psi) < 1e-12,
	    "%s: PSI of the shares %.17g, reported %.17g", name,
	    psi_of(s->share[0], s->share[1], s->nbins), s->psi);
	ck_assert_msg(fabs(js_of(s->share[0], s->share[1], s->nbins) - s->js) < 1e-12,
	    "%s: JS of the shares %.17g, reported %.17g", name,
	    js_of(s->share[0], s->share[1], s->nbins), s->js);
	if (s->categorical || s->edges == NULL)
		return;
	for (int b = 1; b < s->nbins; b++)
		ck_assert_msg(s->edges[b] >= s->edges[b - 1], "%s: edge %d falls", name, b);
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
		check_histogram(&s, name);
		tp_drift_stat_free(&s);
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
	tp_drift_stat_free(&s);
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, far, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_SIGNIFICANT);
	ck_assert_int_eq(s.drift, 1);
	tp_drift_stat_free(&s);
	/* Moderate PSI drifts only with p < alpha. */
	o.psi_moderate = 0;
	o.psi_significant = 100;
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, cur, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_MODERATE);
	ck_assert(s.ks_p > 0.05);
	ck_assert_int_eq(s.drift, 0);
	tp_drift_stat_free(&s);
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 100, 1, far, 100, 1, &o, &e), TP_OK);
	ck_assert_int_eq(s.level, TP_DRIFT_MODERATE);
	ck_assert_int_eq(s.drift, 1);
	tp_drift_stat_free(&s);
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
	/* The value bin is the current's one value, closed on both sides. */
	ck_assert_double_eq(s.edges[0], 1);
	ck_assert_double_eq(s.edges[1], 1);
	check_histogram(&s, "missing only");
	tp_drift_stat_free(&s);

	/* No present value on either side: no edges to draw. */
	ck_assert_int_eq(tp_drift_numeric(&s, ref, 3, 1, ref, 2, 1,
	    &tp_drift_defaults, &e), TP_OK);
	ck_assert_int_eq(s.nbins, 2);
	ck_assert_ptr_null(s.edges);
	ck_assert_double_eq(s.share[0][1], 1);
	ck_assert_double_eq(s.share[1][1], 1);
	tp_drift_stat_free(&s);
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
	ck_assert_ptr_null(s.share[0]);
}
END_TEST

/* A two-feature encoding and batches, through the report. */
/* An encoding of a numeric x (mean, std), a categorical c of a and b,
 * and the target y, over cols (3). */
static void
small_encoding(tp_encoding *enc, tp_column *cols, double mean, double std)
{
	memset(cols, 0, 3 * sizeof(*cols));
	cols[0] = (tp_column){.name = "x", .kind = TP_KIND_NUMERIC, .slot = 0,
	    .mean = mean, .std = std};
	cols[1] = (tp_column){.name = "c", .kind = TP_KIND_CATEGORICAL, .slot = 0};
	cols[2] = (tp_column){.name = "y", .kind = TP_KIND_TARGET, .slot = -1};
	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "a", 1, NULL), 0);
	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "b", 1, NULL), 0);
	enc->cols = cols;
	enc->ncols = 3;
	enc->ncat = enc->nnum = 1;
	enc->id_col = -1;
	enc->target_col = 2;
	strcpy(enc->fingerprint, "f");
}

START_TEST(test_report)
{
	tp_encoding enc = {0};
	tp_column cols[3];
	tp_batch ref = {0}, cur = {0};
	tp_drift_report r = {0};
	tp_err e = {0};
	float score[40];
	int worst;

	small_encoding(&enc, cols, 0, 1);
	ck_assert_int_eq(tp_batch_init(&ref, 1, 1, 40, &e), TP_OK);
	memset(ref.label, -1, 40);
	ck_assert_int_eq(tp_batch_init(&cur, 1, 1, 40, &e), TP_OK);
	memset(cur.label, -1, 40);
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

/* A JSON array of n numbers into x. */
static void
numbers(const cJSON *a, double *x, int n, const char *what)
{
	ck_assert_msg(cJSON_IsArray(a) && cJSON_GetArraySize(a) == n,
	    "%s: not an array of %d", what, n);
	for (int i = 0; i < n; i++) {
		cJSON *v = cJSON_GetArrayItem(a, i);
		ck_assert_msg(cJSON_IsNumber(v), "%s[%d]: not a number", what, i);
		x[i] = v->valuedouble;
	}
}

/* One object's histogram as the report prints it, read back: as many
 * labels and shares as bins, shares summing to 1 that give back the
 * object's PSI and JS. The shares go into r and c (room for 16). */
static int
check_emitted(const cJSON *o, double *r, double *c)
{
	const char *name = cJSON_GetObjectItem(o, "name")->valuestring;
	cJSON *h = cJSON_GetObjectItem(o, "histogram");
	int n = cJSON_GetObjectItem(o, "bins")->valueint;
	double psi = cJSON_GetObjectItem(o, "psi")->valuedouble;
	double js = cJSON_GetObjectItem(o, "js")->valuedouble;

	ck_assert_msg(cJSON_IsObject(h) && cJSON_GetArraySize(h) == 4,
	    "%s: no histogram of 4 members", name);
	ck_assert_int_le(n, 16);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(h, "labels")), n);
	numbers(cJSON_GetObjectItem(h, "reference"), r, n, name);
	numbers(cJSON_GetObjectItem(h, "current"), c, n, name);
	double sr = 0, sc = 0;
	for (int b = 0; b < n; b++) {
		sr += r[b];
		sc += c[b];
	}
	ck_assert_msg(fabs(sr - 1) < 1e-12 && fabs(sc - 1) < 1e-12,
	    "%s: shares sum to %.17g and %.17g", name, sr, sc);
	ck_assert_msg(fabs(psi_of(r, c, n) - psi) < 1e-12,
	    "%s: PSI of the shares %.17g, reported %.17g", name, psi_of(r, c, n), psi);
	ck_assert_msg(fabs(js_of(r, c, n) - js) < 1e-12,
	    "%s: JS of the shares %.17g, reported %.17g", name, js_of(r, c, n), js);
	return n;
}

/* The histograms of a report, through its printed text: a numeric
 * feature in the CSV's units with missing values on both sides, a
 * categorical one with an unseen category, and the score. */
START_TEST(test_histogram)
{
	tp_encoding enc = {0};
	tp_column cols[2] = {
		{.name = "x", .kind = TP_KIND_NUMERIC, .slot = 0, .mean = 10, .std = 2},
		{.name = "c", .kind = TP_KIND_CATEGORICAL, .slot = 0},
	};
	tp_batch ref = {0}, cur = {0};
	tp_drift_report r = {0};
	tp_drift_opts o = tp_drift_defaults;
	tp_err e = {0};
	float rscore[40], cscore[40];
	double rs[16], cs[16], edges[16];

	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "rent", 4, &e), 0);
	ck_assert_int_ge(tp_strmap_add(&cols[1].vocab, "owner", 5, &e), 0);
	enc.cols = cols;
	enc.ncols = 2;
	enc.ncat = enc.nnum = 1;
	enc.id_col = enc.target_col = -1;
	strcpy(enc.fingerprint, "f");
	ck_assert_int_eq(tp_batch_init(&ref, 1, 1, 40, &e), TP_OK);
	memset(ref.label, -1, 40);
	ck_assert_int_eq(tp_batch_init(&cur, 1, 1, 40, &e), TP_OK);
	memset(cur.label, -1, 40);
	/* Reference x: 0..35 standardised, 4 missing; current: moved up by
	 * 10, 8 missing. Reference c: rent 30, owner 10; current: rent 20,
	 * owner 10, 10 unseen or missing. */
	for (int i = 0; i < 40; i++) {
		ref.num[i] = i < 36 ? (float)i : NAN;
		cur.num[i] = i < 32 ? (float)(i + 10) : NAN;
		ref.cat[i] = i < 30 ? 1 : 2;
		cur.cat[i] = i < 20 ? 1 : i < 30 ? 2 : 0;
		rscore[i] = (float)i / 40;
		cscore[i] = (float)i / 80;
	}
	ref.n = cur.n = 40;
	o.bins = 4;
	ck_assert_int_eq(tp_drift_compare(&r, &enc, &ref, &cur, NULL, &o, &e), TP_OK);
	ck_assert_int_eq(tp_drift_compare_score(&r, rscore, 40, cscore, 40, &e), TP_OK);
	cJSON *j0 = tp_drift_report_json(&r);
	ck_assert_ptr_nonnull(j0);
	char *text = cJSON_Print(j0);
	cJSON *j = cJSON_Parse(text);
	ck_assert_ptr_nonnull(j);
	cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 0);
	cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 1);
	cJSON *sc = cJSON_GetObjectItem(j, "score");

	/* x: cut at the reference's quartiles 8.75, 17.5, 26.25, which are
	 * 27.5, 45, 62.5 in the CSV's units; the outer edges are the least
	 * present value (0 -> 10) and the greatest (41 -> 92). */
	int n = check_emitted(x, rs, cs);
	ck_assert_int_eq(n, 5);
	cJSON *hx = cJSON_GetObjectItem(x, "histogram");
	numbers(cJSON_GetObjectItem(hx, "edges"), edges, 5, "x edges");
	const double want[5] = {10, 27.5, 45, 62.5, 92};
	for (int b = 0; b < 5; b++)
		ck_assert_double_eq_tol(edges[b], want[b], 1e-12);
	const char *xlabels[5] = {"[10, 27.5)", "[27.5, 45)", "[45, 62.5)",
	    "[62.5, 92]", "missing"};
	for (int b = 0; b < 5; b++)
		ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(hx,
		    "labels"), b)->valuestring, xlabels[b]);
	/* The reference's values 0..8, 9..17, 18..26, 27..35, then missing;
	 * the current's 10..17, 18..26, 27..41 (none below 8.75). */
	const double xr[5] = {9. / 40, 9. / 40, 9. / 40, 9. / 40, 4. / 40};
	const double xc[5] = {0, 8. / 40, 9. / 40, 15. / 40, 8. / 40};
	for (int b = 0; b < 5; b++) {
		ck_assert_double_eq(rs[b], xr[b]);
		ck_assert_double_eq(cs[b], xc[b]);
	}

	/* c: the categories in the vocabulary's order, the missing or unseen
	 * bin (index 0) last. */
	n = check_emitted(c, rs, cs);
	ck_assert_int_eq(n, 3);
	cJSON *hc = cJSON_GetObjectItem(c, "histogram");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(hc, "edges")));
	const char *clabels[3] = {"rent", "owner", "missing or unseen"};
	const double cr[3] = {0.75, 0.25, 0}, cc[3] = {0.5, 0.25, 0.25};
	for (int b = 0; b < 3; b++) {
		ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(hc,
		    "labels"), b)->valuestring, clabels[b]);
		ck_assert_double_eq(rs[b], cr[b]);
		ck_assert_double_eq(cs[b], cc[b]);
	}

	/* The score: probabilities, not destandardised; its missing bin is
	 * empty on both sides. */
	n = check_emitted(sc, rs, cs);
	ck_assert_int_eq(n, 5);
	numbers(cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "histogram"),
	    "edges"), edges, 5, "score edges");
	ck_assert_double_eq(edges[0], 0);
	ck_assert_double_eq_tol(edges[2], 19.5 / 40, 1e-7);
	/* cJSON prints 15 digits when they read back within an ulp. */
	ck_assert_double_eq_tol(edges[4], 39.f / 40, 1e-15);
	ck_assert_double_eq(rs[4], 0);
	ck_assert_double_eq(cs[4], 0);
	/* Labels of as few digits as keep the edges apart: the score's
	 * float32 edges (39/40 is 0.975000024) read as a person writes them. */
	const char *slabels[5] = {"[0, 0.244)", "[0.244, 0.487)",
	    "[0.487, 0.731)", "[0.731, 0.975]", "missing"};
	for (int b = 0; b < 5; b++)
		ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(sc, "histogram"), "labels"), b)->valuestring,
		    slabels[b]);

	cJSON_free(text);
	cJSON_Delete(j);
	cJSON_Delete(j0);
	tp_drift_report_free(&r);
	tp_batch_free(&ref);
	tp_batch_free(&cur);
	tp_strmap_free(&cols[1].vocab);
}
END_TEST

/* Edges in the CSV's units read as the CSV wrote them, though the stream
 * held each value as a float32 of (x - mean) / std. */
START_TEST(test_edges_units)
{
	tp_encoding enc = {0};
	tp_column col = {.name = "Income", .kind = TP_KIND_NUMERIC, .slot = 0,
	    .mean = 141.6878, .std = 80.749};
	const double v[5] = {0, 8, 67, 83.4, 1438.5};
	tp_batch b = {0};
	tp_drift_report r = {0};
	tp_drift_opts o = tp_drift_defaults;
	tp_err e = {0};

	enc.cols = &col;
	enc.ncols = 1;
	enc.nnum = 1;
	enc.id_col = enc.target_col = -1;
	ck_assert_int_eq(tp_batch_init(&b, 0, 1, 5, &e), TP_OK);
	memset(b.label, -1, 5);
	for (int i = 0; i < 5; i++)
		b.num[i] = (float)((v[i] - col.mean) / col.std);
	b.n = 5;
	o.bins = 8;
	ck_assert_int_eq(tp_drift_compare(&r, &enc, &b, &b, NULL, &o, &e), TP_OK);
	/* Cut at the values and halfway between them, on the float32 values;
	 * 0, not 1e-7. Halfway between values on either side of the mean the
	 * two float32 errors can add up past the bound, and the edge keeps
	 * its digits. */
	const double want[9] = {0, 4, 8, 37.5, 67, 75.2, 83.4, 760.95, 1438.5};
	const tp_drift_stat *s = &r.features[0];
	ck_assert_int_eq(s->nbins, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_msg(i == 7 ? fabs(s->edges[i] - want[i]) < 1e-4 :
		    s->edges[i] == want[i], "edge %d: %.17g, expected %g", i,
		    s->edges[i], want[i]);
	tp_drift_report_free(&r);
	tp_batch_free(&b);
}
END_TEST

/* The checks above are tight enough to see a bin's worth of difference:
 * moving a share of 1e-6 between bins, or leaving out the missing bin,
 * moves PSI and JS by far more than 1e-12. */
START_TEST(test_histogram_checks_can_fail)
{
	double r[3] = {0.5, 0.3, 0.2}, c[3] = {0.4, 0.4, 0.2};
	double psi = psi_of(r, c, 3), js = js_of(r, c, 3);
	double moved[3] = {0.4 + 1e-6, 0.4 - 1e-6, 0.2};
	double short_r[2] = {0.5 / 0.8, 0.3 / 0.8}, short_c[2] = {0.5, 0.5};

	ck_assert(fabs(psi_of(r, moved, 3) - psi) > 1e-10);
	ck_assert(fabs(js_of(r, moved, 3) - js) > 1e-10);
	ck_assert(fabs(psi_of(short_r, short_c, 2) - psi) > 1e-3);
	ck_assert(fabs(js_of(short_r, short_c, 2) - js) > 1e-3);
}
END_TEST

/* n values of a normal distribution, shifted, a tenth missing. */
static float *
normal_values(size_t n, double shift, double scale, uint64_t seed)
{
	float *x = malloc(n * sizeof(*x));
	tp_rng r;

	tp_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = tp_rng_below(&r, 10) == 0 ? NAN :
		    (float)(tp_rng_normal(&r) * scale + shift);
	return x;
}

/* Values of many more distinct values than a profile's sketch bins: the
 * sketches' KS is at most the exact one and within ks_bound of it, their
 * PSI and JS near the exact ones (their edges move by a bin at most);
 * with the shift 0, no drift either way. */
START_TEST(test_sketch_bound)
{
	enum { N = 40000 };
	static const double shift[] = {0, 0.05, 1};
	tp_drift_opts o = tp_drift_defaults;

	for (size_t k = 0; k < sizeof(shift) / sizeof(shift[0]); k++) {
		float *ref = normal_values(N, 0, 1, 1), *cur = normal_values(N,
		    shift[k], 1 + shift[k], 2 + k);
		tp_drift_stat exact = {0}, s = {0};
		tp_sketch sk[2];
		tp_drift_values v[2];
		tp_err e = {0};
		ck_assert_int_eq(tp_drift_numeric(&exact, ref, N, 1, cur, N, 1, &o, &e), TP_OK);
		ck_assert(exact.exact && exact.ks_bound == 0);
		for (int side = 0; side < 2; side++) {
			const float *x = side ? cur : ref;
			ck_assert_int_eq(tp_sketch_init(&sk[side], TP_PROFILE_SKETCH_BINS, &e), TP_OK);
			v[side] = (tp_drift_values){&sk[side], 0, INFINITY, -INFINITY};
			for (size_t i = 0; i < N; i++) {
				if (isnan(x[i])) {
					v[side].missing++;
					continue;
				}
				v[side].min = fminf(v[side].min, x[i]);
				v[side].max = fmaxf(v[side].max, x[i]);
				ck_assert_int_eq(tp_sketch_add(&sk[side], x[i], 0, 1, &e), TP_OK);
			}
		}
		ck_assert_int_eq(tp_drift_numeric_sketch(&s, &v[0], &v[1], &o, &e), TP_OK);
		ck_assert(!s.exact && sk[0].level > 0);
		ck_assert_msg(s.ks <= exact.ks && exact.ks <= s.ks + s.ks_bound &&
		    s.ks_bound < 0.01,
		    "shift %g: KS %.6f, exact %.6f, bound %.3g", shift[k], s.ks,
		    exact.ks, s.ks_bound);
		ck_assert_msg(fabs(s.psi - exact.psi) < 0.002 &&
		    fabs(s.js - exact.js) < 0.002,
		    "shift %g: PSI %.6f, exact %.6f; JS %.6f, exact %.6f", shift[k],
		    s.psi, exact.psi, s.js, exact.js);
		ck_assert_int_eq(s.nbins, exact.nbins);
		ck_assert(s.edges[0] == exact.edges[0] &&
		    s.edges[s.nbins - 1] == exact.edges[exact.nbins - 1]);
		ck_assert_uint_eq(s.rows[0], N);
		ck_assert_uint_eq(s.missing[1], exact.missing[1]);
		ck_assert_int_eq(s.drift, exact.drift);
		ck_assert_int_eq(s.drift, shift[k] >= 1);
		check_histogram(&s, "sketch");
		tp_drift_stat_free(&exact);
		tp_drift_stat_free(&s);
		tp_sketch_free(&sk[0]);
		tp_sketch_free(&sk[1]);
		free(ref);
		free(cur);
	}
}
END_TEST

/* The current data's profile merged from three parts, against the whole
 * one: the same report, byte for byte; with sketches of more distinct
 * values than their bins. */
START_TEST(test_profiles_merge)
{
	enum { N = 30000 };
	tp_encoding enc = {0};
	tp_column cols[3];
	float *x = normal_values(2 * N, 0.1, 1, 7);
	tp_batch ref = {0}, cur = {0};
	tp_profile p[2], part;
	tp_drift_report r[2];
	tp_err e = {0};
	char *text[2];

	memset(r, 0, sizeof(r));
	small_encoding(&enc, cols, 3, 2);
	ck_assert_int_eq(tp_batch_init(&ref, 1, 1, N, &e), TP_OK);
	memset(ref.label, -1, N);
	ck_assert_int_eq(tp_batch_init(&cur, 1, 1, N, &e), TP_OK);
	memset(cur.label, -1, N);
	for (int i = 0; i < N; i++) {
		ref.num[i] = x[i];
		cur.num[i] = x[N + i] * 1.1f;
		ref.cat[i] = i % 3;
		cur.cat[i] = i % 5 % 3;
		ref.label[i] = (int8_t)(i % 2);
		cur.label[i] = (int8_t)(i % 3 - 1);
		ref.id[i] = cur.id[i] = i;
	}
	ref.n = cur.n = N;
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(tp_profile_init(&p[0], &enc, &e), TP_OK);
		ck_assert_int_eq(tp_profile_add(&p[0], &ref, 0, &e), TP_OK);
		ck_assert_int_eq(tp_profile_init(&p[1], &enc, &e), TP_OK);
		if (k == 0)
			ck_assert_int_eq(tp_profile_add(&p[1], &cur, 0, &e), TP_OK);
		for (size_t at = 0; k == 1 && at < N; at += N / 3) {
			size_t n = cur.n;
			cur.n = at + N / 3 < N ? at + N / 3 : N;
			ck_assert_int_eq(tp_profile_init(&part, &enc, &e), TP_OK);
			ck_assert_int_eq(tp_profile_add(&part, &cur, at, &e), TP_OK);
			ck_assert_int_eq(tp_profile_merge(&p[1], &part, &e), TP_OK);
			tp_profile_free(&part);
			cur.n = n;
		}
		ck_assert_int_eq(tp_profile_finish(&p[0], &e), TP_OK);
		ck_assert_int_eq(tp_profile_finish(&p[1], &e), TP_OK);
		ck_assert_int_gt(p[1].cols[0].values.level, 0);
		ck_assert_int_eq(tp_drift_compare_profiles(&r[k], &p[0], &p[1], NULL,
		    &tp_drift_defaults, &e), TP_OK);
		cJSON *j = tp_drift_report_json(&r[k]);
		text[k] = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		tp_profile_free(&p[0]);
		tp_profile_free(&p[1]);
	}
	ck_assert_str_eq(text[1], text[0]);
	ck_assert(!r[0].features[0].exact && r[0].features[0].ks_bound > 0);
	for (int k = 0; k < 2; k++) {
		free(text[k]);
		tp_drift_report_free(&r[k]);
	}
	tp_batch_free(&ref);
	tp_batch_free(&cur);
	tp_strmap_free(&cols[1].vocab);
	free(x);
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
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_edges_units);
	tcase_add_test(tc, test_histogram_checks_can_fail);
	tcase_add_test(tc, test_sketch_bound);
	tcase_add_test(tc, test_profiles_merge);
	suite_add_tcase(s, tc);
	return s;
}
