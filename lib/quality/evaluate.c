#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "quality/evaluate.h"

/* A labelled row, to sort by probability. */
typedef struct {
	double p;
	int y;
} scored;

static int
by_p_desc(const void *a, const void *b)
{
	double x = ((const scored *)a)->p, y = ((const scored *)b)->p;

	return x > y ? -1 : x < y;
}

/* The ROC and precision-recall curves, KS and average precision, from the
 * m labelled rows sorted by decreasing probability. Like scikit-learn's
 * _binary_clf_curve, each distinct probability is one threshold and tied
 * rows move the curve together. */
static int
curves(tp_evaluation *ev, const scored *s, size_t m, tp_err *e)
{
	double npos = (double)ev->positives;
	double nneg = (double)(ev->labelled - ev->positives);
	double tp = 0, fp = 0, last_recall = 0;
	size_t k = 0, g = 0;

	for (size_t i = 0; i < m; i++)
		k += i == 0 || s[i].p != s[i - 1].p;
	if (npos > 0 && nneg > 0 &&
	    (ev->roc = malloc((k + 1) * sizeof(*ev->roc))) == NULL)
		return tp_err_nomem(e, "the ROC curve");
	if (npos > 0 && (ev->pr = malloc((k + 1) * sizeof(*ev->pr))) == NULL)
		return tp_err_nomem(e, "the precision-recall curve");
	/* A threshold above every probability, so that the curve starts at
	 * (0, 0): scikit-learn's, before it became infinity (1.3), which JSON
	 * cannot hold. */
	if (ev->roc != NULL) {
		ev->roc[0] = (tp_roc_point){0, 0, s[0].p + 1};
		ev->nroc = 1;
		ev->ks = 0;
		ev->ks_threshold = ev->roc[0].threshold;
	}
	if (ev->pr != NULL)
		ev->pr_auc = 0;
	for (size_t i = 0; i < m; g++) {
		size_t j = i;
		for (; j < m && s[j].p == s[i].p; j++) {
			tp += s[j].y;
			fp += !s[j].y;
		}
		if (ev->roc != NULL) {
			tp_roc_point *r = &ev->roc[ev->nroc++];
			*r = (tp_roc_point){fp / nneg, tp / npos, s[i].p};
			if (fabs(r->tpr - r->fpr) > ev->ks) {
				ev->ks = fabs(r->tpr - r->fpr);
				ev->ks_threshold = r->threshold;
			}
		}
		if (ev->pr != NULL) {
			/* Listed by increasing threshold, as scikit-learn does. */
			tp_pr_point *r = &ev->pr[k - 1 - g];
			*r = (tp_pr_point){tp / npos, tp / (tp + fp), s[i].p};
			ev->pr_auc += (r->recall - last_recall) * r->precision;
			last_recall = r->recall;
		}
		i = j;
	}
	if (ev->pr != NULL) {
		ev->pr[k] = (tp_pr_point){0, 1, NAN};
		ev->npr = k + 1;
	}
	return TP_OK;
}

/* Equal-width bins with numpy.linspace's edges (i times the step, so that
 * they are the same doubles) and numpy.searchsorted's placement. */
static int
calibration(tp_evaluation *ev, const scored *s, size_t m, int bins,
    tp_err *e)
{
	double step = 1.0 / bins, *sum = calloc((size_t)bins, sizeof(*sum));
	uint64_t *pos = calloc((size_t)bins, sizeof(*pos));

	ev->calibration = calloc((size_t)bins, sizeof(*ev->calibration));
	if (sum == NULL || pos == NULL || ev->calibration == NULL) {
		free(sum);
		free(pos);
		return tp_err_nomem(e, "the calibration bins");
	}
	ev->nbins = bins;
	for (int b = 0; b < bins; b++) {
		ev->calibration[b].lower = b * step;
		ev->calibration[b].upper = b + 1 == bins ? 1.0 : (b + 1) * step;
	}
	for (size_t i = 0; i < m; i++) {
		/* The first bin whose upper edge is not below p; the last edge
		 * takes what is above it. */
		int lo = 0, hi = bins - 1;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (ev->calibration[mid].upper < s[i].p)
				lo = mid + 1;
			else
				hi = mid;
		}
		ev->calibration[lo].rows++;
		sum[lo] += s[i].p;
		pos[lo] += (uint64_t)s[i].y;
	}
	for (int b = 0; b < bins; b++) {
		tp_calibration_bin *c = &ev->calibration[b];
		c->mean_predicted = c->rows ? sum[b] / (double)c->rows : NAN;
		c->observed_rate = c->rows ? (double)pos[b] / (double)c->rows : NAN;
	}
	free(sum);
	free(pos);
	return TP_OK;
}

