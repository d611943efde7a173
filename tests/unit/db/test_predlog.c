/*
 * test_predlog: the prediction log. Its buffer in COPY's text format and
 * when it is due, at explicit times; and against PostgreSQL: the rows that
 * arrive in the predictions table with every field (features with tabs,
 * line ends, quotes and backslashes intact), a send when max_rows rows
 * wait, and the sends that fail (bad data, a revoked right, a dropped
 * connection), whose rows are counted as lost and leave the buffer empty.
 * With a spool: the batches of a lost connection kept on disk, the
 * connection tried again after a backoff, the spool sent first and once
 * (a batch recorded already is only removed), another run's batches, a
 * batch the database refuses set aside, and the last flush that tries
 * whatever the backoff.
 */
#define _GNU_SOURCE /* nftw, strptime, timegm */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	tp_prediction plain = {.model_sha256 = "ab", .id = 5, .prob = 0.25f,
	    .latency = -1};
	tp_prediction served = {.model_sha256 = "ab", .model_version = 3,
	    .id = -6, .prob = 0.75f, .label = 1,
	    .features = "{\"a\":\"x\\ty\\\\\",\"b\":\"\t\n\r\"}",
	    .request_id = "r\\1", .request_item = 2, .latency = 0.5};
	ck_assert_int_eq(tp_predlog_add(&l, &plain, &e), TP_OK);
	ck_assert_int_eq(tp_predlog_add(&l, &served, &e), TP_OK);
	ck_assert_uint_eq(l.rows, 2);
	/* Each row has the time it was made, in UTC to the microsecond,
	 * then the request's columns. */
	char *text = strndup(l.buf, l.len), *line = text, *row[2];
	const char *request[] = {"\\N\t\\N\t\\N\t\\N", "r\\\\1\t2\t3\t0.5"};
	time_t now = time(NULL);
	struct tm tm;
	for (int i = 0; i < 2; i++) {
		char *end = strchr(line, '\n'), *tab = line;
		ck_assert_ptr_nonnull(end);
		*end = '\0';
		row[i] = line;
		for (int f = 0; f < 6; f++)
			ck_assert_ptr_nonnull(tab = strchr(tab, '\t') + 1);
		ck_assert_msg(strlen(tab) > 30 && strncmp(tab + 26, "+00\t", 4) == 0,
		    "%s", tab);
		ck_assert_str_eq(tab + 30, request[i]);
		memset(&tm, 0, sizeof(tm));
		ck_assert_ptr_nonnull(strptime(tab, "%Y-%m-%d %H:%M:%S", &tm));
		ck_assert_msg(labs((long)(timegm(&tm) - now)) < 60, "%s", tab);
		tab[-1] = '\0';
		line = end + 1;
	}
	ck_assert_str_eq(row[0], "12\tab\t5\t0.25\t0\t\\N");
	ck_assert_str_eq(row[1],
	    "12\tab\t-6\t0.75\t1\t{\"a\":\"x\\\\ty\\\\\\\\\",\"b\":\"\\t\\n\\r\"}");
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
	tp_prediction p = {.model_sha256 = SHA, .id = id, .prob = prob,
	    .label = label, .features = features, .latency = -1};
	tp_err e = {0};

	ck_assert_msg(tp_predlog_add(l, &p, &e) == TP_OK, "%s", e.msg);
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
	/* The batch is recorded with its rows; the time is the rows'. */
	char batch[64];
	snprintf(batch, sizeof(batch), "%s 1 3 false true", run);
	fixture_value_is(l.db, "SELECT run_id || ' ' || batch || ' ' || rows || "
	    "' ' || spooled || ' ' || (sent_by = run_id) FROM "
	    "prediction_batches", 0, NULL, batch);
	fixture_value_is(l.db, "SELECT count(*) FROM predictions WHERE "
	    "abs(extract(epoch FROM predicted_at - now())) < 60", 0, NULL, "3");
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

/* The server ends db's connection, and has ended it (the wait of up to
 * 60 s) when this returns. */
static void
terminate(tp_db *db, tp_db *admin)
{
	char pid[16];
	const char *p[] = {pid};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db->conn));
	fixture_value_is(admin, "SELECT pg_terminate_backend($1, 60000)", 1, p,
	    "t");
}

