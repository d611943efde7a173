/* tabpipe-drift: how far current data has moved from the reference. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/stream.h"
#include "model/score.h"
#include "quality/drift.h"
#include "registry/version.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-drift [-q] [--alpha p] [--bins n] [--db conninfo]\n"
    "           [-m model] [--psi-moderate x] [--psi-significant x]\n"
    "           [--since interval] [-o report.json] --reference file [file]\n";

/* Says, one line each, what drifts, then the count and the worst. */
static void
summary(const tp_drift_report *r)
{
	int worst, n = tp_drift_count(r, &worst);

	for (int i = 0; i < r->nfeatures + r->has_score; i++) {
		const tp_drift_stat *s = i < r->nfeatures ? &r->features[i] : &r->score;
		double p = s->categorical ? s->chi2_p : s->ks_p;
		if (s->drift)
			tool_warn("%s drifts: PSI %.4f (%s), %s p-value %.3g, JS %.4f",
			    s->name, s->psi, tp_drift_level_name(s->level),
			    s->categorical ? "chi-square" : "KS", p, s->js);
	}
	const tp_drift_stat *w = worst < r->nfeatures ? &r->features[worst] : &r->score;
	tool_warn("%s: %d of %d features drift%s; the largest PSI is %s's, %.4f (%s)",
	    r->drift ? "drift" : "no drift",
	    n - (r->has_score && r->score.drift), r->nfeatures,
	    !r->has_score ? "" : r->score.drift ? ", and the score" :
	    ", not the score", w->name, w->psi, tp_drift_level_name(w->level));
}

