/* tabpipe-tune: a hyper-parameter search over tabpipe-train's options,
 * its trials run by an engine (a local pool, GNU parallel, Slurm,
 * Kubernetes) and kept in the registry; or, with --trial, one trial of a
 * study as such an engine's worker. */
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/fileio.h"
#include "registry/study.h"
#include "registry/tune.h"
#include "tool.h"
#include "train/search.h"

static const char forms[] =
    "usage: tabpipe-tune [-q] [--db conninfo]\n"
    "           [--engine local|parallel|slurm|kubernetes] [--engine-arg arg]...\n"
    "           [--epochs n] [--eta n] [--image image] [-j n]\n"
    "           [--method random|halving] [--min-epochs n] [--models dir]\n"
    "           [--name model] [-o file] [--param spec]... [--print]\n"
    "           [--retry-failed] [--seed n] [--space file] [--sshlogin login]\n"
    "           [--trials n] --study name\n"
    "           [--valid file train.tps [-- train-option...]]\n"
    "       tabpipe-tune [-q] [--db conninfo] --study name --trial n\n";

static const char *const methods[] = {"random", "halving", NULL};

/* A list of texts an option gives again and again. */
typedef struct {
	const char **v;
	int n;
} texts;

typedef struct {
	const char *db, *study, *valid, *space, *models, *name, *output;
	const char *sshlogin, *image;
	texts params, engine_args;
	int trial, method, trials, eta, epochs, min_epochs, jobs, engine;
	uint64_t seed;
	int print, quiet, retry;
} settings;

static int
add_text(texts *t, const char *arg, tp_err *e)
{
	const char **v = realloc(t->v, (size_t)(t->n + 1) * sizeof(*v));

	if (v == NULL)
		return tp_err_nomem(e, "the options");
	t->v = v;
	t->v[t->n++] = arg;
	return TP_OK;
}

static cJSON *
texts_json(const texts *t)
{
	return t->n > 0 ? cJSON_CreateStringArray(t->v, t->n) : NULL;
}

/* --param spec: checked here, so that a bad one is a usage error at once. */
static int
parse_param(void *settings_, const char *arg, const char *from, tp_err *e)
{
	settings *s = settings_;
	tp_space scratch = {0};
	int rc;

	if ((rc = tp_space_line(&scratch, arg, from, e)) != TP_OK)
		return rc;
	if (scratch.n == 0)
		return tp_err_set(e, TP_EUSAGE, "%s: \"%s\" names no parameter",
		    from, arg);
	return add_text(&s->params, arg, e);
}

static cJSON *
params_json(const void *s)
{
	return texts_json(&((const settings *)s)->params);
}

static int
parse_engine_arg(void *settings_, const char *arg, const char *from,
    tp_err *e)
{
	return add_text(&((settings *)settings_)->engine_args, arg, e);
}

static cJSON *
engine_args_json(const void *s)
{
	return texts_json(&((const settings *)s)->engine_args);
}

/* A whole number from 1 to max into *field, for an option whose usage
 * shows no default: --trial, and -j (0, not given, is each engine's
 * own). */
static int
count_option(int *field, double max, const char *arg, const char *from,
    tp_err *e)
{
	const tp_opt number = {.key = "n", .type = TP_OPT_INT, .min = 1,
	    .max = max};

	return tp_opt_set(&number, field, arg, from, e);
}

static int
parse_trial(void *s, const char *arg, const char *from, tp_err *e)
{
	return count_option(&((settings *)s)->trial, 1000000, arg, from, e);
}

static int
parse_jobs(void *s, const char *arg, const char *from, tp_err *e)
{
	return count_option(&((settings *)s)->jobs, 100000, arg, from, e);
}

static cJSON *
jobs_json(const void *s)
{
	int jobs = ((const settings *)s)->jobs;

	return jobs > 0 ? cJSON_CreateNumber(jobs) : NULL;
}

