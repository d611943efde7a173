#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "base/rng.h"
#include "train/regression.h"

enum {
	CHUNK = 256,       /* rows of the design held at once */
	MAX_NEWTON = 50,
	MAX_HALVINGS = 30,
};
#define STEP_TOLERANCE 1e-6

/* The fit's rows: the labelled ones of the batch, each with its fold. */
typedef struct {
	const tp_batch *b;
	size_t *row;      /* (n) index into b */
	int *fold;        /* (n) */
	size_t n;
} labelled;

/* What one Newton step needs, allocated once for every fit. */
typedef struct {
	int p;            /* columns of the design */
	double *x;        /* (CHUNK, p) */
	double *label;    /* (CHUNK) each row's */
	double *hess;     /* (p, p) */
	double *grad;     /* (p) */
	double *step;     /* (p) */
	double *last;     /* (p) the weights before the step */
	double *w;        /* (p) the weights, fitted in double */
} workspace;

double
tp_regression_penalty(int i)
{
	return pow(10.0, 3.5 - 0.25 * i);
}

/* -log P(y | eta), without overflow. */
static double
log_loss(double eta, int y)
{
	return fmax(eta, 0) + log1p(exp(-fabs(eta))) - y * eta;
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

/* Solves h s = g for s by Cholesky (h symmetric positive definite, its
 * upper triangle given; h is overwritten). 0, or -1 when h is not
 * positive definite. */
static int
cholesky_solve(double *h, const double *g, double *s, int p)
{
	for (int j = 0; j < p; j++) {
		double d = h[(size_t)j * p + j];

		for (int k = 0; k < j; k++)
			d -= h[(size_t)k * p + j] * h[(size_t)k * p + j];
		if (!(d > 0))
			return -1;
		d = sqrt(d);
		h[(size_t)j * p + j] = d;
		for (int i = j + 1; i < p; i++) {
			double v = h[(size_t)j * p + i];

			for (int k = 0; k < j; k++)
				v -= h[(size_t)k * p + j] * h[(size_t)k * p + i];
			h[(size_t)j * p + i] = v / d;
		}
	}
	/* h's upper triangle is now U with U^T U = h: solve U^T y = g,
	 * then U s = y. */
	for (int i = 0; i < p; i++) {
		double v = g[i];

		for (int k = 0; k < i; k++)
			v -= h[(size_t)k * p + i] * s[k];
		s[i] = v / h[(size_t)i * p + i];
	}
	for (int i = p - 1; i >= 0; i--) {
		double v = s[i];

		for (int k = i + 1; k < p; k++)
			v -= h[(size_t)i * p + k] * s[k];
		s[i] = v / h[(size_t)i * p + i];
	}
	return 0;
}

/* One pass over the rows not in fold `out` (-1: all): the penalised
 * objective at a's weights, and, when ws->hess is to be filled (newton
 * set), its gradient and Hessian (upper triangle). */
static double
pass(const tp_additive *a, const labelled *L, int out, double lambda,
    workspace *ws, int newton)
{
	int p = ws->p;
	double obj = 0;
	size_t i = 0;

	if (newton) {
		memset(ws->hess, 0, (size_t)p * p * sizeof(double));
		memset(ws->grad, 0, (size_t)p * sizeof(double));
	}
	while (i < L->n) {
		int r = 0;

		for (; i < L->n && r < CHUNK; i++) {
			size_t row = L->row[i];
			if (L->fold[i] == out)
				continue;
			tp_additive_design(a, L->b->cat + row * (size_t)a->ncat,
			    L->b->num + row * (size_t)a->nnum,
			    ws->x + (size_t)r * p);
			ws->label[r] = L->b->label[row];
			r++;
		}
		if (r == 0)
			continue;
		for (int k = 0; k < r; k++) {
			const double *x = ws->x + (size_t)k * p;
			int y = (int)ws->label[k];
			double eta = cblas_ddot(p, x, 1, ws->w, 1);
			double prob = 1 / (1 + exp(-eta));

			obj += log_loss(eta, y);
			if (!newton)
				continue;
			cblas_daxpy(p, prob - y, x, 1, ws->grad, 1);
			/* The row scaled by the root of its weight, for the
			 * rank-r update below. */
			cblas_dscal(p, sqrt(prob * (1 - prob)),
			    ws->x + (size_t)k * p, 1);
		}
		if (newton)
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, r,
			    1.0, ws->x, p, 1.0, ws->hess, p);
	}
	for (int j = 1; j < p; j++) {
		obj += 0.5 * lambda * ws->w[j] * ws->w[j];
		if (newton) {
			ws->grad[j] += lambda * ws->w[j];
			ws->hess[(size_t)j * p + j] += lambda;
		}
	}
	return obj;
}

/* Fits a's weights (started where they are) to the rows not in fold out
 * under penalty lambda. */
