/* history: a model version's record in the registry (history.h). */
#include "report/history.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

/* A time as UTC text. */
#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The evaluations of version v: those that name it, and those of its
 * file's bytes that name no version, as tabpipe-registry counts them. */
#define EVALUATES(e, v) "(" e ".version_id = " v ".id OR (" e ".version_id " \
	"IS NULL AND " e ".model_sha256 = " v ".sha256))"

/* The parts, each a query of one JSON value; $1 is the version's id, $2
 * (the first's only) the training data's fingerprint. */
static const struct {
	const char *key;
	int n;                /* its parameters */
	const char *sql;
} parts[] = {
	{"version", 2, "SELECT json_build_object('name', m.name, 'version', "
	    "v.version, 'stage', v.stage, 'created', " UTC("v.created_at") ", "
	    "'sha256', v.sha256, 'path', v.path, 'run', v.run_id, 'rows', "
	    "coalesce((SELECT d.rows FROM datasets d WHERE d.fingerprint = $2 "
	    "ORDER BY d.id DESC LIMIT 1), (r.inputs->>'train_rows')::bigint), "
	    "'trained_by', r.db_user, 'metrics', v.metrics) "
	    "FROM model_versions v JOIN models m ON m.id = v.model_id "
	    "LEFT JOIN runs r ON r.id = v.run_id WHERE v.id = $1"},
	{"versions", 1, "SELECT coalesce(json_agg(t ORDER BY t.version), '[]') "
	    "FROM (SELECT o.version, o.stage, " UTC("o.created_at") " AS created, "
	    "o.sha256, o.metrics -> 'valid_auc' AS valid_auc, "
	    "ev.metrics -> 'auc' AS eval_auc FROM model_versions v "
	    "JOIN model_versions o ON o.model_id = v.model_id "
	    "LEFT JOIN LATERAL (SELECT e.metrics FROM evaluations e WHERE "
	    EVALUATES("e", "o") " ORDER BY e.created_at DESC, e.id DESC LIMIT 1) "
	    "ev ON true WHERE v.id = $1) t"},
	{"evaluations", 1, "SELECT coalesce(json_agg(t ORDER BY t.created, t.id), "
	    "'[]') FROM (SELECT e.id, o.version, " UTC("e.created_at")
	    " AS created, e.rows, e.data_fingerprint AS data, "
	    "e.metrics -> 'auc' AS auc FROM model_versions v "
	    "JOIN model_versions o ON o.model_id = v.model_id "
	    "JOIN evaluations e ON " EVALUATES("e", "o") " WHERE v.id = $1) t"},
	{"changes", 1, "SELECT coalesce(json_agg(t ORDER BY t.id), '[]') "
	    "FROM (SELECT c.id, " UTC("c.changed_at") " AS changed, o.version, "
	    "c.from_stage AS \"from\", c.to_stage AS \"to\", c.db_user AS "
	    "\"user\", c.reason FROM model_versions v "
	    "JOIN model_versions o ON o.model_id = v.model_id "
	    "JOIN stage_changes c ON c.version_id = o.id WHERE v.id = $1) t"},
	{"epochs", 1, "SELECT coalesce(json_agg(p.metrics || jsonb_build_object("
	    "'epoch', p.epoch) || CASE WHEN p.member > 1 THEN "
	    "jsonb_build_object('member', p.member) ELSE '{}' END "
	    "ORDER BY p.member, p.epoch), '[]') FROM model_versions v "
	    "JOIN epochs p ON p.run_id = v.run_id WHERE v.id = $1"},
};

int
tp_history_load(tp_db *db, int64_t version_id, const char *data_fingerprint,
    cJSON **out, tp_err *e)
{
	char id[24];
	const char *p[] = {id, data_fingerprint};
	cJSON *h = cJSON_CreateObject();
	int rc = TP_OK;

	*out = NULL;
	if (h == NULL)
		return tp_err_nomem(e, "the registry's history");
	snprintf(id, sizeof(id), "%lld", (long long)version_id);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		PGresult *r;
		cJSON *v;
		if ((rc = tp_db_exec(db, parts[i].sql, parts[i].n, p, &r, e)) != TP_OK)
			goto fail;
		if (PQntuples(r) != 1) {
			PQclear(r);
			rc = tp_err_set(e, TP_ENOINPUT, "the registry has no model "
			    "version of id %lld", (long long)version_id);
			goto fail;
		}
		v = cJSON_Parse(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (v == NULL || !cJSON_AddItemToObject(h, parts[i].key, v)) {
			cJSON_Delete(v);
			rc = tp_err_nomem(e, "the registry's history");
			goto fail;
		}
	}
	*out = h;
	return TP_OK;
fail:
	cJSON_Delete(h);
	return rc;
}
