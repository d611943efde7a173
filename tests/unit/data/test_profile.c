/*
 * test_profile: the profile of a small stream made in memory (counts,
 * missing and unseen values, statistics in original units, constant
 * columns, duplicates, the leakage AUC) and the checks of the report; a
 * shard's, whose unseen values count as missing. Profiles of files and
 * of shards, written as partials, read back and merged: the report of one
 * reading of them all; a feature of more distinct values than its sketch
 * holds, whose AUC is within its bound of the exact one; profiles of
 * another encoding refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/metrics.h"
#include "base/rng.h"
#include "data/profile.h"
#include "suites.h"

enum { C_ID, C_X, C_LEAK, C_C, C_K, C_LC, C_GONE, C_Y, NCOLS };
enum { NROWS = 22 };

static void
col(tp_encoding *enc, int i, const char *name, enum tp_kind kind)
{
	tp_column *c = &enc->cols[i];

	c->name = strdup(name);
	ck_assert_ptr_nonnull(c->name);
	c->kind = kind;
	c->slot = kind == TP_KIND_NUMERIC ? enc->nnum++ :
	    kind == TP_KIND_CATEGORICAL ? enc->ncat++ : -1;
}

static void
vocab(tp_column *c, const char *v)
{
	ck_assert_int_ge(tp_strmap_add(&c->vocab, v, strlen(v), NULL), 0);
}

/*
 * id; x numeric (mean 10, std 2); leak numeric equal to the label; c
 * categorical (a, b, c, d; d never seen); k numeric, always 5; lc
 * categorical ("no", "yes") equal to the label; gone numeric and always
 * missing if with_gone, else ignored; y the target.
 */
static void
make_encoding(tp_encoding *enc, int with_gone)
{
	memset(enc, 0, sizeof(*enc));
	enc->ncols = NCOLS;
	enc->cols = calloc(NCOLS, sizeof(*enc->cols));
	ck_assert_ptr_nonnull(enc->cols);
	col(enc, C_ID, "id", TP_KIND_ID);
	col(enc, C_X, "x", TP_KIND_NUMERIC);
	enc->cols[C_X].mean = 10;
	enc->cols[C_X].std = 2;
	col(enc, C_LEAK, "leak", TP_KIND_NUMERIC);
	enc->cols[C_LEAK].std = 1;
	col(enc, C_C, "c", TP_KIND_CATEGORICAL);
	vocab(&enc->cols[C_C], "a");
	vocab(&enc->cols[C_C], "b");
	vocab(&enc->cols[C_C], "c");
	vocab(&enc->cols[C_C], "d");
	col(enc, C_K, "k", TP_KIND_NUMERIC);
	enc->cols[C_K].mean = 5;
	enc->cols[C_K].std = 1;
	col(enc, C_LC, "lc", TP_KIND_CATEGORICAL);
	vocab(&enc->cols[C_LC], "no");
	vocab(&enc->cols[C_LC], "yes");
	col(enc, C_GONE, "gone", with_gone ? TP_KIND_NUMERIC : TP_KIND_IGNORE);
	enc->cols[C_GONE].std = 1;
	col(enc, C_Y, "y", TP_KIND_TARGET);
	enc->id_col = C_ID;
	enc->target_col = C_Y;
	enc->labels[0] = strdup("good");
	enc->labels[1] = strdup("bad");
	ck_assert_int_eq(tp_encoding_fingerprint(enc, NULL), TP_OK);
}

/* Row i's original x, NaN when missing. */
static double
x_of(int i)
{
	if (i == 20)
		i = 3;
	else if (i == 21)
		i = 6;
	return i % 5 == 4 ? NAN : i * 0.5 + 1;
}

/*
 * Rows 0 to 19: label i % 2, but -1 for 18 and 19; c index (i / 2) % 4,
 * where index 0 is unseen for even i and missing for odd i. Rows 20 and 21
 * repeat rows 3 and 6 but for the id.
 */
