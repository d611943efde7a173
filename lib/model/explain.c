#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/explain.h"

void
tp_reference_free(tp_reference *r)
{
	if (r == NULL)
		return;
	free(r->offset);
	free(r->share);
	free(r->missing);
	free(r->mean);
	memset(r, 0, sizeof(*r));
}

/* Allocates r for enc's features, its shares and means zero. */
static int
reference_alloc(tp_reference *r, const tp_encoding *enc, tp_err *e)
{
	memset(r, 0, sizeof(*r));
	r->ncat = enc->ncat;
	r->nnum = enc->nnum;
	if ((r->offset = calloc((size_t)r->ncat + 1, sizeof(int))) == NULL)
		return tp_err_nomem(e, "a reference profile");
	for (int i = 0; i < enc->ncols; i++)
		if (enc->cols[i].kind == TP_KIND_CATEGORICAL)
			r->offset[enc->cols[i].slot + 1] =
			    (int)enc->cols[i].vocab.n + 1;
	for (int j = 0; j < r->ncat; j++)
		r->offset[j + 1] += r->offset[j];
	if ((r->share = calloc((size_t)r->offset[r->ncat] + 1,
	    sizeof(double))) == NULL ||
	    (r->missing = calloc((size_t)r->nnum + 1, sizeof(double))) == NULL ||
	    (r->mean = calloc((size_t)r->nnum + 1, sizeof(double))) == NULL) {
		tp_reference_free(r);
		return tp_err_nomem(e, "a reference profile");
	}
	return TP_OK;
}

int
tp_reference_fit(tp_reference *r, const tp_encoding *enc, const tp_batch *b,
    tp_err *e)
{
	int rc;

	if (b->n == 0)
		return tp_err_set(e, TP_EDATA,
		    "a reference profile needs at least one row");
	if ((rc = reference_alloc(r, enc, e)) != TP_OK)
		return rc;
	r->rows = b->n;
	for (size_t i = 0; i < b->n; i++) {
		for (int j = 0; j < r->ncat; j++)
			r->share[r->offset[j] + b->cat[i * (size_t)r->ncat + j]]++;
		for (int j = 0; j < r->nnum; j++) {
			float v = b->num[i * (size_t)r->nnum + j];
			if (isnan(v))
				r->missing[j]++;
			else
				r->mean[j] += v;
		}
	}
	for (int k = 0; k < r->offset[r->ncat]; k++)
		r->share[k] /= (double)b->n;
	for (int j = 0; j < r->nnum; j++) {
		double present = (double)b->n - r->missing[j];
		r->mean[j] = present > 0 ? r->mean[j] / present : 0;
		r->missing[j] /= (double)b->n;
	}
	return TP_OK;
}

cJSON *
tp_reference_to_json(const tp_reference *r)
{
	cJSON *j = cJSON_CreateObject(), *cat, *num;

	if (j == NULL)
		return NULL;
	cJSON_AddNumberToObject(j, "rows", (double)r->rows);
	cat = cJSON_AddArrayToObject(j, "categorical");
	num = cJSON_AddArrayToObject(j, "numeric");
	for (int f = 0; cat != NULL && f < r->ncat; f++) {
		cJSON *shares = cJSON_CreateDoubleArray(r->share + r->offset[f],
		    r->offset[f + 1] - r->offset[f]);
		if (shares == NULL || !cJSON_AddItemToArray(cat, shares)) {
			cJSON_Delete(shares);
			cat = NULL;
		}
	}
	for (int f = 0; num != NULL && f < r->nnum; f++) {
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(num, o)) {
			cJSON_Delete(o);
			num = NULL;
			break;
		}
		cJSON_AddNumberToObject(o, "missing", r->missing[f]);
		cJSON_AddNumberToObject(o, "mean", r->mean[f]);
	}
	if (cat == NULL || num == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A number of o in [lo,hi], or why not. */
static const char *
member(const cJSON *o, const char *name, double lo, double hi, double *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n))
		return "is not a number";
	*v = n->valuedouble;
	return isfinite(*v) && *v >= lo && *v <= hi ? NULL : "is out of range";
}

