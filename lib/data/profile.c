#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "base/sha256.h"
#include "base/strmap.h"
#include "data/partial.h"
#include "data/profile.h"

const tp_limits tp_default_limits = {
	.max_missing = 0.5,
	.max_unseen = 0.05,
	.min_minority = 0.01,
	.max_duplicates = 0.05,
	.max_constant = 0,
	.max_auc = 0.99,
	.min_rows = 1,
};

#define LIMIT(field, option, kind, lo, hi, text) {.key = #field, \
	.name = option, .arg = kind == TP_OPT_DOUBLE ? "rate" : "n", \
	.type = kind, .offset = offsetof(tp_limits, field), .min = lo, \
	.max = hi, .flags = TP_OPT_RECORD, .help = text}

const tp_opt tp_limits_options[] = {
	LIMIT(max_missing, "max-missing", TP_OPT_DOUBLE, 0, 1,
	    "the most missing values a feature may have, as a share"),
	LIMIT(max_unseen, "max-unseen", TP_OPT_DOUBLE, 0, 1,
	    "the most unseen categories a feature may have, as a share"),
	LIMIT(min_minority, "min-minority", TP_OPT_DOUBLE, 0, 0.5,
	    "the least share of the smaller class among labelled rows"),
	LIMIT(max_duplicates, "max-duplicates", TP_OPT_DOUBLE, 0, 1,
	    "the most duplicate rows, as a share"),
	LIMIT(max_constant, "max-constant", TP_OPT_LONG, 0, INT32_MAX,
	    "the most constant features"),
	{.key = "max_auc", .name = "max-auc", .arg = "x",
	    .type = TP_OPT_DOUBLE, .offset = offsetof(tp_limits, max_auc),
	    .min = 0.5, .max = 1, .flags = TP_OPT_RECORD,
	    .help = "the highest AUC one feature may reach alone (leakage)"},
	LIMIT(min_rows, "min-rows", TP_OPT_U64, 0, 0, "the least rows"),
	{0},
};


/* A double-double: hi + lo, some 106 bits (Dekker 1971; Knuth's two-sum,
 * products through fma), for a variance that a double would lose to
 * cancellation when the mean is far from 0. */
typedef struct {
	double hi, lo;
} dd;

static dd
dd_add(dd a, dd b)
{
	double s = a.hi + b.hi, v = s - a.hi;
	double err = (a.hi - (s - v)) + (b.hi - v) + a.lo + b.lo, h = s + err;

	return (dd){h, err - (h - s)};
}

static dd
dd_mul(dd a, dd b)
{
	double p = a.hi * b.hi;
	double err = fma(a.hi, b.hi, -p) + a.hi * b.lo + a.lo * b.hi, h = p + err;

	return (dd){h, err - (h - p)};
}

static dd
dd_div(dd a, double n)
{
	double q = a.hi / n;
	dd r = dd_add(a, dd_mul((dd){q, 0}, (dd){-n, 0}));
	double q2 = r.hi / n, h = q + q2;

	return (dd){h, q2 - (h - q)};
}

static dd
dd_of(const tp_xsum *s)
{
	dd v;

	tp_xsum_dd(s, &v.hi, &v.lo);
	return v;
}

int
tp_profile_init(tp_profile *p, const tp_encoding *enc, tp_err *e)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->enc = enc;
	p->unseen_known = 1;
	if ((p->cols = calloc((size_t)enc->ncols + 1, sizeof(*p->cols))) == NULL ||
	    (p->unseen = calloc((size_t)enc->ncat + 1, sizeof(*p->unseen))) == NULL)
		goto nomem;
	if ((rc = tp_distinct_init(&p->distinct, TP_PROFILE_DISTINCT, e)) != TP_OK)
		goto fail;
	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		tp_column_profile *cp = &p->cols[j];
		cp->zmin = INFINITY;
		cp->zmax = -INFINITY;
		if (c->kind == TP_KIND_NUMERIC &&
		    (rc = tp_sketch_init(&cp->values, TP_PROFILE_SKETCH_BINS,
		    e)) != TP_OK)
			goto fail;
		for (int l = 0; c->kind == TP_KIND_CATEGORICAL && l < 3; l++)
			if ((cp->count[l] = calloc(c->vocab.n + 1,
			    sizeof(uint64_t))) == NULL)
				goto nomem;
	}
	return TP_OK;
