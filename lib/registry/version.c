#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/sha256.h"
#include "model/modelfile.h"
#include "registry/version.h"

/* Keys of the advisory lock that serialises the registrations of one
 * model. */
#define REGISTER_LOCK "736501"

/* The most bytes a bytea holds (1 GiB), less room for its header. */
#define BLOB_MAX (((size_t)1 << 30) - 64)

/* Keeps bytes, of SHA-256 sha256, in model_blobs unless they are there:
 * sent only when the database lacks them, and kept once when two
 * registrations race (the second waits for the first to commit). */
static int
store_blob(tp_db *db, const char *sha256, const char *bytes, size_t len,
    tp_err *e)
{
	const char *p[] = {sha256, bytes};
	const int lengths[] = {0, (int)len}, formats[] = {0, 1};
	PGresult *r;
	int rc, have;

	if ((rc = tp_db_exec(db, "SELECT 1 FROM model_blobs WHERE sha256 = $1",
	    1, p, &r, e)) != TP_OK)
		return rc;
	have = PQntuples(r) > 0;
	PQclear(r);
	if (have)
		return TP_OK;
	return tp_db_exec_binary(db, "INSERT INTO model_blobs (sha256, bytes) "
	    "VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING", 2, p, lengths,
	    formats, 0, NULL, e);
}

int
tp_version_register(tp_db *db, const char *name, const char *path,
    const char *sha256, int64_t run, const cJSON *metrics, int *version,
    tp_err *e)
{
	char id[24], digest[65], *m = NULL, *abspath = realpath(path, NULL);
	char *bytes = NULL;
	size_t len = 0;
	PGresult *r = NULL;
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)run);
	if (abspath == NULL)
		return tp_err_set(e, TP_ENOINPUT, "%s: %s", path, strerror(errno));
	if ((rc = tp_read_file(abspath, &bytes, &len, e)) != TP_OK)
		goto out;
	tp_sha256_hex_of(bytes, len, digest);
	if (strcmp(digest, sha256) != 0) {
		rc = tp_err_set(e, TP_EDATA, "%s: the file changed after its "
		    "SHA-256 was taken (%.12s..., now %.12s...): not registered",
		    path, sha256, digest);
		goto out;
	}
	if (len > BLOB_MAX) {
		rc = tp_err_set(e, TP_EDATA, "%s: %zu bytes: the database keeps a "
		    "model of 1 GiB at the most", path, len);
		goto out;
	}
	if ((m = tp_db_json(metrics)) == NULL) {
		rc = tp_err_nomem(e, "a model version");
		goto out;
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
	    (rc = store_blob(db, sha256, bytes, len, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "INSERT INTO model_versions (model_id, version, "
	    "path, sha256, run_id, metrics, blob) SELECT m.id, coalesce((SELECT "
	    "max(version) FROM model_versions WHERE model_id = m.id), 0) + 1, "
	    "$2, $3, $4, $5::jsonb, $3 FROM models m WHERE m.name = $1 "
	    "RETURNING version", 5, p2, &r, e)) != TP_OK ||
	    (rc = tp_db_commit(db, e)) != TP_OK) {
		tp_db_rollback(db);
		goto out;
	}
	*version = atoi(PQgetvalue(r, 0, 0));
out:
	PQclear(r);
	free(bytes);
	free(m);
	free(abspath);
	return rc;
}

int
tp_version_is_ref(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && access(s, F_OK) != 0;
}

#define VERSION_COLUMNS "v.id, v.version, v.stage, v.sha256, v.path, " \
    "v.blob IS NOT NULL"