static void
make_stream(const tp_encoding *enc, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	tp_stream_writer *w;
	tp_err e = {0};

	ck_assert_int_eq(tp_stream_writer_open(&w, f, "mem", enc, &e), TP_OK);
	for (int r = 0; r < NROWS; r++) {
		int i = r == 20 ? 3 : r == 21 ? 6 : r;
		tp_row row = tp_stream_writer_row(w);
		int label = i >= 18 ? -1 : i % 2;
		int c = (i / 2) % 4;
		uint8_t unseen[2] = {c == 0 && i % 2 == 0, 0};
		double x = x_of(i);
		*row.id = 100 + r;
		*row.label = (int8_t)label;
		row.num[0] = isnan(x) ? NAN : (float)((x - 10) / 2);
		row.num[1] = label < 0 ? 0.5f : (float)label;
		row.num[2] = 0;
		if (enc->nnum > 3)
			row.num[3] = NAN;
		row.cat[0] = c;
		row.cat[1] = label + 1;
		ck_assert_int_eq(tp_stream_writer_add(w, unseen, &e), TP_OK);
	}
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
}

/* Profiles the len bytes at buf, written to a file, or shard (may be NULL)
 * of them; returns the status, and the reader (to close after the
 * profile) in *r. */
static int
profile(tp_profile *p, const char *buf, size_t len, const tp_shard *shard,
    tp_shard_reader **r, tp_err *e)
{
	char path[] = "/tmp/tp_profileXXXXXX", *paths[] = {path};
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(tp_shard_reader_open(r, paths, 1, shard, e), TP_OK);
	ck_assert_int_eq(unlink(path), 0);
	return tp_profile_stream(p, *r, e);
}

START_TEST(test_profile)
{
	tp_encoding enc;
	tp_shard_reader *r;
	tp_profile p;
	tp_err e = {0};
	char *buf = NULL;
	size_t len = 0;

	make_encoding(&enc, 1);
	make_stream(&enc, &buf, &len);
	ck_assert_msg(profile(&p, buf, len, NULL, &r, &e) == TP_OK, "%s", e.msg);

	ck_assert_uint_eq(p.rows, NROWS);
	ck_assert_uint_eq(p.positive, 10);
	ck_assert_uint_eq(p.negative, 10);
	ck_assert_uint_eq(p.unlabelled, 2);
	ck_assert_uint_eq(p.duplicates, 2);

	/* x in original units, over its present values. */
	double min = INFINITY, max = -INFINITY, sum = 0, sum2 = 0;
	int n = 0;
	for (int i = 0; i < NROWS; i++) {
		double x = x_of(i);
		if (isnan(x))
			continue;
		min = fmin(min, x);
		max = fmax(max, x);
		sum += x;
		n++;
	}
	double mean = sum / n;
	for (int i = 0; i < NROWS; i++)
		if (!isnan(x_of(i)))
			sum2 += (x_of(i) - mean) * (x_of(i) - mean);
	const tp_column_profile *x = &p.cols[C_X];
	ck_assert_uint_eq(x->present, 18);
	ck_assert_uint_eq(x->missing, 4);
	ck_assert_double_eq_tol(x->min, min, 1e-5);
	ck_assert_double_eq_tol(x->max, max, 1e-5);
	ck_assert_double_eq_tol(x->mean, mean, 1e-5);
	ck_assert_double_eq_tol(x->std, sqrt(sum2 / n), 1e-5);
	ck_assert_int_eq(x->constant, 0);
	ck_assert(x->auc >= 0.5 && x->auc < 0.9);

	/* The feature equal to the label. */
	ck_assert_double_eq_tol(p.cols[C_LEAK].auc, 1.0, 1e-12);
	ck_assert_double_eq_tol(p.cols[C_LC].auc, 1.0, 1e-12);
	ck_assert_int_eq(p.cols[C_LEAK].constant, 0);

	/* Categories: index 0 for rows 0, 1, 8, 9, 16, 17; of these the
	 * even ones unseen. */
	const tp_column_profile *c = &p.cols[C_C];
	ck_assert_uint_eq(c->categories, 3);
	ck_assert_uint_eq(c->unseen, 3);
	ck_assert_uint_eq(c->missing, 3);
	ck_assert_uint_eq(c->present, NROWS - 3);
	ck_assert_int_eq(c->constant, 0);
	ck_assert(c->auc < 0.9);
	ck_assert_uint_eq(p.cols[C_LC].categories, 2);
	ck_assert_uint_eq(p.cols[C_LC].missing, 2);

	/* k is always 5. */
	const tp_column_profile *k = &p.cols[C_K];
	ck_assert_int_eq(k->constant, 1);
	ck_assert_double_eq_tol(k->min, 5, 1e-12);
	ck_assert_double_eq_tol(k->max, 5, 1e-12);
	ck_assert_double_eq_tol(k->mean, 5, 1e-12);
	ck_assert_double_eq_tol(k->std, 0, 1e-12);
	ck_assert_uint_eq(k->missing, 0);
	ck_assert_double_eq_tol(k->auc, 0.5, 1e-12);

	/* Nothing present: constant; every score ties, so an AUC of 1/2. */
	const tp_column_profile *g = &p.cols[C_GONE];
	ck_assert_uint_eq(g->present, 0);
	ck_assert_uint_eq(g->missing, NROWS);
	ck_assert_int_eq(g->constant, 1);
	ck_assert_double_eq_tol(g->auc, 0.5, 1e-12);
	{
		int passed;
		cJSON *rep = tp_profile_report(&p, &tp_default_limits, &passed);
		const cJSON *c6 = cJSON_GetArrayItem(cJSON_GetObjectItem(rep,
		    "columns"), 5);
		ck_assert_str_eq(cJSON_GetObjectItem(c6, "name")->valuestring,
		    "gone");
		ck_assert(cJSON_IsNull(cJSON_GetObjectItem(c6, "mean")));
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(c6, "missing_rate")), 1, 1e-12);
		ck_assert_int_eq(passed, 0);
		cJSON_Delete(rep);
	}

	tp_profile_free(&p);
	tp_profile_free(&p);
	tp_shard_reader_close(r);
	free(buf);
	tp_encoding_free(&enc);
}
END_TEST