nomem:
	rc = tp_err_nomem(e, "a profile");
fail:
	tp_profile_free(p);
	return rc;
}

void
tp_profile_free(tp_profile *p)
{
	if (p == NULL)
		return;
	for (int j = 0; p->cols != NULL && j < p->enc->ncols; j++) {
		tp_sketch_free(&p->cols[j].values);
		for (int l = 0; l < 3; l++)
			free(p->cols[j].count[l]);
	}
	free(p->cols);
	free(p->unseen);
	tp_distinct_free(&p->distinct);
	tp_sketch_free(&p->score);
	tp_encoding_free(&p->own);
	memset(p, 0, sizeof(*p));
}

/* A label's class: 2 positive, 1 negative, 0 unlabelled (-1, or any
 * other value, which no stream holds). */
static int
class_of(int8_t label)
{
	return label == 1 ? 2 : label == 0 ? 1 : 0;
}

int
tp_profile_add(tp_profile *p, const tp_batch *b, size_t from, tp_err *e)
{
	const tp_encoding *enc = p->enc;
	size_t nc = (size_t)enc->ncat, nn = (size_t)enc->nnum;
	int rc;

	for (size_t i = from; i < b->n; i++) {
		tp_row row = tp_batch_row(b, i);
		int l = class_of(*row.label);
		uint64_t h = TP_HASH_SEED;
		h = tp_hash_bytes(row.cat, nc * sizeof(int32_t), h);
		h = tp_hash_bytes(row.num, nn * sizeof(float), h);
		h = tp_hash_bytes(row.label, 1, h);
		if ((rc = tp_distinct_add(&p->distinct, h, e)) != TP_OK)
			return rc;
		p->positive += l == 2;
		p->negative += l == 1;
		p->unlabelled += l == 0;
		for (int j = 0; j < enc->ncols; j++) {
			const tp_column *c = &enc->cols[j];
			tp_column_profile *cp = &p->cols[j];
			if (c->kind == TP_KIND_CATEGORICAL) {
				cp->count[l][row.cat[c->slot]]++;
				continue;
			}
			if (c->kind != TP_KIND_NUMERIC)
				continue;
			float z = row.num[c->slot];
			if (isnan(z)) {
				cp->missing_by[l]++;
				continue;
			}
			cp->zmin = fminf(cp->zmin, z);
			cp->zmax = fmaxf(cp->zmax, z);
			/* A float's square is exact in a double. */
			tp_xsum_add(&cp->zsum, z);
			tp_xsum_add(&cp->zsum2, (double)z * z);
			if ((rc = tp_sketch_add(&cp->values, z, l, 1, e)) != TP_OK)
				return rc;
		}
	}
	p->rows += b->n - from;
	return TP_OK;
}

int
tp_profile_add_scores(tp_profile *p, const float *score, const int8_t *label,
    size_t n, tp_err *e)
{
	int rc;

	if (!p->scored) {
		if ((rc = tp_sketch_init(&p->score, TP_PROFILE_SKETCH_BINS, e)) != TP_OK)
			return rc;
		p->scored = 1;
		p->score_min = INFINITY;
		p->score_max = -INFINITY;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = tp_sketch_add(&p->score, score[i], class_of(label[i]), 1,
		    e)) != TP_OK)
			return rc;
		p->score_min = fminf(p->score_min, score[i]);
		p->score_max = fmaxf(p->score_max, score[i]);
	}
	p->score_rows += n;
	return TP_OK;
}

int
tp_profile_set_unseen(tp_profile *p, const uint64_t *unseen, tp_err *e)
{
	p->unseen_known = unseen != NULL;
	for (int j = 0; j < p->enc->ncat; j++)
		p->unseen[j] = unseen != NULL ? unseen[j] : 0;
	return TP_OK;
}

