#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "base/rng.h"
#include "model/softtarget.h"
#include "train/regression.h"

enum {
	MAX_NEWTON = 50,
	MAX_HALVINGS = 30,
	MAX_CG = 500,
};
enum { BLOCK = 2 + TP_ADDITIVE_KNOTS };  /* a numeric's columns */
/* The fold of a row that the cross-validation leaves out: a fit of fold
 * out >= 0 skips it, the fit of all the rows (out -1) reads it. */
enum { LEFT_OUT = TP_REGRESSION_FOLDS };
/* Columns up to which a Newton step factors the whole Hessian: its
 * factors cost p^3 / 3 and a pass that builds it n nz^2 / 2, against n nz
 * for each of conjugate gradients' tens of iterations, so the whole
 * Hessian is the faster up to a few hundred columns, and beyond (a
 * feature of thousands of levels) only conjugate gradients stay
 * affordable. */
enum { DENSE_MOST = 1024 };
/* Rows whose numeric columns go to the Hessian at once: one product of
 * BLAS (dsyrk) does what a row at a time would scatter, their columns
 * being dense (a value and its hinges, or a missing flag, of every
 * numeric). */
enum { CHUNK = 256 };
/* A fit ends with the Newton step whose decrement, grad . step, is below
 * a share of the objective: the decrement halved is what the step is
 * expected to gain, and the step taken leaves a gain of about its square.
 * The step is taken unchecked: a pass to check a change of the objective
 * that small would only see its rounding. The cross-validation's fits
 * only rank the penalties; the fit of all the rows gives the model's
 * weights, and it is one fit, not one a fold and penalty, so a smaller
 * share costs little (at 1e-8, a teacher's soft targets left a gradient
 * of 1.1e-6 of the rows' |p - y|, test_regression's bound 1e-6). */
#define CV_TOLERANCE 1e-8
#define FIT_TOLERANCE 1e-10
/* A Newton step is solved until its residual is this share of the
 * gradient: an inexact step still lowers the objective, and the
 * decrements shrink all the same. */
#define CG_TOLERANCE 1e-2
/* The cross-validation's path stops this many penalties (a decade) past
 * the one of least loss so far: the weaker penalties beyond only fit the
 * folds' noise more closely, and they cost the most Newton steps. */
enum { PATIENCE = 4 };

/* The fit's rows: those of the batch with a label or a soft target, each
 * with what it is fitted toward, its weight in the loss and its fold. */
typedef struct {
	const tp_batch *b;
	size_t *row;      /* (n) index into b */
	double *target;   /* (n) the probability of class 1 it is fitted to */
	double *weight;   /* (n) */
	int *fold;        /* (n) */
	size_t n;
} labelled;

/* What one Newton step needs, allocated once for every fit. The design
 * is never held: a pass makes each row's sparse row again, so a fit's
 * memory and a pass's time grow with the rows' nonzero values, not with
 * the columns (a categorical feature of thousands of levels). */
typedef struct {
	int p;            /* columns of the design */
	int *col;         /* (tp_additive_row_most) a row's columns */
	double *val;      /* and their values */
	double *curv;     /* (n) each row's p (1 - p) at the weights */
	double *grad;     /* (p) */
	/* CG's preconditioner, the Hessian's blocks: a column's own
	 * diagonal element for the bias and the tables' levels (a
	 * feature's levels are never on one row together), and each
	 * numeric's block of its value, missing flag and hinges, whose
	 * columns move together, factored (U^T U). */
	int base;         /* the first numeric column */
	double *diag;     /* (p) */
	double *block;    /* (nnum, BLOCK, BLOCK) */
	double *hess;     /* (p, p) the whole Hessian, lower triangle, when
	                     p <= DENSE_MOST; else NULL */
	double *dense;    /* (CHUNK, p - base) the numeric columns of the
	                     pass's last rows, each times sqrt(curvature) */
	int chunk;        /* rows in dense */
	double *step;     /* (p) */
	double *res, *pre, *dir, *hdir; /* (p) CG's residual, preconditioned
	                     residual, direction and the Hessian times it */
	double *last;     /* (p) the weights before the step */
	double *w;        /* (p) the weights, fitted in double */
} workspace;

