/*
 * test_ingest: fitting an encoding on CSV (kinds, vocabulary order and
 * limits, statistics on the training rows only and near the largest
 * double, at least one row, errors placed, a header of 200,000 columns),
 * applying one to data without its target, the stratified split (exact
 * shares, deterministic for a seed), shards of CSV files, bad rows (the exact messages,
 * skipping, the rejects file, NUL bytes and text that is not UTF-8), and a
 * round trip of both real data sets through a stream, compared value by
 * value with the CSV.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/number.h"
#include "data/csv.h"
#include "data/ingest.h"
#include "suites.h"

static FILE *
text_file(const char *s, size_t len)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, len, f), len);
	ck_assert_int_eq(fflush(f), 0);
	rewind(f);
	return f;
}

/* A growing text, for building CSV files. */
typedef struct {
	char *buf;
	size_t len;
	FILE *f;
} text;

static void
text_open(text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	ck_assert_ptr_nonnull(t->f);
}

static void
text_close(text *t)
{
	ck_assert_int_eq(fclose(t->f), 0);
	t->f = NULL;
}

/* Fits an encoding on the len bytes of s, a file named t.csv. */
static int
fit_bytes(const tp_ingest_opts *o, const char *s, size_t len,
    tp_encoding *enc, tp_err *e)
{
	tp_input in = {.name = "t.csv", .f = text_file(s, len)};
	int rc = tp_ingest_fit(o, &in, 1, enc, e);

	fclose(in.f);
	return rc;
}

static int
fit_text(const tp_ingest_opts *o, const char *s, tp_encoding *enc, tp_err *e)
{
	return fit_bytes(o, s, strlen(s), enc, e);
}

/* A stream written to memory. */
typedef struct {
	char *buf;
	size_t len;
} blob;

/* Encodes the len bytes of s with enc into nout streams; returns
 * tp_ingest_write's status. */
static int
write_bytes(const tp_ingest_opts *o, const char *s, size_t len,
    const tp_encoding *enc, int nout, blob *out, tp_ingest_counts *counts,
    tp_err *e)
{
	tp_input in = {.name = "t.csv", .f = text_file(s, len)};
	tp_stream_writer *w[TP_SPLIT_MAX] = {0};
	FILE *f[TP_SPLIT_MAX] = {0};
	int rc;

	for (int i = 0; i < nout; i++) {
		out[i].buf = NULL;
		out[i].len = 0;
		f[i] = open_memstream(&out[i].buf, &out[i].len);
		ck_assert_ptr_nonnull(f[i]);
		ck_assert_int_eq(tp_stream_writer_open(&w[i], f[i], "out", enc, e),
		    TP_OK);
	}
	rc = tp_ingest_write(o, &in, 1, enc, w, counts, e);
	for (int i = 0; i < nout; i++) {
		if (rc == TP_OK)
			ck_assert_int_eq(tp_stream_writer_close(w[i], NULL, NULL), TP_OK);
		else
			tp_stream_writer_abort(w[i]);
		ck_assert_int_eq(fclose(f[i]), 0);
	}
	fclose(in.f);
	return rc;
}

static int
write_text(const tp_ingest_opts *o, const char *s, const tp_encoding *enc,
    int nout, blob *out, tp_ingest_counts *counts, tp_err *e)
{
	return write_bytes(o, s, strlen(s), enc, nout, out, counts, e);
}

/* Reads a whole stream into b; its encoding must be enc. */
static void
read_blob(const blob *s, const tp_encoding *enc, tp_batch *b)
{
	FILE *f = fmemopen(s->buf, s->len, "rb");
	tp_stream_reader *r;
	tp_err e = {0};
	long got;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tp_stream_reader_open(&r, f, "out", &e), TP_OK);
	ck_assert_str_eq(tp_stream_encoding(r)->fingerprint, enc->fingerprint);
	ck_assert_int_eq(tp_batch_init(b, enc->ncat, enc->nnum, 64, &e), TP_OK);
	while ((got = tp_stream_read(r, b, SIZE_MAX, &e)) > 0)
		;
	ck_assert_msg(got == 0, "%s", e.msg);
	tp_stream_reader_close(r);
	fclose(f);
}

static int
col_index(const tp_encoding *enc, const char *name)
{
	for (int i = 0; i < enc->ncols; i++)
		if (strcmp(enc->cols[i].name, name) == 0)
			return i;
	ck_abort_msg("no column %s", name);
	return -1;
}

/* The vocabulary as "a|b|c". */
static void
expect_vocab(const tp_column *c, const char *want)
{
	char got[4096] = "";
	size_t n = 0;

	for (size_t k = 0; k < c->vocab.n; k++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
		    k ? "|" : "", c->vocab.keys[k]);
	ck_assert_str_eq(got, want);
}

