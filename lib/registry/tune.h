/*
 * tune: running the trials of a study (registry/study.h). Each trial is
 * its own tabpipe-train process, and each wave of trials (a rung) runs on
 * an engine that people already operate, never on a scheduler of
 * tabpipe's own:
 *
 *   local       a pool of worker processes on this machine;
 *   parallel    GNU parallel, here or over ssh (--sshlogin);
 *   slurm       a job array (sbatch --array, --wait), a task a trial;
 *   kubernetes  an Indexed Job (kubectl apply), a pod a trial, which
 *               finds its trial from JOB_COMPLETION_INDEX.
 *
 * Whatever the engine, what it runs is a worker, `tabpipe-tune --study
 * NAME --trial K`, which claims trial K in the database, runs train with
 * the trial's options in the study's folder (its output in the trial's
 * log, train's own database run recording it), reads the validation AUC
 * from that run's result and records it, with a heartbeat while train
 * runs. A worker asked to stop (a signal) stops train and gives the trial
 * back; when its parent ends, it is asked to stop.
 *
 * The files of a study are in its folder of models: trial-K.safetensors,
 * trial-K.log, and the engine's job files NAME.sbatch, NAME.yaml. The
 * study's paths are those of the machine that made it: workers elsewhere
 * need the same folder at the same path (a shared file system).
 */
#ifndef TP_TUNE_H
#define TP_TUNE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "base/err.h"
#include "db/db.h"
#include "registry/study.h"

/* The study's folder and the file of a trial ("models", "log"): the
 * settings' models folder, under its dir when relative, into buf of n
 * bytes; TP_EUSAGE when it does not fit, TP_EDATA when the settings lack
 * them. ext NULL: the folder itself. */
int tp_tune_path(const tp_study *s, int number, const char *ext, char *buf,
    size_t n, tp_err *e);

/* Train's command line for trial t: train (the program), the study's
 * fixed options, --epochs (the budget), --seed, the trial's parameters
 * ("--lr 0.001"; an option whose value is null left out), --valid, -o
 * model, the training stream. *argv is NULL-ended, to free with
 * tp_tune_argv_free. */
int tp_tune_argv(const tp_study *s, const tp_trial *t, const char *train,
    const char *model, char ***argv, tp_err *e);
void tp_tune_argv_free(char **argv);

typedef struct {
	const char *train;     /* tabpipe-train to run (execvp: a name is
	                          looked up in PATH) */
	const char *conninfo;  /* given to train as TABPIPE_DB; NULL: train
	                          has this process's environment */
	double heartbeat;      /* seconds between heartbeats */
	double stale;          /* a heartbeat older than this is a dead
	                          worker's (tp_trial_alive) */
	volatile sig_atomic_t *stop; /* set (by a signal): stop train, give
	                          the trial back; may be NULL */
} tp_worker_opts;

/* Runs trial number as a worker. *ran is 0 when it was not claimed, with
 * the reason in why; else t is the trial as recorded: finished with its
 * value, failed (train's last line of error, or how it ended), or, when
 * stopped, pending again. A trial whose train failed is TP_OK: the
 * failure is the trial's, recorded; an error is the worker's own (the
 * database, the study's folder). */
int tp_tune_trial(tp_db *db, const tp_study *s, int number,
    const tp_worker_opts *o, tp_trial *t, int *ran, char *why,
    size_t whylen, tp_err *e);

enum tp_engine { TP_ENGINE_LOCAL, TP_ENGINE_PARALLEL, TP_ENGINE_SLURM,
	TP_ENGINE_KUBERNETES };
/* "local", "parallel", "slurm", "kubernetes", NULL-ended. */
extern const char *const tp_engine_names[];

typedef struct {
	enum tp_engine engine;
	int jobs;              /* trials at once; 0: the engine's default
	                          (local: 1, parallel: a CPU each, Slurm and
	                          Kubernetes: every trial) */
	const char *self;      /* the tabpipe-tune that workers run here, an
	                          absolute path; remote workers (ssh,
	                          kubernetes) run tabpipe-tune from PATH */
	const char *study;     /* its name */
	const char *dir;       /* the study's folder: job files and logs */
	const char *workdir;   /* the study's dir (kubernetes: the pods'
	                          working folder, where the volume goes) */
	const char *job;       /* the wave's name: job files, Slurm's job
	                          name, the Kubernetes Job ([a-z0-9-]) */
	const char *sshlogin;  /* parallel: --sshlogin, or NULL */
	const char *image;     /* kubernetes: the container image */
	const char *const *args; /* more arguments for the engine's command
	                          (parallel, sbatch's #SBATCH lines, kubectl) */
	int nargs;
	int quiet;             /* local workers say nothing but errors */
	volatile sig_atomic_t *stop; /* set by a signal: stop the workers */
	/* A local worker has ended with exit status (or 128 + signal). */
	void (*ended)(void *ctx, int number, int status);
	/* Whether every trial of the wave has a result, as the database
	 * says (kubernetes waits on it). */
	int (*done)(void *ctx);
	tp_note_fn *note;      /* what the engine said went wrong */
	void *ctx;
} tp_engine_opts;

/* Writes what the engine runs for trials numbers[0..n): local and
 * parallel, one worker's command a line (for `parallel -j N`); slurm, the
 * batch script of the job array; kubernetes, the Indexed Job's manifest. */
int tp_tune_script(const tp_engine_opts *o, const int *numbers, int n,
    FILE *f, tp_err *e);

/* Runs trials numbers[0..n) on the engine and returns once it has ended
 * them: the local pool's workers, GNU parallel, sbatch --wait; for
 * kubernetes, once done() says so or the Job is Complete or Failed. The
 * job file is written to the study's folder first. An engine that is not
 * there (no GNU parallel, no sbatch, no kubectl) is TP_EUNAVAILABLE;
 * workers that fail are the engine's own business, said through note:
 * the database says what each trial came to. */
int tp_tune_dispatch(const tp_engine_opts *o, const int *numbers, int n,
    tp_err *e);

/* Trial numbers as Slurm's --array takes them: "3,5,7-9". */
const char *tp_tune_array(const int *numbers, int n, char *buf, size_t len);

#endif
