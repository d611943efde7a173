#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "serve/follow.h"

int
tp_follow_reload(tp_follow *f, const char *why, tp_err *e)
{
	tp_predictor np;
	char *path = NULL, sha256[sizeof(f->sha256)];
	int rc, version = 0;

	if ((rc = tp_predictor_open(&np, f->db, f->ref, f->nthreads, f->why,
	    e)) ==
	    TP_OK) {
		/* What the note says, read before install takes the model. */
		memcpy(sha256, np.vm.meta.sha256, sizeof(sha256));
		version = np.vm.version.version;
		if ((path = strdup(np.vm.path)) == NULL) {
			tp_predictor_free(&np);
			rc = tp_err_nomem(e, "a model's file name");
		} else {
			rc = f->install(f->ctx, &np, e);
		}
	}
	if (rc != TP_OK) {
		free(path);
		f->reload_failures++;
		tp_notef(f->note, f->ctx, 1, "%s: reload failed, still serving %s: %s", why,
		    f->path, e->msg);
		return rc;
	}
	free(f->path);
	f->path = path;
	memcpy(f->sha256, sha256, sizeof(sha256));
	f->reloads++;
	if (version > 0)
		tp_notef(f->note, f->ctx, 0, "%s: reloaded %s, version %d", why, path, version);
	else
		tp_notef(f->note, f->ctx, 0, "%s: reloaded %s", why, path);
	return TP_OK;
}

/* Loads the model again, saying only what went wrong. */
static void
reload(tp_follow *f, const char *why)
{
	tp_err e = {0};

	tp_follow_reload(f, why, &e);
}

/* Whether the reference now names another file than the one serving. */
static int
stale(tp_follow *f)
{
	tp_model_version v;
	tp_err e = {0};
	int r;

	if (tp_version_find(f->db, f->ref, &v, &e) != TP_OK)
		return 0;
	r = strcmp(v.sha256, f->sha256) != 0;
	tp_version_free(&v);
	return r;
}

/* Listens for promotions on the connection as it is now: at the start,
 * and again once a lost connection is made again, which ends a LISTEN. */
static int
subscribe(tp_follow *f, tp_err *e)
{
	int rc;

	f->resets = f->db->resets;
	if ((rc = tp_db_exec(f->db, "LISTEN tabpipe_production", 0, NULL,
	    NULL, e)) != TP_OK)
		return rc;
	f->listening = 1;
	/* A promotion between the load and the LISTEN sent its notification
	 * to nobody. */
	if (stale(f))
		reload(f, "a new version");
	return TP_OK;
}

int
tp_follow_start(tp_follow *f, const tp_predictor *p, tp_err *e)
{
	const char *at;

	memcpy(f->sha256, p->vm.meta.sha256, sizeof(f->sha256));
	f->name = NULL;
	if ((f->path = strdup(p->vm.path)) == NULL)
		return tp_err_nomem(e, "a model's file name");
	f->listener = f->listening = 0;
	f->reloads = f->reload_failures = 0;
	if (f->db == NULL || !tp_version_is_ref(f->ref))
		return TP_OK;
	at = strrchr(f->ref, '@');
	if ((f->name = strndup(f->ref, (size_t)(at - f->ref))) == NULL)
		return tp_err_nomem(e, "a model's name");
	f->listener = 1;
	return subscribe(f, e);
}

int
tp_follow_fd(const tp_follow *f)
{
	return f->listening ? PQsocket(f->db->conn) : -1;
}

double
tp_follow_wait(const tp_follow *f, double now)
{
	return f->log != NULL ? tp_predlog_wait(f->log, now) : -1;
}

/* Acts on the notifications that libpq has read: one reload for all of
 * those that name the model. */
static void
notifications(tp_follow *f)
{
	PGconn *conn = f->db->conn;
	PGnotify *n;
	int ours = 0;

	while ((n = PQnotifies(conn)) != NULL) {
		cJSON *j = cJSON_Parse(n->extra);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
		if (strcmp(n->relname, "tabpipe_production") == 0 &&
		    cJSON_IsString(m) && strcmp(m->valuestring, f->name) == 0)
			ours = 1;
		cJSON_Delete(j);
		PQfreemem(n);
	}
	if (ours)
		reload(f, "a new Production version");
}

void
tp_follow_step(tp_follow *f, int fd_ready)
{
	tp_err e = {0};

	if (fd_ready && f->listening && !PQconsumeInput(f->db->conn)) {
		tp_notef(f->note, f->ctx, 1, "database: connection lost, no reloads on promotion "
		    "until it is made again: %s", PQerrorMessage(f->db->conn));
		f->listening = 0;
	}
	if (f->listening)
		notifications(f);
	if (f->log != NULL && tp_predlog_due(f->log, tp_clock()) &&
	    tp_predlog_flush(f->log, &e) != TP_OK)
		tp_notef(f->note, f->ctx, 1, "%s", e.msg);
	/* The log makes a lost connection again, which ends the LISTEN. */
	if (f->listener && f->db->resets != f->resets) {
		if (subscribe(f, &e) != TP_OK) {
			f->listening = 0;
			tp_notef(f->note, f->ctx, 1, "%s: no reloads on promotion", e.msg);
		} else {
			tp_notef(f->note, f->ctx, 0, "database: listening for promotions again");
		}
	}
}

void
tp_follow_finish(tp_follow *f)
{
	tp_err e = {0};

	if (f->log != NULL && tp_predlog_finish(f->log, &e) != TP_OK)
		tp_notef(f->note, f->ctx, 1, "%s", e.msg);
	free(f->name);
	free(f->path);
	f->name = f->path = NULL;
}
