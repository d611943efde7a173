#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "base/stats.h"
#include "data/request.h"
#include "model/score.h"
#include "quality/drift.h"

const tp_opt tp_drift_options[] = {
	{.key = "bins", .name = "bins", .arg = "n", .type = TP_OPT_INT,
	    .offset = offsetof(tp_drift_opts, bins), .min = 2, .max = 1000,
	    .flags = TP_OPT_RECORD,
	    .help = "quantile bins of a numeric feature for PSI and JS"},
	{.key = "psi_moderate", .name = "psi-moderate", .arg = "x",
	    .type = TP_OPT_DOUBLE, .offset = offsetof(tp_drift_opts, psi_moderate),
	    .min = 0, .max = 1e9, .flags = TP_OPT_RECORD,
	    .help = "the PSI from which drift is moderate"},
	{.key = "psi_significant", .name = "psi-significant", .arg = "x",
	    .type = TP_OPT_DOUBLE,
	    .offset = offsetof(tp_drift_opts, psi_significant), .min = 0,
	    .max = 1e9, .flags = TP_OPT_RECORD,
	    .help = "the PSI from which drift is significant"},
	{.key = "alpha", .name = "alpha", .arg = "p", .type = TP_OPT_DOUBLE,
	    .offset = offsetof(tp_drift_opts, alpha), .min = 0, .max = 1,
	    .flags = TP_OPT_RECORD,
	    .help = "the level of the KS and chi-square tests"},
	{0},
};

const tp_drift_opts tp_drift_defaults = {
	.bins = 10,
	.psi_moderate = 0.1,
	.psi_significant = 0.25,
	.alpha = 0.05,
};

const char *
tp_drift_level_name(enum tp_drift_level l)
{
	return l == TP_DRIFT_SIGNIFICANT ? "significant" :
	    l == TP_DRIFT_MODERATE ? "moderate" : "none";
}

static void
verdict(tp_drift_stat *s, const tp_drift_opts *o)
{
	double p = s->categorical ? s->chi2_p : s->ks_p;

	s->level = s->psi >= o->psi_significant ? TP_DRIFT_SIGNIFICANT :
	    s->psi >= o->psi_moderate ? TP_DRIFT_MODERATE : TP_DRIFT_NONE;
	s->drift = s->level == TP_DRIFT_SIGNIFICANT ||
	    (s->level == TP_DRIFT_MODERATE && p < o->alpha);
}

/* Each bin's share of a side's rows: the division tp_stats_psi and
 * tp_stats_jensenshannon make, over a sum taken in the same order, so that
 * the shares are the very numbers the PSI and JS were computed from. */
static void
shares(const double *counts, int n, double *share)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += counts[i];
	for (int i = 0; i < n; i++)
		share[i] = sum > 0 ? counts[i] / sum : NAN;
}

/* s's shares, and its nbins edges too when edges is set, in one block. */
static int
histogram_alloc(tp_drift_stat *s, int edges)
{
	double *h = malloc((size_t)s->nbins * (edges ? 3 : 2) * sizeof(double));

	if (h == NULL)
		return -1;
	s->share[0] = h;
	s->share[1] = h + s->nbins;
	s->edges = edges ? h + 2 * s->nbins : NULL;
	return 0;
}

void
tp_drift_stat_free(tp_drift_stat *s)
{
	free(s->share[0]);
	s->share[0] = s->share[1] = s->edges = NULL;
}

/* A key's values on both sides, the two sketches brought to one level. */
typedef struct {
	double least;           /* the least value of either side */
	double count[2];        /* reference, current */
} joint;

/* The bins of both sketches by increasing key, the keys of either side
 * once; *n gets their count. NULL on no memory. */
static joint *
join(tp_sketch *const side[2], size_t *n)
{
	joint *j = malloc((side[0]->n + side[1]->n + 1) * sizeof(*j));
	size_t a = 0, b = 0, m = 0;

	if (j == NULL)
		return NULL;
	while (a < side[0]->n || b < side[1]->n) {
		const tp_sketch_bin *x = a < side[0]->n ? &side[0]->bin[a] : NULL;
		const tp_sketch_bin *y = b < side[1]->n ? &side[1]->bin[b] : NULL;
		uint32_t key = x == NULL ? y->key : y == NULL ? x->key :
		    x->key < y->key ? x->key : y->key;
		uint32_t least = UINT32_MAX;
		joint *t = &j[m++];
		t->count[0] = t->count[1] = 0;
		if (x != NULL && x->key == key) {
			least = x->least;
			t->count[0] = (double)tp_sketch_total(x);
			a++;
		}
		if (y != NULL && y->key == key) {
			least = y->least < least ? y->least : least;
			t->count[1] = (double)tp_sketch_total(y);
			b++;
		}
		t->least = tp_sketch_value(least);
	}
	*n = m;
	return j;
}

