/*
 * test_predict: the predictor's output, the answer and error lines, CSV
 * read as a source in batches (with and without the target, bad rows with
 * their place), a stream of another encoding refused, and several files
 * read as one, whole or in shards. Requests are
 * test_request's, the prediction log test_predlog's, the serving loop
 * test_serve's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/ingest.h"
#include "data/stream.h"
#include "fixture.h"
#include "serve/predict.h"
#include "suites.h"

START_TEST(test_output_lines)
{
	FILE *f = tmpfile();
	char *s;

	ck_assert_ptr_nonnull(f);
	tp_predict_write_header(f, TP_PREDICT_CSV, 0);
	tp_predict_write(f, TP_PREDICT_CSV, -4, 0.1f, 0, 3, NULL, 0);
	tp_predict_write_header(f, TP_PREDICT_JSONL, 0);
	tp_predict_write(f, TP_PREDICT_JSONL, 5, 1.0f / 3, 1, 0, NULL, 0);
	tp_predict_write(f, TP_PREDICT_JSONL, 6, 0.5f, 1, 2, NULL, 0);
	tp_predict_write_error(f, "column \"a\\b\"\n", NULL, NULL);
	tp_predict_write_error(f, "unknown", "unknown_field", "x\"");
	s = fixture_written(f);
	ck_assert_str_eq(s,
	    "id,probability,label\n"
	    "-4,0.100000001,0\n"
	    "{\"id\":5,\"probability\":0.333333343,\"label\":1}\n"
	    "{\"id\":6,\"probability\":0.5,\"label\":1,\"version\":2}\n"
	    "{\"error\":\"column \\\"a\\\\b\\\"\\n\"}\n"
	    "{\"error\":\"unknown\",\"code\":\"unknown_field\",\"field\":\"x\\\"\"}\n");
	/* %.9g gives the float back. */
	ck_assert_float_eq(strtof("0.333333343", NULL), 1.0f / 3);
	free(s);
	fclose(f);
}
END_TEST

/* A folder of the test's own for its files. */
static char dir[] = "/tmp/tp_predictXXXXXX";

static void
setup(void)
{
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
}

static void
teardown(void)
{
	char cmd[64];

	ck_assert_int_eq(chdir("/"), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to the file name, in the test's folder. */
static void
put_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Opens text, in t.csv, as a CSV source for enc. */
static tp_predict_source *
csv_source(const char *text, const tp_encoding *enc, int want, tp_err *e)
{
	tp_predict_source *s = NULL;
	char *paths[] = {"t.csv"};

	put_file("t.csv", text);
	ck_assert_int_eq(tp_predict_source_open(&s, paths, 1, NULL, 1, enc, e),
	    want);
	return s;
}

START_TEST(test_csv_source)
{
	tp_encoding enc = {0};
	tp_predict_source *s;
	tp_batch b = {0};
	tp_err e = {0};

	fixture_fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 2, &e), TP_OK);
	/* Batches of b.cap rows, ids from the id column. */
	s = csv_source(FIXTURE_CSV, &enc, TP_OK, &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 2);
	ck_assert_int_eq(b.id[0], 11);
	ck_assert_int_eq(b.id[1], 12);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 2);
	ck_assert_int_eq(b.id[0], 13);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 1);
	ck_assert_int_eq(b.id[0], 15);
	ck_assert_int_eq(b.label[0], 0);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 0);
	tp_predict_source_close(s);

	/* Without the target: the same rows, unlabelled, and column numbers
	 * of this header in messages. */
	s = csv_source("id,home,age\n21,own,40\n22,rent,x\n", &enc, TP_OK,
	    &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), -1);
	ck_assert_int_eq(e.code, TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv:3: column 3 (age): \"x\" is not a number");
	tp_predict_source_close(s);
	s = csv_source("id,home,age\n21,own,40\n", &enc, TP_OK, &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 1);
	ck_assert_int_eq(b.id[0], 21);
	ck_assert_int_eq(b.label[0], -1);
	ck_assert_int_eq(b.cat[0], fixture_category(&enc, "home", "own"));
	tp_predict_source_close(s);

	s = csv_source("status,id,home,age\nbad,1,own\n", &enc, TP_OK, &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), -1);
	ck_assert_str_eq(e.msg, "t.csv:2: expected 4 fields, found 3");
	tp_predict_source_close(s);
	ck_assert_ptr_null(csv_source("status,id,house,age\n", &enc,
	    TP_EDATA, &e));
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 3 is \"house\", the encoding expects \"home\"");
	ck_assert_ptr_null(csv_source("", &enc, TP_EDATA, &e));
	ck_assert_str_eq(e.msg, "t.csv: empty: no header line");
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_stream_of_another_encoding)
{
	tp_encoding enc = {0}, other = {0};
	tp_stream_writer *w;
	tp_predict_source *s = NULL;
	char *paths[] = {"o.tps"};
	tp_err e = {0};
	FILE *f = fopen("o.tps", "wb");

	fixture_fit(&enc, 1);
	fixture_fit(&other, 2); /* a smaller vocabulary */
	ck_assert_str_ne(enc.fingerprint, other.fingerprint);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tp_stream_writer_open(&w, f, "o.tps", &other, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(tp_predict_source_open(&s, paths, 1, NULL, 0, &enc, &e),
	    TP_EDATA);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(e.msg, "o.tps: encoded with ") == e.msg &&
	    strstr(e.msg, "the model's encoding") != NULL, "%s", e.msg);
	ck_assert_int_eq(tp_predict_source_open(&s, paths, 1, NULL, 0, &other,
	    &e), TP_OK);
	tp_predict_source_close(s);
	tp_encoding_free(&enc);
	tp_encoding_free(&other);
}
END_TEST

