/*
 * test_db: the database against a real PostgreSQL server, the one
 * $TABPIPE_DB names (`make check` starts a throwaway one): opening by
 * conninfo, by TABPIPE_DB or not at all, the migrations and their second
 * run, parameterised statements, failures on one line, transactions, the
 * record of runs, epochs and data sets, and a server that is not there or
 * goes away: a reconnection, a run finished over a new connection, and the
 * runs of this host's ended processes marked failed on opening. Each test works in a database of its own, test_unit_db, made
 * afresh, so that no other suite sees its rows and no test sees another's.
 * Without TABPIPE_DB the tests that need a server fail, saying so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "fixture.h"
#include "suites.h"

#define TEST_DB "test_unit_db"
/* A socket folder that is not there: libpq fails at once. */
#define NOWHERE "host=/nonexistent/tabpipe-test-sockets dbname=x user=x"

/* Saves and restores TABPIPE_DB around a test that changes it. */
static char *
save_env(void)
{
	const char *v = getenv("TABPIPE_DB");
	char *copy = v != NULL ? strdup(v) : NULL;

	ck_assert(v == NULL || copy != NULL);
	return copy;
}

static void
restore_env(char *saved)
{
	if (saved != NULL)
		ck_assert_int_eq(setenv("TABPIPE_DB", saved, 1), 0);
	else
		ck_assert_int_eq(unsetenv("TABPIPE_DB"), 0);
	free(saved);
}