double
tp_score_edge(int b)
{
	return (double)b / TP_SCORE_BINS;
}

/* numpy.histogram's placement, floor(p * 20), the last bin taking 1.
 * numpy moves a value by one bin where rounding put it on the wrong side
 * of an edge; a float times 20 is exact in a double, and no float lies
 * between i / 20 and the double nearest it, so here none is. */
static void
score_histogram(tp_evaluation *ev, const scored *s, size_t m)
{
	for (size_t i = 0; i < m; i++) {
		double p = s[i].p;
		int b = p <= 0 ? 0 : p >= 1 ? TP_SCORE_BINS - 1 :
		    (int)(p * TP_SCORE_BINS);
		(s[i].y ? ev->histogram_positives : ev->histogram_negatives)[b]++;
	}
}

/* The decile of the i-th of m rows as numpy.array_split(rows, 10) cuts
 * them: the first m % 10 deciles have m / 10 + 1 rows, the others m / 10. */
static int
decile_of(size_t i, size_t m)
{
	size_t q = m / TP_DECILES, r = m % TP_DECILES;

	if (i < r * (q + 1))
		return (int)(i / (q + 1));
	return (int)(r + (i - r * (q + 1)) / q);
}

/* The gains table from the m labelled rows sorted by decreasing
 * probability. A run of tied probabilities goes whole to the decile of
 * its first row: which of them a cut would leave on each side is only
 * the order of the rows, and the decile of a score would then depend on
 * it. The shares and lifts are NaN where they divide by 0. */
static void
gains(tp_evaluation *ev, const scored *s, size_t m)
{
	double npos = (double)ev->positives, rate = npos / (double)m;
	uint64_t rows = 0, positives = 0;

	for (size_t i = 0, j; i < m; i = j) {
		tp_gains_decile *g = &ev->gains[decile_of(i, m)];
		for (j = i; j < m && s[j].p == s[i].p; j++) {
			g->rows++;
			g->positives += (uint64_t)s[j].y;
		}
		g->score_min = s[j - 1].p;
	}
	for (int d = 0; d < TP_DECILES; d++) {
		tp_gains_decile *g = &ev->gains[d];
		if (g->rows == 0)
			g->score_min = NAN;
		rows += g->rows;
		positives += g->positives;
		g->cumulative_rows_share = (double)rows / (double)m;
		g->cumulative_positives_share = (double)positives / npos;
		g->lift = (double)g->positives / (double)g->rows / rate;
		g->cumulative_lift = g->cumulative_positives_share /
		    g->cumulative_rows_share;
	}
}

/* The rates of the confusion matrix, 0 where scikit-learn's
 * zero_division=0 makes 0/0 zero. */
static double
rate(double num, double den)
{
	return den > 0 ? num / den : 0;
}

