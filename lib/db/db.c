#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

#ifndef TABPIPE_VERSION
#define TABPIPE_VERSION "0.0.0"
#endif

/* The key of the advisory lock that serialises migrations. */
#define MIGRATION_LOCK "7365012894711"

/* libpq's message, on one line. */
static int
db_error(tp_err *e, int code, const char *what, const char *msg)
{
	char line[768];
	size_t n = 0;

	/* A line break, and the tab that indents libpq's next line, become
	 * one space. */
	for (const char *p = msg ? msg : ""; *p && n < sizeof(line) - 1; p++) {
		if (*p == '\t' && n > 0 && line[n - 1] == ' ')
			continue;
		line[n++] = *p == '\n' || *p == '\t' ? ' ' : *p;
	}
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	return tp_err_set(e, code, "database: %s: %s", what, line);
}

int
tp_db_failure(tp_db *db, const PGresult *r, const char *what, tp_err *e)
{
	/* A lost connection is the service missing; anything else is a
	 * failed statement. */
	const char *state = r != NULL ?
	    PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int code = PQstatus(db->conn) == CONNECTION_BAD ? TP_EUNAVAILABLE :
	    state != NULL && strcmp(state, "42501") == 0 ? TP_ENOPERM :
	    TP_EINTERNAL;

	return db_error(e, code, what, PQerrorMessage(db->conn));
}

int
tp_db_exec(tp_db *db, const char *sql, int n, const char *const *params,
    PGresult **res, tp_err *e)
{
	return tp_db_exec_binary(db, sql, n, params, NULL, NULL, 0, res, e);
}

int
tp_db_exec_binary(tp_db *db, const char *sql, int n,
    const char *const *params, const int *lengths, const int *formats,
    int binary, PGresult **res, tp_err *e)
{
	PGresult *r = PQexecParams(db->conn, sql, n, NULL, params, lengths,
	    formats, binary);
	ExecStatusType st = PQresultStatus(r);

	if (res != NULL)
		*res = NULL;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int code = tp_db_failure(db, r, "query failed", e);
		PQclear(r);
		return code;
	}
	if (res != NULL)
		*res = r;
	else
		PQclear(r);
	return TP_OK;
}

int
tp_db_begin(tp_db *db, tp_err *e)
{
	return tp_db_exec(db, "BEGIN", 0, NULL, NULL, e);
}

int
tp_db_commit(tp_db *db, tp_err *e)
{
	PGresult *r;
	int rc;

	if ((rc = tp_db_exec(db, "COMMIT", 0, NULL, &r, e)) != TP_OK)
		return rc;
	/* A transaction that a statement failed in answers COMMIT with
	 * success and the tag ROLLBACK: nothing was kept. */
	if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
		rc = tp_err_set(e, TP_EINTERNAL, "database: the transaction "
		    "failed and was rolled back, nothing was committed");
	PQclear(r);
	return rc;
}

void
tp_db_rollback(tp_db *db)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

/* Applies the migrations the database lacks, each with its version row in
 * one transaction. */
