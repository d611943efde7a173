/*
 * test_predict: requests of the serving mode made into rows (values, ids,
 * missing and unseen values, and every kind of malformed request with its
 * exact message), the answer and error lines, CSV read as a source in
 * batches (with and without the target, bad rows with their place), a
 * stream of another encoding refused, the prediction log's COPY text and
 * when it is due, and the serving loop on a pipe: answers, errors that do
 * not stop it, a request too long, and a reload asked by the flag.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "data/ingest.h"
#include "data/request.h"
#include "model/score.h"
#include "serve/predict.h"
#include "serve/serve.h"
#include "suites.h"

/* The target comes first, so that leaving it out shifts every column. */
static const char csv_text[] =
    "status,id,home,age\n"
    "bad,11,rent,30\n"
    "good,12,own,40\n"
    "good,13,7,50\n"
    "bad,14,rent,NA\n"
    "good,15,own,60\n";

static FILE *
text_file(const char *s)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	ck_assert_int_eq(fflush(f), 0);
	rewind(f);
	return f;
}

static void
fit(tp_encoding *enc, int min_count)
{
	tp_ingest_opts o = {.target = "status", .positive = "bad",
	    .min_count = min_count};
	tp_input in = {.name = "t.csv", .f = text_file(csv_text)};
	tp_err e = {0};

	ck_assert_msg(tp_ingest_fit(&o, &in, 1, enc, &e) == TP_OK, "%s", e.msg);
	fclose(in.f);
}

static int
col(const tp_encoding *enc, const char *name)
{
	for (int i = 0; i < enc->ncols; i++)
		if (strcmp(enc->cols[i].name, name) == 0)
			return i;
	ck_abort_msg("no column %s", name);
	return -1;
}

static int32_t
category(const tp_encoding *enc, const char *column, const char *value)
{
	const tp_column *c = &enc->cols[col(enc, column)];

	return (int32_t)(tp_strmap_find(&c->vocab, value, strlen(value)) + 1);
}

/* Parses s into b's row 0; returns the status, e and *features filled. */
static int
parse(const tp_encoding *enc, tp_batch *b, const char *s, char **features,
    tp_err *e)
{
	return tp_request_parse(enc, s, strlen(s), 99,
	    tp_batch_row(b, 0), features, e);
}

