/*
 * test_registry: promotions and rollbacks against PostgreSQL, run as the
 * promoter role: gates that pass and that fail (a value, a metric missing,
 * no evaluation), the champion rule (on the same data, either way a metric
 * is better), a file replaced since it was registered (refused where the
 * database has not kept the version's bytes), what the decision
 * and the audit log say, rollbacks back and forth and the ones refused, a
 * role without the right refused, and the listings read back. A version's
 * file is any file (its SHA-256 is what is checked) and evaluations are
 * written with SQL, so that the metrics are exactly the ones each check
 * needs; racing promotions are tests/e2e/test_promote.sh's. The epochs of
 * a version, from its run and from its file's history, and two versions
 * compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "fixture.h"
#include "model/modelfile.h"
#include "registry/gate.h"
#include "registry/registry.h"
#include "registry/version.h"
#include "suites.h"

enum { MAX_FILES = 8 };

/* The database twice: admin writes what a test needs as the superuser,
 * db promotes as the promoter role; and the files of the versions. */
typedef struct {
	tp_db *admin, *db;
	char files[MAX_FILES][32];
	int nfiles;
} registry;

static void
registry_open(registry *r)
{
	memset(r, 0, sizeof(*r));
	r->admin = fixture_db("registry", "promote");
	r->db = fixture_db_connect("registry", "promote");
	fixture_exec(r->db, "SET ROLE tabpipe_promoter", 0, NULL);
}

static void
registry_close(registry *r)
{
	for (int i = 0; i < r->nfiles; i++)
		unlink(r->files[i]);
	tp_db_close(r->db);
	tp_db_close(r->admin);
}

/* A new file of r's, removed at the end, open in *fd; its name. */
static char *
new_file(registry *r, int *fd)
{
	char *path;

	ck_assert_int_lt(r->nfiles, MAX_FILES);
	path = r->files[r->nfiles++];
	snprintf(path, sizeof(r->files[0]), "/tmp/tabpipe-registry-XXXXXX");
	*fd = mkstemp(path);
	ck_assert_int_ne(*fd, -1);
	return path;
}

/* Registers a new file, holding text, as version want of name (the next
 * one); returns the file's name. */
static const char *
version(registry *r, const char *name, const char *text, int want)
{
	char *path, sha[65];
	tp_err e = {0};
	int fd, v = 0;

	path = new_file(r, &fd);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_msg(tp_file_sha256(path, sha, &e) == TP_OK, "%s", e.msg);
	ck_assert_msg(tp_version_register(r->admin, name, path, sha, 0, NULL,
	    &v, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(v, want);
	return path;
}

/* An evaluation of version v of name on data, with metrics (JSON); returns
 * its id, to free. */
static char *
evaluate(registry *r, const char *name, int v, const char *data,
    const char *metrics)
{
	char vs[16];
	const char *p[] = {name, vs, data, metrics};

	snprintf(vs, sizeof(vs), "%d", v);
	return fixture_value(r->admin, "WITH r AS (INSERT INTO runs (tool, "
	    "status, host, pid, version, finished_at) VALUES ('evaluate', "
	    "'finished', 'test', 1, 'test', now()) RETURNING id) "
	    "INSERT INTO evaluations (run_id, version_id, model_sha256, "
	    "data_fingerprint, rows, metrics) SELECT r.id, v.id, v.sha256, $3, "
	    "100, $4::jsonb FROM r, model_versions v JOIN models m ON "
	    "m.id = v.model_id WHERE m.name = $1 AND v.version = $2 "
	    "RETURNING id", 4, p);
}

/* Makes version v of name one registered before the database kept the
 * bytes of versions (migration 4): it has its file alone. */
static void
forget_bytes(registry *r, const char *name, int v)
{
	char vs[16];
	const char *p[] = {name, vs};

	snprintf(vs, sizeof(vs), "%d", v);
	fixture_exec(r->admin, "UPDATE model_versions SET blob = NULL WHERE "
	    "version = $2 AND model_id = (SELECT id FROM models WHERE name = "
	    "$1)", 2, p);
}

/* The stages of name's versions, "1:Production,2:None". */
static void
stages_are(registry *r, const char *name, const char *want)
{
	const char *p[] = {name};

	fixture_value_is(r->admin, "SELECT string_agg(v.version || ':' || "
	    "v.stage, ',' ORDER BY v.version) FROM model_versions v JOIN "
	    "models m ON m.id = v.model_id WHERE m.name = $1", 1, p, want);
}

/* The stage changes of name, "1:None>Production,...", oldest first. */
static void
audit_is(registry *r, const char *name, const char *want)
{
	const char *p[] = {name};

	fixture_value_is(r->admin, "SELECT string_agg(v.version || ':' || "
	    "c.from_stage || '>' || c.to_stage, ',' ORDER BY c.id) FROM "
	    "stage_changes c JOIN model_versions v ON v.id = c.version_id JOIN "
	    "models m ON m.id = v.model_id WHERE m.name = $1", 1, p, want);
}

/* The reason of the newest stage change of name. */
static char *
last_reason(registry *r, const char *name)
{
	const char *p[] = {name};

	return fixture_value(r->admin, "SELECT c.reason FROM stage_changes c "
	    "JOIN model_versions v ON v.id = c.version_id JOIN models m ON "
	    "m.id = v.model_id WHERE m.name = $1 ORDER BY c.id DESC LIMIT 1", 1,
	    p);
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsString(v), "no string \"%s\"", key);
	return v->valuestring;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "no number \"%s\"", key);
	return v->valuedouble;
}

