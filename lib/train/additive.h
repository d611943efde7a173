/*
 * additive: a penalised additive logistic regression of the labelled
 * training rows, the part of a model that a transformer may learn the
 * residual of (a Combined Actuarial Neural Network: Wüthrich and Merz
 * 2019; Schelldorfer and Wüthrich 2019). bench/RESULTS.md ("The
 * transformer as the residual of an additive regression") has why.
 *
 * Its log-odds of a row is
 *
 *   bias + sum_j c[v_j] + sum_k (a_k z_k + m_k [z_k missing]
 *                                + sum_t h_kt max(0, z_k - q_kt))
 *
 * v_j the table row of categorical feature j (model/model.h's layout of
 * the concatenated tables: missing and unseen are a level of their own),
 * z_k numeric feature k as the stream standardised it, 0 when missing,
 * and q_kt the t-th of TP_ADDITIVE_KNOTS quantiles of the training rows'
 * present values of z_k (the (t + 1) / (KNOTS + 1)-quantiles): a curve
 * per numeric, linear between its knots. Hinges at quantile knots do
 * what cubic splines do on the loan data sets (within 0.0002 of AUC) and
 * need no spline basis.
 *
 * Every weight but the bias carries the L2 penalty lambda / 2 |w|^2, and
 * the fit minimises the rows' summed log-loss plus it, by Newton's method
 * (the design is small: one column a table row, 2 + KNOTS a numeric).
 * lambda is the one of TP_ADDITIVE_PENALTIES, 10^(-1) to 10^(3.5) a
 * quarter of a decade apart, whose TP_ADDITIVE_FOLDS-fold cross-validated
 * log-loss over the training rows is least: the validation part is left
 * to the training that follows, and on lending_club its 77 defaults chose
 * a worse penalty than cross-validation did (-0.0026 of test AUC).
 *
 * Rows without a label 0 or 1 are left out. Without labelled rows of both
 * classes there is nothing to fit (TP_EDATA).
 */
#ifndef TP_ADDITIVE_H
#define TP_ADDITIVE_H

#include <stdint.h>

#include "base/err.h"
#include "data/stream.h"

enum {
	TP_ADDITIVE_KNOTS = 5,
	TP_ADDITIVE_FOLDS = 5,
	TP_ADDITIVE_PENALTIES = 19,
};

typedef struct {
	int ncat, nnum;
	int vocab_rows;
	int *vocab_offset;  /* (ncat) first table row of feature j */
	float *knot;        /* (nnum, KNOTS) q_kt */
	double *weight;     /* (1 + vocab_rows + nnum (2 + KNOTS)): the bias,
	                       c, then a_k, m_k, h_k. of each numeric */
	double penalty;     /* the lambda chosen */
} tp_additive;

/* Fits a to the labelled rows of b, whose categories index tables that
 * start at vocab_offset (ncat of them, vocab_rows rows in all). */
int tp_additive_fit(tp_additive *a, const tp_batch *b,
    const int *vocab_offset, int vocab_rows, tp_err *e);
void tp_additive_free(tp_additive *a); /* accepts a zeroed a */
/* The log-odds of one row (ncat table indices within each feature's
 * table, nnum standardised values, NaN when missing). */
double tp_additive_logit(const tp_additive *a, const int32_t *cat,
    const float *num);
/* The penalty of index i of the grid, 0 to TP_ADDITIVE_PENALTIES - 1. */
double tp_additive_penalty(int i);

#endif