START_TEST(test_kinds)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1};
	tp_encoding enc;
	tp_err e = {0};
	text t;
	double sum = 0, sum2 = 0;
	int n = 0;

	text_open(&t);
	fputs("Id,age,city,code,y,blank\n", t.f);
	for (int i = 1; i <= 20; i++) {
		char age[16];
		if (i % 7 == 0)
			snprintf(age, sizeof(age), "%s", i % 2 ? "NA" : "");
		else {
			double x = 20 + i * 1.5;
			snprintf(age, sizeof(age), "%g", x);
			sum += x;
			n++;
		}
		fprintf(t.f, "%d,%s,%s,%s,%s,%s\n", i, age,
		    i % 3 ? "paris" : "\"rome\"", i % 10 == 3 ? "A1" : "17",
		    i % 4 ? "good" : "bad", i % 2 ? "NA" : "");
	}
	text_close(&t);
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);

	ck_assert_int_eq(enc.ncols, 6);
	ck_assert_int_eq(enc.cols[0].kind, TP_KIND_ID);
	ck_assert_int_eq(enc.cols[1].kind, TP_KIND_NUMERIC);
	ck_assert_int_eq(enc.cols[2].kind, TP_KIND_CATEGORICAL);
	/* 18 of 20 numbers: below 95 %, categorical. */
	ck_assert_int_eq(enc.cols[3].kind, TP_KIND_CATEGORICAL);
	ck_assert_int_eq(enc.cols[4].kind, TP_KIND_TARGET);
	/* Nothing present: categorical, empty vocabulary. */
	ck_assert_int_eq(enc.cols[5].kind, TP_KIND_CATEGORICAL);
	ck_assert_uint_eq(enc.cols[5].vocab.n, 0);
	ck_assert_int_eq(enc.id_col, 0);
	ck_assert_int_eq(enc.target_col, 4);
	ck_assert_int_eq(enc.nnum, 1);
	ck_assert_int_eq(enc.ncat, 3);
	ck_assert_int_eq(enc.cols[1].slot, 0);
	ck_assert_int_eq(enc.cols[2].slot, 0);
	ck_assert_int_eq(enc.cols[3].slot, 1);
	ck_assert_int_eq(enc.cols[5].slot, 2);
	ck_assert_str_eq(enc.labels[0], "good");
	ck_assert_str_eq(enc.labels[1], "bad");
	expect_vocab(&enc.cols[2], "paris|rome");
	expect_vocab(&enc.cols[3], "17|A1");

	/* Mean and (population) standard deviation of the present ages. */
	double mean = sum / n;
	for (int i = 1; i <= 20; i++)
		if (i % 7 != 0)
			sum2 += (20 + i * 1.5 - mean) * (20 + i * 1.5 - mean);
	ck_assert_double_eq_tol(enc.cols[1].mean, mean, 1e-12 * mean);
	ck_assert_double_eq_tol(enc.cols[1].std, sqrt(sum2 / n), 1e-12 * mean);

	/* The fingerprint is the encoding's. */
	{
		char fp[65];
		memcpy(fp, enc.fingerprint, sizeof(fp));
		ck_assert_int_eq(tp_encoding_fingerprint(&enc, &e), TP_OK);
		ck_assert_str_eq(fp, enc.fingerprint);
	}

	/* Written: ids from the Id column, labels, categories. */
	{
		blob s;
		tp_batch b;
		tp_ingest_counts counts;
		ck_assert_int_eq(write_text(&o, t.buf, &enc, 1, &s, &counts, &e),
		    TP_OK);
		ck_assert_uint_eq(counts.read, 20);
		ck_assert_uint_eq(counts.written[0], 20);
		ck_assert_uint_eq(counts.rejected, 0);
		read_blob(&s, &enc, &b);
		ck_assert_uint_eq(b.n, 20);
		for (int i = 1; i <= 20; i++) {
			tp_row r = tp_batch_row(&b, (size_t)i - 1);
			ck_assert_int_eq(*r.id, i);
			ck_assert_int_eq(*r.label, i % 4 ? 0 : 1);
			ck_assert_int_eq(r.cat[0], i % 3 ? 1 : 2);
			ck_assert_int_eq(r.cat[1], i % 10 == 3 ? 2 : 1);
			ck_assert_int_eq(r.cat[2], 0);
			ck_assert(isnan(r.num[0]) == (i % 7 == 0));
		}
		tp_batch_free(&b);
		free(s.buf);
	}
	tp_encoding_free(&enc);
	free(t.buf);
}
END_TEST

START_TEST(test_kind_options)
{
	tp_ingest_opts o = {.min_count = 1};
	tp_encoding enc;
	tp_err e = {0};

	/* A 0/1 target: 1 is positive without saying so. A column "id" with
	 * a non-integer is no id. */
	o.target = "t";
	ck_assert_int_eq(fit_text(&o, "id,t\n1.5,0\n2,1\n3,1\n", &enc, &e),
	    TP_OK);
	ck_assert_int_eq(enc.cols[0].kind, TP_KIND_NUMERIC);
	ck_assert_int_eq(enc.id_col, -1);
	ck_assert_str_eq(enc.labels[0], "0");
	ck_assert_str_eq(enc.labels[1], "1");
	tp_encoding_free(&enc);

	/* --id names the id column. */
	o.id = "key";
	ck_assert_int_eq(fit_text(&o, "key,t\n10,0\n20,1\n", &enc, &e), TP_OK);
	ck_assert_int_eq(enc.id_col, 0);
	tp_encoding_free(&enc);
	o.id = NULL;

	/* Other values need --positive. */
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n2,bad\n", &enc, &e),
	    TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv:2: column 2 (t): target value \"good\" is neither 0 nor 1: say which value is positive with --positive");
	ck_assert_ptr_null(enc.cols);
	o.positive = "ugly";
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n2,bad\n", &enc, &e),
	    TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv: positive label \"ugly\" is not a value of target \"t\" (\"good\", \"bad\")");
	o.positive = "bad";
	/* A third target value is a bad row. */
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n2,bad\n3,ugly\n", &enc, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:4: column 2 (t): \"ugly\" is neither label (\"good\", \"bad\")");
	o.max_rejects = 1;
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n2,bad\n3,ugly\n", &enc, &e),
	    TP_OK);
	ck_assert_str_eq(enc.labels[0], "good");
	ck_assert_str_eq(enc.labels[1], "bad");
	tp_encoding_free(&enc);
	o.max_rejects = 0;
	o.target = "nope";
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n", &enc, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: target column \"nope\" is not in the header");
	o.target = NULL;
	ck_assert_int_eq(fit_text(&o, "a,b,a\n1,2,3\n", &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv:1: column 3: \"a\" is also column 1");
	ck_assert_int_eq(fit_text(&o, "", &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv: empty: no header line");
}
END_TEST

START_TEST(test_vocabulary)
{
	static const char *const values[] = {
		"rome", "paris", "berlin", "zz", "\"NA\"", "paris", "a", "rome",
		"NA", "ab", "zz", "Zurich", "rome", "\"NA\"", "b", "paris", "",
		"berlin",
	};
	tp_ingest_opts o = {.min_count = 1};
	tp_encoding enc;
	tp_err e = {0};
	text t;

	text_open(&t);
	fputs("city,n\n", t.f);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		fprintf(t.f, "%s,%zu\n", values[i], i);
	text_close(&t);

	/* Most frequent first, ties by bytes (a prefix first; "NA" quoted
	 * is a value, unquoted it is missing). */
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	ck_assert_int_eq(enc.cols[0].kind, TP_KIND_CATEGORICAL);
	expect_vocab(&enc.cols[0], "paris|rome|NA|berlin|zz|Zurich|a|ab|b");
	tp_encoding_free(&enc);

	o.min_count = 2;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "paris|rome|NA|berlin|zz");
	tp_encoding_free(&enc);

	o.min_count = 3;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "paris|rome");
	tp_encoding_free(&enc);

	o.min_count = 4;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "");
	tp_encoding_free(&enc);

	o.min_count = 1;
	o.max_vocab = 3;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "paris|rome|NA");
	tp_encoding_free(&enc);

	o.min_count = 2;
	o.max_vocab = 4;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "paris|rome|NA|berlin");
	tp_encoding_free(&enc);

	o.min_count = 3;
	o.max_vocab = 1;
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "paris");

	/* A value cut from the vocabulary is unseen when written. */
	{
		blob s;
		tp_batch b;
		tp_ingest_counts counts;
		ck_assert_int_eq(write_text(&o, t.buf, &enc, 1, &s, &counts, &e),
		    TP_OK);
		read_blob(&s, &enc, &b);
		FILE *f = fmemopen(s.buf, s.len, "rb");
		tp_stream_reader *r;
		tp_batch b2;
		ck_assert_int_eq(tp_stream_reader_open(&r, f, "out", &e), TP_OK);
		ck_assert_int_eq(tp_batch_init(&b2, 1, 1, 1, &e), TP_OK);
		while (tp_stream_read(r, &b2, SIZE_MAX, &e) > 0)
			;
		/* 18 values: 3 paris, 2 missing, 13 others. */
		ck_assert_uint_eq(tp_stream_unseen(r)[0], 13);
		tp_stream_reader_close(r);
		fclose(f);
		for (size_t i = 0; i < b.n; i++)
			ck_assert_int_eq(b.cat[i], strcmp(values[i], "paris") == 0);
		tp_batch_free(&b);
		tp_batch_free(&b2);
		free(s.buf);
	}
	tp_encoding_free(&enc);
	free(t.buf);
}
END_TEST

