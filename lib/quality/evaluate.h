/*
 * evaluate: how well a model's probabilities fit the labels of a data set,
 * measured as scikit-learn measures it, and the record of an evaluation in
 * the database.
 *
 * Every measure is taken over the labelled rows (label 0 or 1); a row whose
 * label is missing (-1) counts only in `rows`. The ranking measures (ROC
 * AUC, Gini, KS) and the ROC curve need both classes, average precision and
 * the precision-recall curve a positive row, and the rates at the threshold
 * a labelled row: without them a measure is NaN (null in JSON) and a curve
 * has no points.
 *
 * For a person reading the scores rather than a number: the histogram of
 * the scores of each class and the cumulative gains by decile, as credit
 * risk teams read a model.
 */
#ifndef TP_EVALUATE_H
#define TP_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "db/db.h"

/* A point of the ROC curve: the rates when rows with p >= threshold are
 * called positive. */
typedef struct {
	double fpr, tpr;
	double threshold;      /* the first point's is the highest p + 1 */
} tp_roc_point;

/* A point of the precision-recall curve. */
typedef struct {
	double recall, precision;
	double threshold;      /* NaN for the last point (recall 0) */
} tp_pr_point;

/* An equal-width bin of probabilities: (lower, upper], the first one
 * [0, upper]; a probability on an inner edge is in the lower bin, as
 * numpy.searchsorted puts it. */
typedef struct {
	double lower, upper;
	uint64_t rows;         /* labelled rows in the bin */
	double mean_predicted; /* mean probability; NaN when empty */
	double observed_rate;  /* share of positive rows; NaN when empty */
} tp_calibration_bin;

/* The score histogram's bins: equal-width on [0, 1], each [lower, upper)
 * and the last [0.95, 1], as numpy.histogram(p, 20, (0, 1)) bins. */
#define TP_SCORE_BINS 20
/* Deciles of the gains table. */
#define TP_DECILES 10

/* A decile of the labelled rows by decreasing probability, decile 1 the
 * highest. The rows are split as numpy.array_split splits them (the
 * first labelled % 10 deciles have a row more), except that tied
 * probabilities are never split: a run of them goes whole to the decile
 * of its first row, as they move the ROC curve together. A decile can so
 * have more rows than its tenth, the next fewer, or none. */
typedef struct {
	uint64_t rows;
	uint64_t positives;
	double score_min;      /* its lowest probability; NaN when empty */
	double cumulative_rows_share;      /* rows of deciles 1..d / labelled */
	double cumulative_positives_share; /* positives of 1..d / positives */
	double lift;           /* its positive rate / the overall rate */
	double cumulative_lift; /* the two cumulative shares' quotient */
} tp_gains_decile;

typedef struct {
	uint64_t rows;         /* all rows, labelled or not */
	uint64_t labelled;     /* rows labelled 0 or 1 */
	uint64_t positives;    /* rows labelled 1 */
	double auc;            /* ROC AUC, ties counting half */
	double gini;           /* 2 auc - 1 */
	double ks;             /* max |tpr - fpr| over the ROC points */
	double ks_threshold;   /* the threshold of the first ROC point whose
	                        * |tpr - fpr| is ks: where tpr - fpr is
	                        * largest, for a model better than chance */
	double pr_auc;         /* average precision */
	double log_loss;       /* clipped to [1e-15, 1 - 1e-15] */
	double brier;          /* mean (p - y)^2 */
	double threshold;      /* rows with p >= threshold are called positive */
	double f1, precision, recall, accuracy; /* at the threshold; 0 for 0/0 */
	uint64_t tp, fp, tn, fn;
	tp_calibration_bin *calibration; /* (nbins) */
	int nbins;
	tp_roc_point *roc;     /* (nroc) by decreasing threshold */
	size_t nroc;
	tp_pr_point *pr;       /* (npr) by increasing threshold */
	size_t npr;
	/* Labelled rows of each class by probability; one below 0 or above
	 * 1, which no model gives, counts in the end bin. */
	uint64_t histogram_negatives[TP_SCORE_BINS];
	uint64_t histogram_positives[TP_SCORE_BINS];
	tp_gains_decile gains[TP_DECILES]; /* decile d at d - 1 */
} tp_evaluation;

/* The lower edge of the score histogram's bin b, i / 20 (the double
 * nearest to it, so that the report's edges read 0.15, not numpy's
 * 0.15000000000000002); b = TP_SCORE_BINS is the upper edge of the last. */
double tp_score_edge(int b);

/* Measures the probabilities prob (n) against label (n) with a decision
 * threshold and bins calibration bins (1 or more). A NaN probability is
 * TP_EDATA, naming its row (from 1). ev is filled here. */
int tp_evaluate(tp_evaluation *ev, const float *prob, const int8_t *label,
    size_t n, double threshold, int bins, tp_err *e);
void tp_evaluation_free(tp_evaluation *ev); /* accepts a zeroed ev */

/* The report of tabpipe-evaluate(1): the measures under their keys,
 * "score_histogram": {"edges", "negatives", "positives"}, "gains": one
 * object a decile, "model": {"sha256", "version" (null when 0),
 * "threshold"} and "data_fingerprint". NULL when memory runs out. */
cJSON *tp_evaluation_json(const tp_evaluation *ev, const char *model_sha256,
    int version, const char *data_fingerprint);

/* Records the report of run as a row of evaluations; version_id is the
 * model_versions.id of the model, 0 when it is not registered. *id (may
 * be NULL) gets the row's id. */
int tp_evaluation_record(tp_db *db, int64_t run, int64_t version_id,
    const char *model_sha256, const char *data_fingerprint, uint64_t rows,
    const cJSON *report, int64_t *id, tp_err *e);

#endif
