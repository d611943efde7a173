/* tabpipe-predict: a model's predictions for a stream, CSV, or requests. */
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "serve/predict.h"
#include "serve/serve.h"
#include "tool.h"

typedef struct {
	const char *model;
	enum tp_predict_format format;
	int csv, threads;
	enum tp_device device;
	const char *db, *spool;
	int log, serve, quiet;
	tp_why_opts why;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const char *const formats[] = {"csv", "jsonl", NULL};

static const tp_opt options[] = {
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING, .flags = TP_OPT_RECORD | TP_OPT_REQUIRED,
	    .help = "the model file, or a registry reference (NAME@production)"},
	{OPT(format), .name = "format", .type = TP_OPT_CHOICE,
	    .choices = formats, .flags = TP_OPT_RECORD,
	    .help = "the predictions as CSV or as JSON lines"},
	{OPT(csv), .name = "csv", .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD,
	    .help = "the input is raw CSV, encoded with the model's encoding"},
	{OPT(threads), .name = "threads", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 256, .flags = TP_OPT_RECORD,
	    .help = "CPU threads that score"},
	TP_DEVICE_OPTION(settings, device),
	TP_DB_OPTION(settings, db),
	{OPT(log), .name = "log", .type = TP_OPT_FLAG,
	    .help = "log every prediction in the database"},
	{OPT(serve), .name = "serve", .type = TP_OPT_FLAG,
	    .help = "answer JSON requests on standard input, one a line"},
	{.key = "explain", .offset = offsetof(settings, why.k),
	    .name = "explain", .arg = "k", .type = TP_OPT_INT, .min = 1,
	    .max = TP_WHY_MAX_K, .flags = TP_OPT_RECORD,
	    .help = "give each row the k features that raise its score most"},
	{.key = "steps", .offset = offsetof(settings, why.steps),
	    .name = "steps", .arg = "n", .type = TP_OPT_INT, .min = 1,
	    .max = TP_EXPLAIN_MAX_STEPS, .flags = TP_OPT_RECORD,
	    .help = "quadrature steps of the attributions behind --explain"},
	{.key = "reasons", .offset = offsetof(settings, why.reasons),
	    .name = "reasons", .arg = "file", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "reason-code texts to use instead of the model's"},
	TOOL_SPOOL(settings, spool),
	TOOL_QUIET(settings, quiet),
	{0},
};

static volatile sig_atomic_t hup, stop;

static void
on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

static void
on_stop(int sig)
{
	stop = sig;
}

/* Serves requests from standard input until its end, or SIGTERM or SIGINT;
 * SIGHUP reloads the model. The signals are blocked but while waiting, so
 * that one never comes between the check of its flag and the wait. */
static int
serve(tp_db *db, const char *ref, int nthreads, const tp_why_opts *why,
    int *quiet, tp_predlog *log, tp_predictor *p, tp_serve_counts *counts,
    tp_err *e)
{
	struct sigaction sa = {0};
	sigset_t block, wait_mask;

	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGHUP);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	tp_serve_opts o = {
		.in = STDIN_FILENO, .out = stdout, .db = db, .ref = ref,
		.nthreads = nthreads, .why = why->k > 0 ? why : NULL, .log = log, .reload = &hup, .stop = &stop,
		.wait_mask = &wait_mask, .max_line = TP_SERVE_MAX_LINE,
		.note = tool_note, .ctx = quiet,
	};
	return tp_serve(&o, p, counts, e);
}

/* Scores the rows of the files, streams or CSV (or of their shard), into
 * standard output; what was written is logged even when the run fails. */
static int
batch(const settings *s, char **files, int n, const tp_shard *shard,
    tp_predictor *p, tp_predlog *log, tp_predict_counts *counts, tp_err *e)
{
	tp_predict_source *src = NULL;
	tp_err fe = {0};
	int rc, frc;

	if ((rc = tp_predict_source_open(&src, files, n, shard, s->csv,
	    &p->vm.enc, e)) == TP_OK)
		rc = tp_predict_run(p, src, stdout, s->format, log, counts, e);
	if (log != NULL && (frc = tp_predlog_finish(log, &fe)) != TP_OK &&
	    rc == TP_OK) {
		rc = frc;
		*e = fe;
	}
	tp_predict_source_close(src);
	return rc;
}

/* Says what was done, or what went wrong, on stderr. */
static void
summary(const settings *s, int rc, const tp_err *e, const tp_predictor *p,
    const tp_predict_counts *counts, const tp_serve_counts *served)
{
	if (rc != TP_OK)
		tool_report(e);
	else if (!s->quiet && s->serve)
		tool_warn("served %llu request%s (%llu with errors), %llu reload%s",
		    (unsigned long long)served->requests, served->requests == 1 ? "" : "s",
		    (unsigned long long)served->errors,
		    (unsigned long long)served->reloads, served->reloads == 1 ? "" : "s");
	else if (!s->quiet)
		tool_warn("scored %llu row%s, %llu labelled 1 at threshold %.4g",
		    (unsigned long long)counts->rows, counts->rows == 1 ? "" : "s",
		    (unsigned long long)counts->positives, p->vm.meta.threshold);
	if (rc == TP_OK && !s->quiet && p->why.rows > 0)
		tool_warn("explained %llu row%s with %d steps: attributions miss the change of log-odds by %.3g on average (largest %.3g), of a mean change %.3g",
		    (unsigned long long)p->why.rows, p->why.rows == 1 ? "" : "s",
		    p->why.x.steps, p->why.gap_sum / (double)p->why.rows,
		    p->why.gap_max, p->why.change_sum / (double)p->why.rows);
}