START_TEST(test_flush_connection_lost)
{
	tp_predlog l;
	tp_db *admin;
	tp_err e = {0};

	log_open(&l);
	admin = fixture_db_connect("predlog", "predict");
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_int_eq(tp_predlog_flush(&l, &e), TP_OK);

	/* Without a spool, the rows of a lost connection are lost. */
	terminate(l.db, admin);
	add(&l, 2, 0.5f, 1, NULL);
	add(&l, 3, 0.5f, 1, NULL);
	add(&l, 4, 0.5f, 1, NULL);
	flush_fails(&l, TP_EUNAVAILABLE, "terminat");
	ck_assert_uint_eq(l.lost, 3);
	/* Every send fails too until the backoff is over, and empties the
	 * buffer each time. */
	ck_assert(l.retry_at > tp_clock());
	add(&l, 5, 0.5f, 1, NULL);
	flush_fails(&l, TP_EUNAVAILABLE, "the connection is lost");
	ck_assert_uint_eq(l.lost, 4);
	ck_assert_uint_eq(l.logged, 1);
	rows_are(admin, "1");
	/* Then the connection is made again. */
	l.retry_at = 0;
	add(&l, 6, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(l.db->resets, 1);
	ck_assert_uint_eq(l.logged, 2);
	rows_are(admin, "2");
	tp_db_close(admin);
	log_close(&l);
}
END_TEST

/* The notes the log gave, a line each, and how many said a failure. */
typedef struct {
	int failures;
	char text[16384];
} notes;

static void
on_note(void *ctx, int failed, const char *msg)
{
	notes *n = ctx;
	size_t len = strlen(n->text);

	n->failures += failed;
	snprintf(n->text + len, sizeof(n->text) - len, "%s\n", msg);
}

/* Whether the notes hold text. */
static int
noted(const notes *n, const char *text)
{
	if (strstr(n->text, text) != NULL)
		return 1;
	fprintf(stderr, "the notes lack \"%s\":\n%s", text, n->text);
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

/* A log of a new run with a spool folder of its own, which the test
 * removes with spool_close. */
static void
spool_open(tp_predlog *l, notes *n)
{
	char dir[] = "/tmp/tabpipe-spool-XXXXXX", want[256];
	tp_err e = {0};

	ck_assert_ptr_nonnull(mkdtemp(dir));
	log_open(l);
	l->note = on_note;
	l->ctx = n;
	ck_assert_msg(tp_predlog_spool(l, dir, &e) == TP_OK, "%s", e.msg);
	snprintf(want, sizeof(want), "%s/%s", dir, l->db->id);
	ck_assert_str_eq(l->spool, want);
	ck_assert_int_eq(l->pending, 1);
}

static void
spool_close(tp_predlog *l)
{
	char *dir = strdup(l->spool);

	ck_assert_ptr_nonnull(dir);
	*strrchr(dir, '/') = '\0';
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	log_close(l);
}

/* The rows of file name in l's spool; -1 when there is none. */
static long
spool_rows(const tp_predlog *l, const char *name)
{
	char path[512];
	FILE *f;
	long n = 0;
	int c;

	snprintf(path, sizeof(path), "%s/%s", l->spool, name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* The name of batch n of run. */
static const char *
batch_name(int64_t run, int n)
{
	static char name[48];

	snprintf(name, sizeof(name), "%lld-%d", (long long)run, n);
	return name;
}

/* Puts text in the spool as the file name, as a log would. */
static void
spool_put(const tp_predlog *l, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", l->spool, name);
	mkdir(l->spool, 0700);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* One row of run, id, in COPY text, as the spool keeps it. */
static const char *
row_text(int64_t run, int64_t id, const char *features)
{
	static char text[256];

	snprintf(text, sizeof(text), "%lld\t" SHA "\t%lld\t0.5\t1\t%s\t"
	    "2026-01-02 03:04:05.000006+00\n", (long long)run, (long long)id,
	    features);
	return text;
}

/* Whether the suite's database takes connections, said over a connection
 * to another. */
static void
connections(int allow)
{
	PGconn *c = PQconnectdb(fixture_server());
	PGresult *r = PQexec(c, allow ?
	    "ALTER DATABASE test_unit_predlog ALLOW_CONNECTIONS true" :
	    "ALTER DATABASE test_unit_predlog ALLOW_CONNECTIONS false");

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

START_TEST(test_spool_connection_lost)
{
	tp_predlog l;
	notes n = {0};
	tp_db *admin;
	tp_err e = {0};

	spool_open(&l, &n);
	admin = fixture_db_connect("predlog", "predict");
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(l.pending, 0); /* an empty spool, looked at */
	ck_assert_int_eq(l.batch, 1);

	/* The connection is lost: the batch is kept in the spool, whole,
	 * and said; the flush succeeds, since nothing is lost. */
	terminate(l.db, admin);
	add(&l, 2, 0.5f, 1, NULL);
	add(&l, 3, 0.5f, 1, "{\"a\":\"\\t\"}");
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(l.rows, 0);
	ck_assert_uint_eq(l.lost, 0);
	ck_assert_uint_eq(l.spooled, 2);
	ck_assert_uint_eq(l.unsent, 2);
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 2)), 2);
	ck_assert_int_eq(n.failures, 1);
	ck_assert(strstr(n.text, "database: logging 2 predictions failed: ") ==
	    n.text);
	ck_assert(noted(&n, "2 predictions kept in "));
	rows_are(admin, "1");

	/* Until the backoff is over the connection is not tried: a batch
	 * due goes to the spool at once. */
	ck_assert(l.retry_at > tp_clock());
	ck_assert_int_eq(tp_predlog_due(&l, tp_clock()), 0);
	ck_assert_int_eq(tp_predlog_due(&l, l.retry_at), 1);
	ck_assert(tp_predlog_wait(&l, tp_clock()) > 0);
	add(&l, 4, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 3)), 1);
	ck_assert_uint_eq(l.db->resets, 0);

	/* A try that fails (the database takes no connection) doubles the
	 * backoff. */
	connections(0);
	double backoff = l.backoff;
	l.retry_at = 0;
	add(&l, 5, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 4)), 1);
	ck_assert_double_eq(l.backoff, 2 * backoff);
	ck_assert(noted(&n, "database: cannot reconnect: "));
	connections(1);

	/* Once it is over: the connection again, the spool's batches first,
	 * each once with its record, then the new one. */
	l.retry_at = 0;
	add(&l, 6, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(l.db->resets, 1);
	rows_are(admin, "6");
	fixture_value_is(admin, "SELECT count(DISTINCT row_id) FROM predictions",
	    0, NULL, "6");
	fixture_value_is(admin, "SELECT features ->> 'a' FROM predictions "
	    "WHERE row_id = 3", 0, NULL, "\t");
	fixture_value_is(admin, "SELECT string_agg(batch || ' ' || rows || ' ' "
	    "|| spooled, ', ' ORDER BY batch) FROM prediction_batches", 0, NULL,
	    "1 1 false, 2 2 true, 3 1 true, 4 1 true, 5 1 false");
	for (int b = 2; b <= 4; b++)
		ck_assert_int_eq(spool_rows(&l, batch_name(l.run, b)), -1);
	ck_assert_uint_eq(l.replayed, 4);
	ck_assert_uint_eq(l.logged, 6);
	ck_assert_uint_eq(l.unsent, 0);
	ck_assert_uint_eq(l.lost, 0);
	ck_assert_int_eq(l.pending, 0);
	ck_assert_double_eq(l.backoff, 0);
	ck_assert(noted(&n, "database: reconnected\n"));
	ck_assert(noted(&n, "4 predictions sent from the spool"));
	tp_db_close(admin);
	spool_close(&l);
}
END_TEST

