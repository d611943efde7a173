#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "data/csv.h"
#include "serve/why.h"

const tp_why_opts tp_why_load = {.k = 0, .steps = TP_EXPLAIN_STEPS};

int
tp_why_open(tp_why *w, tp_model *m, const tp_model_meta *meta,
    const tp_encoding *enc, const tp_why_opts *o, tp_err *e)
{
	int rc;

	memset(w, 0, sizeof(*w));
	if (o->k < 1 || o->k > TP_WHY_MAX_K)
		return tp_err_set(e, TP_EUSAGE, "reasons a row: %d is not in 1..%d",
		    o->k, TP_WHY_MAX_K);
	if (meta->reference.rows == 0)
		return tp_err_set(e, TP_EDATA,
		    "the model has no reference profile to explain from (its file was written before models kept one): train it again");
	w->k = o->k;
	w->enc = enc;
	w->reasons = &meta->reasons;
	if (o->reasons != NULL) {
		if ((rc = tp_reasons_load(&w->own, o->reasons, enc, e)) != TP_OK) {
			memset(w, 0, sizeof(*w));
			return rc;
		}
		w->reasons = &w->own;
	}
	if ((rc = tp_explainer_open(&w->x, m, &meta->reference, o->steps, e)) !=
	    TP_OK) {
		tp_why_free(w);
		return rc;
	}
	return TP_OK;
}

void
tp_why_free(tp_why *w)
{
	if (w == NULL)
		return;
	tp_explainer_free(&w->x);
	tp_reasons_free(&w->own);
	free(w->attr);
	free(w->logodds);
	memset(w, 0, sizeof(*w));
}

int
tp_why_rows(tp_why *w, const tp_batch *b, tp_err *e)
{
	int T = w->x.m->T;

	if (b->n > w->cap) {
		float *a = realloc(w->attr, b->n * (size_t)T * sizeof(float));
		if (a == NULL)
			return tp_err_nomem(e, "the attributions");
		w->attr = a;
		float *l = realloc(w->logodds, b->n * sizeof(float));
		if (l == NULL)
			return tp_err_nomem(e, "the attributions");
		w->logodds = l;
		w->cap = b->n;
	}
	w->b = b;
	tp_explain(&w->x, b->cat, b->num, (int)b->n, w->attr, w->logodds);
	for (size_t i = 0; i < b->n; i++) {
		double sum = 0, change = w->logodds[i] - w->x.base_logodds;
		for (int t = 0; t < T; t++)
			sum += w->attr[i * T + t];
		w->gap_sum += fabs(change - sum);
		w->gap_max = fmax(w->gap_max, fabs(change - sum));
		w->change_sum += fabs(change);
	}
	w->rows += b->n;
	return TP_OK;
}

void
tp_why_csv_header(FILE *f, int k)
{
	for (int i = 1; i <= k; i++)
		fprintf(f, ",feature_%d,value_%d,contribution_%d,reason_%d", i, i,
		    i, i);
}

/* Row i's reasons: tokens of positive attribution, largest first. */
static int
reasons_of(const tp_why *w, size_t i, int *order)
{
	const float *a = w->attr + i * (size_t)w->x.m->T;
	int n = tp_explain_top(a, w->x.m->T, w->k, order);

	while (n > 0 && !(a[order[n - 1]] > 0))
		n--;
	return n;
}

/* Token t's value in row i as text in buf, or NULL when it is missing
 * (or, categorical, not in the vocabulary). */
static const char *
value_of(const tp_why *w, size_t i, int t, char *buf, size_t size)
{
	const tp_batch *b = w->b;
	const tp_column *c = &w->enc->cols[tp_explain_column(w->enc, t)];

	if (t < b->ncat) {
		int32_t idx = b->cat[i * (size_t)b->ncat + t];
		return idx > 0 ? c->vocab.keys[idx - 1] : NULL;
	}
	float z = b->num[i * (size_t)b->nnum + (t - b->ncat)];
	if (isnan(z))
		return NULL;
	snprintf(buf, size, "%.10g", tp_encoding_decode(c, z));
	return buf;
}

/* The text of token t's reason in row i. */
static const char *
text_of(const tp_why *w, size_t i, int t)
{
	const tp_batch *b = w->b;
	const char *s = tp_reasons_text(w->reasons, t,
	    t < b->ncat ? b->cat[i * (size_t)b->ncat + t] : 0);

	return s != NULL ? s : w->enc->cols[tp_explain_column(w->enc, t)].name;
}

static void
put_csv(FILE *f, const char *s)
{
	fputc(',', f);
	if (s != NULL)
		tp_csv_put_field(f, s, strlen(s));
}

void
tp_why_csv(FILE *f, const tp_why *w, size_t i)
{
	int order[TP_WHY_MAX_K], n = reasons_of(w, i, order);
	char buf[64];

	for (int r = 0; r < w->k; r++) {
		if (r >= n) {
			fputs(",,,,", f);
			continue;
		}
		int t = order[r];
		put_csv(f, w->enc->cols[tp_explain_column(w->enc, t)].name);
		put_csv(f, value_of(w, i, t, buf, sizeof(buf)));
		fprintf(f, ",%.6g", (double)w->attr[i * (size_t)w->x.m->T + t]);
		put_csv(f, text_of(w, i, t));
	}
}

void
tp_why_json(FILE *f, const tp_why *w, size_t i)
{
	int order[TP_WHY_MAX_K], n = reasons_of(w, i, order), T = w->x.m->T;
	double sum = 0;
	char buf[64];

	fputs(",\"reasons\":[", f);
	for (int r = 0; r < n; r++) {
		int t = order[r];
		const char *v = value_of(w, i, t, buf, sizeof(buf));
		fputs(r > 0 ? ",{\"feature\":" : "{\"feature\":", f);
		tp_text_put_json(f, w->enc->cols[tp_explain_column(w->enc, t)].name);
		fputs(",\"value\":", f);
		if (v == NULL)
			fputs("null", f);
		else if (t >= w->b->ncat)
			fputs(v, f);
		else
			tp_text_put_json(f, v);
		fprintf(f, ",\"contribution\":%.6g,\"reason\":",
		    (double)w->attr[i * (size_t)T + t]);
		tp_text_put_json(f, text_of(w, i, t));
		fputc('}', f);
	}
	for (int t = 0; t < T; t++)
		sum += w->attr[i * (size_t)T + t];
	fprintf(f, "],\"gap\":%.3g",
	    (double)w->logodds[i] - w->x.base_logodds - sum);
}