static int
yes(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsBool(v), "no boolean \"%s\"", key);
	return cJSON_IsTrue(v);
}

/* Whether s holds part. */
static void
has(const char *s, const char *part)
{
	ck_assert_msg(s != NULL && strstr(s, part) != NULL,
	    "\"%s\" lacks \"%s\"", s ? s : "(null)", part);
}

/* Promotes version v of name with the gates (NULL-terminated texts). */
static int
promote(registry *r, const char *name, int v, int staging,
    const char *const *gates, const char *metric, double margin,
    const char *reason, cJSON **decision, tp_err *e)
{
	tp_gate g[4];
	int n = 0;

	for (; gates != NULL && gates[n] != NULL; n++) {
		ck_assert_int_lt(n, 4);
		ck_assert_int_eq(tp_gate_parse(gates[n], &g[n], e), TP_OK);
	}
	tp_promotion p = {.name = name, .version = v, .staging = staging,
	    .gates = g, .ngates = n, .metric = metric ? metric : "auc",
	    .margin = margin, .reason = reason};
	memset(e, 0, sizeof(*e));
	return tp_registry_promote(r->db, &p, decision, e);
}

START_TEST(test_promote_gates)
{
	static const char *const gates[] = {"auc>=0.7", "log_loss<0.6", NULL};
	static const char *const auc[] = {"auc>=0.7", NULL};
	static const char *const brier[] = {"brier<=0.25", NULL};
	registry r;
	cJSON *d;
	tp_err e;
	char *ev, *reason, want[256];

	registry_open(&r);
	version(&r, "loans", "1", 1);
	version(&r, "loans", "2", 2);
	version(&r, "loans", "3", 3);
	ev = evaluate(&r, "loans", 1, "d1", "{\"auc\":0.8,\"log_loss\":0.5}");
	free(evaluate(&r, "loans", 2, "d1", "{\"auc\":0.65,\"log_loss\":0.5}"));

	/* Every gate passes: promoted, with no champion to beat. */
	ck_assert_msg(promote(&r, "loans", 1, 0, gates, NULL, 0, NULL, &d,
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(str(d, "model"), "loans");
	ck_assert_int_eq(num(d, "version"), 1);
	ck_assert_str_eq(str(d, "from"), "None");
	ck_assert_str_eq(str(d, "to"), "Production");
	ck_assert_int_eq(yes(d, "promoted"), 1);
	snprintf(want, sizeof(want), "gate auc>=0.7 passed (auc 0.8); gate "
	    "log_loss<0.6 passed (log_loss 0.5); no champion; evaluation %s",
	    ev);
	ck_assert_str_eq(str(d, "reason"), want);
	ck_assert_int_eq(num(cJSON_GetObjectItem(d, "evaluation"), "id"),
	    atoi(ev));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "gates")),
	    2);
	ck_assert_int_eq(yes(cJSON_GetArrayItem(cJSON_GetObjectItem(d,
	    "gates"), 1), "passed"), 1);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "champion")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "changes")),
	    1);
	stages_are(&r, "loans", "1:Production,2:None,3:None");
	audit_is(&r, "loans", "1:None>Production");
	reason = last_reason(&r, "loans");
	ck_assert_str_eq(reason, want);
	free(reason);
	cJSON_Delete(d);

	/* A gate fails: not promoted, nothing changed, the why said. */
	ck_assert_int_eq(promote(&r, "loans", 2, 1, auc, NULL, 0, NULL, &d, &e),
	    TP_NO);
	ck_assert_str_eq(e.msg, "loans version 2 not promoted to Staging: gate "
	    "auc>=0.7 failed (auc 0.65)");
	ck_assert_int_eq(yes(d, "promoted"), 0);
	ck_assert_str_eq(str(d, "to"), "Staging");
	ck_assert_str_eq(str(d, "reason"), "gate auc>=0.7 failed (auc 0.65)");
	ck_assert_int_eq(yes(cJSON_GetArrayItem(cJSON_GetObjectItem(d,
	    "gates"), 0), "passed"), 0);
	cJSON_Delete(d);
	/* A metric the evaluation lacks; a version never evaluated. */
	ck_assert_int_eq(promote(&r, "loans", 2, 1, brier, NULL, 0, NULL, &d,
	    &e), TP_NO);
	has(e.msg, "gate brier<=0.25 failed: evaluation ");
	has(e.msg, " has no brier");
	cJSON_Delete(d);
	ck_assert_int_eq(promote(&r, "loans", 3, 1, auc, NULL, 0, NULL, &d, &e),
	    TP_NO);
	ck_assert_str_eq(e.msg, "loans version 3 not promoted to Staging: "
	    "version 3 has no evaluation: evaluate it before its gates can be "
	    "checked");
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Production,2:None,3:None");
	audit_is(&r, "loans", "1:None>Production");

	/* No gates, a reason given: to Staging. */
	ck_assert_msg(promote(&r, "loans", 2, 1, NULL, NULL, 0, "by hand", &d,
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(str(d, "reason"), "by hand");
	cJSON_Delete(d);
	reason = last_reason(&r, "loans");
	ck_assert_str_eq(reason, "by hand");
	free(reason);
	stages_are(&r, "loans", "1:Production,2:Staging,3:None");

	/* Moves that are no moves. */
	ck_assert_int_eq(promote(&r, "loans", 2, 1, NULL, NULL, 0, NULL, &d,
	    &e), TP_NO);
	has(e.msg, "version 2 is already in Staging");
	cJSON_Delete(d);
	ck_assert_int_eq(promote(&r, "loans", 1, 1, NULL, NULL, 0, NULL, &d,
	    &e), TP_NO);
	has(e.msg, "version 1 is in Production: a move to Staging would leave "
	    "the model without one");
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Production,2:Staging,3:None");
	audit_is(&r, "loans", "1:None>Production,2:None>Staging");

	/* Nothing to promote. */
	ck_assert_int_eq(promote(&r, "loans", 9, 0, NULL, NULL, 0, NULL, &d,
	    &e), TP_ENOINPUT);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(promote(&r, "nosuch", 1, 0, NULL, NULL, 0, NULL, &d,
	    &e), TP_ENOINPUT);
	ck_assert_str_eq(e.msg, "no model named \"nosuch\" in the registry");
	ck_assert_ptr_null(d);
	free(ev);
	registry_close(&r);
}
END_TEST

START_TEST(test_promote_champion)
{
	registry r;
	cJSON *d, *champ;
	tp_err e;
	char *ev, *reason, want[512];
	const char *file;

	registry_open(&r);
	for (int v = 1; v <= 4; v++) {
		char text[16];

		snprintf(text, sizeof(text), "%d", v);
		file = version(&r, "loans", text, v);
	}
	free(evaluate(&r, "loans", 1, "d1", "{\"auc\":0.8,\"log_loss\":0.5}"));
	ck_assert_msg(promote(&r, "loans", 1, 0, NULL, NULL, 0, NULL, &d, &e) ==
	    TP_OK, "%s", e.msg);
	cJSON_Delete(d);

	/* Better, but not by the margin. */
	ev = evaluate(&r, "loans", 2, "d1", "{\"auc\":0.805}");
	ck_assert_int_eq(promote(&r, "loans", 2, 0, NULL, "auc", 0.01, NULL, &d,
	    &e), TP_NO);
	snprintf(want, sizeof(want), "loans version 2 not promoted to "
	    "Production: auc 0.805 against 0.8 of the champion, version 1: not "
	    "better by more than 0.01");
	ck_assert_str_eq(e.msg, want);
	champ = cJSON_GetObjectItem(d, "champion");
	ck_assert_int_eq(num(champ, "version"), 1);
	ck_assert_int_eq(yes(champ, "passed"), 0);
	cJSON_Delete(d);
	free(ev);

	/* Evaluated on other data than the champion. */
	ev = evaluate(&r, "loans", 3, "d2", "{\"auc\":0.9}");
	ck_assert_int_eq(promote(&r, "loans", 3, 0, NULL, "auc", 0.01, NULL, &d,
	    &e), TP_NO);
	snprintf(want, sizeof(want), "the champion, version 1, has no "
	    "evaluation on the data of the candidate's evaluation %s (data "
	    "fingerprint d2): evaluate version 1 on the same data", ev);
	has(e.msg, want);
	cJSON_Delete(d);
	free(ev);
	stages_are(&r, "loans", "1:Production,2:None,3:None,4:None");

	/* Its newest evaluation is on the champion's data, and better: the
	 * champion is archived. */
	free(evaluate(&r, "loans", 3, "d1", "{\"auc\":0.85,\"log_loss\":0.5}"));
	ck_assert_msg(promote(&r, "loans", 3, 0, NULL, "auc", 0.01, NULL, &d,
	    &e) == TP_OK, "%s", e.msg);
	champ = cJSON_GetObjectItem(d, "champion");
	ck_assert_int_eq(yes(champ, "passed"), 1);
	ck_assert_double_eq_tol(num(champ, "value"), 0.8, 1e-12);
	ck_assert_double_eq_tol(num(champ, "candidate"), 0.85, 1e-12);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "changes")),
	    2);
	has(str(d, "reason"), "auc 0.85 against 0.8 of the champion, version "
	    "1: better by more than 0.01");
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Archived,2:None,3:Production,4:None");
	audit_is(&r, "loans",
	    "1:None>Production,1:Production>Archived,3:None>Production");
	const char *p[] = {"loans"};
	reason = fixture_value(r.admin, "SELECT c.reason FROM stage_changes c "
	    "JOIN model_versions v ON v.id = c.version_id WHERE v.version = 1 "
	    "AND c.to_stage = 'Archived' AND v.model_id = (SELECT id FROM "
	    "models WHERE name = $1)", 1, p);
	has(reason, "replaced by version 3: ");
	free(reason);

	/* Lower is better for log_loss. */
	free(evaluate(&r, "loans", 4, "d1", "{\"auc\":0.5,\"log_loss\":0.45}"));
	ck_assert_int_eq(promote(&r, "loans", 4, 0, NULL, "auc", 0, NULL, &d,
	    &e), TP_NO);
	cJSON_Delete(d);
	ck_assert_msg(promote(&r, "loans", 4, 0, NULL, "log_loss", 0.01, NULL,
	    &d, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(yes(cJSON_GetObjectItem(d, "champion"),
	    "lower_is_better"), 1);
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Archived,2:None,3:Archived,4:Production");

	/* A file replaced since it was registered: the database's bytes are
	 * the version; where it has none, it is not promoted. */
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not 4", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(promote(&r, "loans", 4, 1, NULL, NULL, 0, NULL, &d,
	    &e), TP_NO);
	has(e.msg, "version 4 is in Production");
	cJSON_Delete(d);
	forget_bytes(&r, "loans", 4);
	ck_assert_int_eq(promote(&r, "loans", 4, 1, NULL, NULL, 0, NULL, &d,
	    &e), TP_EDATA);
	has(e.msg, "its SHA-256 differs");
	ck_assert_ptr_null(d);
	stages_are(&r, "loans", "1:Archived,2:None,3:Archived,4:Production");
	registry_close(&r);
}
END_TEST

