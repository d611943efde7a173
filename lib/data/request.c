#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/number.h"
#include "base/text.h"
#include "data/request.h"

/* The text of a JSON number as a CSV field would hold it: the shortest
 * decimal that reads back as the same double. */
static void
number_text(double x, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", x);
	if (strtod(buf, NULL) != x)
		snprintf(buf, len, "%.17g", x);
}

static const char *
json_type(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "no JSON value";
}

/* Says in info what a refusal was, whose status rc and message e has
 * from tp_err_set: the code and the member concerned (NULL: none).
 * Returns rc. */
static int
refuse(tp_request_info *info, const char *code, const char *field, int rc)
{
	size_t n = field != NULL ? strlen(field) : 0;

	info->code = code;
	if (n >= sizeof(info->field)) {
		/* Cut at a character, not inside one's bytes. */
		n = sizeof(info->field) - 1;
		while (n > 0 && ((unsigned char)field[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(info->field, field != NULL ? field : "", n);
	info->field[n] = '\0';
	return rc;
}

/* Starts info for a new request: no refusal yet; a request without one
 * gets lax, not strict. */
static tp_request_info *
info_start(tp_request_info *info, tp_request_info *lax)
{
	if (info == NULL)
		info = lax;
	info->code = NULL;
	info->field[0] = '\0';
	info->item = -1;
	info->nunseen = 0;
	info->has_id = 0;
	return info;
}

/*
 * cJSON keeps a number as a double, which holds integers exactly up to
 * 2^53 only: an id's digits are read from the request's text. The text
 * has been parsed whole by cJSON, so it is well formed, and an object's
 * members stand in it in cJSON's order. Offsets, not pointers, walk it,
 * and every step is bounded by its length.
 */

/* Past the bytes that cJSON skips as space (every byte up to 32). */
static size_t
json_space(const char *t, size_t n, size_t i)
{
	while (i < n && (unsigned char)t[i] <= 32)
		i++;
	return i;
}

/* The end of the value (or key) that starts at i; n + 1 where the text
 * ends first. */
static size_t
json_skip(const char *t, size_t n, size_t i)
{
	int depth = 0;

	while (i < n) {
		char c = t[i];
		if (c == '"') {
			for (i++; i < n && t[i] != '"'; i++)
				if (t[i] == '\\')
					i++;
			if (i >= n)
				return n + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']' || c == ',' ||
		    (unsigned char)c <= 32) {
			if (depth == 0)
				return i;
			if (c == '}' || c == ']')
				depth--;
		}
		i++;
		if (depth == 0 && (c == '"' || c == '}' || c == ']'))
			return i;
	}
	return depth == 0 ? i : n + 1;
}

/* Where the value of member k (from 0) of the object that t holds
 * starts, and its length; -1 if the text says otherwise. */
static int
json_member(const char *t, size_t n, int k, size_t *at, size_t *len)
{
	size_t i = 0;

	if (n >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a byte order mark, which cJSON passes over */
	i = json_space(t, n, i);
	if (i >= n || t[i] != '{')
		return -1;
	for (int m = 0;; m++) {
		i = json_space(t, n, i + 1);
		if ((i = json_skip(t, n, i)) > n)
			return -1;
		i = json_space(t, n, i);
		if (i >= n || t[i] != ':')
			return -1;
		*at = i = json_space(t, n, i + 1);
		if ((i = json_skip(t, n, i)) > n)
			return -1;
		*len = i - *at;
		if (m == k)
			return 0;
		i = json_space(t, n, i);
		if (i >= n || t[i] != ',')
			return -1;
	}
}

/* The integer that the JSON number t[0..n) stands for, exactly: digits,
 * a fraction and an exponent all count, so 1e3 and 12.0 are integers and
 * 1.5 is not. Returns 0, or -1 when it is not an integer, -2 when it is
 * one out of int64's range. */
static int
json_integer(const char *t, size_t n, int64_t *out)
{
	char digits[24];
	size_t i = 0, nd = 0;
	long exp = 0;             /* the power of ten of digits' last */
	int neg = 0, any = 0, lost = 0;

	if (i < n && (t[i] == '-' || t[i] == '+'))
		neg = t[i++] == '-';
	/* The significant digits, the point moving the power of ten. */
	for (int frac = 0; i < n && (isdigit((unsigned char)t[i]) ||
	    (t[i] == '.' && !frac)); i++) {
		if (t[i] == '.') {
			frac = 1;
			continue;
		}
		any = 1;
		if (nd == 0 && t[i] == '0') {
			exp -= frac; /* a leading zero */
		} else if (nd < sizeof(digits)) {
			digits[nd++] = t[i];
			exp -= frac;
		} else {
			/* Past what an int64 could need: the integer part's
			 * digits are powers of ten, and none may be lost. */
			exp += !frac;
			lost |= t[i] != '0';
		}
	}
	if (!any)
		return -1;
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		long x = 0;
		int xneg = 0;
		if (++i < n && (t[i] == '-' || t[i] == '+'))
			xneg = t[i++] == '-';
		if (i >= n)
			return -1;
		for (; i < n && isdigit((unsigned char)t[i]); i++)
			if (x < 100000)
				x = x * 10 + (t[i] - '0');
		exp += xneg ? -x : x;
	}
	if (i != n)
		return -1;
	if (lost)
		return (long)nd + exp > 19 ? -2 : -1;
	/* Trailing zeros are powers of ten. */
	while (nd > 0 && digits[nd - 1] == '0') {
		nd--;
		exp++;
	}
	if (nd == 0) {
		*out = 0;
		return 0;
	}
	if (exp < 0)
		return -1;
	if ((long)nd + exp > 19)
		return -2;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	for (size_t d = 0; d < nd + (size_t)exp; d++) {
		unsigned digit = d < nd ? (unsigned)(digits[d] - '0') : 0;
		if (v > (lim - digit) / 10)
			return -2;
		v = v * 10 + digit;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* The id of member k, v, of the request t[0..n): an exact integer, or a
 * string, whose JSON text *text gets (to free), and whose row id is the
 * integer it holds if it holds one and the record's number otherwise;
 * null is no id. *exact is set for a number, whose text the log must
 * write again. */
static int
request_id(const char *t, size_t n, int k, const cJSON *v, int64_t *id,
    char **text, int *exact, tp_request_info *info, tp_err *e)
{
	const char *name = v->string;
	size_t at, len;
	int r;

	if (cJSON_IsNull(v))
		return TP_OK;
	if (!cJSON_IsNumber(v) && !cJSON_IsString(v))
		return refuse(info, "wrong_type", name,
		    tp_err_set(e, TP_EDATA, "\"%s\": an id is an integer or a "
		    "string, found %s", name, json_type(v)));
	if (json_member(t, n, k, &at, &len) < 0)
		return refuse(info, "bad_json", name,
		    tp_err_set(e, TP_EDATA, "\"%s\": the id's text cannot be "
		    "read", name));
	if (cJSON_IsString(v)) {
		for (size_t i = at; i < at + len; i++)
			if ((unsigned char)t[i] < 32)
				return refuse(info, "bad_json", name,
				    tp_err_set(e, TP_EDATA, "\"%s\": a raw "
				    "control character in a string is not JSON",
				    name));
		const char *s = v->valuestring;
		size_t sn = strlen(s);
		if (sn > 0 && sn < 24 && strspn(s + (*s == '-'), "0123456789") ==
		    sn - (*s == '-') && sn > (size_t)(*s == '-'))
			json_integer(s, sn, id);
		if ((*text = strndup(t + at, len)) == NULL)
			return tp_err_nomem(e, "a request's id");
		return TP_OK;
	}
	if ((r = json_integer(t + at, len, id)) == -1)
		return refuse(info, "bad_value", name,
		    tp_err_set(e, TP_EDATA, "\"%s\": %.*s is not an integer",
		    name, len > 40 ? 40 : (int)len, t + at));
	if (r == -2)
		return refuse(info, "bad_value", name,
		    tp_err_set(e, TP_EDATA, "\"%s\": %.*s is out of range: an "
		    "id is a 64-bit integer", name, len > 40 ? 40 : (int)len,
		    t + at));
	*exact = 1;
	return TP_OK;
}

/* One member's value into row; a category not in the vocabulary counts
 * in info. */
static int
request_value(const tp_column *c, const cJSON *v, tp_row row,
    tp_request_info *info, tp_err *e)
{
	char num[32];
	const char *s;
	double x;

	if (cJSON_IsNull(v)) {
		if (c->kind == TP_KIND_NUMERIC)
			row.num[c->slot] = NAN;
		else if (c->kind == TP_KIND_CATEGORICAL)
			row.cat[c->slot] = 0;
		return TP_OK;
	}
	switch (c->kind) {
	case TP_KIND_NUMERIC:
		if (cJSON_IsNumber(v)) {
			x = v->valuedouble;
		} else if (cJSON_IsString(v)) {
			s = v->valuestring;
			if (tp_parse_double(s, strlen(s), &x) < 0)
				return refuse(info, "bad_value", c->name,
				    tp_err_set(e, TP_EDATA, "column \"%s\": "
				    "\"%.40s\" is not a number", c->name, s));
		} else {
			return refuse(info, "wrong_type", c->name,
			    tp_err_set(e, TP_EDATA, "column \"%s\": expected a "
			    "number, found %s", c->name, json_type(v)));
		}
		if (!isfinite(x) ||
		    tp_encoding_standardise(c, x, &row.num[c->slot]) < 0)
			return refuse(info, "bad_value", c->name,
			    tp_err_set(e, TP_EDATA, "column \"%s\": %g is out "
			    "of the range the encoding can store (mean %g, std "
			    "%g)", c->name, x, c->mean, c->std));
		return TP_OK;
	case TP_KIND_CATEGORICAL:
		if (cJSON_IsString(v)) {
			s = v->valuestring;
		} else if (cJSON_IsNumber(v)) {
			number_text(v->valuedouble, num, sizeof(num));
			s = num;
		} else {
			return refuse(info, "wrong_type", c->name,
			    tp_err_set(e, TP_EDATA, "column \"%s\": expected a "
			    "string, found %s", c->name, json_type(v)));
		}
		row.cat[c->slot] = (int32_t)(tp_strmap_find(&c->vocab, s,
		    strlen(s)) + 1);
		if (row.cat[c->slot] == 0) {
			info->nunseen++;
			if (info->unseen != NULL)
				info->unseen[c->slot] = 1;
		}
		return TP_OK;
	default:
		return TP_OK;
	}
}

/* The offset of the first \u0000 escape in a string of the JSON text
 * t[0..n), or n: cJSON decodes it to a NUL, which ends a C string, so
 * that "age\u0000x" would be read as "age". */
static size_t
json_nul_escape(const char *t, size_t n)
{
	int in = 0;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == '"')
			in = !in;
		else if (in && t[i] == '\\' && i + 1 < n) {
			if (n - i >= 6 && memcmp(t + i + 1, "u0000", 5) == 0)
				return i;
			i++;
		}
	}
	return n;
}

/* Parses text[0..len) whole into *j (to cJSON_Delete): UTF-8 without NUL,
 * one JSON value, only space after it; *end gets where the value ends. */
static int
json_parse(const char *text, size_t len, cJSON **j, size_t *end,
    tp_request_info *info, tp_err *e)
{
	const char *stop = NULL;
	size_t bad;

	*j = NULL;
	/* JSON is UTF-8 with no NUL, and the log's text must be. */
	if ((bad = tp_text_end(text, len)) < len)
		return text[bad] == '\0' ?
		    refuse(info, "bad_json", NULL,
		    tp_err_set(e, TP_EDATA, "not JSON: byte %zu: a NUL byte",
		    bad + 1)) :
		    refuse(info, "bad_json", NULL,
		    tp_err_set(e, TP_EDATA, "not UTF-8: byte %zu", bad + 1));
	if ((*j = cJSON_ParseWithLengthOpts(text, len, &stop, 0)) == NULL) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at != NULL && at >= text && at <= text + len ?
		    (size_t)(at - text) : 0;
		return refuse(info, "bad_json", NULL,
		    tp_err_set(e, TP_EDATA, "not JSON: byte %zu", off + 1));
	}
	*end = stop != NULL ? (size_t)(stop - text) : len;
	bad = *end;
	while (bad < len && strchr(" \t\r\n", text[bad]) != NULL)
		bad++;
	if (bad < len) {
		char last = text[*end - 1];
		cJSON_Delete(*j);
		*j = NULL;
		return refuse(info, "bad_json", NULL,
		    tp_err_set(e, TP_EDATA, "not JSON: byte %zu: text after "
		    "the %s", bad + 1, last == ']' ? "array" : last == '}' ?
		    "object" : "value"));
	}
	return TP_OK;
}

int
tp_request_parse_info(const tp_encoding *enc, const char *text, size_t len,
    int64_t record, tp_row row, char **features, char **id,
    tp_request_info *info, tp_err *e)
{
	tp_request_info lax = {0};
	cJSON *j, *m, *id_member = NULL;
	unsigned char *seen = NULL;
	int rc, have_id = 0, exact = 0, k = -1;
	size_t end, bad;

	info = info_start(info, &lax);
	if (info->unseen != NULL)
		memset(info->unseen, 0, (size_t)enc->ncat);
	if (features != NULL)
		*features = NULL;
	*id = NULL;
	if ((rc = json_parse(text, len, &j, &end, info, e)) != TP_OK)
		return rc;
	if (!cJSON_IsObject(j)) {
		rc = refuse(info, "wrong_type", NULL,
		    tp_err_set(e, TP_EDATA, "a request is one JSON object of "
		    "feature values, found %s", json_type(j)));
		goto out;
	}
	if (info->strict && (bad = json_nul_escape(text, end)) < end) {
		rc = refuse(info, "bad_json", NULL,
		    tp_err_set(e, TP_EDATA, "byte %zu: \\u0000 stands for a "
		    "NUL, which no name or value may hold", bad + 1));
		goto out;
	}
	if ((seen = calloc((size_t)enc->ncols + 1, 1)) == NULL) {
		rc = tp_err_nomem(e, "a request");
		goto out;
	}
	*row.id = record;
	*row.label = -1;
	for (int i = 0; i < enc->ncat; i++)
		row.cat[i] = 0;
	for (int i = 0; i < enc->nnum; i++)
		row.num[i] = NAN;
	cJSON_ArrayForEach(m, j) {
		int col = -1;
		k++;
		for (int i = 0; i < enc->ncols && col < 0; i++)
			if (strcmp(enc->cols[i].name, m->string) == 0)
				col = i;
		if ((col >= 0 && col == enc->id_col) ||
		    (col < 0 && strcmp(m->string, "id") == 0)) {
			if (have_id++) {
				rc = refuse(info, "bad_json", m->string,
				    tp_err_set(e, TP_EDATA,
				    "the id is given twice"));
				goto out;
			}
			if ((rc = request_id(text, end, k, m, row.id, id,
			    &exact, info, e)) != TP_OK)
				goto out;
			id_member = m;
			info->has_id = !cJSON_IsNull(m);
			continue;
		}
		if (col < 0) {
			rc = refuse(info, "unknown_field", m->string,
			    tp_err_set(e, TP_EDATA, "unknown column \"%.60s\"",
			    m->string));
			goto out;
		}
		if (seen[col]++) {
			rc = refuse(info, "bad_json", m->string,
			    tp_err_set(e, TP_EDATA, "column \"%s\" is given "
			    "twice", enc->cols[col].name));
			goto out;
		}
		if ((rc = request_value(&enc->cols[col], m, row, info, e)) !=
		    TP_OK)
			goto out;
	}
	for (int i = 0; info->strict && i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if ((c->kind == TP_KIND_NUMERIC ||
		    c->kind == TP_KIND_CATEGORICAL) && !seen[i]) {
			rc = refuse(info, "missing_field", c->name,
			    tp_err_set(e, TP_EDATA, "column \"%s\" is missing: "
			    "every feature is given, null when its value is "
			    "missing", c->name));
			goto out;
		}
	}
	if (features == NULL)
		goto out;
	/* The log's copy of a number id is the integer, which cJSON would
	 * print as the double it read. */
	if (exact) {
		char digits[24];
		cJSON *raw;
		snprintf(digits, sizeof(digits), "%lld", (long long)*row.id);
		if ((raw = cJSON_CreateRaw(digits)) == NULL ||
		    !cJSON_ReplaceItemInObjectCaseSensitive(j, id_member->string,
		    raw)) {
			cJSON_Delete(raw);
			rc = tp_err_nomem(e, "a request");
			goto out;
		}
	}
	if ((*features = cJSON_PrintUnformatted(j)) == NULL)
		rc = tp_err_nomem(e, "a request");
out:
	if (rc != TP_OK) {
		free(*id);
		*id = NULL;
	}
	if (rc != TP_EDATA)
		info->code = NULL;
	free(seen);
	cJSON_Delete(j);
	return rc;
}

int
tp_request_parse_id(const tp_encoding *enc, const char *line, size_t len,
    int64_t record, tp_row row, char **features, char **id, tp_err *e)
{
	return tp_request_parse_info(enc, line, len, record, row, features, id,
	    NULL, e);
}

int
tp_request_parse(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, tp_err *e)
{
	char *id;
	int rc = tp_request_parse_id(enc, line, len, record, row, features,
	    &id, e);

	free(id);
	return rc;
}

int
tp_request_split(const char *body, size_t len, size_t max,
    tp_request_span **spans, size_t *n, int *batch, tp_request_info *info,
    tp_err *e)
{
	tp_request_info lax = {0};
	const cJSON *m;
	cJSON *j;
	size_t end, count = 0, i = 0;
	int rc;

	info = info_start(info, &lax);
	*spans = NULL;
	*n = 0;
	*batch = 0;
	if ((rc = json_parse(body, len, &j, &end, info, e)) != TP_OK)
		return rc;
	if (cJSON_IsArray(j)) {
		cJSON_ArrayForEach(m, j)
			count++;
		if (count == 0) {
			rc = refuse(info, "empty_batch", NULL,
			    tp_err_set(e, TP_EDATA, "a batch holds one "
			    "application or more, not none"));
			goto out;
		}
		if (count > max) {
			rc = refuse(info, "too_large", NULL,
			    tp_err_set(e, TP_EDATA, "a batch of %zu "
			    "applications: at most %zu are taken", count, max));
			goto out;
		}
		count = 0;
		cJSON_ArrayForEach(m, j) {
			if (!cJSON_IsObject(m)) {
				info->item = (long)count;
				rc = refuse(info, "wrong_type", NULL,
				    tp_err_set(e, TP_EDATA, "item %zu: an "
				    "application is a JSON object of feature "
				    "values, found %s", count, json_type(m)));
				goto out;
			}
			count++;
		}
	} else if (cJSON_IsObject(j)) {
		count = 1;
	} else {
		rc = refuse(info, "wrong_type", NULL,
		    tp_err_set(e, TP_EDATA, "a request is one JSON object of "
		    "feature values or an array of them, found %s",
		    json_type(j)));
		goto out;
	}
	if ((*spans = calloc(count, sizeof(**spans))) == NULL) {
		rc = tp_err_nomem(e, "the applications of a request");
		goto out;
	}
	/* cJSON has read the body whole, so its text is well formed, and
	 * each element is an object, whose end json_skip finds. */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a byte order mark, which cJSON passes over */
	i = json_space(body, end, i);
	if (cJSON_IsObject(j)) {
		(*spans)[0] = (tp_request_span){i, end - i};
	} else {
		*batch = 1;
		for (size_t k = 0; k < count; k++) {
			i = json_space(body, end, i + 1);
			(*spans)[k].at = i;
			i = json_skip(body, end, i);
			(*spans)[k].len = i - (*spans)[k].at;
			i = json_space(body, end, i);
		}
	}
	*n = count;
out:
	if (rc != TP_OK) {
		*batch = 0;
		free(*spans);
		*spans = NULL;
	}
	if (rc != TP_EDATA)
		info->code = NULL;
	cJSON_Delete(j);
	return rc;
}
