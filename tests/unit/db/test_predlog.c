/*
 * test_predlog: the prediction log. Its buffer in COPY's text format and
 * when it is due, at explicit times; and against PostgreSQL: the rows that
 * arrive in the predictions table with every field (features with tabs,
 * line ends, quotes and backslashes intact), a send when max_rows rows
 * wait, and the sends that fail (bad data, a revoked right, a dropped
 * connection), whose rows are counted as lost and leave the buffer empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "db/db.h"
#include "db/predlog.h"
#include "fixture.h"
#include "suites.h"

#define SHA \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_log_buffer)
{
	tp_predlog l;
	tp_err e = {0};

	/* No database: nothing may be due while the rows are added, whatever
	 * time the adding takes. */
	tp_predlog_init(&l, NULL, 12);
	ck_assert_uint_eq(l.max_rows, TP_PREDLOG_ROWS);
	ck_assert_double_eq(l.max_wait, TP_PREDLOG_WAIT);
	l.max_wait = 1e9;
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
	l.max_wait = TP_PREDLOG_WAIT;
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

/* A log of a new run of tabpipe-predict, in the suite's fresh database. */
static void
log_open(tp_predlog *l)
{
	tp_db *db = fixture_db("predlog", "predict");
	int64_t run;
	tp_err e = {0};

	ck_assert_msg(tp_db_run_start(db, NULL, NULL, &run, &e) == TP_OK, "%s",
	    e.msg);
	tp_predlog_init(l, db, run);
	/* Rows are sent when the test says, never for their age. */
	l->max_wait = 1e9;
}

static void
log_close(tp_predlog *l)
{
	tp_db_close(l->db);
	tp_predlog_free(l);
}

static void
add(tp_predlog *l, int64_t id, float prob, int label, const char *features)
{
	tp_err e = {0};

	ck_assert_msg(tp_predlog_add(l, SHA, id, prob, label, features, &e) ==
	    TP_OK, "%s", e.msg);
}

/* The rows in the predictions table, as text. */
static void
rows_are(tp_db *db, const char *want)
{
	fixture_value_is(db, "SELECT count(*) FROM predictions", 0, NULL, want);
}

/* The failed send of n rows: its status and message, nothing waiting. */
static void
flush_fails(tp_predlog *l, int code, const char *cause)
{
	char prefix[64];
	size_t rows = l->rows;
	uint64_t lost = l->lost, logged = l->logged;
	tp_err e = {0};

	snprintf(prefix, sizeof(prefix), "database: logging %zu prediction%s "
	    "failed: ", rows, rows == 1 ? "" : "s");
	ck_assert_int_eq(tp_predlog_flush(l, &e), code);
	ck_assert_int_eq(e.code, code);
	ck_assert_msg(strncmp(e.msg, prefix, strlen(prefix)) == 0 &&
	    strstr(e.msg, cause) != NULL, "\"%s\" is not \"%s...%s...\"", e.msg,
	    prefix, cause);
	ck_assert_uint_eq(l->lost, lost + rows);
	ck_assert_uint_eq(l->logged, logged);
	ck_assert_uint_eq(l->rows, 0);
	ck_assert_uint_eq(l->len, 0);
}

START_TEST(test_flush_rows)
{
	/* Raw tabs and line ends between the tokens, escaped ones, a quote
	 * and backslashes in the strings: each is a delimiter or an escape
	 * to COPY unless written as its text format wants. */
	static const char json[] = "{\"a\":\"x\\ty\\\\z\\n\",\t\"b\":\n"
	    "\"c\\\"d\",\r\n\"c\":\"\\\\\\\\\"}";
	static const struct {
		const char *id;
		float prob;
		const char *label;
	} want[] = {
		{"-6", 1.0f / 3, "1"},
		{"5", 0.25f, "0"},
		{"9007199254740993", 0.9f, "1"},
	};
	tp_predlog l;
	tp_err e = {0};
	char run[24];

	log_open(&l);
	snprintf(run, sizeof(run), "%lld", (long long)l.run);
	add(&l, 5, 0.25f, 0, NULL);
	add(&l, -6, 1.0f / 3, 1, json);
	add(&l, INT64_C(9007199254740993), 0.9f, 1, "{}");
	rows_are(l.db, "0");
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 3);
	ck_assert_uint_eq(l.lost, 0);
	ck_assert_uint_eq(l.rows, 0);
	ck_assert_uint_eq(l.len, 0);
	rows_are(l.db, "3");

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *p[] = {want[i].id, run};
		char *prob;

		fixture_value_is(l.db, "SELECT count(*) FROM predictions WHERE "
		    "row_id = $1 AND run_id = $2 AND predicted_at IS NOT NULL",
		    2, p, "1");
		fixture_value_is(l.db, "SELECT model_sha256 FROM predictions "
		    "WHERE row_id = $1", 1, p, SHA);
		fixture_value_is(l.db, "SELECT label FROM predictions "
		    "WHERE row_id = $1", 1, p, want[i].label);
		/* The server prints a real as the shortest text that reads
		 * back as the same float. */
		prob = fixture_value(l.db, "SELECT probability FROM "
		    "predictions WHERE row_id = $1", 1, p);
		ck_assert_ptr_nonnull(prob);
		ck_assert_msg(strtof(prob, NULL) == want[i].prob, "%s: %s",
		    want[i].id, prob);
		free(prob);
	}
	fixture_value_is(l.db, "SELECT features FROM predictions "
	    "WHERE row_id = 5", 0, NULL, NULL);
	fixture_value_is(l.db, "SELECT features::text FROM predictions "
	    "WHERE row_id = 9007199254740993", 0, NULL, "{}");
	const char *pj[] = {json};
	fixture_value_is(l.db, "SELECT features = $1::jsonb FROM predictions "
	    "WHERE row_id = -6", 1, pj, "t");
	fixture_value_is(l.db, "SELECT features ->> 'a' FROM predictions "
	    "WHERE row_id = -6", 0, NULL, "x\ty\\z\n");
	fixture_value_is(l.db, "SELECT features ->> 'b' FROM predictions "
	    "WHERE row_id = -6", 0, NULL, "c\"d");
	fixture_value_is(l.db, "SELECT features ->> 'c' FROM predictions "
	    "WHERE row_id = -6", 0, NULL, "\\\\");

	/* Nothing waiting: nothing sent. The rows sent are not sent again
	 * with the next ones. */
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 3);
	add(&l, 7, 0.5f, 1, NULL);
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 4);
	rows_are(l.db, "4");
	log_close(&l);
}
END_TEST

