#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "registry/study.h"
#include "registry/version.h"

/* The first key of the studies' advisory locks ("tune"), the study's id
 * the second. */
#define STUDY_LOCK "1953853029"

/* The columns of a trial, in the order trial_row reads them. */
#define TRIAL_COLUMNS "number, rung, coalesce(parent, 0), budget, state, " \
	"params::text, value, coalesce(run_id, 0), model_path, " \
	"coalesce(model_sha256, ''), error, coalesce(host, ''), " \
	"coalesce(pid, 0), attempts, " \
	"coalesce(extract(epoch FROM now() - heartbeat_at), -1), " \
	"extract(epoch FROM finished_at - started_at)"

static void
host_name(char host[256])
{
	memset(host, 0, 256);
	gethostname(host, 255);
}

static void
id_text(char *buf, size_t n, int64_t id)
{
	snprintf(buf, n, "%lld", (long long)id);
}

static char *
dup_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL :
	    strdup(PQgetvalue(r, row, col));
}

static int
study_row(const PGresult *r, tp_study *s, tp_err *e)
{
	memset(s, 0, sizeof(*s));
	s->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(s->name, sizeof(s->name), "%s", PQgetvalue(r, 0, 1));
	snprintf(s->method, sizeof(s->method), "%s", PQgetvalue(r, 0, 2));
	snprintf(s->state, sizeof(s->state), "%s", PQgetvalue(r, 0, 4));
	s->best_trial = atoi(PQgetvalue(r, 0, 5));
	s->version_id = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	s->run = strtoll(PQgetvalue(r, 0, 7), NULL, 10);
	s->version = atoi(PQgetvalue(r, 0, 8));
	if ((s->settings = cJSON_Parse(PQgetvalue(r, 0, 3))) == NULL)
		return tp_err_set(e, TP_EDATA, "study %s: its settings do not "
		    "parse", s->name);
	return TP_OK;
}

#define STUDY_COLUMNS "id, name, method, settings::text, state, " \
	"coalesce(best_trial, 0), coalesce(version_id, 0), " \
	"coalesce(run_id, 0), coalesce((SELECT version FROM model_versions " \
	"WHERE id = studies.version_id), 0)"