/* Rolls name back. */
static int
rollback(registry *r, const char *name, cJSON **d, tp_err *e)
{
	memset(e, 0, sizeof(*e));
	return tp_registry_rollback(r->db, name, NULL, d, e);
}

START_TEST(test_rollback)
{
	registry r;
	cJSON *d;
	tp_err e;
	const char *two;

	registry_open(&r);
	version(&r, "loans", "1", 1);
	two = version(&r, "loans", "2", 2);
	version(&r, "loans", "3", 3);
	version(&r, "other", "o", 1);
	version(&r, "solo", "s", 1);
	free(evaluate(&r, "loans", 1, "d1", "{\"auc\":0.7}"));
	free(evaluate(&r, "loans", 2, "d1", "{\"auc\":0.8}"));
	free(evaluate(&r, "loans", 3, "d1", "{\"auc\":0.9}"));

	/* Nothing to roll back, nothing to go back to, no such model. */
	ck_assert_int_eq(rollback(&r, "other", &d, &e), TP_NO);
	ck_assert_str_eq(e.msg, "other not rolled back: other has no "
	    "Production version to roll back");
	ck_assert_int_eq(yes(d, "promoted"), 0);
	ck_assert_int_eq(yes(d, "rollback"), 1);
	cJSON_Delete(d);
	ck_assert_msg(promote(&r, "solo", 1, 0, NULL, NULL, 0, NULL, &d, &e) ==
	    TP_OK, "%s", e.msg);
	cJSON_Delete(d);
	ck_assert_int_eq(rollback(&r, "solo", &d, &e), TP_NO);
	ck_assert_str_eq(e.msg, "solo not rolled back: solo has no archived "
	    "former Production version to go back to");
	cJSON_Delete(d);
	stages_are(&r, "solo", "1:Production");
	ck_assert_int_eq(rollback(&r, "nosuch", &d, &e), TP_ENOINPUT);
	ck_assert_ptr_null(d);

	/* Back to the version Production was taken from last (2, not 1),
	 * and then back again. */
	for (int v = 1; v <= 3; v++) {
		ck_assert_msg(promote(&r, "loans", v, 0, NULL, "auc", 0, NULL,
		    &d, &e) == TP_OK, "%s", e.msg);
		cJSON_Delete(d);
	}
	stages_are(&r, "loans", "1:Archived,2:Archived,3:Production");
	ck_assert_msg(rollback(&r, "loans", &d, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(yes(d, "promoted"), 1);
	ck_assert_int_eq(yes(d, "rollback"), 1);
	ck_assert_int_eq(num(d, "version"), 2);
	ck_assert_int_eq(num(d, "replaced"), 3);
	ck_assert_str_eq(str(d, "reason"),
	    "rollback from version 3 to version 2");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "changes")),
	    2);
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Archived,2:Production,3:Archived");
	audit_is(&r, "loans", "1:None>Production,1:Production>Archived,"
	    "2:None>Production,2:Production>Archived,3:None>Production,"
	    "3:Production>Archived,2:Archived>Production");
	ck_assert_msg(rollback(&r, "loans", &d, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(num(d, "version"), 3);
	ck_assert_int_eq(num(d, "replaced"), 2);
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Archived,2:Archived,3:Production");

	/* The version to go back to has another file now, and the database
	 * has not kept its bytes: nothing moves. */
	forget_bytes(&r, "loans", 2);
	FILE *f = fopen(two, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not 2", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rollback(&r, "loans", &d, &e), TP_EDATA);
	has(e.msg, "loans@2: ");
	has(e.msg, "its SHA-256 differs");
	ck_assert_ptr_null(d);
	stages_are(&r, "loans", "1:Archived,2:Archived,3:Production");
	audit_is(&r, "loans", "1:None>Production,1:Production>Archived,"
	    "2:None>Production,2:Production>Archived,3:None>Production,"
	    "3:Production>Archived,2:Archived>Production,"
	    "2:Production>Archived,3:Archived>Production");
	registry_close(&r);
}
END_TEST

START_TEST(test_rights)
{
	registry r;
	cJSON *d;
	tp_err e;

	/* The trainer registers versions but may not change their stages. */
	registry_open(&r);
	version(&r, "loans", "1", 1);
	fixture_exec(r.db, "RESET ROLE", 0, NULL);
	fixture_exec(r.db, "SET ROLE tabpipe_trainer", 0, NULL);
	ck_assert_int_eq(promote(&r, "loans", 1, 0, NULL, NULL, 0, NULL, &d,
	    &e), TP_ENOPERM);
	has(e.msg, "permission denied");
	ck_assert_ptr_null(d);
	ck_assert_int_eq(rollback(&r, "loans", &d, &e), TP_ENOPERM);
	ck_assert_ptr_null(d);
	stages_are(&r, "loans", "1:None");
	audit_is(&r, "loans", NULL);
	/* The connection is usable after the refusals. */
	fixture_exec(r.db, "RESET ROLE", 0, NULL);
	fixture_exec(r.db, "SET ROLE tabpipe_promoter", 0, NULL);
	ck_assert_msg(promote(&r, "loans", 1, 0, NULL, NULL, 0, NULL, &d, &e) ==
	    TP_OK, "%s", e.msg);
	cJSON_Delete(d);
	stages_are(&r, "loans", "1:Production");
	registry_close(&r);
}
END_TEST

START_TEST(test_listings)
{
	registry r;
	cJSON *rows, *row, *d;
	tp_err e;
	char *ev;

	registry_open(&r);
	version(&r, "loans", "1", 1);
	version(&r, "loans", "2", 2);
	version(&r, "other", "o", 1);
	ev = evaluate(&r, "loans", 2, "d1", "{\"auc\":0.75,\"f1\":0.5}");
	ck_assert_msg(promote(&r, "loans", 2, 0, NULL, NULL, 0, "first", &d,
	    &e) == TP_OK, "%s", e.msg);
	cJSON_Delete(d);

	ck_assert_int_eq(tp_registry_models(r.db, &rows, &e), TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 2);
	row = cJSON_GetArrayItem(rows, 0);
	ck_assert_str_eq(str(row, "name"), "loans");
	ck_assert_int_eq(num(row, "versions"), 2);
	ck_assert_int_eq(num(row, "production"), 2);
	ck_assert_int_eq(num(row, "latest"), 2);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1),
	    "production")));
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_versions(r.db, "loans", &rows, &e), TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 2);
	row = cJSON_GetArrayItem(rows, 1);
	ck_assert_int_eq(num(row, "version"), 2);
	ck_assert_str_eq(str(row, "stage"), "Production");
	ck_assert_int_eq(num(row, "evaluation"), atoi(ev));
	ck_assert_double_eq_tol(num(row, "eval_auc"), 0.75, 1e-12);
	ck_assert_str_eq(str(row, "path"), r.files[1]);
	ck_assert(yes(row, "stored"));
	cJSON_Delete(rows);
	forget_bytes(&r, "loans", 2);
	ck_assert_int_eq(tp_registry_versions(r.db, "loans", &rows, &e), TP_OK);
	ck_assert(!yes(cJSON_GetArrayItem(rows, 1), "stored"));
	ck_assert(yes(cJSON_GetArrayItem(rows, 0), "stored"));
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_evaluations(r.db, "loans", &rows, &e),
	    TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(rows, 0), "data"), "d1");
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_audit(r.db, "loans", &rows, &e), TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	row = cJSON_GetArrayItem(rows, 0);
	ck_assert_str_eq(str(row, "from"), "None");
	ck_assert_str_eq(str(row, "to"), "Production");
	ck_assert_str_eq(str(row, "reason"), "first");
	ck_assert_str_eq(str(row, "user"), "tabpipe_promoter");
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_runs(r.db, "evaluate", 10, &rows, &e),
	    TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	cJSON_Delete(rows);
	ck_assert_int_eq(tp_registry_runs(r.db, "train", 10, &rows, &e), TP_OK);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 0);
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_versions(r.db, "nosuch", &rows, &e),
	    TP_ENOINPUT);
	ck_assert_ptr_null(rows);
	ck_assert_int_eq(tp_registry_evaluations(r.db, "nosuch", &rows, &e),
	    TP_ENOINPUT);
	ck_assert_int_eq(tp_registry_audit(r.db, "nosuch", &rows, &e),
	    TP_ENOINPUT);
	free(ev);
	registry_close(&r);
}
END_TEST

