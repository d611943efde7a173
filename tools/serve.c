/* tabpipe-serve: the model over HTTP. */
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "serve/access.h"
#include "serve/http.h"
#include "tool.h"

enum { MAX_LISTEN = 16 };

typedef struct {
	const char *model;
	const char *listen[MAX_LISTEN];
	int nlisten;
	int threads;
	const char *db, *spool, *tokens;
	int require_token;
	double rate, burst;
	int max_batch, max_connections, timeout;
	long max_body;
	const char *tls_cert, *tls_key;
	tp_why_opts why;
	int quiet;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static int
parse_listen(void *v, const char *arg, const char *from, tp_err *e)
{
	settings *s = v;

	if (s->nlisten == MAX_LISTEN)
		return tp_err_set(e, TP_EUSAGE, "%s: at most %d addresses", from,
		    MAX_LISTEN);
	s->listen[s->nlisten++] = arg;
	return TP_OK;
}

static cJSON *
listen_json(const void *v)
{
	const settings *s = v;

	return cJSON_CreateStringArray(s->listen, s->nlisten);
}

static const tp_opt options[] = {
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING, .flags = TP_OPT_RECORD | TP_OPT_REQUIRED,
	    .help = "the model file, or a registry reference (NAME@production)"},
	{OPT(listen), .name = "listen", .arg = "address:port",
	    .type = TP_OPT_CUSTOM, .flags = TP_OPT_RECORD, .parse = parse_listen,
	    .json = listen_json, .help = "where to listen (127.0.0.1:8080); "
	    "again for more"},
	{OPT(threads), .name = "threads", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 256, .flags = TP_OPT_RECORD,
	    .help = "threads that read, score and answer, for each address"},
	TP_DB_OPTION(settings, db),
	TOOL_SPOOL(settings, spool),
	{.key = "steps", .offset = offsetof(settings, why.steps),
	    .name = "steps", .arg = "n", .type = TP_OPT_INT, .min = 1,
	    .max = TP_EXPLAIN_MAX_STEPS, .flags = TP_OPT_RECORD,
	    .help = "quadrature steps of the attributions behind the reasons"},
	{OPT(tokens), .name = "tokens", .arg = "file", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "the bearer tokens, ROLE NAME TOKEN a line (mode 600)"},
	{.key = "reasons", .offset = offsetof(settings, why.reasons),
	    .name = "reasons", .arg = "file", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "reason-code texts to give instead of the model's"},
	{OPT(require_token), .name = "require-token", .type = TP_OPT_FLAG,
	    .flags = TP_OPT_RECORD,
	    .help = "predictions and the model's card need a token too"},
	{OPT(rate), .name = "rate", .arg = "n", .type = TP_OPT_DOUBLE,
	    .min = 0, .max = 1e6, .flags = TP_OPT_RECORD,
	    .help = "requests a second for each token or address; 0: no limit"},
	{OPT(burst), .name = "burst", .arg = "n", .type = TP_OPT_DOUBLE,
	    .min = 0, .max = 1e9, .flags = TP_OPT_RECORD,
	    .help = "requests at once over the rate; 0: twice the rate"},
	{OPT(max_batch), .name = "max-batch", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 100000, .flags = TP_OPT_RECORD,
	    .help = "applications in one request"},
	{OPT(max_body), .name = "max-body", .arg = "bytes", .type = TP_OPT_LONG,
	    .min = 1, .max = 1L << 30, .flags = TP_OPT_RECORD,
	    .help = "bytes of a request's body"},
	{.key = "max_explain", .offset = offsetof(settings, why.k),
	    .name = "max-explain", .arg = "k", .type = TP_OPT_INT, .min = 0,
	    .max = TP_WHY_MAX_K, .flags = TP_OPT_RECORD,
	    .help = "reasons an application may ask for (?explain=k); 0: none"},
	{OPT(max_connections), .name = "max-connections", .arg = "n",
	    .type = TP_OPT_INT, .min = 1, .max = 65536, .flags = TP_OPT_RECORD,
	    .help = "connections open at once, for each address"},
	{OPT(timeout), .name = "timeout", .arg = "seconds", .type = TP_OPT_INT,
	    .min = 1, .max = 3600, .flags = TP_OPT_RECORD,
	    .help = "a connection idle this long is closed; the drain's limit"},
	{OPT(tls_cert), .name = "tls-cert", .arg = "file", .type = TP_OPT_STRING,
	    .help = "HTTPS: the certificate (PEM)"},
	{OPT(tls_key), .name = "tls-key", .arg = "file", .type = TP_OPT_STRING,
	    .help = "HTTPS: its private key (PEM)"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* The sockets: systemd's, or those of --listen; each said on stderr. */
static void
sockets(settings *s, int **fds, int *n)
{
	static const char *const dflt[] = {"127.0.0.1:8080"};
	const char *const *addrs = s->nlisten > 0 ? s->listen : dflt;
	char url[128];
	tp_err e = {0};

	if (tp_http_activated(fds, n, &e) != TP_OK)
		exit(tool_report(&e));
	if (*n > 0) {
		if (s->nlisten > 0)
			tool_die(TP_EUSAGE, "the sockets are systemd's: --listen "
			    "is not taken with LISTEN_FDS");
		if (!s->quiet)
			tool_warn("listening on %d socket%s from systemd", *n,
			    *n == 1 ? "" : "s");
		return;
	}
	*n = s->nlisten > 0 ? s->nlisten : 1;
	if ((*fds = calloc((size_t)*n, sizeof(int))) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	for (int i = 0; i < *n; i++) {
		if (tp_http_listen(addrs[i], &(*fds)[i], url, sizeof(url), &e) !=
		    TP_OK)
			exit(tool_report(&e));
		if (!s->quiet)
			tool_warn("listening on %s%s", s->tls_cert != NULL ?
			    "https" : "http", strchr(url, ':'));
	}
}

/* The PEM text of a TLS file, to free. */
static char *
pem(const char *path)
{
	char *text;
	size_t len;
	tp_err e = {0};

	if (tp_read_file(path, &text, &len, &e) != TP_OK)
		exit(tool_report(&e));
	return text;
}

/* Waits for SIGHUP (a reload) until SIGTERM or SIGINT, all three blocked
 * since before the server's threads began, so that this thread alone
 * takes them. */
static void
wait_for_signals(tp_http *h, const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return;
		tp_http_reload(h);
	}
}

int
main(int argc, char **argv)
{
	settings s = {.threads = 2, .max_batch = 1000, .max_body = 1 << 20,
	    .max_connections = 1024, .timeout = 30,
	    .why = {.k = TP_WHY_MAX_K, .steps = TP_EXPLAIN_STEPS}};
	tool_options families[] = {{options, &s}, {NULL, NULL}};
	tp_access_tokens tokens = {0};
	tp_ratelimit rate = {0};
	tp_predictor p = {0};
	tp_predlog log = {0};
	tp_http_counts counts = {0};
	tp_http *h = NULL;
	cJSON *params, *inputs, *result;
	sigset_t set;
	int *fds = NULL, nfds = 0, rc;
	int64_t run;
	tp_db *db;
	tp_err e = {0};

	tool_init("serve", families, "", NULL);
	if (tool_parse(argc, argv) < argc)
		tool_usage(TP_EUSAGE);
	if (s.model == NULL)
		tool_die(TP_EUSAGE, "-m is required: the model file or registry reference to serve");
	if (s.require_token && s.tokens == NULL)
		tool_die(TP_EUSAGE, "--require-token needs the tokens: give --tokens");
	if ((tool_given("steps") || tool_given("reasons")) && s.why.k == 0)
		tool_die(TP_EUSAGE, "--steps and --reasons are for the reasons the server gives: not with --max-explain 0");
	if ((s.tls_cert == NULL) != (s.tls_key == NULL))
		tool_die(TP_EUSAGE, "HTTPS needs both --tls-cert and --tls-key");
	if (s.burst == 0)
		s.burst = s.rate * 2 < 1 ? 1 : s.rate * 2;
	else if (s.burst < 1)
		tool_die(TP_EUSAGE, "--burst: a bucket holds at least 1 request");
	/* The signals are this thread's, blocked in every thread that the
	 * server starts; a client gone is an error of its write, not a
	 * signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (s.tokens != NULL && tp_access_load(&tokens, s.tokens, &e) != TP_OK)
		return tool_report(&e);
	if (s.rate > 0 && tp_ratelimit_init(&rate, s.rate, s.burst, 0, &e) !=
	    TP_OK)
		return tool_report(&e);
	tp_http_opts o = {
		.ref = s.model, .threads = s.threads,
		.max_batch = (size_t)s.max_batch, .max_body = (size_t)s.max_body,
		.max_connections = (unsigned)s.max_connections,
		.timeout = (unsigned)s.timeout,
		.tokens = s.tokens != NULL ? &tokens : NULL,
		.require_token = s.require_token,
		.rate = s.rate > 0 ? &rate : NULL,
		.why = s.why,
		.tls_cert = s.tls_cert != NULL ? pem(s.tls_cert) : NULL,
		.tls_key = s.tls_key != NULL ? pem(s.tls_key) : NULL,
		.note = tool_note, .ctx = &s.quiet,
	};
	db = o.db = tool_db_open(s.db);
	if ((rc = tp_predictor_open(&p, db, s.model, 1,
	    s.why.k > 0 ? &tp_why_load : NULL, &e)) != TP_OK) {
		tool_report(&e);
		tp_db_close(db);
		return tool_finish(rc);
	}
	sockets(&s, &fds, &nfds);
	o.fds = fds;
	o.nfds = nfds;
	params = tool_params();
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "model_sha256", p.vm.meta.sha256);
	if (p.vm.version.id > 0)
		cJSON_AddNumberToObject(inputs, "model_version", p.vm.version.version);
	run = tool_run_start(db, params, inputs);
	if (db != NULL) {
		tool_log_open(&log, db, run, s.spool, &s.quiet);
		o.log = &log;
	}

	if ((rc = tp_http_start(&h, &o, &p, &e)) == TP_OK) {
		wait_for_signals(h, &set);
		if (!s.quiet)
			tool_warn("stopping: answering the requests in flight");
		tp_http_stop(h, s.timeout, &counts);
	}
	/* That predictions went unrecorded, or wait in the spool for a later
	 * run, fails the run. */
	if (rc == TP_OK && o.log != NULL && log.lost + counts.unqueued > 0)
		rc = tp_err_set(&e, TP_EUNAVAILABLE,
		    "database: %llu prediction%s could not be logged",
		    (unsigned long long)(log.lost + counts.unqueued),
		    log.lost + counts.unqueued == 1 ? "" : "s");
	else if (rc == TP_OK && o.log != NULL && log.unsent > 0)
		rc = tp_err_set(&e, TP_EUNAVAILABLE,
		    "database: %llu prediction%s could not be sent: they wait in "
		    "%s for a later run to send", (unsigned long long)log.unsent,
		    log.unsent == 1 ? "" : "s", log.spool);
	if (rc != TP_OK)
		tool_report(&e);
	else if (!s.quiet)
		tool_warn("served %llu request%s (%llu with errors), %llu "
		    "application%s scored, %llu reload%s",
		    (unsigned long long)counts.requests,
		    counts.requests == 1 ? "" : "s",
		    (unsigned long long)counts.errors,
		    (unsigned long long)counts.rows, counts.rows == 1 ? "" : "s",
		    (unsigned long long)counts.reloads,
		    counts.reloads == 1 ? "" : "s");
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "requests", (double)counts.requests);
	cJSON_AddNumberToObject(result, "errors", (double)counts.errors);
	cJSON_AddNumberToObject(result, "rows", (double)counts.rows);
	cJSON_AddNumberToObject(result, "explained", (double)counts.explained);
	cJSON_AddNumberToObject(result, "reloads", (double)counts.reloads);
	cJSON_AddNumberToObject(result, "reload_failures",
	    (double)counts.reload_failures);
	if (o.log != NULL) {
		cJSON_AddNumberToObject(result, "logged", (double)log.logged);
		cJSON_AddNumberToObject(result, "spooled", (double)log.spooled);
		cJSON_AddNumberToObject(result, "replayed", (double)log.replayed);
	}
	rc = tool_run_finish(db, run, rc, e.msg, result);
	tp_predlog_free(&log);
	tp_predictor_free(&p);
	tp_access_free(&tokens);
	tp_ratelimit_free(&rate);
	free((char *)o.tls_cert);
	free((char *)o.tls_key);
	free(fds);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	return tool_finish(rc);
}
