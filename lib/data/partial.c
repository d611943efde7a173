#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/partial.h"

int
tp_partial_init(tp_partial *p, const char *kind, const char *encoding,
    const char *model, uint64_t rows, const char *fingerprint,
    const char *source, tp_err *e)
{
	cJSON *part;

	memset(p, 0, sizeof(*p));
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	snprintf(p->encoding, sizeof(p->encoding), "%s", encoding);
	snprintf(p->model, sizeof(p->model), "%s", model ? model : "");
	p->rows = rows;
	if ((p->parts = cJSON_CreateArray()) == NULL ||
	    (part = cJSON_CreateObject()) == NULL)
		goto nomem;
	cJSON_AddItemToArray(p->parts, part);
	if (cJSON_AddStringToObject(part, "fingerprint", fingerprint) == NULL ||
	    !tp_partial_add_number(part, "rows", (double)rows) ||
	    cJSON_AddStringToObject(part, "source", source) == NULL)
		goto nomem;
	return TP_OK;
nomem:
	tp_partial_free(p);
	return tp_err_nomem(e, "a partial");
}

void
tp_partial_free(tp_partial *p)
{
	if (p == NULL)
		return;
	cJSON_Delete(p->parts);
	memset(p, 0, sizeof(*p));
}

int
tp_partial_merge(tp_partial *into, const tp_partial *from, const char *what,
    const char *with, tp_err *e)
{
	const cJSON *part;

	if (strcmp(into->kind, from->kind) != 0)
		return tp_err_set(e, TP_EDATA, "%s: a partial of %s, %s of %s: they do not merge",
		    what, from->kind, with, into->kind);
	if (strcmp(into->encoding, from->encoding) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: of data encoded with %.12s..., %s with %.12s...: partials of one encoding merge",
		    what, from->encoding, with, into->encoding);
	if (strcmp(into->model, from->model) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: of the scores of %s%.12s%s, %s of %s%.12s%s: partials of one model merge",
		    what, from->model[0] ? "model " : "no model",
		    from->model, from->model[0] ? "..." : "", with,
		    into->model[0] ? "model " : "no model", into->model,
		    into->model[0] ? "..." : "");
	cJSON_ArrayForEach(part, from->parts) {
		cJSON *copy = cJSON_Duplicate(part, 1);
		if (copy == NULL)
			return tp_err_nomem(e, "a partial");
		cJSON_AddItemToArray(into->parts, copy);
	}
	into->rows += from->rows;
	return TP_OK;
}

void
tp_partial_fingerprint(const tp_partial *p, char out[65])
{
	const cJSON *part, *fp;
	tp_sha256 s;
	unsigned char d[32];

	if (cJSON_GetArraySize(p->parts) == 1) {
		fp = cJSON_GetObjectItem(cJSON_GetArrayItem(p->parts, 0),
		    "fingerprint");
		snprintf(out, 65, "%s", cJSON_GetStringValue(fp));
		return;
	}
	tp_sha256_init(&s);
	cJSON_ArrayForEach(part, p->parts) {
		const char *hex = cJSON_GetStringValue(cJSON_GetObjectItem(part,
		    "fingerprint"));
		tp_sha256_update(&s, hex, strlen(hex));
	}
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, out);
}

cJSON *
tp_partial_json(const tp_partial *p)
{
	cJSON *j = cJSON_CreateObject(), *parts = cJSON_Duplicate(p->parts, 1);
	int ok = j != NULL && parts != NULL;

	ok = ok && cJSON_AddStringToObject(j, "format", TP_PARTIAL_FORMAT) != NULL;
	ok = ok && cJSON_AddNumberToObject(j, "version", TP_PARTIAL_VERSION) != NULL;
	ok = ok && cJSON_AddStringToObject(j, "kind", p->kind) != NULL;
	ok = ok && cJSON_AddStringToObject(j, "encoding", p->encoding) != NULL;
	ok = ok && (p->model[0] ? cJSON_AddStringToObject(j, "model", p->model) :
	    cJSON_AddNullToObject(j, "model")) != NULL;
	ok = ok && tp_partial_add_number(j, "rows", (double)p->rows);
	if (ok) {
		cJSON_AddItemToObject(j, "parts", parts);
		return j;
	}
	cJSON_Delete(parts);
	cJSON_Delete(j);
	return NULL;
}

cJSON *
tp_partial_number(double v)
{
	char buf[32];

	if (!isfinite(v))
		return cJSON_CreateNull();
	snprintf(buf, sizeof(buf), "%.17g", v);
	return cJSON_CreateRaw(buf);
}

int
tp_partial_add_number(cJSON *o, const char *key, double v)
{
	cJSON *n = tp_partial_number(v);

	return n != NULL && cJSON_AddItemToObject(o, key, n);
}

