/* tabpipe-drift: how far current data has moved from the reference. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/partial.h"
#include "data/profile.h"
#include "data/shard.h"
#include "data/stream.h"
#include "model/score.h"
#include "quality/drift.h"
#include "registry/version.h"
#include "tool.h"

typedef struct {
	const char *since, *db, *model, *out, *reference;
	int quiet, partial, merge;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	{OPT(since), .name = "since", .arg = "interval", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "compare the predictions logged in this interval"},
	TP_DB_OPTION(settings, db),
	{OPT(merge), .name = "merge", .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD,
	    .help = "the files are partials of the current data: merge them"},
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING,
	    .help = "compare the model's scores too (a file or a reference)"},
	{OPT(out), .name = "output", .letter = 'o', .arg = "report.json",
	    .type = TP_OPT_STRING, .help = "where the report goes"},
	{OPT(partial), .name = "partial", .type = TP_OPT_FLAG,
	    .flags = TP_OPT_RECORD,
	    .help = "write the profile of the files as a partial, to compare later"},
	TOOL_QUIET(settings, quiet),
	{OPT(reference), .name = "reference", .arg = "file",
	    .type = TP_OPT_STRING,
	    .help = "the stream, or its profile, the current data is compared with"},
	{0},
};

/* One side of the comparison: its profile, and where it came from. */
typedef struct {
	tp_profile p;
	tp_partial env;         /* its envelope: of a partial, or made here */
	tp_shard_reader *r;     /* a stream's, whose encoding p uses */
	tp_encoding enc;        /* with --since, the reference's, copied */
} side;

static void
side_free(side *d)
{
	tp_profile_free(&d->p);
	tp_partial_free(&d->env);
	tp_shard_reader_close(d->r);
	tp_encoding_free(&d->enc);
}

/* Whether path holds a partial (a JSON object) rather than a stream. */
static int
is_partial(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? NULL : fopen(path, "rb");
	int c = EOF;

	if (f == NULL)
		return 0;
	while ((c = getc(f)) == ' ' || c == '\n' || c == '\t' || c == '\r')
		;
	fclose(f);
	return c == '{';
}

/* Reads the partials at paths into d's profile, merged. */
static int
read_partials(side *d, char *const *paths, int n, tp_err *e)
{
	return tp_partial_fold(paths, n, "profile", &d->env, tp_profile_fold,
	    &d->p, e);
}

/* Opens streams (files, or their shard) for their profile. */
static int
open_streams(side *d, char **files, int n, const tp_shard *shard, tp_err *e)
{
	int rc;

	if ((rc = tp_shard_reader_open(&d->r, files, n, shard, e)) != TP_OK)
		return rc;
	return tp_profile_init(&d->p, tp_shard_reader_encoding(d->r), e);
}

/* Reads the streams' profile, with the scores of the model vm (may be
 * NULL, which must be of their encoding); its envelope named path. */
static int
profile_streams(side *d, const char *path, tp_versioned_model *vm,
    tp_err *e)
{
	tp_scorer *scorer = NULL;
	int rc;

	if (vm != NULL && (rc = tp_scorer_open(&scorer, &vm->model,
	    TP_DEVICE_CPU, e)) != TP_OK)
		return rc;
	rc = tp_drift_profile_read(&d->p, d->r, scorer, e);
	tp_scorer_close(scorer);
	if (rc == TP_OK)
		rc = tp_partial_init(&d->env, "profile", d->p.enc->fingerprint,
		    vm != NULL ? vm->meta.sha256 : NULL, d->p.rows,
		    d->p.fingerprint, path, e);
	return rc;
}

/* Data of another encoding than the model's, which cannot score it. */
static int
not_the_models(const char *path, const char *fingerprint, const char *model,
    const tp_versioned_model *vm, tp_err *e)
{
	return tp_err_set(e, TP_EDATA,
	    "%s: encoded with %.12s..., the model %s with %.12s...: compare data of the model's encoding",
	    path, fingerprint, model, vm->enc.fingerprint);
}