#define OPT(field) .key = #field, .offset = offsetof(settings, field)
#define REC TP_OPT_RECORD

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{OPT(engine), .name = "engine", .type = TP_OPT_CHOICE,
	    .choices = tp_engine_names, .flags = REC,
	    .help = "what runs the trials: a local pool, GNU parallel, a Slurm "
	    "job array or a Kubernetes Indexed Job"},
	{.key = "engine_args", .name = "engine-arg", .arg = "arg",
	    .type = TP_OPT_CUSTOM, .flags = REC, .usage = "[--engine-arg arg]...",
	    .parse = parse_engine_arg, .json = engine_args_json,
	    .help = "an argument more for the engine: parallel's options, a "
	    "#SBATCH line, kubectl's options; again for each"},
	{OPT(epochs), .name = "epochs", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1000000, .flags = REC,
	    .help = "the most epochs a trial trains (the top rung's)"},
	{OPT(eta), .name = "eta", .arg = "n", .type = TP_OPT_INT, .min = 2,
	    .max = 100, .flags = REC,
	    .help = "halving: the best 1/n of a rung go up, for n times the epochs"},
	{OPT(image), .name = "image", .arg = "image", .type = TP_OPT_STRING,
	    .flags = REC, .help = "kubernetes: the container image of the "
	    "workers (tabpipe:latest)"},
	{OPT(jobs), .name = "jobs", .letter = 'j', .arg = "n",
	    .type = TP_OPT_CUSTOM, .flags = REC, .parse = parse_jobs,
	    .json = jobs_json, .help = "trials at once (local: 1; parallel: "
	    "one a CPU; Slurm and Kubernetes: as the cluster has room)"},
	{OPT(method), .name = "method", .type = TP_OPT_CHOICE,
	    .choices = methods, .flags = REC,
	    .help = "random search, or successive halving over epochs"},
	{OPT(min_epochs), .name = "min-epochs", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1000000, .flags = REC,
	    .help = "halving: the first rung's epochs at least"},
	{OPT(models), .name = "models", .arg = "dir", .type = TP_OPT_STRING,
	    .flags = REC, .help = "the folder of the trials' models and logs "
	    "(STUDY.trials)"},
	{OPT(name), .name = "name", .arg = "model", .type = TP_OPT_STRING,
	    .flags = REC,
	    .help = "register the best trial's model as the next version of model"},
	{OPT(output), .name = "output", .letter = 'o', .arg = "file",
	    .type = TP_OPT_STRING, .flags = REC,
	    .help = "where the JSON result goes"},
	{.key = "params", .name = "param", .arg = "spec", .type = TP_OPT_CUSTOM,
	    .flags = REC, .usage = "[--param spec]...", .parse = parse_param,
	    .json = params_json,
	    .help = "a parameter of the space, \"name float|int|choice ...\", "
	    "added or replacing; again for each"},
	{OPT(print), .name = "print", .type = TP_OPT_FLAG, .flags = REC,
	    .help = "print what the engine would run for the trials to run "
	    "now, and run nothing"},
	TOOL_QUIET(settings, quiet),
	{OPT(retry), .name = "retry-failed", .type = TP_OPT_FLAG, .flags = REC,
	    .help = "run the failed trials again"},
	{OPT(seed), .name = "seed", .arg = "n", .type = TP_OPT_U64, .flags = REC,
	    .help = "the seed of the points and of every trial's training"},
	{OPT(space), .name = "space", .arg = "file", .type = TP_OPT_STRING,
	    .flags = REC, .help = "the space searched, a parameter a line"},
	{OPT(sshlogin), .name = "sshlogin", .arg = "login",
	    .type = TP_OPT_STRING, .flags = REC,
	    .help = "parallel: run the trials over ssh (parallel's --sshlogin)"},
	{OPT(trial), .name = "trial", .arg = "n", .type = TP_OPT_CUSTOM,
	    .parse = parse_trial, .usage = "",
	    .help = "run trial n of the study, as an engine's worker"},
	{OPT(trials), .name = "trials", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 100000, .flags = REC,
	    .help = "the points drawn: each trains, in the first rung"},
	{OPT(valid), .name = "valid", .arg = "file", .type = TP_OPT_STRING,
	    .flags = REC, .usage = "",
	    .help = "the validation stream, whose AUC a trial is worth"},
	{OPT(study), .name = "study", .arg = "name", .type = TP_OPT_STRING,
	    .flags = REC | TP_OPT_REQUIRED, .help = "the study's name"},
	{0},
};

/* Seconds between a worker's heartbeats, and the age of a heartbeat
 * after which a worker on another host counts as gone. */
#define HEARTBEAT 10.0
#define STALE 60.0

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = sig;
}

static void
catch_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* This program's path, for the workers it starts, in buf. */
static const char *
self_path(const char *argv0, char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);

	if (k > 0) {
		buf[k] = '\0';
		return buf;
	}
	return strchr(argv0, '/') != NULL ? argv0 : "tabpipe-tune";
}

/* The tabpipe-train beside this program, or else the one in PATH. */
static const char *
train_path(const char *self, char *buf, size_t n)
{
	const char *slash = strrchr(self, '/');

	if (slash != NULL && (size_t)(slash - self) + 16 < n) {
		snprintf(buf, n, "%.*s/tabpipe-train", (int)(slash - self), self);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "tabpipe-train";
}

/* A study's name goes into file names and Kubernetes' names. */
static void
check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || name[0] == '-' || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n)
		tool_die(TP_EUSAGE, "--study: \"%s\" is not a study's name: 1 to "
		    "63 letters, digits, '.', '_' or '-', not first '-' or '.'",
		    name);
}

