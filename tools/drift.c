/* tabpipe-drift: how far current data has moved from the reference. */
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/shard.h"
#include "data/stream.h"
#include "model/score.h"
#include "quality/drift.h"
#include "registry/version.h"
#include "tool.h"

typedef struct {
	const char *since, *db, *model, *out, *reference;
	int quiet;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	{OPT(since), .name = "since", .arg = "interval", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "compare the predictions logged in this interval"},
	TP_DB_OPTION(settings, db),
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING,
	    .help = "compare the model's scores too (a file or a reference)"},
	{OPT(out), .name = "output", .letter = 'o', .arg = "report.json",
	    .type = TP_OPT_STRING, .help = "where the report goes"},
	TOOL_QUIET(settings, quiet),
	{OPT(reference), .name = "reference", .arg = "file",
	    .type = TP_OPT_STRING, .flags = TP_OPT_REQUIRED,
	    .help = "the stream the current data is compared with"},
	{0},
};

/* The data compared: the reference, the current rows (a stream, or the
 * logged requests and their scores), and the model. */
typedef struct {
	tp_versioned_model vm;
	tp_encoding renc, cenc;
	tp_batch ref, cur;
	float *logged;          /* with --since, the scores logged */
	size_t nlogged;
	uint8_t *compare;       /* with --since, the features requests held */
} data;

static void
data_free(data *d)
{
	tp_versioned_model_free(&d->vm);
	tp_encoding_free(&d->renc);
	tp_encoding_free(&d->cenc);
	tp_batch_free(&d->ref);
	tp_batch_free(&d->cur);
	free(d->logged);
	free(d->compare);
}

static int
load(const settings *s, char **files, int n, const tp_shard *shard,
    tp_db *db, data *d, tp_err *e)
{
	int rc;

	if ((s->model != NULL && (rc = tp_version_load(&d->vm, db, s->model,
	    TP_WITH_HEAD, 1, e)) != TP_OK) ||
	    (rc = tp_stream_load(s->reference, &d->renc, &d->ref, e)) != TP_OK)
		return rc;
	if (s->since == NULL)
		return tp_shard_load(files, n, shard, &d->cenc, &d->cur, e);
	if ((d->compare = calloc((size_t)d->renc.ncols + 1, 1)) == NULL)
		return tp_err_nomem(e, "the features");
	if ((rc = tp_batch_init(&d->cur, d->renc.ncat, d->renc.nnum, 1, e)) !=
	    TP_OK)
		return rc;
	return tp_drift_load_predictions(db, s->since, s->model ?
	    d->vm.meta.sha256 : NULL, &d->renc, &d->cur, &d->logged,
	    &d->nlogged, d->compare, e);
}