int
tp_evaluate(tp_evaluation *ev, const float *prob, const int8_t *label,
    size_t n, double threshold, int bins, tp_err *e)
{
	scored *s = NULL;
	double brier = 0;
	size_t m = 0;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->auc = ev->gini = ev->ks = ev->ks_threshold = NAN;
	ev->pr_auc = ev->log_loss = ev->brier = NAN;
	ev->f1 = ev->precision = ev->recall = ev->accuracy = NAN;
	ev->threshold = threshold;
	ev->rows = n;
	if (bins < 1)
		return tp_err_set(e, TP_EUSAGE, "%d calibration bins: there must be 1 or more", bins);
	if ((s = malloc((n + 1) * sizeof(*s))) == NULL)
		return tp_err_nomem(e, "the evaluation");
	for (size_t i = 0; i < n; i++) {
		if (isnan(prob[i])) {
			rc = tp_err_set(e, TP_EDATA, "row %zu: the probability is not a number", i + 1);
			goto out;
		}
		if (label[i] < 0)
			continue;
		int y = label[i] == 1;
		double p = prob[i];
		s[m++] = (scored){p, y};
		brier += (p - y) * (p - y);
		if (p >= threshold)
			*(y ? &ev->tp : &ev->fp) += 1;
		else
			*(y ? &ev->fn : &ev->tn) += 1;
	}
	ev->labelled = m;
	ev->positives = ev->tp + ev->fn;
	if (m > 0) {
		double tp = (double)ev->tp;
		ev->brier = brier / (double)m;
		ev->log_loss = tp_log_loss(prob, label, n);
		ev->precision = rate(tp, tp + (double)ev->fp);
		ev->recall = rate(tp, tp + (double)ev->fn);
		ev->f1 = rate(2 * tp, 2 * tp + (double)ev->fp + (double)ev->fn);
		ev->accuracy = (tp + (double)ev->tn) / (double)m;
		ev->auc = tp_roc_auc(prob, 1, label, n, e);
		if (ev->auc < 0) {
			rc = e->code;
			goto out;
		}
		ev->gini = 2 * ev->auc - 1;
	}
	qsort(s, m, sizeof(*s), by_p_desc);
	score_histogram(ev, s, m);
	gains(ev, s, m);
	if ((rc = curves(ev, s, m, e)) == TP_OK)
		rc = calibration(ev, s, m, bins, e);
out:
	free(s);
	if (rc != TP_OK)
		tp_evaluation_free(ev);
	return rc;
}

void
tp_evaluation_free(tp_evaluation *ev)
{
	free(ev->calibration);
	free(ev->roc);
	free(ev->pr);
	ev->calibration = NULL;
	ev->roc = NULL;
	ev->pr = NULL;
	ev->nbins = 0;
	ev->nroc = ev->npr = 0;
}

/* Adds a number, or null for NaN, which JSON cannot hold; 0 when memory
 * runs out. */
static int
put(cJSON *o, const char *key, double v)
{
	return (isnan(v) ? cJSON_AddNullToObject(o, key) :
	    cJSON_AddNumberToObject(o, key, v)) != NULL;
}

static cJSON *
point(const char *k1, double v1, const char *k2, double v2, double threshold)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !put(o, k1, v1) || !put(o, k2, v2) ||
	    !put(o, "threshold", threshold)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Appends item to array; 0 (and item freed) when either is missing. */
static int
append(cJSON *array, cJSON *item)
{
	if (array == NULL || item == NULL) {
		cJSON_Delete(item);
		return 0;
	}
	cJSON_AddItemToArray(array, item);
	return 1;
}

/* "score_histogram": {"edges", "negatives", "positives"}; 0 when memory
 * runs out. */
static int
histogram_json(cJSON *j, const tp_evaluation *ev)
{
	cJSON *h = cJSON_AddObjectToObject(j, "score_histogram");
	cJSON *edges = cJSON_AddArrayToObject(h, "edges");
	cJSON *neg = cJSON_AddArrayToObject(h, "negatives");
	cJSON *pos = cJSON_AddArrayToObject(h, "positives");
	int ok = h != NULL;

	for (int b = 0; b <= TP_SCORE_BINS; b++)
		ok = append(edges, cJSON_CreateNumber(tp_score_edge(b))) && ok;
	for (int b = 0; b < TP_SCORE_BINS; b++) {
		ok = append(neg, cJSON_CreateNumber(
		    (double)ev->histogram_negatives[b])) && ok;
		ok = append(pos, cJSON_CreateNumber(
		    (double)ev->histogram_positives[b])) && ok;
	}
	return ok;
}

static cJSON *
decile_json(int decile, const tp_gains_decile *g)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !put(o, "decile", decile) ||
	    !put(o, "rows", (double)g->rows) ||
	    !put(o, "positives", (double)g->positives) ||
	    !put(o, "score_min", g->score_min) ||
	    !put(o, "cumulative_rows_share", g->cumulative_rows_share) ||
	    !put(o, "cumulative_positives_share", g->cumulative_positives_share) ||
	    !put(o, "lift", g->lift) ||
	    !put(o, "cumulative_lift", g->cumulative_lift)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *
