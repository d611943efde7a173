#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/fileio.h"
#include "model/modelfile.h"
#include "registry/version.h"

/* Keys of the advisory lock that serialises the registrations of one
 * model. */
#define REGISTER_LOCK "736501"

int
tp_version_register(tp_db *db, const char *name, const char *path,
    const char *sha256, int64_t run, const cJSON *metrics, int *version,
    tp_err *e)
{
	char id[24], *m = tp_db_json(metrics), *abspath = realpath(path, NULL);
	PGresult *r = NULL;
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)run);
	if (m == NULL || abspath == NULL) {
		free(m);
		free(abspath);
		return abspath == NULL ? tp_err_set(e, TP_ENOINPUT,
		    "%s: %s", path, strerror(errno)) :
		    tp_err_nomem(e, "a model version");
	}
	const char *p1[] = {name};
	const char *p2[] = {name, abspath, sha256, run > 0 ? id : NULL, m};
	/* The model is locked while its next number is taken, so two
	 * registrations never get the same one (an advisory lock: a row lock
	 * would need the right to update models). */
	if ((rc = tp_db_begin(db, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "INSERT INTO models (name) VALUES ($1) "
	    "ON CONFLICT (name) DO NOTHING", 1, p1, NULL, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "SELECT pg_advisory_xact_lock(" REGISTER_LOCK
	    ", id::integer) FROM models WHERE name = $1", 1, p1, NULL, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "INSERT INTO model_versions (model_id, version, "
	    "path, sha256, run_id, metrics) SELECT m.id, coalesce((SELECT "
	    "max(version) FROM model_versions WHERE model_id = m.id), 0) + 1, "
	    "$2, $3, $4, $5::jsonb FROM models m WHERE m.name = $1 "
	    "RETURNING version", 5, p2, &r, e)) != TP_OK ||
	    (rc = tp_db_commit(db, e)) != TP_OK) {
		tp_db_rollback(db);
		PQclear(r);
		free(m);
		free(abspath);
		return rc;
	}
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(m);
	free(abspath);
	return TP_OK;
}

int
tp_version_is_ref(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && access(s, F_OK) != 0;
}

#define VERSION_COLUMNS "v.id, v.version, v.stage, v.sha256, v.path"

/* Fills out from the first row of r (VERSION_COLUMNS) and clears r. */
static int
version_from_row(PGresult *r, tp_model_version *out, tp_err *e)
{
	out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->version = atoi(PQgetvalue(r, 0, 1));
	snprintf(out->stage, sizeof(out->stage), "%s", PQgetvalue(r, 0, 2));
	snprintf(out->sha256, sizeof(out->sha256), "%s", PQgetvalue(r, 0, 3));
	out->path = strdup(PQgetvalue(r, 0, 4));
	PQclear(r);
	return out->path == NULL ? tp_err_nomem(e, "a model version") : TP_OK;
}

int
tp_version_by_sha256(tp_db *db, const char *sha256, tp_model_version *out,
    tp_err *e)
{
	const char *p[] = {sha256};
	PGresult *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = tp_db_exec(db, "SELECT " VERSION_COLUMNS " FROM "
	    "model_versions v WHERE v.sha256 = $1 ORDER BY v.id DESC LIMIT 1",
	    1, p, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return TP_OK;
	}
	return version_from_row(r, out, e);
}