/* The ids of every row a source of paths (shard k of n) gives, in order,
 * into ids (a string such as "11 12 13 "). */
static void
source_ids(char *const *paths, int npaths, int k, int n, int csv,
    const tp_encoding *enc, char *ids, size_t len)
{
	tp_predict_source *s;
	tp_batch b = {0};
	tp_err e = {0};
	size_t used = 0;
	long got;

	ids[0] = '\0';
	ck_assert_int_eq(tp_batch_init(&b, enc->ncat, enc->nnum, 3, &e), TP_OK);
	ck_assert_msg(tp_predict_source_open(&s, paths, npaths, &(tp_shard){k, n},
	    csv, enc, &e) == TP_OK, "%s", e.msg);
	while ((got = tp_predict_source_read(s, &b, &e)) > 0)
		for (long i = 0; i < got; i++)
			used += (size_t)snprintf(ids + used, len - used, "%lld ",
			    (long long)b.id[i]);
	ck_assert_msg(got == 0, "%s", e.msg);
	tp_predict_source_close(s);
	tp_batch_free(&b);
}

/* The ids of the files of paths read whole are want, and so are those of
 * their shards, 1 to max of them, joined. */
static void
shards_join(char *const *paths, int npaths, int max, int csv,
    const tp_encoding *enc, const char *want)
{
	char part[512], joined[512];

	source_ids(paths, npaths, 0, 0, csv, enc, joined, sizeof(joined));
	ck_assert_str_eq(joined, want);
	for (int n = 1; n <= max; n++) {
		joined[0] = '\0';
		for (int k = 1; k <= n; k++) {
			source_ids(paths, npaths, k, n, csv, enc, part, sizeof(part));
			strcat(joined, part);
		}
		ck_assert_str_eq(joined, want);
	}
}

/* CSV files one after the other: records numbered over the files (the
 * second without the target), and shards of them, cut by bytes, that
 * hold each record once and in order; streams likewise. */
START_TEST(test_files_and_shards)
{
	tp_encoding enc = {0};
	char *csv[] = {"a.csv", "b.csv"}, *tps[] = {"a.tps", "b.tps"};

	/* Without an id column, and the encoding fitted on the first. */
	put_file("a.csv", "status,home,age\nbad,rent,30\ngood,own,40\n"
	    "good,7,50\nbad,rent,NA\n");
	put_file("b.csv", "home,age\nown,60\nrent,70\nown,80\n");
	{
		tp_ingest_opts o = {.min_count = 1, .target = "status",
		    .positive = "bad"};
		tp_input in = {.name = "a.csv", .f = fopen("a.csv", "rb")};
		tp_err e = {0};
		ck_assert_int_eq(tp_ingest_fit(&o, &in, 1, &enc, &e), TP_OK);
		fclose(in.f);
		for (int i = 0; i < 2; i++) {
			tp_input one = {.name = csv[i], .f = fopen(csv[i], "rb")};
			FILE *out = fopen(tps[i], "wb");
			tp_stream_writer *w;
			tp_ingest_counts counts;
			ck_assert_int_eq(tp_stream_writer_open(&w, out, tps[i], &enc,
			    &e), TP_OK);
			ck_assert_int_eq(tp_ingest_write(&o, &one, 1, &enc, &w,
			    &counts, &e), TP_OK);
			ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
			fclose(out);
			fclose(one.f);
		}
	}
	shards_join(csv, 2, 5, 1, &enc, "1 2 3 4 5 6 7 ");
	/* The streams, ingested apart, number their rows from 1 each. */
	shards_join(tps, 2, 3, 0, &enc, "1 2 3 4 1 2 3 ");

	/* A CSV pipe cannot be cut; a missing file is refused at once. */
	tp_predict_source *s = NULL;
	tp_err e = {0};
	char *missing[] = {"a.csv", "none.csv"};
	ck_assert_int_eq(tp_predict_source_open(&s, missing, 2, NULL, 1, &enc,
	    &e), TP_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "none.csv"));
	int fd[2];
	char path[64], *piped[] = {path};
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], "home,age\nown,1\n", 16), 16);
	close(fd[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
	ck_assert_int_eq(tp_predict_source_open(&s, piped, 1, &(tp_shard){1, 2},
	    1, &enc, &e), TP_EUSAGE);
	ck_assert_ptr_null(s);
	close(fd[0]);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
predict_suite(void)
{
	Suite *s = suite_create("predict");
	TCase *tc = tcase_create("predict");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_output_lines);
	tcase_add_test(tc, test_csv_source);
	tcase_add_test(tc, test_stream_of_another_encoding);
	tcase_add_test(tc, test_files_and_shards);
	suite_add_tcase(s, tc);
	return s;
}
