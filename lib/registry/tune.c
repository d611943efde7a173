#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fileio.h"
#include "model/safetensors.h"
#include "registry/tune.h"
#include "train/search.h"

const char *const tp_engine_names[] = {"local", "parallel", "slurm",
	"kubernetes", NULL};

/* How often a waiting loop looks again, in seconds. */
#define POLL 0.05

static void
nap(double seconds)
{
	struct timespec ts = {(time_t)seconds,
	    (long)((seconds - floor(seconds)) * 1e9)};

	nanosleep(&ts, NULL);
}

static const char *
setting(const tp_study *s, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->settings, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
tp_tune_path(const tp_study *s, int number, const char *ext, char *buf,
    size_t n, tp_err *e)
{
	const char *dir = setting(s, "dir"), *models = setting(s, "models");
	size_t k;

	if (dir == NULL || models == NULL)
		return tp_err_set(e, TP_EDATA, "study %s: its settings lack the "
		    "folder of its models", s->name);
	if (models[0] == '/')
		k = (size_t)snprintf(buf, n, "%s", models);
	else
		k = (size_t)snprintf(buf, n, "%s/%s", dir, models);
	if (ext != NULL && k < n)
		k += (size_t)snprintf(buf + k, n - k, "/trial-%d.%s", number, ext);
	if (k >= n)
		return tp_err_set(e, TP_EUSAGE, "study %s: the path of its files "
		    "is longer than %zu bytes", s->name, n - 1);
	return TP_OK;
}

void
tp_tune_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* Appends a copy of s to the list of *n words; -1 without memory. */
static int
push(char ***argv, size_t *n, size_t *cap, const char *s)
{
	if (*n + 2 > *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		char **a = realloc(*argv, c * sizeof(*a));
		if (a == NULL)
			return -1;
		*argv = a;
		*cap = c;
	}
	if (((*argv)[*n] = strdup(s)) == NULL)
		return -1;
	(*argv)[++*n] = NULL;
	return 0;
}

int
tp_tune_argv(const tp_study *s, const tp_trial *t, const char *train,
    const char *model, char ***argv, tp_err *e)
{
	const char *valid = setting(s, "valid"), *data = setting(s, "train");
	const char *seed = setting(s, "seed");
	const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(s->settings,
	    "fixed"), *v;
	char text[64], opt[TP_HPARAM_TEXT + 2];
	size_t n = 0, cap = 0;
	int bad = 0;

	*argv = NULL;
	if (valid == NULL || data == NULL || seed == NULL)
		return tp_err_set(e, TP_EDATA, "study %s: its settings lack the "
		    "data or the seed", s->name);
	bad |= push(argv, &n, &cap, train);
	cJSON_ArrayForEach(v, fixed) {
		if (!cJSON_IsString(v)) {
			tp_tune_argv_free(*argv);
			*argv = NULL;
			return tp_err_set(e, TP_EDATA, "study %s: a fixed option "
			    "that is not text", s->name);
		}
		bad |= push(argv, &n, &cap, v->valuestring);
	}
	snprintf(text, sizeof(text), "%d", t->budget);
	bad |= push(argv, &n, &cap, "--epochs") | push(argv, &n, &cap, text);
	bad |= push(argv, &n, &cap, "--seed") | push(argv, &n, &cap, seed);
	cJSON_ArrayForEach(v, t->params) {
		if (tp_search_value_text(v, text, sizeof(text)) == NULL)
			continue;
		snprintf(opt, sizeof(opt), "--%s", v->string);
		bad |= push(argv, &n, &cap, opt) | push(argv, &n, &cap, text);
	}
	bad |= push(argv, &n, &cap, "--valid") | push(argv, &n, &cap, valid);
	bad |= push(argv, &n, &cap, "-o") | push(argv, &n, &cap, model);
	bad |= push(argv, &n, &cap, data);
	if (bad) {
		tp_tune_argv_free(*argv);
		*argv = NULL;
		return tp_err_nomem(e, "a command line");
	}
	return TP_OK;
}

/* How a child starts. */
typedef struct {
	const char *dir;      /* its working folder, or NULL */
	int out, err;         /* its stdout and stderr, or -1: ours (stdout:
	                         our stderr, since ours is the report's) */
	const char *db;       /* TABPIPE_DB, or NULL: ours */
} spawn_opts;

/* Starts argv (execvp) as a child that is sent SIGTERM when this process
 * ends. A program that cannot be run exits 127 after saying why on its
 * stderr. Signals are blocked across the fork, and the child's handlers
 * (this process's, which a signal sent before the exec would run in the
 * child) set back to the default before they are let in. */
static int
spawn(char *const *argv, const spawn_opts *so, pid_t *pid, tp_err *e)
{
	pid_t parent = getpid();
	sigset_t all, old;
	int err;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	*pid = fork();
	err = errno;
	if (*pid != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (*pid < 0)
			return tp_err_set(e, TP_EINTERNAL, "cannot start %s: %s",
			    argv[0], strerror(err));
		return TP_OK;
	}
	/* The child: only what is safe between fork and exec. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN &&
		    sa.sa_handler != SIG_DFL)
			signal(sig, SIG_DFL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(128 + SIGTERM);
	if (so->err >= 0)
		dup2(so->err, 2);
	dup2(so->out >= 0 ? so->out : 2, 1);
	if (so->dir != NULL && chdir(so->dir) != 0) {
		dprintf(2, "cannot run %s in %s: %s\n", argv[0], so->dir,
		    strerror(errno));
		_exit(127);
	}
	if (so->db != NULL)
		setenv("TABPIPE_DB", so->db, 1);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* An ended child's status as a shell gives it: the exit code, or 128 +
 * the signal. */
static int
exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

/* Waits for child pid to end, sending it SIGTERM once when *stop is set;
 * its exit_code in *code. */
static int
wait_child(pid_t pid, volatile sig_atomic_t *stop, int *code, tp_err *e)
{
	int st, stopped = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return tp_err_set(e, TP_EINTERNAL, "waiting for a child: %s",
			    strerror(errno));
		if (stop != NULL && *stop && !stopped) {
			kill(pid, SIGTERM);
			stopped = 1;
		}
		nap(POLL);
	}
	*code = exit_code(st);
	return TP_OK;
}

/* Runs argv to its end, its stdout in out (len bytes, NUL-ended, may be
 * NULL: its stdout is our stderr); *code is its exit_code. */
static int
run_command(char *const *argv, char *out, size_t len,
    volatile sig_atomic_t *stop, int *code, tp_err *e)
{
	spawn_opts so = {NULL, -1, -1, NULL};
	int fds[2] = {-1, -1}, rc;
	size_t k = 0;
	pid_t pid;

	if (out != NULL) {
		if (pipe(fds) != 0)
			return tp_err_set(e, TP_EINTERNAL, "a pipe: %s",
			    strerror(errno));
		so.out = fds[1];
	}
	rc = spawn(argv, &so, &pid, e);
	if (out != NULL) {
		close(fds[1]);
		for (ssize_t got = 1; rc == TP_OK && got != 0;) {
			char sink[256];
			got = k + 1 < len ? read(fds[0], out + k, len - 1 - k) :
			    read(fds[0], sink, sizeof(sink));
			if (got < 0 && errno != EINTR)
				break;
			if (got > 0 && k + 1 < len)
				k += (size_t)got;
		}
		close(fds[0]);
		out[k] = '\0';
	}
	if (rc != TP_OK)
		return rc;
	return wait_child(pid, stop, code, e);
}

/* The last line of a file that is not blank, into buf; "" when none. */
static void
last_line(const char *path, char *buf, size_t n)
{
	char *text = NULL, *end, *start;
	size_t len;
	tp_err e = {0};

	buf[0] = '\0';
	if (tp_read_file(path, &text, &len, &e) != TP_OK)
		return;
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(text, '\n');
	start = start != NULL ? start + 1 : text;
	/* A progress line rewritten in place keeps its last form. */
	if (strrchr(start, '\r') != NULL)
		start = strrchr(start, '\r') + 1;
	snprintf(buf, n, "%s", start);
	free(text);
}

/* Once more over a new connection when the first try found the server
 * gone: a trial's result outlives a restart of the database. */
static int
record(tp_db *db, const tp_study *s, int number, int64_t run, double value,
    const char *model, const char *sha256, const char *error, tp_err *e)
{
	int rc = tp_study_record(db, s, number, run, value, model, sha256,
	    error, e);

	if (rc == TP_EUNAVAILABLE && tp_db_reconnect(db, e) == TP_OK)
		rc = tp_study_record(db, s, number, run, value, model, sha256,
		    error, e);
	return rc;
}

/* The train run and the SHA-256 of the model file that train wrote. */
static int
model_run(const char *model, int64_t *run, char sha256[65], tp_err *e)
{
	tp_st_file f = {0};
	const char *id;
	int rc;

	*run = 0;
	if ((rc = tp_st_open(&f, model, e)) != TP_OK)
		return rc;
	snprintf(sha256, 65, "%s", f.sha256);
	id = tp_st_meta(&f, "run_id");
	if (id != NULL)
		*run = strtoll(id, NULL, 10);
	tp_st_close(&f);
	if (*run <= 0)
		return tp_err_set(e, TP_EDATA, "%s: the model names no train run "
		    "(was train given the database?)", model);
	return TP_OK;
}

int
tp_tune_trial(tp_db *db, const tp_study *s, int number,
    const tp_worker_opts *o, tp_trial *t, int *ran, char *why,
    size_t whylen, tp_err *e)
{
	char folder[4096], model[4200], log[4200], failure[1024];
	char sha[65] = "";
	char **argv = NULL;
	cJSON *result = NULL;
	spawn_opts so = {setting(s, "dir"), -1, -1, o->conninfo};
	double value = NAN, beat;
	int64_t run = 0;
	int claimed, rc, st, code, stopped = 0, fd = -1;
	pid_t pid;

	*ran = 0;
	why[0] = '\0';
	if ((rc = tp_tune_path(s, number, NULL, folder, sizeof(folder), e)) !=
	    TP_OK ||
	    (rc = tp_tune_path(s, number, "safetensors", model, sizeof(model),
	    e)) != TP_OK ||
	    (rc = tp_tune_path(s, number, "log", log, sizeof(log), e)) != TP_OK)
		return rc;
	if (so.dir == NULL || access(so.dir, X_OK) != 0)
		return tp_err_set(e, TP_ENOINPUT, "study %s: its folder %s is not "
		    "here: a worker needs the study's files at the same path",
		    s->name, so.dir ? so.dir : "(none)");
	if ((rc = tp_study_claim(db, s, number, o->stale, t, &claimed, why,
	    whylen, e)) != TP_OK || !claimed)
		return rc;
	*ran = 1;
	if (tp_make_folders(folder, 0777) != 0)
		rc = tp_err_set(e, TP_ECREAT, "%s: cannot make the folder: %s",
		    folder, strerror(errno));
	else if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) < 0)
		rc = tp_err_set(e, TP_ECREAT, "%s: %s", log, strerror(errno));
	else if ((rc = tp_tune_argv(s, t, o->train, model, &argv, e)) == TP_OK) {
		so.out = so.err = fd;
		rc = spawn(argv, &so, &pid, e);
	}
	if (fd >= 0)
		close(fd);
	tp_tune_argv_free(argv);
	if (rc != TP_OK) {
		tp_err keep = *e;
		tp_study_release(db, s, number, keep.msg, e);
		*e = keep;
		tp_trial_free(t);
		return rc;
	}
	beat = tp_clock();
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			st = 0xff00;
			break;
		}
		if (o->stop != NULL && *o->stop && !stopped) {
			kill(pid, SIGTERM);
			stopped = 1;
		}
		if (tp_clock() - beat >= o->heartbeat) {
			tp_err ignored = {0};
			/* A heartbeat that cannot be sent is the database's
			 * trouble; the result is recorded over a new connection. */
			tp_study_heartbeat(db, s, number, &ignored);
			beat = tp_clock();
		}
		nap(POLL);
	}
	code = exit_code(st);
	tp_trial_free(t);
	if (stopped) {
		snprintf(failure, sizeof(failure), "stopped by a signal");
		if ((rc = tp_study_release(db, s, number, failure, e)) != TP_OK)
			return rc;
	} else {
		if (code == 0) {
			if ((rc = model_run(model, &run, sha, e)) == TP_OK)
				rc = tp_study_run_result(db, run, &result, &value, e);
			if (rc == TP_EUNAVAILABLE)
				return rc;
			if (rc != TP_OK)
				snprintf(failure, sizeof(failure), "%s", e->msg);
			cJSON_Delete(result);
		} else {
			last_line(log, failure, sizeof(failure));
			if (failure[0] == '\0' || code > 128)
				snprintf(failure, sizeof(failure), code > 128 ?
				    "train was killed by signal %d" :
				    "train exited with %d", code > 128 ? code - 128 : code);
		}
		if ((rc = record(db, s, number, run, code == 0 ? value : NAN,
		    code == 0 ? model : NULL, sha[0] ? sha : NULL, failure, e)) !=
		    TP_OK)
			return rc;
	}
	return tp_study_trial(db, s, number, t, e);
}