START_TEST(test_request_values)
{
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};
	char *features;

	fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	const tp_column *age = &enc.cols[col(&enc, "age")];
	int home = enc.cols[col(&enc, "home")].slot;

	ck_assert_int_eq(parse(&enc, &b, "{\"home\": \"rent\", \"age\": 35, "
	    "\"id\": 7, \"status\": \"good\"}", &features, &e), TP_OK);
	ck_assert_int_eq(b.id[0], 7);
	ck_assert_int_eq(b.label[0], -1); /* the outcome is not used */
	ck_assert_int_eq(b.cat[home], category(&enc, "home", "rent"));
	ck_assert_int_ne(b.cat[home], 0);
	ck_assert_float_eq(b.num[age->slot],
	    (float)((35 - age->mean) / age->std));
	ck_assert_str_eq(features,
	    "{\"home\":\"rent\",\"age\":35,\"id\":7,\"status\":\"good\"}");
	free(features);

	/* A number as text, an id as text; a number for a category stands
	 * for its text. */
	ck_assert_int_eq(parse(&enc, &b, "{\"age\": \"35\", \"id\": \"-3\", "
	    "\"home\": 7}", NULL, &e), TP_OK);
	ck_assert_int_eq(b.id[0], -3);
	ck_assert_float_eq(b.num[age->slot],
	    (float)((35 - age->mean) / age->std));
	ck_assert_int_eq(b.cat[home], category(&enc, "home", "7"));
	ck_assert_int_ne(b.cat[home], 0);

	/* Missing and unseen values; no id: the record number. */
	ck_assert_int_eq(parse(&enc, &b, "{\"home\": \"castle\"}", NULL, &e),
	    TP_OK);
	ck_assert_int_eq(b.id[0], 99);
	ck_assert_int_eq(b.cat[home], 0);
	ck_assert(isnan(b.num[age->slot]));
	ck_assert_int_eq(parse(&enc, &b, " {\"home\": null, \"age\": null}\r",
	    NULL, &e), TP_OK);
	ck_assert_int_eq(b.cat[home], 0);
	ck_assert(isnan(b.num[age->slot]));

	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_request_errors)
{
	static const struct {
		const char *request, *msg;
	} cases[] = {
		{"{\"home\": ", "not JSON: byte 9"},
		{"", "not JSON: byte 1"},
		{"{} {}", "not JSON: byte 4: text after the object"},
		{"[1, 2]", "a request is one JSON object of feature values, found an array"},
		{"\"rent\"", "a request is one JSON object of feature values, found a string"},
		{"{\"salary\": 1}", "unknown column \"salary\""},
		{"{\"age\": \"old\"}", "column \"age\": \"old\" is not a number"},
		{"{\"age\": true}", "column \"age\": expected a number, found a boolean"},
		{"{\"age\": 1e999}", "column \"age\": the number is out of range"},
		{"{\"home\": {}}", "column \"home\": expected a string, found an object"},
		{"{\"home\": \"own\", \"home\": \"rent\"}", "column \"home\" is given twice"},
		{"{\"id\": 1.5}", "\"id\": an id is an integer"},
		{"{\"id\": \"x1\"}", "\"id\": an id is an integer"},
		{"{\"id\": 1, \"id\": 2}", "the id is given twice"},
	};
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};
	char *features = (char *)"unset";

	fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(parse(&enc, &b, cases[i].request, &features, &e),
		    TP_EDATA);
		ck_assert_str_eq(e.msg, cases[i].msg);
		ck_assert_ptr_null(features);
	}
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

/* What f wrote, as a string to free. */
static char *
written(FILE *f)
{
	size_t len = (size_t)ftell(f);
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	rewind(f);
	ck_assert_uint_eq(fread(s, 1, len, f), len);
	s[len] = '\0';
	return s;
}

START_TEST(test_output_lines)
{
	FILE *f = tmpfile();
	char *s;

	ck_assert_ptr_nonnull(f);
	tp_predict_write_header(f, TP_PREDICT_CSV);
	tp_predict_write(f, TP_PREDICT_CSV, -4, 0.1f, 0, 3);
	tp_predict_write_header(f, TP_PREDICT_JSONL);
	tp_predict_write(f, TP_PREDICT_JSONL, 5, 1.0f / 3, 1, 0);
	tp_predict_write(f, TP_PREDICT_JSONL, 6, 0.5f, 1, 2);
	tp_predict_write_error(f, "column \"a\\b\"\n");
	s = written(f);
	ck_assert_str_eq(s,
	    "id,probability,label\n"
	    "-4,0.100000001,0\n"
	    "{\"id\":5,\"probability\":0.333333343,\"label\":1}\n"
	    "{\"id\":6,\"probability\":0.5,\"label\":1,\"version\":2}\n"
	    "{\"error\":\"column \\\"a\\\\b\\\"\\n\"}\n");
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

	*f = text_file(text);
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

	fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 2, &e), TP_OK);
	/* Batches of b.cap rows, ids from the id column. */
	s = csv_source(csv_text, &enc, &f, TP_OK, &e);
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
	ck_assert_int_eq(b.cat[0], category(&enc, "home", "own"));
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

	fit(&enc, 1);
	fit(&other, 2); /* a smaller vocabulary */
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

