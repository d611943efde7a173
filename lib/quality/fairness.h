/*
 * fairness: how a model's scores and decisions differ between groups of
 * rows (the values of a column such as sex or age band), as a validator
 * compares them: per group the rows, positives, ROC AUC, the approval rate
 * at the threshold, the true and false positive rates and the calibration;
 * across groups the adverse impact ratio of approval rates (the
 * four-fifths rule of the US Uniform Guidelines, 29 CFR 1607.4(D)) and the
 * largest gap in true positive rates (equal opportunity, Hardt et al.
 * 2016).
 *
 * A row is approved when its probability of default is below the
 * threshold (the model predicts label 0), declined when it is at least the
 * threshold, as tp_evaluate calls a row positive. The approval rate counts
 * every row of a group, labelled or not, since a decision needs no label;
 * the other measures count the labelled rows (label 0 or 1). A measure that
 * divides by 0 is NaN: AUC without both classes, the true positive rate
 * without a positive row, the false positive rate without a negative one.
 * The numbers describe the model on these rows, not the groups.
 *
 * Groups of fewer rows than a minimum are small: their measures are
 * given, but a rate of a handful of rows is mostly chance, so a small
 * group is never the reference of the impact ratios, never flagged, and
 * left out of the tpr gap; with no group of the minimum there is no
 * reference, and nothing is flagged.
 */
#ifndef TP_FAIRNESS_H
#define TP_FAIRNESS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"

/* Under this adverse impact ratio a group is flagged (four-fifths). */
#define TP_FAIRNESS_FOUR_FIFTHS 0.8

/* One group's measures. */
typedef struct {
	char *name;            /* the group's value, a copy */
	uint64_t rows;         /* all its rows, labelled or not */
	int small;             /* rows < the minimum: not compared */
	uint64_t labelled;     /* its rows labelled 0 or 1 */
	uint64_t positives;    /* its rows labelled 1 */
	uint64_t approved;     /* its rows with p < threshold */
	double auc;            /* ROC AUC on its labelled rows, ties half */
	double approval_rate;  /* approved / rows */
	double tpr;            /* declined positives / positives */
	double fpr;            /* declined negatives / negatives */
	double mean_predicted; /* mean p of its labelled rows */
	double observed_rate;  /* positives / labelled */
	double impact_ratio;   /* approval_rate / the reference's; NaN
	                        * without a reference or when its rate is 0 */
	int adverse;           /* !small and impact_ratio <
	                        * TP_FAIRNESS_FOUR_FIFTHS */
} tp_fairness_group;

typedef struct {
	tp_fairness_group *groups; /* (ngroups) those with rows, in the
	                            * order of the names given */
	int ngroups;
	double threshold;
	uint64_t min_rows;     /* a group of fewer rows is small */
	int reference;         /* the group of the highest approval rate
	                        * among those not small (the first of
	                        * equals); -1 when every group is small
	                        * or there is none */
	int adverse;           /* groups flagged */
	double tpr_gap;        /* the highest tpr - the lowest, over the
	                        * groups not small that have one; NaN with
	                        * fewer than 2 */
	int tpr_highest, tpr_lowest; /* their groups; -1 when tpr_gap is NaN */
	uint64_t ungrouped;    /* rows of no group (group -1), left out */
} tp_fairness;

/* Measures the rows by group: row i has probability prob[i], label[i]
 * (0, 1, -1 missing) and group group[i], an index into names (ngroups),
 * or -1 for a row of no group, which is left out. A group of fewer than
 * min_rows rows is small (0 or 1: none is). A NaN probability is
 * TP_EDATA naming its row (from 1). f is filled here; groups with no row
 * are left out of it. */
int tp_fairness_measure(tp_fairness *f, const float *prob,
    const int8_t *label, const int *group, size_t n,
    const char *const *names, int ngroups, double threshold,
    uint64_t min_rows, tp_err *e);
void tp_fairness_free(tp_fairness *f); /* accepts a zeroed f */

/* The report's "fairness" member: {"column", "threshold",
 * "approval": "p < threshold", "four_fifths": 0.8, "min_group_rows",
 * "reference", "most_approved" (the reference again, under the name
 * earlier reports gave it), "adverse", "tpr_gap", "tpr_highest",
 * "tpr_lowest", "ungrouped", "groups": [{"group", "rows", "small",
 * "labelled", "positives", "auc", "approval_rate", "tpr", "fpr",
 * "mean_predicted", "observed_rate", "impact_ratio", "adverse"}, ...]},
 * NaN and no group as null. NULL when memory runs out. */
cJSON *tp_fairness_json(const tp_fairness *f, const char *column);

/* The group of each row of a stream: group[i] indexes names, -1 for a
 * row of no group. */
typedef struct {
	int *group;            /* (n) */
	char **names;          /* (ngroups) the values, NUL-terminated */
	int ngroups;
} tp_grouping;

/* Groups b's rows by the categorical column named column of enc: a group
 * for each value of its vocabulary, and "(missing or unseen)" for index
 * 0. A column that is not a categorical feature is TP_EUSAGE: a stream
 * keeps no ignored column's values, and grouping by each value of a
 * number would make a group of a row. */
int tp_grouping_from_stream(tp_grouping *g, const tp_encoding *enc,
    const tp_batch *b, const char *column, tp_err *e);
/* Groups b's rows by the column named column of the CSV file at path,
 * whose header names its columns: a group for each value, "(missing)" for
 * an empty or NA field. A stream row is matched to the record of the same
 * id: the value of enc's id column, which the file must have, or, when
 * enc has none, the record's number (1 for the first after the header),
 * as tabpipe-ingest numbered the rows of that file. A stream row whose id
 * is in no record, or an id that two records hold, is TP_EDATA. */
int tp_grouping_from_csv(tp_grouping *g, const tp_encoding *enc,
    const tp_batch *b, const char *column, const char *path, tp_err *e);
void tp_grouping_free(tp_grouping *g); /* accepts a zeroed g */

#endif
