/* tabpipe-predict: a model's predictions for a stream, CSV, or requests. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "serve/predict.h"
#include "serve/serve.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-predict [-q] [--csv] [--db conninfo] [--device cpu|cuda]\n"
    "           [--format csv|jsonl] [--log] [--serve] [--threads n] -m model\n"
    "           [file]\n";

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
	(void)sig;
	stop = 1;
}

static void
note(void *ctx, int failed, const char *msg)
{
	if (failed || !*(const int *)ctx)
		tool_warn("%s", msg);
}

/* Serves requests from standard input until its end, or SIGTERM or SIGINT;
 * SIGHUP reloads the model. The signals are blocked but while waiting, so
 * that one never comes between the check of its flag and the wait. */
static int
serve(tp_db *db, const char *ref, int nthreads, int *quiet, tp_predlog *log,
    tp_predictor *p, tp_serve_counts *counts, tp_err *e)
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
		.nthreads = nthreads, .log = log, .reload = &hup, .stop = &stop,
		.wait_mask = &wait_mask, .max_line = TP_SERVE_MAX_LINE,
		.note = note, .ctx = quiet,
	};
	return tp_serve(&o, p, counts, e);
}

int
main(int argc, char **argv)
{
	enum { O_CSV = 256, O_DB, O_FORMAT, O_LOG, O_SERVE, O_THREADS };
	static const struct option longopts[] = {
		{"csv", no_argument, NULL, O_CSV},
		{"db", required_argument, NULL, O_DB},
		TOOL_DEVICE_OPTION,
		{"format", required_argument, NULL, O_FORMAT},
		{"help", no_argument, NULL, 'h'},
		{"log", no_argument, NULL, O_LOG},
		{"model", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"serve", no_argument, NULL, O_SERVE},
		{"threads", required_argument, NULL, O_THREADS},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	enum tp_predict_format fmt = TP_PREDICT_CSV;
	const char *path = "-", *model = NULL, *conninfo = NULL, *format = NULL;
	int c, rc, csv = 0, log_all = 0, serving = 0, quiet = 0, nthreads = 1;
	cJSON *params = NULL, *inputs = NULL, *result = NULL;
	tp_predictor p = {0};
	tp_predict_source *src = NULL;
	tp_predlog log = {0}, *logp = NULL;
	tp_predict_counts counts = {0};
	tp_serve_counts served = {0};
	enum tp_device device;
	tp_db *db;
	int64_t run;
	FILE *in = NULL;
	tp_err e = {0};

	tool_init("predict", usage);
	while ((c = getopt_long(argc, argv, "hm:qV", longopts, NULL)) != -1) {
		if (tool_device_option(c, optarg))
			continue;
		switch (c) {
		case O_CSV: csv = 1; break;
		case O_DB: conninfo = optarg; break;
		case O_FORMAT:
			format = optarg;
			if (strcmp(optarg, "csv") == 0)
				fmt = TP_PREDICT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = TP_PREDICT_JSONL;
			else
				tool_die(TP_EUSAGE, "--format: \"%s\" is not csv or jsonl", optarg);
			break;
		case 'h': tool_usage(0);
		case O_LOG: log_all = 1; break;
		case 'm': model = optarg; break;
		case 'q': quiet = 1; break;
		case O_SERVE: serving = 1; break;
		case O_THREADS:
			nthreads = (int)tool_long(optarg, "--threads", 1, 256);
			break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (model == NULL)
		tool_die(TP_EUSAGE, "-m is required: the model file or registry reference to predict with");
	if (serving && (strcmp(path, "-") != 0 || csv || format != NULL))
		tool_die(TP_EUSAGE, "--serve reads JSON requests on standard input and answers in JSON lines: it takes no file, --csv or --format");
	device = tool_device();
	/* A reload makes a new predictor, which scores on the CPU. */
	if (serving && device != TP_DEVICE_CPU)
		tool_die(TP_EUSAGE, "--serve scores on the CPU: it takes no --device %s",
		    tp_device_name(device));
	db = tool_db_open(conninfo);
	if (log_all && db == NULL)
		tool_die(TP_EUSAGE, "--log records the predictions in the database: give one with --db or TABPIPE_DB");

	if ((rc = tp_predictor_open(&p, db, model, nthreads, &e)) != TP_OK ||
	    (device != TP_DEVICE_CPU &&
	    (rc = tp_scorer_open(&p.scorer, &p.vm.model, device, &e)) != TP_OK)) {
		tool_report(&e);
		tp_predictor_free(&p);
		tp_db_close(db);
		return tool_finish(rc);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "model", model);
	cJSON_AddStringToObject(params, "mode", serving ? "serve" : "batch");
	if (!serving) {
		cJSON_AddStringToObject(params, "input", path);
		cJSON_AddStringToObject(params, "format", fmt == TP_PREDICT_CSV ? "csv" : "jsonl");
		cJSON_AddBoolToObject(params, "csv", csv);
	}
	cJSON_AddNumberToObject(params, "threads", nthreads);
	cJSON_AddStringToObject(params, "device", tp_device_name(device));
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "model_sha256", p.vm.meta.sha256);
	if (p.vm.version.version > 0)
		cJSON_AddNumberToObject(inputs, "model_version", p.vm.version.version);
	cJSON_AddStringToObject(inputs, "encoding", p.vm.enc.fingerprint);
	run = tool_run_start(db, params, inputs);
	/* Serving keeps a record of every answer; a batch only on request. */
	if (db != NULL && (log_all || serving)) {
		tp_predlog_init(&log, db, run);
		logp = &log;
	}

	result = cJSON_CreateObject();
	if (serving) {
		rc = serve(db, model, nthreads, &quiet, logp, &p, &served, &e);
		cJSON_AddNumberToObject(result, "requests", (double)served.requests);
		cJSON_AddNumberToObject(result, "errors", (double)served.errors);
		cJSON_AddNumberToObject(result, "reloads", (double)served.reloads);
		cJSON_AddNumberToObject(result, "reload_failures", (double)served.reload_failures);
	} else {
		if ((rc = tp_open_input(path, &in, &e)) == TP_OK &&
		    (rc = tp_predict_source_open(&src, in, strcmp(path, "-") ?
		    path : "standard input", csv, &p.vm.enc, &e)) == TP_OK)
			rc = tp_predict_run(&p, src, stdout, fmt, logp, &counts, &e);
		/* What was written out is recorded, also when the run failed. */
		if (logp != NULL) {
			tp_err fe = {0};
			int frc = tp_predlog_flush(logp, &fe);
			if (rc == TP_OK && frc != TP_OK) {
				rc = frc;
				e = fe;
			}
		}
		cJSON_AddNumberToObject(result, "rows", (double)counts.rows);
		cJSON_AddNumberToObject(result, "positives", (double)counts.positives);
	}
	if (logp != NULL) {
		cJSON_AddNumberToObject(result, "logged", (double)log.logged);
		/* A server says each failed send as it happens and goes on; that
		 * predictions went unrecorded still fails the run. */
		if (rc == TP_OK && log.lost > 0)
			rc = tp_err_set(&e, TP_EUNAVAILABLE,
			    "database: %llu prediction%s could not be logged",
			    (unsigned long long)log.lost, log.lost == 1 ? "" : "s");
	}
	if (rc != TP_OK)
		tool_report(&e);
	else if (!quiet && serving)
		tool_warn("served %llu request%s (%llu with errors), %llu reload%s",
		    (unsigned long long)served.requests, served.requests == 1 ? "" : "s",
		    (unsigned long long)served.errors,
		    (unsigned long long)served.reloads, served.reloads == 1 ? "" : "s");
	else if (!quiet)
		tool_warn("scored %llu row%s, %llu labelled 1 at threshold %.4g",
		    (unsigned long long)counts.rows, counts.rows == 1 ? "" : "s",
		    (unsigned long long)counts.positives, p.vm.meta.threshold);
	rc = tool_run_finish(db, run, rc, e.msg, result);
	tp_predlog_free(&log);
	tp_predict_source_close(src);
	if (in != NULL)
		tp_close_input(in);
	tp_predictor_free(&p);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	return tool_finish(rc);
}
