/*
 * explain: why the model gives a row its score, as integrated gradients
 * (Sundararajan, Taly and Yan 2017) of the row's log-odds of default.
 *
 * A row's features reach the encoder as tokens, one of d_model floats per
 * feature. The path runs straight in that space, from the reference
 * tokens x' to the row's tokens x; feature j's attribution is
 *
 *   a_j = sum over its token's channels c of
 *         (x_jc - x'_jc) * integral over t in [0,1] of dF/dx_jc (x' + t (x - x')) dt
 *
 * where F is the log-odds (the positive logit minus the other). The
 * integral is Gauss-Legendre quadrature on `steps` nodes, exact for
 * polynomials of degree 2 steps - 1 and far closer than a Riemann sum of
 * as many steps on a path this smooth. By completeness the attributions
 * add up to F(x) - F(x'); what quadrature leaves of it is the gap, which
 * every explanation gives with its attributions.
 *
 * The reference is the average training applicant in token space: each
 * feature's token averaged over the training rows (tp_reference), that is
 * a categorical feature's embedding rows weighted by the shares of its
 * values (missing and unseen in row 0), and a numeric feature's
 * (1 - m)(mu w + b) + m missing, for its share m of missing values and the
 * mean mu of its present standardised values. So an attribution says how
 * far this row's value of a feature moves its log-odds from where a
 * typical applicant's would leave it: a positive one toward default. All
 * tokens at "missing", the other natural reference, would measure from
 * tokens that training may never have reached (a feature never missing
 * keeps its missing token at its random start), and the average of each
 * token is a point the model was trained around.
 *
 * A model with an additive part (model/additive.h) adds each feature's
 * term to that feature's attribution, less its term at the reference:
 * exact, since the part is a sum of one term a feature. Its reference
 * term of a categorical feature is the mean of its levels' weights over
 * the shares, and of a numeric one (1 - m) g(mu) + m g(missing), the
 * curve at the reference's mean mixed with the missing weight, as the
 * reference token mixes them.
 *
 * Of an ensemble (lib/model/model.h), whose log-odds are its members' mean,
 * a feature's attribution is the mean of its attributions in each member,
 * each along its own path from its own reference tokens: they add up to
 * the ensemble's change of log-odds as a member's add up to its own.
 *
 * Attributions explain the model, not the world: they say what moved this
 * model's score, not what causes default, nor what an applicant would
 * have to change.
 */
#ifndef TP_EXPLAIN_H
#define TP_EXPLAIN_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "model/model.h"

/* What the reference tokens are made of: the training rows' shares of
 * each categorical value and, per numeric feature, its missing share and
 * the mean of its present standardised values. */
typedef struct {
	int ncat, nnum;
	int *offset;      /* (ncat + 1) first share of categorical feature j */
	double *share;    /* (offset[ncat]) of index 0 (missing or unseen),
	                     then of each value of the vocabulary */
	double *missing;  /* (nnum) */
	double *mean;     /* (nnum) */
	uint64_t rows;
} tp_reference;

/* Measures the rows of b, encoded with enc (at least one row). */
int tp_reference_fit(tp_reference *r, const tp_encoding *enc,
    const tp_batch *b, tp_err *e);
void tp_reference_free(tp_reference *r); /* accepts a zeroed r */
/* {"rows":N,"categorical":[[shares]...],"numeric":[{"missing":m,
 * "mean":mu}...]}; NULL on no memory. */
cJSON *tp_reference_to_json(const tp_reference *r);
/* Reads the JSON form for a model of encoding enc: one list of shares per
 * categorical feature, as long as its vocabulary plus one, shares in
 * [0,1] that add up to 1, and one entry per numeric feature. where names
 * the source in messages. */
int tp_reference_from_json(tp_reference *r, const tp_encoding *enc,
    const cJSON *json, const char *where, tp_err *e);

/* Gauss-Legendre quadrature on [0,1]: n nodes and their weights. */
void tp_gauss_legendre(int n, double *node, double *weight);

enum { TP_EXPLAIN_STEPS = 32, TP_EXPLAIN_MAX_STEPS = 1024 };

/* Attributions of a model's rows from one reference. */
typedef struct {
	tp_model *m;          /* not owned */
	int steps;
	double *node, *weight;/* (steps) the quadrature */
	float *base;          /* (members,T,C) each member's reference tokens */
	float base_logodds;   /* F(x'), the members' mean */
	int chunk;            /* rows in one pass of the model */
	float *tokens;        /* (chunk,T,C) the rows' tokens */
	float *path;          /* (chunk (steps + 1), T, C) points, then the
	                         gradients there */
	float *logodds;       /* (chunk (steps + 1)) */
	float *attr;          /* (chunk,T) a member's attributions, then
	                         (chunk) its log-odds, of an ensemble */
	double *additive_base;/* (members,T) each member's additive terms
	                         of the reference, NULL without them */
	double *terms;        /* (T) a row's additive terms */
} tp_explainer;

/* An explainer of m (which it plans for its passes) from reference r with
 * steps quadrature nodes (1 to TP_EXPLAIN_MAX_STEPS). */
int tp_explainer_open(tp_explainer *x, tp_model *m, const tp_reference *r,
    int steps, tp_err *e);
void tp_explainer_free(tp_explainer *x); /* accepts a zeroed x */

/* The attributions of B rows, attr (B,T) in the model's token order
 * (categorical features, then numeric ones, each in its slot order), and
 * each row's log-odds F(x) in logodds (B). The gap of row b is
 * logodds[b] - x->base_logodds - the sum of its attributions. */
void tp_explain(tp_explainer *x, const int32_t *cat, const float *num,
    int B, float *attr, float *logodds);

/* How far the attributions of some rows are from adding up to the change
 * of log-odds they explain. Where a ReLU of the model switches on the path
 * the gradient jumps, and any quadrature's error falls only as 1/steps. */
typedef struct {
	double max;           /* the largest |gap| of a row */
	double mean;          /* the mean |gap| */
	double mean_change;   /* the mean |F(x) - F(x')|, for scale */
} tp_explain_gap;

/* Over the rows of b (of the model's encoding): each token's mean
 * |attribution| into mean_abs (T), and the gaps. */
int tp_explain_summary(tp_explainer *x, const tp_batch *b,
    double *mean_abs, tp_explain_gap *gap, tp_err *e);

/* The column of enc that token t of its model stands for. */
int tp_explain_column(const tp_encoding *enc, int t);

/* The k tokens (at most T) of largest attribution, largest first, ties to
 * the earlier token, into order; returns how many. */
int tp_explain_top(const float *attr, int T, int k, int *order);

#endif