/* The reference's q-quantiles, q = 1/bins ... (bins-1)/bins, equal ones
 * merged, into edges; returns their count. An exact sketch gives numpy's
 * linear interpolation between the order statistics; a coarse one the
 * least value of the key that holds the order statistic above the
 * quantile, so that the key's values of both sides fall on one side of
 * the edge. */
static int
quantiles(const joint *j, size_t n, double nref, int exact, int bins,
    double *edges)
{
	double below = 0;       /* reference values before key k */
	size_t k = 0;
	int nedges = 0;

	for (int i = 1; i < bins && nref > 0; i++) {
		double pos = (double)i / bins * (nref - 1), lo = floor(pos);
		double t = pos - lo, hi = lo + 1 < nref ? lo + 1 : nref - 1, q;
		/* The key of order statistic lo (from 0). */
		while (below + j[k].count[0] <= lo)
			below += j[k++].count[0];
		if (exact) {
			double a = j[k].least, b = a, diff;
			size_t m = k;
			double at = below;
			while (at + j[m].count[0] <= hi)
				at += j[m++].count[0];
			b = j[m].least;
			diff = b - a;
			/* numpy's lerp: from the nearer end, as
			 * tp_stats_quantile. */
			q = t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
		} else {
			size_t m = k;
			double at = below;
			while (t > 0 && at + j[m].count[0] <= hi)
				at += j[m++].count[0];
			q = j[m].least;
		}
		if (nedges == 0 || q > edges[nedges - 1])
			edges[nedges++] = q;
	}
	return nedges;
}