/* A run of train with params (JSON); its id, to free. */
static char *
train_run(registry *r, const char *params)
{
	const char *p[] = {params};

	return fixture_value(r->admin, "INSERT INTO runs (tool, status, host, "
	    "pid, version, finished_at, params) VALUES ('train', 'finished', "
	    "'test', 1, 'test', now(), $1::jsonb) RETURNING id", 1, p);
}

/* Epoch n of run, recorded as the tools record it. */
static void
run_epoch(registry *r, const char *run, const char *n, const char *metrics)
{
	const char *p[] = {run, n, metrics};

	fixture_exec(r->admin, "INSERT INTO epochs (run_id, epoch, metrics) "
	    "VALUES ($1, $2, $3::jsonb)", 3, p);
}

/* A model file with history (NULL: none), registered as version want of
 * name from run (NULL: none) with metrics (JSON); returns its name. */
static const char *
trained(registry *r, const char *name, const char *history, const char *run,
    const char *metrics, int want)
{
	tp_config cfg = {.layers = 1, .d_model = 8, .heads = 2, .d_ff = 16,
	    .head_hidden = 8, .proj_dim = 8, .dropout = 0.1f};
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_HEAD,
	    .history = (char *)history};
	tp_encoding enc;
	tp_model m;
	cJSON *mj = cJSON_Parse(metrics);
	char *path, sha[65];
	tp_err e = {0};
	int fd, v = 0;

	path = new_file(r, &fd);
	close(fd);
	fixture_model_encoding(&enc);
	ck_assert_msg(tp_model_init(&m, &cfg, &enc, 1, 1, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_msg(tp_model_save(path, &m, &enc, &meta, &e) == TP_OK, "%s",
	    e.msg);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	ck_assert_msg(tp_file_sha256(path, sha, &e) == TP_OK, "%s", e.msg);
	ck_assert_msg(tp_version_register(r->admin, name, path, sha,
	    run ? atoll(run) : 0, mj, &v, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(v, want);
	cJSON_Delete(mj);
	return path;
}

/* The epochs of ref as "epoch:source,...". */
static void
epochs_are(registry *r, const char *ref, const char *want)
{
	cJSON *rows, *row;
	char got[256] = "";
	tp_err e = {0};

	ck_assert_msg(tp_registry_epochs(r->db, ref, &rows, &e) == TP_OK, "%s",
	    e.msg);
	cJSON_ArrayForEach(row, rows)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d:%s",
		    *got ? "," : "", (int)num(row, "epoch"), str(row, "source"));
	ck_assert_str_eq(got, want);
	cJSON_Delete(rows);
}

/* A resumed run records the epochs it ran, its file's history holds them
 * all: the run's rows, with their times, and the file's for the others;
 * a version of no run has its file's; a file of no history, none. */
START_TEST(test_epochs)
{
	registry r;
	cJSON *rows, *row;
	tp_err e = {0};
	char *run;
	const char *file;

	registry_open(&r);
	run = train_run(&r, "{}");
	run_epoch(&r, run, "2", "{\"loss\":0.5,\"valid_auc\":0.7,"
	    "\"valid_log_loss\":0.45,\"best\":true,\"rows_per_s\":1000,"
	    "\"seconds\":1.5}");
	run_epoch(&r, run, "3", "{\"loss\":0.4,\"valid_auc\":0.69,"
	    "\"valid_log_loss\":0.46,\"best\":false,\"rows_per_s\":900,"
	    "\"seconds\":1.6}");
	file = trained(&r, "loans", "[{\"epoch\":1,\"loss\":0.6,"
	    "\"valid_auc\":0.65,\"valid_loss\":0.5,\"best\":true},"
	    "{\"epoch\":2,\"loss\":0.51},{\"epoch\":3,\"loss\":0.41}]", run,
	    "{}", 1);
	trained(&r, "loans", "[{\"epoch\":1,\"loss\":0.7}]", NULL, "{}", 2);
	trained(&r, "loans", NULL, NULL, "{}", 3);

	ck_assert_msg(tp_registry_epochs(r.db, "loans@1", &rows, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 3);
	row = cJSON_GetArrayItem(rows, 0);
	ck_assert_str_eq(str(row, "source"), "file");
	ck_assert_double_eq(num(row, "loss"), 0.6);
	ck_assert_double_eq(num(row, "valid_loss"), 0.5);
	ck_assert(yes(row, "best"));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(row, "seconds")));
	/* The run's row of an epoch both have: the times are the run's. */
	row = cJSON_GetArrayItem(rows, 1);
	ck_assert_str_eq(str(row, "source"), "database");
	ck_assert_double_eq(num(row, "loss"), 0.5);
	ck_assert_double_eq(num(row, "valid_loss"), 0.45);
	ck_assert_double_eq(num(row, "seconds"), 1.5);
	ck_assert_double_eq(num(row, "rows_per_s"), 1000);
	cJSON_Delete(rows);
	epochs_are(&r, "loans@2", "1:file");
	epochs_are(&r, "loans@3", "");
	epochs_are(&r, "loans@latest", "");

	/* A file gone: its history from the bytes the database kept,
	 * through the model cache. */
	char cache[] = "/tmp/tabpipe-cache-XXXXXX", cached[128], sha[65];
	ck_assert_ptr_nonnull(mkdtemp(cache));
	ck_assert_int_eq(setenv("TABPIPE_MODEL_CACHE", cache, 1), 0);
	ck_assert_msg(tp_file_sha256(file, sha, &e) == TP_OK, "%s", e.msg);
	snprintf(cached, sizeof(cached), "%s/%s", cache, sha);
	unlink(file);
	epochs_are(&r, "loans@1", "1:file,2:database,3:database");
	ck_assert_int_eq(unlink(cached), 0);
	ck_assert_int_eq(rmdir(cache), 0);

	/* Gone or changed, and the database without its bytes: the run's
	 * epochs alone, or, when the run has none, the error. */
	forget_bytes(&r, "loans", 1);
	forget_bytes(&r, "loans", 2);
	epochs_are(&r, "loans@1", "2:database,3:database");
	ck_assert_int_eq(truncate(r.files[1], 10), 0);
	ck_assert_int_eq(tp_registry_epochs(r.db, "loans@2", &rows, &e),
	    TP_EDATA);
	ck_assert_ptr_null(rows);
	has(e.msg, "is not the file registered as version 2");
	unlink(r.files[1]);
	ck_assert_int_eq(tp_registry_epochs(r.db, "loans@2", &rows, &e),
	    TP_ENOINPUT);
	has(e.msg, "loans@2 (version 2)");

	ck_assert_int_eq(tp_registry_epochs(r.db, "loans@9", &rows, &e),
	    TP_ENOINPUT);
	ck_assert_int_eq(tp_registry_epochs(r.db, "loans", &rows, &e),
	    TP_EUSAGE);
	ck_assert_ptr_null(rows);
	free(run);
	registry_close(&r);
}
END_TEST

/* The row of section and name of a comparison. */
static const cJSON *
compared(const cJSON *rows, const char *section, const char *name)
{
	const cJSON *row;

	cJSON_ArrayForEach(row, rows)
		if (strcmp(str(row, "section"), section) == 0 &&
		    strcmp(str(row, "name"), name) == 0)
			return row;
	ck_abort_msg("no row %s %s", section, name);
	return NULL;
}

static int
null(const cJSON *row, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(row, key));
}