const cJSON *
tp_partial_member(const cJSON *o, const char *key, const char *where,
    tp_err *e)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	if (m == NULL)
		tp_err_set(e, TP_EDATA, "%s: no member \"%s\"", where, key);
	return m;
}

/* The number item holds, also as the raw text tp_partial_number makes
 * (in a document not yet printed); NaN when it holds none. */
static double
number_of(const cJSON *item)
{
	char *end;
	double x;

	if (cJSON_IsNumber(item))
		return item->valuedouble;
	if (!cJSON_IsRaw(item))
		return NAN;
	x = strtod(item->valuestring, &end);
	return end != item->valuestring && *end == '\0' ? x : NAN;
}

int
tp_partial_double(const cJSON *o, const char *key, double *v,
    const char *where, tp_err *e)
{
	const cJSON *m = tp_partial_member(o, key, where, e);

	if (m == NULL)
		return TP_EDATA;
	if (cJSON_IsNull(m)) {
		*v = NAN;
		return TP_OK;
	}
	if (isnan(*v = number_of(m)))
		return tp_err_set(e, TP_EDATA, "%s: \"%s\" is not a number", where,
		    key);
	return TP_OK;
}

int
tp_partial_count(const cJSON *item, uint64_t *v)
{
	double x = number_of(item);

	/* No greater than 2^53, which a double holds exactly. */
	if (!(x >= 0 && x <= 9007199254740992.0) || x != floor(x))
		return -1;
	*v = (uint64_t)x;
	return 0;
}

int
tp_partial_u64(const cJSON *o, const char *key, uint64_t *v,
    const char *where, tp_err *e)
{
	const cJSON *m = tp_partial_member(o, key, where, e);

	if (m == NULL)
		return TP_EDATA;
	if (tp_partial_count(m, v) < 0)
		return tp_err_set(e, TP_EDATA, "%s: \"%s\" is not a count", where,
		    key);
	return TP_OK;
}

const char *
tp_partial_string(const cJSON *o, const char *key, const char *where,
    tp_err *e)
{
	const cJSON *m = tp_partial_member(o, key, where, e);

	if (m != NULL && !cJSON_IsString(m)) {
		tp_err_set(e, TP_EDATA, "%s: \"%s\" is not a string", where, key);
		return NULL;
	}
	return m != NULL ? m->valuestring : NULL;
}

/* A fingerprint: 64 lower-case hex digits. */
static int
is_hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && s[n] == '\0';
}

int
tp_partial_read(const char *path, const char *kind, tp_partial *p,
    cJSON **json, tp_err *e)
{
	char *text = NULL;
	size_t len;
	cJSON *j;
	const cJSON *m, *part;
	const char *s;
	double version = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	*json = NULL;
	if ((rc = tp_read_file(path, &text, &len, e)) != TP_OK)
		return rc;
	j = cJSON_ParseWithLength(text, len);
	free(text);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return tp_err_set(e, TP_EDATA,
		    "%s: not a partial: no JSON object (tabpipe-partial(5))", path);
	}
	m = cJSON_GetObjectItemCaseSensitive(j, "format");
	if (!cJSON_IsString(m) || strcmp(m->valuestring, TP_PARTIAL_FORMAT) != 0) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: not a partial: its format is not \"%s\" (write one with --partial)",
		    path, TP_PARTIAL_FORMAT);
		goto fail;
	}
	if ((rc = tp_partial_double(j, "version", &version, path, e)) != TP_OK)
		goto fail;
	if (version != TP_PARTIAL_VERSION) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: a partial of version %g: this tabpipe reads version %d: make it again with this tabpipe",
		    path, version, TP_PARTIAL_VERSION);
		goto fail;
	}
	if ((s = tp_partial_string(j, "kind", path, e)) == NULL) {
		rc = TP_EDATA;
		goto fail;
	}
	if (strcmp(s, kind) != 0) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: a partial of %s, not of %s: give each tool its own partials",
		    path, s, kind);
		goto fail;
	}
	snprintf(p->kind, sizeof(p->kind), "%s", s);
	if ((s = tp_partial_string(j, "encoding", path, e)) == NULL ||
	    !is_hex64(s)) {
		rc = tp_err_set(e, TP_EDATA, "%s: its encoding is not a fingerprint",
		    path);
		goto fail;
	}
	snprintf(p->encoding, sizeof(p->encoding), "%s", s);
	m = tp_partial_member(j, "model", path, e);
	if (m == NULL || !(cJSON_IsNull(m) || (cJSON_IsString(m) &&
	    is_hex64(m->valuestring)))) {
		rc = tp_err_set(e, TP_EDATA, "%s: its model is neither null nor a SHA-256",
		    path);
		goto fail;
	}
	if (cJSON_IsString(m))
		snprintf(p->model, sizeof(p->model), "%s", m->valuestring);
	if ((rc = tp_partial_u64(j, "rows", &p->rows, path, e)) != TP_OK)
		goto fail;
	m = cJSON_GetObjectItemCaseSensitive(j, "parts");
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1) {
		rc = tp_err_set(e, TP_EDATA, "%s: no parts", path);
		goto fail;
	}
	cJSON_ArrayForEach(part, m) {
		uint64_t rows;
		s = cJSON_GetStringValue(cJSON_GetObjectItem(part, "fingerprint"));
		if (s == NULL || !is_hex64(s) ||
		    tp_partial_u64(part, "rows", &rows, path, e) != TP_OK ||
		    !cJSON_IsString(cJSON_GetObjectItem(part, "source"))) {
			rc = tp_err_set(e, TP_EDATA,
			    "%s: a part without its fingerprint, rows and source", path);
			goto fail;
		}
	}
	if ((p->parts = cJSON_Duplicate(m, 1)) == NULL) {
		rc = tp_err_nomem(e, "a partial");
		goto fail;
	}
	*json = j;
	return TP_OK;
