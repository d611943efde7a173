/* tabpipe-evaluate: a model's measures on a labelled stream. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/stream.h"
#include "model/score.h"
#include "quality/evaluate.h"
#include "registry/version.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-evaluate [-q] [--bins n] [--db conninfo] [--device cpu|cuda]\n"
    "           [--threads n] [-o report.json] -m model [file]\n";

int
main(int argc, char **argv)
{
	enum { O_BINS = 256, O_DB, O_THREADS };
	static const struct option longopts[] = {
		{"bins", required_argument, NULL, O_BINS},
		{"db", required_argument, NULL, O_DB},
		TOOL_DEVICE_OPTION,
		{"help", no_argument, NULL, 'h'},
		{"model", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"threads", required_argument, NULL, O_THREADS},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-", *out = "-", *model = NULL, *conninfo = NULL;
	int bins = 10, threads = 2, quiet = 0, c, rc;
	tp_versioned_model vm = {0};
	tp_encoding senc = {0};
	tp_batch b = {0};
	tp_evaluation ev = {0};
	tp_scorer *scorer = NULL;
	enum tp_device device;
	tp_outfile report = {0};
	cJSON *params = NULL, *inputs = NULL, *json = NULL, *result = NULL;
	char data[65], *text = NULL;
	float *prob = NULL;
	int64_t run = 0, id = 0;
	tp_db *db;
	tp_err e = {0};

	tool_init("evaluate", usage);
	while ((c = getopt_long(argc, argv, "hm:o:qV", longopts, NULL)) != -1) {
		if (tool_device_option(c, optarg))
			continue;
		switch (c) {
		case O_BINS: bins = (int)tool_long(optarg, "--bins", 1, 10000); break;
		case O_DB: conninfo = optarg; break;
		case 'h': tool_usage(0);
		case 'm': model = optarg; break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case O_THREADS: threads = (int)tool_long(optarg, "--threads", 1, 256); break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (model == NULL)
		tool_die(TP_EUSAGE, "-m is required: name the model file or registry reference to evaluate");
	device = tool_device();
	db = tool_db_open(conninfo);
	if ((rc = tp_version_load(&vm, db, model, TP_WITH_HEAD, threads,
	    &e)) != TP_OK || (rc = tp_stream_load(path, &senc, &b, &e)) != TP_OK)
		goto fail;
	tp_batch_fingerprint(&b, data);
	params = cJSON_CreateObject();
	cJSON_AddNumberToObject(params, "bins", bins);
	cJSON_AddNumberToObject(params, "threads", threads);
	cJSON_AddStringToObject(params, "device", tp_device_name(device));
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "stream", data);
	cJSON_AddStringToObject(inputs, "encoding", senc.fingerprint);
	cJSON_AddStringToObject(inputs, "model", vm.meta.sha256);
	run = tool_run_start(db, params, inputs);
	if (strcmp(senc.fingerprint, vm.enc.fingerprint) != 0) {
		rc = tp_err_set(&e, TP_EDATA,
		    "%s: encoded with %.12s..., the model %s with %.12s...: ingest it with the model's encoding (tabpipe-ingest --encoding)",
		    path, senc.fingerprint, model, vm.enc.fingerprint);
		goto fail;
	}
	if ((prob = malloc((b.n + 1) * sizeof(*prob))) == NULL) {
		rc = tp_err_nomem(&e, "the probabilities");
		goto fail;
	}
	if ((rc = tp_scorer_open(&scorer, &vm.model, device, &e)) != TP_OK ||
	    (rc = tp_scorer_run(scorer, &b, prob, &e)) != TP_OK ||
	    (rc = tp_evaluate(&ev, prob, b.label, b.n, vm.meta.threshold, bins,
	    &e)) != TP_OK) {
		tp_err_prefix(&e, "%s", model);
		goto fail;
	}
	if (ev.labelled == 0) {
		rc = tp_err_set(&e, TP_EDATA, "%s: no row has a label: evaluating takes the target's values", path);
		goto fail;
	}
	if (ev.positives == 0 || ev.positives == ev.labelled)
		tool_warn("%s: every labelled row is %s: AUC, Gini, KS and the ROC curve are null%s",
		    path, ev.positives ? "positive" : "negative",
		    ev.positives ? "" : ", and so are average precision and the precision-recall curve");
	if ((json = tp_evaluation_json(&ev, vm.meta.sha256, vm.version.version,
	    data)) == NULL || (text = cJSON_Print(json)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tp_outfile_open(&report, out, &e)) != TP_OK)
		goto fail;
	fputs(text, report.f);
	putc('\n', report.f);
	if ((rc = tp_outfile_commit(&report, &e)) != TP_OK ||
	    (db != NULL && (rc = tp_evaluation_record(db, run, vm.version.id, vm.meta.sha256, data,
	    ev.rows, json, &id, &e)) != TP_OK))
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "evaluation", (double)id);
	cJSON_AddItemToObject(result, "auc", cJSON_Duplicate(cJSON_GetObjectItem(json, "auc"), 0));
	cJSON_AddItemToObject(result, "f1", cJSON_Duplicate(cJSON_GetObjectItem(json, "f1"), 0));
	if (!quiet)
		fprintf(stderr, "%s: %llu rows, %llu labelled, %llu positive: AUC %.4f, KS %.4f, F1 %.4f at threshold %.4f\n",
		    tool_name(), (unsigned long long)ev.rows,
		    (unsigned long long)ev.labelled, (unsigned long long)ev.positives,
		    ev.auc, ev.ks, ev.f1, ev.threshold);
	goto done;
fail:
	rc = tool_report(&e);
	tp_outfile_abort(&report);
done:
	rc = tool_run_finish(db, run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(json);
	cJSON_Delete(result);
	free(text);
	free(prob);
	tp_scorer_close(scorer);
	tp_evaluation_free(&ev);
	tp_batch_free(&b);
	tp_encoding_free(&senc);
	tp_versioned_model_free(&vm);
	return tool_finish(rc);
}