static tp_db *
open_db(const char *conninfo, const char *tool)
{
	tp_db *db = NULL;
	tp_err e = {0};

	ck_assert_msg(tp_db_open(&db, conninfo, tool, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_ptr_nonnull(db);
	return db;
}

/* The one value sql gives through c, read with libpq itself rather than
 * the code under test; NULL for SQL NULL, else to free. */
static char *
scalar(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	char *v = NULL;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	ck_assert_msg(PQntuples(r) == 1 && PQnfields(r) == 1,
	    "%s: %d rows of %d values", sql, PQntuples(r), PQnfields(r));
	if (!PQgetisnull(r, 0, 0)) {
		v = strdup(PQgetvalue(r, 0, 0));
		ck_assert_ptr_nonnull(v);
	}
	PQclear(r);
	return v;
}

/* scalar's value is want (NULL: SQL NULL). */
static void
expect(PGconn *c, const char *sql, int n, const char *const *params,
    const char *want)
{
	char *got = scalar(c, sql, n, params);

	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: \"%s\", want NULL", sql, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "%s: %s%s%s, want \"%s\"", sql, got ? "\"" : "",
		    got ? got : "NULL", got ? "\"" : "", want);
	free(got);
}

/* A failure's message: "database: what: ...", on one line, with no
 * trailing space. */
static void
expect_one_line(const tp_err *e, const char *start)
{
	size_t n = strlen(e->msg);

	ck_assert_msg(strncmp(e->msg, start, strlen(start)) == 0,
	    "\"%s\" does not start with \"%s\"", e->msg, start);
	ck_assert_msg(strpbrk(e->msg, "\n\r\t") == NULL, "not one line: \"%s\"",
	    e->msg);
	ck_assert_msg(n > strlen(start) && e->msg[n - 1] != ' ',
	    "\"%s\"", e->msg);
}

START_TEST(test_open_conninfo)
{
	char *conninfo = fixture_db_fresh("db");
	tp_db *db = open_db(conninfo, "train");

	ck_assert_str_eq(db->tool, "train");
	expect(db->conn, "SELECT current_database()", 0, NULL, TEST_DB);
	/* libpq's fallback name tells the server which tool it is. */
	expect(db->conn, "SELECT current_setting('application_name')", 0, NULL,
	    "tabpipe-train");
	tp_db_close(db);
	tp_db_close(NULL);
	free(conninfo);
}
END_TEST

START_TEST(test_open_env)
{
	char *conninfo = fixture_db_fresh("db"), *saved = save_env();
	tp_db *db;

	ck_assert_int_eq(setenv("TABPIPE_DB", conninfo, 1), 0);
	db = open_db(NULL, "ingest");
	expect(db->conn, "SELECT current_database()", 0, NULL, TEST_DB);
	expect(db->conn, "SELECT current_setting('application_name')", 0, NULL,
	    "tabpipe-ingest");
	tp_db_close(db);
	/* A conninfo given wins over TABPIPE_DB. */
	ck_assert_int_eq(setenv("TABPIPE_DB", NOWHERE, 1), 0);
	db = open_db(conninfo, "ingest");
	tp_db_close(db);
	restore_env(saved);
	free(conninfo);
}
END_TEST

/* No conninfo and no TABPIPE_DB: no database, and no error. */
START_TEST(test_open_neither)
{
	char *saved = save_env();
	tp_db dummy, *db = &dummy;
	tp_err e = {0};

	ck_assert_int_eq(unsetenv("TABPIPE_DB"), 0);
	ck_assert_int_eq(tp_db_open(&db, NULL, "train", &e), TP_OK);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(e.code, TP_OK);
	restore_env(saved);
}
END_TEST

START_TEST(test_unreachable)
{
	tp_db dummy, *db = &dummy;
	tp_err e = {0};

	ck_assert_int_eq(tp_db_open(&db, NOWHERE, "train", &e),
	    TP_EUNAVAILABLE);
	ck_assert_int_eq(e.code, TP_EUNAVAILABLE);
	ck_assert_ptr_null(db);
	expect_one_line(&e, "database: cannot connect: ");
	ck_assert_msg(strstr(e.msg, "/nonexistent/tabpipe-test-sockets") !=
	    NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_migrations)
{
	static const char *const tables[] = {
		"runs", "epochs", "datasets", "models", "model_versions",
		"stage_changes", "evaluations", "predictions",
		"prediction_batches", "tabpipe_database",
	};
	char *conninfo = fixture_db_fresh("db"), *before, *after, n[16], v[16];
	const char *params[1];
	tp_db *db = open_db(conninfo, "train"), *db2;
	tp_err e = {0};

	ck_assert_int_gt(tp_nmigrations, 0);
	snprintf(n, sizeof(n), "%d", tp_nmigrations);
	expect(db->conn, "SELECT count(*) FROM schema_version", 0, NULL, n);
	for (int i = 0; i < tp_nmigrations; i++) {
		ck_assert_int_eq(tp_migrations[i].version, i + 1);
		snprintf(v, sizeof(v), "%d", tp_migrations[i].version);
		params[0] = v;
		expect(db->conn, "SELECT name FROM schema_version WHERE "
		    "version = $1", 1, params, tp_migrations[i].name);
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		params[0] = tables[i];
		expect(db->conn, "SELECT to_regclass($1) IS NOT NULL", 1,
		    params, "t");
	}
	before = scalar(db->conn, "SELECT string_agg(version || ' ' || name || "
	    "' ' || applied_at, ',' ORDER BY version) FROM schema_version", 0,
	    NULL);

	/* The database has an id of its own, one, the same for every
	 * connection. */
	ck_assert_int_eq(strlen(db->id), 36);
	expect(db->conn, "SELECT count(*) FROM tabpipe_database", 0, NULL, "1");

	/* A second open, with the first still there, applies nothing. */
	db2 = open_db(conninfo, "evaluate");
	ck_assert_str_eq(db2->id, db->id);
	after = scalar(db2->conn, "SELECT string_agg(version || ' ' || name || "
	    "' ' || applied_at, ',' ORDER BY version) FROM schema_version", 0,
	    NULL);
	ck_assert_str_eq(after, before);
	tp_db_close(db2);
	free(after);

	/* A schema newer than this tabpipe knows: refused, before any work. */
	snprintf(v, sizeof(v), "%d", tp_nmigrations + 1);
	params[0] = v;
	expect(db->conn, "INSERT INTO schema_version (version, name) "
	    "VALUES ($1, 'future.sql') RETURNING version", 1, params, v);
	db2 = db;
	ck_assert_int_eq(tp_db_open(&db2, conninfo, "train", &e),
	    TP_EUNAVAILABLE);
	ck_assert_ptr_null(db2);
	expect_one_line(&e, "database: ");
	ck_assert_msg(strstr(e.msg, "upgrade tabpipe") != NULL, "%s", e.msg);
	tp_db_close(db);
	free(before);
	free(conninfo);
}
END_TEST

START_TEST(test_exec_params)
{
	static const char *const tricky =
	    "it's \"quoted\"; DROP TABLE t; -- \\ $1 '' \\'";
	char *conninfo = fixture_db_fresh("db");
	tp_db *db = open_db(conninfo, "train");
	const char *row[] = {"1", tricky, NULL};
	const char *one[] = {"1"}, *null[] = {NULL};
	PGresult *r = NULL;
	tp_err e = {0};

	ck_assert_int_eq(tp_db_exec(db, "CREATE TABLE t (id int, s text, "
	    "n text)", 0, NULL, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO t VALUES ($1, $2, $3)", 3,
	    row, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "SELECT s, n IS NULL, n FROM t "
	    "WHERE id = $1", 1, one, &r, &e), TP_OK);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), tricky);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "t");
	ck_assert_int_eq(PQgetisnull(r, 0, 2), 1);
	PQclear(r);
	/* The text was a value, never SQL: the table is still there. */
	expect(db->conn, "SELECT count(*) FROM t", 0, NULL, "1");
	expect(db->conn, "SELECT s FROM t", 0, NULL, tricky);
	/* A NULL parameter is SQL NULL, not the text "NULL" or "". */
	ck_assert_int_eq(tp_db_exec(db, "SELECT $1::text IS NULL", 1, null, &r,
	    &e), TP_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	/* No rows is a result too. */
	ck_assert_int_eq(tp_db_exec(db, "SELECT s FROM t WHERE id = 2", 0, NULL,
	    &r, &e), TP_OK);
	ck_assert_int_eq(PQntuples(r), 0);
	PQclear(r);
	ck_assert_int_eq(e.code, TP_OK);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

/* A failing statement: TP_EINTERNAL with libpq's message, several lines
 * for a syntax error, on one; the connection goes on working. */
START_TEST(test_exec_failure)
{
	char *conninfo = fixture_db_fresh("db");
	tp_db *db = open_db(conninfo, "train");
	const char *bad_tool[] = {"no-such-tool"};
	PGresult *r = NULL;
	tp_err e = {0};

	ck_assert_int_eq(tp_db_exec(db, "SELEC 1", 0, NULL, &r, &e),
	    TP_EINTERNAL);
	ck_assert_int_eq(e.code, TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	ck_assert_msg(strstr(e.msg, "syntax error") != NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "LINE 1") != NULL, "%s", e.msg);

	ck_assert_int_eq(tp_db_exec(db, "SELECT * FROM no_such_table", 0, NULL,
	    NULL, &e), TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	ck_assert_msg(strstr(e.msg, "no_such_table") != NULL, "%s", e.msg);

	/* A constraint of the schema. */
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO runs (tool, host, pid, "
	    "version) VALUES ($1, 'h', 1, 'v')", 1, bad_tool, NULL, &e),
	    TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	ck_assert_msg(strstr(e.msg, "runs_tool_check") != NULL, "%s", e.msg);

	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, &r, &e), TP_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

START_TEST(test_transactions)
{
	char *conninfo = fixture_db_fresh("db");
	tp_db *db = open_db(conninfo, "train");
	tp_db *other = open_db(conninfo, "train");
	tp_err e = {0};

	ck_assert_int_eq(tp_db_exec(db, "CREATE TABLE t (x int)", 0, NULL, NULL,
	    &e), TP_OK);

	/* Rolled back: gone, and never seen by another connection. */
	ck_assert_int_eq(tp_db_begin(db, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO t VALUES (1)", 0, NULL,
	    NULL, &e), TP_OK);
	expect(db->conn, "SELECT count(*) FROM t", 0, NULL, "1");
	expect(other->conn, "SELECT count(*) FROM t", 0, NULL, "0");
	tp_db_rollback(db);
	expect(db->conn, "SELECT count(*) FROM t", 0, NULL, "0");

	/* Committed: seen by the other only then. */
	ck_assert_int_eq(tp_db_begin(db, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO t VALUES (2)", 0, NULL,
	    NULL, &e), TP_OK);
	expect(other->conn, "SELECT count(*) FROM t", 0, NULL, "0");
	ck_assert_int_eq(tp_db_commit(db, &e), TP_OK);
	expect(other->conn, "SELECT count(*) FROM t", 0, NULL, "1");

	/* After a failure inside a transaction nothing more runs until the
	 * rollback, which brings the connection back. */
	ck_assert_int_eq(tp_db_begin(db, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO t VALUES (3)", 0, NULL,
	    NULL, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e),
	    TP_EINTERNAL);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, NULL, &e),
	    TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	tp_db_rollback(db);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, NULL, &e), TP_OK);
	expect(db->conn, "SELECT string_agg(x::text, ',') FROM t", 0, NULL,
	    "2");

	/* A COMMIT after such a failure keeps nothing, and says so. */
	ck_assert_int_eq(tp_db_begin(db, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "INSERT INTO t VALUES (4)", 0, NULL,
	    NULL, &e), TP_OK);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e),
	    TP_EINTERNAL);
	ck_assert_int_eq(tp_db_commit(db, &e), TP_EINTERNAL);
	ck_assert(strstr(e.msg, "nothing was committed") != NULL);
	expect(db->conn, "SELECT string_agg(x::text, ',') FROM t", 0, NULL,
	    "2");
	/* A rollback with no transaction does no harm. */
	tp_db_rollback(db);
	expect(db->conn, "SELECT count(*) FROM t", 0, NULL, "1");
	tp_db_close(other);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

