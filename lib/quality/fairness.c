#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/metrics.h"
#include "base/strmap.h"
#include "data/csv.h"
#include "quality/fairness.h"

static double
ratio(double num, double den)
{
	return den > 0 ? num / den : NAN;
}

/* The measures of groups from their counts and sums; sum[k] is the sum
 * of p over group k's labelled rows, declined_pos and declined_neg its
 * labelled rows with p >= threshold by label. Only the groups that are
 * not small choose the reference and the tpr gap. */
static void
finish(tp_fairness *f, const double *sum, const uint64_t *declined_pos,
    const uint64_t *declined_neg)
{
	double best = NAN, hi = NAN, lo = NAN;

	for (int k = 0; k < f->ngroups; k++) {
		tp_fairness_group *g = &f->groups[k];
		g->small = g->rows < f->min_rows;
		g->approval_rate = ratio((double)g->approved, (double)g->rows);
		g->tpr = ratio((double)declined_pos[k], (double)g->positives);
		g->fpr = ratio((double)declined_neg[k],
		    (double)(g->labelled - g->positives));
		g->mean_predicted = ratio(sum[k], (double)g->labelled);
		g->observed_rate = ratio((double)g->positives, (double)g->labelled);
		if (g->small)
			continue;
		if (f->reference < 0 || g->approval_rate > best) {
			best = g->approval_rate;
			f->reference = k;
		}
		if (isnan(g->tpr))
			continue;
		if (isnan(hi) || g->tpr > hi) {
			hi = g->tpr;
			f->tpr_highest = k;
		}
		if (isnan(lo) || g->tpr < lo) {
			lo = g->tpr;
			f->tpr_lowest = k;
		}
	}
	/* Without a reference best is NaN, and so is every ratio. */
	for (int k = 0; k < f->ngroups; k++) {
		tp_fairness_group *g = &f->groups[k];
		g->impact_ratio = ratio(g->approval_rate, best);
		g->adverse = !g->small &&
		    g->impact_ratio < TP_FAIRNESS_FOUR_FIFTHS;
		f->adverse += g->adverse;
	}
	if (f->tpr_highest >= 0 && f->tpr_highest != f->tpr_lowest)
		f->tpr_gap = hi - lo;
	else
		f->tpr_highest = f->tpr_lowest = -1;
}

int
tp_fairness_measure(tp_fairness *f, const float *prob,
    const int8_t *label, const int *group, size_t n,
    const char *const *names, int ngroups, double threshold,
    uint64_t min_rows, tp_err *e)
{
	size_t *start = calloc((size_t)ngroups + 1, sizeof(*start));
	size_t *fill = calloc((size_t)ngroups + 1, sizeof(*fill));
	int *slot = malloc(((size_t)ngroups + 1) * sizeof(*slot));
	float *p = malloc((n + 1) * sizeof(*p));
	int8_t *y = malloc(n + 1);
	double *sum = calloc((size_t)ngroups + 1, sizeof(*sum));
	uint64_t *dpos = calloc((size_t)ngroups + 1, sizeof(*dpos));
	uint64_t *dneg = calloc((size_t)ngroups + 1, sizeof(*dneg));
	int rc = TP_OK;

	memset(f, 0, sizeof(*f));
	f->threshold = threshold;
	f->min_rows = min_rows;
	f->reference = f->tpr_highest = f->tpr_lowest = -1;
	f->tpr_gap = NAN;
	if (start == NULL || fill == NULL || slot == NULL || p == NULL ||
	    y == NULL || sum == NULL || dpos == NULL || dneg == NULL ||
	    (f->groups = calloc((size_t)ngroups + 1, sizeof(*f->groups))) == NULL) {
		rc = tp_err_nomem(e, "the measures by group");
		goto out;
	}
	/* Rows of each group, then each group's rows side by side. */
	for (size_t i = 0; i < n; i++) {
		if (isnan(prob[i])) {
			rc = tp_err_set(e, TP_EDATA, "row %zu: the probability is not a number", i + 1);
			goto out;
		}
		if (group[i] < 0 || group[i] >= ngroups)
			f->ungrouped++;
		else
			start[group[i] + 1]++;
	}
	for (int k = 0; k < ngroups; k++) {
		slot[k] = -1;
		if (start[k + 1] == 0)
			continue;
		slot[k] = f->ngroups;
		tp_fairness_group *g = &f->groups[f->ngroups++];
		if ((g->name = strdup(names[k])) == NULL) {
			rc = tp_err_nomem(e, "the names of the groups");
			goto out;
		}
	}
	for (int k = 0; k < ngroups; k++)
		start[k + 1] += start[k];
	memcpy(fill, start, ((size_t)ngroups + 1) * sizeof(*fill));
	for (size_t i = 0; i < n; i++) {
		if (group[i] < 0 || group[i] >= ngroups)
			continue;
		int k = slot[group[i]];
		tp_fairness_group *g = &f->groups[k];
		size_t at = fill[group[i]]++;
		int declined = prob[i] >= threshold;
		p[at] = prob[i];
		y[at] = label[i];
		g->rows++;
		g->approved += !declined;
		if (label[i] < 0)
			continue;
		g->labelled++;
		g->positives += label[i] == 1;
		sum[k] += prob[i];
		*(label[i] == 1 ? &dpos[k] : &dneg[k]) += (uint64_t)declined;
	}
	for (int k = 0; k < ngroups; k++) {
		if (slot[k] < 0)
			continue;
		tp_fairness_group *g = &f->groups[slot[k]];
		g->auc = tp_roc_auc(p + start[k], 1, y + start[k],
		    start[k + 1] - start[k], e);
		if (g->auc < 0) {
			rc = e->code;
			goto out;
		}
	}
	finish(f, sum, dpos, dneg);
out:
	free(start);
	free(fill);
	free(slot);
	free(p);
	free(y);
	free(sum);
	free(dpos);
	free(dneg);
	if (rc != TP_OK)
		tp_fairness_free(f);
	return rc;
}

