/*
 * tool: what every tabpipe tool repeats. The program's name in messages;
 * its options, parsed, checked and shown in the usage and the --help text
 * from their tables (lib/base/option.h); errors with the documented exit
 * codes; the record of the tool's run; and the final check of standard
 * output.
 */
#ifndef TP_TOOL_H
#define TP_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/option.h"
#include "db/db.h"
#include "db/predlog.h"
#include "model/score.h"
#include "train/train.h"

#ifndef TABPIPE_VERSION
#define TABPIPE_VERSION "0.0.0"
#endif

/* A family of options: a table and the settings its entries' fields are
 * in. A tool's list of families ends with a NULL table. */
typedef struct {
	const tp_opt *table;
	void *settings;
} tool_options;

/* The tool's name ("ingest"), its options and its operands as the usage
 * shows them ("[file]"). The usage, the --help text and getopt_long's
 * table all come from the options; --help (-h) and --version (-V) are
 * every tool's. forms, when not NULL, is the usage of a tool of several
 * forms (subcommands), which no table can say; its options still come
 * from the tables. */
void tool_init(const char *name, const tool_options *options,
    const char *operands, const char *forms);
const char *tool_name(void); /* "tabpipe-ingest" */

/* Parses the command line: each option's value is checked and set, and a
 * bad one ends the tool with 64 and what was wrong; an entry with an
 * environment variable takes its value (unless empty) when the option is
 * not given. Returns the index of the first operand. */
int tool_parse(int argc, char **argv);

/* Whether the option of the entry whose key is key was given. */
int tool_given(const char *key);

/* -q, --quiet, for the table of a tool that reports on standard error;
 * its field is an int. */
#define TOOL_QUIET(settings, member) {.key = "quiet", .name = "quiet", \
	.letter = 'q', .type = TP_OPT_FLAG, .offset = offsetof(settings, member), \
	.help = "nothing on standard error but errors"}

/* --spool, for the table of a tool that logs predictions; its field is a
 * const char *. */
#define TOOL_SPOOL(settings, member) {.key = "spool", .name = "spool", \
	.arg = "dir", .type = TP_OPT_STRING, .offset = offsetof(settings, member), \
	.env = "TABPIPE_SPOOL", .help = "where predictions wait while the " \
	"database is away ($TABPIPE_HOME/spool, or var/spool)"}

/* Prints the usage and the options to stdout and exits 0 (status 0), or
 * the usage to stderr and exits 64. */
_Noreturn void tool_usage(int status);
/* Prints "tabpipe-NAME: message" and exits with code. */
_Noreturn void tool_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints e's message and returns its code. */
int tool_report(const tp_err *e);
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A checked integer operand (promote's VERSION); a bad one ends the tool
 * with 64. */
long tool_long(const char *s, const char *what, long min, long max);

/* Flushes and closes standard output; a write error is exit 74. Returns
 * status unchanged when the output is fine. */
int tool_finish(int status);

/* Writes a JSON report to path ("-" standard output), indented, whole or
 * not at all. */
int tool_write_report(const char *path, const cJSON *json, tp_err *e);

/* Refuses (exit 64) to send a binary stream to a terminal. */
void tool_binary_stdout(void);

/* Ends the tool with 69 and the reason when d cannot run the model here
 * (a build without CUDA, no GPU): a tool knows before it reads its input,
 * and never runs on the CPU instead. */
void tool_device(enum tp_device d);

/* The operands after the options (from tool_parse): none, and the input
 * is dflt, or one input file, which is returned; more are a usage error. */
const char *tool_input(int argc, char **argv, const char *dflt);
/* The operands after the options as the files of one input (read as one
 * stream, lib/data/shard.h): those named, or standard input ("-") when
 * none; *n gets their count. */
char **tool_inputs(int argc, char **argv, int *n);

/* Opens the database of --db or TABPIPE_DB, or returns NULL when there is
 * none; a database that is configured but unreachable ends the tool with
 * 69 at once, before any work. */
tp_db *tool_db_open(const char *conninfo);
/* The parameters of the tool's run: every recorded setting of its options
 * (TP_OPT_RECORD), in their tables' order; NULL without memory. */
cJSON *tool_params(void);
/* Records the start of the tool's run (0 without a database). */
int64_t tool_run_start(tp_db *db, const cJSON *params, const cJSON *inputs);
/* Records its end: finished for status 0 or 1 (a check that said no),
 * failed otherwise with error, over a new connection when the old one was
 * lost; when none can be made, the run stays running until a later tool
 * on this host marks it failed (tp_db_open). Returns status, or the
 * recording's own failure when status was 0. Closes db. */
int tool_run_finish(tp_db *db, int64_t run, int status, const char *error,
    const cJSON *result);

/* A library's note of what happened (a reload, a failed send): said on
 * stderr when failed, or when *(int *)ctx, the tool's quiet, is 0. */
void tool_note(void *ctx, int failed, const char *msg);
/* The prediction log of the run, with its spool: spool (--spool or
 * TABPIPE_SPOOL), or the spool of the tools' state folder; its notes go
 * through tool_note with quiet. A spool that cannot be kept is said, and
 * the log goes on without. */
void tool_log_open(tp_predlog *log, tp_db *db, int64_t run,
    const char *spool, int *quiet);

/* The progress callback's context: prints an epoch's report as one line on
 * stderr unless quiet, and records it when there is a database. */
typedef struct {
	int quiet;
	tp_db *db;
	int64_t run;
} tool_progress;

void tool_epoch_report(void *ctx, const tp_epoch_report *r);

/* A validation AUC as the progress and summaries print it, in text:
 * "none (one class)" where it is not defined (NaN). */
const char *tool_auc_text(double auc, char text[16]);

#endif
