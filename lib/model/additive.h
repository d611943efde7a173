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

#include <math.h>
#include <stddef.h>
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

/* The CUDA backend computes the log-odds with the same two functions as
 * the CPU, so that both add the same doubles in the same order. */
#ifdef __CUDACC__
#define TP_ADDITIVE_FN static inline __host__ __device__
#else
#define TP_ADDITIVE_FN static inline
#endif

/* Its weights: 1 + vocab_rows + nnum (2 + KNOTS). */
int tp_additive_width(const tp_additive *a);

/* Numeric k's term at z, NaN for missing. */
TP_ADDITIVE_FN double
tp_additive_numeric_term(const tp_additive *a, int k, double z)
{
	const float *col = a->weight + 1 + a->vocab_rows +
	    k * (2 + TP_ADDITIVE_KNOTS);
	const float *q = a->knot + (size_t)k * TP_ADDITIVE_KNOTS;
	double s;

	if (isnan(z))
		return col[1];
	s = col[0] * z;
	for (int t = 0; t < TP_ADDITIVE_KNOTS; t++)
		if (z > q[t])
			s += col[2 + t] * (z - q[t]);
	return s;
}

/* The log-odds of one row (ncat table indices within each feature's
 * table, nnum standardised values, NaN when missing). */
TP_ADDITIVE_FN double
tp_additive_logit(const tp_additive *a, const int32_t *cat, const float *num)
{
	double s = a->weight[0];

	for (int j = 0; j < a->ncat; j++)
		s += a->weight[1 + a->vocab_offset[j] + cat[j]];
	for (int k = 0; k < a->nnum; k++)
		s += tp_additive_numeric_term(a, k, num[k]);
	return s;
}

/* Adds the log-odds of B rows (B x ncat indices, B x nnum values) to
 * their logits of the positive class, logits (B,2); the CUDA backend's
 * tp_cuda_additive_forward does it on the device. The part has no
 * backward: training leaves it as its fit made it. */
void tp_additive_forward(const tp_additive *a, const int32_t *cat,
    const float *num, float *logits, int B);
/* Each feature's term of the log-odds of one row, the categorical
 * features' then the numeric ones' (ncat + nnum): the log-odds is the
 * bias plus their sum. */
void tp_additive_terms(const tp_additive *a, const int32_t *cat,
    const float *num, double *term);
/* The row of the design for one row, sparse: the columns of its nonzero
 * values, in increasing order, into col and the values into val, their
 * count returned: the log-odds is the sum of val[i] times
 * weight[col[i]]. Both hold tp_additive_row_most entries; those past the
 * count are scratch. */
int tp_additive_design(const tp_additive *a, const int32_t *cat,
    const float *num, int *col, double *val);
/* The count of a row's design at most: 1 + ncat + nnum (1 + KNOTS). */
int tp_additive_row_most(const tp_additive *a);

#endif