const char *
tp_tune_array(const int *numbers, int n, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && k < len;) {
		int j = i;
		while (j + 1 < n && numbers[j + 1] == numbers[j] + 1)
			j++;
		if (j > i)
			k += (size_t)snprintf(buf + k, len - k, "%s%d-%d", i ? "," : "",
			    numbers[i], numbers[j]);
		else
			k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "",
			    numbers[i]);
		i = j + 1;
	}
	return buf;
}

/* s as one word of the shell: as it is when it has nothing the shell
 * reads, else in single quotes. */
static void
put_word(FILE *f, const char *s)
{
	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%") == strlen(s)) {
		fputs(s, f);
		return;
	}
	putc('\'', f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			putc(*s, f);
	putc('\'', f);
}

/* s as a YAML string in double quotes; NULL as "". */
static void
put_yaml(FILE *f, const char *s)
{
	if (s == NULL)
		s = "";
	putc('"', f);
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			putc(*s, f);
	putc('"', f);
}

/* The tabpipe-tune a worker runs: this one, or for a worker elsewhere the
 * one in its PATH. */
static const char *
worker_program(const tp_engine_opts *o)
{
	if (o->engine == TP_ENGINE_KUBERNETES ||
	    (o->engine == TP_ENGINE_PARALLEL && o->sshlogin != NULL))
		return "tabpipe-tune";
	return o->self;
}