tp_evaluation_json(const tp_evaluation *ev, const char *model_sha256,
    int version, const char *data_fingerprint)
{
	cJSON *j = cJSON_CreateObject(), *o;
	int ok = j != NULL;

	if (!ok)
		return NULL;
	ok = put(j, "rows", (double)ev->rows) && ok;
	ok = put(j, "labelled", (double)ev->labelled) && ok;
	ok = put(j, "positives", (double)ev->positives) && ok;
	ok = put(j, "auc", ev->auc) && ok;
	ok = put(j, "gini", ev->gini) && ok;
	ok = put(j, "ks", ev->ks) && ok;
	ok = put(j, "ks_threshold", ev->ks_threshold) && ok;
	ok = put(j, "pr_auc", ev->pr_auc) && ok;
	ok = put(j, "log_loss", ev->log_loss) && ok;
	ok = put(j, "brier", ev->brier) && ok;
	ok = put(j, "threshold", ev->threshold) && ok;
	ok = put(j, "f1", ev->f1) && ok;
	ok = put(j, "precision", ev->precision) && ok;
	ok = put(j, "recall", ev->recall) && ok;
	ok = put(j, "accuracy", ev->accuracy) && ok;
	if ((o = cJSON_AddObjectToObject(j, "confusion")) == NULL)
		ok = 0;
	else {
		ok = put(o, "tp", (double)ev->tp) && ok;
		ok = put(o, "fp", (double)ev->fp) && ok;
		ok = put(o, "tn", (double)ev->tn) && ok;
		ok = put(o, "fn", (double)ev->fn) && ok;
	}
	o = cJSON_AddArrayToObject(j, "calibration");
	for (int b = 0; b < ev->nbins; b++) {
		const tp_calibration_bin *c = &ev->calibration[b];
		cJSON *bin = cJSON_CreateObject();
		if (bin != NULL && (!put(bin, "bin", b) || !put(bin, "lower", c->lower) ||
		    !put(bin, "upper", c->upper) || !put(bin, "rows", (double)c->rows) ||
		    !put(bin, "mean_predicted", c->mean_predicted) ||
		    !put(bin, "observed_rate", c->observed_rate))) {
			cJSON_Delete(bin);
			bin = NULL;
		}
		ok = append(o, bin) && ok;
	}
	ok = histogram_json(j, ev) && ok;
	o = cJSON_AddArrayToObject(j, "gains");
	for (int d = 0; d < TP_DECILES; d++)
		ok = append(o, decile_json(d + 1, &ev->gains[d])) && ok;
	o = cJSON_AddArrayToObject(j, "roc");
	for (size_t i = 0; i < ev->nroc; i++)
		ok = append(o, point("fpr", ev->roc[i].fpr, "tpr", ev->roc[i].tpr,
		    ev->roc[i].threshold)) && ok;
	o = cJSON_AddArrayToObject(j, "pr");
	for (size_t i = 0; i < ev->npr; i++)
		ok = append(o, point("recall", ev->pr[i].recall, "precision",
		    ev->pr[i].precision, ev->pr[i].threshold)) && ok;
	if ((o = cJSON_AddObjectToObject(j, "model")) == NULL)
		ok = 0;
	else {
		ok = cJSON_AddStringToObject(o, "sha256", model_sha256) != NULL && ok;
		ok = put(o, "version", version > 0 ? version : NAN) && ok;
		ok = put(o, "threshold", ev->threshold) && ok;
	}
	ok = cJSON_AddStringToObject(j, "data_fingerprint", data_fingerprint) != NULL && ok;
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int
tp_evaluation_record(tp_db *db, int64_t run, int64_t version_id,
    const char *model_sha256, const char *data_fingerprint, uint64_t rows,
    const cJSON *report, int64_t *id, tp_err *e)
{
	char srun[24], sversion[24], srows[24];
	char *json = cJSON_PrintUnformatted(report);
	const char *params[] = {srun, version_id > 0 ? sversion : NULL,
	    model_sha256, data_fingerprint, srows, json};
	PGresult *r;
	int rc;

	if (json == NULL)
		return tp_err_nomem(e, "the evaluation's record");
	snprintf(srun, sizeof(srun), "%" PRId64, run);
	snprintf(sversion, sizeof(sversion), "%" PRId64, version_id);
	snprintf(srows, sizeof(srows), "%" PRIu64, rows);
	/* One statement is one transaction: the row is there whole or not at
	 * all. */
	rc = tp_db_exec(db, "INSERT INTO evaluations (run_id, version_id, "
	    "model_sha256, data_fingerprint, rows, metrics) "
	    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 6, params, &r, e);
	free(json);
	if (rc != TP_OK)
		return rc;
	if (id != NULL)
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return TP_OK;
}