int
tp_reference_from_json(tp_reference *r, const tp_encoding *enc,
    const cJSON *json, const char *where, tp_err *e)
{
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(json, "categorical");
	const cJSON *num = cJSON_GetObjectItemCaseSensitive(json, "numeric");
	const cJSON *item;
	double rows;
	int rc, f = 0;

	if ((rc = reference_alloc(r, enc, e)) != TP_OK)
		return rc;
#define BAD(...) do { \
	tp_reference_free(r); \
	return tp_err_set(e, TP_EDATA, __VA_ARGS__); \
} while (0)
	if (member(json, "rows", 1, 9007199254740992.0, &rows) != NULL)
		BAD("%s: the reference profile has no row count", where);
	r->rows = (uint64_t)rows;
	if (!cJSON_IsArray(cat) || cJSON_GetArraySize(cat) != r->ncat ||
	    !cJSON_IsArray(num) || cJSON_GetArraySize(num) != r->nnum)
		BAD("%s: the reference profile is not of the model's %d categorical and %d numeric features",
		    where, r->ncat, r->nnum);
	cJSON_ArrayForEach(item, cat) {
		int n = r->offset[f + 1] - r->offset[f], k = 0;
		double total = 0;
		const cJSON *s;
		if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != n)
			BAD("%s: the reference profile's categorical feature %d needs %d shares",
			    where, f + 1, n);
		cJSON_ArrayForEach(s, item) {
			double v = cJSON_IsNumber(s) ? s->valuedouble : NAN;
			if (!(v >= 0 && v <= 1))
				BAD("%s: the reference profile's categorical feature %d has a share that is not in [0,1]",
				    where, f + 1);
			r->share[r->offset[f] + k++] = v;
			total += v;
		}
		if (fabs(total - 1) > 1e-6)
			BAD("%s: the reference profile's categorical feature %d has shares that add up to %g, not 1",
			    where, f + 1, total);
		f++;
	}
	f = 0;
	cJSON_ArrayForEach(item, num) {
		const char *why;
		if ((why = member(item, "missing", 0, 1, &r->missing[f])) != NULL ||
		    (why = member(item, "mean", -HUGE_VAL, HUGE_VAL,
		    &r->mean[f])) != NULL)
			BAD("%s: the reference profile's numeric feature %d: a member %s",
			    where, f + 1, why);
		f++;
	}
#undef BAD
	return TP_OK;
}

/* Legendre polynomial P_n at x, and its derivative. */
static void
legendre(int n, double x, double *p, double *dp)
{
	double p0 = 1, p1 = x;

	for (int k = 2; k <= n; k++) {
		double p2 = ((2.0 * k - 1) * x * p1 - (k - 1.0) * p0) / k;
		p0 = p1;
		p1 = p2;
	}
	*p = n == 0 ? 1 : p1;
	*dp = n == 0 ? 0 : n * (x * p1 - p0) / (x * x - 1);
}

void
tp_gauss_legendre(int n, double *node, double *weight)
{
	/* The roots of P_n on [-1,1] by Newton's method from Tricomi's
	 * approximation, symmetric in pairs; mapped onto [0,1], where the
	 * weights halve. */
	for (int i = 0; i < (n + 1) / 2; i++) {
		double x = cos(M_PI * (i + 0.75) / (n + 0.5)), p, dp;
		for (int it = 0; it < 100; it++) {
			legendre(n, x, &p, &dp);
			double dx = p / dp;
			x -= dx;
			if (fabs(dx) < 1e-16)
				break;
		}
		legendre(n, x, &p, &dp);
		double w = 2 / ((1 - x * x) * dp * dp);
		node[i] = (1 - x) / 2;
		node[n - 1 - i] = (1 + x) / 2;
		weight[i] = weight[n - 1 - i] = w / 2;
	}
}

