#include <stdlib.h>

#include "model/layers.h"
#include "train/shrink.h"

/* b and w of one column's K table rows from their counts n and positive
 * counts pos. */
static void
column_factors(const double *n, const double *pos, int K, float *b,
    float *w)
{
	double N = 0, P = 0, sq = 0, between = 0, tau2, s2;
	int seen = 0;

	for (int v = 0; v < K; v++) {
		N += n[v];
		P += pos[v];
		sq += n[v] * n[v];
		seen += n[v] > 0;
	}
	s2 = N > 0 ? (P / N) * (1 - P / N) : 0;
	if (s2 <= 0) {
		for (int v = 0; v < K; v++) {
			b[v] = 1;
			w[v] = N > 0 ? (float)(n[v] / N) : 1.0f / (float)K;
		}
		return;
	}
	for (int v = 0; v < K; v++)
		if (n[v] > 0) {
			double d = pos[v] / n[v] - P / N;
			between += n[v] * d * d;
		}
	/* N - sq / N is 0 only when one level holds every row: then there
	 * is no variance between levels to speak of. */
	tau2 = N - sq / N > 0 ? (between - (seen - 1) * s2) / (N - sq / N) : 0;
	for (int v = 0; v < K; v++) {
		b[v] = tau2 > 0 ? (float)(n[v] * tau2 / (n[v] * tau2 + s2)) : 0;
		w[v] = (float)(n[v] / N);
	}
}

int
tp_shrink_factors(tp_rows *train, const tp_model *m, float *b, float *w,
    tp_err *e)
{
	size_t rows = (size_t)m->vocab_rows, chunk = 4096;
	double *n = calloc(rows, sizeof(double));
	double *pos = calloc(rows, sizeof(double));
	tp_batch batch = {0};
	long got = 0;
	int rc;

	if (tp_rows_buffer(train) > 0 && tp_rows_buffer(train) < chunk)
		chunk = tp_rows_buffer(train);
	if (n == NULL || pos == NULL)
		rc = tp_err_nomem(e, "the levels' counts");
	else if ((rc = tp_batch_init(&batch, m->ncat, m->nnum, chunk, e)) ==
	    TP_OK && (rc = tp_rows_epoch(train, 0, 1, e)) == TP_OK) {
		while ((got = tp_rows_next(train, &batch, chunk, e)) > 0)
			for (long r = 0; r < got; r++) {
				int8_t y = batch.label[r];
				if (y != 0 && y != 1)
					continue;
				for (int j = 0; j < m->ncat; j++) {
					size_t v = (size_t)(m->vocab_offset[j] +
					    batch.cat[(size_t)r * m->ncat + j]);
					n[v]++;
					pos[v] += y;
				}
			}
		if (got < 0)
			rc = e->code;
	}
	if (rc == TP_OK)
		for (int j = 0; j < m->ncat; j++) {
			int start = m->vocab_offset[j];
			int end = tp_table_end(m->vocab_offset, j, m->ncat,
			    m->vocab_rows);
			column_factors(n + start, pos + start, end - start,
			    b + start, w + start);
		}
	tp_batch_free(&batch);
	free(n);
	free(pos);
	return rc;
}