START_TEST(test_parse_split)
{
	tp_ingest_opts o = {0};
	tp_err e = {0};

	ck_assert_int_eq(tp_ingest_parse_split(&o, "70/15/15", &e), TP_OK);
	ck_assert_int_eq(o.nsplit, 3);
	ck_assert_int_eq(o.split[0], 70);
	ck_assert_int_eq(o.split[1], 15);
	ck_assert_int_eq(o.split[2], 15);
	ck_assert_int_eq(tp_ingest_parse_split(&o, "8/2", &e), TP_OK);
	ck_assert_int_eq(o.nsplit, 2);
	ck_assert_int_eq(o.split[0], 8);
	ck_assert_int_eq(o.split[1], 2);
	static const char *const bad[] = {"70", "", "0/100", "a/b", "70/15/15/0",
	    "70//30", "-1/2", "999/2", "70/30x", "1/1/1/1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.code = 0;
		ck_assert_msg(tp_ingest_parse_split(&o, bad[i], &e) == TP_EUSAGE,
		    "\"%s\" accepted", bad[i]);
		ck_assert_int_eq(e.code, TP_EUSAGE);
	}
}
END_TEST

/*
 * 400 rows: class bad every 4th (100 rows), good twice in 4 (200),
 * unlabelled once in 4 (100); x with some missing values, c unique to each
 * row.
 */
enum { SPLIT_ROWS = 400 };

static double
split_x(int i)
{
	return ((i * 37) % 101) * 1.5 + (i % 4 == 0 ? 10 : 0) + i * 0.01;
}

static char *
split_csv(void)
{
	text t;

	text_open(&t);
	fputs("id,x,c,y\n", t.f);
	for (int i = 0; i < SPLIT_ROWS; i++) {
		static const char *const cls[] = {"bad", "good", "good", "NA"};
		if (i % 13 == 5)
			fprintf(t.f, "%d,NA,v%d,%s\n", i, i, cls[i % 4]);
		else
			fprintf(t.f, "%d,%.17g,v%d,%s\n", i, split_x(i), i,
			    cls[i % 4]);
	}
	text_close(&t);
	return t.buf;
}

/* Fits and writes the split with seed; part[i] gets row i's part. */
static void
run_split(uint64_t seed, tp_encoding *enc, int *part, uint64_t cls[3][3])
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1,
	    .seed = seed};
	char *csv = split_csv();
	tp_ingest_counts counts;
	tp_err e = {0};
	blob s[3];

	ck_assert_int_eq(tp_ingest_parse_split(&o, "70/15/15", &e), TP_OK);
	ck_assert_int_eq(fit_text(&o, csv, enc, &e), TP_OK);
	ck_assert_msg(write_text(&o, csv, enc, 3, s, &counts, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_uint_eq(counts.read, SPLIT_ROWS);
	ck_assert_uint_eq(counts.rejected, 0);
	ck_assert_uint_eq(counts.written[0], 280);
	ck_assert_uint_eq(counts.written[1], 60);
	ck_assert_uint_eq(counts.written[2], 60);
	for (int i = 0; i < SPLIT_ROWS; i++)
		part[i] = -1;
	memset(cls, 0, 9 * sizeof(uint64_t));
	for (int p = 0; p < 3; p++) {
		tp_batch b;
		read_blob(&s[p], enc, &b);
		ck_assert_uint_eq(b.n, counts.written[p]);
		for (size_t k = 0; k < b.n; k++) {
			int64_t id = b.id[k];
			ck_assert(id >= 0 && id < SPLIT_ROWS);
			ck_assert_int_eq(part[id], -1);
			part[id] = p;
			cls[p][b.label[k] + 1]++;
			/* The row's own label. */
			ck_assert_int_eq(b.label[k],
			    id % 4 == 0 ? 1 : id % 4 == 3 ? -1 : 0);
		}
		tp_batch_free(&b);
		free(s[p].buf);
	}
	for (int i = 0; i < SPLIT_ROWS; i++)
		ck_assert_int_ne(part[i], -1);
	free(csv);
}

START_TEST(test_split_shares)
{
	static const uint64_t seeds[] = {42, 43, 0, UINT64_MAX};
	tp_encoding enc;
	int part[SPLIT_ROWS];
	uint64_t cls[3][3];

	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		run_split(seeds[k], &enc, part, cls);
		/* Per class (unlabelled, good, bad): exactly 70/15/15. */
		ck_assert_uint_eq(cls[0][2], 70);
		ck_assert_uint_eq(cls[1][2], 15);
		ck_assert_uint_eq(cls[2][2], 15);
		ck_assert_uint_eq(cls[0][1], 140);
		ck_assert_uint_eq(cls[1][1], 30);
		ck_assert_uint_eq(cls[2][1], 30);
		ck_assert_uint_eq(cls[0][0], 70);
		ck_assert_uint_eq(cls[1][0], 15);
		ck_assert_uint_eq(cls[2][0], 15);
		/* Dealt at random, not the first 70 of a class to training. */
		int first70 = 1;
		for (int j = 0, seen = 0; j < SPLIT_ROWS && seen < 70; j += 4, seen++)
			first70 &= part[j] == 0;
		ck_assert(!first70);
		tp_encoding_free(&enc);
	}
}
END_TEST

START_TEST(test_split_seed)
{
	tp_encoding a, b, c;
	int pa[SPLIT_ROWS], pb[SPLIT_ROWS], pc[SPLIT_ROWS];
	uint64_t cls[3][3];
	int differ = 0;

	run_split(42, &a, pa, cls);
	run_split(42, &b, pb, cls);
	run_split(43, &c, pc, cls);
	for (int i = 0; i < SPLIT_ROWS; i++) {
		ck_assert_int_eq(pa[i], pb[i]);
		differ += pa[i] != pc[i];
	}
	ck_assert_int_gt(differ, 20);
	ck_assert_str_eq(a.fingerprint, b.fingerprint);
	ck_assert_str_ne(a.fingerprint, c.fingerprint);
	tp_encoding_free(&a);
	tp_encoding_free(&b);
	tp_encoding_free(&c);
}
END_TEST