int
tp_version_find(tp_db *db, const char *ref, tp_model_version *out,
    tp_err *e)
{
	static const char *const stages[] = {"None", "Staging", "Production",
	    "Archived"};
	const char *at = strrchr(ref, '@'), *which, *stage = NULL;
	char *name, *end;
	PGresult *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (at == NULL || at == ref)
		return tp_err_set(e, TP_EUSAGE, "%s: not a registry reference: "
		    "NAME@STAGE, NAME@N or NAME@latest", ref);
	which = at + 1;
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (strcasecmp(which, stages[i]) == 0)
			stage = stages[i];
	long n = strtol(which, &end, 10);
	if (stage == NULL && strcasecmp(which, "latest") != 0 &&
	    (*end != '\0' || n < 1 || n > INT32_MAX || !isdigit((unsigned char)*which)))
		return tp_err_set(e, TP_EUSAGE, "%s: after '@' comes a stage "
		    "(production, staging, none, archived), a version number or "
		    "latest", ref);
	if ((name = strndup(ref, (size_t)(at - ref))) == NULL)
		return tp_err_nomem(e, "a model reference");
	char number[24];
	snprintf(number, sizeof(number), "%ld", stage == NULL ? n : 0);
	const char *p[] = {name, stage, strcasecmp(which, "latest") == 0 ||
	    stage != NULL ? NULL : number};
	rc = tp_db_exec(db, "SELECT " VERSION_COLUMNS " FROM model_versions v JOIN models m ON m.id = v.model_id "
	    "WHERE m.name = $1 AND ($2::text IS NULL OR v.stage = $2) "
	    "AND ($3::integer IS NULL OR v.version = $3) "
	    "ORDER BY v.version DESC LIMIT 1", 3, p, &r, e);
	free(name);
	if (rc != TP_OK)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return tp_err_set(e, TP_ENOINPUT, "%s: no such model version in "
		    "the registry", ref);
	}
	return version_from_row(r, out, e);
}

/* TP_OK when bytes of this SHA-256 are v's registered file, the error
 * otherwise. */
static int
check_bytes(const char *ref, const tp_model_version *v, const char *sha256,
    tp_err *e)
{
	if (strcmp(sha256, v->sha256) == 0)
		return TP_OK;
	return tp_err_set(e, TP_EDATA, "%s: %s is not the file registered as "
	    "version %d (its SHA-256 differs)", ref, v->path, v->version);
}

int
tp_version_resolve(tp_db *db, const char *ref, tp_model_version *out,
    tp_err *e)
{
	char digest[65];
	int rc;

	if ((rc = tp_version_find(db, ref, out, e)) != TP_OK)
		return rc;
	if ((rc = tp_file_sha256(out->path, digest, e)) != TP_OK)
		tp_err_prefix(e, "%s (version %d)", ref, out->version);
	else
		rc = check_bytes(ref, out, digest, e);
	if (rc != TP_OK)
		tp_version_free(out);
	return rc;
}

int
tp_version_load(tp_versioned_model *vm, tp_db *db, const char *ref,
    int need, int nthreads, tp_err *e)
{
	tp_st_file f = {0};
	int rc;

	memset(vm, 0, sizeof(*vm));
	if (tp_version_is_ref(ref)) {
		if (db == NULL)
			return tp_err_set(e, TP_EUSAGE, "%s: a registry reference "
			    "needs a database (--db or TABPIPE_DB)", ref);
		if ((rc = tp_version_find(db, ref, &vm->version, e)) != TP_OK)
			return rc;
		if ((rc = tp_st_read(&f, vm->version.path, e)) != TP_OK)
			tp_err_prefix(e, "%s (version %d)", ref, vm->version.version);
		else
			rc = check_bytes(ref, &vm->version, f.sha256, e);
	} else {
		rc = tp_st_read(&f, ref, e);
	}
	if (rc != TP_OK || (rc = tp_st_parse(&f, e)) != TP_OK ||
	    (rc = tp_model_parse(&f, &vm->model, &vm->enc, &vm->meta, need,
	    nthreads, e)) != TP_OK)
		goto fail;
	/* A file given by name may be a registered version too. */
	if (vm->version.id == 0 && db != NULL &&
	    (rc = tp_version_by_sha256(db, f.sha256, &vm->version, e)) != TP_OK)
		goto fail;
	if ((vm->path = strdup(f.path)) == NULL) {
		rc = tp_err_nomem(e, "a model's name");
		goto fail;
	}
	tp_st_close(&f);
	return TP_OK;
fail:
	tp_st_close(&f);
	tp_versioned_model_free(vm);
	return rc;
}

void
tp_versioned_model_free(tp_versioned_model *vm)
{
	tp_model_free(&vm->model);
	tp_encoding_free(&vm->enc);
	tp_version_free(&vm->version);
	tp_model_meta_free(&vm->meta);
	free(vm->path);
	memset(vm, 0, sizeof(*vm));
}

void
tp_version_free(tp_model_version *v)
{
	free(v->path);
	v->path = NULL;
}
