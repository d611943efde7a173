#include <math.h>
#include <string.h>

#include "model/additive.h"

int
tp_additive_width(const tp_additive *a)
{
	return 1 + a->vocab_rows + a->nnum * (2 + TP_ADDITIVE_KNOTS);
}

int
tp_additive_row_most(const tp_additive *a)
{
	return 1 + a->ncat + a->nnum * (1 + TP_ADDITIVE_KNOTS);
}

int
tp_additive_design(const tp_additive *a, const int32_t *cat, const float *num,
    int *col, double *val)
{
	int n = 0, base = 1 + a->vocab_rows;

	col[n] = 0;
	val[n++] = 1;
	for (int j = 0; j < a->ncat; j++) {
		col[n] = 1 + a->vocab_offset[j] + cat[j];
		val[n++] = 1;
	}
	for (int k = 0; k < a->nnum; k++) {
		int first = base + k * (2 + TP_ADDITIVE_KNOTS);
		const float *q = a->knot + (size_t)k * TP_ADDITIVE_KNOTS;
		double z = num[k];

		if (isnan(z)) {
			col[n] = first + 1;
			val[n++] = 1;
			continue;
		}
		col[n] = first;
		val[n++] = z;
		/* Each hinge is written and kept only where z is past its
		 * knot: no branch, which z's place among the knots would make
		 * a guess; there is room, a row's count being at most
		 * tp_additive_row_most. */
		for (int t = 0; t < TP_ADDITIVE_KNOTS; t++) {
			col[n] = first + 2 + t;
			val[n] = z - q[t];
			n += z > q[t];
		}
	}
	return n;
}

void
tp_additive_forward(const tp_additive *a, const int32_t *cat,
    const float *num, float *logits, int B)
{
	for (int r = 0; r < B; r++)
		logits[2 * r + 1] += (float)tp_additive_logit(a,
		    cat + (size_t)r * a->ncat, num + (size_t)r * a->nnum);
}

void
tp_additive_terms(const tp_additive *a, const int32_t *cat, const float *num,
    double *term)
{
	for (int j = 0; j < a->ncat; j++)
		term[j] = a->weight[1 + a->vocab_offset[j] + cat[j]];
	for (int k = 0; k < a->nnum; k++)
		term[a->ncat + k] = tp_additive_numeric_term(a, k, num[k]);
}
