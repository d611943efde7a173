/*
 * test_follow: a follower of a model file: reloads that install the new
 * model and say so, a reload that fails (the file gone, the server unable
 * to take the model) and keeps the old one, and nothing to wait on
 * without a database or a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "serve/follow.h"
#include "suites.h"

typedef struct {
	tp_predictor p;        /* the model serving */
	int installs, refuse;  /* install calls; refuse them */
	int notes, failures;
	char last[512];
} server;

static int
install(void *ctx, tp_predictor *np, tp_err *e)
{
	server *s = ctx;

	s->installs++;
	if (s->refuse) {
		tp_predictor_free(np);
		return tp_err_set(e, TP_EINTERNAL, "out of memory: the test says so");
	}
	tp_predictor_free(&s->p);
	s->p = *np;
	return TP_OK;
}

static void
on_note(void *ctx, int failed, const char *msg)
{
	server *s = ctx;

	s->notes++;
	s->failures += failed;
	snprintf(s->last, sizeof(s->last), "%s", msg);
}

START_TEST(test_follow_file)
{
	char path[] = "/tmp/tabpipe-follow-XXXXXX", first[65];
	int fd = mkstemp(path);
	tp_encoding enc = {0};
	server s = {0};
	tp_err e = {0};

	ck_assert_int_ne(fd, -1);
	close(fd);
	fixture_fit(&enc, 1);
	fixture_save_model(&enc, 1, 0.0, path);
	ck_assert_msg(tp_predictor_open(&s.p, NULL, path, 1, NULL, &e) == TP_OK, "%s",
	    e.msg);
	tp_follow f = {.ref = path, .nthreads = 1, .install = install,
	    .note = on_note, .ctx = &s};
	ck_assert_msg(tp_follow_start(&f, &s.p, &e) == TP_OK, "%s", e.msg);
	memcpy(first, s.p.vm.meta.sha256, sizeof(first));
	ck_assert_str_eq(f.sha256, first);
	/* A file follows no promotions and there is no log to send. */
	ck_assert_int_eq(f.listener, 0);
	ck_assert_int_eq(tp_follow_fd(&f), -1);
	ck_assert_double_eq(tp_follow_wait(&f, 0), -1);
	tp_follow_step(&f, 0);
	ck_assert_int_eq(s.notes, 0);

	/* Another model in the file: installed, and said. */
	fixture_save_model(&enc, 2, 1.0, path);
	ck_assert_msg(tp_follow_reload(&f, "asked", &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(s.installs, 1);
	ck_assert_uint_eq(f.reloads, 1);
	ck_assert_double_eq(s.p.vm.meta.threshold, 1.0);
	ck_assert_str_eq(f.sha256, s.p.vm.meta.sha256);
	ck_assert_str_ne(f.sha256, first);
	ck_assert_int_eq(s.failures, 0);
	ck_assert_msg(strstr(s.last, "asked: reloaded ") == s.last, "%s", s.last);

	/* The server cannot take it: the model serving stays, and so does
	 * what the follower knows of it. */
	memcpy(first, f.sha256, sizeof(first));
	fixture_save_model(&enc, 3, 0.5, path);
	s.refuse = 1;
	ck_assert_int_eq(tp_follow_reload(&f, "asked", &e), TP_EINTERNAL);
	ck_assert_int_eq(s.installs, 2);
	ck_assert_uint_eq(f.reloads, 1);
	ck_assert_uint_eq(f.reload_failures, 1);
	ck_assert_str_eq(f.sha256, first);
	ck_assert_double_eq(s.p.vm.meta.threshold, 1.0);
	ck_assert_msg(strstr(s.last, "asked: reload failed, still serving ") ==
	    s.last && strstr(s.last, "the test says so") != NULL, "%s", s.last);

	/* The file gone: nothing is installed. */
	s.refuse = 0;
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_ne(tp_follow_reload(&f, "SIGHUP", &e), TP_OK);
	ck_assert_int_eq(s.installs, 2);
	ck_assert_uint_eq(f.reload_failures, 2);
	ck_assert_int_eq(s.failures, 2);
	ck_assert_msg(strstr(s.last, "SIGHUP: reload failed, still serving ") ==
	    s.last, "%s", s.last);

	tp_follow_finish(&f);
	ck_assert_ptr_null(f.path);
	tp_predictor_free(&s.p);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
follow_suite(void)
{
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("follow");

	tcase_add_test(tc, test_follow_file);
	suite_add_tcase(s, tc);
	return s;
}
