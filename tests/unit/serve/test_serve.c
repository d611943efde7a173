/*
 * test_serve: the serving loop on a pipe: answers in the order of the
 * requests with the probability that scoring the row as a batch gives,
 * errors and blank lines that do not stop it, a request too long, a reload
 * asked by the flag, and a failed reload that keeps the model; a stop asked
 * by a signal's flag, said; inputs with no request at all (the empty one
 * first: the sanitizers' build runs the loop's first look at a buffer not
 * yet read).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/request.h"
#include "fixture.h"
#include "model/score.h"
#include "serve/predict.h"
#include "serve/serve.h"
#include "suites.h"

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
	char *s = fixture_written(out);
	fclose(out);
	return s;
}

/* A tiny model of the fixture's encoding in a new file at path (a
 * mkstemp template), loaded into p. */
static void
model_open(char *path, tp_encoding *enc, tp_predictor *p)
{
	int fd = mkstemp(path);
	tp_err e = {0};

	ck_assert_int_ne(fd, -1);
	close(fd);
	fixture_fit(enc, 1);
	fixture_save_model(enc, 1, 0.0, path);
	ck_assert_msg(tp_predictor_open(p, NULL, path, 1, NULL, &e) == TP_OK, "%s",
	    e.msg);
}

START_TEST(test_serve_loop)
{
	static const char row[] = "{\"home\":\"own\",\"age\":40}";
	char path[] = "/tmp/tabpipe-serve-XXXXXX";
	tp_encoding enc = {0};
	tp_predictor p;
	tp_serve_counts c;
	notes n = {0};
	tp_err e = {0};
	char *answers, want[256];
	volatile sig_atomic_t reload = 0;

	model_open(path, &enc, &p);
	ck_assert_int_eq(p.vm.version.version, 0);
	ck_assert_int_eq(strlen(p.vm.meta.sha256), 64);

	/* The probability of one row scored as a batch is the answer's. */
	tp_batch b = {0};
	float prob;
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	ck_assert_int_eq(tp_request_parse(&enc, row, strlen(row), 1,
	    tp_batch_row(&b, 0), NULL, &e), TP_OK);
	b.n = 1;
	ck_assert_int_eq(tp_score(&p.vm.model, &b, &prob, &e), TP_OK);
	snprintf(want, sizeof(want),
	    "{\"id\":4,\"probability\":%.9g,\"label\":1}\n"
	    "{\"error\":\"unknown column \\\"x\\\"\",\"code\":\"unknown_field\","
	    "\"field\":\"x\"}\n"
	    "{\"error\":\"a request is longer than 64 bytes\",\"code\":"
	    "\"too_large\"}\n"
	    "{\"id\":9,\"probability\":%.9g,\"label\":1}\n",
	    (double)prob, (double)prob);
	answers = serve_text("\n{\"x\":1}\n\n{\"id\":4,\"home\":\"own\",\"age\":40}"
	    "\n{\"x\":1}\n{\"home\":\"0123456789012345678901234567890123456789"
	    "01234567890123456789\"}\n"
	    "{\"id\":9,\"home\":\"own\",\"age\":40}", path, &p, &reload, &n, &c);
	/* The answers come in the order of the requests: the first error
	 * line is the second request's. */
	ck_assert_msg(strstr(answers, "{\"error\":\"unknown column \\\"x\\\"\",\"code\":"
	    "\"unknown_field\",\"field\":\"x\"}\n{\"id\":4") == answers,
	    "%s", answers);
	ck_assert_str_eq(strstr(answers, "{\"id\":4"), want);
	ck_assert_uint_eq(c.requests, 5);
	ck_assert_uint_eq(c.errors, 3);
	ck_assert_int_eq(n.notes, 0);
	free(answers);

	/* A reload asked before the first request loads the file again: a
	 * model of another seed, whose threshold labels everything 0. */
	fixture_save_model(&enc, 2, 1.0, path);
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
	answers = serve_text("{\"home\":null,\"age\":null}\n", path, &p, &reload,
	    &n, &c);
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

START_TEST(test_serve_nothing)
{
	static const char *const inputs[] = {"", "\n", " \t\r\n\n", " "};
	char path[] = "/tmp/tabpipe-serve-XXXXXX";
	tp_encoding enc = {0};
	tp_predictor p;
	tp_serve_counts c;
	notes n = {0};

	model_open(path, &enc, &p);
	/* No request: no answer, and the end of the input ends the loop. */
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char *answers = serve_text(inputs[i], path, &p, NULL, &n, &c);
		ck_assert_msg(answers[0] == '\0', "\"%s\": %s", inputs[i], answers);
		ck_assert_uint_eq(c.requests, 0);
		free(answers);
	}
	ck_assert_int_eq(n.notes, 0);
	unlink(path);
	tp_predictor_free(&p);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_serve_stop)
{
	char path[] = "/tmp/tabpipe-serve-XXXXXX";
	tp_encoding enc = {0};
	tp_predictor p;
	tp_serve_counts c;
	notes n = {0};
	volatile sig_atomic_t stop = SIGTERM;
	int fds[2];
	tp_err e = {0};

	model_open(path, &enc, &p);
	/* A signal ends the loop with the input still open, and is said. */
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "{}\n", 3), 3);
	tp_serve_opts o = {.in = fds[0], .out = stdout, .ref = path,
	    .nthreads = 1, .stop = &stop, .max_line = 64, .note = on_note,
	    .ctx = &n};
	ck_assert_msg(tp_serve(&o, &p, &c, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(c.requests, 0);
	ck_assert_int_eq(n.notes, 1);
	ck_assert_int_eq(n.failures, 0);
	ck_assert_str_eq(n.last, "SIGTERM: stopping");
	stop = SIGINT;
	ck_assert_msg(tp_serve(&o, &p, &c, &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(n.last, "SIGINT: stopping");
	close(fds[0]);
	close(fds[1]);
	unlink(path);
	tp_predictor_free(&p);
	tp_encoding_free(&enc);
}
END_TEST

/* The fixture's features, each missing. */
#define NULLS "\"home\":null,\"age\":null"

START_TEST(test_serve_ids)
{
	char path[] = "/tmp/tabpipe-serve-XXXXXX";
	tp_encoding enc = {0};
	tp_predictor p;
	tp_serve_counts c;
	notes n = {0};
	char *answers, *line;

	model_open(path, &enc, &p);
	/* An id past 2^53 comes back exact, a string one as written. */
	answers = serve_text("{\"id\":9007199254740993," NULLS "}\n"
	    "{\"id\":\"a-\\u0031\"," NULLS "}\n{\"id\":\"007\"," NULLS "}\n",
	    path, &p, NULL, &n, &c);
	line = answers;
	ck_assert_msg(strncmp(line, "{\"id\":9007199254740993,\"probability\":",
	    37) == 0, "%s", answers);
	line = strchr(line, '\n') + 1;
	ck_assert_msg(strncmp(line, "{\"id\":\"a-\\u0031\",\"probability\":",
	    31) == 0, "%s", answers);
	line = strchr(line, '\n') + 1;
	ck_assert_msg(strncmp(line, "{\"id\":\"007\",\"probability\":", 26) == 0,
	    "%s", answers);
	ck_assert_uint_eq(c.errors, 0);
	free(answers);
	unlink(path);
	tp_predictor_free(&p);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
serve_suite(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("serve");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_serve_loop);
	tcase_add_test(tc, test_serve_nothing);
	tcase_add_test(tc, test_serve_stop);
	tcase_add_test(tc, test_serve_ids);
	suite_add_tcase(s, tc);
	return s;
}