static int
migrate(tp_db *db, tp_err *e)
{
	PGresult *r;
	int rc, have;

	if ((rc = tp_db_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version integer PRIMARY KEY, name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())",
	    0, NULL, NULL, e)) != TP_OK) {
		/* A reader may not create tables; it can still read a schema
		 * that is there. */
		if ((rc = tp_db_exec(db, "SELECT 1 FROM schema_version LIMIT 1", 0,
		    NULL, NULL, e)) != TP_OK)
			return rc;
	}
	for (;;) {
		if ((rc = tp_db_begin(db, e)) != TP_OK)
			return rc;
		if ((rc = tp_db_exec(db, "SELECT pg_advisory_xact_lock("
		    MIGRATION_LOCK ")", 0, NULL, NULL, e)) != TP_OK ||
		    (rc = tp_db_exec(db, "SELECT coalesce(max(version), 0) "
		    "FROM schema_version", 0, NULL, &r, e)) != TP_OK)
			goto fail;
		have = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (have >= tp_nmigrations) {
			if (have > tp_nmigrations) {
				rc = tp_err_set(e, TP_EUNAVAILABLE,
				    "database: its schema is version %d, this tabpipe knows up to %d: upgrade tabpipe",
				    have, tp_nmigrations);
				goto fail;
			}
			return tp_db_commit(db, e);
		}
		const tp_migration *m = &tp_migrations[have];
		char v[16];
		const char *params[] = {v, m->name};
		snprintf(v, sizeof(v), "%d", m->version);
		PGresult *mr = PQexec(db->conn, m->sql);
		if (PQresultStatus(mr) != PGRES_COMMAND_OK &&
		    PQresultStatus(mr) != PGRES_TUPLES_OK) {
			rc = db_error(e, TP_EUNAVAILABLE, m->name,
			    PQerrorMessage(db->conn));
			PQclear(mr);
			goto fail;
		}
		PQclear(mr);
		if ((rc = tp_db_exec(db, "INSERT INTO schema_version (version, name) "
		    "VALUES ($1, $2)", 2, params, NULL, e)) != TP_OK ||
		    (rc = tp_db_commit(db, e)) != TP_OK)
			goto fail;
	}
fail:
	tp_db_rollback(db);
	return rc;
}

/* The library never prints: the server's notices (such as a warning that
 * no transaction is in progress) are not the tools' messages, and libpq
 * would print them to stderr. */
static void
no_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What every session of a tool sets. */
static void
session(tp_db *db)
{
	PQsetNoticeProcessor(db->conn, no_notices, NULL);
	PQclear(PQexec(db->conn, "SET client_min_messages = warning"));
}

/* Marks failed the runs of this host left running by processes that no
 * longer exist. Housekeeping: a role that may not, or any failure, leaves
 * them as they are. kill(pid, 0) fails with ESRCH only for a process that
 * is not there; one of another user is EPERM, and alive. */
static void
sweep(tp_db *db)
{
	char host[256] = "";
	const char *params[] = {host};
	PGresult *r;
	tp_err e = {0};

	gethostname(host, sizeof(host) - 1);
	if (tp_db_exec(db, "SELECT id, pid FROM runs WHERE status = 'running' "
	    "AND host = $1", 1, params, &r, &e) != TP_OK)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		long pid = strtol(PQgetvalue(r, i, 1), NULL, 10);
		const char *id[] = {PQgetvalue(r, i, 0)};
		if (pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (tp_db_exec(db, "UPDATE runs SET status = 'failed', error = "
		    "'the process ended without finishing its run', "
		    "finished_at = now() WHERE id = $1 AND status = 'running'",
		    1, id, NULL, &e) != TP_OK)
			break;
	}
	PQclear(r);
}