/* The current data of the logged predictions: their requests, shaped as
 * the reference, and their scores. */
static int
read_logged(side *d, const settings *s, tp_db *db, const tp_encoding *renc,
    const tp_versioned_model *vm, uint8_t **compare, tp_err *e)
{
	tp_batch b = {0};
	float *logged = NULL;
	int8_t *unlabelled = NULL;
	size_t nlogged = 0;
	cJSON *j = tp_encoding_to_json(renc);
	int rc;

	if (j == NULL)
		return tp_err_nomem(e, "the encoding");
	rc = tp_encoding_from_json(&d->enc, j, "the reference", e);
	cJSON_Delete(j);
	if (rc != TP_OK)
		return rc;
	if ((*compare = calloc((size_t)renc->ncols + 1, 1)) == NULL)
		return tp_err_nomem(e, "the features");
	if ((rc = tp_batch_init(&b, renc->ncat, renc->nnum, 1, e)) != TP_OK ||
	    (rc = tp_drift_load_predictions(db, s->since, s->model ?
	    vm->meta.sha256 : NULL, renc, &b, &logged, &nlogged, *compare,
	    e)) != TP_OK ||
	    (rc = tp_profile_init(&d->p, &d->enc, e)) != TP_OK)
		goto out;
	if ((unlabelled = malloc(nlogged + 1)) == NULL) {
		rc = tp_err_nomem(e, "the scores");
		goto out;
	}
	memset(unlabelled, -1, nlogged);
	tp_batch_fingerprint(&b, d->p.fingerprint);
	if ((rc = tp_profile_add(&d->p, &b, 0, e)) != TP_OK ||
	    (rc = tp_profile_add_scores(&d->p, logged, unlabelled, nlogged, e)) != TP_OK)
		goto out;
	rc = tp_partial_init(&d->env, "profile", renc->fingerprint, NULL,
	    nlogged, d->p.fingerprint, "predictions", e);
out:
	tp_batch_free(&b);
	free(logged);
	free(unlabelled);
	return rc;
}

/* The report's sides, and the run's result: what was compared. */
static void
sides(const settings *s, const char *path, side *d, tp_drift_report *rep,
    cJSON *result)
{
	rep->side[0].source = s->reference;
	rep->side[0].rows = d[0].p.rows;
	tp_partial_fingerprint(&d[0].env, rep->side[0].fingerprint);
	rep->side[1].source = s->since ? NULL : path;
	rep->side[1].since = s->since;
	rep->side[1].rows = s->since ? d[1].p.score_rows : d[1].p.rows;
	if (s->since == NULL)
		tp_partial_fingerprint(&d[1].env, rep->side[1].fingerprint);
	cJSON_AddStringToObject(result, "reference", rep->side[0].fingerprint);
	if (s->since == NULL)
		cJSON_AddStringToObject(result, "current", rep->side[1].fingerprint);
}

/* Every feature's drift, and the score's with a model. */
static int
compare(const settings *s, const tp_drift_opts *o, const char *path,
    side *d, const uint8_t *flags, tp_drift_report *rep, tp_err *e)
{
	int rc;

	if (d[0].p.rows == 0 || (s->since == NULL && d[1].p.rows == 0))
		return tp_err_set(e, TP_EDATA, "%s: no rows to compare",
		    d[0].p.rows == 0 ? s->reference : path);
	if ((rc = tp_profile_finish(&d[0].p, e)) != TP_OK ||
	    (rc = tp_profile_finish(&d[1].p, e)) != TP_OK ||
	    (rc = tp_drift_compare_profiles(rep, &d[0].p, &d[1].p, flags, o,
	    e)) != TP_OK)
		return rc;
	if (rep->nfeatures == 0 && !rep->has_score)
		return tp_err_set(e, TP_EDATA, "%s: nothing to compare: %s, and without -m there is no score",
		    s->since ? "predictions" : s->reference, s->since ?
		    "no logged request holds a feature" : "the encoding has no feature");
	return TP_OK;
}