double
tp_regression_penalty(int i)
{
	return pow(10.0, 3.5 - 0.25 * i);
}

/* The cross-entropy of a log-odds eta against the target probability t,
 * without overflow. */
static double
log_loss(double eta, double t)
{
	return fmax(eta, 0) + log1p(exp(-fabs(eta))) - t * eta;
}

static int
by_value(const void *x, const void *y)
{
	float u = *(const float *)x, v = *(const float *)y;

	return (u > v) - (u < v);
}

/* The knots of each numeric from the present values of the rows. */
static int
fit_knots(tp_additive *a, const labelled *L, tp_err *e)
{
	float *v = malloc((L->n ? L->n : 1) * sizeof(float));

	if (v == NULL)
		return tp_err_nomem(e, "the additive regression's knots");
	for (int k = 0; k < a->nnum; k++) {
		size_t m = 0;

		for (size_t i = 0; i < L->n; i++) {
			float z = L->b->num[L->row[i] * (size_t)a->nnum + k];
			if (!isnan(z))
				v[m++] = z;
		}
		qsort(v, m, sizeof(float), by_value);
		for (int t = 0; t < TP_ADDITIVE_KNOTS; t++) {
			/* Linear between order statistics, as numpy's default
			 * quantile is. */
			double at = (double)(t + 1) / (TP_ADDITIVE_KNOTS + 1) *
			    (double)(m ? m - 1 : 0);
			size_t lo = (size_t)at;
			double f = at - (double)lo;

			a->knot[(size_t)k * TP_ADDITIVE_KNOTS + t] = m == 0 ? 0 :
			    lo + 1 < m ? (float)(v[lo] + f * (v[lo + 1] - v[lo])) :
			    v[lo];
		}
	}
	free(v);
	return TP_OK;
}

/* Whether the fit of all but fold out (-1: of all) skips row i. */
static int
skipped(const labelled *L, size_t i, int out)
{
	return L->fold[i] == out || (out >= 0 && L->fold[i] == LEFT_OUT);
}

/* Row i's design into ws->col and ws->val; its count. */
static int
design(const tp_additive *a, const labelled *L, size_t i, workspace *ws)
{
	size_t row = L->row[i];

	return tp_additive_design(a, L->b->cat + row * (size_t)a->ncat,
	    L->b->num + row * (size_t)a->nnum, ws->col, ws->val);
}

/* The product of a sparse row with v. */
static double
row_dot(const workspace *ws, int nz, const double *v)
{
	double s = 0;

	for (int k = 0; k < nz; k++)
		s += ws->val[k] * v[ws->col[k]];
	return s;
}

/* LAPACK's Cholesky factors and solve, in the OpenBLAS that the library
 * links (its headers declare BLAS alone). A Fortran routine takes the
 * length of a character argument after the others. The Hessian is kept
 * by rows, lower triangle: for LAPACK, by columns, the upper one. */
void dpotrf_(const char *uplo, const blasint *n, double *a,
    const blasint *lda, blasint *info, size_t uplo_len);
void dpotrs_(const char *uplo, const blasint *n, const blasint *nrhs,
    const double *a, const blasint *lda, double *b, const blasint *ldb,
    blasint *info, size_t uplo_len);

/* Factors h (p by p, symmetric positive definite, its lower triangle
 * given, by rows) in place; -1 when h is not positive definite. */
static int
cholesky(double *h, int p)
{
	blasint n = p, info;

	dpotrf_("U", &n, h, &n, &info, 1);
	return info == 0 ? 0 : -1;
}

/* Solves h s = g for s, h factored by cholesky. */
static void
cholesky_solve(const double *h, const double *g, double *s, int p)
{
	blasint n = p, one = 1, info;

	memcpy(s, g, (size_t)p * sizeof(double));
	dpotrs_("U", &n, &one, h, &n, s, &n, &info, 1);
}

