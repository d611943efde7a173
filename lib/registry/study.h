/*
 * study: a hyper-parameter search kept in the database (tabpipe-db(7),
 * the studies and trials tables), so that its workers, on any machine
 * that reaches the database, find what to run there, and a study that was
 * stopped goes on from what is recorded.
 *
 * A study has a name, a method (random or halving) and its settings, a
 * JSON object that says everything its trials are made from: the data,
 * the space, the plan, the seed, train's fixed options, the folder of its
 * files. Its trials are numbered from 1; each has its rung, its
 * parameters (train's options by long name), its budget of epochs and a
 * state: pending, running (claimed by a worker, whose host and process
 * are recorded, alive as long as its heartbeat is fresh), finished (with
 * the validation AUC of its train run) or failed (with why).
 *
 * A worker claims a trial in a transaction that locks its row, so two
 * workers never run one trial at once, and it records the result only
 * while its claim stands. A claim whose worker is gone (its process no
 * longer exists on this host, or its heartbeat is older than the stale
 * time from another host) is released by tp_study_reset, and the trial
 * runs again.
 */
#ifndef TP_STUDY_H
#define TP_STUDY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "db/db.h"

typedef struct {
	int64_t id;            /* studies.id */
	char name[64];
	char method[16];       /* "random" or "halving" */
	cJSON *settings;       /* owned: tp_study_free */
	char state[16];        /* "running" or "finished" */
	int best_trial;        /* its number; 0 until the study finishes */
	int64_t version_id;    /* the best model's version; 0 for none */
	int version;           /* its number; 0 for none */
	int64_t run;           /* the tune run that made it; 0 for none */
} tp_study;

typedef struct {
	int number;            /* from 1 */
	int rung;              /* from 1 */
	int parent;            /* the trial of the rung below; 0 for none */
	int budget;            /* epochs */
	char state[16];        /* pending, running, finished or failed */
	cJSON *params;         /* owned: tp_trial_free */
	double value;          /* the validation AUC; NaN until finished */
	int64_t run;           /* the train run; 0 for none */
	char *model_path;      /* the model file written; NULL for none */
	char model_sha256[65]; /* "" for none */
	char *error;           /* why it failed; NULL */
	char host[256];        /* the worker of the last attempt; "" */
	int pid;
	int attempts;          /* claims so far */
	double heartbeat_age;  /* seconds since the worker was alive; -1 */
	double seconds;        /* from claim to result; NaN until then */
} tp_trial;

/* Finds the study name: *found 0 (and s zeroed) when there is none. */
int tp_study_find(tp_db *db, const char *name, tp_study *s, int *found,
    tp_err *e);
/* Makes the study name with its method and settings, recorded as made by
 * run (0 for none); when another process made it first, s is that one. */
int tp_study_create(tp_db *db, const char *name, const char *method,
    const cJSON *settings, int64_t run, tp_study *s, tp_err *e);
/* Takes the study's lock for this session, so that one tabpipe-tune at a
 * time drives it; TP_NO when another holds it. Released when the session
 * ends, a killed process's too. */
int tp_study_lock(tp_db *db, const tp_study *s, tp_err *e);
void tp_study_free(tp_study *s); /* accepts a zeroed s */

/* The trials of rung (all of them for -1), by number; *t to free with
 * tp_trials_free. */
int tp_study_trials(tp_db *db, const tp_study *s, int rung, tp_trial **t,
    int *n, tp_err *e);
/* One trial; TP_ENOINPUT when the study has no trial number. */
int tp_study_trial(tp_db *db, const tp_study *s, int number, tp_trial *t,
    tp_err *e);
/* Adds trials (number, rung, parent, budget, params), in one transaction;
 * those already there are left as they are. */
int tp_study_add(tp_db *db, const tp_study *s, const tp_trial *t, int n,
    tp_err *e);
void tp_trial_free(tp_trial *t); /* accepts a zeroed t */
void tp_trials_free(tp_trial *t, int n);

/* Whether the worker of a running trial still runs: its process, on this
 * host; its heartbeat, younger than stale seconds, on another. */
int tp_trial_alive(const tp_trial *t, double stale);

/* Claims trial number for this process: *claimed 1 and t the trial, or 0
 * and in why the reason (finished already, or running in a worker that is
 * alive). */
int tp_study_claim(tp_db *db, const tp_study *s, int number, double stale,
    tp_trial *t, int *claimed, char *why, size_t whylen, tp_err *e);
/* The claim is alive: the trial's heartbeat now. */
int tp_study_heartbeat(tp_db *db, const tp_study *s, int number,
    tp_err *e);
/* Records the end of this process's claim: finished with value, or
 * failed (value NaN) with error; run, model and sha256 may be 0, NULL
 * and NULL. A claim that another worker has taken since is left alone. */
int tp_study_record(tp_db *db, const tp_study *s, int number, int64_t run,
    double value, const char *model, const char *sha256, const char *error,
    tp_err *e);
/* Gives this process's claim back (pending), as when it was stopped. */
int tp_study_release(tp_db *db, const tp_study *s, int number,
    const char *why, tp_err *e);

/* Makes pending again the trials of rung that are running in a worker
 * that is gone and, with retry, the failed ones; *n (may be NULL) gets
 * how many. */
int tp_study_reset(tp_db *db, const tp_study *s, int rung, int retry,
    double stale, int *n, tp_err *e);
/* Marks failed, with why, trial number if it is pending, or running in a
 * worker that is gone. */
int tp_study_give_up(tp_db *db, const tp_study *s, int number,
    double stale, const char *why, tp_err *e);

/* The result a finished train run recorded (its JSON, to free) and its
 * validation AUC; TP_ENOINPUT when run is no finished train run, TP_EDATA
 * when its result has no finite valid_auc. */
int tp_study_run_result(tp_db *db, int64_t run, cJSON **result,
    double *value, tp_err *e);

/* Registers the model of trial t as the next version of model name, as
 * tabpipe-train --name does (its train run, and that run's result as the
 * metrics); its file must still have the SHA-256 recorded (TP_EDATA). */
int tp_study_register(tp_db *db, tp_study *s, const tp_trial *t,
    const char *name, int *version, tp_err *e);
/* Marks the study finished with its best trial (0 for none). */
int tp_study_finish(tp_db *db, tp_study *s, int best, tp_err *e);

#endif