int
tp_drift_numeric_sketch(tp_drift_stat *s, tp_drift_values *ref,
    tp_drift_values *cur, const tp_drift_opts *o, tp_err *e)
{
	tp_sketch *side[2] = {ref->values, cur->values};
	int level = side[0]->level > side[1]->level ? side[0]->level :
	    side[1]->level, rc, nedges, b = 0;
	double n[2] = {0, 0}, *edges = NULL, *counts = NULL;
	double maxs = -INFINITY, mins = INFINITY, upper = 0, cum[2] = {0, 0};
	joint *j = NULL;
	size_t nj = 0;

	s->categorical = 0;
	s->share[0] = s->share[1] = s->edges = NULL;
	s->vocab = NULL;
	s->chi2 = s->chi2_p = NAN;
	s->chi2_dof = 0;
	if ((rc = tp_sketch_coarsen(side[0], level, e)) != TP_OK ||
	    (rc = tp_sketch_coarsen(side[1], level, e)) != TP_OK)
		return rc;
	tp_sketch_sort(side[0]);
	tp_sketch_sort(side[1]);
	s->exact = level == 0;
	if ((j = join(side, &nj)) == NULL ||
	    (edges = malloc((size_t)o->bins * sizeof(double))) == NULL ||
	    (counts = calloc(2 * ((size_t)o->bins + 1), sizeof(double))) == NULL) {
		rc = tp_err_nomem(e, "a feature's values");
		goto out;
	}
	for (size_t i = 0; i < nj; i++) {
		n[0] += j[i].count[0];
		n[1] += j[i].count[1];
	}
	s->missing[0] = ref->missing;
	s->missing[1] = cur->missing;
	s->rows[0] = (uint64_t)n[0] + ref->missing;
	s->rows[1] = (uint64_t)n[1] + cur->missing;
	nedges = quantiles(j, nj, n[0], s->exact, o->bins, edges);
	/* Value bins 0..nedges, then the missing bin; the current data's
	 * counts follow the reference's. A value equal to an edge goes to
	 * the bin above it. */
	s->nbins = nedges + 2;
	if (histogram_alloc(s, n[0] + n[1] > 0) < 0) {
		rc = tp_err_nomem(e, "a feature's histogram");
		goto out;
	}
	double *rcount = counts, *ccount = counts + s->nbins;
	for (size_t i = 0; i < nj; i++) {
		double before[2] = {cum[0], cum[1]};
		while (b < nedges && j[i].least >= edges[b])
			b++;
		rcount[b] += j[i].count[0];
		ccount[b] += j[i].count[1];
		cum[0] += j[i].count[0];
		cum[1] += j[i].count[1];
		if (n[0] == 0 || n[1] == 0)
			continue;
		/* The empirical distribution functions compared right after
		 * each key, as tp_stats_ks_2samp compares them after each
		 * value; inside a coarse key, the difference lies between
		 * these. */
		double diff = cum[0] / n[0] - cum[1] / n[1];
		maxs = fmax(maxs, diff);
		mins = fmin(mins, diff);
		upper = fmax(upper, fmax(fabs(cum[0] / n[0] - before[1] / n[1]),
		    fabs(before[0] / n[0] - cum[1] / n[1])));
	}
	rcount[nedges + 1] = (double)s->missing[0];
	ccount[nedges + 1] = (double)s->missing[1];
	s->psi = tp_stats_psi(rcount, ccount, (size_t)s->nbins, TP_DRIFT_EPS);
	s->js = tp_stats_jensenshannon(rcount, ccount, (size_t)s->nbins);
	shares(rcount, s->nbins, s->share[0]);
	shares(ccount, s->nbins, s->share[1]);
	/* The outer bins are open-ended; closing them at the least and the
	 * greatest value of both sides gives a chart its axis and keeps every
	 * present value inside its bin's interval. */
	if (s->edges != NULL) {
		s->edges[0] = n[0] == 0 ? cur->min : n[1] == 0 ? ref->min :
		    fmin(ref->min, cur->min);
		memcpy(s->edges + 1, edges, (size_t)nedges * sizeof(double));
		s->edges[nedges + 1] = n[0] == 0 ? cur->max : n[1] == 0 ?
		    ref->max : fmax(ref->max, cur->max);
	}
	s->ks = s->ks_p = s->ks_bound = NAN;
	s->ks_exact = 0;
	if (n[0] > 0 && n[1] > 0) {
		tp_ks_result ks;
		mins = fmin(fmax(-mins, 0), 1);
		tp_stats_ks_2samp_p(mins > maxs ? mins : maxs, (size_t)n[0],
		    (size_t)n[1], &ks);
		s->ks = ks.d;
		s->ks_p = ks.p;
		s->ks_exact = ks.exact;
		s->ks_bound = s->exact ? 0 : fmax(upper - s->ks, 0);
	}
	verdict(s, o);
out:
	free(j);
	free(edges);
	free(counts);
	return rc;
}

/* A strided column's present values into a sketch, and their count of
 * missing values and extremes. */
static int
values_of(tp_drift_values *v, tp_sketch *s, const float *x, size_t n,
    size_t stride, tp_err *e)
{
	int rc;

	v->values = s;
	v->missing = 0;
	v->min = INFINITY;
	v->max = -INFINITY;
	/* Room for every value: an exact comparison. */
	if ((rc = tp_sketch_init(s, n + 2, e)) != TP_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		float f = x[i * stride];
		if (isnan(f)) {
			v->missing++;
			continue;
		}
		v->min = fminf(v->min, f);
		v->max = fmaxf(v->max, f);
		if ((rc = tp_sketch_add(s, f, 0, 1, e)) != TP_OK)
			return rc;
	}
	return TP_OK;
}

int
tp_drift_numeric(tp_drift_stat *s, const float *ref, size_t nref,
    size_t rstride, const float *cur, size_t ncur, size_t cstride,
    const tp_drift_opts *o, tp_err *e)
{
	tp_sketch sk[2] = {{0}};
	tp_drift_values v[2];
	int rc;

	if ((rc = values_of(&v[0], &sk[0], ref, nref, rstride, e)) == TP_OK &&
	    (rc = values_of(&v[1], &sk[1], cur, ncur, cstride, e)) == TP_OK)
		rc = tp_drift_numeric_sketch(s, &v[0], &v[1], o, e);
	tp_sketch_free(&sk[0]);
	tp_sketch_free(&sk[1]);
	return rc;
}

/* The comparison of a categorical feature from its counts of each index
 * (ncats), reference then current. */