/* The whole Hessian's numeric-by-numeric block gains the rows kept in
 * ws->dense. */
static void
flush_dense(workspace *ws)
{
	int m = ws->p - ws->base;

	if (ws->chunk > 0 && m > 0)
		cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, m,
		    ws->chunk, 1, ws->dense, m, 1,
		    ws->hess + (size_t)ws->base * ws->p + ws->base, ws->p);
	ws->chunk = 0;
}

/* Adds a row of curvature c to the whole Hessian when there is one, else
 * to the preconditioner's blocks. The row's columns are in order: first
 * the bias and its levels (below base), then its numerics' columns.
 * Pairs of the first go to the lower triangle at once; the numerics'
 * columns go to ws->dense, for flush_dense; their products with the
 * levels, to the upper triangle, by rows, for fold_cross to move. */
static void
add_curvature(workspace *ws, int nz, double c)
{
	if (ws->hess != NULL) {
		int m = ws->p - ws->base, levels = 0;
		double root = sqrt(c), *row;

		if (ws->chunk == CHUNK)
			flush_dense(ws);
		row = ws->dense + (size_t)ws->chunk++ * m;
		memset(row, 0, (size_t)m * sizeof(double));
		while (levels < nz && ws->col[levels] < ws->base)
			levels++;
		for (int k = levels; k < nz; k++)
			row[ws->col[k] - ws->base] = root * ws->val[k];
		for (int l = 0; l < levels; l++) {
			double *h = ws->hess + (size_t)ws->col[l] * ws->p;
			double cv = c * ws->val[l];

			for (int k = 0; k <= l; k++)
				h[ws->col[k]] += cv * ws->val[k];
			if (m > 0)
				cblas_daxpy(m, root * ws->val[l], row, 1,
				    h + ws->base, 1);
		}
		return;
	}
	for (int k = 0; k < nz; k++) {
		int at = ws->col[k] - ws->base;

		if (at < 0) {
			ws->diag[ws->col[k]] += c * ws->val[k] * ws->val[k];
			continue;
		}
		double *b = ws->block + (size_t)(at / BLOCK) * BLOCK * BLOCK;
		for (int l = k; l < nz && (ws->col[l] - ws->base) / BLOCK ==
		    at / BLOCK; l++)
			b[(ws->col[l] - ws->base) % BLOCK * BLOCK + at % BLOCK] +=
			    c * ws->val[k] * ws->val[l];
	}
}

/* Ends a pass's whole Hessian: the rows left in ws->dense, and the
 * levels-by-numerics products, gathered in the upper triangle where each
 * level's are contiguous, moved to the lower one, which is all that the
 * Cholesky factors read. */
static void
fold_cross(workspace *ws)
{
	int p = ws->p;

	flush_dense(ws);
	for (int j = 0; j < ws->base; j++)
		for (int i = ws->base; i < p; i++)
			ws->hess[(size_t)i * p + j] = ws->hess[(size_t)j * p + i];
}

/* The penalty on the preconditioner's blocks, and their factors. A block
 * that is not positive definite (only rounding could make one) leaves
 * its columns to their diagonal elements. */
static void
factor_blocks(workspace *ws, int nnum, double lambda)
{
	for (int j = 1; j < ws->base; j++)
		ws->diag[j] += lambda;
	for (int k = 0; k < nnum; k++) {
		double *b = ws->block + (size_t)k * BLOCK * BLOCK;
		double keep[BLOCK];

		for (int i = 0; i < BLOCK; i++)
			keep[i] = b[i * BLOCK + i] += lambda;
		if (cholesky(b, BLOCK) == 0)
			continue;
		memset(b, 0, BLOCK * BLOCK * sizeof(double));
		for (int i = 0; i < BLOCK; i++)
			b[i * BLOCK + i] = sqrt(keep[i]);
	}
}