static void
slurm_script(const tp_engine_opts *o, const int *numbers, int n, FILE *f)
{
	char array[4096];

	fprintf(f, "#!/bin/sh\n# The trials of study %s, a task each: "
	    "written by tabpipe-tune(1).\n", o->study);
	fprintf(f, "#SBATCH --job-name=%s\n", o->job);
	fprintf(f, "#SBATCH --array=%s", tp_tune_array(numbers, n, array,
	    sizeof(array)));
	if (o->jobs > 0)
		fprintf(f, "%%%d", o->jobs);
	fprintf(f, "\n#SBATCH --output=%s/%s-%%a.out\n", o->dir, o->job);
	for (int i = 0; i < o->nargs; i++)
		fprintf(f, "#SBATCH %s\n", o->args[i]);
	fputs("exec ", f);
	put_word(f, worker_program(o));
	fputs(" --study ", f);
	put_word(f, o->study);
	fputs(" --trial \"$SLURM_ARRAY_TASK_ID\"\n", f);
}

static void
kubernetes_manifest(const tp_engine_opts *o, const int *numbers, int n,
    FILE *f)
{
	fprintf(f, "# The trials of study %s, a pod each, as an Indexed Job: "
	    "written by tabpipe-tune(1).\n", o->study);
	fputs("# TABPIPE_DB comes from the Secret tabpipe-db (key conninfo); "
	    "the study's\n# folder, with its data and models, from the volume "
	    "claim tabpipe.\n", f);
	fputs("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ", f);
	fputs(o->job, f);
	fputs("\n  labels:\n    app.kubernetes.io/name: tabpipe-tune\n", f);
	fputs("spec:\n  completionMode: Indexed\n", f);
	fprintf(f, "  completions: %d\n  parallelism: %d\n", n,
	    o->jobs > 0 ? o->jobs : n);
	fprintf(f, "  backoffLimit: %d\n", n);
	fputs("  ttlSecondsAfterFinished: 86400\n  template:\n    spec:\n"
	    "      restartPolicy: Never\n      containers:\n"
	    "        - name: trial\n          image: ", f);
	put_yaml(f, o->image != NULL ? o->image : "tabpipe:latest");
	fputs("\n          workingDir: ", f);
	put_yaml(f, o->workdir);
	fputs("\n          command:\n            - sh\n            - -c\n"
	    "            - set -- $TRIALS && shift \"$JOB_COMPLETION_INDEX\" && "
	    "exec tabpipe-tune --study \"$STUDY\" --trial \"$1\"\n", f);
	fputs("          env:\n            - name: STUDY\n              value: ",
	    f);
	put_yaml(f, o->study);
	fputs("\n            - name: TRIALS\n              value: \"", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? " " : "", numbers[i]);
	fputs("\"\n            - name: TABPIPE_DB\n              valueFrom:\n"
	    "                secretKeyRef:\n                  name: tabpipe-db\n"
	    "                  key: conninfo\n", f);
	fputs("          volumeMounts:\n            - name: study\n"
	    "              mountPath: ", f);
	put_yaml(f, o->workdir);
	fputs("\n      volumes:\n        - name: study\n"
	    "          persistentVolumeClaim:\n            claimName: tabpipe\n",
	    f);
}