static int
categorical(tp_drift_stat *s, const double *counts, int ncats,
    const tp_drift_opts *o, tp_err *e)
{
	s->share[0] = s->share[1] = s->edges = NULL;
	s->vocab = NULL;
	s->categorical = 1;
	s->exact = 1;
	s->rows[0] = s->rows[1] = 0;
	for (int k = 0; k < ncats; k++) {
		s->rows[0] += (uint64_t)counts[k];
		s->rows[1] += (uint64_t)counts[ncats + k];
	}
	s->missing[0] = (uint64_t)counts[0];
	s->missing[1] = (uint64_t)counts[ncats];
	s->nbins = ncats;
	if (histogram_alloc(s, 0) < 0)
		return tp_err_nomem(e, "a feature's histogram");
	shares(counts, ncats, s->share[0]);
	shares(counts + ncats, ncats, s->share[1]);
	s->psi = tp_stats_psi(counts, counts + ncats, (size_t)ncats, TP_DRIFT_EPS);
	s->js = tp_stats_jensenshannon(counts, counts + ncats, (size_t)ncats);
	s->ks = s->ks_p = s->ks_bound = NAN;
	s->ks_exact = 0;
	tp_stats_chi2_homogeneity(counts, counts + ncats, (size_t)ncats,
	    &s->chi2, &s->chi2_p, &s->chi2_dof);
	verdict(s, o);
	return TP_OK;
}

int
tp_drift_categorical(tp_drift_stat *s, const int32_t *ref, size_t nref,
    size_t rstride, const int32_t *cur, size_t ncur, size_t cstride,
    int ncats, const tp_drift_opts *o, tp_err *e)
{
	double *counts = calloc(2 * (size_t)ncats, sizeof(double));
	int rc;

	s->share[0] = s->share[1] = s->edges = NULL;
	s->vocab = NULL;
	if (counts == NULL)
		return tp_err_nomem(e, "a feature's categories");
	for (int side = 0; side < 2; side++) {
		const int32_t *x = side ? cur : ref;
		size_t n = side ? ncur : nref, stride = side ? cstride : rstride;
		double *cnt = counts + (size_t)side * (size_t)ncats;
		for (size_t i = 0; i < n; i++) {
			int32_t k = x[i * stride];
			if (k < 0 || k >= ncats) {
				free(counts);
				return tp_err_set(e, TP_EDATA,
				    "%s row %zu: category index %d out of 0..%d",
				    side ? "current" : "reference", i + 1, (int)k,
				    ncats - 1);
			}
			cnt[k]++;
		}
	}
	rc = categorical(s, counts, ncats, o, e);
	free(counts);
	return rc;
}

static void
update_verdict(tp_drift_report *r)
{
	r->drift = r->has_score && r->score.drift;
	for (int i = 0; i < r->nfeatures; i++)
		r->drift |= r->features[i].drift;
}

int
tp_drift_compare_profiles(tp_drift_report *r, tp_profile *ref,
    tp_profile *cur, const uint8_t *compare, const tp_drift_opts *o,
    tp_err *e)
{
	const tp_encoding *enc = ref->enc;
	int rc = TP_OK;

	r->opts = *o;
	r->enc = enc;
	r->nfeatures = 0;
	r->has_score = 0;
	memset(&r->score, 0, sizeof(r->score));
	if (strcmp(enc->fingerprint, cur->enc->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "the current data is encoded with %.12s..., the reference with %.12s...",
		    cur->enc->fingerprint, enc->fingerprint);
	if ((r->features = calloc((size_t)enc->ncols + 1, sizeof(*r->features))) == NULL)
		return tp_err_nomem(e, "the drift report");
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		tp_column_profile *cp[2] = {&ref->cols[i], &cur->cols[i]};
		tp_drift_stat *s = &r->features[r->nfeatures];
		if ((c->kind != TP_KIND_NUMERIC && c->kind != TP_KIND_CATEGORICAL) ||
		    (compare != NULL && !compare[i]))
			continue;
		s->name = c->name;
		if (c->kind == TP_KIND_NUMERIC) {
			tp_drift_values v[2];
			for (int k = 0; k < 2; k++)
				v[k] = (tp_drift_values){&cp[k]->values,
				    cp[k]->missing_by[0] + cp[k]->missing_by[1] +
				    cp[k]->missing_by[2], cp[k]->zmin, cp[k]->zmax};
			rc = tp_drift_numeric_sketch(s, &v[0], &v[1], o, e);
		} else {
			int ncats = (int)c->vocab.n + 1;
			double *counts = calloc(2 * (size_t)ncats, sizeof(double));
			if (counts == NULL)
				return tp_err_nomem(e, "a feature's categories");
			for (int k = 0; k < 2; k++)
				for (int v = 0; v < ncats; v++)
					counts[k * ncats + v] = (double)(cp[k]->count[0][v] +
					    cp[k]->count[1][v] + cp[k]->count[2][v]);
			rc = categorical(s, counts, ncats, o, e);
			free(counts);
		}
		if (rc != TP_OK)
			return tp_err_prefix(e, "column %s", c->name);
		/* The stream holds (x - mean) / std; a person reads x. */
		for (int b = 0; s->edges != NULL && b < s->nbins; b++)
			s->edges[b] = tp_encoding_decode(c, s->edges[b]);
		if (s->categorical)
			s->vocab = &c->vocab;
		r->nfeatures++;
	}
	update_verdict(r);
	if (ref->scored && cur->scored && cur->score_rows > 0)
		rc = tp_drift_compare_score_sketch(r, ref, cur, e);
	return rc;
}

