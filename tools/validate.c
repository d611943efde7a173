/* tabpipe-validate: a tensor stream's quality report and checks. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/profile.h"
#include "data/stream.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-validate [--pass] [--db conninfo] [--max-auc x]\n"
    "           [--max-constant n]\n"
    "           [--max-duplicates rate] [--max-missing rate]\n"
    "           [--max-unseen rate] [--min-minority rate] [--min-rows n]\n"
    "           [-r file] [file]\n";

int
main(int argc, char **argv)
{
	enum { O_DB = 255, O_MAX_AUC = 256, O_MAX_CONSTANT, O_MAX_DUPLICATES, O_MAX_MISSING,
		O_MAX_UNSEEN, O_MIN_MINORITY, O_MIN_ROWS, O_PASS };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, O_DB},
		{"help", no_argument, NULL, 'h'},
		{"max-auc", required_argument, NULL, O_MAX_AUC},
		{"max-constant", required_argument, NULL, O_MAX_CONSTANT},
		{"max-duplicates", required_argument, NULL, O_MAX_DUPLICATES},
		{"max-missing", required_argument, NULL, O_MAX_MISSING},
		{"max-unseen", required_argument, NULL, O_MAX_UNSEEN},
		{"min-minority", required_argument, NULL, O_MIN_MINORITY},
		{"min-rows", required_argument, NULL, O_MIN_ROWS},
		{"pass", no_argument, NULL, O_PASS},
		{"report", required_argument, NULL, 'r'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_limits limits = tp_default_limits;
	const char *path = "-", *report_path = NULL, *conninfo = NULL;
	cJSON *params = NULL, *inputs = NULL, *result = NULL;
	tp_db *db;
	int64_t run;
	tp_stream_reader *r = NULL;
	tp_profile p = {0};
	tp_outfile report = {0};
	cJSON *json = NULL;
	char *text = NULL;
	int c, pass = 0, passed = 0, rc;
	FILE *f = NULL;
	tp_err e = {0};

	tool_init("validate", usage);
	while ((c = getopt_long(argc, argv, "hr:V", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: conninfo = optarg; break;
		case 'h': tool_usage(0);
		case O_MAX_AUC:
			limits.max_auc = tool_double(optarg, "--max-auc", 0.5, 1);
			break;
		case O_MAX_CONSTANT:
			limits.max_constant = tool_long(optarg, "--max-constant", 0, INT32_MAX);
			break;
		case O_MAX_DUPLICATES:
			limits.max_duplicates = tool_double(optarg, "--max-duplicates", 0, 1);
			break;
		case O_MAX_MISSING:
			limits.max_missing = tool_double(optarg, "--max-missing", 0, 1);
			break;
		case O_MAX_UNSEEN:
			limits.max_unseen = tool_double(optarg, "--max-unseen", 0, 1);
			break;
		case O_MIN_MINORITY:
			limits.min_minority = tool_double(optarg, "--min-minority", 0, 0.5);
			break;
		case O_MIN_ROWS:
			limits.min_rows = tool_u64(optarg, "--min-rows");
			break;
		case O_PASS: pass = 1; break;
		case 'r': report_path = optarg; break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (pass && (report_path == NULL || strcmp(report_path, "-") == 0))
		tool_die(TP_EUSAGE, "--pass writes the stream to standard output: name a file for the report with -r");
	if (pass)
		tool_binary_stdout();
	db = tool_db_open(conninfo);
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "stream", path);
	params = cJSON_CreateObject();
	cJSON_AddNumberToObject(params, "max_missing", limits.max_missing);
	cJSON_AddNumberToObject(params, "max_unseen", limits.max_unseen);
	cJSON_AddNumberToObject(params, "min_minority", limits.min_minority);
	cJSON_AddNumberToObject(params, "max_duplicates", limits.max_duplicates);
	cJSON_AddNumberToObject(params, "max_constant", (double)limits.max_constant);
	cJSON_AddNumberToObject(params, "max_auc", limits.max_auc);
	cJSON_AddNumberToObject(params, "min_rows", (double)limits.min_rows);
	run = tool_run_start(db, params, inputs);

	if ((rc = tp_open_input(path, &f, &e)) != TP_OK ||
	    (rc = tp_stream_reader_open(&r, f, strcmp(path, "-") ? path :
	    "standard input", &e)) != TP_OK)
		goto fail;
	if ((pass && (rc = tp_stream_reader_tee(r, stdout, &e)) != TP_OK) ||
	    (rc = tp_profile_stream(&p, r, &e)) != TP_OK)
		goto fail;
	if ((json = tp_profile_report(&p, &limits, &passed)) == NULL ||
	    (text = cJSON_Print(json)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tp_outfile_open(&report, report_path ? report_path : "-",
	    &e)) != TP_OK)
		goto fail;
	fputs(text, report.f);
	putc('\n', report.f);
	if ((rc = tp_outfile_commit(&report, &e)) != TP_OK)
		goto fail;
	for (cJSON *ck = cJSON_GetObjectItem(json, "checks")->child; ck; ck = ck->next)
		if (!cJSON_IsTrue(cJSON_GetObjectItem(ck, "passed"))) {
			const cJSON *col = cJSON_GetObjectItem(ck, "column");
			tool_warn("check failed: %s%s%s: %g, limit %s %g",
			    cJSON_GetObjectItem(ck, "check")->valuestring,
			    col ? " of " : "", col ? col->valuestring : "",
			    cJSON_GetObjectItem(ck, "value")->valuedouble,
			    cJSON_GetObjectItem(ck, "limit")->valuestring,
			    cJSON_GetObjectItem(ck, "threshold")->valuedouble);
		}
	rc = passed ? TP_OK : TP_NO;
	result = cJSON_CreateObject();
	cJSON_AddBoolToObject(result, "passed", passed);
	cJSON_AddNumberToObject(result, "rows", (double)p.rows);
	cJSON_AddStringToObject(result, "encoding", tp_stream_encoding(r)->fingerprint);
	cJSON_AddItemToObject(result, "checks",
	    cJSON_Duplicate(cJSON_GetObjectItem(json, "checks"), 1));
	goto out;
fail:
	rc = tool_report(&e);
	tp_outfile_abort(&report);
out:
	rc = tool_run_finish(db, run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	free(text);
	cJSON_Delete(json);
	tp_profile_free(&p);
	tp_stream_reader_close(r);
	tp_close_input(f);
	return tool_finish(rc);
}