/* pre = the preconditioner's inverse times res. */
static void
precondition(const workspace *ws, int nnum, const double *res, double *pre)
{
	for (int j = 0; j < ws->base; j++)
		pre[j] = res[j] / ws->diag[j];
	for (int k = 0; k < nnum; k++)
		cholesky_solve(ws->block + (size_t)k * BLOCK * BLOCK,
		    res + ws->base + k * BLOCK, pre + ws->base + k * BLOCK,
		    BLOCK);
}

/* The penalised objective at the weights over the rows not in fold `out`
 * (-1: all); with derivatives set, also its gradient, each row's
 * curvature and the preconditioner. */
static double
pass(const tp_additive *a, const labelled *L, int out, double lambda,
    workspace *ws, int derivatives)
{
	int p = ws->p;
	double obj = 0;

	if (derivatives) {
		memset(ws->grad, 0, (size_t)p * sizeof(double));
		memset(ws->diag, 0, (size_t)ws->base * sizeof(double));
		memset(ws->block, 0, (size_t)a->nnum * BLOCK * BLOCK *
		    sizeof(double));
		if (ws->hess != NULL)
			memset(ws->hess, 0, (size_t)p * p * sizeof(double));
	}
	for (size_t i = 0; i < L->n; i++) {
		double t = L->target[i], w = L->weight[i], eta, prob;
		int nz;

		if (skipped(L, i, out))
			continue;
		nz = design(a, L, i, ws);
		eta = row_dot(ws, nz, ws->w);
		obj += w * log_loss(eta, t);
		if (!derivatives)
			continue;
		prob = 1 / (1 + exp(-eta));
		ws->curv[i] = w * prob * (1 - prob);
		for (int k = 0; k < nz; k++)
			ws->grad[ws->col[k]] += w * (prob - t) * ws->val[k];
		add_curvature(ws, nz, ws->curv[i]);
	}
	for (int j = 1; j < p; j++) {
		obj += 0.5 * lambda * ws->w[j] * ws->w[j];
		if (derivatives)
			ws->grad[j] += lambda * ws->w[j];
	}
	if (derivatives && ws->hess != NULL)
		fold_cross(ws);
	if (derivatives && ws->hess == NULL)
		factor_blocks(ws, a->nnum, lambda);
	return obj;
}

/* hv = the Hessian of the last pass times v. */
static void
hessian_times(const tp_additive *a, const labelled *L, int out,
    double lambda, workspace *ws, const double *v, double *hv)
{
	memset(hv, 0, (size_t)ws->p * sizeof(double));
	for (size_t i = 0; i < L->n; i++) {
		int nz;
		double u;

		if (skipped(L, i, out))
			continue;
		nz = design(a, L, i, ws);
		u = ws->curv[i] * row_dot(ws, nz, v);
		for (int k = 0; k < nz; k++)
			hv[ws->col[k]] += u * ws->val[k];
	}
	for (int j = 1; j < ws->p; j++)
		hv[j] += lambda * v[j];
}

static double
dot(const double *x, const double *y, int p)
{
	double s = 0;

	for (int j = 0; j < p; j++)
		s += x[j] * y[j];
	return s;
}

/* The Newton step, H step = grad: from H's Cholesky factors when the
 * pass made the whole of H, else by conjugate gradients preconditioned by
 * H's blocks, from zero, until the residual is CG_TOLERANCE of the
 * gradient. Every iterate from zero lowers the quadratic model, so a step
 * cut short is still a direction of descent. */