/* A profile of the rows of b, shaped as enc, not finished. */
static int
profile_of(tp_profile *p, const tp_encoding *enc, const tp_batch *b,
    tp_err *e)
{
	int rc;

	if ((rc = tp_profile_init(p, enc, e)) != TP_OK)
		return rc;
	if ((rc = tp_profile_add(p, b, 0, e)) != TP_OK)
		tp_profile_free(p);
	return rc;
}

int
tp_drift_compare(tp_drift_report *r, const tp_encoding *enc,
    const tp_batch *ref, const tp_batch *cur, const uint8_t *compare,
    const tp_drift_opts *o, tp_err *e)
{
	tp_profile p[2];
	int rc;

	r->features = NULL;
	r->nfeatures = 0;
	if ((rc = profile_of(&p[0], enc, ref, e)) != TP_OK)
		return rc;
	if ((rc = profile_of(&p[1], enc, cur, e)) == TP_OK) {
		rc = tp_drift_compare_profiles(r, &p[0], &p[1], compare, o, e);
		tp_profile_free(&p[1]);
	}
	tp_profile_free(&p[0]);
	return rc;
}

int
tp_drift_compare_score_sketch(tp_drift_report *r, tp_profile *ref,
    tp_profile *cur, tp_err *e)
{
	tp_drift_values v[2];
	int rc;

	tp_drift_stat_free(&r->score);
	memset(&r->score, 0, sizeof(r->score));
	r->score.name = "score";
	v[0] = (tp_drift_values){&ref->score, 0, ref->score_min, ref->score_max};
	v[1] = (tp_drift_values){&cur->score, 0, cur->score_min, cur->score_max};
	if ((rc = tp_drift_numeric_sketch(&r->score, &v[0], &v[1], &r->opts,
	    e)) != TP_OK)
		return tp_err_prefix(e, "score");
	r->has_score = 1;
	update_verdict(r);
	return TP_OK;
}

int
tp_drift_compare_score(tp_drift_report *r, const float *ref, size_t nref,
    const float *cur, size_t ncur, tp_err *e)
{
	tp_drift_stat_free(&r->score);
	memset(&r->score, 0, sizeof(r->score));
	r->score.name = "score";
	int rc = tp_drift_numeric(&r->score, ref, nref, 1, cur, ncur, 1,
	    &r->opts, e);
	if (rc != TP_OK)
		return tp_err_prefix(e, "score");
	r->has_score = 1;
	update_verdict(r);
	return TP_OK;
}

/* Scores each block of rows a profile reads, into its scores. */
static int
score_block(void *ctx, tp_profile *p, const tp_batch *b, tp_err *e)
{
	tp_drift_scoring *sc = ctx;
	int rc;

	if (b->n > sc->cap) {
		float *more = realloc(sc->prob, b->n * sizeof(*more));
		if (more == NULL)
			return tp_err_nomem(e, "the scores");
		sc->prob = more;
		sc->cap = b->n;
	}
	if ((rc = tp_scorer_run(sc->scorer, b, sc->prob, e)) != TP_OK)
		return rc;
	return tp_profile_add_scores(p, sc->prob, b->label, b->n, e);
}

int
tp_drift_profile_read(tp_profile *p, tp_shard_reader *r, tp_scorer *scorer,
    tp_err *e)
{
	tp_drift_scoring sc = {scorer, NULL, 0};
	int rc;

	if (scorer != NULL && (rc = tp_profile_add_scores(p, NULL, NULL, 0, e)) != TP_OK)
		return rc;
	rc = tp_profile_read(p, r, scorer != NULL ? score_block : NULL, &sc, e);
	free(sc.prob);
	return rc;
}

