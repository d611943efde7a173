#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/number.h"
#include "tool.h"

static char name[64] = "tabpipe";
static const char *usage_text = "";

void
tool_init(const char *tool, const char *usage)
{
	snprintf(name, sizeof(name), "tabpipe-%s", tool);
	usage_text = usage;
}

const char *
tool_name(void)
{
	return name;
}

void
tool_usage(int status)
{
	fputs(usage_text, status == 0 ? stdout : stderr);
	if (status == 0)
		exit(tool_finish(0));
	exit(TP_EUSAGE);
}

void
tool_version(void)
{
	printf("%s %s\n", name, TABPIPE_VERSION);
	exit(tool_finish(0));
}

void
tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	putc('\n', stderr);
	exit(code);
}

void
tool_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	putc('\n', stderr);
}

int
tool_report(const tp_err *e)
{
	fprintf(stderr, "%s: %s\n", name, e->msg);
	return e->code ? e->code : TP_EINTERNAL;
}

long
tool_long(const char *s, const char *option, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		tool_die(TP_EUSAGE, "%s: \"%s\" is not an integer from %ld to %ld",
		    option, s, min, max);
	return v;
}

uint64_t
tool_u64(const char *s, const char *option)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || *s == '-')
		tool_die(TP_EUSAGE, "%s: \"%s\" is not a non-negative integer",
		    option, s);
	return (uint64_t)v;
}

double
tool_double(const char *s, const char *option, double min, double max)
{
	double v;

	if (tp_parse_double(s, strlen(s), &v) < 0 || v < min || v > max)
		tool_die(TP_EUSAGE, "%s: \"%s\" is not a number from %g to %g",
		    option, s, min, max);
	return v;
}

int
tool_finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		/* A failed run has said what went wrong, the write error
		 * included. */
		if (status == 0)
			fprintf(stderr, "%s: standard output: write error: %s\n",
			    name, strerror(errno));
		return status ? status : TP_EIO;
	}
	return status;
}

void
tool_binary_stdout(void)
{
	if (isatty(STDOUT_FILENO))
		tool_die(TP_EUSAGE,
		    "not writing a binary stream to a terminal: redirect standard output");
}

/* --device's value, until tool_device reads it. */
static const char *device_arg;

int
tool_device_option(int c, const char *arg)
{
	if (c != TOOL_O_DEVICE)
		return 0;
	device_arg = arg;
	return 1;
}

enum tp_device
tool_device(void)
{
	const char *from = "--device", *arg = device_arg;
	enum tp_device d = TP_DEVICE_CPU;
	tp_err e = {0};
	int rc;

	/* An empty variable is an unset one, as the shell's ${VAR:-} has it. */
	if (arg == NULL) {
		from = "TABPIPE_DEVICE";
		if ((arg = getenv(from)) != NULL && *arg == '\0')
			arg = NULL;
	}
	if (arg != NULL && tp_device_parse(arg, &d) < 0)
		tool_die(TP_EUSAGE, "%s: \"%s\" is not cpu or cuda", from, arg);
	if ((rc = tp_device_check(d, &e)) != TP_OK)
		tool_die(rc, "--device %s: %s", tp_device_name(d), e.msg);
	return d;
}

int
tool_train_option(int c, const char *arg, tp_train_opts *o)
{
	tp_config *m = &o->model;

	if (tool_device_option(c, arg))
		return 1;
	switch (c) {
	case TOOL_O_ACTIVATION:
		if (strcmp(arg, "gelu") == 0)
			m->activation = TP_GELU;
		else if (strcmp(arg, "relu") == 0)
			m->activation = TP_RELU;
		else
			tool_die(TP_EUSAGE, "--activation: \"%s\" is not gelu or relu", arg);
		return 1;
	case TOOL_O_BATCH: o->batch = (int)tool_long(arg, "--batch", 1, 1 << 20); return 1;
	case TOOL_O_CLIP: o->clip = (float)tool_double(arg, "--clip", 0, 1e9); return 1;
	case TOOL_O_D_FF: m->d_ff = (int)tool_long(arg, "--d-ff", 1, 65536); return 1;
	case TOOL_O_D_MODEL: m->d_model = (int)tool_long(arg, "--d-model", 1, 4096); return 1;
	case TOOL_O_DROPOUT: m->dropout = (float)tool_double(arg, "--dropout", 0, 0.99); return 1;
	case TOOL_O_EPOCHS: o->epochs = (int)tool_long(arg, "--epochs", 1, 1000000); return 1;
	case TOOL_O_HEAD_HIDDEN:
		m->head_hidden = (int)tool_long(arg, "--head-hidden", 1, 65536);
		return 1;
	case TOOL_O_HEADS: m->heads = (int)tool_long(arg, "--heads", 1, 4096); return 1;
	case TOOL_O_LAYERS: m->layers = (int)tool_long(arg, "--layers", 1, 64); return 1;
	case TOOL_O_LR: o->lr = (float)tool_double(arg, "--lr", 0, 1e30); return 1;
	case TOOL_O_SEED: o->seed = tool_u64(arg, "--seed"); return 1;
	case TOOL_O_THREADS: o->threads = (int)tool_long(arg, "--threads", 1, 256); return 1;
	case TOOL_O_WARMUP: o->warmup = (float)tool_double(arg, "--warmup", 0, 1); return 1;
	case TOOL_O_WEIGHT_DECAY:
		o->weight_decay = (float)tool_double(arg, "--weight-decay", 0, 1e9);
		return 1;
	}
	return 0;
}