static const char *
pstring(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
pint(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* The study a command line defines: what its trials are made from. */
static cJSON *
definition(const settings *s, const char *train, char **fixed, int nfixed,
    tp_space *space, tp_err *e)
{
	static const char *const taken[] = {"-o", "--output", "--valid",
		"--name", "--db", NULL};
	tp_train_opts base;
	char cwd[4096], seed[24], models[128], *text = NULL;
	size_t len;
	cJSON *d;
	int rc;

	for (int i = 0; i < nfixed; i++)
		for (int k = 0; taken[k] != NULL; k++) {
			size_t n = strlen(taken[k]);
			if (strncmp(fixed[i], taken[k], n) == 0 &&
			    (fixed[i][n] == '\0' || fixed[i][n] == '=' ||
			    (taken[k][1] != '-' && fixed[i][n] != '\0')))
				tool_die(TP_EUSAGE, "%s: tabpipe-tune gives each trial "
				    "its own: not among train's options after --",
				    fixed[i]);
		}
	if (s->valid == NULL)
		tool_die(TP_EUSAGE, "--valid is required with a training stream: "
		    "a trial is worth its validation AUC");
	if (strcmp(train, "-") == 0)
		tool_die(TP_EUSAGE, "the training stream must be a file: every "
		    "trial reads it");
	if (access(train, R_OK) != 0)
		tool_die(TP_ENOINPUT, "%s: cannot read the training stream", train);
	if (access(s->valid, R_OK) != 0)
		tool_die(TP_ENOINPUT, "%s: cannot read the validation stream",
		    s->valid);
	tp_space_default(space);
	if (s->space != NULL) {
		if ((rc = tp_read_file(s->space, &text, &len, e)) != TP_OK)
			return NULL;
		rc = tp_space_read(space, text, s->space, e);
		free(text);
		if (rc != TP_OK)
			return NULL;
	}
	for (int i = 0; i < s->params.n; i++)
		if ((rc = tp_space_line(space, s->params.v[i], "--param", e)) !=
		    TP_OK)
			return NULL;
	tp_train_defaults(&base);
	if ((rc = tp_search_fixed(space, (const char *const *)fixed, nfixed,
	    &base, e)) != TP_OK)
		return NULL;
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		tp_err_set(e, TP_EINTERNAL, "the current folder: too long a path");
		return NULL;
	}
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)s->seed);
	snprintf(models, sizeof(models), "%s.trials", s->study);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "method", methods[s->method]);
	cJSON_AddNumberToObject(d, "trials", s->trials);
	cJSON_AddNumberToObject(d, "eta", s->eta);
	cJSON_AddNumberToObject(d, "epochs", s->epochs);
	cJSON_AddNumberToObject(d, "min_epochs", s->min_epochs);
	cJSON_AddStringToObject(d, "seed", seed);
	cJSON_AddItemToObject(d, "space", tp_space_json(space));
	cJSON_AddItemToObject(d, "fixed", cJSON_CreateStringArray(
	    (const char *const *)fixed, nfixed));
	cJSON_AddStringToObject(d, "train", train);
	cJSON_AddStringToObject(d, "valid", s->valid);
	cJSON_AddStringToObject(d, "dir", cwd);
	cJSON_AddStringToObject(d, "models", s->models ? s->models : models);
	if (s->name != NULL)
		cJSON_AddStringToObject(d, "model", s->name);
	return d;
}

/* The plan and the space of a study's settings. */
static int
study_plan(const tp_study *st, tp_search_plan *plan, tp_space *space,
    uint64_t *seed, tp_err *e)
{
	const cJSON *set = st->settings;
	const char *sd = pstring(set, "seed");
	int rc;

	plan->trials = pint(set, "trials");
	plan->eta = strcmp(st->method, "halving") == 0 ? pint(set, "eta") : 0;
	plan->epochs = pint(set, "epochs");
	plan->min_epochs = pint(set, "min_epochs");
	if (sd == NULL)
		return tp_err_set(e, TP_EDATA, "study %s: no seed", st->name);
	*seed = strtoull(sd, NULL, 10);
	if ((rc = tp_space_from_json(space, cJSON_GetObjectItemCaseSensitive(
	    set, "space"), e)) != TP_OK)
		return tp_err_prefix(e, "study %s", st->name);
	return TP_OK;
}

/* What a study's run says as it goes: the trials already said. */
typedef struct {
	tp_db *db;
	tp_study *study;
	int quiet;
	int nrungs;
	tp_rung *rungs;
	const tp_space *space; /* the order the parameters are shown in */
	char *said;            /* by trial number */
	int nsaid;
	const int *wave;       /* the trials of the wave, for done() */
	char job_base[80];     /* the name of this run's jobs */
	char job[96];          /* the wave's: job_base-rRUNG */
	int nwave;
} progress;

/* A trial's parameters in the order of the space (the database keeps
 * them in its own), to free. */
static cJSON *
in_order(const progress *p, const cJSON *params)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *v;

	for (int i = 0; p->space != NULL && i < p->space->n; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(params,
		    p->space->p[i].name)) != NULL)
			cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, 1));
	cJSON_ArrayForEach(v, params)
		if (cJSON_GetObjectItemCaseSensitive(o, v->string) == NULL)
			cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, 1));
	return o;
}

