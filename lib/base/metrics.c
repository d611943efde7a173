#include <math.h>
#include <stdlib.h>

#include "base/metrics.h"

typedef struct {
	double key;     /* the score; -inf stands for NaN */
	uint64_t pos, neg;
} group;

static int
by_key(const void *a, const void *b)
{
	double x = ((const group *)a)->key, y = ((const group *)b)->key;

	return x < y ? -1 : x > y;
}

/* Mann-Whitney: the chance that a random positive scores above a random
 * negative, ties counting one half. Groups must be sorted by key. */
static double
auc_sorted(const group *g, size_t n)
{
	double below = 0, u = 0, npos = 0;
	size_t i = 0;

	while (i < n) {
		double pos = 0, neg = 0;
		size_t j = i;
		for (; j < n && g[j].key == g[i].key; j++) {
			pos += (double)g[j].pos;
			neg += (double)g[j].neg;
		}
		u += pos * (below + neg / 2);
		below += neg;
		npos += pos;
		i = j;
	}
	if (npos == 0 || below == 0)
		return NAN;
	return u / (npos * below);
}

double
tp_roc_auc(const float *score, size_t stride, const int8_t *label, size_t n,
    tp_err *e)
{
	group *g = malloc((n + 1) * sizeof(*g));
	size_t m = 0;

	if (g == NULL)
		return tp_err_nomem(e, "the AUC"), -1;
	for (size_t i = 0; i < n; i++) {
		if (label[i] < 0)
			continue;
		float s = score[i * stride];
		g[m].key = isnan(s) ? -INFINITY : (double)s;
		g[m].pos = label[i] == 1;
		g[m].neg = label[i] == 0;
		m++;
	}
	qsort(g, m, sizeof(*g), by_key);
	double auc = auc_sorted(g, m);
	free(g);
	return auc;
}

int
tp_labels_of_both_classes(const int8_t *label, size_t n)
{
	int seen[2] = {0, 0};

	for (size_t i = 0; i < n; i++)
		if (label[i] == 0 || label[i] == 1)
			seen[label[i]] = 1;
	return seen[0] && seen[1];
}

double
tp_roc_auc_grouped(const double *rank, const uint64_t *pos,
    const uint64_t *neg, size_t ngroups, tp_err *e)
{
	group *g = malloc((ngroups + 1) * sizeof(*g));

	if (g == NULL)
		return tp_err_nomem(e, "the AUC"), -1;
	for (size_t i = 0; i < ngroups; i++)
		g[i] = (group){rank[i], pos[i], neg[i]};
	qsort(g, ngroups, sizeof(*g), by_key);
	double auc = auc_sorted(g, ngroups);
	free(g);
	return auc;
}

static int
by_score_desc(const void *a, const void *b)
{
	double x = ((const group *)a)->key, y = ((const group *)b)->key;

	return x > y ? -1 : x < y;
}

double
tp_best_f1_threshold(const float *score, const int8_t *label, size_t n,
    double *f1, tp_err *e)
{
	group *g = malloc((n + 1) * sizeof(*g));
	double best = 0, threshold = 0.5, tp = 0, fp = 0, npos = 0;
	size_t m = 0;

	*f1 = 0;
	if (g == NULL)
		return tp_err_nomem(e, "the threshold"), -1;
	for (size_t i = 0; i < n; i++) {
		if (label[i] < 0 || isnan(score[i]))
			continue;
		g[m++] = (group){score[i], label[i] == 1, label[i] == 0};
		npos += label[i] == 1;
	}
	qsort(g, m, sizeof(*g), by_score_desc);
	/* Lower the threshold one distinct score at a time. */
	for (size_t i = 0; i < m && npos > 0;) {
		size_t j = i;
		for (; j < m && g[j].key == g[i].key; j++) {
			tp += (double)g[j].pos;
			fp += (double)g[j].neg;
		}
		double f = 2 * tp / (2 * tp + fp + (npos - tp));
		if (f > best) {
			best = f;
			threshold = g[i].key;
		}
		i = j;
	}
	free(g);
	*f1 = best;
	return threshold;
}

double
tp_log_loss(const float *prob, const int8_t *label, size_t n)
{
	double sum = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (label[i] < 0)
			continue;
		double p = fmin(fmax((double)prob[i], 1e-15), 1 - 1e-15);
		sum -= label[i] == 1 ? log(p) : log(1 - p);
		m++;
	}
	return m ? sum / (double)m : NAN;
}
