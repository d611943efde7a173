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
 *
 * Memory is bounded by a sketch, not by the rows: an evaluation is made
 * of a partial (tp_eval_partial), which takes rows block by block and
 * merges with the partials of other parts of the data into the partial
 * of the whole, bit for bit the one a single run makes. The counts (rows,
 * the confusion matrix, the calibration bins, the score histogram) are
 * counted, and the log loss, the Brier score and each calibration bin's
 * mean probability summed exactly (base/xsum.h), so they are exact. The
 * ranking measures and the curves come from a sketch of the labelled
 * rows' probabilities by class (base/sketch.h) of TP_EVAL_SKETCH_BINS
 * bins: exact while the probabilities have no more distinct values than
 * that; beyond, a bin holds a range of adjacent probabilities, and each
 * measure says how far from the exact value it can be:
 *
 *   - ROC AUC counts the pairs of a positive and a negative row in one bin
 *     as ties, one half: it is within auc_bound = sum over the bins of
 *     pos neg / 2 over the positives times the negatives of the exact
 *     AUC; Gini within twice that.
 *   - The ROC and precision-recall points are exact points of the curves,
 *     at the thresholds of the bins' least probabilities; KS is the
 *     largest |tpr - fpr| over them, the exact KS at most ks_bound above.
 *   - Average precision takes each bin as a run of ties; a positive row
 *     inside a bin has a precision between those of the bin's orders, and
 *     pr_auc_bound sums the widest gap, weighted by the bin's recall.
 *   - The deciles of the gains table are cut between bins, not between
 *     distinct probabilities: a cut moves by at most largest_bin rows.
 *
 * The curves list at most TP_CURVE_POINTS points: with more thresholds,
 * points closer to the last one kept than 2 / (TP_CURVE_POINTS - 3), in
 * fpr + tpr, are left out (the KS point and the last stay), so that a
 * report stays small whatever the rows. The measures are taken from every
 * bin.
 */
#ifndef TP_EVALUATE_H
#define TP_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/sketch.h"
#include "base/xsum.h"
#include "data/shard.h"
#include "db/db.h"
#include "model/score.h"

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
	/* How far each measure of the sketch can be from the exact one; 0
	 * when the sketch is exact (level 0), NaN where the measure is. */
	double auc_bound, ks_bound, pr_auc_bound;
	int sketch_level;      /* 0: exact */
	size_t sketch_bins;    /* bins of the score sketch */
	uint64_t largest_bin;  /* the rows of its largest bin */
	size_t thresholds;     /* thresholds of the curves before thinning */
	double highest;        /* the highest probability of a labelled row */
} tp_evaluation;

/* The score sketch's bins: probabilities with no more distinct values
 * are measured exactly. */
#define TP_EVAL_SKETCH_BINS 65536
/* The most points of a curve. */
#define TP_CURVE_POINTS 2000

/* What an evaluation is made of, for a part of the data or the whole. */
typedef struct {
	double threshold;      /* the model's decision threshold */
	int bins;              /* calibration bins */
	uint64_t rows;         /* all rows, labelled or not */
	uint64_t tp, fp, tn, fn;
	tp_xsum brier;         /* sum of (p - y)^2 */
	tp_xsum log_loss;      /* sum of -log of the clipped p of y */
	uint64_t histogram_negatives[TP_SCORE_BINS];
	uint64_t histogram_positives[TP_SCORE_BINS];
	uint64_t *cal_rows, *cal_positives; /* (bins) */
	tp_xsum *cal_sum;      /* (bins) sum of the bin's probabilities */
	double highest;        /* the highest probability of a labelled
	                          row; -infinity without one */
	tp_sketch scores;      /* labelled rows' probabilities: class 1 the
	                          negatives, class 2 the positives */
	int version;           /* the model's registered version when the
	                          partial was made, 0 for none */
	int64_t version_id;    /* its model_versions.id, 0 for none */
} tp_eval_partial;

int tp_eval_partial_init(tp_eval_partial *p, double threshold, int bins,
    tp_err *e);
void tp_eval_partial_free(tp_eval_partial *p); /* accepts a zeroed p */
/* Adds n rows' probabilities and labels (-1 when missing); a NaN
 * probability is TP_EDATA, naming its row among the partial's. */
int tp_eval_partial_add(tp_eval_partial *p, const float *prob,
    const int8_t *label, size_t n, tp_err *e);
/* into += from; TP_EDATA when their thresholds or bins differ. */
int tp_eval_partial_merge(tp_eval_partial *into, const tp_eval_partial *from,
    tp_err *e);
/* The evaluation of the rows p holds; p's sketch is sorted by it. */
int tp_eval_partial_finish(tp_evaluation *ev, tp_eval_partial *p,
    tp_err *e);
/* p's members into o, the "evaluate" object of a partial
 * (data/partial.h); 0 when memory runs out. */
int tp_eval_partial_json(const tp_eval_partial *p, cJSON *o);
/* Reads them back from that object; TP_EDATA, with where, when one is
 * missing or wrong, or the counts do not agree. */
int tp_eval_partial_parse(tp_eval_partial *p, const cJSON *o,
    const char *where, tp_err *e);

/* The lower edge of the score histogram's bin b, i / 20 (the double
 * nearest to it, so that the report's edges read 0.15, not numpy's
 * 0.15000000000000002); b = TP_SCORE_BINS is the upper edge of the last. */
double tp_score_edge(int b);

/* A tp_partial_fold_fn (data/partial.h) that merges evaluate's partials
 * into ctx, a tp_eval_partial, read from the first one (whose version it
 * keeps). */
int tp_eval_partial_fold(void *ctx, const cJSON *member, int first,
    const char *path, tp_err *e);

/* Reads the rest of r block by block, each block scored on scorer, into
 * p; fingerprint gets the rows' fingerprint (tp_batch_fingerprint's).
 * With keep, every row is kept too, in *keep, and its probability in
 * *keep_prob (both grown here, the caller's to free): for the measures
 * that need every row of one run (fairness, importance). */
int tp_eval_partial_read(tp_eval_partial *p, tp_shard_reader *r,
    tp_scorer *scorer, tp_batch *keep, float **keep_prob,
    char fingerprint[65], tp_err *e);

/* Measures the probabilities prob (n) against label (n) with a decision
 * threshold and bins calibration bins (1 or more): a partial of them,
 * finished. A NaN probability is TP_EDATA, naming its row (from 1). ev is
 * filled here. */
int tp_evaluate(tp_evaluation *ev, const float *prob, const int8_t *label,
    size_t n, double threshold, int bins, tp_err *e);
void tp_evaluation_free(tp_evaluation *ev); /* accepts a zeroed ev */

/* The report of tabpipe-evaluate(1): the measures under their keys,
 * their bounds ("auc_error_bound", "ks_error_bound",
 * "pr_auc_error_bound"), "score_histogram": {"edges", "negatives",
 * "positives"}, "gains": one object a decile, "sketch": {"exact",
 * "level", "bins", "max_bins", "largest_bin", "thresholds"}, "model":
 * {"sha256", "version" (null when 0), "threshold"} and
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
