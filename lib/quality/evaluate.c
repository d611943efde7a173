#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "data/partial.h"
#include "quality/evaluate.h"

double
tp_score_edge(int b)
{
	return (double)b / TP_SCORE_BINS;
}

/* numpy.histogram's placement, floor(p * 20), the last bin taking 1.
 * numpy moves a value by one bin where rounding put it on the wrong side
 * of an edge; a float times 20 is exact in a double, and no float lies
 * between i / 20 and the double nearest it, so here none is. */
static int
score_bin(double p)
{
	return p <= 0 ? 0 : p >= 1 ? TP_SCORE_BINS - 1 : (int)(p * TP_SCORE_BINS);
}

/* Calibration bin b's upper edge, numpy.linspace's (b + 1 times the step,
 * so that they are the same doubles). */
static double
cal_upper(int b, int bins)
{
	return b + 1 == bins ? 1.0 : (b + 1) * (1.0 / bins);
}

/* The first calibration bin whose upper edge is not below p, as
 * numpy.searchsorted places it; the last edge takes what is above it. */
static int
cal_bin(double p, int bins)
{
	int lo = 0, hi = bins - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cal_upper(mid, bins) < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
tp_eval_partial_init(tp_eval_partial *p, double threshold, int bins,
    tp_err *e)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (bins < 1)
		return tp_err_set(e, TP_EUSAGE, "%d calibration bins: there must be 1 or more", bins);
	p->threshold = threshold;
	p->bins = bins;
	p->highest = -INFINITY;
	p->cal_rows = calloc((size_t)bins, sizeof(*p->cal_rows));
	p->cal_positives = calloc((size_t)bins, sizeof(*p->cal_positives));
	p->cal_sum = calloc((size_t)bins, sizeof(*p->cal_sum));
	if (p->cal_rows == NULL || p->cal_positives == NULL || p->cal_sum == NULL) {
		tp_eval_partial_free(p);
		return tp_err_nomem(e, "the calibration bins");
	}
	if ((rc = tp_sketch_init(&p->scores, TP_EVAL_SKETCH_BINS, e)) != TP_OK)
		tp_eval_partial_free(p);
	return rc;
}

void
tp_eval_partial_free(tp_eval_partial *p)
{
	if (p == NULL)
		return;
	free(p->cal_rows);
	free(p->cal_positives);
	free(p->cal_sum);
	tp_sketch_free(&p->scores);
	memset(p, 0, sizeof(*p));
}

int
tp_eval_partial_add(tp_eval_partial *p, const float *prob,
    const int8_t *label, size_t n, tp_err *e)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (isnan(prob[i]))
			return tp_err_set(e, TP_EDATA,
			    "row %" PRIu64 ": the probability is not a number",
			    p->rows + i + 1);
		if (label[i] < 0)
			continue;
		int y = label[i] == 1, b = cal_bin(prob[i], p->bins);
		double x = prob[i];
		/* The log loss clipped to [1e-15, 1 - 1e-15], as scikit-learn
		 * clips it. */
		double q = fmin(fmax(x, 1e-15), 1 - 1e-15);
		tp_xsum_add(&p->brier, (x - y) * (x - y));
		tp_xsum_add(&p->log_loss, -(y ? log(q) : log(1 - q)));
		if (x >= p->threshold)
			*(y ? &p->tp : &p->fp) += 1;
		else
			*(y ? &p->fn : &p->tn) += 1;
		(y ? p->histogram_positives : p->histogram_negatives)[score_bin(x)]++;
		p->cal_rows[b]++;
		p->cal_positives[b] += (uint64_t)y;
		tp_xsum_add(&p->cal_sum[b], x);
		p->highest = fmax(p->highest, x);
		if ((rc = tp_sketch_add(&p->scores, prob[i], 1 + y, 1, e)) != TP_OK)
			return rc;
	}
	p->rows += n;
	return TP_OK;
}