static int
newton(const tp_additive *a, const labelled *L, int out, double lambda,
    workspace *ws, tp_err *e)
{
	int p = ws->p;

	for (int it = 0; it < MAX_NEWTON; it++) {
		double before = pass(a, L, out, lambda, ws, 1), after, largest = 0;
		double scale = 1;

		if (cholesky_solve(ws->hess, ws->grad, ws->step, p) != 0)
			return tp_err_set(e, TP_EINTERNAL, "the additive "
			    "regression: its Hessian is not positive definite "
			    "(penalty %g)", lambda);
		memcpy(ws->last, ws->w, (size_t)p * sizeof(double));
		for (int h = 0;; h++) {
			for (int j = 0; j < p; j++)
				ws->w[j] = ws->last[j] - scale * ws->step[j];
			after = pass(a, L, out, lambda, ws, 0);
			if (after <= before || h == MAX_HALVINGS)
				break;
			scale /= 2;
		}
		for (int j = 0; j < p; j++)
			largest = fmax(largest, fabs(scale * ws->step[j]));
		if (after > before) {  /* no step lowers it: at the minimum */
			memcpy(ws->w, ws->last, (size_t)p * sizeof(double));
			return TP_OK;
		}
		if (largest < STEP_TOLERANCE)
			return TP_OK;
	}
	return TP_OK;
}

/* The rows' held-out log-loss of fold f. */
static double
held_out(const tp_additive *a, const labelled *L, int f, workspace *ws)
{
	double loss = 0;

	for (size_t i = 0; i < L->n; i++) {
		size_t row = L->row[i];
		if (L->fold[i] != f)
			continue;
		tp_additive_design(a, L->b->cat + row * (size_t)a->ncat,
		    L->b->num + row * (size_t)a->nnum, ws->x);
		loss += log_loss(cblas_ddot(ws->p, ws->x, 1, ws->w, 1),
		    L->b->label[row]);
	}
	return loss;
}

/* The weights at the start of a path: 0, the bias at the rows' log-odds. */
static void
start(workspace *ws, double pos, double neg)
{
	memset(ws->w, 0, (size_t)ws->p * sizeof(double));
	ws->w[0] = log(pos / neg);
}

/* The labelled rows of b, folds drawn from a fixed stream so that a fit
 * depends on its rows alone: each fold holds every FOLDS-th row of a
 * shuffle, so the folds are as even as the rows allow. */
static int
gather(labelled *L, const tp_batch *b, double *pos, double *neg, tp_err *e)
{
	tp_rng rng;

	L->b = b;
	L->n = 0;
	*pos = *neg = 0;
	L->row = malloc((b->n ? b->n : 1) * sizeof(size_t));
	L->fold = malloc((b->n ? b->n : 1) * sizeof(int));
	if (L->row == NULL || L->fold == NULL)
		return tp_err_nomem(e, "the additive regression's rows");
	for (size_t i = 0; i < b->n; i++)
		if (b->label[i] == 0 || b->label[i] == 1) {
			L->row[L->n++] = i;
			*pos += b->label[i];
			*neg += 1 - b->label[i];
		}
	if (*pos == 0 || *neg == 0)
		return tp_err_set(e, TP_EDATA, "the additive regression needs "
		    "labelled rows of both classes (%.0f positive, %.0f "
		    "negative)", *pos, *neg);
	for (size_t i = 0; i < L->n; i++)
		L->fold[i] = (int)(i % TP_REGRESSION_FOLDS);
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
tp_regression_fit(tp_additive *a, const tp_batch *b, double *penalty,
    tp_err *e)
{
	labelled L = {0};
	workspace ws = {0};
	double pos, neg, loss[TP_REGRESSION_PENALTIES] = {0};
	int rc, best = 0;

	ws.p = tp_additive_width(a);
	ws.x = malloc((size_t)CHUNK * ws.p * sizeof(double));
	ws.label = malloc(CHUNK * sizeof(double));
	ws.hess = malloc((size_t)ws.p * ws.p * sizeof(double));
	ws.grad = malloc((size_t)ws.p * sizeof(double));
	ws.step = malloc((size_t)ws.p * sizeof(double));
	ws.last = malloc((size_t)ws.p * sizeof(double));
	ws.w = malloc((size_t)ws.p * sizeof(double));
	if (ws.x == NULL || ws.label == NULL || ws.hess == NULL ||
	    ws.grad == NULL || ws.step == NULL || ws.last == NULL ||
	    ws.w == NULL) {
		rc = tp_err_nomem(e, "the additive regression");
		goto done;
	}
	if ((rc = gather(&L, b, &pos, &neg, e)) != TP_OK ||
	    (rc = fit_knots(a, &L, e)) != TP_OK)
		goto done;
	/* Each fold's path from the strongest penalty down, each fit
	 * starting from the one before. */
	for (int f = 0; f < TP_REGRESSION_FOLDS; f++) {
		start(&ws, pos, neg);
		for (int i = 0; i < TP_REGRESSION_PENALTIES; i++) {
			if ((rc = newton(a, &L, f, tp_regression_penalty(i), &ws,
			    e)) != TP_OK)
				goto done;
			loss[i] += held_out(a, &L, f, &ws);
		}
	}
	for (int i = 1; i < TP_REGRESSION_PENALTIES; i++)
		if (loss[i] < loss[best])
			best = i;
	*penalty = tp_regression_penalty(best);
	start(&ws, pos, neg);
	for (int i = 0; i <= best && rc == TP_OK; i++)
		rc = newton(a, &L, -1, tp_regression_penalty(i), &ws, e);
	for (int j = 0; j < ws.p; j++)
		a->weight[j] = (float)ws.w[j];
done:
	free(L.row);
	free(L.fold);
	free(ws.x);
	free(ws.label);
	free(ws.hess);
	free(ws.grad);
	free(ws.step);
	free(ws.last);
	free(ws.w);
	return rc;
}

int
tp_regression_rows(tp_rows *train, int ncat, int nnum, size_t most,
    tp_batch *out, tp_err *e)
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
			if (batch.label[r] != 0 && batch.label[r] != 1)
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