static void
say_params(const progress *p, const cJSON *params, char *buf, size_t n)
{
	cJSON *all = in_order(p, params);
	const cJSON *v;
	char text[64];
	size_t k = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(v, all) {
		const char *t = tp_search_value_text(v, text, sizeof(text));
		k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s %s",
		    k ? ", " : "", v->string, t ? t : "default");
		if (k >= n)
			break;
	}
	cJSON_Delete(all);
}

/* One line for a trial that has come to its end. */
static void
say_trial(progress *p, const tp_trial *t)
{
	char params[512];

	if (t->number < p->nsaid && p->said[t->number])
		return;
	if (t->number < p->nsaid)
		p->said[t->number] = 1;
	if (p->quiet || (strcmp(t->state, "finished") != 0 &&
	    strcmp(t->state, "failed") != 0))
		return;
	say_params(p, t->params, params, sizeof(params));
	if (strcmp(t->state, "finished") == 0)
		fprintf(stderr, "%s: trial %d (rung %d of %d, %d epoch%s): valid "
		    "AUC %.4f in %.1f s: %s\n", tool_name(), t->number, t->rung,
		    p->nrungs, t->budget, t->budget == 1 ? "" : "s", t->value,
		    isfinite(t->seconds) ? t->seconds : 0, params);
	else
		fprintf(stderr, "%s: trial %d (rung %d of %d, %d epoch%s) failed: "
		    "%s\n", tool_name(), t->number, t->rung, p->nrungs,
		    t->budget, t->budget == 1 ? "" : "s",
		    t->error ? t->error : "no reason recorded");
}

static void
worker_ended(void *ctx, int number, int status)
{
	progress *p = ctx;
	tp_trial t;
	tp_err e = {0};

	if (status != 0 && status != 128 + SIGTERM)
		tool_warn("the worker of trial %d exited with %d", number, status);
	if (tp_study_trial(p->db, p->study, number, &t, &e) == TP_OK)
		say_trial(p, &t);
	tp_trial_free(&t);
}

static void
engine_note(void *ctx, int failed, const char *msg)
{
	progress *p = ctx;

	if (failed || !p->quiet)
		fprintf(stderr, "%s: %s\n", tool_name(), msg);
}

/* Whether every trial of the wave has come to its end. */
static int
wave_done(void *ctx)
{
	progress *p = ctx;
	tp_trial t;
	tp_err e = {0};

	for (int i = 0; i < p->nwave; i++) {
		int end = tp_study_trial(p->db, p->study, p->wave[i], &t, &e) ==
		    TP_OK && (strcmp(t.state, "finished") == 0 ||
		    strcmp(t.state, "failed") == 0);
		tp_trial_free(&t);
		if (!end)
			return 0;
	}
	return 1;
}

/* Makes the trials of rung r: the points of rung 0, or the promotions
 * from rung r - 1. */
static int
make_rung(progress *p, int r, const tp_search_plan *plan,
    const tp_space *space, uint64_t seed, tp_err *e)
{
	tp_trial *prev = NULL, *add = NULL, *all = NULL;
	tp_search_trial *view = NULL;
	tp_train_opts base;
	int nprev = 0, nadd = 0, nall = 0, *chosen = NULL, rc, next = 1;

	/* The fixed options are the study's; a point is checked over them. */
	tp_train_defaults(&base);
	const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(
	    p->study->settings, "fixed"), *v;
	int nfixed = cJSON_GetArraySize(fixed), k = 0;
	const char **args = calloc((size_t)nfixed + 1, sizeof(*args));
	tp_space scratch = *space;
	if (args == NULL)
		return tp_err_nomem(e, "the fixed options");
	cJSON_ArrayForEach(v, fixed)
		args[k++] = cJSON_IsString(v) ? v->valuestring : "";
	rc = tp_search_fixed(&scratch, args, nfixed, &base, e);
	free(args);
	if (rc != TP_OK)
		return tp_err_set(e, TP_EDATA, "study %s: %s", p->study->name,
		    e->msg);
	if (r == 0) {
		if ((add = calloc((size_t)plan->trials, sizeof(*add))) == NULL)
			return tp_err_nomem(e, "the trials");
		for (int i = 0; i < plan->trials; i++) {
			add[i] = (tp_trial){.number = i + 1, .rung = 1,
			    .budget = p->rungs[0].epochs};
			if ((rc = tp_search_sample(space, &base, seed, plan->trials,
			    i + 1, &add[i].params, e)) != TP_OK)
				break;
			nadd++;
		}
	} else if ((rc = tp_study_trials(p->db, p->study, r, &prev, &nprev,
	    e)) == TP_OK && (rc = tp_study_trials(p->db, p->study, -1, &all,
	    &nall, e)) == TP_OK) {
		for (int i = 0; i < nall; i++)
			if (all[i].number >= next)
				next = all[i].number + 1;
		view = calloc((size_t)nprev + 1, sizeof(*view));
		chosen = calloc((size_t)nprev + 1, sizeof(*chosen));
		add = calloc((size_t)nprev + 1, sizeof(*add));
		if (view == NULL || chosen == NULL || add == NULL)
			rc = tp_err_nomem(e, "the promotions");
		for (int i = 0; rc == TP_OK && i < nprev; i++)
			view[i] = (tp_search_trial){prev[i].number, prev[i].rung,
			    strcmp(prev[i].state, "finished") == 0, prev[i].value};
		int m = rc == TP_OK ? tp_search_promote(view, nprev,
		    p->rungs[r].trials, chosen) : 0;
		for (int i = 0; i < m; i++) {
			const tp_trial *from = &prev[chosen[i]];
			add[i] = (tp_trial){.number = next + i, .rung = r + 1,
			    .parent = from->number, .budget = p->rungs[r].epochs,
			    .params = cJSON_Duplicate(from->params, 1)};
			nadd++;
		}
	}
	if (rc == TP_OK && nadd > 0)
		rc = tp_study_add(p->db, p->study, add, nadd, e);
	for (int i = 0; add != NULL && i < nadd; i++)
		tp_trial_free(&add[i]);
	free(add);
	free(view);
	free(chosen);
	tp_trials_free(prev, nprev);
	tp_trials_free(all, nall);
	return rc;
}

