/*
 * serve: the long-running predictor, one JSON line in, one JSON line out.
 *
 * Requests are read from a file descriptor, one JSON object of raw feature
 * values a line (see tp_request_parse_id), and each is answered at once
 * with {"id","probability","label"} (and "version" when the model is a
 * registered version), flushed, its id the request's: an integer exactly,
 * a string as written; a malformed request gets {"error":...} and the
 * loop goes on. The end of the input ends the loop.
 *
 * Between requests the model may be reloaded, whole, or not at all: when a
 * flag set by a signal handler (SIGHUP) says so, and, when the model was
 * named by a registry reference and there is a database, when a
 * "tabpipe_production" notification names the model (the database's
 * trigger sends one when a version becomes Production). The loop waits on
 * the requests and the database's socket together with ppoll(), so that a
 * notification is acted on while no request comes; the signal mask given
 * is the one in force while waiting, so that a signal blocked elsewhere is
 * taken only there and never lost between the check and the wait.
 *
 * The prediction log is sent when it is due, and finished at the end
 * (lib/db/predlog.h): while the database is away its batches wait in the
 * spool, and the log makes the connection again with a backoff, after
 * which the loop listens again (a promotion made meanwhile is found by
 * resolving the reference again).
 */
#ifndef TP_SERVE_H
#define TP_SERVE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "db/db.h"
#include "serve/predict.h"

typedef struct {
	int in;                        /* requests are read from this fd */
	FILE *out;                     /* answers are written here */
	tp_db *db;                     /* NULL without a database */
	const char *ref;               /* the model as given: file or reference */
	int nthreads;                  /* scoring threads of a reloaded model */
	const tp_why_opts *why;        /* the reasons to give, or NULL */
	tp_predlog *log;               /* where predictions go, or NULL */
	volatile sig_atomic_t *reload; /* set asynchronously: reload the model */
	volatile sig_atomic_t *stop;   /* set asynchronously to the signal
	                                * that ends it, as EOF does */
	const sigset_t *wait_mask;     /* signal mask while waiting, or NULL */
	size_t max_line;               /* longest request, in bytes */
	/* Told what happened: a reload, a failed one, a send of the log
	 * that failed and lost its rows, the connection lost and listened on
	 * again; may be NULL. failed is set for what went wrong. */
	tp_note_fn *note;
	void *ctx;
} tp_serve_opts;

enum { TP_SERVE_MAX_LINE = 1 << 20 };

typedef struct {
	uint64_t requests;             /* lines answered */
	uint64_t errors;               /* of which with an error */
	uint64_t reloads;              /* models loaded after the first */
	uint64_t reload_failures;
} tp_serve_counts;

/* Serves until the end of the input (or *stop); p is the model loaded from
 * o->ref, replaced on reloads. Returns TP_OK at the end of the input, or
 * the status of a read or write failure. */
int tp_serve(const tp_serve_opts *o, tp_predictor *p, tp_serve_counts *c,
    tp_err *e);

#endif