void
tp_drift_report_free(tp_drift_report *r)
{
	for (int i = 0; r->features != NULL && i < r->nfeatures; i++)
		tp_drift_stat_free(&r->features[i]);
	free(r->features);
	r->features = NULL;
	r->nfeatures = 0;
	tp_drift_stat_free(&r->score);
	r->has_score = 0;
}

int
tp_drift_count(const tp_drift_report *r, int *worst)
{
	int n = 0, nall = r->nfeatures + (r->has_score ? 1 : 0);
	double top = -1;

	*worst = -1;
	for (int i = 0; i < nall; i++) {
		const tp_drift_stat *s = i < r->nfeatures ? &r->features[i] : &r->score;
		n += s->drift;
		if (s->psi > top) {
			top = s->psi;
			*worst = i;
		}
	}
	return n;
}

/* A number, or null where it does not apply. */
static void
add_number(cJSON *o, const char *key, double x)
{
	if (isfinite(x))
		cJSON_AddNumberToObject(o, key, x);
	else
		cJSON_AddNullToObject(o, key);
}

/* The fewest significant digits, from 3 to 17, that write every edge of s
 * apart from its neighbours, so that a label reads "[0.016, 0.02)" rather
 * than with seven digits, and never as an empty interval. */
static int
edge_digits(const tp_drift_stat *s)
{
	char a[40], b[40];
	int p;

	for (p = 3; p < 17; p++) {
		int apart = 1;
		for (int i = 0; apart && i + 1 < s->nbins; i++) {
			snprintf(a, sizeof(a), "%.*g", p, s->edges[i]);
			snprintf(b, sizeof(b), "%.*g", p, s->edges[i + 1]);
			apart = s->edges[i] == s->edges[i + 1] || strcmp(a, b) != 0;
		}
		if (apart)
			break;
	}
	return p;
}

/* An edge as a label writes it: no "-0", which a rounded edge of the
 * stream's precision can be. */
static double
edge(double x)
{
	return x == 0 ? 0 : x;
}

/* Bin b's name as a person reads it: a numeric value bin by its interval
 * (the last one closed, as it holds its greatest value), a category by its
 * value. */
static cJSON *
bin_label(const tp_drift_stat *s, int b)
{
	char buf[96];

	if (s->categorical) {
		if (b == 0)
			return cJSON_CreateString("missing or unseen");
		if (s->vocab != NULL && (size_t)b <= s->vocab->n)
			return cJSON_CreateString(s->vocab->keys[b - 1]);
		snprintf(buf, sizeof(buf), "%d", b);
	} else if (b == s->nbins - 1)
		return cJSON_CreateString("missing");
	else if (s->edges == NULL)
		return cJSON_CreateString("present");
	else {
		int p = edge_digits(s);
		snprintf(buf, sizeof(buf), b == s->nbins - 2 ? "[%.*g, %.*g]" :
		    "[%.*g, %.*g)", p, edge(s->edges[b]), p, edge(s->edges[b + 1]));
	}
	return cJSON_CreateString(buf);
}

/* The bins, their edges and each side's shares. The missing bin goes last
 * for a categorical feature too (it is index 0), so that every chart reads
 * alike. NULL on no memory. */
static cJSON *
histogram_json(const tp_drift_stat *s)
{
	cJSON *h = cJSON_CreateObject(), *labels, *side[2], *edges = NULL;
	int n = s->nbins;

	if (h == NULL)
		return NULL;
	labels = cJSON_AddArrayToObject(h, "labels");
	if (s->edges != NULL)
		edges = cJSON_AddArrayToObject(h, "edges");
	else
		cJSON_AddNullToObject(h, "edges");
	side[0] = cJSON_AddArrayToObject(h, "reference");
	side[1] = cJSON_AddArrayToObject(h, "current");
	for (int i = 0; labels != NULL && side[0] != NULL && side[1] != NULL &&
	    i < n; i++) {
		int b = s->categorical ? (i + 1) % n : i;
		cJSON_AddItemToArray(labels, bin_label(s, b));
		for (int k = 0; k < 2; k++)
			cJSON_AddItemToArray(side[k], isfinite(s->share[k][b]) ?
			    cJSON_CreateNumber(s->share[k][b]) : cJSON_CreateNull());
	}
	for (int i = 0; edges != NULL && i < n; i++)
		cJSON_AddItemToArray(edges, isfinite(s->edges[i]) ?
		    cJSON_CreateNumber(s->edges[i]) : cJSON_CreateNull());
	if (labels == NULL || side[0] == NULL || side[1] == NULL ||
	    cJSON_GetArraySize(labels) != n || cJSON_GetArraySize(side[0]) != n ||
	    cJSON_GetArraySize(side[1]) != n || cJSON_GetArraySize(h) != 4 ||
	    (s->edges != NULL && cJSON_GetArraySize(edges) != n)) {
		cJSON_Delete(h);
		return NULL;
	}
	return h;
}