START_TEST(test_log_buffer)
{
	tp_predlog l;
	tp_err e = {0};

	/* No database: nothing may be due while the rows are added. */
	tp_predlog_init(&l, NULL, 12);
	ck_assert_int_eq(tp_predlog_due(&l, tp_clock() + 1e6), 0);
	ck_assert_double_eq(tp_predlog_wait(&l, 0), -1);
	ck_assert_int_eq(tp_predlog_add(&l, "ab", 5, 0.25f, 0, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_predlog_add(&l, "ab", -6, 0.75f, 1,
	    "{\"a\":\"x\\ty\\\\\",\"b\":\"\t\n\r\"}", &e), TP_OK);
	ck_assert_uint_eq(l.rows, 2);
	char *text = strndup(l.buf, l.len);
	ck_assert_str_eq(text,
	    "12\tab\t5\t0.25\t0\t\\N\n"
	    "12\tab\t-6\t0.75\t1\t{\"a\":\"x\\\\ty\\\\\\\\\",\"b\":\"\\t\\n\\r\"}\n");
	free(text);

	/* Due at max_rows rows, or once the oldest has waited max_wait. */
	double t0 = l.since;
	ck_assert_int_eq(tp_predlog_due(&l, t0 + 1), 0);
	ck_assert_double_eq_tol(tp_predlog_wait(&l, t0 + 0.5),
	    TP_PREDLOG_WAIT - 0.5, 1e-9);
	ck_assert_int_eq(tp_predlog_due(&l, t0 + TP_PREDLOG_WAIT), 1);
	ck_assert_double_eq(tp_predlog_wait(&l, t0 + 100), 0);
	l.max_rows = 2;
	ck_assert_int_eq(tp_predlog_due(&l, t0), 1);
	tp_predlog_free(&l);
	ck_assert_uint_eq(l.rows, 0);
}
END_TEST

/* A tiny model of enc in a temporary file, from seed; path gets its name. */
static void
save_model(const tp_encoding *enc, uint64_t seed, double threshold,
    char *path)
{
	tp_config cfg = {.layers = 1, .d_model = 8, .heads = 2, .d_ff = 16,
	    .head_hidden = 8, .proj_dim = 8, .dropout = 0.1f};
	tp_model_meta meta = {.threshold = threshold, .parts = TP_WITH_HEAD};
	tp_model m;
	tp_err e = {0};

	ck_assert_msg(tp_model_init(&m, &cfg, enc, seed, 1, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_msg(tp_model_save(path, &m, enc, &meta, &e) == TP_OK, "%s",
	    e.msg);
	tp_model_free(&m);
}

typedef struct {
	int notes, failures;
	char last[512];
} notes;

static void
on_note(void *ctx, int failed, const char *msg)
{
	notes *n = ctx;

	n->notes++;
	n->failures += failed;
	snprintf(n->last, sizeof(n->last), "%s", msg);
}

/* Serves the requests in text with p, loaded from ref; returns the
 * answers, to free. */
static char *
serve_text(const char *text, const char *ref, tp_predictor *p,
    volatile sig_atomic_t *reload, notes *n, tp_serve_counts *c)
{
	int fds[2];
	FILE *out = tmpfile();
	tp_err e = {0};

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
	close(fds[1]);
	tp_serve_opts o = {.in = fds[0], .out = out, .ref = ref,
	    .nthreads = 1, .reload = reload, .max_line = 64, .note = on_note,
	    .ctx = n};
	ck_assert_msg(tp_serve(&o, p, c, &e) == TP_OK, "%s", e.msg);
	close(fds[0]);
	char *s = written(out);
	fclose(out);
	return s;
}

START_TEST(test_serve_loop)
{
	char path[] = "/tmp/tabpipe-predict-XXXXXX";
	int fd = mkstemp(path);
	tp_encoding enc = {0};
	tp_predictor p;
	tp_serve_counts c;
	notes n = {0};
	tp_err e = {0};
	char *answers, want[256];
	volatile sig_atomic_t reload = 0;

	ck_assert_int_ne(fd, -1);
	close(fd);
	fit(&enc, 1);
	save_model(&enc, 1, 0.0, path);
	ck_assert_int_eq(tp_predictor_open(&p, NULL, path, 1, &e), TP_OK);
	ck_assert_int_eq(p.vm.version.version, 0);
	ck_assert_int_eq(strlen(p.vm.meta.sha256), 64);

	/* The probability of one row scored as a batch is the answer's. */
	tp_batch b = {0};
	float prob;
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	ck_assert_int_eq(parse(&enc, &b, "{\"home\":\"own\",\"age\":40}", NULL,
	    &e), TP_OK);
	b.n = 1;
	ck_assert_int_eq(tp_score(&p.vm.model, &b, &prob, &e), TP_OK);
	snprintf(want, sizeof(want),
	    "{\"id\":4,\"probability\":%.9g,\"label\":1}\n"
	    "{\"error\":\"unknown column \\\"x\\\"\"}\n"
	    "{\"error\":\"a request is longer than 64 bytes\"}\n"
	    "{\"id\":9,\"probability\":%.9g,\"label\":1}\n",
	    (double)prob, (double)prob);
	answers = serve_text("\n{\"x\":1}\n\n{\"id\":4,\"home\":\"own\",\"age\":40}"
	    "\n{\"x\":1}\n{\"home\":\"0123456789012345678901234567890123456789"
	    "01234567890123456789\"}\n"
	    "{\"id\":9,\"home\":\"own\",\"age\":40}", path, &p, &reload, &n, &c);
	/* The answers come in the order of the requests: the first error
	 * line is the second request's. */
	ck_assert_msg(strstr(answers, "{\"error\":\"unknown column \\\"x\\\"\"}\n{\"id\":4") == answers,
	    "%s", answers);
	ck_assert_str_eq(strstr(answers, "{\"id\":4"), want);
	ck_assert_uint_eq(c.requests, 5);
	ck_assert_uint_eq(c.errors, 3);
	ck_assert_int_eq(n.notes, 0);
	free(answers);

	/* A reload asked before the first request loads the file again: a
	 * model of another seed, whose threshold labels everything 0. */
	save_model(&enc, 2, 1.0, path);
	reload = 1;
	answers = serve_text("{\"home\":\"own\",\"age\":40}\n", path, &p, &reload, &n,
	    &c);
	ck_assert_int_eq(reload, 0);
	ck_assert_msg(c.reloads == 1, "%s", n.last);
	ck_assert_int_eq(n.failures, 0);
	ck_assert_msg(strstr(n.last, "SIGHUP: reloaded ") == n.last, "%s", n.last);
	ck_assert_msg(strstr(answers, ",\"label\":0}\n") != NULL, "%s", answers);
	ck_assert_double_eq(p.vm.meta.threshold, 1.0);
	free(answers);

	/* A failed reload keeps the model. */
	ck_assert_int_eq(unlink(path), 0);
	reload = 1;
	answers = serve_text("{}\n", path, &p, &reload, &n, &c);
	ck_assert_uint_eq(c.reload_failures, 1);
	ck_assert_int_eq(n.failures, 1);
	ck_assert_msg(strstr(n.last, "SIGHUP: reload failed, still serving ") ==
	    n.last, "%s", n.last);
	ck_assert_msg(strstr(answers, "{\"id\":1,\"probability\":") == answers,
	    "%s", answers);
	free(answers);

	tp_batch_free(&b);
	tp_predictor_free(&p);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
predict_suite(void)
{
	Suite *s = suite_create("predict");
	TCase *tc = tcase_create("predict");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_values);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_output_lines);
	tcase_add_test(tc, test_csv_source);
	tcase_add_test(tc, test_stream_of_another_encoding);
	tcase_add_test(tc, test_log_buffer);
	tcase_add_test(tc, test_serve_loop);
	suite_add_tcase(s, tc);
	return s;
}