int
main(int argc, char **argv)
{
	enum { O_ALPHA = 256, O_BINS, O_DB, O_PSI_MODERATE, O_PSI_SIGNIFICANT,
		O_REFERENCE, O_SINCE };
	static const struct option longopts[] = {
		{"alpha", required_argument, NULL, O_ALPHA},
		{"bins", required_argument, NULL, O_BINS},
		{"db", required_argument, NULL, O_DB},
		{"help", no_argument, NULL, 'h'},
		{"model", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"psi-moderate", required_argument, NULL, O_PSI_MODERATE},
		{"psi-significant", required_argument, NULL, O_PSI_SIGNIFICANT},
		{"quiet", no_argument, NULL, 'q'},
		{"reference", required_argument, NULL, O_REFERENCE},
		{"since", required_argument, NULL, O_SINCE},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_drift_opts o = tp_drift_defaults;
	const char *path = "-", *out = "-", *model = NULL, *conninfo = NULL;
	const char *reference = NULL, *since = NULL;
	int quiet = 0, c, rc, recorded = 0;
	tp_versioned_model vm = {0};
	tp_encoding renc = {0}, cenc = {0};
	tp_batch ref = {0}, cur = {0};
	tp_drift_report rep = {0};
	tp_outfile report = {0};
	cJSON *params = NULL, *inputs = NULL, *json = NULL, *result = NULL;
	char *text = NULL;
	float *rscore = NULL, *cscore = NULL;
	uint8_t *compare = NULL;
	size_t ncscore = 0;
	int64_t run = 0;
	tp_db *db;
	tp_err e = {0};

	tool_init("drift", usage);
	while ((c = getopt_long(argc, argv, "hm:o:qV", longopts, NULL)) != -1) {
		switch (c) {
		case O_ALPHA: o.alpha = tool_double(optarg, "--alpha", 0, 1); break;
		case O_BINS: o.bins = (int)tool_long(optarg, "--bins", 2, 1000); break;
		case O_DB: conninfo = optarg; break;
		case 'h': tool_usage(0);
		case 'm': model = optarg; break;
		case 'o': out = optarg; break;
		case O_PSI_MODERATE:
			o.psi_moderate = tool_double(optarg, "--psi-moderate", 0, 1e9);
			break;
		case O_PSI_SIGNIFICANT:
			o.psi_significant = tool_double(optarg, "--psi-significant", 0, 1e9);
			break;
		case 'q': quiet = 1; break;
		case O_REFERENCE: reference = optarg; break;
		case O_SINCE: since = optarg; break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (reference == NULL)
		tool_die(TP_EUSAGE, "--reference is required: name the stream the current data is compared with");
	if (since != NULL && strcmp(path, "-") != 0)
		tool_die(TP_EUSAGE, "--since takes the current data from the logged predictions: give no file");
	if (o.psi_moderate > o.psi_significant)
		tool_die(TP_EUSAGE, "--psi-moderate %g is above --psi-significant %g",
		    o.psi_moderate, o.psi_significant);
	db = tool_db_open(conninfo);
	if (since != NULL && db == NULL)
		tool_die(TP_EUSAGE, "--since reads the predictions table: give a database with --db or TABPIPE_DB");

	if ((model != NULL && (rc = tp_version_load(&vm, db, model, TP_WITH_HEAD,
	    1, &e)) != TP_OK) ||
	    (rc = tp_stream_load(reference, &renc, &ref, &e)) != TP_OK)
		goto fail;
	if (since != NULL) {
		if ((compare = calloc((size_t)renc.ncols + 1, 1)) == NULL) {
			rc = tp_err_nomem(&e, "the features");
			goto fail;
		}
		if ((rc = tp_batch_init(&cur, renc.ncat, renc.nnum, 1, &e)) != TP_OK ||
		    (rc = tp_drift_load_predictions(db, since, model ? vm.meta.sha256 : NULL,
		    &renc, &cur, &cscore, &ncscore, compare, &e)) != TP_OK)
			goto fail;
	} else if ((rc = tp_stream_load(path, &cenc, &cur, &e)) != TP_OK) {
		goto fail;
	}

	params = cJSON_CreateObject();
	cJSON_AddNumberToObject(params, "bins", o.bins);
	cJSON_AddNumberToObject(params, "psi_moderate", o.psi_moderate);
	cJSON_AddNumberToObject(params, "psi_significant", o.psi_significant);
	cJSON_AddNumberToObject(params, "alpha", o.alpha);
	if (since != NULL)
		cJSON_AddStringToObject(params, "since", since);
	rep.side[0].source = reference;
	rep.side[0].rows = ref.n;
	tp_batch_fingerprint(&ref, rep.side[0].fingerprint);
	rep.side[1].source = since ? NULL : path;
	rep.side[1].since = since;
	rep.side[1].rows = since ? ncscore : cur.n;
	if (since == NULL)
		tp_batch_fingerprint(&cur, rep.side[1].fingerprint);
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "reference", rep.side[0].fingerprint);
	if (since == NULL)
		cJSON_AddStringToObject(inputs, "current", rep.side[1].fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", renc.fingerprint);
	if (model != NULL)
		cJSON_AddStringToObject(inputs, "model", vm.meta.sha256);
	run = tool_run_start(db, params, inputs);

	if (since == NULL && strcmp(cenc.fingerprint, renc.fingerprint) != 0) {
		rc = tp_err_set(&e, TP_EDATA,
		    "%s: encoded with %.12s..., the reference %s with %.12s...: ingest both with one encoding (tabpipe-ingest --encoding)",
		    path, cenc.fingerprint, reference, renc.fingerprint);
		goto fail;
	}
	if (model != NULL && strcmp(vm.enc.fingerprint, renc.fingerprint) != 0) {
		rc = tp_err_set(&e, TP_EDATA,
		    "%s: encoded with %.12s..., the model %s with %.12s...: compare data of the model's encoding",
		    reference, renc.fingerprint, model, vm.enc.fingerprint);
		goto fail;
	}
	if (ref.n == 0 || (since == NULL && cur.n == 0)) {
		rc = tp_err_set(&e, TP_EDATA, "%s: no rows to compare",
		    ref.n == 0 ? reference : path);
		goto fail;
	}
	if ((rc = tp_drift_compare(&rep, &renc, &ref, &cur, compare, &o,
	    &e)) != TP_OK)
		goto fail;
	if (model != NULL) {
		if ((rscore = malloc((ref.n + 1) * sizeof(float))) == NULL ||
		    (since == NULL &&
		    (cscore = malloc((cur.n + 1) * sizeof(float))) == NULL)) {
			rc = tp_err_nomem(&e, "the scores");
			goto fail;
		}
		if ((rc = tp_score(&vm.model, &ref, rscore, &e)) != TP_OK ||
		    (since == NULL && (rc = tp_score(&vm.model, &cur, cscore, &e)) != TP_OK)) {
			tp_err_prefix(&e, "%s", model);
			goto fail;
		}
		if ((rc = tp_drift_compare_score(&rep, rscore, ref.n, cscore,
		    since ? ncscore : cur.n, &e)) != TP_OK)
			goto fail;
	}
	if (rep.nfeatures == 0 && !rep.has_score) {
		rc = tp_err_set(&e, TP_EDATA, "%s: nothing to compare: %s, and without -m there is no score",
		    since ? "predictions" : reference, since ?
		    "no logged request holds a feature" : "the encoding has no feature");
		goto fail;
	}
	if ((json = tp_drift_report_json(&rep)) == NULL ||
	    (text = cJSON_Print(json)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tp_outfile_open(&report, out, &e)) != TP_OK)
		goto fail;
	fputs(text, report.f);
	putc('\n', report.f);
	if ((rc = tp_outfile_commit(&report, &e)) != TP_OK)
		goto fail;
	rc = rep.drift ? TP_NO : TP_OK;
	int worst, ndrift = tp_drift_count(&rep, &worst);
	result = cJSON_CreateObject();
	cJSON_AddBoolToObject(result, "drift", rep.drift);
	cJSON_AddNumberToObject(result, "drifting", ndrift);
	if (worst >= 0)
		cJSON_AddStringToObject(result, "worst", worst < rep.nfeatures ?
		    rep.features[worst].name : "score");
	if (db != NULL) {
		if ((rc = tp_drift_record(db, run, json, rep.drift, result, &e)) != TP_OK)
			goto fail;
		recorded = 1;
		rc = rep.drift ? TP_NO : TP_OK;
	}
	if (!quiet)
		summary(&rep);
	goto done;
fail:
	rc = tool_report(&e);
	tp_outfile_abort(&report);
done:
	/* A recorded report finished its run in the same transaction. */
	rc = tool_run_finish(db, recorded ? 0 : run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(json);
	cJSON_Delete(result);
	free(text);
	free(rscore);
	free(cscore);
	free(compare);
	tp_drift_report_free(&rep);
	tp_batch_free(&ref);
	tp_batch_free(&cur);
	tp_versioned_model_free(&vm);
	tp_encoding_free(&renc);
	tp_encoding_free(&cenc);
	return tool_finish(rc);
}
