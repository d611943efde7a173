#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/number.h"
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
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsNumber(v))
		return "a number";
	return "a string";
}

/* An integer id: a number with no fraction that a double holds exactly,
 * or a string of digits. */
static int
request_id(const cJSON *v, int64_t *id)
{
	if (cJSON_IsNumber(v)) {
		double x = v->valuedouble;
		if (x != floor(x) || fabs(x) > 9007199254740992.0)
			return -1;
		*id = (int64_t)x;
		return 0;
	}
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (end == s || *end != '\0' || errno != 0 || *s == ' ' ||
		    *s == '+')
			return -1;
		*id = (int64_t)n;
		return 0;
	}
	return -1;
}

/* One member's value into row. */
static int
request_value(const tp_column *c, const cJSON *v, tp_row row, tp_err *e)
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
				return tp_err_set(e, TP_EDATA,
				    "column \"%s\": \"%.40s\" is not a number",
				    c->name, s);
		} else {
			return tp_err_set(e, TP_EDATA,
			    "column \"%s\": expected a number, found %s", c->name,
			    json_type(v));
		}
		if (!isfinite(x))
			return tp_err_set(e, TP_EDATA,
			    "column \"%s\": the number is out of range", c->name);
		row.num[c->slot] = (float)((x - c->mean) / c->std);
		return TP_OK;
	case TP_KIND_CATEGORICAL:
		if (cJSON_IsString(v)) {
			s = v->valuestring;
		} else if (cJSON_IsNumber(v)) {
			number_text(v->valuedouble, num, sizeof(num));
			s = num;
		} else {
			return tp_err_set(e, TP_EDATA,
			    "column \"%s\": expected a string, found %s", c->name,
			    json_type(v));
		}
		row.cat[c->slot] = (int32_t)(tp_strmap_find(&c->vocab, s,
		    strlen(s)) + 1);
		return TP_OK;
	default:
		return TP_OK;
	}
}

int
tp_request_parse(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, tp_err *e)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, 0), *m;
	unsigned char *seen = NULL;
	int rc = TP_OK, have_id = 0;

	if (features != NULL)
		*features = NULL;
	if (j == NULL) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at != NULL && at >= line && at <= line + len ?
		    (size_t)(at - line) : 0;
		return tp_err_set(e, TP_EDATA, "not JSON: byte %zu", off + 1);
	}
	while (end != NULL && end < line + len && *end != '\0' &&
	    strchr(" \t\r\n", *end) != NULL)
		end++;
	if (end != NULL && end < line + len) {
		rc = tp_err_set(e, TP_EDATA, "not JSON: byte %zu: text after the object",
		    (size_t)(end - line) + 1);
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		rc = tp_err_set(e, TP_EDATA,
		    "a request is one JSON object of feature values, found %s",
		    json_type(j));
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
		for (int i = 0; i < enc->ncols && col < 0; i++)
			if (strcmp(enc->cols[i].name, m->string) == 0)
				col = i;
		if ((col >= 0 && col == enc->id_col) ||
		    (col < 0 && strcmp(m->string, "id") == 0)) {
			if (have_id++) {
				rc = tp_err_set(e, TP_EDATA, "the id is given twice");
				goto out;
			}
			if (request_id(m, row.id) < 0) {
				rc = tp_err_set(e, TP_EDATA,
				    "\"%s\": an id is an integer", m->string);
				goto out;
			}
			continue;
		}
		if (col < 0) {
			rc = tp_err_set(e, TP_EDATA, "unknown column \"%.60s\"",
			    m->string);
			goto out;
		}
		if (seen[col]++) {
			rc = tp_err_set(e, TP_EDATA, "column \"%s\" is given twice",
			    enc->cols[col].name);
			goto out;
		}
		if ((rc = request_value(&enc->cols[col], m, row, e)) != TP_OK)
			goto out;
	}
	if (features != NULL && (*features = cJSON_PrintUnformatted(j)) == NULL)
		rc = tp_err_nomem(e, "a request");
out:
	free(seen);
	cJSON_Delete(j);
	return rc;
}
