#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "base/rng.h"
#include "model/score.h"
#include "quality/importance.h"

static int
by_loss(const void *a, const void *b)
{
	const tp_importance_feature *x = a, *y = b;

	if (x->mean != y->mean)
		return x->mean > y->mean ? -1 : 1;
	return (x->column > y->column) - (x->column < y->column);
}

/* The AUC of model m on work's rows; -1 with e filled on failure. */
static double
auc_of(tp_model *m, const tp_batch *work, float *prob, tp_err *e)
{
	if (tp_score(m, work, prob, e) != TP_OK)
		return -1;
	return tp_roc_auc(prob, 1, work->label, work->n, e);
}

/* Shuffles feature f's values (column slot of a row-major array of width
 * stride and element size size) among the n rows, Fisher-Yates. */
static void
shuffle(void *base, size_t size, size_t stride, int slot, size_t n,
    tp_rng *r)
{
	char *p = base, tmp[8];

	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tp_rng_below(r, i);
		char *a = p + ((i - 1) * stride + (size_t)slot) * size;
		char *c = p + (j * stride + (size_t)slot) * size;
		memcpy(tmp, a, size);
		memcpy(a, c, size);
		memcpy(c, tmp, size);
	}
}

int
tp_importance_measure(tp_importance *imp, tp_model *m,
    const tp_encoding *enc, const tp_batch *b, int repeats, uint64_t seed,
    tp_err *e)
{
	size_t ncat = (size_t)b->ncat, nnum = (size_t)b->nnum;
	tp_batch work = *b;
	float *prob = malloc((b->n + 1) * sizeof(*prob));
	int rc = TP_OK;

	memset(imp, 0, sizeof(*imp));
	imp->repeats = repeats;
	imp->seed = seed;
	imp->auc = NAN;
	work.cat = malloc((b->n * ncat + 1) * sizeof(*work.cat));
	work.num = malloc((b->n * nnum + 1) * sizeof(*work.num));
	if (repeats < 1) {
		rc = tp_err_set(e, TP_EUSAGE, "%d repeats: there must be 1 or more", repeats);
		goto out;
	}
	if (prob == NULL || work.cat == NULL || work.num == NULL ||
	    (imp->features = calloc((size_t)enc->ncols + 1, sizeof(*imp->features))) == NULL) {
		rc = tp_err_nomem(e, "the permutation importance");
		goto out;
	}
	memcpy(work.cat, b->cat, b->n * ncat * sizeof(*work.cat));
	memcpy(work.num, b->num, b->n * nnum * sizeof(*work.num));
	if ((imp->auc = auc_of(m, &work, prob, e)) < 0) {
		rc = e->code;
		goto out;
	}
	if (isnan(imp->auc)) {
		rc = tp_err_set(e, TP_EDATA, "the labelled rows are of one class: the AUC, and the AUC lost, are not defined");
		goto out;
	}
	for (int c = 0; c < enc->ncols; c++) {
		const tp_column *col = &enc->cols[c];
		int cat = col->kind == TP_KIND_CATEGORICAL;
		tp_importance_feature *f;
		double sum = 0, sq = 0;
		tp_rng r;

		if (!cat && col->kind != TP_KIND_NUMERIC)
			continue;
		f = &imp->features[imp->nfeatures++];
		f->name = col->name;
		f->categorical = cat;
		f->column = c;
		f->slot = col->slot;
		f->attribution = NAN;
		if ((f->losses = calloc((size_t)repeats, sizeof(*f->losses))) == NULL) {
			rc = tp_err_nomem(e, "the permutation importance");
			goto out;
		}
		/* splitmix64 in tp_rng_seed spreads seeds that differ by 1. */
		tp_rng_seed(&r, seed * 1000003u + (uint64_t)c);
		for (int k = 0; k < repeats; k++) {
			double auc;
			if (cat)
				shuffle(work.cat, sizeof(*work.cat), ncat, col->slot, b->n, &r);
			else
				shuffle(work.num, sizeof(*work.num), nnum, col->slot, b->n, &r);
			if ((auc = auc_of(m, &work, prob, e)) < 0) {
				rc = e->code;
				goto out;
			}
			f->losses[k] = imp->auc - auc;
			sum += f->losses[k];
		}
		f->mean = sum / repeats;
		for (int k = 0; k < repeats; k++)
			sq += (f->losses[k] - f->mean) * (f->losses[k] - f->mean);
		f->std = sqrt(sq / repeats);
		/* Back to the rows as they are, for the next feature. */
		for (size_t i = 0; i < b->n; i++) {
			if (cat)
				work.cat[i * ncat + (size_t)col->slot] = b->cat[i * ncat + (size_t)col->slot];
			else
				work.num[i * nnum + (size_t)col->slot] = b->num[i * nnum + (size_t)col->slot];
		}
	}
	qsort(imp->features, (size_t)imp->nfeatures, sizeof(*imp->features), by_loss);
out:
	free(prob);
	free(work.cat);
	free(work.num);
	if (rc != TP_OK)
		tp_importance_free(imp);
	return rc;
}

