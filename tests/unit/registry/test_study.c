/*
 * test_study: studies and their trials in PostgreSQL: a study made once
 * (a second maker finds the first's), its settings kept, its lock held by
 * one session at a time; trials added once, read by rung; a claim, taken
 * by one worker, refused while it lives and once the trial is finished;
 * results recorded only under the claim; claims of workers that are gone
 * (a process ended here, a stale heartbeat elsewhere) released, failed
 * trials retried on request, trials without a result given up; a train
 * run's validation AUC; the best model registered once, its file checked;
 * the study finished.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "fixture.h"
#include "registry/study.h"
#include "suites.h"

static tp_db *
open_db(void)
{
	return fixture_db("study", "tune");
}

static void
make_study(tp_db *db, const char *name, tp_study *s)
{
	cJSON *set = cJSON_Parse("{\"trials\": 4, \"seed\": \"1\", "
	    "\"dir\": \"/tmp\", \"models\": \"m\"}");
	tp_err e = {0};

	ck_assert_msg(tp_study_create(db, name, "halving", set, 0, s, &e) ==
	    TP_OK, "%s", e.msg);
	cJSON_Delete(set);
}

/* Adds trials numbered from `from` to `to`, of rung, with budget. */
static void
add_trials(tp_db *db, const tp_study *s, int from, int to, int rung,
    int budget)
{
	tp_trial t[16];
	tp_err e = {0};
	int n = 0;

	for (int k = from; k <= to; k++, n++) {
		char p[64];
		snprintf(p, sizeof(p), "{\"lr\": 0.00%d, \"d-model\": 8}", k);
		t[n] = (tp_trial){.number = k, .rung = rung, .budget = budget,
		    .params = cJSON_Parse(p), .parent = rung > 1 ? 1 : 0};
	}
	ck_assert_msg(tp_study_add(db, s, t, n, &e) == TP_OK, "%s", e.msg);
	for (int i = 0; i < n; i++)
		cJSON_Delete(t[i].params);
}