/* The statistics and the vocabulary come from the training rows only. */
START_TEST(test_split_fit_on_train)
{
	tp_encoding enc;
	int part[SPLIT_ROWS];
	uint64_t cls[3][3];
	double sum = 0, sum2 = 0, all = 0;
	int n = 0, nall = 0;

	run_split(7, &enc, part, cls);
	for (int i = 0; i < SPLIT_ROWS; i++) {
		if (i % 13 == 5)
			continue;
		all += split_x(i);
		nall++;
		if (part[i] == 0) {
			sum += split_x(i);
			n++;
		}
	}
	double mean = sum / n;
	for (int i = 0; i < SPLIT_ROWS; i++)
		if (i % 13 != 5 && part[i] == 0)
			sum2 += (split_x(i) - mean) * (split_x(i) - mean);
	double std = sqrt(sum2 / n);
	const tp_column *x = &enc.cols[col_index(&enc, "x")];
	ck_assert_int_eq(x->kind, TP_KIND_NUMERIC);
	/* The mean of all rows would be told apart. */
	ck_assert(fabs(all / nall - mean) > 1e-3);
	ck_assert_double_eq_tol(x->mean, mean, 1e-12 * fabs(mean));
	ck_assert_double_eq_tol(x->std, std, 1e-12 * std);

	const tp_column *c = &enc.cols[col_index(&enc, "c")];
	ck_assert_uint_eq(c->vocab.n, 280);
	for (int i = 0; i < SPLIT_ROWS; i++) {
		char v[16];
		snprintf(v, sizeof(v), "v%d", i);
		ck_assert_int_eq(tp_strmap_find(&c->vocab, v, strlen(v)) >= 0,
		    part[i] == 0);
	}
	tp_encoding_free(&enc);
}
END_TEST

/* 30 good rows, ids 1 to 30, x = id / 4, with bad rows put in. */
static char *
bad_csv(int short_row, int bad_number)
{
	text t;

	text_open(&t);
	fputs("id,x,c,y\n", t.f);
	for (int i = 1; i <= 30; i++) {
		fprintf(t.f, "%d,%g,%s,%s\n", i, i / 4.0, i % 2 ? "a" : "b",
		    i % 3 ? "good" : "bad");
		if (i == 3 && short_row)
			fputs("100,2.5,a\n", t.f);       /* line 5 */
		if (i == 6 && bad_number)
			fputs("200,12abc,b,bad\r\n", t.f); /* line 8 or 9 */
	}
	text_close(&t);
	return t.buf;
}

typedef struct {
	char msgs[4][256];
	int n;
} reject_log;

static void
log_reject(void *ctx, const char *msg)
{
	reject_log *l = ctx;

	ck_assert_int_lt(l->n, 4);
	snprintf(l->msgs[l->n++], sizeof(l->msgs[0]), "%s", msg);
}

START_TEST(test_bad_rows_fail)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1};
	tp_encoding enc, good;
	tp_err e = {0};
	char *csv;

	csv = bad_csv(1, 0);
	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv:5: expected 4 fields, found 3");
	ck_assert_ptr_null(enc.cols);
	free(csv);

	csv = bad_csv(0, 1);
	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv:8: column 2 (x): \"12abc\" is not a number");
	free(csv);

	/* One bad row more than allowed. */
	o.max_rejects = 1;
	csv = bad_csv(1, 1);
	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "more than 1 row rejected: t.csv:9: column 2 (x): \"12abc\" is not a number");

	/* Writing with an encoding fitted on good rows stops the same way. */
	o.max_rejects = 0;
	{
		char *clean = bad_csv(0, 0);
		blob s;
		tp_ingest_counts counts;
		ck_assert_int_eq(fit_text(&o, clean, &good, &e), TP_OK);
		ck_assert_int_eq(write_text(&o, csv, &good, 1, &s, &counts, &e),
		    TP_EDATA);
		ck_assert_str_eq(e.msg, "t.csv:5: expected 4 fields, found 3");
		free(s.buf);
		free(clean);
		tp_encoding_free(&good);
	}
	free(csv);
}
END_TEST

START_TEST(test_bad_rows_skipped)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1,
	    .max_rejects = 5};
	reject_log log = {.n = 0};
	tp_ingest_counts counts;
	tp_encoding enc;
	tp_err e = {0};
	char *csv = bad_csv(1, 1), *rej = NULL;
	size_t rejlen = 0;
	tp_batch b;
	blob s;

	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_OK);
	/* The bad rows count for nothing: x is id / 4 over ids 1 to 30. */
	const tp_column *x = &enc.cols[1];
	ck_assert_int_eq(x->kind, TP_KIND_NUMERIC);
	ck_assert_double_eq_tol(x->mean, 15.5 / 4, 1e-12);
	ck_assert_double_eq_tol(x->std, sqrt((30.0 * 30 - 1) / 12) / 4, 1e-12);

	o.rejects = open_memstream(&rej, &rejlen);
	o.on_reject = log_reject;
	o.ctx = &log;
	ck_assert_int_eq(write_text(&o, csv, &enc, 1, &s, &counts, &e), TP_OK);
	ck_assert_int_eq(fclose(o.rejects), 0);
	ck_assert_uint_eq(counts.read, 32);
	ck_assert_uint_eq(counts.rejected, 2);
	ck_assert_uint_eq(counts.written[0], 30);
	ck_assert_str_eq(rej, "100,2.5,a\n200,12abc,b,bad\r\n");
	ck_assert_int_eq(log.n, 2);
	ck_assert_str_eq(log.msgs[0], "t.csv:5: expected 4 fields, found 3");
	ck_assert_str_eq(log.msgs[1],
	    "t.csv:9: column 2 (x): \"12abc\" is not a number");
	read_blob(&s, &enc, &b);
	ck_assert_uint_eq(b.n, 30);
	for (size_t i = 0; i < b.n; i++)
		ck_assert_int_eq(b.id[i], (int64_t)i + 1);
	tp_batch_free(&b);
	free(s.buf);
	free(rej);
	free(csv);
	tp_encoding_free(&enc);
}
END_TEST

/* The last line, bad and without a line end, gets one in the rejects file. */
START_TEST(test_reject_last_line)
{
	tp_ingest_opts o = {.min_count = 1, .max_rejects = 1};
	tp_ingest_counts counts;
	tp_encoding enc;
	tp_err e = {0};
	const char *csv = "a,b\n1,2\n3,4\n5";
	char *rej = NULL;
	size_t rejlen = 0;
	blob s;

	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_OK);
	o.rejects = open_memstream(&rej, &rejlen);
	ck_assert_int_eq(write_text(&o, csv, &enc, 1, &s, &counts, &e), TP_OK);
	ck_assert_int_eq(fclose(o.rejects), 0);
	ck_assert_uint_eq(counts.rejected, 1);
	ck_assert_uint_eq(counts.written[0], 2);
	ck_assert_str_eq(rej, "5\n");
	free(rej);
	free(s.buf);
	tp_encoding_free(&enc);
}
END_TEST

/* A column with 19 numbers in 20 is numeric and the odd value a bad row;
 * with 18 it is categorical. */