static cJSON *
stat_json(const tp_drift_stat *s)
{
	cJSON *o = cJSON_CreateObject(), *h;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "kind", s->categorical ? "categorical" : "numeric");
	cJSON_AddNumberToObject(o, "reference_rows", (double)s->rows[0]);
	cJSON_AddNumberToObject(o, "current_rows", (double)s->rows[1]);
	cJSON_AddNumberToObject(o, "reference_missing", (double)s->missing[0]);
	cJSON_AddNumberToObject(o, "current_missing", (double)s->missing[1]);
	cJSON_AddNumberToObject(o, "bins", s->nbins);
	add_number(o, "psi", s->psi);
	cJSON_AddStringToObject(o, "level", tp_drift_level_name(s->level));
	add_number(o, "ks", s->ks);
	add_number(o, "ks_error_bound", s->ks_bound);
	add_number(o, "ks_p", s->ks_p);
	if (s->categorical || isnan(s->ks_p))
		cJSON_AddNullToObject(o, "ks_method");
	else
		cJSON_AddStringToObject(o, "ks_method", s->ks_exact ? "exact" : "asymp");
	add_number(o, "chi2", s->chi2);
	add_number(o, "chi2_p", s->chi2_p);
	if (s->categorical)
		cJSON_AddNumberToObject(o, "chi2_dof", s->chi2_dof);
	else
		cJSON_AddNullToObject(o, "chi2_dof");
	add_number(o, "js", s->js);
	cJSON_AddBoolToObject(o, "exact", s->exact);
	cJSON_AddBoolToObject(o, "drift", s->drift);
	/* An object without its histogram is dropped, and the report with it. */
	if ((h = histogram_json(s)) == NULL ||
	    !cJSON_AddItemToObject(o, "histogram", h)) {
		cJSON_Delete(h);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
side_json(const tp_drift_side *s, const tp_encoding *enc)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (s->source != NULL)
		cJSON_AddStringToObject(o, "source", s->source);
	else
		cJSON_AddNullToObject(o, "source");
	if (s->since != NULL)
		cJSON_AddStringToObject(o, "since", s->since);
	else
		cJSON_AddNullToObject(o, "since");
	cJSON_AddNumberToObject(o, "rows", (double)s->rows);
	if (s->fingerprint[0] != '\0')
		cJSON_AddStringToObject(o, "fingerprint", s->fingerprint);
	else
		cJSON_AddNullToObject(o, "fingerprint");
	cJSON_AddStringToObject(o, "encoding", enc->fingerprint);
	return o;
}