START_TEST(test_spool_once)
{
	tp_predlog l, l2;
	notes n = {0};
	int64_t run2, run3;
	tp_err e = {0};
	char other[512], dir[512];

	spool_open(&l, &n);
	add(&l, 7, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);

	/* A batch sent and committed whose file stayed (the process ended
	 * before removing it, or the commit's answer was lost): found
	 * recorded, removed, not sent again. */
	spool_put(&l, batch_name(l.run, 1), row_text(l.run, 99, "\\N"));
	l.pending = 1;
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 1)), -1);
	rows_are(l.db, "1");
	ck_assert_uint_eq(l.replayed, 0);

	/* Another run's batch, left by a run that ended with the database
	 * away, is sent by the next log's last flush, with no rows of its
	 * own; files that are no batch, and another database's spool,
	 * stay. */
	ck_assert_int_eq(tp_db_run_start(l.db, NULL, NULL, &run2, &e), TP_OK);
	spool_put(&l, batch_name(run2, 3), row_text(run2, 8, "{}"));
	spool_put(&l, ".9-1.tmp", row_text(run2, 9, "{}"));
	spool_put(&l, "notes", "");
	snprintf(other, sizeof(other), "%s/../other-database", l.spool);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	snprintf(other, sizeof(other), "%s/../other-database/%s", l.spool,
	    batch_name(run2, 4));
	FILE *f = fopen(other, "w");
	ck_assert_ptr_nonnull(f);
	fputs(row_text(run2, 10, "{}"), f);
	fclose(f);

	ck_assert_int_eq(tp_db_run_start(l.db, NULL, NULL, &run3, &e), TP_OK);
	tp_predlog_init(&l2, l.db, run3);
	*strrchr(strcpy(dir, l.spool), '/') = '\0';
	ck_assert_int_eq(tp_predlog_spool(&l2, dir, &e), TP_OK);
	ck_assert_msg(tp_predlog_finish(&l2, &e) == TP_OK, "%s", e.msg);
	rows_are(l.db, "2");
	char want[64], r2[24];
	snprintf(r2, sizeof(r2), "%lld", (long long)run2);
	const char *p[] = {r2};
	snprintf(want, sizeof(want), "3 1 true %lld", (long long)run3);
	fixture_value_is(l.db, "SELECT batch || ' ' || rows || ' ' || spooled "
	    "|| ' ' || sent_by FROM prediction_batches WHERE run_id = $1", 1, p,
	    want);
	fixture_value_is(l.db, "SELECT row_id FROM predictions WHERE "
	    "run_id = $1", 1, p, "8");
	ck_assert_uint_eq(l2.replayed, 1);
	ck_assert_uint_eq(l2.unsent, 0);
	ck_assert_int_eq(spool_rows(&l, batch_name(run2, 3)), -1);
	ck_assert_int_eq(spool_rows(&l, ".9-1.tmp"), 1);
	ck_assert_int_eq(spool_rows(&l, "notes"), 0);
	ck_assert_ptr_nonnull(f = fopen(other, "r"));
	fclose(f);
	tp_predlog_free(&l2);
	spool_close(&l);
}
END_TEST

