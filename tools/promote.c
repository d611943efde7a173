/* tabpipe-promote: a model version to Staging or Production, through its
 * gates and the champion rule, or a rollback of Production. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "registry/gate.h"
#include "registry/registry.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-promote [-q] [--db conninfo] [--gate expr]... [--margin x]\n"
    "           [--metric name] [--reason text] [--to staging|production]\n"
    "           NAME VERSION\n"
    "       tabpipe-promote [--db conninfo] --rollback [--reason text] NAME\n";

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_GATE, O_MARGIN, O_METRIC, O_REASON, O_ROLLBACK,
		O_TO };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, O_DB},
		{"gate", required_argument, NULL, O_GATE},
		{"help", no_argument, NULL, 'h'},
		{"margin", required_argument, NULL, O_MARGIN},
		{"metric", required_argument, NULL, O_METRIC},
		{"quiet", no_argument, NULL, 'q'},
		{"reason", required_argument, NULL, O_REASON},
		{"rollback", no_argument, NULL, O_ROLLBACK},
		{"to", required_argument, NULL, O_TO},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_promotion p = {.metric = "auc"};
	tp_gate *gates = NULL;
	const char *conninfo = NULL;
	cJSON *params = cJSON_CreateObject(), *gate_list = cJSON_CreateArray();
	cJSON *decision = NULL;
	int c, quiet = 0, rollback = 0, promotion_options = 0, rc;
	tp_db *db;
	int64_t run;
	tp_err e = {0};

	tool_init("promote", usage);
	while ((c = getopt_long(argc, argv, "hqV", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: conninfo = optarg; break;
		case O_GATE:
			if ((gates = realloc(gates, (size_t)(p.ngates + 1) *
			    sizeof(*gates))) == NULL)
				tool_die(TP_EINTERNAL, "out of memory");
			if (tp_gate_parse(optarg, &gates[p.ngates], &e) != TP_OK)
				tool_die(e.code, "--gate %s", e.msg);
			cJSON_AddItemToArray(gate_list,
			    cJSON_CreateString(gates[p.ngates].text));
			p.ngates++;
			promotion_options = 1;
			break;
		case 'h': tool_usage(0);
		case O_MARGIN:
			p.margin = tool_double(optarg, "--margin", 0, 1e9);
			promotion_options = 1;
			break;
		case O_METRIC:
			if (!tp_gate_metric(optarg, NULL))
				tool_die(TP_EUSAGE, "--metric: unknown metric \"%s\" (the "
				    "metrics are %s)", optarg, tp_gate_metric_names());
			p.metric = optarg;
			promotion_options = 1;
			break;
		case 'q': quiet = 1; break;
		case O_REASON: p.reason = optarg; break;
		case O_ROLLBACK: rollback = 1; break;
		case O_TO:
			if (strcmp(optarg, "staging") == 0)
				p.staging = 1;
			else if (strcmp(optarg, "production") != 0)
				tool_die(TP_EUSAGE, "--to: \"%s\" is not staging or "
				    "production", optarg);
			promotion_options = 1;
			break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (rollback ? 1 : 2))
		tool_usage(TP_EUSAGE);
	if (rollback && promotion_options)
		tool_die(TP_EUSAGE, "--rollback takes only --db and --reason: it "
		    "checks no gates");
	p.name = argv[0];
	p.gates = gates;
	if (!rollback)
		p.version = (int)tool_long(argv[1], "VERSION", 1, INT32_MAX);
	db = tool_db_open(conninfo);
	if (db == NULL)
		tool_die(TP_EUSAGE, "the registry is in the database: give one with "
		    "--db or TABPIPE_DB");

	cJSON_AddStringToObject(params, "model", p.name);
	if (rollback) {
		cJSON_AddBoolToObject(params, "rollback", 1);
	} else {
		cJSON_AddNumberToObject(params, "version", p.version);
		cJSON_AddStringToObject(params, "to", p.staging ? "staging" :
		    "production");
		cJSON_AddItemToObject(params, "gates", gate_list);
		gate_list = NULL;
		cJSON_AddStringToObject(params, "metric", p.metric);
		cJSON_AddNumberToObject(params, "margin", p.margin);
	}
	if (p.reason != NULL)
		cJSON_AddStringToObject(params, "reason", p.reason);
	run = tool_run_start(db, params, NULL);
	rc = rollback ? tp_registry_rollback(db, p.name, p.reason, &decision, &e) :
	    tp_registry_promote(db, &p, &decision, &e);
	if (decision != NULL) {
		char *text = cJSON_PrintUnformatted(decision);
		if (text == NULL)
			tool_die(TP_EINTERNAL, "out of memory");
		puts(text);
		free(text);
	}
	if (rc == TP_OK && !quiet) {
		const cJSON *changes = cJSON_GetObjectItem(decision, "changes");
		const cJSON *ch;
		cJSON_ArrayForEach(ch, changes)
			fprintf(stderr, "%s: %s version %d: %s -> %s\n", tool_name(),
			    p.name, cJSON_GetObjectItem(ch, "version")->valueint,
			    cJSON_GetObjectItem(ch, "from")->valuestring,
			    cJSON_GetObjectItem(ch, "to")->valuestring);
	} else if (rc != TP_OK && (rc != TP_NO || !quiet)) {
		tool_report(&e);
	}
	rc = tool_run_finish(db, run, rc, e.msg, decision);
	cJSON_Delete(decision);
	cJSON_Delete(params);
	cJSON_Delete(gate_list);
	free(gates);
	return tool_finish(rc);
}
