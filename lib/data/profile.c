#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "base/strmap.h"
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

/* A set of 64-bit row hashes, to count duplicates. */
typedef struct {
	uint64_t *slot;   /* 0 marks an empty slot; hashes are made nonzero */
	size_t n, cap;
} hashset;

/* Adds h; returns 1 if it was there already, -1 on no memory. */
static int
hashset_add(hashset *s, uint64_t h)
{
	h |= 1;
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slot[i] == 0)
				continue;
			size_t j = (size_t)s->slot[i] & (ncap - 1);
			while (ns[j] != 0)
				j = (j + 1) & (ncap - 1);
			ns[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = ns;
		s->cap = ncap;
	}
	size_t j = (size_t)h & (s->cap - 1);
	for (; s->slot[j] != 0; j = (j + 1) & (s->cap - 1))
		if (s->slot[j] == h)
			return 1;
	s->slot[j] = h;
	s->n++;
	return 0;
}

void
tp_profile_free(tp_profile *p)
{
	if (p == NULL)
		return;
	free(p->cols);
	memset(p, 0, sizeof(*p));
}

/* Per categorical feature: counts of each index, by label (-1, 0, 1). */
typedef struct {
	uint64_t *count[3];   /* (vocab + 1) */
} cat_counts;

int
tp_profile_stream(tp_profile *p, tp_shard_reader *r, tp_err *e)
{
	const tp_encoding *enc = tp_shard_reader_encoding(r);
	size_t nc = (size_t)enc->ncat, nn = (size_t)enc->nnum;
	tp_batch all = {0};
	cat_counts *cc = NULL;
	hashset seen = {0};
	int rc = TP_OK;
	long got;

	memset(p, 0, sizeof(*p));
	p->enc = enc;
	if ((p->cols = calloc((size_t)enc->ncols, sizeof(*p->cols))) == NULL ||
	    (cc = calloc(nc + 1, sizeof(*cc))) == NULL)
		return tp_err_nomem(e, "a profile");
	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		if (c->kind != TP_KIND_CATEGORICAL)
			continue;
		for (int l = 0; l < 3; l++)
			if ((cc[c->slot].count[l] = calloc(c->vocab.n + 1,
			    sizeof(uint64_t))) == NULL) {
				rc = tp_err_nomem(e, "a profile");
				goto out;
			}
	}
	/* The rows are kept for the numerics' exact AUC. */
	if ((rc = tp_batch_init(&all, (int)nc, (int)nn, TP_STREAM_BLOCK_ROWS,
	    e)) != TP_OK)
		goto out;
	while ((got = tp_shard_read(r, &all, TP_STREAM_BLOCK_ROWS, e)) > 0) {
		for (size_t i = all.n - (size_t)got; i < all.n; i++) {
			tp_row row = tp_batch_row(&all, i);
			uint64_t h = TP_HASH_SEED;
			h = tp_hash_bytes(row.cat, nc * sizeof(int32_t), h);
			h = tp_hash_bytes(row.num, nn * sizeof(float), h);
			h = tp_hash_bytes(row.label, 1, h);
			int dup = hashset_add(&seen, h);
			if (dup < 0) {
				rc = tp_err_nomem(e, "the duplicate check");
				goto out;
			}
			p->duplicates += (uint64_t)dup;
			for (size_t j = 0; j < nc; j++)
				cc[j].count[*row.label + 1][row.cat[j]]++;
		}
	}
	if (got < 0) {
		rc = e->code;
		goto out;
	}
	p->rows = all.n;
	for (size_t i = 0; i < all.n; i++) {
		p->positive += all.label[i] == 1;
		p->negative += all.label[i] == 0;
		p->unlabelled += all.label[i] < 0;
	}
	/* A shard's unseen values are not told apart from its missing ones:
	 * the stream counts them by file. */
	const uint64_t *unseen = tp_shard_reader_unseen(r);
	p->unseen_known = unseen != NULL;
	for (int j = 0; j < enc->ncols; j++) {
		const tp_column *c = &enc->cols[j];
		tp_column_profile *cp = &p->cols[j];
		cp->auc = NAN;
		if (c->kind == TP_KIND_NUMERIC) {
			double mean = 0, m2 = 0, zmin = INFINITY, zmax = -INFINITY;
			for (size_t i = 0; i < all.n; i++) {
				float z = all.num[i * nn + (size_t)c->slot];
				if (isnan(z)) {
					cp->missing++;
					continue;
				}
				double x = (double)z * c->std + c->mean, d = x - mean;
				mean += d / (double)++cp->present;
				m2 += d * (x - mean);
				zmin = fmin(zmin, z);
				zmax = fmax(zmax, z);
			}
			cp->mean = mean;
			cp->std = cp->present ? sqrt(m2 / (double)cp->present) : 0;
			/* The extremes as the CSV wrote them: 0, not -1.07e-08. */
			cp->min = cp->present ? tp_encoding_decode(c, zmin) : INFINITY;
			cp->max = cp->present ? tp_encoding_decode(c, zmax) :
			    -INFINITY;
			cp->constant = cp->present == 0 ||
			    (cp->missing == 0 && zmin == zmax);
			double auc = tp_roc_auc(all.num + c->slot, nn, all.label,
			    all.n, e);
			if (auc < 0) {
				rc = e->code;
				goto out;
			}
			cp->auc = isnan(auc) ? auc : fmax(auc, 1 - auc);
		} else if (c->kind == TP_KIND_CATEGORICAL) {
			const cat_counts *k = &cc[c->slot];
			size_t nv = c->vocab.n + 1, distinct = 0;
			double *rate = malloc(nv * sizeof(*rate));
			if (rate == NULL) {
				rc = tp_err_nomem(e, "a profile");
				goto out;
			}
			for (size_t v = 0; v < nv; v++) {
				uint64_t n = k->count[0][v] + k->count[1][v] +
				    k->count[2][v];
				if (v > 0)
					cp->categories += n > 0;
				distinct += n > 0;
				if (v == 0)
					cp->missing = n - (unseen ? unseen[c->slot] : 0);
				uint64_t l = k->count[1][v] + k->count[2][v];
				rate[v] = l ? (double)k->count[2][v] / (double)l : 0;
			}
			cp->unseen = unseen ? unseen[c->slot] : 0;
			cp->present = all.n - cp->missing;
			cp->constant = distinct <= 1;
			double auc = tp_roc_auc_grouped(rate, k->count[2],
			    k->count[1], nv, e);
			free(rate);
			if (auc < 0) {
				rc = e->code;
				goto out;
			}
			cp->auc = isnan(auc) ? auc : fmax(auc, 1 - auc);
		}
	}
out:
	for (size_t j = 0; cc != NULL && j < nc; j++)
		for (int l = 0; l < 3; l++)
			free(cc[j].count[l]);
	free(cc);
	free(seen.slot);
	tp_batch_free(&all);
	if (rc != TP_OK)
		tp_profile_free(p);
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
