/*
 * regression: fits the additive part of a model (model/additive.h) to the
 * labelled training rows, the knots and the weights.
 *
 * The knots of numeric k are the (t + 1) / (KNOTS + 1)-quantiles of its
 * present values in those rows, t = 0 .. KNOTS - 1 (numpy's linear
 * quantiles). Hinges at quantile knots do what cubic splines do on the
 * loan data sets (within 0.0002 of AUC) and need no spline basis.
 *
 * Every weight but the bias carries the L2 penalty lambda / 2 |w|^2, and
 * the fit minimises the rows' summed log-loss plus it, by Newton's method
 * with step halving. The design has a column a table row and 2 + KNOTS a
 * numeric, but a row has a value in at most 1 + ncat + nnum (1 + KNOTS)
 * of them, so it is never held: each pass over the rows makes them again,
 * sparse. Up to 1024 columns a step solves with the whole Hessian's
 * Cholesky factors (LAPACK's, in OpenBLAS); beyond, where those would
 * cost the cube of the columns (a feature of thousands of levels), by
 * conjugate gradients on Hessian-vector products, preconditioned by each
 * numeric's block and the other columns' diagonal, whose passes cost the
 * rows' values alone.
 * lambda is the one of TP_REGRESSION_PENALTIES, 10^(3.5) down to 10^(-1)
 * a quarter of a decade apart, whose TP_REGRESSION_FOLDS-fold
 * cross-validated log-loss over the training rows (at most
 * TP_REGRESSION_CV_ROWS of them, a sample) is least, the grid walked
 * down until a decade past the least so far, and the weights are those
 * of all the rows at that penalty, fitted from the folds' mean weights
 * there. The validation part is left to the training that follows: on
 * lending_club its 77 defaults chose a worse penalty than
 * cross-validation did (-0.0026 of test AUC).
 *
 * Rows without a label 0 or 1 are left out, unless soft targets are
 * given. Without rows of both classes (or targets of neither 0 nor 1)
 * there is nothing to fit (TP_EDATA).
 */
#ifndef TP_REGRESSION_H
#define TP_REGRESSION_H

#include <stddef.h>

#include "base/err.h"
#include "data/stream.h"
#include "model/additive.h"
#include "train/rows.h"

enum {
	TP_REGRESSION_FOLDS = 5,
	TP_REGRESSION_PENALTIES = 19,
	/* Rows the cross-validation reads at most, a uniform sample of the
	 * fit's: its fits, 5 a penalty, are what a fit costs, and tens of
	 * thousands of rows tell the penalties apart as well as more
	 * would. */
	TP_REGRESSION_CV_ROWS = 20000,
};

/* Fits a's knots and weights (of a's sizes, b's features) to the
 * labelled rows of b, or with target (b->n soft targets, a teacher's
 * probabilities of class 1) to every row of b toward its target; each
 * row's loss weighted as training weighs it (model/softtarget.h) by
 * class_weight (2), or by 1 when that is NULL. *penalty is the one
 * chosen. */
int tp_regression_fit(tp_additive *a, const tp_batch *b, const float *target,
    const float *class_weight, double *penalty, tp_err *e);
/* The labelled rows of train (of ncat and nnum features), or with
 * unlabelled set every row, that a fit reads, into out (initialised here,
 * the caller's to free): all of them, or a uniform sample of `most` of
 * them when there are more (reservoir sampling), from one pass over
 * train, which starts an epoch of its own (the next tp_rows_epoch starts
 * the training's). A few hundred thousand rows fix the weights of a
 * design this size as well as more would, and bound what a fit holds;
 * out holds no more room than the rows need. */
int tp_regression_rows(tp_rows *train, int ncat, int nnum, size_t most,
    int unlabelled, tp_batch *out, tp_err *e);
/* The penalty of index i of the grid, 0 to TP_REGRESSION_PENALTIES - 1. */
double tp_regression_penalty(int i);

#endif
