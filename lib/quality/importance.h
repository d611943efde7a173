/*
 * importance: permutation importance, how much a model's ROC AUC falls
 * when the values of one feature are shuffled among the rows (Breiman
 * 2001; scikit-learn's permutation_importance with scoring="roc_auc").
 *
 * A shuffle breaks the tie between a feature and the label while keeping
 * the feature's distribution; the AUC lost is what the model's ranking
 * owes to that feature on these rows. It measures what the model uses,
 * not what causes default: a feature the model ignores scores 0 however
 * much it tells of the label, and of two features that tell the same, the
 * model may use one and so the other scores little. A loss below 0 is
 * chance: the shuffled column ranked the rows a little better.
 *
 * Beside it, the mean absolute attribution of each feature over a sample
 * of the rows (integrated gradients, lib/model/explain.h): how far, in
 * log-odds, the feature moves a row's score from the reference applicant's
 * on average, whichever way. It needs no label, and tells what the model
 * responds to on these rows; the loss of AUC tells what its ranking needs.
 *
 * Each feature is shuffled repeats times, each time by a Fisher-Yates
 * shuffle of the rows drawn from a generator seeded with the seed and the
 * feature's place in the encoding, so that a feature's losses depend on
 * the seed and that feature only.
 */
#ifndef TP_IMPORTANCE_H
#define TP_IMPORTANCE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "model/explain.h"
#include "model/model.h"

/* One feature's losses. */
typedef struct {
	const char *name;      /* the encoding's column name, not a copy */
	int categorical;       /* 1 for a categorical feature, 0 numeric */
	int column;            /* its column in the encoding */
	int slot;              /* its place among its kind's features */
	double mean;           /* mean AUC lost over the repeats */
	double std;            /* their standard deviation (numpy.std, ddof 0) */
	double *losses;        /* (repeats) the AUC lost at each repeat */
	double attribution;    /* mean |attribution|; NaN when not measured */
} tp_importance_feature;

typedef struct {
	tp_importance_feature *features; /* (nfeatures) by decreasing mean
	                                  * loss, ties in the encoding's order */
	int nfeatures;
	int repeats;
	uint64_t seed;
	double auc;            /* the AUC of the rows as they are */
	/* The attributions': rows 0 when not measured. */
	uint64_t attributed;   /* rows explained */
	int steps;
	tp_explain_gap gap;
} tp_importance;

/* The permutation importance of each feature of enc (b's encoding) for
 * model m on b's labelled rows, scored with tp_score, repeats times (1 or
 * more). Rows without a label are scored but not measured. Without both
 * classes the AUC is not defined: TP_EDATA. imp is filled here; enc must
 * outlive it. */
int tp_importance_measure(tp_importance *imp, tp_model *m,
    const tp_encoding *enc, const tp_batch *b, int repeats, uint64_t seed,
    tp_err *e);
void tp_importance_free(tp_importance *imp); /* accepts a zeroed imp */

/* Adds each feature's mean |attribution| to imp (measured on m and b as
 * tp_importance_measure was), over at most rows of b's rows, evenly
 * spaced, from reference r with steps quadrature nodes. */
int tp_importance_attribute(tp_importance *imp, tp_model *m,
    const tp_reference *r, const tp_batch *b, size_t rows, int steps,
    tp_err *e);

/* The report's "importance" member: {"metric": "roc_auc", "auc",
 * "repeats", "seed", "features": [{"feature", "kind", "mean", "std",
 * "losses", "mean_abs_attribution"}, ...]} in imp's order, and when the
 * attributions were measured "attribution": {"rows", "steps", "gap_mean",
 * "gap_max", "mean_change"}. NULL when memory runs out. */
cJSON *tp_importance_json(const tp_importance *imp);

#endif