/* The numbers of the trials of t[0..n) in state, into out; how many. */
static int
in_state(const tp_trial *t, int n, const char *state, int *out)
{
	int m = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(t[i].state, state) == 0)
			out[m++] = t[i].number;
	return m;
}

/* Whether a trial of t[0..n) runs in a worker that is alive. */
static int
any_alive(const tp_trial *t, int n)
{
	for (int i = 0; i < n; i++)
		if (tp_trial_alive(&t[i], STALE))
			return 1;
	return 0;
}

/* Runs rung r's trials that have no result on the engine until each has
 * one, in up to three rounds (a trial given back by a stopped worker
 * runs again); then what still has none has failed. Returns TP_OK, or with
 * --print TP_NO once the commands of the trials to run are printed. */
static int
run_rung(progress *p, int r, const settings *s, tp_engine_opts *eo,
    tp_err *e)
{
	tp_trial *t = NULL;
	int n = 0, *todo = NULL, rc = TP_OK, m;

	for (int round = 0; rc == TP_OK && round < 3 && !stop; round++) {
		if ((rc = tp_study_reset(p->db, p->study, r + 1,
		    s->retry && round == 0, STALE, NULL, e)) != TP_OK ||
		    (rc = tp_study_trials(p->db, p->study, r + 1, &t, &n, e)) !=
		    TP_OK)
			break;
		free(todo);
		if ((todo = calloc((size_t)n + 1, sizeof(int))) == NULL) {
			rc = tp_err_nomem(e, "the trials");
			break;
		}
		m = in_state(t, n, "pending", todo);
		if (m == 0 && !any_alive(t, n))
			break;
		snprintf(p->job, sizeof(p->job), "%s-r%d", p->job_base, r + 1);
		eo->job = p->job;
		if (s->print) {
			if (m > 0)
				rc = tp_tune_script(eo, todo, m, stdout, e);
			else if (!s->quiet)
				tool_warn("study %s: the trials of rung %d run now; "
				    "ask again when they have ended", p->study->name,
				    r + 1);
			rc = rc == TP_OK ? TP_NO : rc;
			break;
		}
		p->wave = todo;
		p->nwave = m;
		if (m > 0 && (rc = tp_tune_dispatch(eo, todo, m, e)) != TP_OK)
			break;
		/* Workers of an earlier run may still be at work. */
		for (;;) {
			tp_trials_free(t, n);
			if ((rc = tp_study_trials(p->db, p->study, r + 1, &t, &n,
			    e)) != TP_OK || !any_alive(t, n) || stop)
				break;
			sleep(1);
		}
		for (int i = 0; rc == TP_OK && i < n; i++)
			say_trial(p, &t[i]);
		tp_trials_free(t, n);
		t = NULL;
		n = 0;
	}
	tp_trials_free(t, n);
	t = NULL;
	n = 0;
	if (rc == TP_OK && !stop &&
	    (rc = tp_study_trials(p->db, p->study, r + 1, &t, &n, e)) == TP_OK)
		for (int i = 0; rc == TP_OK && i < n; i++)
			if (strcmp(t[i].state, "pending") == 0 ||
			    strcmp(t[i].state, "running") == 0) {
				rc = tp_study_give_up(p->db, p->study, t[i].number, STALE,
				    "the engine ended without a result for it", e);
				tp_trial_free(&t[i]);
				if (rc == TP_OK)
					rc = tp_study_trial(p->db, p->study, t[i].number,
					    &t[i], e);
				if (rc == TP_OK)
					say_trial(p, &t[i]);
			}
	tp_trials_free(t, n);
	free(todo);
	return rc;
}