/* The check named name (on column, if not NULL) in the report. */
static const cJSON *
find_check(const cJSON *report, const char *name, const char *column)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(report, "checks")) {
		const cJSON *col = cJSON_GetObjectItem(c, "column");
		if (strcmp(cJSON_GetObjectItem(c, "check")->valuestring, name) == 0 &&
		    (column == NULL ||
		    (col != NULL && strcmp(col->valuestring, column) == 0)))
			return c;
	}
	ck_abort_msg("no check %s", name);
	return NULL;
}

static int
report_passed(const tp_profile *p, const tp_limits *l, const char *name,
    const char *column)
{
	int passed = -1;
	cJSON *rep = tp_profile_report(p, l, &passed);

	ck_assert_ptr_nonnull(rep);
	ck_assert(passed == 0 || passed == 1);
	ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(rep, "passed")), passed);
	if (name != NULL) {
		/* The named check is the one that failed. */
		const cJSON *c = find_check(rep, name, column);
		ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(c, "passed")),
		    passed);
	}
	if (passed) {
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks"))
			ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "passed")));
	}
	cJSON_Delete(rep);
	return passed;
}

START_TEST(test_report)
{
	const tp_limits loose = {
		.max_missing = 0.5, .max_unseen = 0.2, .min_minority = 0.01,
		.max_duplicates = 0.1, .max_constant = 1, .max_auc = 1.0,
		.min_rows = 1,
	};
	tp_encoding enc;
	tp_shard_reader *r;
	tp_profile p;
	tp_limits l;
	tp_err e = {0};
	char *buf = NULL;
	size_t len = 0;

	make_encoding(&enc, 0);
	make_stream(&enc, &buf, &len);
	ck_assert_int_eq(profile(&p, buf, len, NULL, &r, &e), TP_OK);

	ck_assert_int_eq(report_passed(&p, &loose, NULL, NULL), 1);
	/* The defaults catch the leak, the constant column, the duplicates
	 * and the unseen values. */
	ck_assert_int_eq(report_passed(&p, &tp_default_limits, "leakage",
	    "leak"), 0);

	/* Each limit crossed alone fails the report. */
	l = loose;
	l.max_missing = 0.15; /* x misses 4 of 22 */
	ck_assert_int_eq(report_passed(&p, &l, "missing", "x"), 0);
	l.max_missing = 0.19;
	ck_assert_int_eq(report_passed(&p, &l, "missing", "x"), 1);
	l = loose;
	l.max_unseen = 0.13; /* c: 3 of 22 */
	ck_assert_int_eq(report_passed(&p, &l, "unseen", "c"), 0);
	l.max_unseen = 0.14;
	ck_assert_int_eq(report_passed(&p, &l, "unseen", "c"), 1);
	l = loose;
	l.min_minority = 0.51; /* 10 of 20 */
	ck_assert_int_eq(report_passed(&p, &l, "class_balance", NULL), 0);
	l.min_minority = 0.5;
	ck_assert_int_eq(report_passed(&p, &l, "class_balance", NULL), 1);
	l = loose;
	l.max_duplicates = 0.09; /* 2 of 22 */
	ck_assert_int_eq(report_passed(&p, &l, "duplicates", NULL), 0);
	l.max_duplicates = 0.091;
	ck_assert_int_eq(report_passed(&p, &l, "duplicates", NULL), 1);
	l = loose;
	l.max_constant = 0;
	ck_assert_int_eq(report_passed(&p, &l, "constant", NULL), 0);
	l = loose;
	l.max_auc = 0.99;
	ck_assert_int_eq(report_passed(&p, &l, "leakage", "lc"), 0);
	l = loose;
	l.min_rows = 23;
	ck_assert_int_eq(report_passed(&p, &l, "rows", NULL), 0);
	l.min_rows = 22;
	ck_assert_int_eq(report_passed(&p, &l, "rows", NULL), 1);

	/* The report's numbers. */
	{
		int passed;
		cJSON *rep = tp_profile_report(&p, &loose, &passed);
		const cJSON *cols = cJSON_GetObjectItem(rep, "columns"), *c;
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(rep, "rows")), 22, 1e-12);
		ck_assert_int_eq(cJSON_GetArraySize(cols), 5);
		c = cJSON_GetArrayItem(cols, 0);
		ck_assert_str_eq(cJSON_GetObjectItem(c, "name")->valuestring, "x");
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(c, "missing_rate")), 4.0 / 22, 1e-12);
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(c, "max")), 10, 1e-5);
		c = cJSON_GetArrayItem(cols, 2);
		ck_assert_str_eq(cJSON_GetObjectItem(c, "name")->valuestring, "c");
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(c, "categories")), 3, 1e-12);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cols,
		    3), "constant")));
		const cJSON *d = cJSON_GetObjectItem(rep, "duplicates");
		ck_assert_double_eq_tol(cJSON_GetNumberValue(
		    cJSON_GetObjectItem(d, "rows")), 2, 1e-12);
		cJSON_Delete(rep);
	}

	tp_profile_free(&p);
	tp_shard_reader_close(r);
	free(buf);
	tp_encoding_free(&enc);
}
END_TEST

