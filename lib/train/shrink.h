/*
 * shrink: how far training shrinks each categorical level's token toward
 * its column's mean token (model/model.h, tp_model_shrink), estimated from
 * the labelled training rows as an empirical-Bayes estimate of a level's
 * default rate is shrunk toward its column's rate: the one-way
 * random-effects model (Efron and Morris 1975; for the levels of a
 * category, Micci-Barreca 2001).
 *
 * Level v of a column, with n_v of the N labelled rows, of which a share
 * p_v is positive, p the column's share: its factor is
 *
 *   B_v = n_v / (n_v + s2 / tau2),   s2 = p (1 - p),
 *   tau2 = (sum_v n_v (p_v - p)^2 - (K - 1) s2) / (N - sum_v n_v^2 / N)
 *
 * tau2 the method-of-moments variance of the levels' true rates among the
 * K levels seen, s2 the binomial variance of one row. A level of many rows
 * keeps its own token; one of few rows, or of rates that vary no more
 * than noise (tau2 <= 0, every B_v 0), is drawn to the mean. The mean token
 * weighs each level by its rows (w_v = n_v / N): the mean of the rows'
 * tokens. Nothing to tune: the data say how far. Without labelled rows of
 * both classes nothing is shrunk (B_v 1). The level of index 0 (missing
 * or unseen at ingest) is a level as any other.
 */
#ifndef TP_SHRINK_H
#define TP_SHRINK_H

#include "base/err.h"
#include "model/model.h"
#include "train/rows.h"

/* The factors b and weights w of m's table rows (m->vocab_rows of each),
 * from one pass over the rows of train (which starts an epoch of its
 * own: the next tp_rows_epoch starts the training's). */
int tp_shrink_factors(tp_rows *train, const tp_model *m, float *b, float *w,
    tp_err *e);

#endif