/* The JSON of a trial in the result. */
static cJSON *
trial_json(const progress *p, const tp_trial *t, int with_file)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "trial", t->number);
	cJSON_AddNumberToObject(j, "rung", t->rung);
	cJSON_AddNumberToObject(j, "epochs", t->budget);
	cJSON_AddStringToObject(j, "state", t->state);
	if (isfinite(t->value))
		cJSON_AddNumberToObject(j, "value", t->value);
	else
		cJSON_AddNullToObject(j, "value");
	cJSON_AddItemToObject(j, "params", in_order(p, t->params));
	if (t->parent > 0)
		cJSON_AddNumberToObject(j, "parent", t->parent);
	if (t->run > 0)
		cJSON_AddNumberToObject(j, "run", (double)t->run);
	if (isfinite(t->seconds))
		cJSON_AddNumberToObject(j, "seconds", round(t->seconds * 1000) / 1000);
	if (t->error != NULL)
		cJSON_AddStringToObject(j, "error", t->error);
	if (with_file && t->model_path != NULL)
		cJSON_AddStringToObject(j, "model_file", t->model_path);
	return j;
}

/* The study's result, and its summary on stderr. */
static cJSON *
result_json(progress *p, const tp_trial *t, int n, int best)
{
	const char *model = pstring(p->study->settings, "model");
	cJSON *j = cJSON_CreateObject(), *rungs, *list;
	int finished = 0, failed = 0;
	char params[512];

	for (int i = 0; i < n; i++) {
		finished += strcmp(t[i].state, "finished") == 0;
		failed += strcmp(t[i].state, "failed") == 0;
	}
	cJSON_AddStringToObject(j, "study", p->study->name);
	cJSON_AddStringToObject(j, "method", p->study->method);
	cJSON_AddStringToObject(j, "state", p->study->state);
	cJSON_AddNumberToObject(j, "trials", n);
	cJSON_AddNumberToObject(j, "finished", finished);
	cJSON_AddNumberToObject(j, "failed", failed);
	rungs = cJSON_AddArrayToObject(j, "rungs");
	for (int r = 0; r < p->nrungs; r++) {
		cJSON *o = cJSON_CreateObject();
		int k = 0, done = 0;
		double top = NAN;
		for (int i = 0; i < n; i++)
			if (t[i].rung == r + 1) {
				k++;
				if (strcmp(t[i].state, "finished") == 0) {
					done++;
					if (!(top >= t[i].value))
						top = t[i].value;
				}
			}
		cJSON_AddNumberToObject(o, "rung", r + 1);
		cJSON_AddNumberToObject(o, "epochs", p->rungs[r].epochs);
		cJSON_AddNumberToObject(o, "trials", k);
		cJSON_AddNumberToObject(o, "finished", done);
		if (isfinite(top))
			cJSON_AddNumberToObject(o, "best_value", top);
		else
			cJSON_AddNullToObject(o, "best_value");
		cJSON_AddItemToArray(rungs, o);
	}
	if (best >= 0)
		cJSON_AddItemToObject(j, "best", trial_json(p, &t[best], 1));
	else
		cJSON_AddNullToObject(j, "best");
	if (model != NULL && p->study->version > 0) {
		cJSON_AddStringToObject(j, "model", model);
		cJSON_AddNumberToObject(j, "version", p->study->version);
	}
	list = cJSON_AddArrayToObject(j, "trial_list");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(list, trial_json(p, &t[i], 0));
	if (!p->quiet) {
		fprintf(stderr, "%s: study %s: %d trials, %d finished, %d failed\n",
		    tool_name(), p->study->name, n, finished, failed);
		if (best >= 0) {
			say_params(p, t[best].params, params, sizeof(params));
			fprintf(stderr, "%s: best: trial %d (%d epoch%s): valid AUC "
			    "%.4f: %s\n", tool_name(), t[best].number, t[best].budget,
			    t[best].budget == 1 ? "" : "s", t[best].value, params);
		}
		if (model != NULL && p->study->version > 0)
			fprintf(stderr, "%s: registered %s version %d (trial %d)\n",
			    tool_name(), model, p->study->version, p->study->best_trial);
	}
	return j;
}