START_TEST(test_runs)
{
	char *conninfo = fixture_db_fresh("db"), id[24], id2[24], pid[16];
	tp_db *db = open_db(conninfo, "train");
	cJSON *params = cJSON_CreateObject(), *inputs = cJSON_CreateObject();
	cJSON *result = cJSON_CreateObject();
	const char *q[2];
	int64_t run = 0, run2 = 0;
	tp_err e = {0};

	ck_assert_ptr_nonnull(params);
	cJSON_AddNumberToObject(params, "epochs", 3);
	cJSON_AddNumberToObject(params, "lr", 0.001);
	cJSON_AddStringToObject(params, "name", "it's \"x\"");
	cJSON_AddStringToObject(inputs, "train", "abc123");
	cJSON_AddNumberToObject(result, "auc", 0.75);
	cJSON_AddNumberToObject(result, "rows", 100);

	ck_assert_int_eq(tp_db_run_start(db, params, inputs, &run, &e), TP_OK);
	ck_assert_int_gt(run, 0);
	snprintf(id, sizeof(id), "%lld", (long long)run);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	q[0] = id;
	expect(db->conn, "SELECT tool || ' ' || status FROM runs WHERE id = $1",
	    1, q, "train running");
	/* jsonb objects equal to the JSON written out by hand. */
	q[1] = "{\"lr\": 0.001, \"name\": \"it's \\\"x\\\"\", \"epochs\": 3}";
	expect(db->conn, "SELECT params = $2::jsonb AND "
	    "jsonb_typeof(params) = 'object' FROM runs WHERE id = $1", 2, q,
	    "t");
	q[1] = "{\"train\": \"abc123\"}";
	expect(db->conn, "SELECT inputs = $2::jsonb FROM runs WHERE id = $1", 2,
	    q, "t");
	expect(db->conn, "SELECT pid::text FROM runs WHERE id = $1", 1, q, pid);
	expect(db->conn, "SELECT result IS NULL AND error IS NULL AND "
	    "finished_at IS NULL AND version <> '' FROM runs WHERE id = $1", 1,
	    q, "t");

	ck_assert_int_eq(tp_db_run_finish(db, run, 1, NULL, result, &e), TP_OK);
	expect(db->conn, "SELECT status FROM runs WHERE id = $1", 1, q,
	    "finished");
	q[1] = "{\"auc\": 0.75, \"rows\": 100}";
	expect(db->conn, "SELECT result = $2::jsonb FROM runs WHERE id = $1", 2,
	    q, "t");
	expect(db->conn, "SELECT error IS NULL AND finished_at IS NOT NULL "
	    "FROM runs WHERE id = $1", 1, q, "t");

	/* Without parameters: {} for both; a failure keeps its reason. */
	ck_assert_int_eq(tp_db_run_start(db, NULL, NULL, &run2, &e), TP_OK);
	ck_assert_int_ne(run2, run);
	snprintf(id2, sizeof(id2), "%lld", (long long)run2);
	q[0] = id2;
	expect(db->conn, "SELECT params = '{}' AND inputs = '{}' FROM runs "
	    "WHERE id = $1", 1, q, "t");
	ck_assert_int_eq(tp_db_run_finish(db, run2, 0, "it broke: 'x' \"y\"",
	    NULL, &e), TP_OK);
	expect(db->conn, "SELECT status FROM runs WHERE id = $1", 1, q,
	    "failed");
	expect(db->conn, "SELECT error FROM runs WHERE id = $1", 1, q,
	    "it broke: 'x' \"y\"");
	expect(db->conn, "SELECT result FROM runs WHERE id = $1", 1, q, NULL);
	expect(db->conn, "SELECT count(*) FROM runs", 0, NULL, "2");

	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

START_TEST(test_epochs)
{
	char *conninfo = fixture_db_fresh("db"), id[24];
	tp_db *db = open_db(conninfo, "pretrain");
	cJSON *m = cJSON_CreateObject();
	const char *q[2];
	int64_t run;
	tp_err e = {0};

	cJSON_AddNumberToObject(m, "loss", 0.5);
	cJSON_AddNumberToObject(m, "auc", 0.625);
	ck_assert_int_eq(tp_db_run_start(db, NULL, NULL, &run, &e), TP_OK);
	snprintf(id, sizeof(id), "%lld", (long long)run);
	q[0] = id;
	ck_assert_int_eq(tp_db_epoch(db, run, 1, 1, m, &e), TP_OK);
	ck_assert_int_eq(tp_db_epoch(db, run, 1, 2, NULL, &e), TP_OK);
	q[1] = "{\"auc\": 0.625, \"loss\": 0.5}";
	expect(db->conn, "SELECT metrics = $2::jsonb FROM epochs "
	    "WHERE run_id = $1 AND epoch = 1", 2, q, "t");
	expect(db->conn, "SELECT metrics = '{}' FROM epochs "
	    "WHERE run_id = $1 AND epoch = 2", 1, q, "t");
	expect(db->conn, "SELECT tool FROM runs WHERE id = $1", 1, q,
	    "pretrain");

	/* An epoch twice, or of a run that is not there: refused. */
	ck_assert_int_eq(tp_db_epoch(db, run, 1, 1, m, &e), TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	ck_assert_int_eq(tp_db_epoch(db, run + 1000, 1, 1, m, &e), TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	expect(db->conn, "SELECT count(*) FROM epochs", 0, NULL, "2");
	cJSON_Delete(m);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

START_TEST(test_datasets)
{
	static const char *const fp =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char *conninfo = fixture_db_fresh("db"), id[24];
	tp_db *db = open_db(conninfo, "ingest");
	const char *q[1];
	int64_t run;
	tp_err e = {0};

	ck_assert_int_eq(tp_db_run_start(db, NULL, NULL, &run, &e), TP_OK);
	snprintf(id, sizeof(id), "%lld", (long long)run);
	q[0] = id;
	/* More rows than 32 bits hold. */
	ck_assert_int_eq(tp_db_dataset(db, run, "a.csv b's.csv", fp, "enc-fp",
	    UINT64_C(12345678901), 7, &e), TP_OK);
	expect(db->conn, "SELECT source || '|' || fingerprint || '|' || "
	    "encoding || '|' || rows || '|' || rejected FROM datasets "
	    "WHERE run_id = $1", 1, q,
	    "a.csv b's.csv|"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|"
	    "enc-fp|12345678901|7");
	/* Of a run that is not there: refused. */
	ck_assert_int_eq(tp_db_dataset(db, run + 1000, "x", fp, "e", 1, 0, &e),
	    TP_EINTERNAL);
	expect_one_line(&e, "database: query failed: ");
	expect(db->conn, "SELECT count(*) FROM datasets", 0, NULL, "1");
	tp_db_close(db);
	free(conninfo);
}
END_TEST

/* The library never prints (base/err.h): a warning of the server, here
 * that there is no transaction to end, does not reach standard error. */
START_TEST(test_quiet)
{
	char *conninfo = fixture_db_fresh("db"), path[] = "/tmp/tp_db_stderrXXXXXX";
	char got[512] = "";
	tp_db *db = open_db(conninfo, "train");
	tp_err e = {0};
	int fd = mkstemp(path), saved;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	tp_db_rollback(db);
	tp_db_commit(db, &e);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	unlink(path);
	tp_db_close(db);
	free(conninfo);
	ck_assert_int_ge(n, 0);
	ck_assert_msg(n == 0, "the library printed: %s", got);
}
END_TEST

START_TEST(test_json)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	s = tp_db_json(NULL);
	ck_assert_str_eq(s, "{}");
	free(s);
	cJSON_AddNumberToObject(o, "a", 1);
	cJSON_AddStringToObject(o, "s", "x\"y");
	s = tp_db_json(o);
	ck_assert_str_eq(s, "{\"a\":1,\"s\":\"x\\\"y\"}");
	free(s);
	cJSON_Delete(o);
}
END_TEST

/* The server ends the connection (as at a restart): the next statement
 * is TP_EUNAVAILABLE, the service missing, not a failed statement. */
START_TEST(test_connection_lost)
{
	char *conninfo = fixture_db_fresh("db"), pid[16];
	tp_db *db = open_db(conninfo, "train");
	tp_db *other = open_db(conninfo, "train");
	const char *q[] = {pid};
	tp_err e = {0};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db->conn));
	/* With a timeout, pg_terminate_backend returns once the server
	 * process is gone (PostgreSQL 14 and later). */
	expect(other->conn, "SELECT pg_terminate_backend($1, 60000)", 1, q,
	    "t");
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, NULL, &e),
	    TP_EUNAVAILABLE);
	ck_assert_int_eq(e.code, TP_EUNAVAILABLE);
	expect_one_line(&e, "database: query failed: ");
	tp_db_close(other);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

