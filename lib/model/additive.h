/*
 * additive: the additive part of a model, a logistic regression whose
 * log-odds the transformer's are added to, so that the transformer learns
 * what the regression leaves (a Combined Actuarial Neural Network:
 * Wüthrich and Merz 2019; Schelldorfer and Wüthrich 2019). bench/RESULTS.md
 * ("The transformer as the residual of an additive regression") has why;
 * train/regression.h fits it.
 *
 * Its log-odds of a row is
 *
 *   bias + sum_j c[v_j] + sum_k (a_k z_k + m_k [z_k missing]
 *                                + sum_t h_kt max(0, z_k - q_kt))
 *
 * v_j the table row of categorical feature j (model/model.h's layout of
 * the concatenated tables: missing and unseen are a level of their own),
 * z_k numeric feature k as the stream standardised it, and q_kt the t-th
 * of TP_ADDITIVE_KNOTS knots of numeric k: a curve per numeric, linear
 * between its knots. A missing z_k counts through m_k alone.
 */
#ifndef TP_ADDITIVE_H
#define TP_ADDITIVE_H

#include <stdint.h>

enum { TP_ADDITIVE_KNOTS = 5 };

/* A view of the part's numbers, which its owner holds (a model, in its
 * parameters). */
typedef struct {
	int ncat, nnum;
	int vocab_rows;
	const int *vocab_offset; /* (ncat) first table row of feature j */
	float *weight;      /* (tp_additive_width) the bias, c, then a_k, m_k
	                       and h_k. of each numeric in turn */
	float *knot;        /* (nnum, KNOTS) q_kt */
} tp_additive;

/* Its weights: 1 + vocab_rows + nnum (2 + KNOTS). */
int tp_additive_width(const tp_additive *a);
/* The log-odds of one row (ncat table indices within each feature's
 * table, nnum standardised values, NaN when missing). */
double tp_additive_logit(const tp_additive *a, const int32_t *cat,
    const float *num);
/* Each feature's term of the log-odds of one row, the categorical
 * features' then the numeric ones' (ncat + nnum): the log-odds is the
 * bias plus their sum. */
void tp_additive_terms(const tp_additive *a, const int32_t *cat,
    const float *num, double *term);
/* Numeric k's term at z, NaN for missing. */
double tp_additive_numeric_term(const tp_additive *a, int k, double z);
/* The row of the design, the value of each weight's column for one row
 * (tp_additive_width of them): the log-odds is its dot product with the
 * weights. */
void tp_additive_design(const tp_additive *a, const int32_t *cat,
    const float *num, double *x);

#endif