int
tp_eval_partial_merge(tp_eval_partial *into, const tp_eval_partial *from,
    tp_err *e)
{
	if (into->threshold != from->threshold)
		return tp_err_set(e, TP_EDATA, "of threshold %.17g, not %.17g",
		    from->threshold, into->threshold);
	if (into->bins != from->bins)
		return tp_err_set(e, TP_EDATA,
		    "of %d calibration bins, not %d: make the partials with one --bins",
		    from->bins, into->bins);
	into->rows += from->rows;
	into->tp += from->tp;
	into->fp += from->fp;
	into->tn += from->tn;
	into->fn += from->fn;
	tp_xsum_merge(&into->brier, &from->brier);
	tp_xsum_merge(&into->log_loss, &from->log_loss);
	for (int b = 0; b < TP_SCORE_BINS; b++) {
		into->histogram_negatives[b] += from->histogram_negatives[b];
		into->histogram_positives[b] += from->histogram_positives[b];
	}
	for (int b = 0; b < into->bins; b++) {
		into->cal_rows[b] += from->cal_rows[b];
		into->cal_positives[b] += from->cal_positives[b];
		tp_xsum_merge(&into->cal_sum[b], &from->cal_sum[b]);
	}
	into->highest = fmax(into->highest, from->highest);
	return tp_sketch_merge(&into->scores, &from->scores, e);
}

/* The rates of the confusion matrix, 0 where scikit-learn's
 * zero_division=0 makes 0/0 zero. */
static double
rate(double num, double den)
{
	return den > 0 ? num / den : 0;
}

/* The decile of the i-th of m rows as numpy.array_split(rows, 10) cuts
 * them: the first m % 10 deciles have m / 10 + 1 rows, the others m / 10. */
static int
decile_of(uint64_t i, uint64_t m)
{
	uint64_t q = m / TP_DECILES, r = m % TP_DECILES;

	if (i < r * (q + 1))
		return (int)(i / (q + 1));
	return (int)(r + (i - r * (q + 1)) / q);
}

/* The gains table's shares and lifts, from its deciles' counts; NaN where
 * they divide by 0. */
static void
gains_shares(tp_evaluation *ev)
{
	double npos = (double)ev->positives, m = (double)ev->labelled;
	double rate_all = npos / m;
	uint64_t rows = 0, positives = 0;

	for (int d = 0; d < TP_DECILES; d++) {
		tp_gains_decile *g = &ev->gains[d];
		if (g->rows == 0)
			g->score_min = NAN;
		rows += g->rows;
		positives += g->positives;
		g->cumulative_rows_share = (double)rows / m;
		g->cumulative_positives_share = (double)positives / npos;
		g->lift = (double)g->positives / (double)g->rows / rate_all;
		g->cumulative_lift = g->cumulative_positives_share /
		    g->cumulative_rows_share;
	}
}

/* ROC AUC from the sketch's bins by increasing probability: Mann-Whitney,
 * ties counting one half, as tp_roc_auc sums it (so that an exact sketch
 * gives its very double); and the bound of the ties a bin makes. */
static void
auc(tp_evaluation *ev, const tp_sketch *s)
{
	double below = 0, u = 0, npos = 0, tied = 0;

	for (size_t i = 0; i < s->n; i++) {
		double pos = (double)s->bin[i].count[2];
		double neg = (double)s->bin[i].count[1];
		u += pos * (below + neg / 2);
		tied += pos * neg;
		below += neg;
		npos += pos;
	}
	if (npos == 0 || below == 0)
		return;
	ev->auc = u / (npos * below);
	ev->gini = 2 * ev->auc - 1;
	ev->auc_bound = s->level > 0 ? tied / 2 / (npos * below) : 0;
}

/* Walks the bins by decreasing probability: KS and its bound, average
 * precision and its bound, the gains' deciles. Like scikit-learn's
 * _binary_clf_curve, each bin is one threshold, its rows moving the curve
 * together. */