/* The report's sides and the run's inputs: what was compared. */
static cJSON *
sides(const settings *s, const char *path, const data *d,
    tp_drift_report *rep)
{
	cJSON *inputs = cJSON_CreateObject();

	rep->side[0].source = s->reference;
	rep->side[0].rows = d->ref.n;
	tp_batch_fingerprint(&d->ref, rep->side[0].fingerprint);
	rep->side[1].source = s->since ? NULL : path;
	rep->side[1].since = s->since;
	rep->side[1].rows = s->since ? d->nlogged : d->cur.n;
	if (s->since == NULL)
		tp_batch_fingerprint(&d->cur, rep->side[1].fingerprint);
	cJSON_AddStringToObject(inputs, "reference", rep->side[0].fingerprint);
	if (s->since == NULL)
		cJSON_AddStringToObject(inputs, "current", rep->side[1].fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", d->renc.fingerprint);
	if (s->model != NULL)
		cJSON_AddStringToObject(inputs, "model", d->vm.meta.sha256);
	return inputs;
}

/* Every feature's drift, and the score's with a model. */
static int
compare(const settings *s, const tp_drift_opts *o, const char *path,
    data *d, tp_drift_report *rep, tp_err *e)
{
	int rc;

	if (s->since == NULL &&
	    strcmp(d->cenc.fingerprint, d->renc.fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., the reference %s with %.12s...: ingest both with one encoding (tabpipe-ingest --encoding)",
		    path, d->cenc.fingerprint, s->reference, d->renc.fingerprint);
	if (s->model != NULL &&
	    strcmp(d->vm.enc.fingerprint, d->renc.fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., the model %s with %.12s...: compare data of the model's encoding",
		    s->reference, d->renc.fingerprint, s->model,
		    d->vm.enc.fingerprint);
	if (d->ref.n == 0 || (s->since == NULL && d->cur.n == 0))
		return tp_err_set(e, TP_EDATA, "%s: no rows to compare",
		    d->ref.n == 0 ? s->reference : path);
	if ((rc = tp_drift_compare(rep, &d->renc, &d->ref, &d->cur, d->compare,
	    o, e)) != TP_OK)
		return rc;
	if (s->model != NULL && (rc = tp_drift_compare_model(rep, &d->vm.model,
	    &d->ref, s->since ? NULL : &d->cur, d->logged, d->nlogged, e)) != TP_OK)
		return tp_err_prefix(e, "%s", s->model);
	if (rep->nfeatures == 0 && !rep->has_score)
		return tp_err_set(e, TP_EDATA, "%s: nothing to compare: %s, and without -m there is no score",
		    s->since ? "predictions" : s->reference, s->since ?
		    "no logged request holds a feature" : "the encoding has no feature");
	return TP_OK;
}

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
	settings s = {.out = "-"};
	tp_drift_opts o = tp_drift_defaults;
	tp_shard shard = {0};
	tool_options families[] = {
		{tp_drift_options, &o}, {options, &s},
		{tp_shard_options, &shard}, {NULL, NULL},
	};
	data d = {0};
	tp_drift_report rep = {0};
	cJSON *params = NULL, *inputs = NULL, *json = NULL, *result = NULL;
	char **files, *path;
	int n, recorded = 0, worst, rc;
	int64_t run = 0;
	tp_db *db;
	tp_err e = {0};

	tool_init("drift", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.reference == NULL)
		tool_die(TP_EUSAGE, "--reference is required: name the stream the current data is compared with");
	if (s.since != NULL && (n > 1 || strcmp(files[0], "-") != 0 ||
	    shard.n > 0))
		tool_die(TP_EUSAGE, "--since takes the current data from the logged predictions: give no file or --shard");
	/* The current data in messages and the report. */
	if ((path = tp_shard_name(files[0], n, &shard)) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	if (o.psi_moderate > o.psi_significant)
		tool_die(TP_EUSAGE, "--psi-moderate %g is above --psi-significant %g",
		    o.psi_moderate, o.psi_significant);
	db = tool_db_open(s.db);
	if (s.since != NULL && db == NULL)
		tool_die(TP_EUSAGE, "--since reads the predictions table: give a database with --db or TABPIPE_DB");

	if ((rc = load(&s, files, n, &shard, db, &d, &e)) != TP_OK)
		goto fail;
	params = tool_params();
	inputs = sides(&s, path, &d, &rep);
	run = tool_run_start(db, params, inputs);
	if ((rc = compare(&s, &o, path, &d, &rep, &e)) != TP_OK)
		goto fail;
	if ((json = tp_drift_report_json(&rep)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tool_write_report(s.out, json, &e)) != TP_OK)
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddBoolToObject(result, "drift", rep.drift);
	cJSON_AddNumberToObject(result, "drifting", tp_drift_count(&rep, &worst));
	if (worst >= 0)
		cJSON_AddStringToObject(result, "worst", worst < rep.nfeatures ?
		    rep.features[worst].name : "score");
	/* A recorded report finishes its run in the same transaction. */
	if (db != NULL && (rc = tp_drift_record(db, run, json, rep.drift, result,
	    &e)) != TP_OK)
		goto fail;
	recorded = db != NULL;
	rc = rep.drift ? TP_NO : TP_OK;
	if (!s.quiet)
		summary(&rep);
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(db, recorded ? 0 : run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(json);
	cJSON_Delete(result);
	tp_drift_report_free(&rep);
	data_free(&d);
	free(path);
	return tool_finish(rc);
}
