/* tabpipe-promote: a model version to Staging or Production, through its
 * gates and the champion rule, or a rollback of Production. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "registry/gate.h"
#include "registry/registry.h"
#include "tool.h"

static const char forms[] =
    "usage: tabpipe-promote [-q] [--db conninfo] [--gate expr]... [--margin x]\n"
    "           [--metric name] [--reason text] [--to staging|production]\n"
    "           NAME VERSION\n"
    "       tabpipe-promote [--db conninfo] --rollback [--reason text] NAME\n";

typedef struct {
	tp_gate *gates;
	int ngates;
	const char *metric;
	double margin;
	int to;                /* an index of stages */
	const char *reason, *db;
	int rollback, quiet;
} settings;

static const char *const stages[] = {"staging", "production", NULL};

/* --gate expr, again for each gate. */
static int
parse_gate(void *settings_, const char *arg, const char *from, tp_err *e)
{
	settings *s = settings_;
	tp_gate *g = realloc(s->gates, (size_t)(s->ngates + 1) * sizeof(*g));

	if (g == NULL)
		return tp_err_nomem(e, "the gates");
	s->gates = g;
	if (tp_gate_parse(arg, &g[s->ngates], e) != TP_OK) {
		char why[sizeof(e->msg)];
		memcpy(why, e->msg, sizeof(why));
		return tp_err_set(e, e->code, "%s %s", from, why);
	}
	s->ngates++;
	return TP_OK;
}

static cJSON *
gates_json(const void *settings_)
{
	const settings *s = settings_;
	cJSON *list = cJSON_CreateArray();

	for (int i = 0; list != NULL && i < s->ngates; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(s->gates[i].text));
	return list;
}

static int
parse_metric(void *settings_, const char *arg, const char *from, tp_err *e)
{
	settings *s = settings_;

	if (!tp_gate_metric(arg, NULL))
		return tp_err_set(e, TP_EUSAGE, "%s: unknown metric \"%s\" (the "
		    "metrics are %s)", from, arg, tp_gate_metric_names());
	s->metric = arg;
	return TP_OK;
}

static cJSON *
metric_json(const void *settings_)
{
	return cJSON_CreateString(((const settings *)settings_)->metric);
}

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

/* The promotion's own options, which a rollback does not take. */
static const tp_opt promotion_options[] = {
	{OPT(to), .name = "to", .type = TP_OPT_CHOICE, .choices = stages,
	    .flags = TP_OPT_RECORD, .help = "the stage to promote to"},
	{OPT(gates), .name = "gate", .arg = "expr", .type = TP_OPT_CUSTOM,
	    .flags = TP_OPT_RECORD, .parse = parse_gate, .json = gates_json,
	    .help = "a condition on the latest evaluation, as auc>=0.7; again "
	    "for more"},
	{OPT(metric), .name = "metric", .arg = "name", .type = TP_OPT_CUSTOM,
	    .flags = TP_OPT_RECORD, .parse = parse_metric, .json = metric_json,
	    .help = "the measure the champion rule compares"},
	{OPT(margin), .name = "margin", .arg = "x", .type = TP_OPT_DOUBLE,
	    .min = 0, .max = 1e9, .flags = TP_OPT_RECORD,
	    .help = "how much the candidate must beat the champion by"},
	{0},
};

static const tp_opt options[] = {
	{OPT(reason), .name = "reason", .arg = "text", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD, .help = "why, for the audit log"},
	TP_DB_OPTION(settings, db),
	{OPT(rollback), .name = "rollback", .type = TP_OPT_FLAG,
	    .help = "put back the version that was in Production before"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* The run's parameters: the model, and a promotion's options or the
 * rollback. */
static cJSON *
params(const settings *s, const tp_promotion *p)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "model", p->name);
	if (s->rollback) {
		cJSON_AddBoolToObject(j, "rollback", 1);
	} else {
		cJSON_AddNumberToObject(j, "version", p->version);
		tp_opt_json(promotion_options, s, TP_OPT_RECORD, j, NULL);
	}
	tp_opt_json(options, s, TP_OPT_RECORD, j, NULL);
	return j;
}

/* The decision on stdout; each stage change, or why none, on stderr. */
static void
report(const settings *s, const tp_promotion *p, const cJSON *decision,
    int rc, const tp_err *e)
{
	if (decision != NULL) {
		char *text = cJSON_PrintUnformatted(decision);
		if (text == NULL)
			tool_die(TP_EINTERNAL, "out of memory");
		puts(text);
		free(text);
	}
	if (rc == TP_OK && !s->quiet) {
		const cJSON *ch;
		cJSON_ArrayForEach(ch, cJSON_GetObjectItem(decision, "changes"))
			fprintf(stderr, "%s: %s version %d: %s -> %s\n", tool_name(),
			    p->name, cJSON_GetObjectItem(ch, "version")->valueint,
			    cJSON_GetObjectItem(ch, "from")->valuestring,
			    cJSON_GetObjectItem(ch, "to")->valuestring);
	} else if (rc != TP_OK && (rc != TP_NO || !s->quiet)) {
		tool_report(e);
	}
}

int
main(int argc, char **argv)
{
	settings s = {.metric = "auc", .to = 1};
	tool_options families[] = {
		{promotion_options, &s}, {options, &s}, {NULL, NULL},
	};
	tp_promotion p = {0};
	cJSON *run_params, *decision = NULL;
	int first, rc;
	int64_t run;
	tp_db *db;
	tp_err e = {0};

	tool_init("promote", families, NULL, forms);
	first = tool_parse(argc, argv);
	argc -= first;
	argv += first;
	if (argc != (s.rollback ? 1 : 2))
		tool_usage(TP_EUSAGE);
	for (const tp_opt *o = promotion_options; s.rollback && o->key; o++)
		if (tool_given(o->key))
			tool_die(TP_EUSAGE, "--rollback takes only --db and --reason: "
			    "it checks no gates");
	p = (tp_promotion){.name = argv[0], .staging = s.to == 0,
	    .gates = s.gates, .ngates = s.ngates, .metric = s.metric,
	    .margin = s.margin, .reason = s.reason};
	if (!s.rollback)
		p.version = (int)tool_long(argv[1], "VERSION", 1, INT32_MAX);
	if ((db = tool_db_open(s.db)) == NULL)
		tool_die(TP_EUSAGE, "the registry is in the database: give one with "
		    "--db or TABPIPE_DB");

	run_params = params(&s, &p);
	run = tool_run_start(db, run_params, NULL);
	rc = s.rollback ? tp_registry_rollback(db, p.name, p.reason, &decision,
	    &e) : tp_registry_promote(db, &p, &decision, &e);
	report(&s, &p, decision, rc, &e);
	rc = tool_run_finish(db, run, rc, e.msg, decision);
	cJSON_Delete(decision);
	cJSON_Delete(run_params);
	free(s.gates);
	return tool_finish(rc);
}