static void
walk(tp_evaluation *ev, const tp_sketch *s, size_t *ks_at)
{
	double npos = (double)ev->positives;
	double nneg = (double)(ev->labelled - ev->positives);
	double tp = 0, fp = 0, last_recall = 0, ks_upper = 0;
	int roc = npos > 0 && nneg > 0, exact = s->level == 0;
	uint64_t row = 0;

	if (roc) {
		ev->ks = 0;
		ev->ks_threshold = ev->highest + 1;
		*ks_at = SIZE_MAX;
	}
	if (npos > 0)
		ev->pr_auc = ev->pr_auc_bound = 0;
	for (size_t g = 0; g < s->n; g++) {
		const tp_sketch_bin *b = &s->bin[s->n - 1 - g];
		double pos = (double)b->count[2], neg = (double)b->count[1];
		double tp0 = tp, fp0 = fp, at = tp_sketch_value(b->least);
		tp += pos;
		fp += neg;
		if (roc) {
			double d = fabs(tp / npos - fp / nneg);
			if (d > ev->ks) {
				ev->ks = d;
				ev->ks_threshold = at;
				*ks_at = g;
			}
			/* Inside the bin, tpr - fpr lies between these two. */
			ks_upper = fmax(ks_upper, fmax(fabs(tp / npos - fp0 / nneg),
			    fabs(tp0 / npos - fp / nneg)));
		}
		if (npos > 0) {
			double precision = tp / (tp + fp), recall = tp / npos;
			ev->pr_auc += (recall - last_recall) * precision;
			last_recall = recall;
			/* A positive row inside the bin, with i positives and j
			 * negatives of the bin at or above it, has precision
			 * (tp0 + i) / (tp0 + fp0 + i + j): least for i = 1, j =
			 * neg, greatest for i = pos, j = 0. */
			if (!exact && pos > 0) {
				double least = (tp0 + 1) / (tp0 + fp0 + 1 + neg);
				double most = (tp0 + pos) / (tp0 + fp0 + pos);
				ev->pr_auc_bound += pos / npos *
				    fmax(most - precision, precision - least);
			}
		}
		/* The bin goes whole to the decile of its first row. */
		tp_gains_decile *d = &ev->gains[decile_of(row, ev->labelled)];
		d->rows += b->count[1] + b->count[2];
		d->positives += b->count[2];
		d->score_min = at;
		row += b->count[1] + b->count[2];
	}
	if (roc)
		ev->ks_bound = exact ? 0 : ks_upper - ev->ks;
}

/* The ROC and precision-recall curves: a point a bin, thinned to
 * TP_CURVE_POINTS when there are more (the KS point at ks_at and the last
 * kept). */
static int
curves(tp_evaluation *ev, const tp_sketch *s, size_t ks_at, tp_err *e)
{
	double npos = (double)ev->positives;
	double nneg = (double)(ev->labelled - ev->positives);
	double tp = 0, fp = 0, tp_kept = 0, fp_kept = 0;
	double step = 2.0 / (TP_CURVE_POINTS - 3);
	int thin = s->n > TP_CURVE_POINTS - 1;
	size_t k = 0, room = (thin ? TP_CURVE_POINTS - 1 : s->n) + 1;

	if (npos > 0 && nneg > 0 &&
	    (ev->roc = malloc(room * sizeof(*ev->roc))) == NULL)
		return tp_err_nomem(e, "the ROC curve");
	if (npos > 0 && (ev->pr = malloc(room * sizeof(*ev->pr))) == NULL)
		return tp_err_nomem(e, "the precision-recall curve");
	/* A threshold above every probability, so that the curve starts at
	 * (0, 0): scikit-learn's, before it became infinity (1.3), which JSON
	 * cannot hold. */
	if (ev->roc != NULL)
		ev->roc[ev->nroc++] = (tp_roc_point){0, 0, ev->highest + 1};
	if (ev->pr == NULL && ev->roc == NULL)
		return TP_OK;
	for (size_t g = 0; g < s->n; g++) {
		const tp_sketch_bin *b = &s->bin[s->n - 1 - g];
		double at = tp_sketch_value(b->least);
		tp += (double)b->count[2];
		fp += (double)b->count[1];
		if (thin && g + 1 < s->n && g != ks_at &&
		    (tp - tp_kept) / npos + (nneg > 0 ? (fp - fp_kept) / nneg : 0) < step)
			continue;
		tp_kept = tp;
		fp_kept = fp;
		if (ev->roc != NULL)
			ev->roc[ev->nroc++] = (tp_roc_point){fp / nneg, tp / npos, at};
		if (ev->pr != NULL)
			ev->pr[k] = (tp_pr_point){tp / npos, tp / (tp + fp), at};
		k++;
	}
	if (ev->pr != NULL) {
		/* Listed by increasing threshold, as scikit-learn does. */
		for (size_t i = 0; i < k / 2; i++) {
			tp_pr_point t = ev->pr[i];
			ev->pr[i] = ev->pr[k - 1 - i];
			ev->pr[k - 1 - i] = t;
		}
		ev->pr[k] = (tp_pr_point){0, 1, NAN};
		ev->npr = k + 1;
	}
	return TP_OK;
}