int
tp_tune_script(const tp_engine_opts *o, const int *numbers, int n, FILE *f,
    tp_err *e)
{
	switch (o->engine) {
	case TP_ENGINE_LOCAL:
	case TP_ENGINE_PARALLEL:
		for (int i = 0; i < n; i++) {
			put_word(f, worker_program(o));
			fputs(" --study ", f);
			put_word(f, o->study);
			fprintf(f, " --trial %d\n", numbers[i]);
		}
		break;
	case TP_ENGINE_SLURM:
		slurm_script(o, numbers, n, f);
		break;
	case TP_ENGINE_KUBERNETES:
		kubernetes_manifest(o, numbers, n, f);
		break;
	}
	if (ferror(f))
		return tp_err_set(e, TP_EIO, "writing the trials' commands: %s",
		    strerror(errno));
	return TP_OK;
}

/* The job file of the wave, in the study's folder: its path in buf. */
static int
job_file(const tp_engine_opts *o, const int *numbers, int n,
    const char *ext, char *buf, size_t len, tp_err *e)
{
	tp_outfile out;
	int rc;

	if ((size_t)snprintf(buf, len, "%s/%s.%s", o->dir, o->job, ext) >= len)
		return tp_err_set(e, TP_EUSAGE, "%s: a path too long", o->dir);
	if (tp_make_folders(o->dir, 0777) != 0)
		return tp_err_set(e, TP_ECREAT, "%s: cannot make the folder: %s",
		    o->dir, strerror(errno));
	if ((rc = tp_outfile_open(&out, buf, e)) != TP_OK)
		return rc;
	if ((rc = tp_tune_script(o, numbers, n, out.f, e)) != TP_OK) {
		tp_outfile_abort(&out);
		return rc;
	}
	return tp_outfile_commit(&out, e);
}