int
tp_profile_merge(tp_profile *into, const tp_profile *from, tp_err *e)
{
	const tp_encoding *enc = into->enc;
	int rc;

	if (strcmp(enc->fingerprint, from->enc->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "a profile of data encoded with %.12s..., not %.12s...",
		    from->enc->fingerprint, enc->fingerprint);
	if (into->scored != from->scored && into->rows > 0 && from->rows > 0)
		return tp_err_set(e, TP_EDATA,
		    "a profile %s a model's scores, the others %s",
		    from->scored ? "with" : "without", into->scored ? "with" : "without");
	into->rows += from->rows;
	into->positive += from->positive;
	into->negative += from->negative;
	into->unlabelled += from->unlabelled;
	if ((rc = tp_distinct_merge(&into->distinct, &from->distinct, e)) != TP_OK)
		return rc;
	into->unseen_known = into->unseen_known && from->unseen_known;
	for (int j = 0; j < enc->ncat; j++)
		into->unseen[j] = into->unseen_known ? into->unseen[j] + from->unseen[j] : 0;
	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		tp_column_profile *a = &into->cols[j];
		const tp_column_profile *b = &from->cols[j];
		for (int l = 0; l < 3; l++) {
			a->missing_by[l] += b->missing_by[l];
			for (size_t v = 0; c->kind == TP_KIND_CATEGORICAL && v <= c->vocab.n; v++)
				a->count[l][v] += b->count[l][v];
		}
		if (c->kind != TP_KIND_NUMERIC)
			continue;
		a->zmin = fminf(a->zmin, b->zmin);
		a->zmax = fmaxf(a->zmax, b->zmax);
		tp_xsum_merge(&a->zsum, &b->zsum);
		tp_xsum_merge(&a->zsum2, &b->zsum2);
		if ((rc = tp_sketch_merge(&a->values, &b->values, e)) != TP_OK)
			return tp_err_prefix(e, "column %s", c->name);
	}
	if (from->scored) {
		if (!into->scored && (rc = tp_profile_add_scores(into, NULL, NULL, 0,
		    e)) != TP_OK)
			return rc;
		if ((rc = tp_sketch_merge(&into->score, &from->score, e)) != TP_OK)
			return tp_err_prefix(e, "the scores");
		into->score_rows += from->score_rows;
		into->score_min = fminf(into->score_min, from->score_min);
		into->score_max = fmaxf(into->score_max, from->score_max);
	}
	return TP_OK;
}

/* A numeric feature's statistics, in the CSV's units, from its sums. */
static void
moments(tp_column_profile *cp, const tp_column *c)
{
	double n = (double)cp->present;
	dd mean = dd_div(dd_of(&cp->zsum), n);
	dd var = dd_add(dd_div(dd_of(&cp->zsum2), n),
	    dd_mul(mean, (dd){-mean.hi, -mean.lo}));

	cp->mean = mean.hi * c->std + c->mean;
	cp->std = sqrt(fmax(var.hi, 0)) * c->std;
	/* The extremes as the CSV wrote them: 0, not -1.07e-08. */
	cp->min = tp_encoding_decode(c, cp->zmin);
	cp->max = tp_encoding_decode(c, cp->zmax);
}

/* A numeric feature's AUC from its sketch: Mann-Whitney with ties counting
 * one half, the missing values below every present one, summed as
 * tp_roc_auc sums it (so that an exact sketch gives its very double); the
 * pairs in one bin of a sketch of level 1 or more are the bound. */
static void
numeric_auc(tp_column_profile *cp)
{
	const tp_sketch *s = &cp->values;
	double pos = (double)cp->missing_by[2], neg = (double)cp->missing_by[1];
	double below = neg, u = pos * neg / 2, npos = pos, tied = 0;

	for (size_t i = 0; i < s->n; i++) {
		pos = (double)s->bin[i].count[2];
		neg = (double)s->bin[i].count[1];
		u += pos * (below + neg / 2);
		tied += pos * neg;
		below += neg;
		npos += pos;
	}
	cp->auc = cp->auc_bound = NAN;
	if (npos == 0 || below == 0)
		return;
	cp->auc = fmax(u / (npos * below), 1 - u / (npos * below));
	cp->auc_bound = s->level > 0 ? tied / 2 / (npos * below) : 0;
}