int
tp_eval_partial_finish(tp_evaluation *ev, tp_eval_partial *p, tp_err *e)
{
	tp_sketch *s = &p->scores;
	size_t ks_at = SIZE_MAX;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->auc = ev->gini = ev->ks = ev->ks_threshold = NAN;
	ev->pr_auc = ev->log_loss = ev->brier = NAN;
	ev->f1 = ev->precision = ev->recall = ev->accuracy = NAN;
	ev->auc_bound = ev->ks_bound = ev->pr_auc_bound = NAN;
	ev->threshold = p->threshold;
	ev->rows = p->rows;
	ev->tp = p->tp;
	ev->fp = p->fp;
	ev->tn = p->tn;
	ev->fn = p->fn;
	ev->labelled = p->tp + p->fp + p->tn + p->fn;
	ev->positives = p->tp + p->fn;
	ev->highest = p->highest;
	memcpy(ev->histogram_negatives, p->histogram_negatives,
	    sizeof(ev->histogram_negatives));
	memcpy(ev->histogram_positives, p->histogram_positives,
	    sizeof(ev->histogram_positives));
	if (ev->labelled > 0) {
		double tp = (double)ev->tp, m = (double)ev->labelled;
		ev->brier = tp_xsum_value(&p->brier) / m;
		ev->log_loss = tp_xsum_value(&p->log_loss) / m;
		ev->precision = rate(tp, tp + (double)ev->fp);
		ev->recall = rate(tp, tp + (double)ev->fn);
		ev->f1 = rate(2 * tp, 2 * tp + (double)ev->fp + (double)ev->fn);
		ev->accuracy = (tp + (double)ev->tn) / m;
	}
	if ((ev->calibration = calloc((size_t)p->bins,
	    sizeof(*ev->calibration))) == NULL)
		return tp_err_nomem(e, "the calibration bins");
	ev->nbins = p->bins;
	for (int b = 0; b < p->bins; b++) {
		tp_calibration_bin *c = &ev->calibration[b];
		c->lower = b * (1.0 / p->bins);
		c->upper = cal_upper(b, p->bins);
		c->rows = p->cal_rows[b];
		c->mean_predicted = c->rows ?
		    tp_xsum_value(&p->cal_sum[b]) / (double)c->rows : NAN;
		c->observed_rate = c->rows ?
		    (double)p->cal_positives[b] / (double)c->rows : NAN;
	}
	tp_sketch_sort(s);
	ev->sketch_level = s->level;
	ev->sketch_bins = s->n;
	ev->thresholds = s->n;
	for (size_t i = 0; i < s->n; i++)
		if (tp_sketch_total(&s->bin[i]) > ev->largest_bin)
			ev->largest_bin = tp_sketch_total(&s->bin[i]);
	auc(ev, s);
	walk(ev, s, &ks_at);
	gains_shares(ev);
	if ((rc = curves(ev, s, ks_at, e)) != TP_OK)
		tp_evaluation_free(ev);
	return rc;
}