/* A list of words: the engine's program, its options, ours, the end. */
typedef struct {
	char **w;
	size_t n, cap;
	int bad;
} words;

static void
word(words *c, const char *s)
{
	c->bad |= push(&c->w, &c->n, &c->cap, s);
}

static void
engine_args(words *c, const tp_engine_opts *o)
{
	for (int i = 0; i < o->nargs; i++)
		word(c, o->args[i]);
}

/* Runs the command of c to its end, its exit_code in *code; one that is
 * not there is the engine missing. */
static int
run_engine(words *c, const tp_engine_opts *o, int *code, tp_err *e)
{
	int rc;

	if (c->bad) {
		tp_tune_argv_free(c->w);
		return tp_err_nomem(e, "a command line");
	}
	rc = run_command(c->w, NULL, 0, o->stop, code, e);
	if (rc == TP_OK && *code == 127)
		rc = tp_err_set(e, TP_EUNAVAILABLE, "%s: cannot be run here (is "
		    "it installed?)", c->w[0]);
	tp_tune_argv_free(c->w);
	return rc;
}

/* The local pool: workers of this tabpipe-tune, jobs at a time. */
static int
local_pool(const tp_engine_opts *o, const int *numbers, int n, tp_err *e)
{
	int jobs = o->jobs > 0 ? o->jobs : 1, next = 0, running = 0, st;
	pid_t *pids = calloc((size_t)jobs, sizeof(pid_t));
	int *which = calloc((size_t)jobs, sizeof(int)), stopped = 0;
	spawn_opts so = {NULL, -1, -1, NULL};
	char k[16];
	int rc = TP_OK;

	if (pids == NULL || which == NULL) {
		free(pids);
		free(which);
		return tp_err_nomem(e, "the pool");
	}
	while (next < n || running > 0) {
		int stop = o->stop != NULL && *o->stop;
		while (rc == TP_OK && !stop && running < jobs && next < n) {
			char *argv[] = {(char *)o->self, "--study", (char *)o->study,
			    "--trial", k, o->quiet ? "-q" : NULL, NULL};
			int slot = 0;
			while (pids[slot] != 0)
				slot++;
			snprintf(k, sizeof(k), "%d", numbers[next]);
			if ((rc = spawn(argv, &so, &pids[slot], e)) != TP_OK)
				break;
			which[slot] = numbers[next++];
			running++;
		}
		if (rc != TP_OK)
			next = n;
		if (stop && !stopped) {
			for (int i = 0; i < jobs; i++)
				if (pids[i] != 0)
					kill(pids[i], SIGTERM);
			stopped = 1;
			next = n;
		}
		for (int i = 0; i < jobs; i++) {
			if (pids[i] == 0 || waitpid(pids[i], &st, WNOHANG) != pids[i])
				continue;
			pids[i] = 0;
			running--;
			if (o->ended != NULL)
				o->ended(o->ctx, which[i], exit_code(st));
		}
		if (running > 0)
			nap(POLL);
	}
	free(pids);
	free(which);
	return rc;
}