START_TEST(test_flush_when_full)
{
	tp_predlog l;

	log_open(&l);
	l.max_rows = 2;
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_uint_eq(l.rows, 1);
	rows_are(l.db, "0");
	/* The second row fills the buffer: the add sends both. */
	add(&l, 2, 0.5f, 1, NULL);
	ck_assert_uint_eq(l.rows, 0);
	ck_assert_uint_eq(l.logged, 2);
	rows_are(l.db, "2");
	/* Freeing sends nothing. */
	add(&l, 3, 0.5f, 1, NULL);
	ck_assert_uint_eq(l.rows, 1);
	tp_predlog_free(&l);
	rows_are(l.db, "2");
	log_close(&l);
}
END_TEST

START_TEST(test_flush_bad_row)
{
	tp_predlog l;
	tp_err e = {0};

	/* One statement, so one transaction: the good row before the bad
	 * one is lost with it. */
	log_open(&l);
	add(&l, 1, 0.5f, 1, "{\"a\":1}");
	add(&l, 2, 0.5f, 1, "{\"a\":");
	flush_fails(&l, TP_EINTERNAL, "invalid input syntax for type json");
	ck_assert_uint_eq(l.lost, 2);
	rows_are(l.db, "0");
	/* The connection is ready for the next send. */
	add(&l, 3, 0.5f, 1, "{\"a\":1}");
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 1);
	rows_are(l.db, "1");
	log_close(&l);
}
END_TEST

START_TEST(test_flush_revoked)
{
	tp_predlog l;
	tp_db *admin;
	tp_err e = {0};

	/* The log writes as the trainer role, whose right to insert is taken
	 * away between two sends. */
	log_open(&l);
	admin = fixture_db_connect("predlog", "predict");
	fixture_exec(l.db, "SET ROLE tabpipe_trainer", 0, NULL);
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 1);

	fixture_exec(admin, "REVOKE INSERT ON predictions FROM tabpipe_trainer",
	    0, NULL);
	add(&l, 2, 0.5f, 1, NULL);
	add(&l, 3, 0.5f, 1, "{}");
	flush_fails(&l, TP_ENOPERM, "permission denied for table predictions");
	ck_assert_uint_eq(l.lost, 2);
	rows_are(admin, "1");

	fixture_exec(admin, "GRANT INSERT ON predictions TO tabpipe_trainer", 0,
	    NULL);
	add(&l, 4, 0.5f, 1, NULL);
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);
	ck_assert_uint_eq(l.logged, 2);
	ck_assert_uint_eq(l.lost, 2);
	rows_are(admin, "2");
	tp_db_close(admin);
	log_close(&l);
}
END_TEST

START_TEST(test_flush_connection_lost)
{
	tp_predlog l;
	tp_db *admin;
	tp_err e = {0};
	char pid[16];

	log_open(&l);
	admin = fixture_db_connect("predlog", "predict");
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);

	/* The server ends the log's connection, and has ended it (the wait
	 * of up to 60 s) before the next send. */
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(l.db->conn));
	const char *p[] = {pid};
	fixture_value_is(admin, "SELECT pg_terminate_backend($1, 60000)", 1, p,
	    "t");
	add(&l, 2, 0.5f, 1, NULL);
	add(&l, 3, 0.5f, 1, NULL);
	add(&l, 4, 0.5f, 1, NULL);
	flush_fails(&l, TP_EUNAVAILABLE, "terminat");
	ck_assert_uint_eq(l.lost, 3);
	/* Every later send fails too, and empties the buffer each time. */
	add(&l, 5, 0.5f, 1, NULL);
	flush_fails(&l, TP_EUNAVAILABLE, "");
	ck_assert_uint_eq(l.lost, 4);
	ck_assert_uint_eq(l.logged, 1);
	rows_are(admin, "1");
	tp_db_close(admin);
	log_close(&l);
}
END_TEST

Suite *
predlog_suite(void)
{
	Suite *s = suite_create("predlog");
	TCase *tc = tcase_create("predlog");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_log_buffer);
	tcase_add_test(tc, test_flush_rows);
	tcase_add_test(tc, test_flush_when_full);
	tcase_add_test(tc, test_flush_bad_row);
	tcase_add_test(tc, test_flush_revoked);
	tcase_add_test(tc, test_flush_connection_lost);
	suite_add_tcase(s, tc);
	return s;
}