/* Two versions side by side: the differences of numbers that measure,
 * none of ids, of texts or where one side has nothing; an evaluation's
 * objects are their members and its curves are left out. */
START_TEST(test_compare)
{
	registry r;
	cJSON *rows;
	const cJSON *row;
	tp_err e = {0};
	char *ra, *rb, *ev[2];

	registry_open(&r);
	ra = train_run(&r, "{\"lr\":0.001,\"seed\":1}");
	rb = train_run(&r, "{\"lr\":0.002,\"seed\":1,\"balanced\":true}");
	trained(&r, "loans", "[]", ra, "{\"valid_auc\":0.7}", 1);
	trained(&r, "loans", "[]", rb, "{\"valid_auc\":0.74,\"epochs\":3}", 2);
	ev[0] = evaluate(&r, "loans", 1, "d1", "{\"auc\":0.71,\"confusion\":"
	    "{\"tp\":5,\"fp\":1},\"roc\":[{\"fpr\":0,\"tpr\":0}]}");
	ev[1] = evaluate(&r, "loans", 2, "d1", "{\"auc\":0.76,\"confusion\":"
	    "{\"tp\":7,\"fp\":1}}");

	ck_assert_msg(tp_registry_compare(r.db, "loans@1", "loans@latest",
	    &rows, &e) == TP_OK, "%s", e.msg);
	row = compared(rows, "version", "version");
	ck_assert_int_eq(num(row, "a"), 1);
	ck_assert_int_eq(num(row, "b"), 2);
	ck_assert(null(row, "difference"));
	ck_assert_str_eq(str(compared(rows, "version", "model"), "b"), "loans");
	row = compared(rows, "param", "lr");
	ck_assert_double_eq(num(row, "difference"), 0.001);
	ck_assert_double_eq(num(compared(rows, "param", "seed"), "difference"),
	    0);
	row = compared(rows, "param", "balanced");
	ck_assert(null(row, "a"));
	ck_assert(yes(row, "b"));
	ck_assert(null(row, "difference"));
	ck_assert_double_eq(num(compared(rows, "metric", "valid_auc"),
	    "difference"), 0.04);
	ck_assert(null(compared(rows, "metric", "epochs"), "a"));
	row = compared(rows, "evaluation", "id");
	ck_assert_int_eq(num(row, "a"), atoi(ev[0]));
	ck_assert(null(row, "difference"));
	ck_assert_str_eq(str(compared(rows, "evaluation", "data"), "a"), "d1");
	ck_assert_double_eq(num(compared(rows, "evaluation", "auc"),
	    "difference"), 0.05);
	ck_assert_double_eq(num(compared(rows, "evaluation", "confusion.tp"),
	    "difference"), 2);
	ck_assert_double_eq(num(compared(rows, "evaluation", "confusion.fp"),
	    "difference"), 0);
	cJSON_ArrayForEach(row, rows)
		ck_assert_str_ne(str(row, "name"), "roc");
	cJSON_Delete(rows);

	ck_assert_int_eq(tp_registry_compare(r.db, "loans@1", "loans@3", &rows,
	    &e), TP_ENOINPUT);
	ck_assert_ptr_null(rows);
	has(e.msg, "loans@3");
	ck_assert_int_eq(tp_registry_compare(r.db, "nosuch@1", "loans@1",
	    &rows, &e), TP_ENOINPUT);
	free(ra);
	free(rb);
	free(ev[0]);
	free(ev[1]);
	registry_close(&r);
}
END_TEST

Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_promote_gates);
	tcase_add_test(tc, test_promote_champion);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_rights);
	tcase_add_test(tc, test_listings);
	tcase_add_test(tc, test_epochs);
	tcase_add_test(tc, test_compare);
	suite_add_tcase(s, tc);
	return s;
}