static int
newton_step(const tp_additive *a, const labelled *L, int out, double lambda,
    workspace *ws, tp_err *e)
{
	int p = ws->p;
	double rz, goal = CG_TOLERANCE * CG_TOLERANCE *
	    dot(ws->grad, ws->grad, p);

	if (ws->hess != NULL) {
		for (int j = 1; j < p; j++)
			ws->hess[(size_t)j * p + j] += lambda;
		if (cholesky(ws->hess, p) != 0)
			return tp_err_set(e, TP_EINTERNAL, "the additive "
			    "regression: its Hessian is not positive definite "
			    "(penalty %g)", lambda);
		cholesky_solve(ws->hess, ws->grad, ws->step, p);
		return TP_OK;
	}
	memset(ws->step, 0, (size_t)p * sizeof(double));
	memcpy(ws->res, ws->grad, (size_t)p * sizeof(double));
	precondition(ws, a->nnum, ws->res, ws->pre);
	memcpy(ws->dir, ws->pre, (size_t)p * sizeof(double));
	rz = dot(ws->res, ws->pre, p);
	for (int it = 0; it < MAX_CG && dot(ws->res, ws->res, p) > goal;
	    it++) {
		double alpha, rz_next;

		hessian_times(a, L, out, lambda, ws, ws->dir, ws->hdir);
		alpha = rz / dot(ws->dir, ws->hdir, p);
		for (int j = 0; j < p; j++) {
			ws->step[j] += alpha * ws->dir[j];
			ws->res[j] -= alpha * ws->hdir[j];
		}
		precondition(ws, a->nnum, ws->res, ws->pre);
		rz_next = dot(ws->res, ws->pre, p);
		for (int j = 0; j < p; j++)
			ws->dir[j] = ws->pre[j] + rz_next / rz * ws->dir[j];
		rz = rz_next;
	}
	return TP_OK;
}

/* Fits a's weights (started where they are) to the rows not in fold out
 * under penalty lambda. The pass that tries a full step also makes the
 * derivatives there, which the next step needs: Newton's full step is
 * nearly always taken, so a step costs one pass, not two. */
static int
newton(const tp_additive *a, const labelled *L, int out, double lambda,
    double tolerance, workspace *ws, tp_err *e)
{
	int p = ws->p;
	double before = pass(a, L, out, lambda, ws, 1);

	for (int it = 0; it < MAX_NEWTON; it++) {
		double after, scale = 1;
		int derived = 1;

		if (newton_step(a, L, out, lambda, ws, e) != TP_OK)
			return e->code;
		if (0.5 * dot(ws->grad, ws->step, p) < tolerance * before) {
			for (int j = 0; j < p; j++)
				ws->w[j] -= ws->step[j];
			return TP_OK;
		}
		memcpy(ws->last, ws->w, (size_t)p * sizeof(double));
		for (int h = 0;; h++) {
			for (int j = 0; j < p; j++)
				ws->w[j] = ws->last[j] - scale * ws->step[j];
			after = pass(a, L, out, lambda, ws, derived);
			if (after <= before || h == MAX_HALVINGS)
				break;
			scale /= 2;
			derived = 0;
		}
		if (after > before) {  /* no step lowers it: at the minimum */
			memcpy(ws->w, ws->last, (size_t)p * sizeof(double));
			return TP_OK;
		}
		before = derived ? after : pass(a, L, out, lambda, ws, 1);
	}
	return TP_OK;
}

/* The rows' held-out log-loss of fold f. */
static double
held_out(const tp_additive *a, const labelled *L, int f, workspace *ws)
{
	double loss = 0;

	for (size_t i = 0; i < L->n; i++)
		if (L->fold[i] == f)
			loss += L->weight[i] * log_loss(row_dot(ws, design(a, L,
			    i, ws), ws->w), L->target[i]);
	return loss;
}

/* The weights at the start of a path: 0, the bias at the rows' weighted
 * log-odds. */
static void
start(workspace *ws, double pos, double neg)
{
	memset(ws->w, 0, (size_t)ws->p * sizeof(double));
	ws->w[0] = log(pos / neg);
}

/* The rows of b that have a label (or all, with soft targets), what each
 * is fitted toward and weighs as the training's loss has it
 * (model/softtarget.h), and the weighted sums of the two classes; folds
 * drawn from a fixed stream so that a fit depends on its rows alone: each
 * fold holds every FOLDS-th row of a shuffle, so the folds are as even
 * as the rows allow, and the rows of the shuffle after the first CV_ROWS
 * are left out of the cross-validation. */
