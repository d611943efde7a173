/*
 * metrics: measures of how well a score separates the classes.
 */
#ifndef TP_METRICS_H
#define TP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* ROC-AUC of score against label (0 or 1; rows labelled -1 are left out),
 * with tied scores counted as half, as the Mann-Whitney U statistic does.
 * NaN scores rank as -infinity. Returns NaN when either class is
 * absent; -1 with e filled when memory runs out. */
double tp_roc_auc(const float *score, size_t stride, const int8_t *label,
    size_t n, tp_err *e);

/* The same from grouped counts: group g has score order rank[g] (groups
 * with equal rank are tied), pos[g] positives and neg[g] negatives. */
double tp_roc_auc_grouped(const double *rank, const uint64_t *pos,
    const uint64_t *neg, size_t ngroups, tp_err *e);

/* Whether the rows labelled 0 or 1 (-1 is left out) hold both classes,
 * as the AUC needs. */
int tp_labels_of_both_classes(const int8_t *label, size_t n);

/* The threshold t that maximises F1 when rows with score >= t are called
 * positive; the F1 reached goes to *f1. Rows labelled -1 are left out.
 * Returns 0.5 with *f1 = 0 when there is no positive row. */
double tp_best_f1_threshold(const float *score, const int8_t *label,
    size_t n, double *f1, tp_err *e);

/* Mean log loss of probabilities of the positive class, clipped to
 * [1e-15, 1 - 1e-15] as scikit-learn does. */
double tp_log_loss(const float *prob, const int8_t *label, size_t n);

#endif
