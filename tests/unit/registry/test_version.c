/*
 * test_version: the registered versions of models, against PostgreSQL:
 * numbers 1, 2, ... per model; what reads as a reference; every form of
 * reference found (stages in any case, numbers, latest) and every way one
 * is wrong; a version found by its file's SHA-256; the bytes of every
 * version kept in the database, once; a registered file that was replaced
 * or removed, loaded from the database through the model cache (a cached
 * copy that was changed, fetched again), and, for a version registered
 * before the database kept bytes, refused; and models loaded from a file
 * (with and without a database) and from a reference, with the SHA-256 of
 * the bytes loaded.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "fixture.h"
#include "registry/version.h"
#include "suites.h"

/* The suite's fresh database, as tabpipe-train. */
static tp_db *
open_db(void)
{
	return fixture_db("version", "train");
}

/* A new temporary file holding text (or, when text is NULL, nothing: a
 * model is saved over it); path is a template ending in XXXXXX. */
static void
temp_file(char *path, const char *text)
{
	int fd = mkstemp(path);

	ck_assert_msg(fd != -1, "%s", path);
	if (text != NULL)
		ck_assert_int_eq(write(fd, text, strlen(text)),
		    (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
}

/* Replaces the bytes of path by text. */
static void
rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void
sha256_of(const char *path, char sha[65])
{
	tp_err e = {0};

	ck_assert_msg(tp_file_sha256(path, sha, &e) == TP_OK, "%s", e.msg);
}

/* Registers path as the next version of name; returns its number. */
static int
reg(tp_db *db, const char *name, const char *path, int64_t run,
    const cJSON *metrics)
{
	char sha[65];
	tp_err e = {0};
	int version = -1;

	sha256_of(path, sha);
	ck_assert_msg(tp_version_register(db, name, path, sha, run, metrics,
	    &version, &e) == TP_OK, "%s: %s", path, e.msg);
	return version;
}

/* Sets the stage of version of name, as a promotion would. */
static void
set_stage(tp_db *db, const char *name, int version, const char *stage)
{
	char v[16];
	const char *p[] = {name, v, stage};

	snprintf(v, sizeof(v), "%d", version);
	fixture_exec(db, "UPDATE model_versions SET stage = $3 WHERE version = "
	    "$2 AND model_id = (SELECT id FROM models WHERE name = $1)", 3, p);
}

/* model_versions.id of version of name, as text to free. */
static char *
version_id(tp_db *db, const char *name, int version)
{
	char v[16], *id;
	const char *p[] = {name, v};

	snprintf(v, sizeof(v), "%d", version);
	id = fixture_value(db, "SELECT v.id FROM model_versions v JOIN models "
	    "m ON m.id = v.model_id WHERE m.name = $1 AND v.version = $2", 2,
	    p);
	ck_assert_ptr_nonnull(id);
	return id;
}

/* Whether out is version of name, as the registry has it. */
static void
is_version(tp_db *db, const tp_model_version *out, const char *name,
    int version)
{
	char *id = version_id(db, name, version), text[24];
	const char *p[] = {id};

	snprintf(text, sizeof(text), "%lld", (long long)out->id);
	ck_assert_str_eq(text, id);
	ck_assert_int_eq(out->version, version);
	ck_assert_ptr_nonnull(out->path);
	fixture_value_is(db, "SELECT stage FROM model_versions WHERE id = $1",
	    1, p, out->stage);
	fixture_value_is(db, "SELECT sha256 FROM model_versions WHERE id = $1",
	    1, p, out->sha256);
	fixture_value_is(db, "SELECT path FROM model_versions WHERE id = $1",
	    1, p, out->path);
	free(id);
}

/* Makes version of name one registered before the database kept the bytes
 * of versions (migration 4): it has its file alone. */
static void
forget_bytes(tp_db *db, const char *name, int version)
{
	char *id = version_id(db, name, version);
	const char *p[] = {id};

	fixture_exec(db, "UPDATE model_versions SET blob = NULL WHERE id = $1",
	    1, p);
	free(id);
}

/* A new, empty model cache in dir (a template ending in XXXXXX), which
 * TABPIPE_MODEL_CACHE names. */
static void
cache_new(char *dir)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", dir, 1), 0);
}

/* The names of the files of the model cache dir, "NAME,...", in order. */
static void
cache_is(const char *dir, const char *want)
{
	struct dirent **names;
	char got[512] = "";
	int n = scandir(dir, &names, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", *got ? "," : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	ck_assert_str_eq(got, want);
}

/* Removes the model cache dir and its files. */
static void
cache_remove(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	ck_assert_ptr_nonnull(dp);
	while ((d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.')
			ck_assert_int_eq(unlinkat(dirfd(dp), d->d_name, 0), 0);
	closedir(dp);
	ck_assert_int_eq(rmdir(dir), 0);
}

START_TEST(test_register)
{
	char a[] = "/tmp/tabpipe-version-XXXXXX";
	char b[] = "/tmp/tabpipe-version-XXXXXX";
	char indirect[64], sha[65];
	tp_db *db = open_db();
	cJSON *metrics = cJSON_CreateObject();
	int64_t run;
	tp_err e = {0};
	int version = -1;

	ck_assert_msg(tp_db_run_start(db, NULL, NULL, &run, &e) == TP_OK, "%s",
	    e.msg);
	temp_file(a, "a");
	temp_file(b, "b");
	cJSON_AddNumberToObject(metrics, "valid_auc", 0.75);

	/* The path is kept as the absolute one. */
	snprintf(indirect, sizeof(indirect), "/tmp/../tmp/%s", a + 5);
	ck_assert_int_eq(reg(db, "loans", indirect, run, metrics), 1);
	ck_assert_int_eq(reg(db, "loans", b, 0, NULL), 2);
	ck_assert_int_eq(reg(db, "other", a, 0, NULL), 1);
	/* The same file again is another version. */
	ck_assert_int_eq(reg(db, "loans", a, 0, NULL), 3);

	fixture_value_is(db, "SELECT count(*) FROM models", 0, NULL, "2");
	fixture_value_is(db, "SELECT string_agg(m.name || ' ' || v.version || "
	    "' ' || v.stage, ',' ORDER BY v.id) FROM model_versions v JOIN "
	    "models m ON m.id = v.model_id", 0, NULL,
	    "loans 1 None,loans 2 None,other 1 None,loans 3 None");
	char *id = version_id(db, "loans", 1), runid[24];
	snprintf(runid, sizeof(runid), "%lld", (long long)run);
	const char *p1[] = {id};
	sha256_of(a, sha);
	fixture_value_is(db, "SELECT path FROM model_versions WHERE id = $1", 1,
	    p1, a);
	fixture_value_is(db, "SELECT sha256 FROM model_versions WHERE id = $1",
	    1, p1, sha);
	fixture_value_is(db, "SELECT run_id FROM model_versions WHERE id = $1",
	    1, p1, runid);
	fixture_value_is(db, "SELECT metrics ->> 'valid_auc' FROM "
	    "model_versions WHERE id = $1", 1, p1, "0.75");
	free(id);
	id = version_id(db, "loans", 2);
	const char *p2[] = {id};
	fixture_value_is(db, "SELECT run_id FROM model_versions WHERE id = $1",
	    1, p2, NULL);
	fixture_value_is(db, "SELECT metrics::text FROM model_versions WHERE "
	    "id = $1", 1, p2, "{}");
	free(id);

	/* The bytes of each version, kept once: four versions of two files. */
	fixture_value_is(db, "SELECT string_agg(convert_from(bytes, 'UTF8') "
	    "|| ' ' || size, ',' ORDER BY bytes) FROM model_blobs", 0, NULL,
	    "a 1,b 1");
	fixture_value_is(db, "SELECT count(*) FROM model_versions v JOIN "
	    "model_blobs b ON b.sha256 = v.blob WHERE v.blob = v.sha256", 0,
	    NULL, "4");

	/* A file that is not there is not registered. */
	ck_assert_int_eq(tp_version_register(db, "loans", "/nonexistent/m.st",
	    sha, 0, NULL, &version, &e), TP_ENOINPUT);
	ck_assert_str_eq(e.msg, "/nonexistent/m.st: No such file or directory");
	ck_assert_int_eq(version, -1);
	/* Nor one whose bytes are no longer those of the SHA-256 given. */
	rewrite(a, "not a");
	ck_assert_int_eq(tp_version_register(db, "loans", a, sha, 0, NULL,
	    &version, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "the file changed after its SHA-256 was "
	    "taken") != NULL, "%s", e.msg);
	ck_assert_int_eq(version, -1);
	fixture_value_is(db, "SELECT count(*) FROM model_versions", 0, NULL,
	    "4");
	fixture_value_is(db, "SELECT count(*) FROM model_blobs", 0, NULL, "2");
	/* The database refuses bytes under another's SHA-256, and does not
	 * say them. */
	PGresult *r = PQexecParams(db->conn, "INSERT INTO model_blobs (sha256, "
	    "bytes) VALUES (repeat('0', 64), 'secret')", 0, NULL, NULL, NULL,
	    NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_msg(strstr(PQresultErrorMessage(r), "have another SHA-256") !=
	    NULL && strstr(PQresultErrorMessage(r), "secret") == NULL, "%s",
	    PQresultErrorMessage(r));
	PQclear(r);
	fixture_value_is(db, "SELECT count(*) FROM model_blobs", 0, NULL, "2");

	cJSON_Delete(metrics);
	unlink(a);
	unlink(b);
	tp_db_close(db);
}
END_TEST

START_TEST(test_is_ref)
{
	char file[] = "/tmp/tabpipe-version@1-XXXXXX";

	ck_assert_int_eq(tp_version_is_ref("loans@production"), 1);
	ck_assert_int_eq(tp_version_is_ref("loans@1"), 1);
	ck_assert_int_eq(tp_version_is_ref("a@b@latest"), 1);
	ck_assert_int_eq(tp_version_is_ref("loans@x"), 1);
	ck_assert_int_eq(tp_version_is_ref("loans"), 0);
	ck_assert_int_eq(tp_version_is_ref("@production"), 0);
	ck_assert_int_eq(tp_version_is_ref("loans@"), 0);
	ck_assert_int_eq(tp_version_is_ref(""), 0);
	/* A file that exists is a file, whatever its name holds. */
	temp_file(file, "x");
	ck_assert_int_eq(tp_version_is_ref(file), 0);
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(tp_version_is_ref(file), 1);
}
END_TEST

START_TEST(test_find)
{
	static const char *const stages[] = {"Archived", "Archived",
	    "Production", "Staging", "None", "None"};
	static const struct {
		const char *ref, *name;
		int version;
	} found[] = {
		{"loans@production", "loans", 3},
		{"loans@PRODUCTION", "loans", 3},
		{"loans@Production", "loans", 3},
		{"loans@staging", "loans", 4},
		{"loans@StAgInG", "loans", 4},
		{"loans@archived", "loans", 2},
		{"loans@ARCHIVED", "loans", 2},
		{"loans@none", "loans", 6},
		{"loans@None", "loans", 6},
		{"loans@latest", "loans", 6},
		{"loans@Latest", "loans", 6},
		{"loans@1", "loans", 1},
		{"loans@4", "loans", 4},
		{"loans@6", "loans", 6},
		{"loans@06", "loans", 6},
		{"other@production", "other", 1},
		{"other@latest", "other", 1},
		{"a@b@1", "a@b", 1},
		{"a@b@none", "a@b", 1},
	};
	static const char *const misused[] = {"loans@prod", "loans@0",
	    "loans@-1", "loans@+1", "loans@ 1", "loans@1x", "loans@1.0",
	    "loans@2147483648", "loans@99999999999999999999", "loans@latest2",
	    "loans@@", "loans@"};
	static const char *const missing[] = {"loans@7", "loans@2147483647",
	    "nosuch@latest", "nosuch@1", "other@staging", "other@2", "a@1",
	    "b@1"};
	char files[8][32];
	tp_model_version v;
	tp_db *db = open_db();
	tp_err e = {0};

	for (int i = 0; i < 8; i++) {
		char text[16];

		snprintf(files[i], sizeof(files[i]),
		    "/tmp/tabpipe-version-XXXXXX");
		snprintf(text, sizeof(text), "%d", i);
		temp_file(files[i], text);
	}
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(reg(db, "loans", files[i], 0, NULL), i + 1);
		set_stage(db, "loans", i + 1, stages[i]);
	}
	ck_assert_int_eq(reg(db, "other", files[6], 0, NULL), 1);
	set_stage(db, "other", 1, "Production");
	ck_assert_int_eq(reg(db, "a@b", files[7], 0, NULL), 1);

	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		ck_assert_msg(tp_version_find(db, found[i].ref, &v, &e) ==
		    TP_OK, "%s: %s", found[i].ref, e.msg);
		ck_assert_msg(v.version == found[i].version, "%s: version %d",
		    found[i].ref, v.version);
		is_version(db, &v, found[i].name, found[i].version);
		tp_version_free(&v);
		ck_assert_ptr_null(v.path);
	}
	ck_assert_int_eq(tp_version_find(db, "loans@production", &v, &e),
	    TP_OK);
	ck_assert_str_eq(v.stage, "Production");
	ck_assert_str_eq(v.path, files[2]);
	tp_version_free(&v);

	for (size_t i = 0; i < sizeof(misused) / sizeof(misused[0]); i++) {
		char want[256];

		memset(&e, 0, sizeof(e));
		ck_assert_msg(tp_version_find(db, misused[i], &v, &e) ==
		    TP_EUSAGE, "%s: %d %s", misused[i], e.code, e.msg);
		snprintf(want, sizeof(want), "%s: after '@' comes a stage "
		    "(production, staging, none, archived), a version number "
		    "or latest", misused[i]);
		ck_assert_str_eq(e.msg, want);
		ck_assert_ptr_null(v.path);
	}
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		char want[256];

		memset(&e, 0, sizeof(e));
		ck_assert_msg(tp_version_find(db, missing[i], &v, &e) ==
		    TP_ENOINPUT, "%s: %d %s", missing[i], e.code, e.msg);
		snprintf(want, sizeof(want), "%s: no such model version in the "
		    "registry", missing[i]);
		ck_assert_str_eq(e.msg, want);
		ck_assert_ptr_null(v.path);
	}
	for (int i = 0; i < 8; i++)
		unlink(files[i]);
	tp_db_close(db);
}
END_TEST

/* A name without an '@' (a file's, as the header calls references too)
 * names no version: an error to return, not a crash. */
START_TEST(test_find_without_at)
{
	static const char *const refs[] = {"loans", "model.safetensors", ""};
	tp_model_version v = {0};
	tp_db *db = open_db();
	tp_err e = {0};
	int rc;

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		mark_point();
		rc = tp_version_find(db, refs[i], &v, &e);
		ck_assert_msg(rc == TP_EUSAGE &&
		    strstr(e.msg, "not a registry reference") != NULL,
		    "find \"%s\": %d %s", refs[i], rc, e.msg);
		ck_assert_ptr_null(v.path);
		mark_point();
		rc = tp_version_resolve(db, refs[i], &v, &e);
		ck_assert_msg(rc == TP_EUSAGE &&
		    strstr(e.msg, "not a registry reference") != NULL,
		    "resolve \"%s\": %d %s", refs[i], rc, e.msg);
		ck_assert_ptr_null(v.path);
	}
	tp_db_close(db);
}
END_TEST

START_TEST(test_by_sha256)
{
	char a[] = "/tmp/tabpipe-version-XXXXXX";
	char b[] = "/tmp/tabpipe-version-XXXXXX";
	char sha[65];
	tp_model_version v;
	tp_db *db = open_db();
	tp_err e = {0};

	temp_file(a, "a");
	temp_file(b, "b");
	ck_assert_int_eq(reg(db, "loans", a, 0, NULL), 1);
	ck_assert_int_eq(reg(db, "loans", b, 0, NULL), 2);
	ck_assert_int_eq(reg(db, "other", a, 0, NULL), 1);

	/* Registered twice: the newer version. */
	sha256_of(a, sha);
	ck_assert_int_eq(tp_version_by_sha256(db, sha, &v, &e), TP_OK);
	is_version(db, &v, "other", 1);
	ck_assert_str_eq(v.sha256, sha);
	tp_version_free(&v);
	sha256_of(b, sha);
	ck_assert_int_eq(tp_version_by_sha256(db, sha, &v, &e), TP_OK);
	is_version(db, &v, "loans", 2);
	tp_version_free(&v);
	/* None has it: no version, and no error. */
	memset(sha, '0', 64);
	ck_assert_int_eq(tp_version_by_sha256(db, sha, &v, &e), TP_OK);
	ck_assert_int_eq(v.id, 0);
	ck_assert_int_eq(v.version, 0);
	ck_assert_ptr_null(v.path);

	unlink(a);
	unlink(b);
	tp_db_close(db);
}
END_TEST

START_TEST(test_resolve)
{
	char a[] = "/tmp/tabpipe-version-XXXXXX";
	char want[256];
	tp_model_version v;
	tp_db *db = open_db();
	tp_err e = {0};

	temp_file(a, "a");
	ck_assert_int_eq(reg(db, "loans", a, 0, NULL), 1);
	ck_assert_int_eq(reg(db, "loans", a, 0, NULL), 2);
	ck_assert_msg(tp_version_resolve(db, "loans@1", &v, &e) == TP_OK, "%s",
	    e.msg);
	is_version(db, &v, "loans", 1);
	tp_version_free(&v);

	/* Its bytes are in the database: the file, replaced or removed, is
	 * not needed. */
	rewrite(a, "not a");
	ck_assert_msg(tp_version_resolve(db, "loans@1", &v, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_int_eq(v.stored, 1);
	tp_version_free(&v);
	ck_assert_int_eq(unlink(a), 0);
	ck_assert_msg(tp_version_resolve(db, "loans@latest", &v, &e) == TP_OK,
	    "%s", e.msg);
	tp_version_free(&v);

	/* A version registered before the database kept bytes: its file was
	 * replaced after it was registered. */
	forget_bytes(db, "loans", 1);
	forget_bytes(db, "loans", 2);
	rewrite(a, "not a");
	ck_assert_int_eq(tp_version_resolve(db, "loans@latest", &v, &e),
	    TP_EDATA);
	snprintf(want, sizeof(want), "loans@latest: %s is not the file "
	    "registered as version 2 (its SHA-256 differs)", a);
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(v.path);
	/* The bytes it had: found again. */
	rewrite(a, "a");
	ck_assert_int_eq(tp_version_resolve(db, "loans@latest", &v, &e), TP_OK);
	tp_version_free(&v);

	/* Removed; and a version that is not there. */
	ck_assert_int_eq(unlink(a), 0);
	ck_assert_int_eq(tp_version_resolve(db, "loans@1", &v, &e),
	    TP_ENOINPUT);
	ck_assert_msg(strstr(e.msg, "loans@1 (version 1): ") == e.msg &&
	    strstr(e.msg, a) != NULL, "%s", e.msg);
	ck_assert_ptr_null(v.path);
	ck_assert_int_eq(tp_version_resolve(db, "loans@3", &v, &e),
	    TP_ENOINPUT);
	ck_assert_str_eq(e.msg,
	    "loans@3: no such model version in the registry");
	ck_assert_int_eq(tp_version_resolve(db, "loans@third", &v, &e),
	    TP_EUSAGE);
	tp_db_close(db);
}
END_TEST

/* Whether vm is the model saved at path with threshold: its encoding, and
 * the SHA-256 of the file's bytes. */
static void
is_model(const tp_versioned_model *vm, const tp_encoding *enc,
    const char *path, double threshold)
{
	char sha[65];

	sha256_of(path, sha);
	ck_assert_str_eq(vm->meta.sha256, sha);
	ck_assert_str_eq(vm->path, path);
	ck_assert_str_eq(vm->enc.fingerprint, enc->fingerprint);
	ck_assert_double_eq(vm->meta.threshold, threshold);
	ck_assert_int_eq(vm->model.cfg.d_model, 8);
}

/* Loads the model file path, of threshold, which is no registered
 * version. */
static void
loads_unregistered(tp_db *db, const char *path, const tp_encoding *enc,
    double threshold)
{
	tp_versioned_model vm;
	tp_err e = {0};

	ck_assert_msg(tp_version_load(&vm, db, path, TP_WITH_HEAD, 1, &e) ==
	    TP_OK, "%s", e.msg);
	is_model(&vm, enc, path, threshold);
	ck_assert_int_eq(vm.version.id, 0);
	tp_versioned_model_free(&vm);
}

START_TEST(test_load_file)
{
	char path[] = "/tmp/tabpipe-version-XXXXXX";
	char like_ref[] = "/tmp/tabpipe-version@1-XXXXXX";
	tp_encoding enc = {0};
	tp_versioned_model vm;
	tp_db *db;
	tp_err e = {0};

	fixture_fit(&enc, 1);
	temp_file(path, NULL);
	fixture_save_model(&enc, 1, 0.25, path);

	/* Without a database: the file, and no version. */
	ck_assert_msg(tp_version_load(&vm, NULL, path, TP_WITH_HEAD, 1, &e) ==
	    TP_OK, "%s", e.msg);
	is_model(&vm, &enc, path, 0.25);
	ck_assert_int_eq(vm.version.id, 0);
	ck_assert_ptr_null(vm.version.path);
	tp_versioned_model_free(&vm);
	ck_assert_ptr_null(vm.path);

	/* A file whose name reads like a reference is still a file. */
	temp_file(like_ref, NULL);
	fixture_save_model(&enc, 1, 0.25, like_ref);
	ck_assert_msg(tp_version_load(&vm, NULL, like_ref, TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	is_model(&vm, &enc, like_ref, 0.25);
	tp_versioned_model_free(&vm);

	/* With a database, a file that is no registered version has none. */
	db = open_db();
	loads_unregistered(db, path, &enc, 0.25);

	/* Not a model file; not a file. */
	ck_assert_int_eq(unlink(like_ref), 0);
	rewrite(like_ref, "not a model");
	ck_assert_int_ne(tp_version_load(&vm, db, like_ref, TP_WITH_HEAD, 1,
	    &e), TP_OK);
	ck_assert_int_eq(e.code, TP_EDATA);
	ck_assert_ptr_null(vm.path);
	ck_assert_int_eq(unlink(like_ref), 0);
	ck_assert_int_eq(tp_version_load(&vm, NULL, like_ref, TP_WITH_HEAD, 1,
	    &e), TP_EUSAGE);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tp_version_load(&vm, NULL, path, TP_WITH_HEAD, 1, &e),
	    TP_ENOINPUT);
	ck_assert_ptr_null(vm.path);

	tp_db_close(db);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_load_registered)
{
	char one[] = "/tmp/tabpipe-version-XXXXXX";
	char two[] = "/tmp/tabpipe-version-XXXXXX";
	tp_encoding enc = {0};
	tp_versioned_model vm;
	tp_db *db = open_db();
	tp_err e = {0};

	fixture_fit(&enc, 1);
	temp_file(one, NULL);
	temp_file(two, NULL);
	fixture_save_model(&enc, 1, 0.25, one);
	fixture_save_model(&enc, 2, 0.75, two);
	ck_assert_int_eq(reg(db, "loans", one, 0, NULL), 1);
	ck_assert_int_eq(reg(db, "loans", two, 0, NULL), 2);
	set_stage(db, "loans", 1, "Production");

	/* A registered file given by name gets its version. */
	ck_assert_msg(tp_version_load(&vm, db, two, TP_WITH_HEAD, 1, &e) ==
	    TP_OK, "%s", e.msg);
	is_model(&vm, &enc, two, 0.75);
	is_version(db, &vm.version, "loans", 2);
	tp_versioned_model_free(&vm);

	/* A reference: the version's file, with the registered SHA-256. */
	ck_assert_msg(tp_version_load(&vm, db, "loans@production",
	    TP_WITH_HEAD, 1, &e) == TP_OK, "%s", e.msg);
	is_model(&vm, &enc, one, 0.25);
	is_version(db, &vm.version, "loans", 1);
	ck_assert_str_eq(vm.version.stage, "Production");
	ck_assert_str_eq(vm.meta.sha256, vm.version.sha256);
	tp_versioned_model_free(&vm);
	ck_assert_msg(tp_version_load(&vm, db, "loans@latest", TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	is_model(&vm, &enc, two, 0.75);
	ck_assert_int_eq(vm.version.version, 2);
	tp_versioned_model_free(&vm);

	/* A reference no version matches; a reference without a database. */
	ck_assert_int_eq(tp_version_load(&vm, db, "loans@staging",
	    TP_WITH_HEAD, 1, &e), TP_ENOINPUT);
	ck_assert_str_eq(e.msg,
	    "loans@staging: no such model version in the registry");
	ck_assert_ptr_null(vm.path);
	ck_assert_int_eq(tp_version_load(&vm, NULL, "loans@1", TP_WITH_HEAD, 1,
	    &e), TP_EUSAGE);
	ck_assert_msg(strstr(e.msg, "needs a database") != NULL, "%s", e.msg);
	ck_assert_str_eq(e.msg, "loans@1: a registry reference needs a "
	    "database (--db or TABPIPE_DB)");
	ck_assert_ptr_null(vm.path);

	unlink(one);
	unlink(two);
	tp_db_close(db);
	tp_encoding_free(&enc);
}
END_TEST

/* The inode of path: a fetch writes a new file in the cache. */
static ino_t
inode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

/* Loads ref: version 1 of loans, the registered bytes of sha (the model of
 * threshold 0.25) from the cache's copy, cached. */
static void
loads_cached(tp_db *db, const char *ref, const char *cached,
    const char *sha)
{
	tp_versioned_model vm;
	char got[65];
	tp_err e = {0};

	ck_assert_msg(tp_version_load(&vm, db, ref, TP_WITH_HEAD, 1, &e) ==
	    TP_OK, "%s", e.msg);
	ck_assert_str_eq(vm.path, cached);
	ck_assert_str_eq(vm.meta.sha256, sha);
	ck_assert_double_eq(vm.meta.threshold, 0.25);
	ck_assert_int_eq(vm.version.version, 1);
	ck_assert_int_eq(vm.version.stored, 1);
	tp_versioned_model_free(&vm);
	sha256_of(cached, got);
	ck_assert_str_eq(got, sha);
}

START_TEST(test_load_replaced)
{
	char path[] = "/tmp/tabpipe-version-XXXXXX";
	char cache[] = "/tmp/tabpipe-cache-XXXXXX";
	char want[256], sha[65], cached[128];
	tp_encoding enc = {0};
	tp_versioned_model vm;
	tp_db *db = open_db();
	tp_err e = {0};
	ino_t ino;

	fixture_fit(&enc, 1);
	cache_new(cache);
	temp_file(path, NULL);
	fixture_save_model(&enc, 1, 0.25, path);
	sha256_of(path, sha);
	snprintf(cached, sizeof(cached), "%s/%s", cache, sha);
	ck_assert_int_eq(reg(db, "loans", path, 0, NULL), 1);
	set_stage(db, "loans", 1, "Production");

	/* The file as registered: read, nothing fetched. */
	ck_assert_msg(tp_version_load(&vm, db, "loans@production",
	    TP_WITH_HEAD, 1, &e) == TP_OK, "%s", e.msg);
	is_model(&vm, &enc, path, 0.25);
	tp_versioned_model_free(&vm);
	cache_is(cache, "");

	/* Another valid model file in its place: the registered bytes,
	 * fetched from the database into the cache, and loaded from there
	 * again without a fetch. */
	fixture_save_model(&enc, 2, 0.75, path);
	loads_cached(db, "loans@production", cached, sha);
	cache_is(cache, sha);
	ino = inode(cached);
	loads_cached(db, "loans@1", cached, sha);
	ck_assert(inode(cached) == ino);

	/* A cached copy with other bytes is never used: fetched again. */
	rewrite(cached, "not a model");
	loads_cached(db, "loans@production", cached, sha);
	fixture_save_model(&enc, 2, 0.75, cached);
	loads_cached(db, "loans@production", cached, sha);
	ck_assert_int_eq(truncate(cached, 100), 0);
	loads_cached(db, "loans@production", cached, sha);
	cache_is(cache, sha);

	/* Given by name, the file in its place is no registered version. */
	loads_unregistered(db, path, &enc, 0.75);

	/* The file gone: the cache's copy. */
	ck_assert_int_eq(unlink(path), 0);
	ino = inode(cached);
	loads_cached(db, "loans@production", cached, sha);
	ck_assert(inode(cached) == ino);

	/* A cache that cannot be made: the error says where. */
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", "/dev/null/models", 1),
	    0);
	ck_assert_int_eq(tp_version_load(&vm, db, "loans@production",
	    TP_WITH_HEAD, 1, &e), TP_ECREAT);
	ck_assert_str_eq(e.msg, "loans@production (version 1): "
	    "/dev/null/models: cannot make the model cache: Not a directory");
	ck_assert_ptr_null(vm.path);
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", cache, 1), 0);

	/* A version registered before the database kept bytes has its file
	 * alone, whatever the cache holds: another one in its place is
	 * refused, not loaded. */
	forget_bytes(db, "loans", 1);
	fixture_save_model(&enc, 2, 0.75, path);
	ck_assert_int_eq(tp_version_load(&vm, db, "loans@production",
	    TP_WITH_HEAD, 1, &e), TP_EDATA);
	snprintf(want, sizeof(want), "loans@production: %s is not the file "
	    "registered as version 1 (its SHA-256 differs)", path);
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(vm.path);
	ck_assert_ptr_null(vm.version.path);
	ck_assert_int_eq(vm.version.id, 0);

	/* Gone: the error says which version's file. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tp_version_load(&vm, db, "loans@1", TP_WITH_HEAD, 1,
	    &e), TP_ENOINPUT);
	ck_assert_msg(strstr(e.msg, "loans@1 (version 1): ") == e.msg, "%s",
	    e.msg);
	ck_assert_ptr_null(vm.path);

	cache_remove(cache);
	tp_db_close(db);
	tp_encoding_free(&enc);
}
END_TEST

/* Where the cache is: TABPIPE_MODEL_CACHE, else in TABPIPE_HOME, else in
 * var; a name too long is refused. */
START_TEST(test_cache_folder)
{
	static const struct {
		const char *cache, *home, *want; /* NULL: unset */
	} cases[] = {
		{NULL, NULL, "var/cache/models"},
		{NULL, "", "var/cache/models"},
		{"", "", "var/cache/models"},
		{NULL, "/srv/tabpipe/var", "/srv/tabpipe/var/cache/models"},
		{"", "/srv/tabpipe/var", "/srv/tabpipe/var/cache/models"},
		{"/cache", "/srv/tabpipe/var", "/cache"},
		{"/cache", NULL, "/cache"},
	};
	char dir[64], tiny[8];
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].cache == NULL)
			ck_assert_int_eq(unsetenv("TABPIPE_MODEL_CACHE"), 0);
		else
			ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE",
			    cases[i].cache, 1), 0);
		if (cases[i].home == NULL)
			ck_assert_int_eq(unsetenv("TABPIPE_HOME"), 0);
		else
			ck_assert_int_eq(setenv("TABPIPE_HOME", cases[i].home, 1),
			    0);
		ck_assert_int_eq(tp_version_cache(dir, sizeof(dir), &e), TP_OK);
		ck_assert_str_eq(dir, cases[i].want);
	}
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", "/models", 1), 0);
	ck_assert_int_eq(tp_version_cache(tiny, sizeof(tiny), &e), TP_OK);
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", "/models/", 1), 0);
	ck_assert_int_eq(tp_version_cache(tiny, sizeof(tiny), &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "the model cache's folder is too long a name "
	    "(TABPIPE_MODEL_CACHE, TABPIPE_HOME)");
}
END_TEST

Suite *
version_suite(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("version");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_is_ref);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_find_without_at);
	tcase_add_test(tc, test_by_sha256);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_registered);
	tcase_add_test(tc, test_load_replaced);
	tcase_add_test(tc, test_cache_folder);
	suite_add_tcase(s, tc);
	return s;
}
