#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfile.h"
#include "model/safetensors.h"
#include "registry/registry.h"
#include "registry/version.h"

/* A time as the registry shows it: ISO 8601, in UTC, to the second. */
#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The evaluations of version v: those that name it, and those of its file's
 * bytes that name no version (the file evaluated before it was registered). */
#define EVALUATES(e, v) "(" e ".version_id = " v ".id OR (" e ".version_id " \
	"IS NULL AND " e ".model_sha256 = " v ".sha256))"

/* An evaluation of a version; id 0 when there is none. */
typedef struct {
	long long id;
	char *fingerprint;    /* data_fingerprint, to free */
	char created[32];
	cJSON *metrics;       /* to free */
} evaluation;

static void
evaluation_free(evaluation *ev)
{
	free(ev->fingerprint);
	cJSON_Delete(ev->metrics);
	memset(ev, 0, sizeof(*ev));
}

/* A reason or a refusal being written: sentences joined by "; ". */
typedef struct {
	char text[1024];
	size_t len;
} sentences;

static void __attribute__((format(printf, 2, 3)))
say(sentences *s, const char *fmt, ...)
{
	va_list ap;

	if (s->len > 0 && s->len + 2 < sizeof(s->text)) {
		memcpy(s->text + s->len, "; ", 3);
		s->len += 2;
	}
	if (s->len + 1 >= sizeof(s->text))
		return;
	va_start(ap, fmt);
	int n = vsnprintf(s->text + s->len, sizeof(s->text) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t)n;
	if (s->len >= sizeof(s->text))
		s->len = sizeof(s->text) - 1;
}