/* Whether the parallel in PATH is GNU parallel, not moreutils' program
 * of the same name. */
static int
gnu_parallel(tp_err *e)
{
	char *argv[] = {"parallel", "--version", NULL}, out[256];
	int rc, status;

	if ((rc = run_command(argv, out, sizeof(out), NULL, &status, e)) !=
	    TP_OK)
		return rc;
	if (status == 127)
		return tp_err_set(e, TP_EUNAVAILABLE, "parallel: not installed: "
		    "the parallel engine needs GNU parallel (Debian's package "
		    "parallel)");
	if (strncmp(out, "GNU parallel", 12) != 0)
		return tp_err_set(e, TP_EUNAVAILABLE, "parallel: not GNU parallel "
		    "(moreutils' program of that name?): install Debian's "
		    "package parallel");
	return TP_OK;
}

static int
parallel_engine(const tp_engine_opts *o, const int *numbers, int n,
    tp_err *e)
{
	words c = {0};
	char jobs[16], k[16];
	int rc, code;

	if ((rc = gnu_parallel(e)) != TP_OK)
		return rc;
	snprintf(jobs, sizeof(jobs), "%d", o->jobs);
	word(&c, "parallel");
	if (o->jobs > 0) {
		word(&c, "-j");
		word(&c, jobs);
	}
	word(&c, "--halt");
	word(&c, "never");
	if (o->sshlogin != NULL) {
		word(&c, "--sshlogin");
		word(&c, o->sshlogin);
		word(&c, "--env");
		word(&c, "TABPIPE_DB");
	}
	engine_args(&c, o);
	word(&c, worker_program(o));
	word(&c, "--study");
	word(&c, o->study);
	word(&c, "--trial");
	word(&c, "{}");
	if (o->quiet)
		word(&c, "-q");
	word(&c, ":::");
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%d", numbers[i]);
		word(&c, k);
	}
	if ((rc = run_engine(&c, o, &code, e)) == TP_OK && code != 0)
		tp_notef(o->note, o->ctx, 1, "parallel: %s", code < 101 ?
		    "some of the trials' workers failed" : "it failed");
	return rc;
}