/* The reference (a stream, profiled here, or a profile's partial), with
 * the model's scores when there is a model: a partial must hold that
 * model's. */
static int
reference(const settings *s, tp_versioned_model *vm, side *d, tp_err *e)
{
	char *ref = (char *)s->reference;
	int rc;

	if (is_partial(ref)) {
		if ((rc = read_partials(d, &ref, 1, e)) != TP_OK)
			return rc;
		if (s->model != NULL && strcmp(d->env.model, vm->meta.sha256) != 0)
			return tp_err_set(e, TP_EDATA,
			    "%s: a profile %s%.12s%s, not of %s (%.12s...): make it with -m %s",
			    ref, d->env.model[0] ? "of the scores of " : "without scores",
			    d->env.model, d->env.model[0] ? "..." : "", s->model,
			    vm->meta.sha256, s->model);
		return TP_OK;
	}
	if ((rc = open_streams(d, &ref, 1, NULL, e)) != TP_OK)
		return rc;
	if (s->model != NULL && strcmp(vm->enc.fingerprint,
	    d->p.enc->fingerprint) != 0)
		return not_the_models(ref, d->p.enc->fingerprint, s->model, vm, e);
	return profile_streams(d, ref, s->model ? vm : NULL, e);
}

/* The current data: streams, partials to merge, or logged predictions,
 * of the reference's encoding. */