void
tool_epoch_report(void *ctx, const tp_epoch_report *r)
{
	tool_progress *p = ctx;
	char valid[96] = "";

	if (p->db != NULL) {
		cJSON *m = cJSON_CreateObject();
		tp_err e = {0};
		cJSON_AddNumberToObject(m, "loss", r->loss);
		if (!isnan(r->valid_auc)) {
			cJSON_AddNumberToObject(m, "valid_auc", r->valid_auc);
			cJSON_AddNumberToObject(m, "valid_log_loss", r->valid_loss);
			cJSON_AddBoolToObject(m, "best", r->best);
		}
		cJSON_AddNumberToObject(m, "rows_per_s", r->rows_per_s);
		cJSON_AddNumberToObject(m, "seconds", r->seconds);
		/* Metrics are a record, not the work: a failure to keep one is
		 * said and the training goes on. */
		if (tp_db_epoch(p->db, p->run, r->epoch, m, &e) != TP_OK)
			tool_report(&e);
		cJSON_Delete(m);
	}
	if (p->quiet)
		return;
	if (!isnan(r->valid_auc))
		snprintf(valid, sizeof(valid), ", valid AUC %.4f, log loss %.4f%s",
		    r->valid_auc, r->valid_loss, r->best ? " (best)" : "");
	double eta = r->seconds * (r->epochs - r->epoch);
	fprintf(stderr, "%s: epoch %d/%d: loss %.4f%s, %.0f rows/s, %.1f s, at most %d:%02d left\n",
	    name, r->epoch, r->epochs, r->loss, valid, r->rows_per_s, r->seconds,
	    (int)(eta / 60), (int)eta % 60);
}

const char *
tool_input(int argc, char **argv, const char *dflt)
{
	if (argc - optind > 1)
		tool_usage(TP_EUSAGE);
	return argc - optind == 1 ? argv[optind] : dflt;
}

tp_db *
tool_db_open(const char *conninfo)
{
	tp_db *db;
	tp_err e = {0};

	if (tp_db_open(&db, conninfo, name + strlen("tabpipe-"), &e) != TP_OK)
		exit(tool_report(&e));
	return db;
}

int64_t
tool_run_start(tp_db *db, const cJSON *params, const cJSON *inputs)
{
	tp_err e = {0};
	int64_t run = 0;

	if (db != NULL && tp_db_run_start(db, params, inputs, &run, &e) != TP_OK)
		exit(tool_report(&e));
	return run;
}

int
tool_run_finish(tp_db *db, int64_t run, int status, const char *error,
    const cJSON *result)
{
	tp_err e = {0};

	if (db == NULL)
		return status;
	if (run > 0 && tp_db_run_finish(db, run, status == TP_OK || status == TP_NO,
	    status == TP_OK || status == TP_NO ? NULL : error, result, &e) != TP_OK) {
		tool_report(&e);
		if (status == TP_OK)
			status = e.code;
	}
	tp_db_close(db);
	return status;
}

cJSON *
tool_train_params(const tp_train_opts *o)
{
	cJSON *j = tp_config_to_json(&o->model);

	if (j == NULL)
		return NULL;
	cJSON_AddNumberToObject(j, "epochs", o->epochs);
	cJSON_AddNumberToObject(j, "batch", o->batch);
	cJSON_AddNumberToObject(j, "lr", o->lr);
	cJSON_AddNumberToObject(j, "weight_decay", o->weight_decay);
	cJSON_AddNumberToObject(j, "clip", o->clip);
	cJSON_AddNumberToObject(j, "warmup", o->warmup);
	cJSON_AddNumberToObject(j, "seed", (double)o->seed);
	cJSON_AddNumberToObject(j, "threads", o->threads);
	cJSON_AddStringToObject(j, "device", tp_device_name(o->device));
	return j;
}
