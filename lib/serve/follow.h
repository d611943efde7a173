/*
 * follow: the model a server follows, and the work it does besides
 * answering: loading the model again, and sending the prediction log.
 *
 * The model is loaded again, whole or not at all, when the server asks
 * (on SIGHUP, on an admin's request) and, when it was named by a registry
 * reference and there is a database, when a "tabpipe_production"
 * notification names it (the database's trigger sends one when a version
 * becomes Production). A reload that fails leaves the old model serving.
 * A new model is handed to the server through install, which takes it.
 *
 * The prediction log is sent when it is due, and finished at the end
 * (lib/db/predlog.h): while the database is away its batches wait in the
 * spool, and the log makes the connection again with a backoff, after
 * which the follower listens again (a promotion made meanwhile is found
 * by resolving the reference again).
 *
 * Everything here uses the database's one connection, so one thread does
 * it all: the JSON-lines server's only thread, the HTTP server's control
 * thread. It waits on tp_follow_fd, for at most tp_follow_wait seconds,
 * and then calls tp_follow_step.
 */
#ifndef TP_FOLLOW_H
#define TP_FOLLOW_H

#include <stdint.h>

#include "base/err.h"
#include "db/db.h"
#include "db/predlog.h"
#include "serve/predict.h"

typedef struct {
	tp_db *db;             /* NULL without a database */
	const char *ref;       /* the model as given: file or reference */
	int nthreads;          /* scoring threads of a reloaded model */
	const tp_why_opts *why;/* the reasons it gives, or NULL */
	tp_predlog *log;       /* where predictions go, or NULL */
	/* Puts np, newly loaded, in place of the model serving; takes it,
	 * and frees it when it fails, leaving the old one in place. */
	int (*install)(void *ctx, tp_predictor *np, tp_err *e);
	/* Told what happened: a reload, a failed one, a send of the log that
	 * failed, the connection lost and listened on again; failed is set
	 * for what went wrong. May be NULL. */
	tp_note_fn *note;
	void *ctx;
	/* Kept here: */
	char sha256[65];       /* of the model serving */
	char *path;            /* its file */
	char *name;            /* the model's name, when listening */
	int listener;          /* follows promotions */
	int listening;         /* and the LISTEN stands */
	unsigned resets;       /* the connection's resets at the LISTEN */
	uint64_t reloads;      /* models loaded after the first */
	uint64_t reload_failures;
} tp_follow;

/* Starts following the model p, loaded from f->ref (set the fields above
 * "Kept here" first; tp_follow_finish frees what it takes): listens for its promotions when there is a database
 * and f->ref is a reference. */
int tp_follow_start(tp_follow *f, const tp_predictor *p, tp_err *e);
/* Loads the model again, why saying what asked for it; TP_OK when the new
 * one was installed, else the old one still serves and e says why. */
int tp_follow_reload(tp_follow *f, const char *why, tp_err *e);
/* The descriptor to wait on for notifications, -1 when there is none. */
int tp_follow_fd(const tp_follow *f);
/* Seconds until the log is due, -1 when nothing waits. */
double tp_follow_wait(const tp_follow *f, double now);
/* The work that is due: what the database sent (fd_ready: tp_follow_fd
 * was readable), reloads for promotions, the log, listening again after
 * a reconnection. */
void tp_follow_step(tp_follow *f, int fd_ready);
/* Finishes the log (see tp_predlog_finish) and frees what f holds. */
void tp_follow_finish(tp_follow *f);

#endif
