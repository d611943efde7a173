/*
 * test_history: a model version's history read from PostgreSQL as the
 * reader role: the version with its name, stage and training rows (the
 * data set's, or else the run's), every version with its validation AUC
 * and newest evaluation's AUC (an evaluation of the file's bytes that
 * names no version counting for it), the evaluations over time, the stage
 * changes with who and why, the training run's epochs, and a version that
 * does not exist. The rows are written with SQL, so that each value is
 * known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "report/history.h"
#include "suites.h"

/* Runs sql, which returns one value, and gives it as text to free. */
static char *
value(tp_db *db, const char *sql)
{
	char *v = fixture_value(db, sql, 0, NULL);
	ck_assert_ptr_nonnull(v);
	return v;
}

static const cJSON *
item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	ck_assert_msg(v != NULL, "no \"%s\"", key);
	return v;
}

START_TEST(test_history)
{
	tp_db *admin = fixture_db("history", "promote");
	tp_db *db = fixture_db_connect("history", "promote");
	char *run, *v1, *v2;
	cJSON *h = NULL;
	tp_err e = {0};

	run = value(admin, "INSERT INTO runs (tool, status, host, pid, version, "
	    "inputs, finished_at) VALUES ('train', 'finished', 'test', 1, 'test', "
	    "'{\"train_rows\": 500}', now()) RETURNING id");
	fixture_exec(admin, "INSERT INTO models (name) VALUES ('loans <&>')", 0,
	    NULL);
	const char *p[] = {run};
	v1 = fixture_value(admin, "INSERT INTO model_versions (model_id, "
	    "version, path, sha256, metrics, stage) SELECT id, 1, 'a', 'sha1', "
	    "'{\"valid_auc\": 0.7}', 'Archived' FROM models RETURNING id", 0,
	    NULL);
	v2 = fixture_value(admin, "INSERT INTO model_versions (model_id, "
	    "version, path, sha256, run_id, metrics, stage) SELECT id, 2, 'b', "
	    "'sha2', $1::bigint, '{\"valid_auc\": 0.75}', 'Production' FROM models "
	    "RETURNING id", 1, p);
	const char *q[] = {v1, v2, run};
	fixture_exec(admin, "INSERT INTO evaluations (run_id, version_id, "
	    "model_sha256, data_fingerprint, rows, metrics, created_at) VALUES "
	    "($3::bigint, $1::bigint, 'sha1', 'x', 10, '{\"auc\": 0.71}', "
	    "'2024-01-01'), ($3::bigint, $2::bigint, 'sha2', 'x', 10, "
	    "'{\"auc\": 0.74}', '2024-01-02'), ($3::bigint, NULL, 'sha2', 'x', 10, "
	    "'{\"auc\": 0.76}', '2024-01-03')", 3, q);
	fixture_exec(admin, "INSERT INTO stage_changes (version_id, from_stage, "
	    "to_stage, reason) VALUES ($1::bigint, 'None', 'Production', "
	    "'first'), ($2::bigint, 'None', 'Production', 'auc 0.74 > 0.71'), "
	    "($1::bigint, 'Production', 'Archived', 'replaced')", 2, q);
	fixture_exec(admin, "INSERT INTO epochs (run_id, epoch, metrics) VALUES "
	    "($1::bigint, 2, '{\"loss\": 0.5, \"valid_auc\": 0.75}'), "
	    "($1::bigint, 1, '{\"loss\": 0.6, \"valid_auc\": 0.7}')", 1, p);
	fixture_exec(db, "SET ROLE tabpipe_reader", 0, NULL);

	/* Without a data set of the fingerprint, the run's rows. */
	ck_assert_msg(tp_history_load(db, atoll(v2), "fp", &h, &e) == TP_OK,
	    "%s", e.msg);
	const cJSON *v = item(h, "version");
	ck_assert_str_eq(item(v, "name")->valuestring, "loans <&>");
	ck_assert_int_eq(item(v, "version")->valueint, 2);
	ck_assert_str_eq(item(v, "stage")->valuestring, "Production");
	ck_assert_int_eq(item(v, "rows")->valueint, 500);
	ck_assert(cJSON_IsString(item(v, "trained_by")));
	ck_assert_double_eq(item(item(v, "metrics"), "valid_auc")->valuedouble,
	    0.75);

	const cJSON *vs = item(h, "versions");
	ck_assert_int_eq(cJSON_GetArraySize(vs), 2);
	ck_assert_int_eq(item(cJSON_GetArrayItem(vs, 0), "version")->valueint, 1);
	ck_assert_double_eq(item(cJSON_GetArrayItem(vs, 0),
	    "eval_auc")->valuedouble, 0.71);
	ck_assert_double_eq(item(cJSON_GetArrayItem(vs, 1),
	    "eval_auc")->valuedouble, 0.76);
	ck_assert_double_eq(item(cJSON_GetArrayItem(vs, 1),
	    "valid_auc")->valuedouble, 0.75);

	const cJSON *ev = item(h, "evaluations");
	ck_assert_int_eq(cJSON_GetArraySize(ev), 3);
	ck_assert_double_eq(item(cJSON_GetArrayItem(ev, 2), "auc")->valuedouble,
	    0.76);
	ck_assert_int_eq(item(cJSON_GetArrayItem(ev, 2), "version")->valueint, 2);
	const char *when = item(cJSON_GetArrayItem(ev, 0), "created")->valuestring;
	ck_assert_msg(strlen(when) == 20 && when[10] == 'T' && when[19] == 'Z',
	    "%s is not a UTC time", when);

	const cJSON *ch = item(h, "changes");
	ck_assert_int_eq(cJSON_GetArraySize(ch), 3);
	ck_assert_str_eq(item(cJSON_GetArrayItem(ch, 1), "reason")->valuestring,
	    "auc 0.74 > 0.71");
	ck_assert_str_eq(item(cJSON_GetArrayItem(ch, 2), "to")->valuestring,
	    "Archived");
	ck_assert_int_eq(item(cJSON_GetArrayItem(ch, 2), "version")->valueint, 1);
	ck_assert_ptr_nonnull(item(cJSON_GetArrayItem(ch, 0), "user")->valuestring);

	const cJSON *ep = item(h, "epochs");
	ck_assert_int_eq(cJSON_GetArraySize(ep), 2);
	ck_assert_int_eq(item(cJSON_GetArrayItem(ep, 0), "epoch")->valueint, 1);
	ck_assert_double_eq(item(cJSON_GetArrayItem(ep, 1), "loss")->valuedouble,
	    0.5);
	cJSON_Delete(h);

	/* With the data set of the fingerprint: its rows. */
	fixture_exec(admin, "INSERT INTO datasets (source, fingerprint, "
	    "encoding, rows) VALUES ('s', 'fp', 'enc', 480)", 0, NULL);
	ck_assert_int_eq(tp_history_load(db, atoll(v2), "fp", &h, &e), TP_OK);
	ck_assert_int_eq(item(item(h, "version"), "rows")->valueint, 480);
	cJSON_Delete(h);

	/* Version 1 has no run: no rows, no epochs. */
	ck_assert_int_eq(tp_history_load(db, atoll(v1), NULL, &h, &e), TP_OK);
	ck_assert(cJSON_IsNull(item(item(h, "version"), "rows")));
	ck_assert_int_eq(cJSON_GetArraySize(item(h, "epochs")), 0);
	ck_assert_int_eq(cJSON_GetArraySize(item(h, "versions")), 2);
	cJSON_Delete(h);

	ck_assert_int_eq(tp_history_load(db, 999999, NULL, &h, &e), TP_ENOINPUT);
	ck_assert_ptr_null(h);
	ck_assert_ptr_nonnull(strstr(e.msg, "999999"));
	free(run);
	free(v1);
	free(v2);
	tp_db_close(db);
	tp_db_close(admin);
}
END_TEST

Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_history);
	suite_add_tcase(s, tc);
	return s;
}
