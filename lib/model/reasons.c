#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "model/reasons.h"

void
tp_reasons_free(tp_reasons *r)
{
	if (r == NULL)
		return;
	for (int t = 0; r->feature != NULL && t < r->T; t++)
		free(r->feature[t]);
	for (int j = 0; r->value != NULL && j < r->ncat; j++) {
		for (int k = 0; r->value[j] != NULL && k < r->nvalues[j]; k++)
			free(r->value[j][k]);
		free(r->value[j]);
	}
	free(r->feature);
	free(r->value);
	free(r->nvalues);
	memset(r, 0, sizeof(*r));
}

static int
reasons_alloc(tp_reasons *r, const tp_encoding *enc, tp_err *e)
{
	memset(r, 0, sizeof(*r));
	r->ncat = enc->ncat;
	r->T = enc->ncat + enc->nnum;
	if ((r->feature = calloc((size_t)r->T + 1, sizeof(char *))) == NULL ||
	    (r->value = calloc((size_t)r->ncat + 1, sizeof(char **))) == NULL ||
	    (r->nvalues = calloc((size_t)r->ncat + 1, sizeof(int))) == NULL)
		goto nomem;
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if (c->kind != TP_KIND_CATEGORICAL)
			continue;
		r->nvalues[c->slot] = (int)c->vocab.n + 1;
		if ((r->value[c->slot] = calloc(c->vocab.n + 1,
		    sizeof(char *))) == NULL)
			goto nomem;
	}
	return TP_OK;
nomem:
	tp_reasons_free(r);
	return tp_err_nomem(e, "the reason codes");
}

/* The token of the feature named (s, len) in enc, or -1. */
static int
feature_token(const tp_encoding *enc, const char *s, size_t len,
    const tp_column **col)
{
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if ((c->kind == TP_KIND_CATEGORICAL || c->kind == TP_KIND_NUMERIC) &&
		    strlen(c->name) == len && memcmp(c->name, s, len) == 0) {
			*col = c;
			return c->kind == TP_KIND_CATEGORICAL ? c->slot :
			    enc->ncat + c->slot;
		}
	}
	return -1;
}

/* Adds one line: feature, value (empty: any) and text. */
static int
add(tp_reasons *r, const tp_encoding *enc, const tp_field f[3], tp_err *e)
{
	static const char *const what[3] = {"the feature", "the value",
	    "the reason"};
	const tp_column *col = NULL;
	char **slot;
	int rc, t;

	for (int i = 0; i < 3; i++)
		if ((rc = tp_field_check_text(&f[i], what[i], e)) != TP_OK)
			return rc;
	if ((t = feature_token(enc, f[0].s, f[0].len, &col)) < 0)
		return tp_err_set(e, TP_EDATA, "\"%.*s\" is not a feature of the model",
		    (int)(f[0].len > 80 ? 80 : f[0].len), f[0].s);
	if (f[2].len == 0)
		return tp_err_set(e, TP_EDATA, "%s: the reason is empty", col->name);
	if (f[2].len > TP_REASON_MAX)
		return tp_err_set(e, TP_EDATA,
		    "%s: the reason is %zu bytes, more than %d", col->name,
		    f[2].len, TP_REASON_MAX);
	if (f[1].len == 0)
		slot = &r->feature[t];
	else if (col->kind != TP_KIND_CATEGORICAL)
		return tp_err_set(e, TP_EDATA,
		    "%s is numeric: its reason takes no value", col->name);
	else {
		long k = tp_strmap_find(&col->vocab, f[1].s, f[1].len);
		if (k < 0)
			return tp_err_set(e, TP_EDATA,
			    "%s: \"%.*s\" is not in its vocabulary", col->name,
			    (int)(f[1].len > 80 ? 80 : f[1].len), f[1].s);
		slot = &r->value[t][k + 1];
	}
	if (*slot != NULL)
		return tp_err_set(e, TP_EDATA, "%s%s%.*s: given twice", col->name,
		    f[1].len ? " = " : "", (int)f[1].len, f[1].s);
	if ((*slot = strndup(f[2].s, f[2].len)) == NULL)
		return tp_err_nomem(e, "the reason codes");
	r->lines++;
	return TP_OK;
}