/* Whether the test's database takes connections, said by admin, a
 * connection to another. */
static void
allow_connections(PGconn *admin, int yes)
{
	PGresult *r = PQexec(admin, yes ?
	    "ALTER DATABASE " TEST_DB " ALLOW_CONNECTIONS true" :
	    "ALTER DATABASE " TEST_DB " ALLOW_CONNECTIONS false");

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
	    PQerrorMessage(admin));
	PQclear(r);
}

/* The server ends db's connection, and has ended it when this returns. */
static void
terminate(tp_db *db, PGconn *admin)
{
	char pid[16];
	const char *q[] = {pid};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db->conn));
	expect(admin, "SELECT pg_terminate_backend($1, 60000)", 1, q, "t");
}

/* A lost connection is made again, the session's settings with it; while
 * the database takes no connection, the reconnection fails and says why,
 * and a later one succeeds. */
START_TEST(test_reconnect)
{
	char *conninfo = fixture_db_fresh("db");
	tp_db *db = open_db(conninfo, "train");
	PGconn *admin = PQconnectdb(fixture_server());
	tp_err e = {0};

	ck_assert_uint_eq(db->resets, 0);
	terminate(db, admin);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, NULL, &e),
	    TP_EUNAVAILABLE);
	ck_assert_msg(tp_db_reconnect(db, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(db->resets, 1);
	ck_assert_int_eq(tp_db_exec(db, "SELECT 1", 0, NULL, NULL, &e), TP_OK);
	expect(db->conn, "SELECT current_setting('client_min_messages')", 0,
	    NULL, "warning");

	allow_connections(admin, 0);
	terminate(db, admin);
	ck_assert_int_eq(tp_db_reconnect(db, &e), TP_EUNAVAILABLE);
	expect_one_line(&e, "database: cannot reconnect: ");
	ck_assert_uint_eq(db->resets, 1);
	allow_connections(admin, 1);
	ck_assert_msg(tp_db_reconnect(db, &e) == TP_OK, "%s", e.msg);
	ck_assert_uint_eq(db->resets, 2);
	PQfinish(admin);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

/* A run is marked at its end over a new connection when the old one was
 * lost; when none can be made, the run stays running and the error says
 * what becomes of it. */
START_TEST(test_run_finish_reconnects)
{
	char *conninfo = fixture_db_fresh("db"), id[24];
	tp_db *db = open_db(conninfo, "predict");
	PGconn *admin = PQconnectdb(fixture_server());
	tp_db *other = open_db(conninfo, "train");
	const char *q[] = {id};
	int64_t run;
	tp_err e = {0};

	ck_assert_int_eq(tp_db_run_start(db, NULL, NULL, &run, &e), TP_OK);
	snprintf(id, sizeof(id), "%lld", (long long)run);
	terminate(db, admin);
	ck_assert_msg(tp_db_run_finish(db, run, 1, NULL, NULL, &e) == TP_OK,
	    "%s", e.msg);
	expect(other->conn, "SELECT status FROM runs WHERE id = $1", 1, q,
	    "finished");

	ck_assert_int_eq(tp_db_run_start(db, NULL, NULL, &run, &e), TP_OK);
	snprintf(id, sizeof(id), "%lld", (long long)run);
	allow_connections(admin, 0);
	terminate(db, admin);
	ck_assert_int_eq(tp_db_run_finish(db, run, 1, NULL, NULL, &e),
	    TP_EUNAVAILABLE);
	expect_one_line(&e, "database: ");
	ck_assert_msg(strstr(e.msg, "stays running") != NULL, "%s", e.msg);
	allow_connections(admin, 1);
	expect(other->conn, "SELECT status FROM runs WHERE id = $1", 1, q,
	    "running");
	tp_db_close(other);
	PQfinish(admin);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

/* The id of a process that has ended. */
static pid_t
ended_process(void)
{
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* Opening marks failed the runs left running by processes of this host
 * that have ended; those of live processes and of other hosts stay. */
START_TEST(test_sweep)
{
	char *conninfo = fixture_db_fresh("db"), host[256] = "", dead[16],
	    alive[16];
	tp_db *db = open_db(conninfo, "train"), *db2;
	const char *q[3] = {host, dead, alive};

	gethostname(host, sizeof(host) - 1);
	snprintf(dead, sizeof(dead), "%d", (int)ended_process());
	snprintf(alive, sizeof(alive), "%d", (int)getpid());
	fixture_exec(db, "INSERT INTO runs (tool, host, pid, version) VALUES "
	    "('predict', $1, $2, 'x'), ('train', $1, $3, 'x'), "
	    "('predict', 'elsewhere.example', $2, 'x')", 3, q);
	fixture_exec(db, "INSERT INTO runs (tool, host, pid, version, status, "
	    "finished_at) VALUES ('predict', $1, $2, 'x', 'finished', now())",
	    2, q);
	db2 = open_db(conninfo, "train");
	expect(db->conn, "SELECT string_agg(status || ' ' || coalesce(error, "
	    "'-') || ' ' || (finished_at IS NOT NULL), ', ' ORDER BY id) "
	    "FROM runs", 0, NULL,
	    "failed the process ended without finishing its run true, "
	    "running - false, running - false, finished - true");
	tp_db_close(db2);
	tp_db_close(db);
	free(conninfo);
}
END_TEST

Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("connection");

	/* Every test makes a database: seconds, not milliseconds. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_conninfo);
	tcase_add_test(tc, test_open_env);
	tcase_add_test(tc, test_open_neither);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_migrations);
	tcase_add_test(tc, test_connection_lost);
	tcase_add_test(tc, test_reconnect);
	suite_add_tcase(s, tc);

	tc = tcase_create("statements");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exec_params);
	tcase_add_test(tc, test_exec_failure);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_quiet);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_runs);
	tcase_add_test(tc, test_epochs);
	tcase_add_test(tc, test_datasets);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_run_finish_reconnects);
	tcase_add_test(tc, test_sweep);
	suite_add_tcase(s, tc);
	return s;
}