START_TEST(test_numeric_threshold)
{
	tp_ingest_opts o = {.min_count = 1};
	tp_encoding enc;
	tp_err e = {0};
	text t;

	for (int nbad = 1; nbad <= 2; nbad++) {
		text_open(&t);
		fputs("k,s\n", t.f);
		for (int i = 1; i <= 20; i++)
			fprintf(t.f, "%d,%s\n", i, i > 20 - nbad ? "x" : "3.25");
		text_close(&t);
		int rc = fit_text(&o, t.buf, &enc, &e);
		if (nbad == 1) {
			ck_assert_int_eq(rc, TP_EDATA);
			ck_assert_str_eq(e.msg,
			    "t.csv:21: column 2 (s): \"x\" is not a number");
			o.max_rejects = 1;
			ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
			ck_assert_int_eq(enc.cols[1].kind, TP_KIND_NUMERIC);
			ck_assert_double_eq_tol(enc.cols[1].mean, 3.25, 1e-15);
			/* Constant: std 1. */
			ck_assert_double_eq_tol(enc.cols[1].std, 1, 1e-15);
			o.max_rejects = 0;
		} else {
			ck_assert_int_eq(rc, TP_OK);
			ck_assert_int_eq(enc.cols[1].kind, TP_KIND_CATEGORICAL);
		}
		ck_assert_int_eq(enc.cols[0].kind, TP_KIND_NUMERIC);
		tp_encoding_free(&enc);
		free(t.buf);
	}
}
END_TEST

/*
 * A real data set: fit, write a stream to a temporary file, read it back,
 * and compare every value with the CSV read again.
 */