static void
state_is(tp_db *db, const tp_study *s, int number, const char *want)
{
	tp_trial t;
	tp_err e = {0};

	ck_assert_msg(tp_study_trial(db, s, number, &t, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_msg(strcmp(t.state, want) == 0, "trial %d is %s, not %s",
	    number, t.state, want);
	tp_trial_free(&t);
}

/* The pid of a process that has ended. */
static int
gone_pid(void)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return (int)pid;
}

START_TEST(test_create_and_lock)
{
	tp_db *db = open_db(), *other = fixture_db_connect("study", "tune");
	tp_study s, again, found;
	tp_err e = {0};
	int yes;

	make_study(db, "s1", &s);
	ck_assert_int_gt(s.id, 0);
	ck_assert_str_eq(s.name, "s1");
	ck_assert_str_eq(s.method, "halving");
	ck_assert_str_eq(s.state, "running");
	ck_assert_int_eq(cJSON_GetObjectItem(s.settings, "trials")->valueint, 4);
	/* Made again: the first one. */
	make_study(other, "s1", &again);
	ck_assert_int_eq(again.id, s.id);
	ck_assert_int_eq(tp_study_find(db, "s1", &found, &yes, &e), TP_OK);
	ck_assert_int_eq(yes, 1);
	ck_assert_int_eq(found.id, s.id);
	tp_study_free(&found);
	ck_assert_int_eq(tp_study_find(db, "none", &found, &yes, &e), TP_OK);
	ck_assert_int_eq(yes, 0);
	tp_study_free(&found);
	/* One session drives it. */
	ck_assert_msg(tp_study_lock(db, &s, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(tp_study_lock(other, &s, &e), TP_NO);
	ck_assert_ptr_nonnull(strstr(e.msg, "another tabpipe-tune"));
	/* Once that session has ended (the server sees the end a moment
	 * after the client has gone), another takes it. */
	tp_db_close(db);
	for (int i = 0; i < 100 && tp_study_lock(other, &s, &e) == TP_NO; i++)
		usleep(50000);
	ck_assert_msg(tp_study_lock(other, &s, &e) == TP_OK, "%s", e.msg);
	tp_study_free(&s);
	tp_study_free(&again);
	tp_db_close(other);
}
END_TEST

START_TEST(test_trials)
{
	tp_db *db = open_db();
	tp_study s;
	tp_trial *t, one;
	tp_err e = {0};
	int n;

	make_study(db, "s", &s);
	add_trials(db, &s, 1, 4, 1, 1);
	add_trials(db, &s, 1, 2, 1, 1);
	add_trials(db, &s, 5, 6, 2, 3);
	ck_assert_int_eq(tp_study_trials(db, &s, -1, &t, &n, &e), TP_OK);
	ck_assert_int_eq(n, 6);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(t[i].number, i + 1);
	ck_assert_str_eq(t[0].state, "pending");
	ck_assert(isnan(t[0].value));
	ck_assert_int_eq(t[0].budget, 1);
	ck_assert_int_eq(t[0].parent, 0);
	ck_assert_int_eq(t[4].rung, 2);
	ck_assert_int_eq(t[4].budget, 3);
	ck_assert_int_eq(t[4].parent, 1);
	ck_assert(cJSON_GetObjectItem(t[2].params, "lr")->valuedouble == 0.003);
	tp_trials_free(t, n);
	ck_assert_int_eq(tp_study_trials(db, &s, 2, &t, &n, &e), TP_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(t[0].number, 5);
	tp_trials_free(t, n);
	ck_assert_int_eq(tp_study_trials(db, &s, 3, &t, &n, &e), TP_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(tp_study_trial(db, &s, 9, &one, &e), TP_ENOINPUT);
	ck_assert_str_eq(e.msg, "study s has no trial 9");
	tp_study_free(&s);
	tp_db_close(db);
}
END_TEST

START_TEST(test_claim_and_record)
{
	tp_db *db = open_db();
	tp_study s;
	tp_trial t;
	tp_err e = {0};
	char why[256];
	int claimed;

	make_study(db, "s", &s);
	add_trials(db, &s, 1, 2, 1, 1);
	ck_assert_msg(tp_study_claim(db, &s, 1, 60, &t, &claimed, why,
	    sizeof(why), &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(claimed, 1);
	ck_assert_str_eq(t.state, "running");
	ck_assert_int_eq(t.pid, (int)getpid());
	ck_assert_int_eq(t.attempts, 1);
	tp_trial_free(&t);
	/* Elsewhere, a worker lives as long as its heartbeat is fresh. */
	ck_assert_int_eq(tp_trial_alive(&(tp_trial){.state = "running",
	    .host = "elsewhere", .heartbeat_age = 10}, 60), 1);
	ck_assert_int_eq(tp_trial_alive(&(tp_trial){.state = "running",
	    .host = "elsewhere", .heartbeat_age = 100}, 60), 0);
	ck_assert_int_eq(tp_trial_alive(&(tp_trial){.state = "running",
	    .host = "elsewhere", .heartbeat_age = -1}, 60), 0);
	ck_assert_int_eq(tp_trial_alive(&(tp_trial){.state = "pending",
	    .host = "elsewhere", .heartbeat_age = 10}, 60), 0);
	/* Running in a live process (this one): not claimed again. */
	ck_assert_int_eq(tp_study_claim(db, &s, 1, 60, &t, &claimed, why,
	    sizeof(why), &e), TP_OK);
	ck_assert_int_eq(claimed, 0);
	ck_assert_msg(strstr(why, "trial 1 is running (process") != NULL, "%s",
	    why);
	ck_assert_int_eq(tp_trial_alive(&t, 60), 1);
	tp_trial_free(&t);
	ck_assert_int_eq(tp_study_heartbeat(db, &s, 1, &e), TP_OK);
	ck_assert_int_eq(tp_study_record(db, &s, 1, 0, 0.75, "/m/1", "ab",
	    NULL, &e), TP_OK);
	ck_assert_int_eq(tp_study_trial(db, &s, 1, &t, &e), TP_OK);
	ck_assert_str_eq(t.state, "finished");
	ck_assert(t.value == 0.75);
	ck_assert_str_eq(t.model_path, "/m/1");
	ck_assert_str_eq(t.model_sha256, "ab");
	ck_assert(t.seconds >= 0);
	ck_assert_ptr_null(t.error);
	tp_trial_free(&t);
	/* Finished: never claimed again. */
	ck_assert_int_eq(tp_study_claim(db, &s, 1, 60, &t, &claimed, why,
	    sizeof(why), &e), TP_OK);
	ck_assert_int_eq(claimed, 0);
	ck_assert_str_eq(why, "trial 1 is finished (valid AUC 0.7500)");
	tp_trial_free(&t);
	/* A result without a claim is left alone. */
	ck_assert_int_eq(tp_study_record(db, &s, 2, 0, 0.5, NULL, NULL, NULL,
	    &e), TP_OK);
	state_is(db, &s, 2, "pending");
	/* A failure: no value, the reason. */
	ck_assert_int_eq(tp_study_claim(db, &s, 2, 60, &t, &claimed, why,
	    sizeof(why), &e), TP_OK);
	tp_trial_free(&t);
	ck_assert_int_eq(tp_study_record(db, &s, 2, 0, NAN, NULL, NULL,
	    "tabpipe-train: bad", &e), TP_OK);
	ck_assert_int_eq(tp_study_trial(db, &s, 2, &t, &e), TP_OK);
	ck_assert_str_eq(t.state, "failed");
	ck_assert_str_eq(t.error, "tabpipe-train: bad");
	tp_trial_free(&t);
	/* A failed trial is claimed when asked for; given back, pending. */
	ck_assert_int_eq(tp_study_claim(db, &s, 2, 60, &t, &claimed, why,
	    sizeof(why), &e), TP_OK);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(t.attempts, 2);
	tp_trial_free(&t);
	ck_assert_int_eq(tp_study_release(db, &s, 2, "stopped", &e), TP_OK);
	state_is(db, &s, 2, "pending");
	ck_assert_int_eq(tp_study_claim(db, &s, 7, 60, &t, &claimed, why,
	    sizeof(why), &e), TP_ENOINPUT);
	tp_study_free(&s);
	tp_db_close(db);
}
END_TEST

START_TEST(test_reset_and_give_up)
{
	tp_db *db = open_db();
	tp_study s;
	tp_err e = {0};
	char id[24], dead[16], host[256] = "";
	int n;

	gethostname(host, sizeof(host) - 1);
	make_study(db, "s", &s);
	add_trials(db, &s, 1, 5, 1, 1);
	snprintf(id, sizeof(id), "%lld", (long long)s.id);
	snprintf(dead, sizeof(dead), "%d", gone_pid());
	/* 1: here, its process gone; 2: elsewhere, silent for two minutes;
	 * 3: elsewhere, alive; 4: failed; 5: pending. */
	const char *p1[] = {id, host, dead};
	fixture_exec(db, "UPDATE trials SET state = 'running', host = $2, "
	    "pid = $3, heartbeat_at = now() WHERE study_id = $1 AND number = 1",
	    3, p1);
	const char *p2[] = {id};
	fixture_exec(db, "UPDATE trials SET state = 'running', host = "
	    "'elsewhere', pid = 1, heartbeat_at = now() - interval '2 minutes' "
	    "WHERE study_id = $1 AND number = 2", 1, p2);
	fixture_exec(db, "UPDATE trials SET state = 'running', host = "
	    "'elsewhere', pid = 1, heartbeat_at = now() WHERE study_id = $1 AND "
	    "number = 3", 1, p2);
	fixture_exec(db, "UPDATE trials SET state = 'failed', error = 'x' "
	    "WHERE study_id = $1 AND number = 4", 1, p2);
	ck_assert_int_eq(tp_study_reset(db, &s, 1, 0, 60, &n, &e), TP_OK);
	ck_assert_int_eq(n, 2);
	state_is(db, &s, 1, "pending");
	state_is(db, &s, 2, "pending");
	state_is(db, &s, 3, "running");
	state_is(db, &s, 4, "failed");
	ck_assert_int_eq(tp_study_reset(db, &s, 1, 1, 60, &n, &e), TP_OK);
	ck_assert_int_eq(n, 1);
	state_is(db, &s, 4, "pending");
	/* Another rung is not touched. */
	ck_assert_int_eq(tp_study_reset(db, &s, 2, 1, 60, &n, &e), TP_OK);
	ck_assert_int_eq(n, 0);
	/* Given up: a pending one; not a live one. */
	ck_assert_int_eq(tp_study_give_up(db, &s, 5, 60, "no result", &e), TP_OK);
	state_is(db, &s, 5, "failed");
	fixture_value_is(db, "SELECT error FROM trials WHERE study_id = $1 AND "
	    "number = 5", 1, p2, "no result");
	ck_assert_int_eq(tp_study_give_up(db, &s, 3, 60, "no result", &e), TP_OK);
	state_is(db, &s, 3, "running");
	tp_study_free(&s);
	tp_db_close(db);
}
END_TEST

/* A train run, finished with result (JSON text), or NULL: running. */
static int64_t
train_run(tp_db *db, const char *result)
{
	const char *params[] = {result};
	char *id = fixture_value(db, result != NULL ?
	    "INSERT INTO runs (tool, status, result, host, pid, version, "
	    "finished_at) VALUES ('train', 'finished', $1::jsonb, 'h', 1, 'v', "
	    "now()) RETURNING id" :
	    "INSERT INTO runs (tool, host, pid, version) VALUES ('train', 'h', 1, "
	    "'v') RETURNING id", result != NULL ? 1 : 0, params);
	int64_t run = strtoll(id, NULL, 10);

	free(id);
	return run;
}

START_TEST(test_run_result)
{
	tp_db *db = open_db();
	cJSON *r;
	tp_err e = {0};
	double v;

	ck_assert_int_eq(tp_study_run_result(db, train_run(db,
	    "{\"valid_auc\": 0.71, \"epochs\": 2}"), &r, &v, &e), TP_OK);
	ck_assert(v == 0.71);
	ck_assert_int_eq(cJSON_GetObjectItem(r, "epochs")->valueint, 2);
	cJSON_Delete(r);
	ck_assert_int_eq(tp_study_run_result(db, train_run(db,
	    "{\"valid_auc\": null}"), &r, &v, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "has no validation AUC"));
	cJSON_Delete(r);
	ck_assert_int_eq(tp_study_run_result(db, train_run(db, NULL), &r, &v,
	    &e), TP_ENOINPUT);
	ck_assert_int_eq(tp_study_run_result(db, 999999, &r, &v, &e),
	    TP_ENOINPUT);
	ck_assert(isnan(v));
	tp_db_close(db);
}
END_TEST

START_TEST(test_register_and_finish)
{
	tp_db *db = open_db();
	tp_study s, back;
	tp_encoding enc;
	tp_trial t = {0};
	tp_err e = {0};
	char path[] = "/tmp/tabpipe-study-XXXXXX", sha[65];
	int version, found, fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	fixture_model_encoding(&enc);
	fixture_save_model(&enc, 3, 0.5, path);
	ck_assert_int_eq(tp_file_sha256(path, sha, &e), TP_OK);
	make_study(db, "s", &s);
	t.number = 3;
	t.run = train_run(db, "{\"valid_auc\": 0.8}");
	t.model_path = path;
	snprintf(t.model_sha256, sizeof(t.model_sha256), "%s", sha);
	ck_assert_msg(tp_study_register(db, &s, &t, "tuned", &version, &e) ==
	    TP_OK, "%s", e.msg);
	ck_assert_int_eq(version, 1);
	ck_assert_int_eq(s.version, 1);
	ck_assert_int_gt(s.version_id, 0);
	/* Once: a second call finds the version made. */
	ck_assert_int_eq(tp_study_register(db, &s, &t, "tuned", &version, &e),
	    TP_OK);
	ck_assert_int_eq(version, 1);
	fixture_value_is(db, "SELECT count(*) FROM model_versions", 0, NULL, "1");
	fixture_value_is(db, "SELECT metrics->>'valid_auc' FROM model_versions",
	    0, NULL, "0.8");
	ck_assert_int_eq(tp_study_finish(db, &s, 3, &e), TP_OK);
	ck_assert_int_eq(tp_study_find(db, "s", &back, &found, &e), TP_OK);
	ck_assert_str_eq(back.state, "finished");
	ck_assert_int_eq(back.best_trial, 3);
	ck_assert_int_eq(back.version, 1);
	ck_assert_int_eq(back.version_id, s.version_id);
	tp_study_free(&back);
	/* A file changed since its trial is refused. */
	fixture_save_model(&enc, 4, 0.5, path);
	ck_assert_int_eq(tp_study_register(db, &s, &t, "tuned", &version, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "has changed since it was trained"));
	t.model_path = NULL;
	ck_assert_int_eq(tp_study_register(db, &s, &t, "tuned", &version, &e),
	    TP_ENOINPUT);
	unlink(path);
	tp_encoding_free(&enc);
	tp_study_free(&s);
	tp_db_close(db);
}
END_TEST

Suite *
study_suite(void)
{
	Suite *s = suite_create("study");
	TCase *tc = tcase_create("study");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create_and_lock);
	tcase_add_test(tc, test_trials);
	tcase_add_test(tc, test_claim_and_record);
	tcase_add_test(tc, test_reset_and_give_up);
	tcase_add_test(tc, test_run_result);
	tcase_add_test(tc, test_register_and_finish);
	suite_add_tcase(s, tc);
	return s;
}
