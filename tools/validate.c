/* tabpipe-validate: a tensor stream's quality report and checks. */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/partial.h"
#include "data/profile.h"
#include "data/shard.h"
#include "data/stream.h"
#include "tool.h"

typedef struct {
	const char *db, *report;
	int pass, quiet, partial, merge;
} settings;

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{.key = "merge", .offset = offsetof(settings, merge), .name = "merge",
	    .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD,
	    .help = "the files are partial results: merge them"},
	{.key = "partial", .offset = offsetof(settings, partial),
	    .name = "partial", .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD,
	    .help = "write the partial result of the input, to merge"},
	{.key = "pass", .offset = offsetof(settings, pass), .name = "pass",
	    .type = TP_OPT_FLAG,
	    .help = "copy the stream to standard output as it is read"},
	TOOL_QUIET(settings, quiet),
	{.key = "report", .offset = offsetof(settings, report),
	    .name = "report", .letter = 'r', .arg = "file",
	    .type = TP_OPT_STRING, .help = "where the report goes"},
	{0},
};

/* Says each check that failed on stderr. */
static void
failures(const cJSON *report)
{
	const cJSON *ck;

	cJSON_ArrayForEach(ck, cJSON_GetObjectItem(report, "checks"))
		if (!cJSON_IsTrue(cJSON_GetObjectItem(ck, "passed"))) {
			const cJSON *col = cJSON_GetObjectItem(ck, "column");
			tool_warn("check failed: %s%s%s: %g, limit %s %g",
			    cJSON_GetObjectItem(ck, "check")->valuestring,
			    col ? " of " : "", col ? col->valuestring : "",
			    cJSON_GetObjectItem(ck, "value")->valuedouble,
			    cJSON_GetObjectItem(ck, "limit")->valuestring,
			    cJSON_GetObjectItem(ck, "threshold")->valuedouble);
		}
}

/* --partial: the profile and its envelope, to path. */
static int
write_partial(const char *path, const tp_partial *env, const tp_profile *p,
    tp_err *e)
{
	cJSON *doc = tp_partial_json(env), *body;
	int rc;

	if (doc == NULL || (body = cJSON_AddObjectToObject(doc, "profile")) == NULL ||
	    !tp_profile_json(p, body)) {
		cJSON_Delete(doc);
		return tp_err_nomem(e, "the partial");
	}
	rc = tool_write_report(path, doc, e);
	cJSON_Delete(doc);
	return rc;
}

int
main(int argc, char **argv)
{
	settings s = {0};
	tp_limits limits = tp_default_limits;
	tp_shard shard = {0};
	tool_options families[] = {
		{tp_limits_options, &limits}, {options, &s},
		{tp_shard_options, &shard}, {NULL, NULL},
	};
	cJSON *params = NULL, *inputs = NULL, *result = NULL, *json = NULL;
	tp_shard_reader *r = NULL;
	tp_profile p = {0};
	tp_partial env = {0};
	char path[65];
	char **files;
	int n, passed = 0, rc;
	int64_t run;
	tp_db *db;
	tp_err e = {0};

	tool_init("validate", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.merge && (s.pass || s.partial || tp_shard_cuts(&shard) ||
	    (n == 1 && strcmp(files[0], "-") == 0)))
		tool_die(TP_EUSAGE, "--merge: name the partials to merge, and no --pass, --partial or --shard");
	if (s.pass && (s.report == NULL || strcmp(s.report, "-") == 0))
		tool_die(TP_EUSAGE, "--pass writes the stream to standard output: name a file for the report with -r");
	if (s.pass && (n > 1 || tp_shard_cuts(&shard)))
		tool_die(TP_EUSAGE, "--pass copies one whole stream as it is read: join files, or cut a shard, with tabpipe-cat --stream");
	if (s.pass) {
		tool_binary_stdout();
		/* A reader of the copy that goes away (head) stops the copy,
		 * not the validation: the write fails with EPIPE instead of
		 * killing the tool, and the report is still written. */
		signal(SIGPIPE, SIG_IGN);
	}
	db = tool_db_open(s.db);
	inputs = cJSON_CreateObject();
	cJSON *streams = cJSON_AddArrayToObject(inputs, s.merge ? "partials" :
	    "streams");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(streams, cJSON_CreateString(files[i]));
	params = tool_params();
	run = tool_run_start(db, params, inputs);

	if (s.merge) {
		if ((rc = tp_partial_fold(files, n, "profile", &env,
		    tp_profile_fold, &p, &e)) != TP_OK)
			goto fail;
	} else if ((rc = tp_shard_reader_open(&r, files, n, &shard, &e)) != TP_OK ||
	    (s.pass && (rc = tp_shard_reader_tee(r, stdout, &e)) != TP_OK) ||
	    (rc = tp_profile_init(&p, tp_shard_reader_encoding(r), &e)) != TP_OK ||
	    (rc = tp_profile_read(&p, r, NULL, NULL, &e)) != TP_OK ||
	    (rc = tp_partial_init(&env, "profile", p.enc->fingerprint, NULL,
	    p.rows, p.fingerprint, tp_shard_reader_name(r), &e)) != TP_OK)
		goto fail;
	if (s.partial) {
		if ((rc = write_partial(s.report ? s.report : "-", &env, &p, &e)) != TP_OK)
			goto fail;
		result = cJSON_CreateObject();
		cJSON_AddNumberToObject(result, "rows", (double)p.rows);
		cJSON_AddStringToObject(result, "partial", p.fingerprint);
		if (!s.quiet)
			tool_warn("%llu rows: a partial of the profile",
			    (unsigned long long)p.rows);
		goto out;
	}
	if ((rc = tp_profile_finish(&p, &e)) != TP_OK)
		goto fail;
	if ((json = tp_profile_report(&p, &limits, &passed)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tool_write_report(s.report ? s.report : "-", json, &e)) != TP_OK)
		goto fail;
	if (!s.quiet)
		failures(json);
	rc = passed ? TP_OK : TP_NO;
	result = cJSON_CreateObject();
	cJSON_AddBoolToObject(result, "passed", passed);
	cJSON_AddNumberToObject(result, "rows", (double)p.rows);
	cJSON_AddStringToObject(result, "encoding", p.enc->fingerprint);
	tp_partial_fingerprint(&env, path);
	cJSON_AddStringToObject(result, "data", path);
	if (s.pass)
		cJSON_AddBoolToObject(result, "copy_cut",
		    tp_shard_reader_tee_cut(r));
	cJSON_AddItemToObject(result, "checks",
	    cJSON_Duplicate(cJSON_GetObjectItem(json, "checks"), 1));
	goto out;
fail:
	rc = tool_report(&e);
out:
	rc = tool_run_finish(db, run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	cJSON_Delete(json);
	tp_profile_free(&p);
	tp_partial_free(&env);
	tp_shard_reader_close(r);
	return tool_finish(rc);
}