START_TEST(test_spool_rejected)
{
	tp_predlog l;
	notes n = {0};
	tp_err e = {0};
	char rejected[64];

	/* A spooled batch whose rows the database refuses is set aside and
	 * said, its rows lost; the next batches go on. */
	spool_open(&l, &n);
	spool_put(&l, batch_name(l.run, 1), row_text(l.run, 1, "{\"a\":"));
	l.batch = 1;
	add(&l, 2, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_flush(&l, &e) == TP_OK, "%s", e.msg);
	snprintf(rejected, sizeof(rejected), "%s.rejected", batch_name(l.run, 1));
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 1)), -1);
	ck_assert_int_eq(spool_rows(&l, rejected), 1);
	ck_assert_int_eq(n.failures, 1);
	ck_assert_msg(strstr(n.text, rejected) != NULL, "%s", n.text);
	ck_assert(noted(&n, "invalid input syntax for type json"));
	ck_assert_uint_eq(l.lost, 1);
	ck_assert_uint_eq(l.logged, 1);
	ck_assert_int_eq(l.pending, 0);
	rows_are(l.db, "1");
	spool_close(&l);
}
END_TEST

START_TEST(test_spool_finish)
{
	tp_predlog l, l2;
	notes n = {0};
	tp_db *admin;
	int64_t run2;
	tp_err e = {0};
	char dir[512];

	/* The last flush tries the connection whatever the backoff; when
	 * the database is away its rows stay in the spool, counted. */
	spool_open(&l, &n);
	admin = fixture_db_connect("predlog", "predict");
	/* The spool is looked at first, so the first row is sent at once. */
	add(&l, 1, 0.5f, 1, NULL);
	ck_assert_uint_eq(l.logged, 1);
	terminate(l.db, admin);
	connections(0);
	l.retry_at = tp_clock() + 1000;
	add(&l, 2, 0.5f, 1, NULL);
	ck_assert_msg(tp_predlog_finish(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert(noted(&n, "cannot reconnect"));
	ck_assert_uint_eq(l.unsent, 1);
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 2)), 1);

	/* The next run sends them, at its end if not before. */
	connections(1);
	ck_assert_int_eq(tp_db_run_start(admin, NULL, NULL, &run2, &e), TP_OK);
	tp_predlog_init(&l2, admin, run2);
	*strrchr(strcpy(dir, l.spool), '/') = '\0';
	ck_assert_int_eq(tp_predlog_spool(&l2, dir, &e), TP_OK);
	ck_assert_msg(tp_predlog_finish(&l2, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(l2.replayed, 1);
	rows_are(admin, "2");
	ck_assert_int_eq(spool_rows(&l, batch_name(l.run, 2)), -1);
	/* And the first run's count of what waits is its spool's. */
	l.retry_at = tp_clock() + 1000;
	ck_assert_msg(tp_predlog_finish(&l, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(l.unsent, 0);
	tp_predlog_free(&l2);
	tp_db_close(admin);
	spool_close(&l);
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

	tc = tcase_create("spool");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_spool_connection_lost);
	tcase_add_test(tc, test_spool_once);
	tcase_add_test(tc, test_spool_rejected);
	tcase_add_test(tc, test_spool_finish);
	suite_add_tcase(s, tc);
	return s;
}