int
tp_profile_finish(tp_profile *p, tp_err *e)
{
	const tp_encoding *enc = p->enc;
	int exact;
	double distinct;

	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		tp_column_profile *cp = &p->cols[j];
		cp->auc = cp->auc_bound = NAN;
		cp->present = cp->missing = cp->categories = cp->unseen = 0;
		if (c->kind == TP_KIND_NUMERIC) {
			tp_sketch_sort(&cp->values);
			for (size_t i = 0; i < cp->values.n; i++)
				cp->present += tp_sketch_total(&cp->values.bin[i]);
			cp->missing = cp->missing_by[0] + cp->missing_by[1] +
			    cp->missing_by[2];
			if (cp->present > 0)
				moments(cp, c);
			else {
				cp->min = INFINITY;
				cp->max = -INFINITY;
				cp->mean = cp->std = 0;
			}
			cp->constant = cp->present == 0 ||
			    (cp->missing == 0 && cp->zmin == cp->zmax);
			numeric_auc(cp);
		} else if (c->kind == TP_KIND_CATEGORICAL) {
			size_t nv = c->vocab.n + 1, distinct_v = 0;
			double *rate = malloc(nv * sizeof(*rate));
			uint64_t *pos = cp->count[2], *neg = cp->count[1];
			if (rate == NULL)
				return tp_err_nomem(e, "a profile");
			for (size_t v = 0; v < nv; v++) {
				uint64_t n = cp->count[0][v] + neg[v] + pos[v];
				if (v > 0)
					cp->categories += n > 0;
				distinct_v += n > 0;
				if (v == 0)
					cp->missing = n - p->unseen[c->slot];
				rate[v] = neg[v] + pos[v] ?
				    (double)pos[v] / (double)(neg[v] + pos[v]) : 0;
			}
			cp->unseen = p->unseen[c->slot];
			cp->present = p->rows - cp->missing;
			cp->constant = distinct_v <= 1;
			double auc = tp_roc_auc_grouped(rate, pos, neg, nv, e);
			free(rate);
			if (auc < 0)
				return e->code;
			cp->auc = isnan(auc) ? auc : fmax(auc, 1 - auc);
			cp->auc_bound = isnan(auc) ? auc : 0;
		}
	}
	distinct = tp_distinct_count(&p->distinct, &exact, &p->duplicates_stderr, e);
	p->duplicates_exact = exact;
	p->duplicates = distinct >= (double)p->rows ? 0 :
	    p->rows - (uint64_t)llround(distinct);
	/* Of the rate: the distinct rows' relative error, over the rows. */
	p->duplicates_stderr = p->rows ?
	    p->duplicates_stderr * distinct / (double)p->rows : 0;
	if (p->scored)
		tp_sketch_sort(&p->score);
	return TP_OK;
}

int
tp_profile_read(tp_profile *p, tp_shard_reader *r, tp_profile_block_fn *fn,
    void *ctx, tp_err *e)
{
	const tp_encoding *enc = tp_shard_reader_encoding(r);
	tp_batch b = {0};
	tp_sha256 sha;
	unsigned char d[32];
	long got;
	int rc;

	tp_sha256_init(&sha);
	if ((rc = tp_batch_init(&b, enc->ncat, enc->nnum, TP_STREAM_BLOCK_ROWS,
	    e)) != TP_OK)
		return rc;
	for (;;) {
		b.n = 0;
		if ((got = tp_shard_read(r, &b, TP_STREAM_BLOCK_ROWS, e)) <= 0)
			break;
		tp_partial_hash_rows(&sha, &b, 0);
		if ((rc = tp_profile_add(p, &b, 0, e)) != TP_OK ||
		    (fn != NULL && (rc = fn(ctx, p, &b, e)) != TP_OK))
			goto out;
	}
	if (got < 0) {
		rc = e->code;
		goto out;
	}
	tp_sha256_final(&sha, d);
	tp_sha256_hex(d, p->fingerprint);
	/* A shard's unseen values are not told apart from its missing ones:
	 * the stream counts them by file. */
	rc = tp_profile_set_unseen(p, tp_shard_reader_unseen(r), e);
out:
	tp_batch_free(&b);
	return rc;
}

int
tp_profile_stream(tp_profile *p, tp_shard_reader *r, tp_err *e)
{
	int rc;

	if ((rc = tp_profile_init(p, tp_shard_reader_encoding(r), e)) != TP_OK)
		return rc;
	if ((rc = tp_profile_read(p, r, NULL, NULL, e)) != TP_OK ||
	    (rc = tp_profile_finish(p, e)) != TP_OK)
		tp_profile_free(p);
	return rc;
}