static int
current(const settings *s, char **files, int n, const tp_shard *shard,
    const char *path, tp_db *db, tp_versioned_model *vm, side *d,
    uint8_t **flags, tp_err *e)
{
	const tp_encoding *renc = d[0].p.enc;
	const char *fp;
	int rc = TP_OK;

	if (s->since != NULL)
		return read_logged(&d[1], s, db, renc, vm, flags, e);
	if (s->merge)
		rc = read_partials(&d[1], files, n, e);
	else
		rc = open_streams(&d[1], files, n, shard, e);
	if (rc != TP_OK)
		return rc;
	fp = d[1].p.enc->fingerprint;
	if (strcmp(fp, renc->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., the reference %s with %.12s...: ingest both with one encoding (tabpipe-ingest --encoding)",
		    s->merge ? files[0] : path, fp, s->reference, renc->fingerprint);
	if (!s->merge)
		return profile_streams(&d[1], path, s->model ? vm : NULL, e);
	if (s->model != NULL && strcmp(d[1].env.model, vm->meta.sha256) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: a profile %s, not of %s: make the partials with -m %s",
		    files[0], d[1].env.model[0] ? "of another model's scores" :
		    "without scores", s->model, s->model);
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

/* --partial: the profile of the files, to --output. */
static int
write_partial(const settings *s, side *d, tp_err *e)
{
	cJSON *doc = tp_partial_json(&d->env), *body;
	int rc;

	if (doc == NULL || (body = cJSON_AddObjectToObject(doc, "profile")) == NULL ||
	    !tp_profile_json(&d->p, body)) {
		cJSON_Delete(doc);
		return tp_err_nomem(e, "the partial");
	}
	rc = tool_write_report(s->out, doc, e);
	cJSON_Delete(doc);
	if (rc == TP_OK && !s->quiet)
		tool_warn("%llu rows: a profile of %d part%s%s",
		    (unsigned long long)d->p.rows, cJSON_GetArraySize(d->env.parts),
		    cJSON_GetArraySize(d->env.parts) == 1 ? "" : "s",
		    d->p.scored ? ", with the model's scores" : "");
	return rc;
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
	tp_versioned_model vm = {0};
	side d[2];
	uint8_t *flags = NULL;
	tp_drift_report rep = {0};
	cJSON *params = NULL, *inputs = NULL, *json = NULL, *result = NULL;
	char **files, *path;
	int n, recorded = 0, worst, rc;
	int64_t run = 0;
	tp_db *db;
	tp_err e = {0};

	memset(d, 0, sizeof(d));
	tool_init("drift", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.reference == NULL && !s.partial)
		tool_die(TP_EUSAGE, "--reference is required: name the stream, or its profile, the current data is compared with");
	if (s.partial && (s.reference != NULL || s.merge || s.since != NULL))
		tool_die(TP_EUSAGE, "--partial writes the profile of the files: no --reference, --merge or --since");
	if (s.since != NULL && (n > 1 || strcmp(files[0], "-") != 0 ||
	    shard.n > 0 || s.merge))
		tool_die(TP_EUSAGE, "--since takes the current data from the logged predictions: give no file, --shard or --merge");
	if (s.merge && (shard.n > 0 || (n == 1 && strcmp(files[0], "-") == 0)))
		tool_die(TP_EUSAGE, "--merge: name the partials of the current data, and no --shard");
	/* The current data in messages and the report. */
	if ((path = tp_shard_name(files[0], n, &shard)) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	if (o.psi_moderate > o.psi_significant)
		tool_die(TP_EUSAGE, "--psi-moderate %g is above --psi-significant %g",
		    o.psi_moderate, o.psi_significant);
	db = tool_db_open(s.db);
	if (s.since != NULL && db == NULL)
		tool_die(TP_EUSAGE, "--since reads the predictions table: give a database with --db or TABPIPE_DB");

	if (s.model != NULL && (rc = tp_version_load(&vm, db, s.model,
	    TP_WITH_HEAD, 1, &e)) != TP_OK)
		goto fail;
	params = tool_params();
	inputs = cJSON_CreateObject();
	cJSON *operands = cJSON_AddArrayToObject(inputs, s.merge ? "partials" :
	    "files");
	for (int i = 0; s.since == NULL && i < n; i++)
		cJSON_AddItemToArray(operands, cJSON_CreateString(files[i]));
	if (s.reference != NULL)
		cJSON_AddStringToObject(inputs, "reference", s.reference);
	if (s.model != NULL)
		cJSON_AddStringToObject(inputs, "model", vm.meta.sha256);
	run = tool_run_start(db, params, inputs);
	result = cJSON_CreateObject();
	if (s.partial) {
		if ((rc = open_streams(&d[1], files, n, &shard, &e)) != TP_OK)
			goto fail;
		if (s.model != NULL && strcmp(vm.enc.fingerprint,
		    d[1].p.enc->fingerprint) != 0) {
			rc = not_the_models(path, d[1].p.enc->fingerprint, s.model, &vm, &e);
			goto fail;
		}
		if ((rc = profile_streams(&d[1], path, s.model ? &vm : NULL, &e)) != TP_OK ||
		    (rc = write_partial(&s, &d[1], &e)) != TP_OK)
			goto fail;
		cJSON_AddStringToObject(result, "partial", d[1].p.fingerprint);
		goto done;
	}
	if ((rc = reference(&s, &vm, &d[0], &e)) != TP_OK ||
	    (rc = current(&s, files, n, &shard, path, db, &vm, d, &flags,
	    &e)) != TP_OK)
		goto fail;
	/* Scores are compared with -m alone. */
	d[0].p.scored &= s.model != NULL;
	d[1].p.scored &= s.model != NULL;
	sides(&s, path, d, &rep, result);
	if ((rc = compare(&s, &o, path, d, flags, &rep, &e)) != TP_OK)
		goto fail;
	if ((json = tp_drift_report_json(&rep)) == NULL) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if ((rc = tool_write_report(s.out, json, &e)) != TP_OK)
		goto fail;
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
	side_free(&d[0]);
	side_free(&d[1]);
	free(flags);
	tp_versioned_model_free(&vm);
	free(path);
	return tool_finish(rc);
}