static int
gather(labelled *L, const tp_batch *b, const float *target,
    const float *class_weight, double *pos, double *neg, tp_err *e)
{
	size_t most = b->n ? b->n : 1;
	tp_rng rng;

	L->b = b;
	L->n = 0;
	*pos = *neg = 0;
	L->row = malloc(most * sizeof(size_t));
	L->target = malloc(most * sizeof(double));
	L->weight = malloc(most * sizeof(double));
	L->fold = malloc(most * sizeof(int));
	if (L->row == NULL || L->target == NULL || L->weight == NULL ||
	    L->fold == NULL)
		return tp_err_nomem(e, "the additive regression's rows");
	for (size_t i = 0; i < b->n; i++) {
		double w = tp_soft_weight(b->label, target, class_weight,
		    (long)i), t = tp_soft_target(b->label, target, (long)i);
		if (target == NULL && b->label[i] != 0 && b->label[i] != 1)
			continue;
		L->row[L->n] = i;
		L->target[L->n] = t;
		L->weight[L->n++] = w;
		*pos += w * t;
		*neg += w * (1 - t);
	}
	if (!(*pos > 0 && *neg > 0))
		return tp_err_set(e, TP_EDATA, "the additive regression needs "
		    "rows of both classes (weighing %g positive, %g "
		    "negative)", *pos, *neg);
	for (size_t i = 0; i < L->n; i++)
		L->fold[i] = i < TP_REGRESSION_CV_ROWS ?
		    (int)(i % TP_REGRESSION_FOLDS) : LEFT_OUT;
	tp_rng_seed(&rng, 0);
	for (size_t i = L->n - 1; i > 0; i--) {
		size_t j = (size_t)tp_rng_below(&rng, i + 1);
		int t = L->fold[i];
		L->fold[i] = L->fold[j];
		L->fold[j] = t;
	}
	return TP_OK;
}