/* A float, or null for an infinity (no value). */
static int
float_json(cJSON *o, const char *key, float x)
{
	return tp_partial_add_number(o, key, x);
}

static int
float_parse(const cJSON *o, const char *key, float *x, float none,
    const char *where, tp_err *e)
{
	double v;
	int rc;

	if ((rc = tp_partial_double(o, key, &v, where, e)) != TP_OK)
		return rc;
	if (!isnan(v) && (float)v != v)
		return tp_err_set(e, TP_EDATA, "%s: \"%s\" is not a float", where, key);
	*x = isnan(v) ? none : (float)v;
	return TP_OK;
}

static int
text_json(cJSON *o, const char *key, char *text)
{
	int ok = text != NULL && cJSON_AddStringToObject(o, key, text) != NULL;

	free(text);
	return ok;
}

static int
column_json(const tp_profile *p, int j, cJSON *cols)
{
	const tp_column *c = &p->enc->cols[j];
	const tp_column_profile *cp = &p->cols[j];
	cJSON *o = cJSON_CreateObject(), *a;
	int ok = o != NULL;

	if (!ok)
		return 0;
	cJSON_AddItemToArray(cols, o);
	ok = cJSON_AddStringToObject(o, "name", c->name) != NULL;
	if (c->kind == TP_KIND_CATEGORICAL) {
		ok = ok && (a = cJSON_AddArrayToObject(o, "counts")) != NULL;
		for (int l = 0; ok && l < 3; l++) {
			cJSON *n = tp_partial_counts(cp->count[l], c->vocab.n + 1);
			ok = n != NULL;
			if (ok)
				cJSON_AddItemToArray(a, n);
		}
		return ok;
	}
	ok = ok && tp_partial_add_counts(o, "missing", cp->missing_by, 3);
	ok = ok && float_json(o, "min", cp->zmin) && float_json(o, "max", cp->zmax);
	ok = ok && tp_partial_add_xsum(o, "sum", &cp->zsum) &&
	    tp_partial_add_xsum(o, "sum2", &cp->zsum2);
	return ok && text_json(o, "values", tp_sketch_format(&cp->values));
}

int
tp_profile_json(const tp_profile *p, cJSON *o)
{
	const tp_encoding *enc = p->enc;
	cJSON *cols, *s;
	int ok = cJSON_AddItemToObject(o, "encoding", tp_encoding_to_json(enc));

	ok = ok && tp_partial_add_number(o, "rows", (double)p->rows);
	ok = ok && tp_partial_add_number(o, "positive", (double)p->positive);
	ok = ok && tp_partial_add_number(o, "negative", (double)p->negative);
	ok = ok && tp_partial_add_number(o, "unlabelled", (double)p->unlabelled);
	ok = ok && (p->unseen_known ? tp_partial_add_counts(o, "unseen", p->unseen,
	    (size_t)enc->ncat) : cJSON_AddNullToObject(o, "unseen") != NULL);
	ok = ok && text_json(o, "rows_distinct", tp_distinct_format(&p->distinct));
	ok = ok && (cols = cJSON_AddArrayToObject(o, "columns")) != NULL;
	for (int j = 0; ok && j < enc->ncols; j++)
		if (enc->cols[j].kind == TP_KIND_NUMERIC ||
		    enc->cols[j].kind == TP_KIND_CATEGORICAL)
			ok = column_json(p, j, cols);
	if (!ok || !p->scored)
		return ok && cJSON_AddNullToObject(o, "score") != NULL;
	ok = (s = cJSON_AddObjectToObject(o, "score")) != NULL;
	ok = ok && tp_partial_add_number(s, "rows", (double)p->score_rows);
	ok = ok && float_json(s, "min", p->score_min) &&
	    float_json(s, "max", p->score_max);
	return ok && text_json(s, "values", tp_sketch_format(&p->score));
}

