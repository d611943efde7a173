/*
 * db: the PostgreSQL database, through libpq: the connection, the schema's
 * migrations, and the record of runs, their epochs and the data sets.
 *
 * A tool opens the database given by its --db option or by TABPIPE_DB (a
 * libpq connection string or URI; the PG* variables and service files work
 * as libpq defines them); with neither, there is no database and the tool
 * records nothing. Opening applies the versioned migrations (sql/) that
 * the database lacks, each in its own transaction under an advisory lock,
 * so concurrent tools migrate once. A database that is configured but
 * unreachable is TP_EUNAVAILABLE with libpq's message, before any work.
 *
 * A connection that the server has lost is made again by
 * tp_db_reconnect, which the prediction log calls with a backoff and the
 * end of a run once. A run that cannot be marked at its end, the database
 * being away, stays running; opening the database then marks failed every
 * run left running by a process of this host (the runs' host and pid)
 * that no longer exists, so the next tool to run here does it.
 *
 * Every query is parameterised; nothing from input is ever put into SQL
 * text. Each logical change is one transaction.
 */
#ifndef TP_DB_H
#define TP_DB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "base/option.h"

typedef struct {
	int version;          /* 1, 2, ... in order */
	const char *name;     /* the file it came from */
	const char *sql;
} tp_migration;

extern const tp_migration tp_migrations[];
extern const int tp_nmigrations;

typedef struct {
	PGconn *conn;
	char tool[32];        /* "train": what runs are recorded as */
	char id[64];          /* the database's own id (tabpipe_database),
	                         "" when it cannot be read */
	unsigned resets;      /* connections made again */
} tp_db;

/* --db conninfo, for the table of a tool that records (lib/base/option.h);
 * its field is a const char *. */
#define TP_DB_OPTION(settings, member) {.key = "db", .name = "db", \
	.arg = "conninfo", .type = TP_OPT_STRING, \
	.offset = offsetof(settings, member), \
	.help = "the database, a libpq connection string ($TABPIPE_DB)"}

/* Opens the database of conninfo, or of TABPIPE_DB when conninfo is NULL.
 * With neither, *out is NULL and the result TP_OK. Once migrated, the
 * runs of this host left running by processes that have ended are marked
 * failed ("the process ended without finishing its run"), where the role
 * may. */
int tp_db_open(tp_db **out, const char *conninfo, const char *tool,
    tp_err *e);
void tp_db_close(tp_db *db);

/* Makes the connection again (PQreset, which waits at most the connection
 * timeout), with the session's settings; counts it in db->resets. Fails
 * with TP_EUNAVAILABLE when the server cannot be reached. What the old
 * session held (LISTEN, SET ROLE) is gone. */
int tp_db_reconnect(tp_db *db, tp_err *e);

/* Runs one parameterised statement (params may hold NULLs); on success
 * *res is the result to PQclear (or NULL when res is NULL). */
int tp_db_exec(tp_db *db, const char *sql, int n, const char *const *params,
    PGresult **res, tp_err *e);
/* The same with parameters that may be binary: formats[i] 1 for params[i]
 * of lengths[i] bytes (a bytea's bytes), 0 for text (lengths and formats
 * NULL: all text); and, with binary, the result's values binary too (a
 * bytea as its bytes, PQgetlength long). */
int tp_db_exec_binary(tp_db *db, const char *sql, int n,
    const char *const *params, const int *lengths, const int *formats,
    int binary, PGresult **res, tp_err *e);
/* The status of a statement that failed with result r (may be NULL), with
 * libpq's message on one line after "database: what: ": TP_EUNAVAILABLE
 * when the connection is lost, TP_ENOPERM when the role lacks a right,
 * TP_EINTERNAL otherwise. */
int tp_db_failure(tp_db *db, const PGresult *r, const char *what,
    tp_err *e);
/* The text of a jsonb parameter: j unformatted, or {} when j is NULL;
 * NULL when memory runs out. To free. */
char *tp_db_json(const cJSON *j);
int tp_db_begin(tp_db *db, tp_err *e);
int tp_db_commit(tp_db *db, tp_err *e);
void tp_db_rollback(tp_db *db);

/* A run of the tool: recorded as running at once, as finished or failed at
 * the end. params and inputs are JSON objects (may be NULL). The end is
 * recorded over a new connection when the old one was lost; when none
 * can be made the run stays running, and the error says so. */
int tp_db_run_start(tp_db *db, const cJSON *params, const cJSON *inputs,
    int64_t *run, tp_err *e);
int tp_db_run_finish(tp_db *db, int64_t run, int ok, const char *error,
    const cJSON *result, tp_err *e);

/* One epoch's metrics of a training or pretraining run, of its member
 * (1-based; 1 but in an ensemble's training). */
int tp_db_epoch(tp_db *db, int64_t run, int member, int epoch,
    const cJSON *metrics, tp_err *e);

/* A data set written by ingest. */
int tp_db_dataset(tp_db *db, int64_t run, const char *source,
    const char *fingerprint, const char *encoding, uint64_t rows,
    uint64_t rejected, tp_err *e);

#endif