cJSON *
tp_drift_report_json(const tp_drift_report *r)
{
	cJSON *j = cJSON_CreateObject(), *a, *t;

	if (j == NULL)
		return NULL;
	cJSON_AddItemToObject(j, "reference", side_json(&r->side[0], r->enc));
	cJSON_AddItemToObject(j, "current", side_json(&r->side[1], r->enc));
	cJSON_AddBoolToObject(j, "drift", r->drift);
	a = cJSON_AddArrayToObject(j, "features");
	for (int i = 0; a != NULL && i < r->nfeatures; i++)
		cJSON_AddItemToArray(a, stat_json(&r->features[i]));
	if (r->has_score)
		cJSON_AddItemToObject(j, "score", stat_json(&r->score));
	else
		cJSON_AddNullToObject(j, "score");
	t = cJSON_AddObjectToObject(j, "thresholds");
	if (t != NULL) {
		cJSON_AddNumberToObject(t, "psi_moderate", r->opts.psi_moderate);
		cJSON_AddNumberToObject(t, "psi_significant", r->opts.psi_significant);
		cJSON_AddNumberToObject(t, "alpha", r->opts.alpha);
		cJSON_AddNumberToObject(t, "bins", r->opts.bins);
		cJSON_AddNumberToObject(t, "epsilon", TP_DRIFT_EPS);
	}
	/* cJSON drops an item it could not make; a report short of one is
	 * worse than none. */
	if (a == NULL || t == NULL || cJSON_GetArraySize(a) != r->nfeatures ||
	    cJSON_GetArraySize(j) != 6) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int
tp_drift_load_predictions(tp_db *db, const char *since,
    const char *model_sha256, const tp_encoding *enc, tp_batch *cur,
    float **score, size_t *nscore, uint8_t *compare, tp_err *e)
{
	const char *p[] = {since, model_sha256};
	PGresult *res = NULL;
	int rc, rows;

	*score = NULL;
	*nscore = 0;
	memset(compare, 0, (size_t)enc->ncols);
	/* The interval is checked on its own, so that a bad one is told
	 * apart from a failing query. */
	if ((rc = tp_db_exec(db, "SELECT $1::interval", 1, p, NULL, e)) != TP_OK)
		return rc != TP_EINTERNAL ? rc : tp_err_set(e, TP_EUSAGE,
		    "--since: \"%s\" is not a PostgreSQL interval (such as '7 days')",
		    since);
	if ((rc = tp_db_exec(db, "SELECT probability, features::text FROM "
	    "predictions WHERE predicted_at >= now() - $1::interval AND "
	    "($2::text IS NULL OR model_sha256 = $2) "
	    "ORDER BY predicted_at, run_id, row_id", 2, p, &res, e)) != TP_OK)
		return rc;
	rows = PQntuples(res);
	if (rows == 0) {
		PQclear(res);
		return tp_err_set(e, TP_ENOINPUT,
		    "predictions: none logged in the last %s%s", since,
		    model_sha256 ? " by this model" : "");
	}
	if ((*score = malloc((size_t)rows * sizeof(float))) == NULL ||
	    (rc = tp_batch_reserve(cur, (size_t)rows, e)) != TP_OK) {
		rc = tp_err_nomem(e, "the logged predictions");
		goto fail;
	}
	for (int i = 0; i < rows; i++) {
		double prob;
		const char *v = PQgetvalue(res, i, 0);
		if (tp_parse_double(v, strlen(v), &prob) < 0) {
			rc = tp_err_set(e, TP_EDATA,
			    "predictions row %d: probability \"%s\" is not a number",
			    i + 1, v);
			goto fail;
		}
		(*score)[i] = (float)prob;
		if (PQgetisnull(res, i, 1))
			continue;
		const char *f = PQgetvalue(res, i, 1);
		cJSON *j = cJSON_Parse(f), *m;
		if (j == NULL) {
			rc = tp_err_set(e, TP_EDATA,
			    "predictions row %d: features: not JSON", i + 1);
			goto fail;
		}
		cJSON_ArrayForEach(m, j)
			for (int c = 0; c < enc->ncols; c++)
				if (m->string != NULL && strcmp(m->string, enc->cols[c].name) == 0)
					compare[c] = 1;
		cJSON_Delete(j);
		cur->n++;
		if ((rc = tp_request_parse(enc, f, strlen(f), i + 1,
		    tp_batch_row(cur, cur->n - 1), NULL, e)) != TP_OK) {
			tp_err_prefix(e, "predictions row %d: features", i + 1);
			goto fail;
		}
	}
	PQclear(res);
	*nscore = (size_t)rows;
	return TP_OK;
fail:
	PQclear(res);
	free(*score);
	*score = NULL;
	return rc;
}

int
tp_drift_record(tp_db *db, int64_t run, const cJSON *report, int drift,
    const cJSON *result, tp_err *e)
{
	char id[24], *text = cJSON_PrintUnformatted(report);
	int rc;

	if (text == NULL)
		return tp_err_nomem(e, "the drift report");
	snprintf(id, sizeof(id), "%lld", (long long)run);
	const char *p[] = {id, drift ? "true" : "false", text};
	if ((rc = tp_db_begin(db, e)) != TP_OK ||
	    (rc = tp_db_exec(db, "INSERT INTO drift_reports (run_id, drift, "
	    "report) VALUES ($1, $2, $3::jsonb)", 3, p, NULL, e)) != TP_OK ||
	    (rc = tp_db_run_finish(db, run, 1, NULL, result, e)) != TP_OK ||
	    (rc = tp_db_commit(db, e)) != TP_OK)
		tp_db_rollback(db);
	free(text);
	return rc;
}