/* The reference tokens (T,C) of m from r. */
static void
reference_tokens(const tp_model *m, const tp_reference *r, float *base)
{
	int C = m->cfg.d_model;
	const tp_model_index *ix = &m->ix;

	memset(base, 0, (size_t)m->T * C * sizeof(float));
	for (int j = 0; j < m->ncat; j++) {
		const float *table = m->params + m->param[ix->emb].offset +
		    (size_t)m->vocab_offset[j] * C;
		float *o = base + (size_t)j * C;
		for (int k = 0; k < r->offset[j + 1] - r->offset[j]; k++) {
			double s = r->share[r->offset[j] + k];
			for (int c = 0; c < C; c++)
				o[c] += (float)(s * table[(size_t)k * C + c]);
		}
	}
	for (int j = 0; j < m->nnum; j++) {
		size_t at = (size_t)j * C;
		const float *w = m->params + m->param[ix->num_w].offset + at;
		const float *b = m->params + m->param[ix->num_b].offset + at;
		const float *miss = m->params + m->param[ix->num_miss].offset + at;
		float *o = base + (size_t)(m->ncat + j) * C;
		double mis = r->missing[j], mu = r->mean[j];
		for (int c = 0; c < C; c++)
			o[c] = (float)((1 - mis) * (mu * w[c] + b[c]) + mis * miss[c]);
	}
}

void
tp_explainer_free(tp_explainer *x)
{
	if (x == NULL)
		return;
	free(x->node);
	free(x->weight);
	free(x->base);
	free(x->tokens);
	free(x->path);
	free(x->logodds);
	free(x->attr);
	free(x->additive_base);
	free(x->terms);
	memset(x, 0, sizeof(*x));
}

/*
 * Points a pass of the model takes, a thread's share: the paths of a few
 * rows at a time. The backward reads every layer's activations, so a pass
 * that keeps them in cache beats one of large products: on lending_club
 * (22 tokens a row, 6 layers), one row's 33 points a pass took 6.8 s of
 * CPU for 1479 rows, and 256 points 8.7 s.
 */
enum { PASS_POINTS_PER_THREAD = 64 };

/* m's additive terms of the reference into term (T), and its log-odds
 * there. */
static double
additive_reference(tp_model *m, const tp_reference *r, double *term)
{
	tp_additive a = tp_model_additive(m);
	double sum = a.weight[0];

	for (int j = 0; j < m->ncat; j++) {
		int V = r->offset[j + 1] - r->offset[j];
		term[j] = 0;
		for (int v = 0; v < V; v++)
			term[j] += r->share[r->offset[j] + v] *
			    a.weight[1 + m->vocab_offset[j] + v];
		sum += term[j];
	}
	for (int k = 0; k < m->nnum; k++) {
		double miss = r->missing[k];
		term[m->ncat + k] = (1 - miss) *
		    tp_additive_numeric_term(&a, k, r->mean[k]) +
		    miss * tp_additive_numeric_term(&a, k, NAN);
		sum += term[m->ncat + k];
	}
	return sum;
}

int
tp_explainer_open(tp_explainer *x, tp_model *m, const tp_reference *r,
    int steps, tp_err *e)
{
	size_t TC = (size_t)m->T * m->cfg.d_model;
	int rc, points;

	memset(x, 0, sizeof(*x));
	if (steps < 1 || steps > TP_EXPLAIN_MAX_STEPS)
		return tp_err_set(e, TP_EUSAGE,
		    "steps of integrated gradients: %d is not in 1..%d", steps,
		    TP_EXPLAIN_MAX_STEPS);
	if (r->ncat != m->ncat || r->nnum != m->nnum)
		return tp_err_set(e, TP_EDATA,
		    "the reference profile has %d categorical and %d numeric features, the model %d and %d",
		    r->ncat, r->nnum, m->ncat, m->nnum);
	x->m = m;
	x->steps = steps;
	points = steps + 1;
	x->chunk = PASS_POINTS_PER_THREAD * m->nthreads / points;
	if (x->chunk < 1)
		x->chunk = 1;
	if ((x->node = malloc((size_t)steps * sizeof(double))) == NULL ||
	    (x->weight = malloc((size_t)steps * sizeof(double))) == NULL ||
	    (x->base = malloc((size_t)m->nmembers * TC * sizeof(float))) ==
	    NULL ||
	    (x->attr = malloc((size_t)x->chunk * (m->T + 1) *
	    sizeof(float))) == NULL ||
	    (x->tokens = malloc((size_t)x->chunk * TC * sizeof(float))) == NULL ||
	    (x->path = malloc((size_t)x->chunk * points * TC *
	    sizeof(float))) == NULL ||
	    (x->logodds = malloc((size_t)x->chunk * points *
	    sizeof(float))) == NULL) {
		tp_explainer_free(x);
		return tp_err_nomem(e, "the explainer");
	}
	if (m->cfg.additive &&
	    ((x->additive_base = malloc((size_t)m->nmembers * m->T *
	    sizeof(double))) == NULL ||
	    (x->terms = malloc((size_t)m->T * sizeof(double))) == NULL)) {
		tp_explainer_free(x);
		return tp_err_nomem(e, "the explainer");
	}
	if ((rc = tp_model_plan(m, x->chunk * points, e)) != TP_OK) {
		tp_explainer_free(x);
		return rc;
	}
	tp_gauss_legendre(steps, x->node, x->weight);
	double base = 0;
	for (int j = 0; j < m->nmembers; j++) {
		tp_model *mj = tp_model_member(m, j);
		reference_tokens(mj, r, x->base + TC * j);
		/* F(x') through the same pass, its gradient unused. */
		memcpy(x->path, x->base + TC * j, TC * sizeof(float));
		tp_model_token_gradient(mj, x->path, 1, x->logodds, x->path + TC);
		base += x->logodds[0];
		if (x->additive_base != NULL)
			base += additive_reference(mj, r,
			    x->additive_base + (size_t)j * m->T);
	}
	x->base_logodds = (float)(base / m->nmembers);
	return TP_OK;
}