/* A shard cannot tell unseen values from missing ones: they count as
 * missing, and its report has no unseen rate and no unseen check. */
START_TEST(test_shard)
{
	tp_encoding enc;
	tp_shard_reader *r;
	tp_profile p;
	tp_err e = {0};
	char *buf = NULL;
	size_t len = 0;
	int passed;

	make_encoding(&enc, 1);
	make_stream(&enc, &buf, &len);
	ck_assert_msg(profile(&p, buf, len, &(tp_shard){1, 2}, &r, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_uint_eq(p.rows, NROWS);
	ck_assert_int_eq(p.unseen_known, 0);
	ck_assert_uint_eq(p.cols[C_C].unseen, 0);
	ck_assert_uint_eq(p.cols[C_C].missing, 6);
	cJSON *rep = tp_profile_report(&p, &tp_default_limits, &passed);
	const cJSON *col, *ck;
	cJSON_ArrayForEach(col, cJSON_GetObjectItem(rep, "columns"))
		if (strcmp(cJSON_GetObjectItem(col, "kind")->valuestring,
		    "categorical") == 0)
			ck_assert(cJSON_IsNull(cJSON_GetObjectItem(col,
			    "unseen_rate")));
	cJSON_ArrayForEach(ck, cJSON_GetObjectItem(rep, "checks"))
		ck_assert_str_ne(cJSON_GetObjectItem(ck, "check")->valuestring,
		    "unseen");
	cJSON_Delete(rep);
	tp_profile_free(&p);
	tp_shard_reader_close(r);

	/* The other shard of the one block: no row. */
	ck_assert_int_eq(profile(&p, buf, len, &(tp_shard){2, 2}, &r, &e), TP_OK);
	ck_assert_uint_eq(p.rows, 0);
	tp_profile_free(&p);
	tp_shard_reader_close(r);
	free(buf);
	tp_encoding_free(&enc);
}
END_TEST

/* A damaged stream: the profile fails with the reader's error. */
START_TEST(test_truncated)
{
	tp_encoding enc;
	tp_shard_reader *r;
	tp_profile p;
	tp_err e = {0};
	char *buf = NULL;
	size_t len = 0;

	make_encoding(&enc, 0);
	make_stream(&enc, &buf, &len);
	ck_assert_int_eq(profile(&p, buf, len - 1, NULL, &r, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	ck_assert_ptr_null(p.cols);
	tp_shard_reader_close(r);
	free(buf);
	tp_encoding_free(&enc);
}
END_TEST

/* n random rows of the test's encoding into a new file, whose name goes
 * into path: x of many distinct values (of more than the sketch holds
 * with distinct), some missing; leak and lc near the label; c with
 * unseen values; repeats of earlier rows. The rows into all too. */
static void
random_file(const tp_encoding *enc, char *path, size_t n, int distinct,
    uint64_t seed, tp_batch *all)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	tp_stream_writer *w;
	tp_err e = {0};
	tp_rng r;

	ck_assert_ptr_nonnull(f);
	tp_rng_seed(&r, seed);
	ck_assert_int_eq(tp_stream_writer_open(&w, f, path, enc, &e), TP_OK);
	ck_assert_int_eq(tp_batch_reserve(all, all->n + n, &e), TP_OK);
	for (size_t i = 0; i < n; i++) {
		tp_row row = tp_stream_writer_row(w);
		double u = tp_rng_float(&r);
		int label = tp_rng_below(&r, 10) == 0 ? -1 : tp_rng_float(&r) < u;
		uint8_t unseen[2] = {0, 0};
		*row.id = (int64_t)i;
		*row.label = (int8_t)label;
		row.num[0] = tp_rng_below(&r, 8) == 0 ? NAN : distinct ?
		    (float)(u * 40 - 3) : (float)round(u * 50);
		row.num[1] = (float)(label + tp_rng_normal(&r) / 4);
		row.num[2] = 0;
		row.num[3] = NAN;
		row.cat[0] = (int32_t)tp_rng_below(&r, 5);
		unseen[0] = row.cat[0] == 0 && tp_rng_below(&r, 2);
		row.cat[1] = label + 1;
		if (all->n > 0 && tp_rng_below(&r, 20) == 0) {
			tp_row old = tp_batch_row(all, tp_rng_below(&r, all->n));
			memcpy(row.num, old.num, 4 * sizeof(float));
			memcpy(row.cat, old.cat, 2 * sizeof(int32_t));
			*row.label = *old.label;
			unseen[0] = 0;
		}
		tp_row copy = tp_batch_row(all, all->n++);
		*copy.id = *row.id;
		memcpy(copy.num, row.num, 4 * sizeof(float));
		memcpy(copy.cat, row.cat, 2 * sizeof(int32_t));
		*copy.label = *row.label;
		ck_assert_int_eq(tp_stream_writer_add(w, unseen, &e), TP_OK);
	}
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
}

/* A profile through its partial's JSON and back. */
static void
round_trip(tp_profile *p)
{
	tp_profile back;
	tp_err e = {0};
	cJSON *o = cJSON_CreateObject();
	char *text;

	ck_assert(tp_profile_json(p, o));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	o = cJSON_Parse(text);
	free(text);
	ck_assert_msg(tp_profile_parse(&back, o, "part", &e) == TP_OK, "%s", e.msg);
	cJSON_Delete(o);
	tp_profile_free(p);
	*p = back;
	p->enc = &p->own;
}

static char *
report_text(const tp_profile *p)
{
	int passed;
	cJSON *rep = tp_profile_report(p, &tp_default_limits, &passed);
	char *text = cJSON_PrintUnformatted(rep);

	cJSON_Delete(rep);
	return text;
}

/* Three files, profiled each as a partial and merged, and profiled as
 * one input; and the same files in 4 shards: the same reports, but for
 * the unseen values that shards do not know. With few distinct values
 * of x (an exact AUC) and with many (a bounded one). */
START_TEST(test_merge)
{
	static const size_t rows[] = {9000, 5000, 12000};
	tp_encoding enc;
	tp_profile whole, part, merged;
	tp_shard_reader *r, *whole_r;
	tp_batch all = {0};
	tp_err e = {0};
	char paths[3][32];
	char *files[3] = {paths[0], paths[1], paths[2]};

	make_encoding(&enc, 1);
	for (int distinct = 0; distinct < 2; distinct++) {
		all.n = 0;
		ck_assert_int_eq(tp_batch_init(&all, 2, 4, 16, &e), TP_OK);
		for (int k = 0; k < 3; k++) {
			strcpy(paths[k], "/tmp/tp_profileXXXXXX");
			random_file(&enc, paths[k], rows[k], distinct,
			    (uint64_t)(k + 10 * distinct), &all);
		}
		ck_assert_int_eq(tp_shard_reader_open(&whole_r, files, 3, NULL, &e), TP_OK);
		ck_assert_int_eq(tp_profile_stream(&whole, whole_r, &e), TP_OK);
		ck_assert(whole.unseen_known && whole.duplicates > 0);
		ck_assert_int_eq(whole.cols[C_X].values.level > 0, distinct);
		char *want = report_text(&whole);
		for (int shards = 0; shards < 2; shards++) {
			int n = shards ? 4 : 3;
			ck_assert_int_eq(tp_profile_init(&merged, &enc, &e), TP_OK);
			for (int k = 0; k < n; k++) {
				tp_shard s = {k + 1, 4};
				ck_assert_int_eq(tp_shard_reader_open(&r, shards ?
				    files : files + k, shards ? 3 : 1, shards ? &s :
				    NULL, &e), TP_OK);
				ck_assert_int_eq(tp_profile_init(&part, &enc, &e), TP_OK);
				ck_assert_int_eq(tp_profile_read(&part, r, NULL, NULL, &e), TP_OK);
				tp_shard_reader_close(r);
				round_trip(&part);
				ck_assert_msg(tp_profile_merge(&merged, &part, &e) == TP_OK,
				    "%s", e.msg);
				tp_profile_free(&part);
			}
			ck_assert_int_eq(tp_profile_finish(&merged, &e), TP_OK);
			ck_assert_int_eq(merged.unseen_known, !shards);
			if (shards) {
				/* What a shard cannot know: the unseen values. */
				tp_profile_set_unseen(&whole, NULL, &e);
				ck_assert_int_eq(tp_profile_finish(&whole, &e), TP_OK);
				free(want);
				want = report_text(&whole);
			}
			char *got = report_text(&merged);
			ck_assert_msg(strcmp(got, want) == 0,
			    "distinct %d, shards %d: the merged report differs:\n%s\n%s",
			    distinct, shards, got, want);
			free(got);
			tp_profile_free(&merged);
		}
		/* x's AUC within its bound of the exact one, of every row. */
		double auc = tp_roc_auc(all.num + 0, 4, all.label, all.n, &e);
		auc = fmax(auc, 1 - auc);
		const tp_column_profile *x = &whole.cols[C_X];
		ck_assert_msg(fabs(x->auc - auc) <= x->auc_bound &&
		    (distinct ? x->auc_bound > 0 && x->auc_bound < 1e-3 :
		    x->auc == auc && x->auc_bound == 0),
		    "AUC %.17g, exact %.17g, bound %.3g", x->auc, auc, x->auc_bound);
		free(want);
		tp_profile_free(&whole);
		tp_shard_reader_close(whole_r);
		for (int k = 0; k < 3; k++)
			unlink(paths[k]);
		tp_batch_free(&all);
	}
	tp_encoding_free(&enc);
}
END_TEST

/* Profiles of two encodings do not merge; a damaged partial is not
 * read. */
START_TEST(test_merge_refused)
{
	tp_encoding a, b;
	tp_profile pa, pb;
	tp_err e = {0};

	make_encoding(&a, 1);
	make_encoding(&b, 0);
	ck_assert_int_eq(tp_profile_init(&pa, &a, &e), TP_OK);
	ck_assert_int_eq(tp_profile_init(&pb, &b, &e), TP_OK);
	ck_assert_int_eq(tp_profile_merge(&pa, &pb, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "encoded with") != NULL, "%s", e.msg);
	cJSON *o = cJSON_CreateObject();
	ck_assert(tp_profile_json(&pa, o));
	/* As a file holds it, its numbers numbers. */
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	o = cJSON_Parse(text);
	free(text);
	tp_profile_free(&pb);
	cJSON_SetNumberValue(cJSON_GetObjectItem(o, "rows"), 5);
	ck_assert_int_eq(tp_profile_parse(&pb, o, "part", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "part: column x counts 0 rows, the profile 5") != NULL,
	    "%s", e.msg);
	cJSON_Delete(o);
	tp_profile_free(&pa);
	tp_encoding_free(&a);
	tp_encoding_free(&b);
}
END_TEST

Suite *
profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile");

	tcase_add_test(tc, test_profile);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_shard);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_merge_refused);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