static int
column_parse(tp_profile *p, int j, const cJSON *o, const char *where,
    tp_err *e)
{
	const tp_column *c = &p->enc->cols[j];
	tp_column_profile *cp = &p->cols[j];
	const char *name = tp_partial_string(o, "name", where, e), *text;
	const cJSON *a;
	int rc, l = 0;

	if (name == NULL)
		return TP_EDATA;
	if (strcmp(name, c->name) != 0)
		return tp_err_set(e, TP_EDATA, "%s: column %s where its encoding has %s",
		    where, name, c->name);
	if (c->kind == TP_KIND_CATEGORICAL) {
		if ((a = tp_partial_member(o, "counts", where, e)) == NULL)
			return TP_EDATA;
		if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3)
			return tp_err_set(e, TP_EDATA, "%s: column %s: expected 3 lists of counts",
			    where, name);
		for (const cJSON *x = a->child; x != NULL; x = x->next, l++) {
			const char *bad = tp_partial_counts_of(x, cp->count[l], c->vocab.n + 1);
			if (bad != NULL)
				return tp_err_set(e, TP_EDATA, "%s: column %s: counts: %s",
				    where, name, bad);
		}
		return TP_OK;
	}
	if ((rc = tp_partial_get_counts(o, "missing", cp->missing_by, 3, where, e)) != TP_OK ||
	    (rc = float_parse(o, "min", &cp->zmin, INFINITY, where, e)) != TP_OK ||
	    (rc = float_parse(o, "max", &cp->zmax, -INFINITY, where, e)) != TP_OK)
		return rc;
	if ((rc = tp_partial_get_xsum(o, "sum", &cp->zsum, where, e)) != TP_OK ||
	    (rc = tp_partial_get_xsum(o, "sum2", &cp->zsum2, where, e)) != TP_OK)
		return tp_err_prefix(e, "column %s", name);
	if ((text = tp_partial_string(o, "values", where, e)) == NULL)
		return TP_EDATA;
	tp_sketch_free(&cp->values);
	if ((rc = tp_sketch_parse(&cp->values, text, e)) != TP_OK)
		return tp_err_prefix(e, "%s: column %s", where, name);
	if (cp->values.max != TP_PROFILE_SKETCH_BINS)
		return tp_err_set(e, TP_EDATA, "%s: column %s: a sketch of %zu bins, not %d",
		    where, name, cp->values.max, TP_PROFILE_SKETCH_BINS);
	return TP_OK;
}

