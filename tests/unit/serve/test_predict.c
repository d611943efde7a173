/*
 * test_predict: the predictor's output, the answer and error lines, CSV
 * read as a source in batches (with and without the target, bad rows with
 * their place), and a stream of another encoding refused. Requests are
 * test_request's, the prediction log test_predlog's, the serving loop
 * test_serve's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Opens text as a CSV source for enc. */
static tp_predict_source *
csv_source(const char *text, const tp_encoding *enc, FILE **f, int want,
    tp_err *e)
{
	tp_predict_source *s = NULL;

	*f = fixture_text_file(text);
	ck_assert_int_eq(tp_predict_source_open(&s, *f, "t.csv", 1, enc, e),
	    want);
	return s;
}

START_TEST(test_csv_source)
{
	tp_encoding enc = {0};
	tp_predict_source *s;
	tp_batch b = {0};
	tp_err e = {0};
	FILE *f;

	fixture_fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 2, &e), TP_OK);
	/* Batches of b.cap rows, ids from the id column. */
	s = csv_source(FIXTURE_CSV, &enc, &f, TP_OK, &e);
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
	fclose(f);

	/* Without the target: the same rows, unlabelled, and column numbers
	 * of this header in messages. */
	s = csv_source("id,home,age\n21,own,40\n22,rent,x\n", &enc, &f, TP_OK,
	    &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), -1);
	ck_assert_int_eq(e.code, TP_EDATA);
	ck_assert_str_eq(e.msg, "t.csv:3: column 3 (age): \"x\" is not a number");
	tp_predict_source_close(s);
	fclose(f);
	s = csv_source("id,home,age\n21,own,40\n", &enc, &f, TP_OK, &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), 1);
	ck_assert_int_eq(b.id[0], 21);
	ck_assert_int_eq(b.label[0], -1);
	ck_assert_int_eq(b.cat[0], fixture_category(&enc, "home", "own"));
	tp_predict_source_close(s);
	fclose(f);

	s = csv_source("status,id,home,age\nbad,1,own\n", &enc, &f, TP_OK, &e);
	ck_assert_int_eq(tp_predict_source_read(s, &b, &e), -1);
	ck_assert_str_eq(e.msg, "t.csv:2: expected 4 fields, found 3");
	tp_predict_source_close(s);
	fclose(f);
	ck_assert_ptr_null(csv_source("status,id,house,age\n", &enc, &f,
	    TP_EDATA, &e));
	ck_assert_str_eq(e.msg,
	    "t.csv:1: column 3 is \"house\", the encoding expects \"home\"");
	fclose(f);
	ck_assert_ptr_null(csv_source("", &enc, &f, TP_EDATA, &e));
	ck_assert_str_eq(e.msg, "t.csv: empty: no header line");
	fclose(f);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_stream_of_another_encoding)
{
	tp_encoding enc = {0}, other = {0};
	tp_stream_writer *w;
	tp_predict_source *s = NULL;
	tp_err e = {0};
	FILE *f = tmpfile();

	fixture_fit(&enc, 1);
	fixture_fit(&other, 2); /* a smaller vocabulary */
	ck_assert_str_ne(enc.fingerprint, other.fingerprint);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tp_stream_writer_open(&w, f, "o.tps", &other, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	rewind(f);
	ck_assert_int_eq(tp_predict_source_open(&s, f, "o.tps", 0, &enc, &e),
	    TP_EDATA);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(e.msg, "o.tps: encoded with ") == e.msg &&
	    strstr(e.msg, "the model's encoding") != NULL, "%s", e.msg);
	rewind(f);
	ck_assert_int_eq(tp_predict_source_open(&s, f, "o.tps", 0, &other, &e),
	    TP_OK);
	tp_predict_source_close(s);
	fclose(f);
	tp_encoding_free(&enc);
	tp_encoding_free(&other);
}
END_TEST

Suite *
predict_suite(void)
{
	Suite *s = suite_create("predict");
	TCase *tc = tcase_create("predict");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_output_lines);
	tcase_add_test(tc, test_csv_source);
	tcase_add_test(tc, test_stream_of_another_encoding);
	suite_add_tcase(s, tc);
	return s;
}
