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

typedef struct {
	uint64_t rows;         /* all rows, labelled or not */
	uint64_t labelled;     /* rows labelled 0 or 1 */
	uint64_t positives;    /* rows labelled 1 */
	double auc;            /* ROC AUC, ties counting half */
	double gini;           /* 2 auc - 1 */
	double ks;             /* max |tpr - fpr| over the ROC points */
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
} tp_evaluation;

/* Measures the probabilities prob (n) against label (n) with a decision
 * threshold and bins calibration bins (1 or more). A NaN probability is
 * TP_EDATA, naming its row (from 1). ev is filled here. */
int tp_evaluate(tp_evaluation *ev, const float *prob, const int8_t *label,
    size_t n, double threshold, int bins, tp_err *e);
void tp_evaluation_free(tp_evaluation *ev); /* accepts a zeroed ev */

/* The report of tabpipe-evaluate(1): the measures under their keys, and
 * "model": {"sha256", "version" (null when 0), "threshold"} and
 * "data_fingerprint". NULL when memory runs out. */
cJSON *tp_evaluation_json(const tp_evaluation *ev, const char *model_sha256,
    int version, const char *data_fingerprint);

/* Records the report of run as a row of evaluations; version_id is the
 * model_versions.id of the model, 0 when it is not registered. *id (may
 * be NULL) gets the row's id. */
int tp_evaluation_record(tp_db *db, int64_t run, int64_t version_id,
    const char *model_sha256, const char *data_fingerprint, uint64_t rows,
    const cJSON *report, int64_t *id, tp_err *e);

#endif