/* Adds m's additive terms of n rows, less the reference's (base), to
 * their attributions, and their log-odds to logodds. */
static void
additive_attributions(tp_explainer *x, tp_model *m, const double *base,
    const int32_t *cat, const float *num, int n, float *attr, float *logodds)
{
	tp_additive a = tp_model_additive(m);
	int T = m->T;

	for (int b = 0; b < n; b++) {
		double sum = a.weight[0];
		tp_additive_terms(&a, cat + (size_t)b * m->ncat,
		    num + (size_t)b * m->nnum, x->terms);
		for (int t = 0; t < T; t++) {
			attr[(size_t)b * T + t] += (float)(x->terms[t] - base[t]);
			sum += x->terms[t];
		}
		logodds[b] += (float)sum;
	}
}

/* The attributions of n <= chunk rows by member j, whose reference
 * tokens are base and additive terms additive_base. */
static void
explain_member(tp_explainer *x, tp_model *m, const float *base,
    const double *additive_base, const int32_t *cat, const float *num, int n,
    float *attr, float *logodds)
{
	int S = x->steps, points = S + 1, T = m->T, C = m->cfg.d_model;
	size_t TC = (size_t)T * C;

	tp_model_tokens(m, cat, num, n, x->tokens);
	/* Row b's points: the S nodes, then the row itself (t = 1), which
	 * gives F(x). */
	for (int b = 0; b < n; b++)
		for (int s = 0; s < points; s++) {
			float t = s < S ? (float)x->node[s] : 1.0f;
			const float *in = x->tokens + TC * b;
			float *p = x->path + TC * ((size_t)b * points + s);
			for (size_t k = 0; k < TC; k++)
				p[k] = base[k] + t * (in[k] - base[k]);
		}
	tp_model_token_gradient(m, x->path, n * points, x->logodds, x->path);
	for (int b = 0; b < n; b++) {
		const float *in = x->tokens + TC * b;
		const float *g = x->path + TC * (size_t)b * points;
		for (int j = 0; j < T; j++) {
			double a = 0;
			for (int c = 0; c < C; c++) {
				size_t k = (size_t)j * C + c;
				double integral = 0;
				for (int s = 0; s < S; s++)
					integral += x->weight[s] * g[TC * s + k];
				a += (double)(in[k] - base[k]) * integral;
			}
			attr[(size_t)b * T + j] = (float)a;
		}
		logodds[b] = x->logodds[(size_t)b * points + S];
	}
	if (additive_base != NULL)
		additive_attributions(x, m, additive_base, cat, num, n, attr,
		    logodds);
}

/* The attributions of n <= chunk rows: of one model its own, of an
 * ensemble the mean of its members'. */
