/*
 * test_err: the error every library function fills: tp_err_set's message
 * and code (and its NULL error), tp_err_prefix putting the place in front,
 * both cut to the message's room, and tp_err_nomem.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "suites.h"

START_TEST(test_set)
{
	tp_err e = {0};

	ck_assert_int_eq(tp_err_set(&e, TP_EDATA, "%s:%ld: bad %s", "a.csv",
	    12L, "field"), TP_EDATA);
	ck_assert_int_eq(e.code, TP_EDATA);
	ck_assert_str_eq(e.msg, "a.csv:12: bad field");
	/* A second failure replaces the first whole. */
	ck_assert_int_eq(tp_err_set(&e, TP_EIO, "short"), TP_EIO);
	ck_assert_int_eq(e.code, TP_EIO);
	ck_assert_str_eq(e.msg, "short");
}
END_TEST

/* A caller that does not want the message passes NULL and still gets the
 * status to return. */
START_TEST(test_set_null)
{
	ck_assert_int_eq(tp_err_set(NULL, TP_ENOINPUT, "%s", "x"), TP_ENOINPUT);
	ck_assert_int_eq(tp_err_nomem(NULL, "x"), TP_EINTERNAL);
	/* Nothing to prefix: the failure must not turn into a success. */
	ck_assert_int_ne(tp_err_prefix(NULL, "f"), TP_OK);
}
END_TEST

/* A message longer than the room is cut, never written past it. */
START_TEST(test_set_long)
{
	char big[3000];
	tp_err e[2];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&e[1], 0x5a, sizeof(e[1]));
	tp_err_set(&e[0], TP_EDATA, "%s", big);
	ck_assert_uint_eq(strlen(e[0].msg), sizeof(e[0].msg) - 1);
	ck_assert_int_eq(e[0].code, TP_EDATA);
	ck_assert_int_eq(e[1].code, 0x5a5a5a5a);
}
END_TEST

START_TEST(test_prefix)
{
	tp_err e = {0};

	tp_err_set(&e, TP_EDATA, "line %d: bad", 3);
	ck_assert_int_eq(tp_err_prefix(&e, "%s", "a.csv"), TP_EDATA);
	ck_assert_str_eq(e.msg, "a.csv: line 3: bad");
	ck_assert_int_eq(e.code, TP_EDATA);
	/* Layers add their places outward. */
	ck_assert_int_eq(tp_err_prefix(&e, "ingest %d", 2), TP_EDATA);
	ck_assert_str_eq(e.msg, "ingest 2: a.csv: line 3: bad");
	/* An empty message still gets the place. */
	tp_err_set(&e, TP_EIO, "%s", "");
	ck_assert_int_eq(tp_err_prefix(&e, "out"), TP_EIO);
	ck_assert_str_eq(e.msg, "out: ");
}
END_TEST

/* The place comes first when the two do not fit: it is what the inner
 * layer did not know. */
START_TEST(test_prefix_long)
{
	char big[2000];
	tp_err e[2];
	size_t room;

	memset(&e[1], 0x5a, sizeof(e[1]));
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tp_err_set(&e[0], TP_EDATA, "%s", big);
	ck_assert_int_eq(tp_err_prefix(&e[0], "file.csv"), TP_EDATA);
	room = sizeof(e[0].msg) - 1;
	ck_assert_uint_eq(strlen(e[0].msg), room);
	ck_assert_mem_eq(e[0].msg, "file.csv: mmm", 13);
	ck_assert_int_eq(e[1].code, 0x5a5a5a5a);

	/* A prefix longer than the whole room. */
	tp_err_set(&e[0], TP_EIO, "what");
	ck_assert_int_eq(tp_err_prefix(&e[0], "%s", big), TP_EIO);
	ck_assert_uint_le(strlen(e[0].msg), room);
	ck_assert_mem_eq(e[0].msg, "mmmm", 4);
	ck_assert_int_eq(e[1].code, 0x5a5a5a5a);
}
END_TEST

/* A note reaches its callback formatted, on one line. */
static char noted[256];
static int noted_failed;

static void
remember(void *ctx, int failed, const char *msg)
{
	*(int *)ctx += 1;
	noted_failed = failed;
	snprintf(noted, sizeof(noted), "%s", msg);
}

START_TEST(test_notef)
{
	int calls = 0;

	tp_notef(NULL, &calls, 1, "nobody %d", 1);
	ck_assert_int_eq(calls, 0);
	tp_notef(remember, &calls, 1, "database: %s", "server closed\n\tthe "
	    "connection\n ");
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(noted_failed, 1);
	ck_assert_str_eq(noted, "database: server closed  the connection");
}
END_TEST

START_TEST(test_nomem)
{
	tp_err e = {0};

	ck_assert_int_eq(tp_err_nomem(&e, "a vocabulary"), TP_EINTERNAL);
	ck_assert_int_eq(e.code, TP_EINTERNAL);
	ck_assert_str_eq(e.msg, "out of memory allocating a vocabulary");
}
END_TEST

Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("messages");

	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_set_null);
	tcase_add_test(tc, test_set_long);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_prefix_long);
	tcase_add_test(tc, test_nomem);
	tcase_add_test(tc, test_notef);
	suite_add_tcase(s, tc);
	return s;
}