/* The study to its end: each rung made and run, then the best registered. */
static int
drive(progress *p, const settings *s, tp_engine_opts *eo, cJSON **result,
    tp_err *e)
{
	tp_search_plan plan;
	tp_space space;
	tp_rung rungs[TP_SEARCH_RUNGS];
	tp_trial *t = NULL, *r_t = NULL;
	tp_search_trial *view = NULL;
	uint64_t seed = 0;
	const char *model = pstring(p->study->settings, "model");
	int n = 0, nr, rc, best, version;

	if ((rc = study_plan(p->study, &plan, &space, &seed, e)) != TP_OK)
		return rc;
	if ((p->nrungs = tp_search_rungs(&plan, rungs, e)) < 0)
		return tp_err_prefix(e, "study %s", p->study->name);
	p->rungs = rungs;
	p->space = &space;
	for (int r = 0; strcmp(p->study->state, "running") == 0 &&
	    r < p->nrungs; r++) {
		if ((rc = tp_study_trials(p->db, p->study, r + 1, &r_t, &nr, e)) !=
		    TP_OK)
			return rc;
		tp_trials_free(r_t, nr);
		if (nr == 0 && (rc = make_rung(p, r, &plan, &space, seed, e)) !=
		    TP_OK)
			return rc;
		if ((rc = run_rung(p, r, s, eo, e)) != TP_OK)
			return rc;
		if (stop)
			return tp_err_set(e, 128 + stop, "stopped by a signal: run "
			    "tabpipe-tune --study %s again to go on", p->study->name);
	}
	if ((rc = tp_study_trials(p->db, p->study, -1, &t, &n, e)) != TP_OK)
		return rc;
	if ((view = calloc((size_t)n + 1, sizeof(*view))) == NULL) {
		tp_trials_free(t, n);
		return tp_err_nomem(e, "the trials");
	}
	for (int i = 0; i < n; i++)
		view[i] = (tp_search_trial){t[i].number, t[i].rung,
		    strcmp(t[i].state, "finished") == 0, t[i].value};
	best = tp_search_best(view, n);
	free(view);
	if (strcmp(p->study->state, "running") == 0) {
		if (best < 0)
			rc = tp_err_set(e, TP_EINTERNAL, "study %s: every trial failed "
			    "(trial 1: %s); --retry-failed runs them again",
			    p->study->name, n > 0 && t[0].error ? t[0].error : "?");
		else if (model != NULL)
			rc = tp_study_register(p->db, p->study, &t[best], model,
			    &version, e);
		if (rc == TP_OK)
			rc = tp_study_finish(p->db, p->study, t[best].number, e);
	}
	if (rc == TP_OK)
		*result = result_json(p, t, n, best);
	tp_trials_free(t, n);
	return rc;
}