static void
explain_chunk(tp_explainer *x, const int32_t *cat, const float *num, int n,
    float *attr, float *logodds)
{
	tp_model *m = x->m;
	int T = m->T, k = m->nmembers;
	size_t TC = (size_t)T * m->cfg.d_model;

	if (k == 1) {
		explain_member(x, m, x->base, x->additive_base, cat, num, n, attr,
		    logodds);
		return;
	}
	memset(attr, 0, (size_t)n * T * sizeof(float));
	memset(logodds, 0, (size_t)n * sizeof(float));
	float *member_logodds = x->attr + (size_t)x->chunk * T;
	for (int j = 0; j < k; j++) {
		explain_member(x, tp_model_member(m, j), x->base + TC * j,
		    x->additive_base == NULL ? NULL :
		    x->additive_base + (size_t)j * T, cat, num, n, x->attr,
		    member_logodds);
		for (size_t i = 0; i < (size_t)n * T; i++)
			attr[i] += x->attr[i] / k;
		for (int b = 0; b < n; b++)
			logodds[b] += member_logodds[b] / k;
	}
}

void
tp_explain(tp_explainer *x, const int32_t *cat, const float *num, int B,
    float *attr, float *logodds)
{
	tp_model *m = x->m;

	for (int r = 0; r < B; r += x->chunk) {
		int n = B - r < x->chunk ? B - r : x->chunk;
		explain_chunk(x, cat + (size_t)r * m->ncat,
		    num + (size_t)r * m->nnum, n, attr + (size_t)r * m->T,
		    logodds + r);
	}
}

int
tp_explain_summary(tp_explainer *x, const tp_batch *b, double *mean_abs,
    tp_explain_gap *gap, tp_err *e)
{
	int T = x->m->T, n = x->chunk;
	float *attr = malloc((size_t)n * T * sizeof(float));
	float *logodds = malloc((size_t)n * sizeof(float));

	if (attr == NULL || logodds == NULL) {
		free(attr);
		free(logodds);
		return tp_err_nomem(e, "the attributions");
	}
	memset(mean_abs, 0, (size_t)T * sizeof(double));
	memset(gap, 0, sizeof(*gap));
	for (size_t r = 0; r < b->n; r += (size_t)n) {
		int k = b->n - r < (size_t)n ? (int)(b->n - r) : n;
		tp_explain(x, b->cat + r * (size_t)b->ncat,
		    b->num + r * (size_t)b->nnum, k, attr, logodds);
		for (int i = 0; i < k; i++) {
			double sum = 0;
			for (int t = 0; t < T; t++) {
				double a = attr[(size_t)i * T + t];
				mean_abs[t] += fabs(a);
				sum += a;
			}
			double change = logodds[i] - x->base_logodds;
			double g = fabs(change - sum);
			gap->max = fmax(gap->max, g);
			gap->mean += g;
			gap->mean_change += fabs(change);
		}
	}
	for (int t = 0; t < T && b->n > 0; t++)
		mean_abs[t] /= (double)b->n;
	if (b->n > 0) {
		gap->mean /= (double)b->n;
		gap->mean_change /= (double)b->n;
	}
	free(attr);
	free(logodds);
	return TP_OK;
}

int
tp_explain_column(const tp_encoding *enc, int t)
{
	enum tp_kind kind = t < enc->ncat ? TP_KIND_CATEGORICAL :
	    TP_KIND_NUMERIC;
	int slot = t < enc->ncat ? t : t - enc->ncat;

	for (int i = 0; i < enc->ncols; i++)
		if (enc->cols[i].kind == kind && enc->cols[i].slot == slot)
			return i;
	return -1;
}

int
tp_explain_top(const float *attr, int T, int k, int *order)
{
	int n = k < T ? k : T;

	/* Selection: k is a handful. */
	for (int i = 0; i < n; i++) {
		int best = -1;
		for (int t = 0; t < T; t++) {
			int taken = 0;
			for (int q = 0; q < i && !taken; q++)
				taken = order[q] == t;
			if (!taken && (best < 0 || attr[t] > attr[best]))
				best = t;
		}
		order[i] = best;
	}
	return n;
}