/* The database's id, which migration 2 made. */
static void
read_id(tp_db *db)
{
	PGresult *r;
	tp_err e = {0};

	if (tp_db_exec(db, "SELECT id FROM tabpipe_database", 0, NULL, &r,
	    &e) != TP_OK)
		return;
	if (PQntuples(r) == 1)
		snprintf(db->id, sizeof(db->id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

int
tp_db_open(tp_db **out, const char *conninfo, const char *tool, tp_err *e)
{
	static const char *const keys[] = {"connect_timeout",
	    "fallback_application_name", "dbname", NULL};
	char app[48];
	tp_db *db;
	int rc;

	*out = NULL;
	if (conninfo == NULL)
		conninfo = getenv("TABPIPE_DB");
	if (conninfo == NULL)
		return TP_OK;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return tp_err_nomem(e, "a database connection");
	snprintf(db->tool, sizeof(db->tool), "%s", tool);
	snprintf(app, sizeof(app), "tabpipe-%s", tool);
	/* The connection string comes last so that what it says wins. */
	const char *values[] = {"10", app, conninfo, NULL};
	db->conn = PQconnectdbParams(keys, values, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		rc = db_error(e, TP_EUNAVAILABLE, "cannot connect",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		tp_db_close(db);
		return rc;
	}
	session(db);
	if ((rc = migrate(db, e)) != TP_OK) {
		tp_db_close(db);
		return rc;
	}
	read_id(db);
	sweep(db);
	*out = db;
	return TP_OK;
}

int
tp_db_reconnect(tp_db *db, tp_err *e)
{
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK)
		return db_error(e, TP_EUNAVAILABLE, "cannot reconnect",
		    PQerrorMessage(db->conn));
	session(db);
	db->resets++;
	return TP_OK;
}

void
tp_db_close(tp_db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db);
}

char *
tp_db_json(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : strdup("{}");
}

int
tp_db_run_start(tp_db *db, const cJSON *params, const cJSON *inputs,
    int64_t *run, tp_err *e)
{
	char host[256] = "", pid[16];
	char *p = tp_db_json(params), *in = tp_db_json(inputs);
	PGresult *r;
	int rc;

	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *values[] = {db->tool, p, in, host, pid, TABPIPE_VERSION};
	if (p == NULL || in == NULL)
		rc = tp_err_nomem(e, "a run's parameters");
	else
		rc = tp_db_exec(db, "INSERT INTO runs (tool, params, inputs, host, "
		    "pid, version) VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6) "
		    "RETURNING id", 6, values, &r, e);
	if (rc == TP_OK) {
		*run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	free(p);
	free(in);
	return rc;
}

int
tp_db_run_finish(tp_db *db, int64_t run, int ok, const char *error,
    const cJSON *result, tp_err *e)
{
	char id[24], *res = result ? cJSON_PrintUnformatted(result) : NULL;
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)run);
	const char *values[] = {id, ok ? "finished" : "failed", error, res};
	/* A connection lost during the run is made again, once. */
	for (int tries = 0; tries < 2; tries++) {
		rc = tp_db_exec(db, "UPDATE runs SET status = $2, error = $3, "
		    "result = $4::jsonb, finished_at = now() WHERE id = $1", 4,
		    values, NULL, e);
		if (rc != TP_EUNAVAILABLE || tries > 0)
			break;
		if ((rc = tp_db_reconnect(db, e)) != TP_OK)
			break;
	}
	if (rc == TP_EUNAVAILABLE && e != NULL) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": run %s stays running "
		    "until a tool on this host finds its process ended", id);
	}
	free(res);
	return rc;
}

int
tp_db_epoch(tp_db *db, int64_t run, int member, int epoch,
    const cJSON *metrics, tp_err *e)
{
	char id[24], mb[16], ep[16], *m = tp_db_json(metrics);
	int rc;

	if (m == NULL)
		return tp_err_nomem(e, "an epoch's metrics");
	snprintf(id, sizeof(id), "%lld", (long long)run);
	snprintf(mb, sizeof(mb), "%d", member);
	snprintf(ep, sizeof(ep), "%d", epoch);
	const char *values[] = {id, mb, ep, m};
	rc = tp_db_exec(db, "INSERT INTO epochs (run_id, member, epoch, "
	    "metrics) VALUES ($1, $2, $3, $4::jsonb)", 4, values, NULL, e);
	free(m);
	return rc;
}

int
tp_db_dataset(tp_db *db, int64_t run, const char *source,
    const char *fingerprint, const char *encoding, uint64_t rows,
    uint64_t rejected, tp_err *e)
{
	char id[24], n[24], rej[24];

	snprintf(id, sizeof(id), "%lld", (long long)run);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)rows);
	snprintf(rej, sizeof(rej), "%llu", (unsigned long long)rejected);
	const char *values[] = {id, source, fingerprint, encoding, n, rej};
	return tp_db_exec(db, "INSERT INTO datasets (run_id, source, "
	    "fingerprint, encoding, rows, rejected) VALUES ($1, $2, $3, $4, $5, $6)",
	    6, values, NULL, e);
}