/* Fills out from the first row of r (VERSION_COLUMNS) and clears r. */
static int
version_from_row(PGresult *r, tp_model_version *out, tp_err *e)
{
	out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->version = atoi(PQgetvalue(r, 0, 1));
	snprintf(out->stage, sizeof(out->stage), "%s", PQgetvalue(r, 0, 2));
	snprintf(out->sha256, sizeof(out->sha256), "%s", PQgetvalue(r, 0, 3));
	out->path = strdup(PQgetvalue(r, 0, 4));
	out->stored = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
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

	if ((rc = tp_version_find(db, ref, out, e)) != TP_OK || out->stored)
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
tp_version_cache(char *buf, size_t n, tp_err *e)
{
	const char *dir = getenv("TABPIPE_MODEL_CACHE");
	const char *home = getenv("TABPIPE_HOME");
	int len;

	if (dir != NULL && *dir != '\0')
		len = snprintf(buf, n, "%s", dir);
	else
		len = snprintf(buf, n, "%s/cache/models", home != NULL &&
		    *home != '\0' ? home : "var");
	if (len < 0 || (size_t)len >= n)
		return tp_err_set(e, TP_EUSAGE, "the model cache's folder is "
		    "too long a name (TABPIPE_MODEL_CACHE, TABPIPE_HOME)");
	return TP_OK;
}

/* Fetches the bytes of v from the database into the cache file path. */
static int
fetch(tp_db *db, const tp_model_version *v, const char *dir,
    const char *path, tp_err *e)
{
	const char *p[] = {v->sha256};
	char digest[65];
	tp_outfile o;
	PGresult *r;
	int rc;

	if ((rc = tp_db_exec_binary(db, "SELECT bytes FROM model_blobs WHERE "
	    "sha256 = $1", 1, p, NULL, NULL, 1, &r, e)) != TP_OK)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return tp_err_set(e, TP_ENOINPUT, "the database holds no bytes "
		    "of SHA-256 %s", v->sha256);
	}
	const char *bytes = PQgetvalue(r, 0, 0);
	size_t len = (size_t)PQgetlength(r, 0, 0);
	tp_sha256_hex_of(bytes, len, digest);
	if (strcmp(digest, v->sha256) != 0)
		rc = tp_err_set(e, TP_EDATA, "the database's bytes of SHA-256 %s "
		    "have another one, %s", v->sha256, digest);
	else if (tp_make_folders(dir, 0700) != 0)
		rc = tp_err_set(e, TP_ECREAT, "%s: cannot make the model cache: "
		    "%s", dir, strerror(errno));
	else if ((rc = tp_outfile_open(&o, path, e)) == TP_OK) {
		if (fwrite(bytes, 1, len, o.f) != len) {
			rc = tp_err_set(e, TP_EIO, "%s: write error: %s", path,
			    strerror(errno));
			tp_outfile_abort(&o);
		} else {
			rc = tp_outfile_commit(&o, e);
		}
	}
	PQclear(r);
	return rc;
}

int
tp_version_read(tp_db *db, const char *ref, const tp_model_version *v,
    tp_st_file *f, tp_err *e)
{
	char dir[4096], path[4096 + 72];
	tp_err why = {0};
	int rc;

	rc = tp_st_read(f, v->path, &why);
	if (rc != TP_OK)
		tp_err_prefix(&why, "%s (version %d)", ref, v->version);
	else
		rc = check_bytes(ref, v, f->sha256, &why);
	if (rc == TP_OK)
		return TP_OK;
	if (!v->stored) {
		tp_st_close(f);
		return tp_err_set(e, rc, "%s", why.msg);
	}
	/* The file is not the version's: its bytes from the cache, and into
	 * it from the database first when the cache has other bytes or
	 * none. */
	tp_st_close(f);
	if ((rc = tp_version_cache(dir, sizeof(dir), e)) != TP_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, v->sha256);
	if (tp_st_read(f, path, NULL) == TP_OK &&
	    strcmp(f->sha256, v->sha256) == 0)
		return TP_OK;
	tp_st_close(f);
	if ((rc = fetch(db, v, dir, path, e)) != TP_OK ||
	    (rc = tp_st_read(f, path, e)) != TP_OK) {
		tp_st_close(f);
		return tp_err_prefix(e, "%s (version %d)", ref, v->version);
	}
	if (strcmp(f->sha256, v->sha256) != 0) {
		tp_st_close(f);
		return tp_err_set(e, TP_EIO, "%s (version %d): %s: the copy "
		    "written into the model cache reads back with another "
		    "SHA-256", ref, v->version, path);
	}
	return TP_OK;
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
		if ((rc = tp_version_find(db, ref, &vm->version, e)) == TP_OK)
			rc = tp_version_read(db, ref, &vm->version, &f, e);
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