int
tp_study_find(tp_db *db, const char *name, tp_study *s, int *found,
    tp_err *e)
{
	const char *params[] = {name};
	PGresult *r;
	int rc;

	memset(s, 0, sizeof(*s));
	*found = 0;
	if ((rc = tp_db_exec(db, "SELECT " STUDY_COLUMNS " FROM studies "
	    "WHERE name = $1", 1, params, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 1) {
		*found = 1;
		rc = study_row(r, s, e);
	}
	PQclear(r);
	return rc;
}

int
tp_study_create(tp_db *db, const char *name, const char *method,
    const cJSON *settings, int64_t run, tp_study *s, tp_err *e)
{
	char *text = tp_db_json(settings), runs[24];
	PGresult *r;
	int rc, found;

	memset(s, 0, sizeof(*s));
	if (text == NULL)
		return tp_err_nomem(e, "a study's settings");
	id_text(runs, sizeof(runs), run);
	const char *params[] = {name, method, text, run > 0 ? runs : NULL};
	rc = tp_db_exec(db, "INSERT INTO studies (name, method, settings, "
	    "run_id) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (name) DO "
	    "NOTHING RETURNING " STUDY_COLUMNS, 4, params, &r, e);
	free(text);
	if (rc != TP_OK)
		return rc;
	if (PQntuples(r) == 1)
		rc = study_row(r, s, e);
	else if ((rc = tp_study_find(db, name, s, &found, e)) == TP_OK &&
	    !found)
		rc = tp_err_set(e, TP_EINTERNAL, "study %s: made and gone", name);
	PQclear(r);
	return rc;
}

int
tp_study_lock(tp_db *db, const tp_study *s, tp_err *e)
{
	char key[24];
	const char *params[] = {key};
	PGresult *r;
	int rc;

	snprintf(key, sizeof(key), "%d", (int)(s->id & 0x7fffffff));
	if ((rc = tp_db_exec(db, "SELECT pg_try_advisory_lock(" STUDY_LOCK
	    ", $1::integer)", 1, params, &r, e)) != TP_OK)
		return rc;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		rc = tp_err_set(e, TP_NO, "study %s: another tabpipe-tune is "
		    "driving it now", s->name);
	PQclear(r);
	return rc;
}

void
tp_study_free(tp_study *s)
{
	if (s == NULL)
		return;
	cJSON_Delete(s->settings);
	memset(s, 0, sizeof(*s));
}

static int
trial_row(const PGresult *r, int i, tp_trial *t, tp_err *e)
{
	memset(t, 0, sizeof(*t));
	t->number = atoi(PQgetvalue(r, i, 0));
	t->rung = atoi(PQgetvalue(r, i, 1));
	t->parent = atoi(PQgetvalue(r, i, 2));
	t->budget = atoi(PQgetvalue(r, i, 3));
	snprintf(t->state, sizeof(t->state), "%s", PQgetvalue(r, i, 4));
	t->value = PQgetisnull(r, i, 6) ? NAN :
	    strtod(PQgetvalue(r, i, 6), NULL);
	t->run = strtoll(PQgetvalue(r, i, 7), NULL, 10);
	t->model_path = dup_or_null(r, i, 8);
	snprintf(t->model_sha256, sizeof(t->model_sha256), "%s",
	    PQgetvalue(r, i, 9));
	t->error = dup_or_null(r, i, 10);
	snprintf(t->host, sizeof(t->host), "%s", PQgetvalue(r, i, 11));
	t->pid = atoi(PQgetvalue(r, i, 12));
	t->attempts = atoi(PQgetvalue(r, i, 13));
	t->heartbeat_age = strtod(PQgetvalue(r, i, 14), NULL);
	t->seconds = PQgetisnull(r, i, 15) ? NAN :
	    strtod(PQgetvalue(r, i, 15), NULL);
	if ((t->params = cJSON_Parse(PQgetvalue(r, i, 5))) == NULL)
		return tp_err_set(e, TP_EDATA, "trial %d: its parameters do not "
		    "parse", t->number);
	return TP_OK;
}

void
tp_trial_free(tp_trial *t)
{
	if (t == NULL)
		return;
	cJSON_Delete(t->params);
	free(t->model_path);
	free(t->error);
	memset(t, 0, sizeof(*t));
}

void
tp_trials_free(tp_trial *t, int n)
{
	for (int i = 0; t != NULL && i < n; i++)
		tp_trial_free(&t[i]);
	free(t);
}

int
tp_study_trials(tp_db *db, const tp_study *s, int rung, tp_trial **t,
    int *n, tp_err *e)
{
	char id[24], r_[16];
	const char *params[] = {id, r_};
	PGresult *r;
	int rc, m;

	*t = NULL;
	*n = 0;
	id_text(id, sizeof(id), s->id);
	snprintf(r_, sizeof(r_), "%d", rung);
	if ((rc = tp_db_exec(db, "SELECT " TRIAL_COLUMNS " FROM trials WHERE "
	    "study_id = $1 AND ($2 = -1 OR rung = $2) ORDER BY number", 2,
	    params, &r, e)) != TP_OK)
		return rc;
	m = PQntuples(r);
	if (m > 0 && (*t = calloc((size_t)m, sizeof(**t))) == NULL)
		rc = tp_err_nomem(e, "the trials");
	for (int i = 0; rc == TP_OK && i < m; i++) {
		rc = trial_row(r, i, &(*t)[i], e);
		*n = i + 1;
	}
	PQclear(r);
	if (rc != TP_OK) {
		tp_trials_free(*t, *n);
		*t = NULL;
		*n = 0;
	}
	return rc;
}

int
tp_study_trial(tp_db *db, const tp_study *s, int number, tp_trial *t,
    tp_err *e)
{
	char id[24], k[16];
	const char *params[] = {id, k};
	PGresult *r;
	int rc;

	memset(t, 0, sizeof(*t));
	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", number);
	if ((rc = tp_db_exec(db, "SELECT " TRIAL_COLUMNS " FROM trials WHERE "
	    "study_id = $1 AND number = $2", 2, params, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 1)
		rc = trial_row(r, 0, t, e);
	else
		rc = tp_err_set(e, TP_ENOINPUT, "study %s has no trial %d",
		    s->name, number);
	PQclear(r);
	return rc;
}

int
tp_study_add(tp_db *db, const tp_study *s, const tp_trial *t, int n,
    tp_err *e)
{
	char id[24], number[16], rung[16], parent[16], budget[16];
	int rc;

	id_text(id, sizeof(id), s->id);
	if ((rc = tp_db_begin(db, e)) != TP_OK)
		return rc;
	for (int i = 0; i < n; i++) {
		char *p = tp_db_json(t[i].params);
		if (p == NULL) {
			rc = tp_err_nomem(e, "a trial's parameters");
			break;
		}
		snprintf(number, sizeof(number), "%d", t[i].number);
		snprintf(rung, sizeof(rung), "%d", t[i].rung);
		snprintf(parent, sizeof(parent), "%d", t[i].parent);
		snprintf(budget, sizeof(budget), "%d", t[i].budget);
		const char *params[] = {id, number, rung,
		    t[i].parent > 0 ? parent : NULL, p, budget};
		rc = tp_db_exec(db, "INSERT INTO trials (study_id, number, rung, "
		    "parent, params, budget) VALUES ($1, $2, $3, $4, $5::jsonb, "
		    "$6) ON CONFLICT DO NOTHING", 6, params, NULL, e);
		free(p);
		if (rc != TP_OK)
			break;
	}
	if (rc == TP_OK)
		return tp_db_commit(db, e);
	tp_db_rollback(db);
	return rc;
}

int
tp_trial_alive(const tp_trial *t, double stale)
{
	char host[256];

	if (strcmp(t->state, "running") != 0)
		return 0;
	host_name(host);
	/* kill(pid, 0) fails with ESRCH only for a process that is not
	 * there; another user's is EPERM, and alive. */
	if (strcmp(t->host, host) == 0)
		return t->pid > 0 && (kill((pid_t)t->pid, 0) == 0 ||
		    errno != ESRCH);
	return t->heartbeat_age >= 0 && t->heartbeat_age < stale;
}

int
tp_study_claim(tp_db *db, const tp_study *s, int number, double stale,
    tp_trial *t, int *claimed, char *why, size_t whylen, tp_err *e)
{
	char id[24], k[16], host[256], pid[16];
	const char *params[] = {id, k, host, pid};
	PGresult *r;
	int rc;

	*claimed = 0;
	memset(t, 0, sizeof(*t));
	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", number);
	host_name(host);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if ((rc = tp_db_begin(db, e)) != TP_OK)
		return rc;
	if ((rc = tp_db_exec(db, "SELECT " TRIAL_COLUMNS " FROM trials WHERE "
	    "study_id = $1 AND number = $2 FOR UPDATE", 2, params, &r, e)) !=
	    TP_OK)
		goto fail;
	if (PQntuples(r) != 1)
		rc = tp_err_set(e, TP_ENOINPUT, "study %s has no trial %d",
		    s->name, number);
	else
		rc = trial_row(r, 0, t, e);
	PQclear(r);
	if (rc != TP_OK)
		goto fail;
	if (strcmp(t->state, "finished") == 0 || tp_trial_alive(t, stale)) {
		if (strcmp(t->state, "finished") == 0)
			snprintf(why, whylen, "trial %d is finished (valid AUC "
			    "%.4f)", number, t->value);
		else
			snprintf(why, whylen, "trial %d is running (process %d on "
			    "%s)", number, t->pid, t->host);
		return tp_db_commit(db, e);
	}
	if ((rc = tp_db_exec(db, "UPDATE trials SET state = 'running', "
	    "host = $3, pid = $4, attempts = attempts + 1, started_at = now(), "
	    "heartbeat_at = now(), finished_at = NULL, error = NULL, "
	    "value = NULL, run_id = NULL, model_path = NULL, "
	    "model_sha256 = NULL WHERE study_id = $1 AND number = $2", 4,
	    params, NULL, e)) != TP_OK ||
	    (rc = tp_db_commit(db, e)) != TP_OK)
		goto fail;
	snprintf(t->state, sizeof(t->state), "running");
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->pid = (int)getpid();
	t->attempts++;
	*claimed = 1;
	return TP_OK;
fail:
	tp_db_rollback(db);
	tp_trial_free(t);
	return rc;
}

/* The condition that a trial is this process's claim: $1 study, $2
 * number, $3 host, $4 pid. */
#define MINE "study_id = $1 AND number = $2 AND state = 'running' AND " \
	"host = $3 AND pid = $4"

int
tp_study_heartbeat(tp_db *db, const tp_study *s, int number, tp_err *e)
{
	char id[24], k[16], host[256], pid[16];
	const char *params[] = {id, k, host, pid};

	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", number);
	host_name(host);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return tp_db_exec(db, "UPDATE trials SET heartbeat_at = now() WHERE "
	    MINE, 4, params, NULL, e);
}

int
tp_study_record(tp_db *db, const tp_study *s, int number, int64_t run,
    double value, const char *model, const char *sha256, const char *error,
    tp_err *e)
{
	char id[24], k[16], host[256], pid[16], runs[24], v[32];
	int ok = isfinite(value);

	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", number);
	host_name(host);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	id_text(runs, sizeof(runs), run);
	snprintf(v, sizeof(v), "%.17g", value);
	const char *params[] = {id, k, host, pid, ok ? "finished" : "failed",
	    run > 0 ? runs : NULL, ok ? v : NULL, model, sha256,
	    ok ? NULL : error ? error : "no result"};
	return tp_db_exec(db, "UPDATE trials SET state = $5, run_id = $6, "
	    "value = $7, model_path = $8, model_sha256 = $9, error = $10, "
	    "finished_at = now(), heartbeat_at = now() WHERE " MINE, 10, params,
	    NULL, e);
}

int
tp_study_release(tp_db *db, const tp_study *s, int number, const char *why,
    tp_err *e)
{
	char id[24], k[16], host[256], pid[16];
	const char *params[] = {id, k, host, pid, why};

	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", number);
	host_name(host);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return tp_db_exec(db, "UPDATE trials SET state = 'pending', error = $5 "
	    "WHERE " MINE, 5, params, NULL, e);
}

/* Sets trial t to state (pending or failed) with why, if it is still as
 * it was read: pending, or running in the same worker. */
static int
set_if_unchanged(tp_db *db, const tp_study *s, const tp_trial *t,
    const char *state, const char *why, tp_err *e)
{
	char id[24], k[16], pid[16];
	const char *params[] = {id, k, t->state, t->host, pid, state, why};

	id_text(id, sizeof(id), s->id);
	snprintf(k, sizeof(k), "%d", t->number);
	snprintf(pid, sizeof(pid), "%d", t->pid);
	return tp_db_exec(db, "UPDATE trials SET state = $6, error = $7, "
	    "finished_at = CASE WHEN $6 = 'failed' THEN now() END "
	    "WHERE study_id = $1 AND number = $2 AND state = $3 AND "
	    "coalesce(host, '') = $4 AND coalesce(pid, 0) = $5", 7, params,
	    NULL, e);
}

int
tp_study_reset(tp_db *db, const tp_study *s, int rung, int retry,
    double stale, int *n, tp_err *e)
{
	tp_trial *t;
	int nt, rc, count = 0;

	if ((rc = tp_study_trials(db, s, rung, &t, &nt, e)) != TP_OK)
		return rc;
	for (int i = 0; rc == TP_OK && i < nt; i++) {
		int gone = strcmp(t[i].state, "running") == 0 &&
		    !tp_trial_alive(&t[i], stale);
		int again = retry && strcmp(t[i].state, "failed") == 0;
		if (!gone && !again)
			continue;
		rc = set_if_unchanged(db, s, &t[i], "pending", gone ?
		    "its worker ended without a result" : NULL, e);
		count++;
	}
	tp_trials_free(t, nt);
	if (n != NULL)
		*n = count;
	return rc;
}

int
tp_study_give_up(tp_db *db, const tp_study *s, int number, double stale,
    const char *why, tp_err *e)
{
	tp_trial t;
	int rc;

	if ((rc = tp_study_trial(db, s, number, &t, e)) != TP_OK)
		return rc;
	if (strcmp(t.state, "pending") == 0 ||
	    (strcmp(t.state, "running") == 0 && !tp_trial_alive(&t, stale)))
		rc = set_if_unchanged(db, s, &t, "failed", why, e);
	tp_trial_free(&t);
	return rc;
}

int
tp_study_run_result(tp_db *db, int64_t run, cJSON **result, double *value,
    tp_err *e)
{
	char id[24];
	const char *params[] = {id};
	const cJSON *auc;
	PGresult *r;
	int rc;

	*result = NULL;
	*value = NAN;
	id_text(id, sizeof(id), run);
	if ((rc = tp_db_exec(db, "SELECT result::text FROM runs WHERE id = $1 "
	    "AND tool = 'train' AND status = 'finished'", 1, params, &r, e)) !=
	    TP_OK)
		return rc;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		rc = tp_err_set(e, TP_ENOINPUT, "run %s is no finished train run "
		    "with a result", id);
	else if ((*result = cJSON_Parse(PQgetvalue(r, 0, 0))) == NULL)
		rc = tp_err_set(e, TP_EDATA, "run %s: its result does not parse",
		    id);
	PQclear(r);
	if (rc != TP_OK)
		return rc;
	auc = cJSON_GetObjectItemCaseSensitive(*result, "valid_auc");
	if (!cJSON_IsNumber(auc) || !isfinite(auc->valuedouble))
		return tp_err_set(e, TP_EDATA, "run %s: its result has no "
		    "validation AUC", id);
	*value = auc->valuedouble;
	return TP_OK;
}

/* The version of model name registered from this file and run already,
 * when the registration was made but not recorded in the study. */
static int
registered(tp_db *db, const char *name, const char *sha256, int64_t run,
    int *version, int64_t *id, tp_err *e)
{
	char runs[24];
	const char *params[] = {name, sha256, runs};
	PGresult *r;
	int rc;

	*version = 0;
	*id = 0;
	id_text(runs, sizeof(runs), run);
	if ((rc = tp_db_exec(db, "SELECT v.version, v.id FROM model_versions v "
	    "JOIN models m ON m.id = v.model_id WHERE m.name = $1 AND "
	    "v.sha256 = $2 AND v.run_id = $3 ORDER BY v.version DESC LIMIT 1",
	    3, params, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 1) {
		*version = atoi(PQgetvalue(r, 0, 0));
		*id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return TP_OK;
}

int
tp_study_register(tp_db *db, tp_study *s, const tp_trial *t,
    const char *name, int *version, tp_err *e)
{
	char sha[65];
	cJSON *metrics = NULL;
	double value;
	int64_t id;
	int rc;

	*version = 0;
	if (t->model_path == NULL)
		return tp_err_set(e, TP_ENOINPUT, "trial %d has no model file",
		    t->number);
	if ((rc = tp_file_sha256(t->model_path, sha, e)) != TP_OK)
		return rc;
	if (t->model_sha256[0] != '\0' && strcmp(sha, t->model_sha256) != 0)
		return tp_err_set(e, TP_EDATA, "%s: the model file of trial %d "
		    "has changed since it was trained (SHA-256 %.12s..., was "
		    "%.12s...)", t->model_path, t->number, sha, t->model_sha256);
	if ((rc = registered(db, name, sha, t->run, version, &id, e)) !=
	    TP_OK)
		return rc;
	if (*version == 0) {
		if ((rc = tp_study_run_result(db, t->run, &metrics, &value,
		    e)) != TP_OK ||
		    (rc = tp_version_register(db, name, t->model_path, sha,
		    t->run, metrics, version, e)) != TP_OK ||
		    (rc = registered(db, name, sha, t->run, version, &id, e)) !=
		    TP_OK) {
			cJSON_Delete(metrics);
			return rc;
		}
		cJSON_Delete(metrics);
	}
	s->version_id = id;
	s->version = *version;
	return TP_OK;
}

int
tp_study_finish(tp_db *db, tp_study *s, int best, tp_err *e)
{
	char id[24], b[16], v[24];
	const char *params[] = {id, best > 0 ? b : NULL,
	    s->version_id > 0 ? v : NULL};
	int rc;

	id_text(id, sizeof(id), s->id);
	snprintf(b, sizeof(b), "%d", best);
	id_text(v, sizeof(v), s->version_id);
	if ((rc = tp_db_exec(db, "UPDATE studies SET state = 'finished', "
	    "best_trial = $2, version_id = $3, finished_at = now() WHERE "
	    "id = $1", 3, params, NULL, e)) != TP_OK)
		return rc;
	snprintf(s->state, sizeof(s->state), "finished");
	s->best_trial = best;
	return TP_OK;
}