int
tp_reasons_read(tp_reasons *r, FILE *f, const char *name,
    const tp_encoding *enc, tp_err *e)
{
	static const char *const header[3] = {"feature", "value", "reason"};
	tp_csv *csv = NULL;
	int rc, got;

	if ((rc = reasons_alloc(r, enc, e)) != TP_OK)
		return rc;
	if ((rc = tp_csv_open(&csv, f, name, e)) != TP_OK)
		goto out;
	if ((got = tp_csv_next(csv, e)) <= 0) {
		rc = got < 0 ? e->code : tp_err_set(e, TP_EDATA,
		    "%s: empty: no header line", name);
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		const tp_field *h = tp_csv_fields(csv) + i;
		if (tp_csv_nfields(csv) != 3 || h->len != strlen(header[i]) ||
		    memcmp(h->s, header[i], h->len) != 0) {
			rc = tp_err_set(e, TP_EDATA,
			    "%s:%ld: the header must be feature,value,reason",
			    name, tp_csv_line(csv));
			goto out;
		}
	}
	while ((got = tp_csv_next(csv, e)) > 0) {
		if (tp_csv_nfields(csv) != 3)
			rc = tp_err_set(e, TP_EDATA,
			    "expected 3 fields (feature,value,reason), found %zu",
			    tp_csv_nfields(csv));
		else
			rc = add(r, enc, tp_csv_fields(csv), e);
		if (rc != TP_OK) {
			tp_err_prefix(e, "%s:%ld", name, tp_csv_line(csv));
			goto out;
		}
	}
	if (got < 0)
		rc = e->code;
out:
	tp_csv_close(csv);
	if (rc != TP_OK)
		tp_reasons_free(r);
	return rc;
}

int
tp_reasons_load(tp_reasons *r, const char *path, const tp_encoding *enc,
    tp_err *e)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		memset(r, 0, sizeof(*r));
		return tp_err_set(e, TP_ENOINPUT, "%s: %s", path, strerror(errno));
	}
	rc = tp_reasons_read(r, f, path, enc, e);
	fclose(f);
	return rc;
}

/* A string member of o as a field; a missing one is empty. */
static int
string_field(const cJSON *o, const char *name, tp_field *f)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);

	memset(f, 0, sizeof(*f));
	if (s == NULL)
		return 1;
	if (!cJSON_IsString(s))
		return 0;
	f->s = s->valuestring;
	f->len = strlen(s->valuestring);
	return 1;
}

int
tp_reasons_from_json(tp_reasons *r, const cJSON *json, const char *where,
    const tp_encoding *enc, tp_err *e)
{
	const cJSON *item;
	int rc, n = 0;

	if ((rc = reasons_alloc(r, enc, e)) != TP_OK)
		return rc;
	if (!cJSON_IsArray(json)) {
		tp_reasons_free(r);
		return tp_err_set(e, TP_EDATA, "%s: the reasons are not a JSON array",
		    where);
	}
	cJSON_ArrayForEach(item, json) {
		tp_field f[3];
		n++;
		if (!cJSON_IsObject(item) || !string_field(item, "feature", &f[0]) ||
		    !string_field(item, "value", &f[1]) ||
		    !string_field(item, "reason", &f[2]))
			rc = tp_err_set(e, TP_EDATA,
			    "not an object of strings feature, value, reason");
		else
			rc = add(r, enc, f, e);
		if (rc != TP_OK) {
			tp_err_prefix(e, "%s: reason %d", where, n);
			tp_reasons_free(r);
			return rc;
		}
	}
	return TP_OK;
}

/* Appends {"feature","value","reason"} to a; value may be NULL. */
static int
append(cJSON *a, const char *feature, const char *value, const char *text)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return -1;
	}
	if (cJSON_AddStringToObject(o, "feature", feature) == NULL ||
	    (value != NULL && cJSON_AddStringToObject(o, "value", value) == NULL) ||
	    cJSON_AddStringToObject(o, "reason", text) == NULL)
		return -1;
	return 0;
}

cJSON *
tp_reasons_to_json(const tp_reasons *r, const tp_encoding *enc)
{
	cJSON *a = cJSON_CreateArray();

	for (int i = 0; a != NULL && i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		int t = c->kind == TP_KIND_CATEGORICAL ? c->slot :
		    c->kind == TP_KIND_NUMERIC ? enc->ncat + c->slot : -1;
		if (t < 0)
			continue;
		if (r->feature[t] != NULL &&
		    append(a, c->name, NULL, r->feature[t]) < 0)
			goto nomem;
		for (int k = 1; t < r->ncat && k < r->nvalues[t]; k++)
			if (r->value[t][k] != NULL && append(a, c->name,
			    c->vocab.keys[k - 1], r->value[t][k]) < 0)
				goto nomem;
	}
	return a;
nomem:
	cJSON_Delete(a);
	return NULL;
}

const char *
tp_reasons_text(const tp_reasons *r, int t, int32_t idx)
{
	if (r == NULL || r->feature == NULL || t < 0 || t >= r->T)
		return NULL;
	if (t < r->ncat && idx > 0 && idx < r->nvalues[t] &&
	    r->value[t][idx] != NULL)
		return r->value[t][idx];
	return r->feature[t];
}