int
tp_importance_attribute(tp_importance *imp, tp_model *m,
    const tp_reference *r, const tp_batch *b, size_t rows, int steps,
    tp_err *e)
{
	tp_batch sample = {0};
	tp_explainer x = {0};
	double *mean_abs = NULL;
	int rc;

	if (rows > b->n)
		rows = b->n;
	if (rows == 0)
		return tp_err_set(e, TP_EDATA, "no rows to explain");
	if ((rc = tp_batch_init(&sample, b->ncat, b->nnum, rows, e)) != TP_OK)
		return rc;
	for (size_t i = 0; i < rows; i++) {
		size_t from = (size_t)((double)i * (double)b->n / (double)rows);
		memcpy(sample.cat + i * (size_t)b->ncat, b->cat + from *
		    (size_t)b->ncat, (size_t)b->ncat * sizeof(*b->cat));
		memcpy(sample.num + i * (size_t)b->nnum, b->num + from *
		    (size_t)b->nnum, (size_t)b->nnum * sizeof(*b->num));
	}
	sample.n = rows;
	if ((mean_abs = calloc((size_t)m->T, sizeof(double))) == NULL) {
		rc = tp_err_nomem(e, "the attributions");
		goto out;
	}
	if ((rc = tp_explainer_open(&x, m, r, steps, e)) != TP_OK ||
	    (rc = tp_explain_summary(&x, &sample, mean_abs, &imp->gap, e)) !=
	    TP_OK)
		goto out;
	for (int k = 0; k < imp->nfeatures; k++) {
		tp_importance_feature *f = &imp->features[k];
		f->attribution = mean_abs[f->categorical ? f->slot :
		    m->ncat + f->slot];
	}
	imp->attributed = rows;
	imp->steps = steps;
out:
	free(mean_abs);
	tp_explainer_free(&x);
	tp_batch_free(&sample);
	return rc;
}

void
tp_importance_free(tp_importance *imp)
{
	for (int k = 0; imp->features != NULL && k < imp->nfeatures; k++)
		free(imp->features[k].losses);
	free(imp->features);
	imp->features = NULL;
	imp->nfeatures = 0;
}

static cJSON *
feature_json(const tp_importance_feature *f, int repeats)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (o == NULL || cJSON_AddStringToObject(o, "feature", f->name) == NULL ||
	    cJSON_AddStringToObject(o, "kind", f->categorical ? "categorical" : "numeric") == NULL ||
	    cJSON_AddNumberToObject(o, "mean", f->mean) == NULL ||
	    cJSON_AddNumberToObject(o, "std", f->std) == NULL ||
	    (!isnan(f->attribution) && cJSON_AddNumberToObject(o,
	    "mean_abs_attribution", f->attribution) == NULL) ||
	    (a = cJSON_AddArrayToObject(o, "losses")) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	for (int k = 0; k < repeats; k++) {
		cJSON *v = cJSON_CreateNumber(f->losses[k]);
		if (v == NULL) {
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToArray(a, v);
	}
	return o;
}

cJSON *
tp_importance_json(const tp_importance *imp)
{
	cJSON *j = cJSON_CreateObject(), *a;
	int ok = j != NULL;

	if (!ok)
		return NULL;
	ok = cJSON_AddStringToObject(j, "metric", "roc_auc") != NULL && ok;
	ok = cJSON_AddNumberToObject(j, "auc", imp->auc) != NULL && ok;
	ok = cJSON_AddNumberToObject(j, "repeats", imp->repeats) != NULL && ok;
	ok = cJSON_AddNumberToObject(j, "seed", (double)imp->seed) != NULL && ok;
	if (imp->attributed > 0) {
		cJSON *at = cJSON_AddObjectToObject(j, "attribution");
		ok = at != NULL && ok;
		ok = at != NULL && cJSON_AddNumberToObject(at, "rows",
		    (double)imp->attributed) != NULL && ok;
		ok = at != NULL && cJSON_AddNumberToObject(at, "steps",
		    imp->steps) != NULL && ok;
		ok = at != NULL && cJSON_AddNumberToObject(at, "gap_mean",
		    imp->gap.mean) != NULL && ok;
		ok = at != NULL && cJSON_AddNumberToObject(at, "gap_max",
		    imp->gap.max) != NULL && ok;
		ok = at != NULL && cJSON_AddNumberToObject(at, "mean_change",
		    imp->gap.mean_change) != NULL && ok;
	}
	a = cJSON_AddArrayToObject(j, "features");
	ok = a != NULL && ok;
	for (int k = 0; a != NULL && k < imp->nfeatures; k++) {
		cJSON *f = feature_json(&imp->features[k], imp->repeats);
		if (f == NULL)
			ok = 0;
		else
			cJSON_AddItemToArray(a, f);
	}
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