int
tp_profile_parse(tp_profile *p, const cJSON *o, const char *where, tp_err *e)
{
	tp_encoding own = {0};
	const cJSON *m, *col;
	const char *text;
	uint64_t labelled = 0;
	int rc, j = 0;

	memset(p, 0, sizeof(*p));
	if ((m = tp_partial_member(o, "encoding", where, e)) == NULL)
		return TP_EDATA;
	if ((rc = tp_encoding_from_json(&own, m, where, e)) != TP_OK)
		return rc;
	if ((rc = tp_profile_init(p, &own, e)) != TP_OK) {
		tp_encoding_free(&own);
		return rc;
	}
	p->own = own;
	p->enc = &p->own;
	if ((rc = tp_partial_u64(o, "rows", &p->rows, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(o, "positive", &p->positive, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(o, "negative", &p->negative, where, e)) != TP_OK ||
	    (rc = tp_partial_u64(o, "unlabelled", &p->unlabelled, where, e)) != TP_OK ||
	    (m = tp_partial_member(o, "unseen", where, e)) == NULL ||
	    (text = tp_partial_string(o, "rows_distinct", where, e)) == NULL ||
	    (col = tp_partial_member(o, "columns", where, e)) == NULL) {
		rc = rc != TP_OK ? rc : TP_EDATA;
		goto fail;
	}
	p->unseen_known = !cJSON_IsNull(m);
	if (p->unseen_known && (rc = tp_partial_get_counts(o, "unseen", p->unseen,
	    (size_t)p->enc->ncat, where, e)) != TP_OK)
		goto fail;
	tp_distinct_free(&p->distinct);
	if ((rc = tp_distinct_parse(&p->distinct, text, e)) != TP_OK) {
		tp_err_prefix(e, "%s", where);
		goto fail;
	}
	if (p->distinct.k != TP_PROFILE_DISTINCT) {
		rc = tp_err_set(e, TP_EDATA, "%s: a distinct count of %zu hashes, not %d",
		    where, p->distinct.k, TP_PROFILE_DISTINCT);
		goto fail;
	}
	m = col;
	col = cJSON_IsArray(m) ? m->child : NULL;
	for (int k = 0; k < p->enc->ncols; k++) {
		enum tp_kind kind = p->enc->cols[k].kind;
		if (kind != TP_KIND_NUMERIC && kind != TP_KIND_CATEGORICAL)
			continue;
		if (col == NULL) {
			rc = tp_err_set(e, TP_EDATA, "%s: fewer columns than its encoding's features",
			    where);
			goto fail;
		}
		if ((rc = column_parse(p, k, col, where, e)) != TP_OK)
			goto fail;
		col = col->next;
		j++;
	}
	if (col != NULL || !cJSON_IsArray(m)) {
		rc = tp_err_set(e, TP_EDATA, "%s: its columns are not its encoding's %d features",
		    where, j);
		goto fail;
	}
	/* The counts of one set of rows agree with each other. */
	labelled = p->positive + p->negative;
	for (int k = 0; k < p->enc->ncols; k++) {
		const tp_column_profile *cp = &p->cols[k];
		uint64_t n = cp->missing_by[0] + cp->missing_by[1] + cp->missing_by[2];
		uint64_t lab = cp->missing_by[1] + cp->missing_by[2];
		if (p->enc->cols[k].kind == TP_KIND_CATEGORICAL)
			for (size_t v = 0; v <= p->enc->cols[k].vocab.n; v++) {
				n += cp->count[0][v] + cp->count[1][v] + cp->count[2][v];
				lab += cp->count[1][v] + cp->count[2][v];
			}
		for (size_t i = 0; i < cp->values.n; i++) {
			n += tp_sketch_total(&cp->values.bin[i]);
			lab += cp->values.bin[i].count[1] + cp->values.bin[i].count[2];
		}
		if ((p->enc->cols[k].kind == TP_KIND_NUMERIC ||
		    p->enc->cols[k].kind == TP_KIND_CATEGORICAL) &&
		    (n != p->rows || lab != labelled)) {
			rc = tp_err_set(e, TP_EDATA,
			    "%s: column %s counts %" PRIu64 " rows, the profile %" PRIu64,
			    where, p->enc->cols[k].name, n, p->rows);
			goto fail;
		}
	}
	if (p->positive + p->negative + p->unlabelled != p->rows) {
		rc = tp_err_set(e, TP_EDATA, "%s: its classes do not sum to its rows",
		    where);
		goto fail;
	}
	if ((m = tp_partial_member(o, "score", where, e)) == NULL) {
		rc = TP_EDATA;
		goto fail;
	}
	if (cJSON_IsNull(m))
		return TP_OK;
	if ((rc = tp_profile_add_scores(p, NULL, NULL, 0, e)) != TP_OK ||
	    (rc = tp_partial_u64(m, "rows", &p->score_rows, where, e)) != TP_OK ||
	    (rc = float_parse(m, "min", &p->score_min, INFINITY, where, e)) != TP_OK ||
	    (rc = float_parse(m, "max", &p->score_max, -INFINITY, where, e)) != TP_OK)
		goto fail;
	if ((text = tp_partial_string(m, "values", where, e)) == NULL) {
		rc = TP_EDATA;
		goto fail;
	}
	tp_sketch_free(&p->score);
	if ((rc = tp_sketch_parse(&p->score, text, e)) != TP_OK) {
		tp_err_prefix(e, "%s: score", where);
		goto fail;
	}
	return TP_OK;
fail:
	tp_profile_free(p);
	return rc;
}

int
tp_profile_fold(void *ctx, const cJSON *member, int first, const char *path,
    tp_err *e)
{
	tp_profile *whole = ctx, part;
	int rc;

	if (first)
		return tp_profile_parse(whole, member, path, e);
	if ((rc = tp_profile_parse(&part, member, path, e)) != TP_OK)
		return rc;
	if ((rc = tp_profile_merge(whole, &part, e)) != TP_OK)
		tp_err_prefix(e, "%s", path);
	tp_profile_free(&part);
	return rc;
}

static double
rate(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

/* Adds one check to the report; returns whether it passed. */
static int
check(cJSON *checks, const char *name, const char *column, double value,
    const char *op, double limit)
{
	int passed = strcmp(op, "<=") == 0 ? value <= limit : value >= limit;
	cJSON *c = cJSON_CreateObject();

	cJSON_AddItemToArray(checks, c);
	cJSON_AddStringToObject(c, "check", name);
	if (column != NULL)
		cJSON_AddStringToObject(c, "column", column);
	cJSON_AddNumberToObject(c, "value", value);
	cJSON_AddStringToObject(c, "limit", op);
	cJSON_AddNumberToObject(c, "threshold", limit);
	cJSON_AddBoolToObject(c, "passed", passed);
	return passed;
}

static void
add_number(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *
tp_profile_report(const tp_profile *p, const tp_limits *l, int *passed)
{
	const tp_encoding *enc = p->enc;
	cJSON *root = cJSON_CreateObject(), *cols, *checks, *o;
	uint64_t labelled = p->positive + p->negative;
	long constant = 0;
	int ok = 1;

	if (root == NULL)
		return NULL;
	cJSON_AddNumberToObject(root, "rows", (double)p->rows);
	o = cJSON_AddObjectToObject(root, "class_balance");
	cJSON_AddNumberToObject(o, "positive", (double)p->positive);
	cJSON_AddNumberToObject(o, "negative", (double)p->negative);
	cJSON_AddNumberToObject(o, "unlabelled", (double)p->unlabelled);
	add_number(o, "positive_rate", labelled ? rate(p->positive, labelled) : NAN);
	o = cJSON_AddObjectToObject(root, "duplicates");
	cJSON_AddNumberToObject(o, "rows", (double)p->duplicates);
	cJSON_AddNumberToObject(o, "rate", rate(p->duplicates, p->rows));
	cJSON_AddBoolToObject(o, "exact", p->duplicates_exact);
	cJSON_AddNumberToObject(o, "rate_stderr", p->duplicates_stderr);
	cols = cJSON_AddArrayToObject(root, "columns");
	checks = cJSON_AddArrayToObject(root, "checks");
	ok &= check(checks, "rows", NULL, (double)p->rows, ">=",
	    (double)l->min_rows);
	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		const tp_column_profile *cp = &p->cols[j];
		if (c->kind != TP_KIND_NUMERIC && c->kind != TP_KIND_CATEGORICAL)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(cols, o);
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "kind", tp_kind_name(c->kind));
		cJSON_AddNumberToObject(o, "count", (double)cp->present);
		cJSON_AddNumberToObject(o, "missing_rate", rate(cp->missing, p->rows));
		if (c->kind == TP_KIND_NUMERIC) {
			add_number(o, "min", cp->present ? cp->min : NAN);
			add_number(o, "max", cp->present ? cp->max : NAN);
			add_number(o, "mean", cp->present ? cp->mean : NAN);
			add_number(o, "std", cp->present ? cp->std : NAN);
		} else {
			cJSON_AddNumberToObject(o, "categories", (double)cp->categories);
			add_number(o, "unseen_rate", p->unseen_known ?
			    rate(cp->unseen, p->rows) : NAN);
			if (p->unseen_known)
				ok &= check(checks, "unseen", c->name,
				    rate(cp->unseen, p->rows), "<=", l->max_unseen);
		}
		cJSON_AddBoolToObject(o, "constant", cp->constant);
		add_number(o, "auc", cp->auc);
		add_number(o, "auc_error_bound", cp->auc_bound);
		constant += cp->constant;
		ok &= check(checks, "missing", c->name, rate(cp->missing, p->rows),
		    "<=", l->max_missing);
		if (!isnan(cp->auc))
			ok &= check(checks, "leakage", c->name, cp->auc, "<=",
			    l->max_auc);
	}
	ok &= check(checks, "constant", NULL, (double)constant, "<=",
	    (double)l->max_constant);
	ok &= check(checks, "duplicates", NULL, rate(p->duplicates, p->rows),
	    "<=", l->max_duplicates);
	if (enc->target_col >= 0 && labelled > 0) {
		uint64_t minority = p->positive < p->negative ? p->positive :
		    p->negative;
		ok &= check(checks, "class_balance", NULL, rate(minority, labelled),
		    ">=", l->min_minority);
	}
	cJSON_AddBoolToObject(root, "passed", ok);
	*passed = ok;
	return root;
}