int
tp_regression_fit(tp_additive *a, const tp_batch *b, const float *target,
    const float *class_weight, double *penalty, tp_err *e)
{
	labelled L = {0};
	workspace ws = {0};
	double pos, neg, loss[TP_REGRESSION_PENALTIES] = {0}, *block = NULL;
	double *fold_w;   /* (FOLDS, p) each fold's weights on its path */
	double *best_w;   /* (p) the folds' mean weights at the best penalty */
	double **vec[] = {&ws.grad, &ws.diag, &ws.step, &ws.res, &ws.pre,
	    &ws.dir, &ws.hdir, &ws.last, &ws.w};
	size_t nvec = sizeof(vec) / sizeof(vec[0]);
	int rc, best = 0;

	if ((rc = gather(&L, b, target, class_weight, &pos, &neg, e)) !=
	    TP_OK)
		goto done;
	ws.p = tp_additive_width(a);
	ws.base = 1 + a->vocab_rows;
	ws.block = malloc(((size_t)a->nnum * BLOCK * BLOCK + 1) *
	    sizeof(double));
	if (ws.p <= DENSE_MOST &&
	    ((ws.hess = malloc((size_t)ws.p * ws.p * sizeof(double))) == NULL ||
	    (ws.dense = malloc(((size_t)CHUNK * (ws.p - ws.base) + 1) *
	    sizeof(double))) == NULL)) {
		rc = tp_err_nomem(e, "the additive regression");
		goto done;
	}
	ws.col = malloc((size_t)tp_additive_row_most(a) * sizeof(int));
	ws.val = malloc((size_t)tp_additive_row_most(a) * sizeof(double));
	ws.curv = malloc(L.n * sizeof(double));
	block = malloc((nvec + TP_REGRESSION_FOLDS + 1) * (size_t)ws.p *
	    sizeof(double));
	if (ws.col == NULL || ws.val == NULL || ws.curv == NULL ||
	    ws.block == NULL || block == NULL) {
		rc = tp_err_nomem(e, "the additive regression");
		goto done;
	}
	for (size_t v = 0; v < nvec; v++)
		*vec[v] = block + v * (size_t)ws.p;
	fold_w = block + nvec * (size_t)ws.p;
	best_w = fold_w + TP_REGRESSION_FOLDS * (size_t)ws.p;
	if ((rc = fit_knots(a, &L, e)) != TP_OK)
		goto done;
	/* The folds' paths from the strongest penalty down, side by side,
	 * each fit starting from its fold's one before. */
	start(&ws, pos, neg);
	for (int f = 0; f < TP_REGRESSION_FOLDS; f++)
		memcpy(fold_w + (size_t)f * ws.p, ws.w, (size_t)ws.p *
		    sizeof(double));
	for (int i = 0; i < TP_REGRESSION_PENALTIES && i - best <= PATIENCE;
	    i++) {
		for (int f = 0; f < TP_REGRESSION_FOLDS; f++) {
			double *w = fold_w + (size_t)f * ws.p;

			memcpy(ws.w, w, (size_t)ws.p * sizeof(double));
			if ((rc = newton(a, &L, f, tp_regression_penalty(i),
			    CV_TOLERANCE, &ws, e)) != TP_OK)
				goto done;
			loss[i] += held_out(a, &L, f, &ws);
			memcpy(w, ws.w, (size_t)ws.p * sizeof(double));
		}
		if (i > 0 && !(loss[i] < loss[best]))
			continue;
		best = i;
		memset(best_w, 0, (size_t)ws.p * sizeof(double));
		for (int f = 0; f < TP_REGRESSION_FOLDS; f++)
			cblas_daxpy(ws.p, 1.0 / TP_REGRESSION_FOLDS,
			    fold_w + (size_t)f * ws.p, 1, best_w, 1);
	}
	/* All the rows' fit starts from the folds' mean weights at its
	 * penalty, near its own: one Newton's fit of all the rows, where
	 * the path's would be one a penalty. */
	*penalty = tp_regression_penalty(best);
	memcpy(ws.w, best_w, (size_t)ws.p * sizeof(double));
	if ((rc = newton(a, &L, -1, *penalty, FIT_TOLERANCE, &ws, e)) !=
	    TP_OK)
		goto done;
	for (int j = 0; j < ws.p; j++)
		a->weight[j] = (float)ws.w[j];
done:
	free(L.row);
	free(L.target);
	free(L.weight);
	free(L.fold);
	free(ws.col);
	free(ws.val);
	free(ws.curv);
	free(ws.block);
	free(ws.hess);
	free(ws.dense);
	free(block);
	return rc;
}

int
tp_regression_rows(tp_rows *train, int ncat, int nnum, size_t most,
    int unlabelled, tp_batch *out, tp_err *e)
{
	size_t chunk = 4096, seen = 0;
	tp_batch batch = {0};
	tp_rng rng;
	long got = 0;
	int rc;

	if (tp_rows_buffer(train) > 0 && tp_rows_buffer(train) < chunk)
		chunk = tp_rows_buffer(train);
	if (most > tp_rows_count(train))  /* room for the rows there are */
		most = tp_rows_count(train) > 0 ? tp_rows_count(train) : 1;
	tp_rng_seed(&rng, 0);
	memset(out, 0, sizeof(*out));
	if ((rc = tp_batch_init(out, ncat, nnum, most, e)) != TP_OK ||
	    (rc = tp_batch_init(&batch, ncat, nnum, chunk, e)) != TP_OK ||
	    (rc = tp_rows_epoch(train, 0, 1, e)) != TP_OK)
		goto done;
	while ((got = tp_rows_next(train, &batch, chunk, e)) > 0)
		for (long r = 0; r < got; r++) {
			if (!unlabelled && batch.label[r] != 0 &&
			    batch.label[r] != 1)
				continue;
			if (out->n < most)
				tp_batch_copy_row(out, out->n++, &batch, (size_t)r);
			else {
				size_t j = (size_t)tp_rng_below(&rng, seen + 1);
				if (j < most)
					tp_batch_copy_row(out, j, &batch, (size_t)r);
			}
			seen++;
		}
	if (got < 0)
		rc = e->code;
done:
	tp_batch_free(&batch);
	if (rc != TP_OK)
		tp_batch_free(out);
	return rc;
}