static void
round_trip(const char *file, const char *target, const char *cat_col,
    const char *num_col, int has_missing)
{
	const char *dir = getenv("TP_DATA");
	tp_ingest_opts o = {.target = target, .positive = "bad", .min_count = 1};
	tp_ingest_counts counts;
	tp_stream_writer *w;
	tp_stream_reader *r;
	tp_encoding enc;
	tp_batch b;
	tp_err e = {0};
	tp_csv *csv;
	char path[4096];
	FILE *out;
	long got;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "data", file);
	tp_input in = {.name = path, .f = fopen(path, "rb")};
	ck_assert_msg(in.f != NULL, "cannot open %s (set TP_DATA)", path);
	ck_assert_msg(tp_ingest_fit(&o, &in, 1, &enc, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(enc.cols[col_index(&enc, cat_col)].kind,
	    TP_KIND_CATEGORICAL);
	ck_assert_int_eq(enc.cols[col_index(&enc, num_col)].kind,
	    TP_KIND_NUMERIC);
	ck_assert_str_eq(enc.cols[enc.target_col].name, target);
	ck_assert_str_eq(enc.labels[1], "bad");
	ck_assert_str_eq(enc.labels[0], "good");

	out = tmpfile();
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(tp_stream_writer_open(&w, out, path, &enc, &e), TP_OK);
	ck_assert_msg(tp_ingest_write(&o, &in, 1, &enc, &w, &counts, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_uint_eq(counts.rejected, 0);
	ck_assert_uint_eq(counts.written[0], counts.read);
	ck_assert_uint_gt(counts.read, 1000);

	rewind(out);
	ck_assert_int_eq(tp_stream_reader_open(&r, out, "back", &e), TP_OK);
	const tp_encoding *be = tp_stream_encoding(r);
	ck_assert_str_eq(be->fingerprint, enc.fingerprint);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	while ((got = tp_stream_read(r, &b, SIZE_MAX, &e)) > 0)
		;
	ck_assert_msg(got == 0, "%s", e.msg);
	ck_assert_uint_eq(b.n, counts.read);
	for (int j = 0; j < enc.ncat; j++)
		ck_assert_uint_eq(tp_stream_unseen(r)[j], 0);

	/* Every value against the CSV, from the stream's own encoding. */
	rewind(in.f);
	ck_assert_int_eq(tp_csv_open(&csv, in.f, path, &e), TP_OK);
	ck_assert_int_eq(tp_csv_next(csv, &e), 1);
	ck_assert_uint_eq(tp_csv_nfields(csv), (size_t)be->ncols);
	size_t n = 0, nmissing = 0, nnumbers = 0, ncats = 0;
	while (tp_csv_next(csv, &e) > 0) {
		const tp_field *f = tp_csv_fields(csv);
		ck_assert_uint_lt(n, b.n);
		tp_row row = tp_batch_row(&b, n);
		n++;
		ck_assert_int_eq(*row.id, (int64_t)n);
		for (int i = 0; i < be->ncols; i++) {
			const tp_column *c = &be->cols[i];
			int missing = tp_field_missing(&f[i]);
			nmissing += missing;
			switch (c->kind) {
			case TP_KIND_NUMERIC: {
				float z = row.num[c->slot];
				double x;
				if (missing) {
					ck_assert_msg(isnan(z), "%s:%ld: %s",
					    path, tp_csv_line(csv), c->name);
					break;
				}
				ck_assert_int_eq(tp_parse_double(f[i].s, f[i].len, &x), 0);
				double back = (double)z * c->std + c->mean;
				double tol = 1e-6 * (fabs(x) + fabs(c->mean) + c->std);
				if (!(fabs(back - x) <= tol))
					ck_abort_msg("%s:%ld: %s: %.17g back as %.17g",
					    path, tp_csv_line(csv), c->name, x, back);
				nnumbers++;
				break;
			}
			case TP_KIND_CATEGORICAL: {
				int32_t k = row.cat[c->slot];
				if (missing) {
					ck_assert_int_eq(k, 0);
					break;
				}
				ck_assert_msg(k > 0 && (size_t)k <= c->vocab.n,
				    "%s:%ld: %s: index %d", path, tp_csv_line(csv),
				    c->name, k);
				if (c->vocab.lens[k - 1] != f[i].len ||
				    memcmp(c->vocab.keys[k - 1], f[i].s, f[i].len) != 0)
					ck_abort_msg("%s:%ld: %s: \"%.*s\" back as \"%s\"",
					    path, tp_csv_line(csv), c->name, (int)f[i].len,
					    f[i].s, c->vocab.keys[k - 1]);
				ncats++;
				break;
			}
			case TP_KIND_TARGET: {
				int want = missing ? -1 :
				    f[i].len == 3 && memcmp(f[i].s, "bad", 3) == 0 ? 1 : 0;
				ck_assert_int_eq(*row.label, want);
				break;
			}
			case TP_KIND_ID:
			case TP_KIND_IGNORE:
				ck_abort_msg("column %s: unexpected kind %s", c->name,
				    tp_kind_name(c->kind));
			}
		}
	}
	ck_assert_int_eq(tp_csv_next(csv, &e), 0);
	ck_assert_uint_eq(n, b.n);
	ck_assert_uint_gt(nnumbers, 0);
	ck_assert_uint_gt(ncats, 0);
	/* Where the data set has missing values, they were compared. */
	ck_assert_int_eq(nmissing > 0, has_missing);
	tp_csv_close(csv);
	tp_stream_reader_close(r);
	tp_batch_free(&b);
	fclose(out);
	fclose(in.f);
	tp_encoding_free(&enc);
}

/* The fit's errors that no single row causes name the input, and those of
 * the header its line. */
START_TEST(test_fit_errors_placed)
{
	tp_ingest_opts o = {.target = "t", .positive = "bad", .min_count = 1};
	tp_encoding enc;
	tp_err e = {0};
	text t;

	/* One class only, and not the positive one. */
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n2,good\n", &enc, &e),
	    TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv: positive label \"bad\" is not a value of target \"t\" (\"good\")");
	/* Two files: both named. */
	{
		static const char a[] = "x,t\n1,good\n", b[] = "x,t\n2,good\n";
		tp_input in[2] = {
			{.name = "a.csv", .f = text_file(a, strlen(a))},
			{.name = "b.csv", .f = text_file(b, strlen(b))},
		};
		ck_assert_int_eq(tp_ingest_fit(&o, in, 2, &enc, &e), TP_EUSAGE);
		ck_assert_str_eq(e.msg,
		    "a.csv, b.csv: positive label \"bad\" is not a value of target \"t\" (\"good\")");
		fclose(in[0].f);
		fclose(in[1].f);
	}
	/* The header's own line, after empty lines. */
	o.target = "T";
	ck_assert_int_eq(fit_text(&o, "\n\nx,t\n1,good\n", &enc, &e),
	    TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv:3: target column \"T\" is not in the header");
	o.target = "t";
	o.id = "k";
	ck_assert_int_eq(fit_text(&o, "x,t\n1,good\n", &enc, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: id column \"k\" is not in the header");
	o.id = NULL;
	/* More than 1000 values: the row of the 1001st. */
	o.positive = "v0";
	text_open(&t);
	fputs("x,t\n", t.f);
	for (int i = 0; i <= 1000; i++)
		fprintf(t.f, "%d,v%d\n", i, i);
	text_close(&t);
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "t.csv:1002: column 2 (t): target \"t\" has more than 1000 values: tabpipe predicts a binary outcome");
	free(t.buf);
}
END_TEST

/* An encoding is fitted on at least one row. */
START_TEST(test_no_rows)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1};
	tp_encoding enc;
	tp_err e = {0};

	ck_assert_int_eq(fit_text(&o, "a,y\n", &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv: no data rows to fit an encoding on");
	ck_assert_ptr_null(enc.cols);
	ck_assert_int_eq(fit_text(&o, "a,y\n\n\r\n", &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv: no data rows to fit an encoding on");
	/* Every row rejected. */
	o.max_rejects = 2;
	ck_assert_int_eq(fit_text(&o, "a,y\n1\n2\n", &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv: none of the 2 rows read is left to fit an encoding on (rejected, or dealt to the parts of the split other than train)");
	/* Every row dealt to the test part. */
	o.max_rejects = 0;
	ck_assert_int_eq(tp_ingest_parse_split(&o, "1/999", &e), TP_OK);
	ck_assert_int_eq(fit_text(&o, "a,y\n1,bad\n2,bad\n", &enc, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv: none of the 2 rows read is left to fit an encoding on (rejected, or dealt to the parts of the split other than train)");
	ck_assert_ptr_null(enc.cols);
}
END_TEST

/* A NUL byte in a field, which neither JSON nor C strings keep: a bad
 * value at its line and column, in fitting and in applying. */
START_TEST(test_nul_byte)
{
	static const char csv[] = "a,Class\nx,bad\nx\0y,good\n";
	static const char head[] = "a\0b,Class\nx,bad\n";
	tp_ingest_opts o = {.target = "Class", .positive = "bad",
	    .min_count = 1};
	tp_ingest_counts counts;
	tp_encoding enc;
	tp_err e = {0};
	blob s;

	ck_assert_int_eq(fit_bytes(&o, csv, sizeof(csv) - 1, &enc, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:3: column 1 (a): the value holds a NUL byte (byte 2)");
	ck_assert_int_eq(fit_bytes(&o, head, sizeof(head) - 1, &enc, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 1: the name holds a NUL byte (byte 2)");
	/* Skipped, it is no value of the vocabulary. */
	o.max_rejects = 1;
	ck_assert_int_eq(fit_bytes(&o, csv, sizeof(csv) - 1, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "x");
	ck_assert_int_eq(write_bytes(&o, csv, sizeof(csv) - 1, &enc, 1, &s,
	    &counts, &e), TP_OK);
	ck_assert_uint_eq(counts.rejected, 1);
	ck_assert_uint_eq(counts.written[0], 1);
	free(s.buf);
	/* Applied, it is no unseen value either. */
	o.max_rejects = 0;
	ck_assert_int_eq(write_bytes(&o, csv, sizeof(csv) - 1, &enc, 1, &s,
	    &counts, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:3: column 1 (a): the value holds a NUL byte (byte 2)");
	free(s.buf);
	ck_assert_int_eq(write_bytes(&o, head, sizeof(head) - 1, &enc, 1, &s,
	    &counts, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 1: the name holds a NUL byte (byte 2)");
	free(s.buf);
	tp_encoding_free(&enc);
}
END_TEST

/* Text that is not UTF-8 never reaches an encoding: not in a name, a
 * category or a label. */
START_TEST(test_bad_utf8)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1};
	tp_ingest_counts counts;
	tp_encoding enc;
	tp_err e = {0};
	blob s;
	const char *csv = "a,y\nx,bad\n\xc3\xa9t\xc3\xa9,good\nx\xff,good\n"
	    "z,g\xe9nial\nx,good\n";

	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:4: column 1 (a): the value is not UTF-8 (byte 2 is 0xff)");
	ck_assert_int_eq(fit_text(&o, "a,\xe9t\xe9\n1,2\n", &enc, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 2: the name is not UTF-8 (byte 1 is 0xe9)");
	/* Skipped rows leave no trace: the target's third value, seen
	 * more often than good, is not the negative label. */
	o.max_rejects = 2;
	ck_assert_int_eq(fit_text(&o, "a,y\nx,bad\nz,g\xe9nial\nz,g\xe9nial\n"
	    "x,good\n", &enc, &e), TP_OK);
	ck_assert_str_eq(enc.labels[0], "good");
	tp_encoding_free(&enc);
	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_OK);
	expect_vocab(&enc.cols[0], "x|\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(enc.labels[0], "good");
	ck_assert_int_eq(write_text(&o, csv, &enc, 1, &s, &counts, &e), TP_OK);
	ck_assert_uint_eq(counts.rejected, 2);
	ck_assert_uint_eq(counts.written[0], 3);
	free(s.buf);
	tp_encoding_free(&enc);
}
END_TEST

/* Numbers near the largest double: statistics without overflow, and a
 * value that its column's encoding cannot store is a bad value. */
START_TEST(test_huge_numbers)
{
	tp_ingest_opts o = {.target = "y", .min_count = 1};
	tp_ingest_counts counts;
	tp_encoding enc, back;
	tp_err e = {0};
	tp_batch b;
	blob s;
	const char *csv = "a,y\n1,0\n1e155,1\n-1e155,0\n2,1\n";
	const char *edge = "a,y\n1.7976931348623157e308,0\n"
	    "-1.7976931348623157e308,1\n1.7976931348623157e308,1\n";

	ck_assert_int_eq(fit_text(&o, csv, &enc, &e), TP_OK);
	ck_assert(isfinite(enc.cols[0].std));
	ck_assert_double_eq_tol(enc.cols[0].std, 1e155 * sqrt(0.5),
	    1e-12 * 1e155);
	/* 0.75, less what the sum of 1e155 and -1e155 leaves of it. */
	ck_assert_double_eq_tol(enc.cols[0].mean, 0.75, 1e-12 * 1e155);
	{
		cJSON *json = tp_encoding_to_json(&enc);
		char *printed = cJSON_PrintUnformatted(json);
		cJSON *again = cJSON_Parse(printed);
		ck_assert_ptr_nonnull(again);
		ck_assert_int_eq(tp_encoding_from_json(&back, again, "again",
		    &e), TP_OK);
		ck_assert_str_eq(back.fingerprint, enc.fingerprint);
		tp_encoding_free(&back);
		cJSON_Delete(again);
		cJSON_Delete(json);
		free(printed);
	}
	ck_assert_int_eq(write_text(&o, csv, &enc, 1, &s, &counts, &e), TP_OK);
	read_blob(&s, &enc, &b);
	ck_assert_uint_eq(b.n, 4);
	for (size_t i = 0; i < b.n; i++)
		ck_assert(isfinite(b.num[i]));
	ck_assert_float_eq_tol(b.num[1], (float)sqrt(2), 1e-6);
	tp_batch_free(&b);
	free(s.buf);
	tp_encoding_free(&enc);

	/* The largest doubles, of both signs. */
	ck_assert_int_eq(fit_text(&o, edge, &enc, &e), TP_OK);
	ck_assert(isfinite(enc.cols[0].mean));
	ck_assert(isfinite(enc.cols[0].std));
	ck_assert_double_eq_tol(enc.cols[0].std,
	    1.7976931348623157e308 / 3 * sqrt(8.0), 1e-12 * 1e308);
	ck_assert_int_eq(write_text(&o, edge, &enc, 1, &s, &counts, &e), TP_OK);
	free(s.buf);
	tp_encoding_free(&enc);

	/* Applied to a number far from the fitted ones. */
	ck_assert_int_eq(fit_text(&o, "a,y\n1,0\n2,1\n3,0\n", &enc, &e), TP_OK);
	ck_assert_int_eq(write_text(&o, "a,y\n2,0\n1e300,1\n", &enc, 1, &s,
	    &counts, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:3: column 1 (a): \"1e300\" is out of the range the encoding can store (mean 2, std 0.816497)");
	free(s.buf);
	o.max_rejects = 1;
	ck_assert_int_eq(write_text(&o, "a,y\n2,0\n1e300,1\n", &enc, 1, &s,
	    &counts, &e), TP_OK);
	ck_assert_uint_eq(counts.rejected, 1);
	ck_assert_uint_eq(counts.written[0], 1);
	free(s.buf);
	tp_encoding_free(&enc);
}
END_TEST

/* New data without the target column: read unlabelled, with the encoding
 * it was fitted with. */
START_TEST(test_apply_without_target)
{
	tp_ingest_opts o = {.target = "y", .positive = "bad", .min_count = 1};
	tp_ingest_counts counts;
	tp_encoding enc;
	tp_err e = {0};
	tp_batch b;
	blob s;

	ck_assert_int_eq(fit_text(&o, "c,y,x\na,bad,1\nb,good,3\n", &enc, &e),
	    TP_OK);
	ck_assert_int_eq(write_text(&o, "c,x\nb,3\nz,NA\na,1\n", &enc, 1, &s,
	    &counts, &e), TP_OK);
	ck_assert_uint_eq(counts.written[0], 3);
	read_blob(&s, &enc, &b);
	ck_assert_uint_eq(b.n, 3);
	for (size_t i = 0; i < b.n; i++) {
		tp_row r = tp_batch_row(&b, i);
		ck_assert_int_eq(*r.label, -1);
		ck_assert_int_eq(*r.id, (int64_t)i + 1);
	}
	ck_assert_int_eq(b.cat[0], 2);
	ck_assert_int_eq(b.cat[1], 0);
	ck_assert_int_eq(b.cat[2], 1);
	ck_assert_float_eq(b.num[0], 1.0f);
	ck_assert(isnan(b.num[1]));
	ck_assert_float_eq(b.num[2], -1.0f);
	tp_batch_free(&b);
	free(s.buf);
	/* A file with the target and one without, one after the other. */
	{
		static const char a[] = "c,y,x\na,bad,1\n", c[] = "c,x\nb,3\n";
		tp_input in[2] = {
			{.name = "a.csv", .f = text_file(a, strlen(a))},
			{.name = "c.csv", .f = text_file(c, strlen(c))},
		};
		tp_stream_writer *w;
		FILE *f;
		s.buf = NULL;
		f = open_memstream(&s.buf, &s.len);
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(tp_stream_writer_open(&w, f, "out", &enc, &e),
		    TP_OK);
		ck_assert_int_eq(tp_ingest_write(&o, in, 2, &enc, &w, &counts,
		    &e), TP_OK);
		ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
		ck_assert_int_eq(fclose(f), 0);
		read_blob(&s, &enc, &b);
		ck_assert_uint_eq(b.n, 2);
		ck_assert_int_eq(b.label[0], 1);
		ck_assert_int_eq(b.label[1], -1);
		tp_batch_free(&b);
		free(s.buf);
		fclose(in[0].f);
		fclose(in[1].f);
	}
	/* Another column missing is still a header that does not match. */
	ck_assert_int_eq(write_text(&o, "y,x\nbad,3\n", &enc, 1, &s, &counts,
	    &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 1 is \"y\", the encoding expects \"c\"");
	free(s.buf);
	tp_encoding_free(&enc);
}
END_TEST

/* Encodes shard k of n of the files in (rewound first) with enc into b. */
static int
write_shard(tp_ingest_opts *o, tp_input *in, int nin, const tp_encoding *enc,
    int k, int n, tp_batch *b, tp_ingest_counts *counts, tp_err *e)
{
	tp_stream_writer *w;
	blob s = {0};
	FILE *f = open_memstream(&s.buf, &s.len);
	int rc;

	ck_assert_ptr_nonnull(f);
	o->shard = (tp_shard){k, n};
	ck_assert_int_eq(tp_stream_writer_open(&w, f, "out", enc, e), TP_OK);
	if ((rc = tp_ingest_write(o, in, nin, enc, &w, counts, e)) == TP_OK)
		ck_assert_int_eq(tp_stream_writer_close(w, NULL, e), TP_OK);
	else
		tp_stream_writer_abort(w);
	ck_assert_int_eq(fclose(f), 0);
	if (rc == TP_OK)
		read_blob(&s, enc, b);
	free(s.buf);
	return rc;
}

/* Shards of CSV files, 1 to 7 of them: each record in one shard, in order,
 * numbered as in the whole input, a bad row skipped by its shard alone. */
START_TEST(test_shards)
{
	tp_ingest_opts o = {.min_count = 1, .max_rejects = 5, .target = "y",
	    .positive = "bad"};
	tp_ingest_counts whole_counts, counts;
	tp_batch whole, b;
	tp_encoding enc;
	tp_err e = {0};
	text t[2];

	/* Records of many lengths, one with a line break in quotes, one with
	 * a field too many; the second file without the target. */
	for (int i = 0; i < 2; i++) {
		text_open(&t[i]);
		fputs(i == 0 ? "\xEF\xBB\xBF" "c,y,x\n" : "c,x\n", t[i].f);
	}
	for (int r = 0; r < 40; r++) {
		if (r == 17)
			fputs("\"b\nb\",bad,17\n", t[0].f);
		else if (r == 23)
			fputs("a,good,1,2\n", t[0].f);
		else
			fprintf(t[0].f, "%s,%s,%d\n", r % 3 ? "a" : "bbbbbbbbbbbb",
			    r % 4 ? "good" : "bad", r * r * r);
	}
	for (int r = 0; r < 30; r++)
		fprintf(t[1].f, "%s,%d.5\n", r % 2 ? "a" : "b", r);
	text_close(&t[0]);
	text_close(&t[1]);
	tp_input in[2] = {
		{.name = "a.csv", .f = text_file(t[0].buf, t[0].len)},
		{.name = "b.csv", .f = text_file(t[1].buf, t[1].len)},
	};
	ck_assert_msg(tp_ingest_fit(&o, in, 1, &enc, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(write_shard(&o, in, 2, &enc, 0, 0, &whole,
	    &whole_counts, &e), TP_OK);
	ck_assert_uint_eq(whole.n, 69);
	ck_assert_uint_eq(whole_counts.rejected, 1);
	ck_assert_int_eq(whole.id[68], 70);
	for (int n = 1; n <= 7; n++) {
		size_t next = 0;
		uint64_t rejected = 0, read = 0;
		for (int k = 1; k <= n; k++) {
			ck_assert_msg(write_shard(&o, in, 2, &enc, k, n, &b, &counts,
			    &e) == TP_OK, "%d/%d: %s", k, n, e.msg);
			ck_assert_uint_le(next + b.n, whole.n);
			ck_assert(memcmp(b.id, whole.id + next,
			    b.n * sizeof(*b.id)) == 0);
			ck_assert(memcmp(b.cat, whole.cat + next * enc.ncat,
			    b.n * (size_t)enc.ncat * sizeof(*b.cat)) == 0);
			ck_assert(memcmp(b.num, whole.num + next * enc.nnum,
			    b.n * (size_t)enc.nnum * sizeof(*b.num)) == 0);
			ck_assert(memcmp(b.label, whole.label + next, b.n) == 0);
			next += b.n;
			rejected += counts.rejected;
			read += counts.read;
			tp_batch_free(&b);
		}
		ck_assert_uint_eq(next, whole.n);
		ck_assert_uint_eq(rejected, 1);
		ck_assert_uint_eq(read, whole_counts.read);
	}

	/* No split, no query; a pipe cannot be cut. */
	ck_assert_int_eq(tp_ingest_parse_split(&o, "70/30", &e), TP_OK);
	ck_assert_int_eq(write_shard(&o, in, 2, &enc, 1, 2, &b, &counts, &e),
	    TP_EUSAGE);
	o.nsplit = 0;
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], t[1].buf, t[1].len), (ssize_t)t[1].len);
	close(fd[1]);
	tp_input piped = {.name = "pipe", .f = fdopen(fd[0], "rb")};
	ck_assert_int_eq(write_shard(&o, &piped, 1, &enc, 1, 2, &b, &counts,
	    &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "pipe"));
	fclose(piped.f);

	fclose(in[0].f);
	fclose(in[1].f);
	free(t[0].buf);
	free(t[1].buf);
	tp_batch_free(&whole);
	tp_encoding_free(&enc);
}
END_TEST

/* The header's names are checked for repeats in one pass over them: a
 * header of 200,000 columns is fitted within Check's default timeout
 * (comparing every pair took minutes). */
START_TEST(test_many_columns)
{
	enum { NCOLS = 200000 };
	tp_ingest_opts o = {.min_count = 1};
	tp_encoding enc;
	tp_err e = {0};
	text t;

	text_open(&t);
	for (int i = 0; i < NCOLS; i++)
		fprintf(t.f, "%sc%d", i ? "," : "", i);
	fputs("\n", t.f);
	for (int i = 0; i < NCOLS; i++)
		fprintf(t.f, "%s%d", i ? "," : "", i % 7);
	fputs("\n", t.f);
	text_close(&t);
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_OK);
	ck_assert_int_eq(enc.ncols, NCOLS);
	ck_assert_int_eq(enc.nnum, NCOLS);
	tp_encoding_free(&enc);
	free(t.buf);

	text_open(&t);
	for (int i = 0; i < NCOLS; i++)
		fprintf(t.f, "c%d,", i);
	fputs("c5\n", t.f);
	text_close(&t);
	ck_assert_int_eq(fit_text(&o, t.buf, &enc, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 200001: \"c5\" is also column 6");
	free(t.buf);
}
END_TEST

START_TEST(test_lending_club)
{
	round_trip("lending_club.csv", "Class", "sub_grade", "int_rate", 0);
}
END_TEST

START_TEST(test_credit_data)
{
	round_trip("credit_data.csv", "Status", "Home", "Income", 1);
}
END_TEST

Suite *
ingest_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("fit");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_kind_options);
	tcase_add_test(tc, test_vocabulary);
	tcase_add_test(tc, test_numeric_threshold);
	tcase_add_test(tc, test_fit_errors_placed);
	tcase_add_test(tc, test_no_rows);
	tcase_add_test(tc, test_huge_numbers);
	tcase_add_test(tc, test_apply_without_target);
	suite_add_tcase(s, tc);

	/* Check's default timeout. */
	tc = tcase_create("wide");
	tcase_add_test(tc, test_many_columns);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_split);
	tcase_add_test(tc, test_split_shares);
	tcase_add_test(tc, test_split_seed);
	tcase_add_test(tc, test_split_fit_on_train);
	tcase_add_test(tc, test_shards);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad rows");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_rows_fail);
	tcase_add_test(tc, test_bad_rows_skipped);
	tcase_add_test(tc, test_reject_last_line);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_bad_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("real data");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_lending_club);
	tcase_add_test(tc, test_credit_data);
	suite_add_tcase(s, tc);
	return s;
}