/* The run's result: what was scored or served, and logged. */
static cJSON *
result_json(const settings *s, const tp_predict_counts *counts,
    const tp_serve_counts *served, const tp_predlog *log)
{
	cJSON *r = cJSON_CreateObject();

	if (s->serve) {
		cJSON_AddNumberToObject(r, "requests", (double)served->requests);
		cJSON_AddNumberToObject(r, "errors", (double)served->errors);
		cJSON_AddNumberToObject(r, "reloads", (double)served->reloads);
		cJSON_AddNumberToObject(r, "reload_failures", (double)served->reload_failures);
	} else {
		cJSON_AddNumberToObject(r, "rows", (double)counts->rows);
		cJSON_AddNumberToObject(r, "positives", (double)counts->positives);
	}
	if (log != NULL) {
		cJSON_AddNumberToObject(r, "logged", (double)log->logged);
		cJSON_AddNumberToObject(r, "spooled", (double)log->spooled);
		cJSON_AddNumberToObject(r, "replayed", (double)log->replayed);
	}
	return r;
}

int
main(int argc, char **argv)
{
	settings s = {.threads = 1, .why = {.steps = TP_EXPLAIN_STEPS}};
	tp_shard shard = {0};
	tool_options families[] = {
		{options, &s}, {tp_shard_options, &shard}, {NULL, NULL},
	};
	cJSON *params = NULL, *inputs = NULL, *result = NULL;
	tp_predictor p = {0};
	tp_predlog log = {0}, *logp = NULL;
	tp_predict_counts counts = {0};
	tp_serve_counts served = {0};
	char **files;
	int n, rc;
	tp_db *db;
	int64_t run;
	tp_err e = {0};

	tool_init("predict", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.model == NULL)
		tool_die(TP_EUSAGE, "-m is required: the model file or registry reference to predict with");
	if ((tool_given("steps") || tool_given("reasons")) && s.why.k == 0)
		tool_die(TP_EUSAGE, "--steps and --reasons are for the reasons of --explain k");
	if (s.serve && (n > 1 || strcmp(files[0], "-") != 0 || s.csv ||
	    tool_given("format") || shard.n > 0))
		tool_die(TP_EUSAGE, "--serve reads JSON requests on standard input and answers in JSON lines: it takes no file, --csv, --format or --shard");
	tool_device(s.device);
	/* A reload makes a new predictor, which scores on the CPU. */
	if (s.serve && s.device != TP_DEVICE_CPU)
		tool_die(TP_EUSAGE, "--serve scores on the CPU: it takes no --device %s",
		    tp_device_name(s.device));
	db = tool_db_open(s.db);
	if (s.log && db == NULL)
		tool_die(TP_EUSAGE, "--log records the predictions in the database: give one with --db or TABPIPE_DB");

	if ((rc = tp_predictor_open(&p, db, s.model, s.threads,
	    s.why.k > 0 ? &s.why : NULL, &e)) != TP_OK ||
	    (s.device != TP_DEVICE_CPU &&
	    (rc = tp_scorer_open(&p.scorer, &p.vm.model, s.device, &e)) != TP_OK)) {
		tool_report(&e);
		tp_predictor_free(&p);
		tp_db_close(db);
		return tool_finish(rc);
	}
	params = tool_params();
	cJSON_AddStringToObject(params, "mode", s.serve ? "serve" : "batch");
	if (!s.serve) {
		cJSON *input = cJSON_AddArrayToObject(params, "inputs");
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(input, cJSON_CreateString(files[i]));
	}
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "model_sha256", p.vm.meta.sha256);
	if (p.vm.version.id > 0)
		cJSON_AddNumberToObject(inputs, "model_version", p.vm.version.version);
	cJSON_AddStringToObject(inputs, "encoding", p.vm.enc.fingerprint);
	run = tool_run_start(db, params, inputs);
	/* Serving keeps a record of every answer; a batch only on request. */
	if (db != NULL && (s.log || s.serve)) {
		tool_log_open(&log, db, run, s.spool, &s.quiet);
		logp = &log;
	}

	rc = s.serve ? serve(db, s.model, s.threads, &s.why, &s.quiet, logp, &p,
	    &served, &e) : batch(&s, files, n, &shard, &p, logp, &counts, &e);
	/* A server says each failed send as it happens and goes on; that
	 * predictions went unrecorded, or wait in the spool for a later run,
	 * still fails the run. */
	if (rc == TP_OK && logp != NULL && log.lost > 0)
		rc = tp_err_set(&e, TP_EUNAVAILABLE,
		    "database: %llu prediction%s could not be logged",
		    (unsigned long long)log.lost, log.lost == 1 ? "" : "s");
	else if (rc == TP_OK && logp != NULL && log.unsent > 0)
		rc = tp_err_set(&e, TP_EUNAVAILABLE,
		    "database: %llu prediction%s could not be sent: they wait in "
		    "%s for a later run to send", (unsigned long long)log.unsent,
		    log.unsent == 1 ? "" : "s", log.spool);
	summary(&s, rc, &e, &p, &counts, &served);
	result = result_json(&s, &counts, &served, logp);
	rc = tool_run_finish(db, run, rc, e.msg, result);
	tp_predlog_free(&log);
	tp_predictor_free(&p);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	return tool_finish(rc);
}