/* Appends b's rows and their probabilities to keep and *prob. */
static int
keep_rows(tp_batch *keep, float **prob, const tp_batch *b, const float *p,
    tp_err *e)
{
	size_t n = keep->n, nc = (size_t)b->ncat, nn = (size_t)b->nnum;
	float *more;
	int rc;

	if ((rc = tp_batch_reserve(keep, n + b->n, e)) != TP_OK)
		return rc;
	if ((more = realloc(*prob, (n + b->n + 1) * sizeof(*more))) == NULL)
		return tp_err_nomem(e, "the probabilities");
	*prob = more;
	memcpy(keep->id + n, b->id, b->n * sizeof(*b->id));
	memcpy(keep->cat + n * nc, b->cat, b->n * nc * sizeof(*b->cat));
	memcpy(keep->num + n * nn, b->num, b->n * nn * sizeof(*b->num));
	memcpy(keep->label + n, b->label, b->n * sizeof(*b->label));
	memcpy(*prob + n, p, b->n * sizeof(*p));
	keep->n = n + b->n;
	return TP_OK;
}

int
tp_eval_partial_read(tp_eval_partial *p, tp_shard_reader *r,
    tp_scorer *scorer, tp_batch *keep, float **keep_prob,
    char fingerprint[65], tp_err *e)
{
	const tp_encoding *enc = tp_shard_reader_encoding(r);
	tp_batch b = {0};
	float *prob = malloc(TP_STREAM_BLOCK_ROWS * sizeof(*prob));
	tp_sha256 sha;
	unsigned char d[32];
	long got;
	int rc;

	tp_sha256_init(&sha);
	if (prob == NULL)
		return tp_err_nomem(e, "the probabilities");
	if ((rc = tp_batch_init(&b, enc->ncat, enc->nnum, TP_STREAM_BLOCK_ROWS,
	    e)) != TP_OK)
		goto out;
	if (keep != NULL && keep->cap == 0 && (rc = tp_batch_init(keep,
	    enc->ncat, enc->nnum, TP_STREAM_BLOCK_ROWS, e)) != TP_OK)
		goto out;
	/* A block at a time: its rows scored together, as a shard of the
	 * same blocks scores them. */
	for (;;) {
		b.n = 0;
		if ((got = tp_shard_read(r, &b, TP_STREAM_BLOCK_ROWS, e)) <= 0)
			break;
		tp_partial_hash_rows(&sha, &b, 0);
		if ((rc = tp_scorer_run(scorer, &b, prob, e)) != TP_OK ||
		    (rc = tp_eval_partial_add(p, prob, b.label, b.n, e)) != TP_OK ||
		    (keep != NULL && (rc = keep_rows(keep, keep_prob, &b, prob,
		    e)) != TP_OK))
			goto out;
	}
	rc = got < 0 ? e->code : TP_OK;
	tp_sha256_final(&sha, d);
	tp_sha256_hex(d, fingerprint);
out:
	tp_batch_free(&b);
	free(prob);
	return rc;
}

