/*
 * tool: what every tabpipe tool repeats. The program's name in messages,
 * checked parsing of option values (never atoi), usage and errors with the
 * documented exit codes, and the final check of standard output.
 */
#ifndef TP_TOOL_H
#define TP_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "db/db.h"
#include "train/train.h"

#ifndef TABPIPE_VERSION
#define TABPIPE_VERSION "0.0.0"
#endif

/* Sets the name ("ingest") and the usage text printed by tool_usage. */
void tool_init(const char *name, const char *usage);
const char *tool_name(void); /* "tabpipe-ingest" */

/* Prints usage to stdout and exits 0 (status 0), or to stderr and exits 64. */
_Noreturn void tool_usage(int status);
_Noreturn void tool_version(void);
/* Prints "tabpipe-NAME: message" and exits with code. */
_Noreturn void tool_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints e's message and returns its code. */
int tool_report(const tp_err *e);
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checked conversions of an option's value; on a bad value, usage error. */
long tool_long(const char *s, const char *option, long min, long max);
uint64_t tool_u64(const char *s, const char *option);
double tool_double(const char *s, const char *option, double min, double max);

/* Flushes and closes standard output; a write error is exit 74. Returns
 * status unchanged when the output is fine. */
int tool_finish(int status);

/* Refuses (exit 64) to send a binary stream to a terminal. */
void tool_binary_stdout(void);

/* --device, for every tool that runs the model (TOOL_TRAIN_OPTIONS holds
 * it too): tool_device_option keeps its value and returns 1, or returns 0
 * for another option. After the options, tool_device gives the device:
 * --device's, else TABPIPE_DEVICE's, else the CPU. A name other than cpu
 * or cuda is a usage error (64); a device that cannot run the model here
 * (a build without CUDA, no GPU) ends the tool with 69 and the reason, so
 * that a tool knows before it reads its input, and never runs on the CPU
 * instead. */
#define TOOL_DEVICE_OPTION {"device", required_argument, NULL, TOOL_O_DEVICE}

int tool_device_option(int c, const char *arg);
enum tp_device tool_device(void);

/* Options that pretrain and train share: the model's sizes and the
 * optimiser's settings. TOOL_TRAIN_OPTIONS goes into a getopt_long table;
 * tool_train_option handles one of them and returns 1, or returns 0 for an
 * option that is not one of them. */

enum {
	TOOL_O_ACTIVATION = 1000, TOOL_O_BATCH, TOOL_O_CLIP, TOOL_O_D_FF,
	TOOL_O_D_MODEL, TOOL_O_DEVICE, TOOL_O_DROPOUT, TOOL_O_EPOCHS, TOOL_O_HEAD_HIDDEN,
	TOOL_O_HEADS, TOOL_O_LAYERS, TOOL_O_LR, TOOL_O_SEED, TOOL_O_THREADS,
	TOOL_O_WARMUP, TOOL_O_WEIGHT_DECAY,
};

#define TOOL_TRAIN_OPTIONS \
	{"activation", required_argument, NULL, TOOL_O_ACTIVATION}, \
	{"batch", required_argument, NULL, TOOL_O_BATCH}, \
	{"clip", required_argument, NULL, TOOL_O_CLIP}, \
	{"d-ff", required_argument, NULL, TOOL_O_D_FF}, \
	{"d-model", required_argument, NULL, TOOL_O_D_MODEL}, \
	TOOL_DEVICE_OPTION, \
	{"dropout", required_argument, NULL, TOOL_O_DROPOUT}, \
	{"epochs", required_argument, NULL, TOOL_O_EPOCHS}, \
	{"head-hidden", required_argument, NULL, TOOL_O_HEAD_HIDDEN}, \
	{"heads", required_argument, NULL, TOOL_O_HEADS}, \
	{"layers", required_argument, NULL, TOOL_O_LAYERS}, \
	{"lr", required_argument, NULL, TOOL_O_LR}, \
	{"seed", required_argument, NULL, TOOL_O_SEED}, \
	{"threads", required_argument, NULL, TOOL_O_THREADS}, \
	{"warmup", required_argument, NULL, TOOL_O_WARMUP}, \
	{"weight-decay", required_argument, NULL, TOOL_O_WEIGHT_DECAY}

int tool_train_option(int c, const char *arg, tp_train_opts *o);

/* The operands after the options (from getopt's optind): none, and the
 * input is dflt, or one input file, which is returned; more are a usage
 * error. */
const char *tool_input(int argc, char **argv, const char *dflt);

/* Opens the database of --db or TABPIPE_DB, or returns NULL when there is
 * none; a database that is configured but unreachable ends the tool with
 * 69 at once, before any work. */
tp_db *tool_db_open(const char *conninfo);
/* Records the start of the tool's run (0 without a database). */
int64_t tool_run_start(tp_db *db, const cJSON *params, const cJSON *inputs);
/* Records its end: finished for status 0 or 1 (a check that said no),
 * failed otherwise with error. Returns status, or the recording's own
 * failure when status was 0. Closes db. */
int tool_run_finish(tp_db *db, int64_t run, int status, const char *error,
    const cJSON *result);
/* The model and optimiser options as JSON, for the run's record. */
cJSON *tool_train_params(const tp_train_opts *o);

/* The progress callback's context: prints an epoch's report as one line on
 * stderr unless quiet, and records it when there is a database. */
typedef struct {
	int quiet;
	tp_db *db;
	int64_t run;
} tool_progress;

void tool_epoch_report(void *ctx, const tp_epoch_report *r);

#endif