static double
metric_value(const cJSON *metrics, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(metrics, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A number, or null for NaN (a metric not measured). */
static void
add_number(cJSON *o, const char *key, double x)
{
	if (isnan(x))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, x);
}

static int
model_id(tp_db *db, const char *name, char id[24], tp_err *e)
{
	const char *p[] = {name};
	PGresult *r;
	int rc;

	if ((rc = tp_db_exec(db, "SELECT id FROM models WHERE name = $1", 1, p,
	    &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return tp_err_set(e, TP_ENOINPUT, "no model named \"%s\" in the "
		    "registry", name);
	}
	snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return TP_OK;
}

/* Finds model name and locks the rows of its versions until the end of the
 * transaction: a second promotion of the model waits here until the first
 * one ends, and then reads the stages that the first one committed. Row
 * locks need the right to change them, which only the promoter has. */
static int
lock_model(tp_db *db, const char *name, char id[24], tp_err *e)
{
	int rc = model_id(db, name, id, e);
	const char *p[] = {id};

	if (rc != TP_OK)
		return rc;
	return tp_db_exec(db, "SELECT id FROM model_versions WHERE model_id = $1 "
	    "ORDER BY id FOR UPDATE", 1, p, NULL, e);
}

/* The newest evaluation of version id, on data of fingerprint when that is
 * not NULL. */
static int
newest_evaluation(tp_db *db, long long id, const char *fingerprint,
    evaluation *ev, tp_err *e)
{
	char vid[24];
	const char *p[] = {vid, fingerprint};
	PGresult *r;
	int rc;

	memset(ev, 0, sizeof(*ev));
	snprintf(vid, sizeof(vid), "%lld", id);
	if ((rc = tp_db_exec(db, "SELECT e.id, e.data_fingerprint, e.metrics, "
	    UTC("e.created_at") " FROM evaluations e JOIN model_versions v ON "
	    EVALUATES("e", "v") " WHERE v.id = $1 AND ($2::text IS NULL OR "
	    "e.data_fingerprint = $2) ORDER BY e.created_at DESC, e.id DESC "
	    "LIMIT 1", 2, p, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 1) {
		ev->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		ev->fingerprint = strdup(PQgetvalue(r, 0, 1));
		ev->metrics = cJSON_Parse(PQgetvalue(r, 0, 2));
		snprintf(ev->created, sizeof(ev->created), "%s", PQgetvalue(r, 0, 3));
		if (ev->fingerprint == NULL || ev->metrics == NULL)
			rc = tp_err_nomem(e, "an evaluation");
	}
	PQclear(r);
	return rc;
}

static cJSON *
evaluation_json(const evaluation *ev)
{
	cJSON *o;

	if (ev->id == 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)ev->id);
	cJSON_AddStringToObject(o, "data_fingerprint", ev->fingerprint);
	cJSON_AddStringToObject(o, "created", ev->created);
	return o;
}

/* Moves version id from stage from to stage to, with its audit row, and
 * adds the change to the changes array. */
static int
set_stage(tp_db *db, long long id, int version, const char *from,
    const char *to, const char *reason, cJSON *changes, tp_err *e)
{
	char vid[24];
	const char *p[] = {vid, to, from, reason};
	int rc;

	snprintf(vid, sizeof(vid), "%lld", id);
	if ((rc = tp_db_exec(db, "UPDATE model_versions SET stage = $2 "
	    "WHERE id = $1", 2, p, NULL, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "INSERT INTO stage_changes (version_id, "
	    "to_stage, from_stage, reason) VALUES ($1, $2, $3, $4)", 4, p, NULL,
	    e)) != TP_OK)
		return rc;
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "version", version);
	cJSON_AddStringToObject(c, "from", from);
	cJSON_AddStringToObject(c, "to", to);
	cJSON_AddItemToArray(changes, c);
	return TP_OK;
}

/* The Production version of model mid: *id 0 when there is none. */
static int
production(tp_db *db, const char *mid, long long *id, int *version,
    tp_err *e)
{
	const char *p[] = {mid};
	PGresult *r;
	int rc;

	*id = 0;
	*version = 0;
	if ((rc = tp_db_exec(db, "SELECT id, version FROM model_versions "
	    "WHERE model_id = $1 AND stage = 'Production'", 1, p, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 1) {
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*version = atoi(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return TP_OK;
}

/* Checks the gates on the candidate's evaluation ev: one JSON object per
 * gate into gates, a sentence per failed gate into no and per passed one
 * into yes. */
static void
check_gates(const tp_promotion *p, const evaluation *ev, cJSON *gates,
    sentences *yes, sentences *no)
{
	for (int i = 0; i < p->ngates; i++) {
		const tp_gate *g = &p->gates[i];
		double v = ev->id ? metric_value(ev->metrics, g->metric) : NAN;
		int pass = tp_gate_pass(g, v);
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "gate", g->text);
		cJSON_AddStringToObject(o, "metric", g->metric);
		cJSON_AddStringToObject(o, "op", tp_gate_op_text(g->op));
		cJSON_AddNumberToObject(o, "threshold", g->threshold);
		add_number(o, "value", v);
		cJSON_AddBoolToObject(o, "passed", pass);
		cJSON_AddItemToArray(gates, o);
		if (ev->id == 0)
			continue;
		if (pass)
			say(yes, "gate %s passed (%s %.6g)", g->text, g->metric, v);
		else if (isnan(v))
			say(no, "gate %s failed: evaluation %lld has no %s", g->text,
			    ev->id, g->metric);
		else
			say(no, "gate %s failed (%s %.6g)", g->text, g->metric, v);
	}
}

/* Compares the candidate (evaluation ev) with the champion, version cid of
 * number cversion, on the same data: fills the champion object, and says
 * in yes or in no whether the candidate beats it. */
static int
check_champion(tp_db *db, const tp_promotion *p, const evaluation *ev,
    long long cid, int cversion, cJSON *champ, sentences *yes, sentences *no,
    tp_err *e)
{
	evaluation cev = {0};
	int lower = 0, beats = 0, rc;
	double c = NAN, ch = NAN;

	tp_gate_metric(p->metric, &lower);
	cJSON_AddNumberToObject(champ, "version", cversion);
	cJSON_AddStringToObject(champ, "metric", p->metric);
	cJSON_AddBoolToObject(champ, "lower_is_better", lower);
	cJSON_AddNumberToObject(champ, "margin", p->margin);
	if (ev->id != 0) {
		if ((rc = newest_evaluation(db, cid, ev->fingerprint, &cev, e)) != TP_OK)
			return rc;
		c = metric_value(ev->metrics, p->metric);
		if (cev.id != 0)
			ch = metric_value(cev.metrics, p->metric);
	}
	cJSON_AddItemToObject(champ, "evaluation", evaluation_json(&cev));
	add_number(champ, "value", ch);
	add_number(champ, "candidate", c);
	if (ev->id == 0) {
		/* The refusal already says that the candidate has no evaluation. */
	} else if (cev.id == 0) {
		say(no, "the champion, version %d, has no evaluation on the data of "
		    "the candidate's evaluation %lld (data fingerprint %s): evaluate "
		    "version %d on the same data", cversion, ev->id, ev->fingerprint,
		    cversion);
	} else if (isnan(c) || isnan(ch)) {
		say(no, "%s is not in evaluation %lld of the %s", p->metric,
		    isnan(c) ? ev->id : cev.id, isnan(c) ? "candidate" : "champion");
	} else {
		double gain = lower ? ch - c : c - ch;
		beats = gain > p->margin;
		say(beats ? yes : no, "%s %.6g against %.6g of the champion, "
		    "version %d: %s by more than %.6g", p->metric, c, ch, cversion,
		    beats ? "better" : "not better", p->margin);
	}
	cJSON_AddBoolToObject(champ, "passed", beats);
	evaluation_free(&cev);
	return TP_OK;
}

static cJSON *
decision_new(const char *name, int version, const char *from, const char *to,
    int promoted, const char *reason)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "model", name);
	cJSON_AddNumberToObject(d, "version", version);
	cJSON_AddStringToObject(d, "from", from);
	cJSON_AddStringToObject(d, "to", to);
	cJSON_AddBoolToObject(d, "promoted", promoted);
	cJSON_AddStringToObject(d, "reason", reason);
	return d;
}

int
tp_registry_promote(tp_db *db, const tp_promotion *p, cJSON **decision,
    tp_err *e)
{
	const char *to = p->staging ? "Staging" : "Production";
	tp_model_version cand = {0};
	evaluation ev = {0};
	sentences yes = {0}, no = {0};
	cJSON *gates = cJSON_CreateArray(), *champ = cJSON_CreateNull();
	cJSON *changes = cJSON_CreateArray();
	char mid[24], *ref = NULL;
	long long cid = 0;
	int cversion = 0, rc;

	*decision = NULL;
	if ((ref = malloc(strlen(p->name) + 16)) == NULL) {
		rc = tp_err_nomem(e, "a model reference");
		goto out;
	}
	sprintf(ref, "%s@%d", p->name, p->version);
	if ((rc = tp_db_begin(db, e)) != TP_OK)
		goto out;
	if ((rc = lock_model(db, p->name, mid, e)) != TP_OK ||
	    (rc = tp_version_resolve(db, ref, &cand, e)) != TP_OK ||
	    (!p->staging && (rc = production(db, mid, &cid, &cversion, e)) != TP_OK))
		goto fail;
	if (strcmp(cand.stage, to) == 0) {
		say(&no, "version %d is already in %s", cand.version, to);
	} else if (p->staging && strcmp(cand.stage, "Production") == 0) {
		say(&no, "version %d is in Production: a move to Staging would "
		    "leave the model without one", cand.version);
	} else {
		if ((p->ngates > 0 || cid != 0) &&
		    (rc = newest_evaluation(db, cand.id, NULL, &ev, e)) != TP_OK)
			goto fail;
		if ((p->ngates > 0 || cid != 0) && ev.id == 0)
			say(&no, "version %d has no evaluation: evaluate it before "
			    "its gates%s can be checked", cand.version,
			    cid != 0 ? " and the champion comparison" : "");
		if (p->ngates == 0)
			say(&yes, "no gates");
		check_gates(p, &ev, gates, &yes, &no);
		if (cid != 0) {
			cJSON_Delete(champ);
			champ = cJSON_CreateObject();
			if ((rc = check_champion(db, p, &ev, cid, cversion, champ,
			    &yes, &no, e)) != TP_OK)
				goto fail;
		} else if (!p->staging) {
			say(&yes, "no champion");
		}
		if (ev.id != 0)
			say(&yes, "evaluation %lld", ev.id);
	}
	if (no.len > 0) {
		tp_db_rollback(db);
		rc = tp_err_set(e, TP_NO, "%s version %d not promoted to %s: %s",
		    p->name, p->version, to, no.text);
		*decision = decision_new(p->name, p->version, cand.stage, to, 0,
		    no.text);
	} else {
		const char *reason = p->reason != NULL ? p->reason : yes.text;
		char *archived = malloc(strlen(reason) + 48);
		if (archived == NULL) {
			rc = tp_err_nomem(e, "a reason");
			goto fail;
		}
		sprintf(archived, "replaced by version %d: %s", cand.version, reason);
		if ((cid != 0 && (rc = set_stage(db, cid, cversion, "Production",
		    "Archived", archived, changes, e)) != TP_OK) ||
		    (rc = set_stage(db, cand.id, cand.version, cand.stage, to,
		    reason, changes, e)) != TP_OK ||
		    (rc = tp_db_commit(db, e)) != TP_OK) {
			free(archived);
			goto fail;
		}
		free(archived);
		*decision = decision_new(p->name, p->version, cand.stage, to, 1,
		    reason);
	}
	cJSON_AddItemToObject(*decision, "evaluation", evaluation_json(&ev));
	cJSON_AddItemToObject(*decision, "gates", gates);
	cJSON_AddItemToObject(*decision, "champion", champ);
	cJSON_AddItemToObject(*decision, "changes", changes);
	gates = champ = changes = NULL;
	goto out;
fail:
	tp_db_rollback(db);
out:
	cJSON_Delete(gates);
	cJSON_Delete(champ);
	cJSON_Delete(changes);
	evaluation_free(&ev);
	tp_version_free(&cand);
	free(ref);
	return rc;
}

int
tp_registry_rollback(tp_db *db, const char *name, const char *reason,
    cJSON **decision, tp_err *e)
{
	tp_model_version back = {0};
	cJSON *changes = cJSON_CreateArray();
	sentences why = {0};
	char mid[24], *ref = NULL;
	const char *p[] = {mid};
	PGresult *r = NULL;
	long long cid = 0;
	int cversion = 0, previous = 0, rc;

	*decision = NULL;
	if ((rc = tp_db_begin(db, e)) != TP_OK)
		goto out;
	if ((rc = lock_model(db, name, mid, e)) != TP_OK ||
	    (rc = production(db, mid, &cid, &cversion, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "SELECT v.version FROM stage_changes c JOIN "
	    "model_versions v ON v.id = c.version_id WHERE v.model_id = $1 AND "
	    "c.from_stage = 'Production' AND c.to_stage = 'Archived' AND "
	    "v.stage = 'Archived' ORDER BY c.id DESC LIMIT 1", 1, p, &r, e)) != TP_OK)
		goto fail;
	if (PQntuples(r) == 1)
		previous = atoi(PQgetvalue(r, 0, 0));
	if (cid == 0)
		say(&why, "%s has no Production version to roll back", name);
	else if (previous == 0)
		say(&why, "%s has no archived former Production version to go "
		    "back to", name);
	if (why.len > 0) {
		tp_db_rollback(db);
		rc = tp_err_set(e, TP_NO, "%s not rolled back: %s", name, why.text);
		*decision = cJSON_CreateObject();
		cJSON_AddStringToObject(*decision, "model", name);
		cJSON_AddBoolToObject(*decision, "rollback", 1);
		cJSON_AddBoolToObject(*decision, "promoted", 0);
		cJSON_AddStringToObject(*decision, "reason", why.text);
		goto out;
	}
	if ((ref = malloc(strlen(name) + 16)) == NULL) {
		rc = tp_err_nomem(e, "a model reference");
		goto fail;
	}
	sprintf(ref, "%s@%d", name, previous);
	if (reason == NULL) {
		say(&why, "rollback from version %d to version %d", cversion,
		    previous);
		reason = why.text;
	}
	if ((rc = tp_version_resolve(db, ref, &back, e)) != TP_OK ||
	    (rc = set_stage(db, cid, cversion, "Production", "Archived", reason,
	    changes, e)) != TP_OK ||
	    (rc = set_stage(db, back.id, back.version, "Archived", "Production",
	    reason, changes, e)) != TP_OK ||
	    (rc = tp_db_commit(db, e)) != TP_OK)
		goto fail;
	*decision = decision_new(name, back.version, "Archived", "Production", 1,
	    reason);
	cJSON_AddBoolToObject(*decision, "rollback", 1);
	cJSON_AddNumberToObject(*decision, "replaced", cversion);
	cJSON_AddItemToObject(*decision, "changes", changes);
	changes = NULL;
	goto out;
fail:
	tp_db_rollback(db);
out:
	PQclear(r);
	cJSON_Delete(changes);
	tp_version_free(&back);
	free(ref);
	return rc;
}

/* Runs a query whose one value is a JSON array and parses it. */
static int
listing(tp_db *db, const char *sql, int n, const char *const *params,
    cJSON **rows, tp_err *e)
{
	PGresult *r;
	int rc;

	*rows = NULL;
	if ((rc = tp_db_exec(db, sql, n, params, &r, e)) != TP_OK)
		return rc;
	*rows = cJSON_Parse(PQgetvalue(r, 0, 0));
	PQclear(r);
	return *rows == NULL ? tp_err_nomem(e, "a listing") : TP_OK;
}

int
tp_registry_models(tp_db *db, cJSON **rows, tp_err *e)
{
	return listing(db, "SELECT coalesce(json_agg(t ORDER BY t.name), '[]') "
	    "FROM (SELECT m.name, count(v.id) AS versions, max(v.version) "
	    "FILTER (WHERE v.stage = 'Production') AS production, "
	    "max(v.version) AS latest, " UTC("m.created_at") " AS created "
	    "FROM models m LEFT JOIN model_versions v ON v.model_id = m.id "
	    "GROUP BY m.id) t", 0, NULL, rows, e);
}

/* A listing of one model's rows: sql's $1 is the id of the model named
 * name (TP_ENOINPUT when there is none). */
static int
model_listing(tp_db *db, const char *name, const char *sql, cJSON **rows,
    tp_err *e)
{
	char mid[24];
	const char *p[] = {mid};
	int rc;

	*rows = NULL;
	if ((rc = model_id(db, name, mid, e)) != TP_OK)
		return rc;
	return listing(db, sql, 1, p, rows, e);
}

int
tp_registry_versions(tp_db *db, const char *name, cJSON **rows, tp_err *e)
{
	return model_listing(db, name,
	    "SELECT coalesce(json_agg(t ORDER BY t.version), '[]') "
	    "FROM (SELECT v.version, v.stage, " UTC("v.created_at")
	    " AS created, v.sha256, v.run_id AS run, v.metrics -> 'valid_auc' "
	    "AS valid_auc, ev.metrics -> 'auc' AS eval_auc, ev.id AS evaluation, "
	    "v.path, v.blob IS NOT NULL AS stored, v.metrics FROM "
	    "model_versions v LEFT JOIN LATERAL "
	    "(SELECT e.id, e.metrics FROM evaluations e WHERE " EVALUATES("e", "v")
	    " ORDER BY e.created_at DESC, e.id DESC LIMIT 1) ev ON true "
	    "WHERE v.model_id = $1) t", rows, e);
}

int
tp_registry_runs(tp_db *db, const char *tool, long limit, cJSON **rows,
    tp_err *e)
{
	char n[24];
	const char *p[] = {tool, n};

	snprintf(n, sizeof(n), "%ld", limit);
	return listing(db, "SELECT coalesce(json_agg(t ORDER BY t.id DESC), "
	    "'[]') FROM (SELECT r.id, r.tool, r.status, " UTC("r.started_at")
	    " AS started, round(extract(epoch FROM r.finished_at - "
	    "r.started_at), 3) AS seconds, r.db_user AS \"user\", r.host, "
	    "r.error, r.params, r.inputs, r.result FROM runs r WHERE "
	    "($1::text IS NULL OR r.tool = $1) ORDER BY r.id DESC LIMIT $2) t",
	    2, p, rows, e);
}

int
tp_registry_evaluations(tp_db *db, const char *name, cJSON **rows,
    tp_err *e)
{
	return model_listing(db, name,
	    "SELECT coalesce(json_agg(t ORDER BY t.id), '[]') "
	    "FROM (SELECT e.id, v.version, " UTC("e.created_at") " AS created, "
	    "e.data_fingerprint AS data, e.rows, e.metrics -> 'auc' AS auc, "
	    "e.metrics -> 'f1' AS f1, e.metrics -> 'log_loss' AS log_loss, "
	    "e.run_id AS run, e.metrics FROM evaluations e JOIN model_versions v "
	    "ON " EVALUATES("e", "v") " WHERE v.model_id = $1) t", rows, e);
}

int
tp_registry_audit(tp_db *db, const char *name, cJSON **rows, tp_err *e)
{
	return model_listing(db, name,
	    "SELECT coalesce(json_agg(t ORDER BY t.id), '[]') "
	    "FROM (SELECT c.id, " UTC("c.changed_at") " AS changed, v.version, "
	    "c.from_stage AS \"from\", c.to_stage AS \"to\", c.db_user AS "
	    "\"user\", c.reason FROM stage_changes c JOIN model_versions v "
	    "ON v.id = c.version_id WHERE v.model_id = $1) t", rows, e);
}

/* The keys of an epoch's row, in the order of the report (lib/train); the
 * run records the validation's log loss as valid_log_loss. The member
 * (of an ensemble) is 1 where a history has none. */
static const char *const epoch_keys[] = {"member", "epoch", "loss",
    "valid_auc", "valid_loss", "best", "rows_per_s", "seconds"};

/* The history of v's file (or of its bytes in the database) as rows: the
 * keys of epoch_keys, null where the history has none (it keeps no
 * times), and source "file". */
static int
file_epochs(tp_db *db, const tp_model_version *v, const char *ref,
    cJSON **rows, tp_err *e)
{
	tp_st_file f = {0};
	char *text = NULL;
	cJSON *h = NULL, *item;
	int rc;

	*rows = NULL;
	if ((rc = tp_version_read(db, ref, v, &f, e)) != TP_OK ||
	    (rc = tp_st_parse(&f, e)) != TP_OK ||
	    (rc = tp_model_history(&f, &text, e)) != TP_OK)
		goto out;
	if ((*rows = cJSON_CreateArray()) == NULL ||
	    (text != NULL && (h = cJSON_Parse(text)) == NULL)) {
		rc = tp_err_nomem(e, "a history");
		goto out;
	}
	cJSON_ArrayForEach(item, h) {
		cJSON *row = cJSON_CreateObject();
		for (size_t k = 0; k < sizeof(epoch_keys) / sizeof(epoch_keys[0]); k++) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(item,
			    epoch_keys[k]);
			cJSON_AddItemToObject(row, epoch_keys[k], x != NULL ?
			    cJSON_Duplicate(x, 1) : k == 0 ? cJSON_CreateNumber(1) :
			    cJSON_CreateNull());
		}
		cJSON_AddStringToObject(row, "source", "file");
		cJSON_AddItemToArray(*rows, row);
	}
out:
	if (rc != TP_OK) {
		cJSON_Delete(*rows);
		*rows = NULL;
	}
	cJSON_Delete(h);
	free(text);
	tp_st_close(&f);
	return rc;
}

/* Where a row comes in the order of the epochs: by member, then epoch. */
static double
epoch_of(const cJSON *row)
{
	return metric_value(row, "member") * 1e9 + metric_value(row, "epoch");
}

/* The rows of one model's training keep no member: only an ensemble's
 * epochs need one to tell them apart. */
static void
drop_single_member(cJSON *rows)
{
	cJSON *row;

	cJSON_ArrayForEach(row, rows)
		if (metric_value(row, "member") != 1)
			return;
	cJSON_ArrayForEach(row, rows)
		cJSON_DeleteItemFromObjectCaseSensitive(row, "member");
}

int
tp_registry_epochs(tp_db *db, const char *ref, cJSON **rows, tp_err *e)
{
	tp_model_version v = {0};
	cJSON *file = NULL, *merged, *item = NULL;
	char id[24];
	const char *p[] = {id};
	tp_err why = {0};
	int rc;

	*rows = NULL;
	if ((rc = tp_version_find(db, ref, &v, e)) != TP_OK)
		return rc;
	snprintf(id, sizeof(id), "%lld", (long long)v.id);
	if ((rc = listing(db, "SELECT coalesce(json_agg(t ORDER BY t.member, "
	    "t.epoch), '[]') FROM (SELECT p.member, p.epoch, "
	    "p.metrics -> 'loss' AS loss, "
	    "p.metrics -> 'valid_auc' AS valid_auc, p.metrics -> "
	    "'valid_log_loss' AS valid_loss, p.metrics -> 'best' AS best, "
	    "p.metrics -> 'rows_per_s' AS rows_per_s, p.metrics -> 'seconds' "
	    "AS seconds, 'database' AS source FROM model_versions v JOIN "
	    "epochs p ON p.run_id = v.run_id WHERE v.id = $1) t", 1, p, rows,
	    e)) != TP_OK)
		goto out;
	/* The run's records have the times the file does not keep: the file
	 * fills in only the epochs the run did not record. */
	if (file_epochs(db, &v, ref, &file, &why) != TP_OK) {
		if (cJSON_GetArraySize(*rows) == 0) {
			rc = tp_err_set(e, why.code, "%s", why.msg);
			cJSON_Delete(*rows);
			*rows = NULL;
		} else
			drop_single_member(*rows);
		goto out;
	}
	/* Both are in the order of their members' epochs: merged, the run's
	 * row of an epoch that both have. */
	if ((merged = cJSON_CreateArray()) == NULL) {
		rc = tp_err_nomem(e, "the epochs");
		goto out;
	}
	while (cJSON_GetArraySize(*rows) > 0 || cJSON_GetArraySize(file) > 0) {
		double d = cJSON_GetArraySize(*rows) > 0 ?
		    epoch_of(cJSON_GetArrayItem(*rows, 0)) : INFINITY;
		double f = cJSON_GetArraySize(file) > 0 ?
		    epoch_of(cJSON_GetArrayItem(file, 0)) : INFINITY;
		if (f < d)
			item = cJSON_DetachItemFromArray(file, 0);
		else {
			if (!(d < f))
				cJSON_Delete(cJSON_DetachItemFromArray(file, 0));
			item = cJSON_DetachItemFromArray(*rows, 0);
		}
		cJSON_AddItemToArray(merged, item);
	}
	cJSON_Delete(*rows);
	*rows = merged;
	drop_single_member(*rows);
out:
	cJSON_Delete(file);
	tp_version_free(&v);
	return rc;
}

/* What the registry has of one version for a comparison, as one JSON
 * object; its newest evaluation is null when there is none. */
static int
version_facts(tp_db *db, const char *ref, cJSON **facts, tp_err *e)
{
	tp_model_version v = {0};
	char id[24];
	const char *p[] = {id};
	int rc;

	*facts = NULL;
	if ((rc = tp_version_find(db, ref, &v, e)) != TP_OK)
		return rc;
	snprintf(id, sizeof(id), "%lld", (long long)v.id);
	tp_version_free(&v);
	return listing(db, "SELECT json_build_object('model', m.name, "
	    "'version', v.version, 'stage', v.stage, 'created', "
	    UTC("v.created_at") ", 'sha256', v.sha256, 'run', v.run_id, "
	    "'params', r.params, 'inputs', r.inputs, 'metrics', v.metrics, "
	    "'evaluation', (SELECT json_build_object('id', e.id, 'created', "
	    UTC("e.created_at") ", 'data', e.data_fingerprint, 'rows', e.rows, "
	    "'metrics', e.metrics) FROM evaluations e WHERE "
	    EVALUATES("e", "v") " ORDER BY e.created_at DESC, e.id DESC LIMIT "
	    "1)) FROM model_versions v JOIN models m ON m.id = v.model_id "
	    "LEFT JOIN runs r ON r.id = v.run_id WHERE v.id = $1", 1, p, facts,
	    e);
}

/* Adds the row of name in section to rows, unless the section has it. */
static void
compare_row(cJSON *rows, const char *section, const char *name,
    const cJSON *a, const cJSON *b, int measure)
{
	const cJSON *row;
	cJSON *r;

	cJSON_ArrayForEach(row, rows)
		if (strcmp(cJSON_GetObjectItemCaseSensitive(row,
		    "section")->valuestring, section) == 0 &&
		    strcmp(cJSON_GetObjectItemCaseSensitive(row,
		    "name")->valuestring, name) == 0)
			return;
	if ((r = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(r, "section", section);
	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddItemToObject(r, "a", a ? cJSON_Duplicate(a, 1) :
	    cJSON_CreateNull());
	cJSON_AddItemToObject(r, "b", b ? cJSON_Duplicate(b, 1) :
	    cJSON_CreateNull());
	if (measure && cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
		/* To 15 digits, as many as a decimal number of the registry
		 * keeps: 0.72 - 0.71 is 0.01, not 0.010000000000000009. */
		char d[32];
		snprintf(d, sizeof(d), "%.15g", b->valuedouble - a->valuedouble);
		cJSON_AddNumberToObject(r, "difference", strtod(d, NULL));
	} else
		cJSON_AddNullToObject(r, "difference");
	cJSON_AddItemToArray(rows, r);
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The rows of the members of a and b (objects, or null), by name (the
 * database keeps no order of its own for them); an object inside is its
 * members, named "outer.inner", and an array (a curve, a histogram) is
 * left out: it is no one number to set beside another. */
static void
compare_members(cJSON *rows, const char *section, const char *prefix,
    const cJSON *a, const cJSON *b)
{
	const cJSON *side[] = {a, b}, *x;
	const char **names;
	int n = 0;

	names = calloc((size_t)(cJSON_GetArraySize(a) + cJSON_GetArraySize(b)) + 1,
	    sizeof(*names));
	if (names == NULL)
		return;
	for (int s = 0; s < 2; s++) {
		if (!cJSON_IsObject(side[s]))
			continue;
		cJSON_ArrayForEach(x, side[s])
			if (s == 0 ||
			    cJSON_GetObjectItemCaseSensitive(a, x->string) == NULL)
				names[n++] = x->string;
	}
	qsort(names, (size_t)n, sizeof(*names), by_name);
	for (int i = 0; i < n; i++) {
		const cJSON *xa = cJSON_GetObjectItemCaseSensitive(a, names[i]);
		const cJSON *xb = cJSON_GetObjectItemCaseSensitive(b, names[i]);
		size_t len = strlen(prefix) + strlen(names[i]) + 2;
		char *name = malloc(len);
		if (name == NULL)
			break;
		snprintf(name, len, "%s%s%s", prefix, *prefix ? "." : "", names[i]);
		if (cJSON_IsObject(xa) || cJSON_IsObject(xb))
			compare_members(rows, section, name, xa, xb);
		else if (!cJSON_IsArray(xa) && !cJSON_IsArray(xb))
			compare_row(rows, section, name, xa, xb, 1);
		free(name);
	}
	free(names);
}

int
tp_registry_compare(tp_db *db, const char *a, const char *b, cJSON **rows,
    tp_err *e)
{
	static const char *const about[] = {"model", "version", "stage",
	    "created", "sha256", "run"};
	static const char *const evaluated[] = {"id", "created", "data",
	    "rows"};
	static const struct {
		const char *section, *key;
	} groups[] = {{"param", "params"}, {"input", "inputs"},
	    {"metric", "metrics"}};
	cJSON *fa = NULL, *fb = NULL;
	const cJSON *ea, *eb;
	int rc;

	*rows = NULL;
	if ((rc = version_facts(db, a, &fa, e)) != TP_OK ||
	    (rc = version_facts(db, b, &fb, e)) != TP_OK)
		goto out;
	if ((*rows = cJSON_CreateArray()) == NULL) {
		rc = tp_err_nomem(e, "a comparison");
		goto out;
	}
	for (size_t i = 0; i < sizeof(about) / sizeof(about[0]); i++)
		compare_row(*rows, "version", about[i],
		    cJSON_GetObjectItemCaseSensitive(fa, about[i]),
		    cJSON_GetObjectItemCaseSensitive(fb, about[i]), 0);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		compare_members(*rows, groups[i].section, "",
		    cJSON_GetObjectItemCaseSensitive(fa, groups[i].key),
		    cJSON_GetObjectItemCaseSensitive(fb, groups[i].key));
	ea = cJSON_GetObjectItemCaseSensitive(fa, "evaluation");
	eb = cJSON_GetObjectItemCaseSensitive(fb, "evaluation");
	/* Which evaluation and of what data come first: metrics of two data
	 * sets are no comparison of the models. */
	for (size_t i = 0; i < sizeof(evaluated) / sizeof(evaluated[0]); i++)
		compare_row(*rows, "evaluation", evaluated[i],
		    cJSON_GetObjectItemCaseSensitive(ea, evaluated[i]),
		    cJSON_GetObjectItemCaseSensitive(eb, evaluated[i]),
		    strcmp(evaluated[i], "rows") == 0);
	compare_members(*rows, "evaluation", "",
	    cJSON_GetObjectItemCaseSensitive(ea, "metrics"),
	    cJSON_GetObjectItemCaseSensitive(eb, "metrics"));
out:
	cJSON_Delete(fa);
	cJSON_Delete(fb);
	return rc;
}