int
tp_evaluate(tp_evaluation *ev, const float *prob, const int8_t *label,
    size_t n, double threshold, int bins, tp_err *e)
{
	tp_eval_partial p;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if ((rc = tp_eval_partial_init(&p, threshold, bins, e)) != TP_OK)
		return rc;
	if ((rc = tp_eval_partial_add(&p, prob, label, n, e)) == TP_OK)
		rc = tp_eval_partial_finish(ev, &p, e);
	tp_eval_partial_free(&p);
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
	ok = put(j, "auc_error_bound", ev->auc_bound) && ok;
	ok = put(j, "gini", ev->gini) && ok;
	ok = put(j, "ks", ev->ks) && ok;
	ok = put(j, "ks_threshold", ev->ks_threshold) && ok;
	ok = put(j, "ks_error_bound", ev->ks_bound) && ok;
	ok = put(j, "pr_auc", ev->pr_auc) && ok;
	ok = put(j, "pr_auc_error_bound", ev->pr_auc_bound) && ok;
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
	if ((o = cJSON_AddObjectToObject(j, "sketch")) == NULL)
		ok = 0;
	else {
		ok = cJSON_AddBoolToObject(o, "exact", ev->sketch_level == 0) != NULL && ok;
		ok = put(o, "level", ev->sketch_level) && ok;
		ok = put(o, "bins", (double)ev->sketch_bins) && ok;
		ok = put(o, "max_bins", TP_EVAL_SKETCH_BINS) && ok;
		ok = put(o, "largest_bin", (double)ev->largest_bin) && ok;
		ok = put(o, "thresholds", (double)ev->thresholds) && ok;
	}
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
tp_eval_partial_json(const tp_eval_partial *p, cJSON *o)
{
	cJSON *c, *sums;
	char *text = tp_sketch_format(&p->scores);
	int ok = text != NULL;

	ok = ok && tp_partial_add_number(o, "threshold", p->threshold);
	ok = ok && tp_partial_add_number(o, "bins", p->bins);
	ok = ok && tp_partial_add_number(o, "rows", (double)p->rows);
	ok = ok && tp_partial_add_number(o, "labelled_rows",
	    (double)(p->tp + p->fp + p->tn + p->fn));
	ok = ok && (c = cJSON_AddObjectToObject(o, "confusion")) != NULL &&
	    tp_partial_add_number(c, "tp", (double)p->tp) &&
	    tp_partial_add_number(c, "fp", (double)p->fp) &&
	    tp_partial_add_number(c, "tn", (double)p->tn) &&
	    tp_partial_add_number(c, "fn", (double)p->fn);
	ok = ok && tp_partial_add_xsum(o, "brier_sum", &p->brier) &&
	    tp_partial_add_xsum(o, "log_loss_sum", &p->log_loss);
	ok = ok && tp_partial_add_number(o, "highest", p->highest);
	ok = ok && (c = cJSON_AddObjectToObject(o, "score_histogram")) != NULL &&
	    tp_partial_add_counts(c, "negatives", p->histogram_negatives, TP_SCORE_BINS) &&
	    tp_partial_add_counts(c, "positives", p->histogram_positives, TP_SCORE_BINS);
	ok = ok && (c = cJSON_AddObjectToObject(o, "calibration")) != NULL &&
	    tp_partial_add_counts(c, "rows", p->cal_rows, (size_t)p->bins) &&
	    tp_partial_add_counts(c, "positives", p->cal_positives, (size_t)p->bins) &&
	    (sums = cJSON_AddArrayToObject(c, "sums")) != NULL;
	for (int b = 0; ok && b < p->bins; b++) {
		char buf[TP_XSUM_TEXT];
		tp_xsum_format(&p->cal_sum[b], buf);
		ok = append(sums, cJSON_CreateString(buf));
	}
	ok = ok && cJSON_AddStringToObject(o, "scores", text) != NULL;
	ok = ok && tp_partial_add_number(o, "version", p->version > 0 ?
	    p->version : NAN);
	ok = ok && tp_partial_add_number(o, "version_id", p->version_id > 0 ?
	    (double)p->version_id : NAN);
	free(text);
	return ok;
}

int
tp_eval_partial_fold(void *ctx, const cJSON *member, int first,
    const char *path, tp_err *e)
{
	tp_eval_partial *whole = ctx, part;
	int rc;

	if (first)
		return tp_eval_partial_parse(whole, member, path, e);
	if ((rc = tp_eval_partial_parse(&part, member, path, e)) != TP_OK)
		return rc;
	if ((rc = tp_eval_partial_merge(whole, &part, e)) != TP_OK)
		tp_err_prefix(e, "%s: a partial", path);
	tp_eval_partial_free(&part);
	return rc;
}

int
tp_eval_partial_parse(tp_eval_partial *p, const cJSON *o, const char *where,
    tp_err *e)
{
	const cJSON *c, *sums, *x;
	const char *text;
	double threshold, bins, highest, version, version_id;
	uint64_t labelled, sum[4] = {0};
	tp_sketch scores;
	int rc, b = 0;

	memset(p, 0, sizeof(*p));
	if ((rc = tp_partial_double(o, "threshold", &threshold, where, e)) != TP_OK ||
	    (rc = tp_partial_double(o, "bins", &bins, where, e)) != TP_OK)
		return rc;
	if (!(bins >= 1 && bins <= 1000000) || bins != floor(bins) ||
	    isnan(threshold))
		return tp_err_set(e, TP_EDATA, "%s: bad threshold or bins", where);
	if ((rc = tp_eval_partial_init(p, threshold, (int)bins, e)) != TP_OK)
		return rc;
	if ((rc = tp_partial_u64(o, "rows", &p->rows, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(o, "labelled_rows", &labelled, where, e)) != TP_OK ||
	    (c = tp_partial_member(o, "confusion", where, e)) == NULL ||
	    (rc = tp_partial_u64(c, "tp", &p->tp, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(c, "fp", &p->fp, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(c, "tn", &p->tn, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(c, "fn", &p->fn, where, e)) != TP_OK ||
	    (rc = tp_partial_get_xsum(o, "brier_sum", &p->brier, where, e)) != TP_OK ||
	    (rc = tp_partial_get_xsum(o, "log_loss_sum", &p->log_loss, where, e)) != TP_OK ||
	    (rc = tp_partial_double(o, "highest", &highest, where, e)) != TP_OK ||
	    (c = tp_partial_member(o, "score_histogram", where, e)) == NULL ||
	    (rc = tp_partial_get_counts(c, "negatives", p->histogram_negatives,
	    TP_SCORE_BINS, where, e)) != TP_OK ||
	    (rc = tp_partial_get_counts(c, "positives", p->histogram_positives,
	    TP_SCORE_BINS, where, e)) != TP_OK ||
	    (c = tp_partial_member(o, "calibration", where, e)) == NULL ||
	    (rc = tp_partial_get_counts(c, "rows", p->cal_rows, (size_t)p->bins,
	    where, e)) != TP_OK ||
	    (rc = tp_partial_get_counts(c, "positives", p->cal_positives,
	    (size_t)p->bins, where, e)) != TP_OK || (sums = tp_partial_member(c, "sums", where, e)) == NULL ||
	    (text = tp_partial_string(o, "scores", where, e)) == NULL) {
		rc = rc != TP_OK ? rc : TP_EDATA;
		goto fail;
	}
	p->highest = isnan(highest) ? -INFINITY : highest;
	if ((rc = tp_partial_double(o, "version", &version, where, e)) != TP_OK ||
	    (rc = tp_partial_double(o, "version_id", &version_id, where,
	    e)) != TP_OK)
		goto fail;
	p->version = isnan(version) ? 0 : (int)version;
	p->version_id = isnan(version_id) ? 0 : (int64_t)version_id;
	if (!cJSON_IsArray(sums) || cJSON_GetArraySize(sums) != p->bins) {
		rc = tp_err_set(e, TP_EDATA, "%s: expected %d calibration sums", where,
		    p->bins);
		goto fail;
	}
	cJSON_ArrayForEach(x, sums)
		if (!cJSON_IsString(x) || tp_xsum_parse(&p->cal_sum[b++], x->valuestring) < 0) {
			rc = tp_err_set(e, TP_EDATA, "%s: calibration sum %d is not an exact sum",
			    where, b);
			goto fail;
		}
	if ((rc = tp_sketch_parse(&scores, text, e)) != TP_OK) {
		tp_err_prefix(e, "%s: scores", where);
		goto fail;
	}
	tp_sketch_free(&p->scores);
	p->scores = scores;
	/* The counts of one set of rows agree with each other. */
	for (size_t i = 0; i < p->scores.n; i++) {
		sum[0] += tp_sketch_total(&p->scores.bin[i]);
		sum[1] += p->scores.bin[i].count[2];
	}
	for (int k = 0; k < TP_SCORE_BINS; k++)
		sum[2] += p->histogram_negatives[k] + p->histogram_positives[k];
	for (int k = 0; k < p->bins; k++)
		sum[3] += p->cal_rows[k];
	if (labelled != p->tp + p->fp + p->tn + p->fn || sum[0] != labelled ||
	    sum[1] != p->tp + p->fn || sum[2] != labelled || sum[3] != labelled ||
	    labelled > p->rows || p->scores.max != TP_EVAL_SKETCH_BINS) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: its counts do not agree: the labelled rows are %" PRIu64 " in the confusion matrix, %" PRIu64 " in the scores",
		    where, p->tp + p->fp + p->tn + p->fn, sum[0]);
		goto fail;
	}
	return TP_OK;
fail:
	tp_eval_partial_free(p);
	return rc;
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