/* One trial, as an engine's worker. */
static int
worker(const settings *s, tp_db *db, const char *self)
{
	tp_worker_opts wo = {.conninfo = s->db, .heartbeat = HEARTBEAT,
	    .stale = STALE, .stop = &stop};
	char train[4096], why[512];
	tp_study st;
	tp_trial t = {0};
	tp_err e = {0};
	int found, ran, rc;

	/* The engine that started this worker ends: so does the trial. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	wo.train = train_path(self, train, sizeof(train));
	if ((rc = tp_study_find(db, s->study, &st, &found, &e)) != TP_OK)
		return tool_report(&e);
	if (!found) {
		tp_study_free(&st);
		tool_warn("no study %s in the database", s->study);
		return TP_ENOINPUT;
	}
	rc = tp_tune_trial(db, &st, s->trial, &wo, &t, &ran, why, sizeof(why),
	    &e);
	if (rc != TP_OK)
		rc = tool_report(&e);
	else if (!ran) {
		if (!s->quiet)
			tool_warn("%s: nothing to do", why);
	} else if (stop)
		rc = 128 + stop;
	else if (!s->quiet && strcmp(t.state, "finished") == 0)
		fprintf(stderr, "%s: study %s, trial %d: valid AUC %.4f\n",
		    tool_name(), s->study, s->trial, t.value);
	else if (!s->quiet)
		fprintf(stderr, "%s: study %s, trial %d failed: %s\n", tool_name(),
		    s->study, s->trial, t.error ? t.error : "no reason recorded");
	tp_trial_free(&t);
	tp_study_free(&st);
	return rc;
}

/* The name of a wave's job: [a-z0-9-], at most 63 bytes. */
static void
job_name(char *buf, size_t n, const char *study, int64_t run)
{
	size_t k = (size_t)snprintf(buf, n, "tune-");

	for (const char *c = study; *c != '\0' && k < 40; c++)
		buf[k++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') :
		    ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')) ? *c :
		    '-';
	snprintf(buf + k, n - k, "-%lld", (long long)run);
}

int
main(int argc, char **argv)
{
	settings s = {.method = 1, .trials = 20, .eta = 3,
	    .epochs = 10, .min_epochs = 1, .seed = 1, .output = "-"};
	tool_options families[] = {{options, &s}, {NULL, NULL}};
	char self_buf[4096], folder[4096], **fixed = NULL;
	const char *self, *train;
	tp_study st = {0};
	tp_space space;
	tp_db *db;
	cJSON *def = NULL, *params = NULL, *result = NULL;
	tp_engine_opts eo = {0};
	progress p = {0};
	tp_err e = {0};
	int64_t run;
	int nfixed = 0, found, rc, end = argc;

	/* What follows "--" is train's, given to every trial. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			fixed = argv + i + 1;
			nfixed = argc - i - 1;
			break;
		}
	tool_init("tune", families, "", forms);
	tool_parse(end, argv);
	train = tool_input(end, argv, NULL);
	self = self_path(argv[0], self_buf, sizeof(self_buf));
	if (s.study == NULL)
		tool_die(TP_EUSAGE, "--study is required: the name of the study");
	check_name(s.study);
	if (s.trial > 0) {
		static const char *const alone[] = {"db", "quiet", "study",
			"trial", NULL};
		int others = train != NULL || fixed != NULL;
		for (int i = 0; options[i].key != NULL; i++) {
			int mine = 0;
			for (int k = 0; alone[k] != NULL; k++)
				mine |= strcmp(options[i].key, alone[k]) == 0;
			others |= !mine && tool_given(options[i].key);
		}
		if (others)
			tool_die(TP_EUSAGE, "--trial runs one trial of a study that "
			    "exists: it takes --study, --db and -q alone");
	} else if (train == NULL && fixed != NULL)
		tool_die(TP_EUSAGE, "train's options after -- go with a training "
		    "stream: they make a new study");
	if ((db = tool_db_open(s.db)) == NULL)
		tool_die(TP_EUSAGE, "a study lives in the database: give --db or "
		    "TABPIPE_DB");
	catch_signals();
	if (s.trial > 0) {
		rc = worker(&s, db, self);
		tp_db_close(db);
		return tool_finish(rc);
	}
	/* Workers, here or on the engine's machines, find the database as
	 * this process does. */
	if (s.db != NULL)
		setenv("TABPIPE_DB", s.db, 1);
	if (train != NULL && (def = definition(&s, train, fixed, nfixed, &space,
	    &e)) == NULL) {
		rc = tool_report(&e);
		tp_db_close(db);
		return tool_finish(rc == TP_EDATA ? TP_EUSAGE : rc);
	}
	params = tool_params();
	run = tool_run_start(db, params, NULL);
	if ((rc = tp_study_find(db, s.study, &st, &found, &e)) != TP_OK)
		goto fail;
	if (!found && def == NULL) {
		rc = tp_err_set(&e, TP_EUSAGE, "no study %s: give a training stream "
		    "and --valid to make it", s.study);
		goto fail;
	}
	if (found && def != NULL && !cJSON_Compare(st.settings, def, 1)) {
		const cJSON *v;
		const char *key = "?";
		cJSON_ArrayForEach(v, def)
			if (!cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(
			    st.settings, v->string), 1)) {
				key = v->string;
				break;
			}
		if (strcmp(key, "?") == 0 && cJSON_GetArraySize(st.settings) !=
		    cJSON_GetArraySize(def))
			key = "model";
		rc = tp_err_set(&e, TP_EUSAGE, "study %s exists with other "
		    "settings (%s differs): give --study alone to go on with it, "
		    "or name a new study", s.study, key);
		goto fail;
	}
	if (!found && (rc = tp_study_create(db, s.study, methods[s.method], def,
	    run, &st, &e)) != TP_OK)
		goto fail;
	if ((rc = tp_study_lock(db, &st, &e)) != TP_OK) {
		if (rc == TP_NO)
			rc = e.code = TP_EUNAVAILABLE;
		goto fail;
	}
	if ((rc = tp_tune_path(&st, 0, NULL, folder, sizeof(folder), &e)) !=
	    TP_OK)
		goto fail;
	eo = (tp_engine_opts){.engine = (enum tp_engine)s.engine,
	    .jobs = s.jobs, .self = self, .study = st.name, .dir = folder,
	    .workdir = pstring(st.settings, "dir"),
	    .sshlogin = s.sshlogin, .image = s.image,
	    .args = s.engine_args.v, .nargs = s.engine_args.n,
	    .quiet = 1, .stop = &stop, .ended = worker_ended, .done = wave_done,
	    .note = engine_note, .ctx = &p};
	p = (progress){.db = db, .study = &st, .quiet = s.quiet};
	job_name(p.job_base, sizeof(p.job_base), st.name, run);
	p.nsaid = pint(st.settings, "trials") * 2 + 2;
	if ((p.said = calloc((size_t)p.nsaid, 1)) == NULL) {
		rc = tp_err_nomem(&e, "the trials");
		goto fail;
	}
	rc = drive(&p, &s, &eo, &result, &e);
	if (rc == TP_NO) {
		/* --print: the commands are out; nothing more to say. */
		rc = TP_OK;
		goto done;
	}
	if (rc != TP_OK)
		goto fail;
	if (!s.print || strcmp(s.output, "-") != 0)
		if ((rc = tool_write_report(s.output, result, &e)) != TP_OK)
			goto fail;
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(db, run, rc, e.msg, result);
	free(p.said);
	free(s.params.v);
	free(s.engine_args.v);
	tp_study_free(&st);
	cJSON_Delete(def);
	cJSON_Delete(params);
	cJSON_Delete(result);
	return tool_finish(rc);
}