void
tp_fairness_free(tp_fairness *f)
{
	for (int k = 0; f->groups != NULL && k < f->ngroups; k++)
		free(f->groups[k].name);
	free(f->groups);
	f->groups = NULL;
	f->ngroups = 0;
}

/* A number, or null for NaN; 0 when memory runs out. */
static int
put(cJSON *o, const char *key, double v)
{
	return (isnan(v) ? cJSON_AddNullToObject(o, key) :
	    cJSON_AddNumberToObject(o, key, v)) != NULL;
}

/* The name of group k, or null for -1. */
static int
put_group(const tp_fairness *f, cJSON *o, const char *key, int k)
{
	return (k < 0 ? cJSON_AddNullToObject(o, key) :
	    cJSON_AddStringToObject(o, key, f->groups[k].name)) != NULL;
}

static cJSON *
group_json(const tp_fairness_group *g)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "group", g->name) == NULL ||
	    !put(o, "rows", (double)g->rows) ||
	    cJSON_AddBoolToObject(o, "small", g->small) == NULL ||
	    !put(o, "labelled", (double)g->labelled) ||
	    !put(o, "positives", (double)g->positives) ||
	    !put(o, "auc", g->auc) ||
	    !put(o, "approval_rate", g->approval_rate) ||
	    !put(o, "tpr", g->tpr) || !put(o, "fpr", g->fpr) ||
	    !put(o, "mean_predicted", g->mean_predicted) ||
	    !put(o, "observed_rate", g->observed_rate) ||
	    !put(o, "impact_ratio", g->impact_ratio) ||
	    cJSON_AddBoolToObject(o, "adverse", g->adverse) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *
tp_fairness_json(const tp_fairness *f, const char *column)
{
	cJSON *j = cJSON_CreateObject(), *a;
	int ok = j != NULL;

	if (!ok)
		return NULL;
	ok = cJSON_AddStringToObject(j, "column", column) != NULL && ok;
	ok = put(j, "threshold", f->threshold) && ok;
	ok = cJSON_AddStringToObject(j, "approval", "p < threshold") != NULL && ok;
	ok = put(j, "four_fifths", TP_FAIRNESS_FOUR_FIFTHS) && ok;
	ok = put(j, "min_group_rows", (double)f->min_rows) && ok;
	ok = put_group(f, j, "reference", f->reference) && ok;
	ok = put_group(f, j, "most_approved", f->reference) && ok;
	ok = put(j, "adverse", f->adverse) && ok;
	ok = put(j, "tpr_gap", f->tpr_gap) && ok;
	ok = put_group(f, j, "tpr_highest", f->tpr_highest) && ok;
	ok = put_group(f, j, "tpr_lowest", f->tpr_lowest) && ok;
	ok = put(j, "ungrouped", (double)f->ungrouped) && ok;
	a = cJSON_AddArrayToObject(j, "groups");
	ok = a != NULL && ok;
	for (int k = 0; a != NULL && k < f->ngroups; k++) {
		cJSON *g = group_json(&f->groups[k]);
		if (g == NULL)
			ok = 0;
		else
			cJSON_AddItemToArray(a, g);
	}
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

void
tp_grouping_free(tp_grouping *g)
{
	for (int k = 0; g->names != NULL && k < g->ngroups; k++)
		free(g->names[k]);
	free(g->names);
	free(g->group);
	memset(g, 0, sizeof(*g));
}

/* The column of enc named column, or -1. */
static int
column_of(const tp_encoding *enc, const char *column)
{
	for (int c = 0; c < enc->ncols; c++)
		if (strcmp(enc->cols[c].name, column) == 0)
			return c;
	return -1;
}

int
tp_grouping_from_stream(tp_grouping *g, const tp_encoding *enc,
    const tp_batch *b, const char *column, tp_err *e)
{
	int c = column_of(enc, column);
	const tp_column *col;
	size_t nv;

	memset(g, 0, sizeof(*g));
	if (c < 0)
		return tp_err_set(e, TP_EUSAGE, "%s: no such column in the encoding: give its values with --group-file", column);
	col = &enc->cols[c];
	if (col->kind != TP_KIND_CATEGORICAL)
		return tp_err_set(e, TP_EUSAGE, "%s: a %s column, whose values the stream does not hold as groups: give them with --group-file (the CSV the stream was ingested from)",
		    column, tp_kind_name(col->kind));
	nv = col->vocab.n;
	if ((g->group = malloc((b->n + 1) * sizeof(*g->group))) == NULL ||
	    (g->names = calloc(nv + 1, sizeof(*g->names))) == NULL)
		goto nomem;
	if ((g->names[g->ngroups++] = strdup("(missing or unseen)")) == NULL)
		goto nomem;
	for (size_t v = 0; v < nv; v++)
		if ((g->names[g->ngroups++] = strdup(col->vocab.keys[v])) == NULL)
			goto nomem;
	for (size_t i = 0; i < b->n; i++) {
		int32_t x = b->cat[i * (size_t)b->ncat + (size_t)col->slot];
		g->group[i] = x >= 0 && (size_t)x <= nv ? x : -1;
	}
	return TP_OK;
nomem:
	tp_grouping_free(g);
	return tp_err_nomem(e, "the groups");
}

/* A record of the group file: its id and its group. */
typedef struct {
	int64_t id;
	int group;
} keyed;

static int
by_id(const void *a, const void *b)
{
	int64_t x = ((const keyed *)a)->id, y = ((const keyed *)b)->id;

	return x < y ? -1 : x > y;
}

/* A field that holds an integer and nothing else (the ids the encoding
 * reads have at most 18 digits); -1 for any other text. */
static int
field_id(const tp_field *f, int64_t *id)
{
	char buf[24], *end;

	if (f->len == 0 || f->len >= sizeof(buf) || f->s[0] == ' ')
		return -1;
	memcpy(buf, f->s, f->len);
	buf[f->len] = '\0';
	errno = 0;
	*id = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* The records of the group file: (id, group) in *out (*n of them),
 * names in m. */
static int
read_groups(tp_csv *csv, const char *path, const char *column,
    const char *idname, tp_strmap *m, keyed **out, size_t *n, tp_err *e)
{
	const tp_field *f;
	size_t nf, cap = 0;
	long gc = -1, ic = -1;
	int64_t record = 0;
	int r;

	if ((r = tp_csv_next(csv, e)) <= 0)
		return r < 0 ? e->code : tp_err_set(e, TP_EDATA, "%s: empty: the group file starts with a header", path);
	f = tp_csv_fields(csv);
	nf = tp_csv_nfields(csv);
	for (size_t i = 0; i < nf; i++) {
		if (f[i].len == strlen(column) && memcmp(f[i].s, column, f[i].len) == 0)
			gc = (long)i;
		if (idname != NULL && f[i].len == strlen(idname) &&
		    memcmp(f[i].s, idname, f[i].len) == 0)
			ic = (long)i;
	}
	if (gc < 0)
		return tp_err_set(e, TP_EDATA, "%s:1: no column %s in the header", path, column);
	if (idname != NULL && ic < 0)
		return tp_err_set(e, TP_EDATA, "%s:1: no column %s in the header: the rows are matched by the encoding's id", path, idname);
	while ((r = tp_csv_next(csv, e)) > 0) {
		f = tp_csv_fields(csv);
		nf = tp_csv_nfields(csv);
		record++;
		if ((size_t)gc >= nf || (ic >= 0 && (size_t)ic >= nf))
			return tp_err_set(e, TP_EDATA, "%s:%ld: %zu fields: too few for column %s", path, tp_csv_line(csv), nf, column);
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			keyed *k = realloc(*out, cap * sizeof(**out));
			if (k == NULL)
				return tp_err_nomem(e, "the group file's rows");
			*out = k;
		}
		keyed *k = &(*out)[(*n)++];
		k->id = record;
		if (ic >= 0 && field_id(&f[ic], &k->id) < 0)
			return tp_err_set(e, TP_EDATA, "%s:%ld: id \"%.*s\" is not an integer", path, tp_csv_line(csv), (int)f[ic].len, f[ic].s);
		if ((r = tp_field_check_text(&f[gc], column, e)) != TP_OK)
			return tp_err_prefix(e, "%s:%ld", path, tp_csv_line(csv));
		long gi = tp_field_missing(&f[gc]) ?
		    tp_strmap_add(m, "(missing)", 9, e) :
		    tp_strmap_add(m, f[gc].s, f[gc].len, e);
		if (gi < 0)
			return e->code;
		k->group = (int)gi;
	}
	return r < 0 ? e->code : TP_OK;
}

int
tp_grouping_from_csv(tp_grouping *g, const tp_encoding *enc,
    const tp_batch *b, const char *column, const char *path, tp_err *e)
{
	const char *idname = enc->id_col >= 0 ? enc->cols[enc->id_col].name : NULL;
	tp_strmap m = {0};
	keyed *k = NULL;
	size_t n = 0;
	tp_csv *csv = NULL;
	FILE *f = NULL;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	if ((rc = tp_csv_open(&csv, f, path, e)) != TP_OK ||
	    (rc = read_groups(csv, path, column, idname, &m, &k, &n, e)) != TP_OK)
		goto out;
	qsort(k, n, sizeof(*k), by_id);
	for (size_t i = 1; i < n; i++)
		if (k[i].id == k[i - 1].id) {
			rc = tp_err_set(e, TP_EDATA, "%s: two records have id %" PRId64 ": a row's group must be one", path, k[i].id);
			goto out;
		}
	if ((g->group = malloc((b->n + 1) * sizeof(*g->group))) == NULL ||
	    (g->names = calloc(m.n + 1, sizeof(*g->names))) == NULL) {
		rc = tp_err_nomem(e, "the groups");
		goto out;
	}
	for (size_t v = 0; v < m.n; v++, g->ngroups++)
		if ((g->names[v] = strdup(m.keys[v])) == NULL) {
			rc = tp_err_nomem(e, "the groups");
			goto out;
		}
	for (size_t i = 0; i < b->n; i++) {
		keyed want = {b->id[i], 0};
		const keyed *hit = n ? bsearch(&want, k, n, sizeof(*k), by_id) : NULL;
		if (hit == NULL) {
			rc = tp_err_set(e, TP_EDATA, "%s: no record has id %" PRId64 " (the stream's row %zu)%s",
			    path, b->id[i], i + 1, idname ? "" : ": without an id column, a row's id is its record number in the CSV it was ingested from");
			goto out;
		}
		g->group[i] = hit->group;
	}
out:
	tp_csv_close(csv);
	tp_close_input(f);
	tp_strmap_free(&m);
	free(k);
	if (rc != TP_OK)
		tp_grouping_free(g);
	return rc;
}