static int
slurm_engine(const tp_engine_opts *o, const int *numbers, int n, tp_err *e)
{
	char path[4200];
	words c = {0};
	int rc, code;

	if ((rc = job_file(o, numbers, n, "sbatch", path, sizeof(path), e)) !=
	    TP_OK)
		return rc;
	word(&c, "sbatch");
	word(&c, "--wait");
	word(&c, path);
	if ((rc = run_engine(&c, o, &code, e)) == TP_OK && code != 0)
		tp_notef(o->note, o->ctx, 1, "sbatch --wait %s: exit %d (a task "
		    "failed, or the job was not submitted)", path, code);
	return rc;
}

static int
kubernetes_engine(const tp_engine_opts *o, const int *numbers, int n,
    tp_err *e)
{
	char path[4200], state[256], name[300];
	words c = {0};
	double asked = 0;
	int rc, status, code;

	if ((rc = job_file(o, numbers, n, "yaml", path, sizeof(path), e)) !=
	    TP_OK)
		return rc;
	word(&c, "kubectl");
	word(&c, "apply");
	word(&c, "-f");
	word(&c, path);
	engine_args(&c, o);
	if ((rc = run_engine(&c, o, &code, e)) != TP_OK)
		return rc;
	if (code != 0)
		return tp_err_set(e, TP_EUNAVAILABLE, "kubectl apply -f %s: exit "
		    "%d", path, code);
	snprintf(name, sizeof(name), "job/%s", o->job);
	/* The database says when every trial has a result; the Job's state
	 * says when no pod will give one any more. */
	while (!(o->done != NULL && o->done(o->ctx))) {
		if (o->stop != NULL && *o->stop)
			return TP_OK;
		if (tp_clock() - asked >= 15) {
			char *argv[64] = {"kubectl", "get", name, "-o",
			    "jsonpath={.status.conditions[*].type}"};
			int k = 5;
			for (int i = 0; i < o->nargs && k < 63; i++)
				argv[k++] = (char *)o->args[i];
			argv[k] = NULL;
			if ((rc = run_command(argv, state, sizeof(state), o->stop,
			    &status, e)) != TP_OK)
				return rc;
			if (status == 0 && (strstr(state, "Complete") != NULL ||
			    strstr(state, "Failed") != NULL))
				break;
			asked = tp_clock();
		}
		nap(1);
	}
	return TP_OK;
}

int
tp_tune_dispatch(const tp_engine_opts *o, const int *numbers, int n,
    tp_err *e)
{
	if (n == 0)
		return TP_OK;
	switch (o->engine) {
	case TP_ENGINE_LOCAL:
		return local_pool(o, numbers, n, e);
	case TP_ENGINE_PARALLEL:
		return parallel_engine(o, numbers, n, e);
	case TP_ENGINE_SLURM:
		return slurm_engine(o, numbers, n, e);
	case TP_ENGINE_KUBERNETES:
		return kubernetes_engine(o, numbers, n, e);
	}
	return tp_err_set(e, TP_EINTERNAL, "no such engine");
}