fail:
	cJSON_Delete(j);
	return rc;
}

cJSON *
tp_partial_counts(const uint64_t *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		cJSON *x = tp_partial_number((double)v[i]);
		if (x == NULL) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

int
tp_partial_add_counts(cJSON *o, const char *key, const uint64_t *v, size_t n)
{
	cJSON *a = tp_partial_counts(v, n);

	return a != NULL && cJSON_AddItemToObject(o, key, a);
}

int
tp_partial_add_xsum(cJSON *o, const char *key, const tp_xsum *x)
{
	char buf[TP_XSUM_TEXT];

	tp_xsum_format(x, buf);
	return cJSON_AddStringToObject(o, key, buf) != NULL;
}

const char *
tp_partial_counts_of(const cJSON *a, uint64_t *v, size_t n)
{
	const cJSON *x;
	size_t i = 0;

	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
		return "not as many counts as expected";
	cJSON_ArrayForEach(x, a)
		if (tp_partial_count(x, &v[i++]) < 0)
			return "not a count";
	return NULL;
}

int
tp_partial_get_counts(const cJSON *o, const char *key, uint64_t *v, size_t n,
    const char *where, tp_err *e)
{
	const cJSON *a = tp_partial_member(o, key, where, e);
	const char *bad;

	if (a == NULL)
		return TP_EDATA;
	if ((bad = tp_partial_counts_of(a, v, n)) != NULL)
		return tp_err_set(e, TP_EDATA, "%s: \"%s\": %s", where, key, bad);
	return TP_OK;
}

int
tp_partial_get_xsum(const cJSON *o, const char *key, tp_xsum *x,
    const char *where, tp_err *e)
{
	const char *s = tp_partial_string(o, key, where, e);

	if (s == NULL)
		return TP_EDATA;
	if (tp_xsum_parse(x, s) < 0)
		return tp_err_set(e, TP_EDATA, "%s: \"%s\": not an exact sum", where,
		    key);
	return TP_OK;
}

int
tp_partial_fold(char *const *paths, int n, const char *kind, tp_partial *env,
    tp_partial_fold_fn *fn, void *ctx, tp_err *e)
{
	int rc = TP_OK;

	memset(env, 0, sizeof(*env));
	for (int i = 0; i < n && rc == TP_OK; i++) {
		tp_partial pe;
		cJSON *doc;
		const cJSON *member;
		if ((rc = tp_partial_read(paths[i], kind, &pe, &doc, e)) != TP_OK)
			return rc;
		if ((member = tp_partial_member(doc, kind, paths[i], e)) == NULL)
			rc = TP_EDATA;
		else if (i > 0)
			rc = tp_partial_merge(env, &pe, paths[i], paths[0], e);
		if (rc == TP_OK && (rc = fn(ctx, member, i == 0, paths[i], e)) == TP_OK &&
		    i == 0) {
			*env = pe;
			memset(&pe, 0, sizeof(pe));
		}
		tp_partial_free(&pe);
		cJSON_Delete(doc);
	}
	return rc;
}

void
tp_partial_hash_rows(tp_sha256 *s, const tp_batch *b, size_t from)
{
	size_t nc = (size_t)b->ncat, nn = (size_t)b->nnum;

	for (size_t i = from; i < b->n; i++) {
		tp_sha256_update(s, &b->id[i], sizeof(*b->id));
		tp_sha256_update(s, b->cat + i * nc, nc * sizeof(*b->cat));
		tp_sha256_update(s, b->num + i * nn, nn * sizeof(*b->num));
		tp_sha256_update(s, &b->label[i], sizeof(*b->label));
	}
}
