#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/number.h"
#include "base/sha256.h"
#include "base/text.h"
#include "data/encoding.h"

static const char *const kind_names[] = {
	[TP_KIND_IGNORE] = "ignore",
	[TP_KIND_NUMERIC] = "numeric",
	[TP_KIND_CATEGORICAL] = "categorical",
	[TP_KIND_ID] = "id",
	[TP_KIND_TARGET] = "target",
};

int
tp_column_names_rows(const tp_column *c, uint64_t rows)
{
	return c->kind == TP_KIND_CATEGORICAL && c->vocab.n >= TP_ROW_NAMES_MIN &&
	    2 * (uint64_t)c->vocab.n > rows;
}

const char *
tp_kind_name(enum tp_kind kind)
{
	return kind_names[kind];
}

int
tp_kind_parse(const char *s, enum tp_kind *kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum tp_kind)i;
			return 0;
		}
	return -1;
}

void
tp_encoding_free(tp_encoding *enc)
{
	if (enc == NULL)
		return;
	for (int i = 0; i < enc->ncols; i++) {
		free(enc->cols[i].name);
		tp_strmap_free(&enc->cols[i].vocab);
	}
	free(enc->cols);
	free(enc->labels[0]);
	free(enc->labels[1]);
	memset(enc, 0, sizeof(*enc));
}

/* The JSON form without the fingerprint. */
static cJSON *
to_json_body(const tp_encoding *enc)
{
	cJSON *root = cJSON_CreateObject(), *cols, *labels;

	if (root == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "format", "tabpipe-encoding");
	cJSON_AddNumberToObject(root, "version", 1);
	labels = cJSON_AddArrayToObject(root, "labels");
	if (enc->target_col >= 0)
		for (int i = 0; i < 2; i++)
			cJSON_AddItemToArray(labels, enc->labels[i] ?
			    cJSON_CreateString(enc->labels[i]) : cJSON_CreateNull());
	cols = cJSON_AddArrayToObject(root, "columns");
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		cJSON *col = cJSON_CreateObject();
		cJSON_AddItemToArray(cols, col);
		cJSON_AddStringToObject(col, "name", c->name);
		cJSON_AddStringToObject(col, "kind", tp_kind_name(c->kind));
		if (c->kind == TP_KIND_NUMERIC) {
			/* cJSON prints 15 digits when they come close enough;
			 * 17 always read back to the same double. */
			char num[32];
			snprintf(num, sizeof(num), "%.17g", c->mean);
			cJSON_AddRawToObject(col, "mean", num);
			snprintf(num, sizeof(num), "%.17g", c->std);
			cJSON_AddRawToObject(col, "std", num);
		} else if (c->kind == TP_KIND_CATEGORICAL) {
			cJSON *v = cJSON_AddArrayToObject(col, "vocabulary");
			for (size_t k = 0; k < c->vocab.n; k++)
				cJSON_AddItemToArray(v,
				    cJSON_CreateString(c->vocab.keys[k]));
		}
	}
	return root;
}

static int
hash_json(const cJSON *json, char out[65], tp_err *e)
{
	char *text = cJSON_PrintUnformatted(json);

	if (text == NULL)
		return tp_err_nomem(e, "the encoding's JSON");
	tp_sha256_hex_of(text, strlen(text), out);
	free(text);
	return TP_OK;
}

int
tp_encoding_fingerprint(tp_encoding *enc, tp_err *e)
{
	cJSON *body = to_json_body(enc);
	int rc;

	if (body == NULL)
		return tp_err_nomem(e, "the encoding's JSON");
	rc = hash_json(body, enc->fingerprint, e);
	cJSON_Delete(body);
	return rc;
}

cJSON *
tp_encoding_to_json(const tp_encoding *enc)
{
	cJSON *root = to_json_body(enc);

	if (root != NULL)
		cJSON_AddStringToObject(root, "fingerprint", enc->fingerprint);
	return root;
}

/* A number of the JSON form: parsed, or raw text as to_json writes it. */
static int
json_number(const cJSON *item, double *x)
{
	if (cJSON_IsNumber(item)) {
		*x = item->valuedouble;
		return 0;
	}
	if (cJSON_IsRaw(item))
		return tp_parse_double(item->valuestring, strlen(item->valuestring), x);
	return -1;
}

static int
bad(tp_err *e, const char *where, const char *what)
{
	return tp_err_set(e, TP_EDATA, "%s: encoding: %s", where, what);
}

/* Whether s is text that ingest would have taken (base/text.h). */
static int
is_text(const char *s)
{
	size_t len = strlen(s);

	return tp_text_end(s, len) == len;
}

int
tp_encoding_from_json(tp_encoding *enc, const cJSON *json, const char *where,
    tp_err *e)
{
	const cJSON *cols, *col, *labels, *fp;
	char fingerprint[65];
	int rc = TP_EDATA, n = 0;

	memset(enc, 0, sizeof(*enc));
	enc->id_col = enc->target_col = -1;
	if (!cJSON_IsObject(json) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "format")) ||
	    strcmp(cJSON_GetObjectItemCaseSensitive(json, "format")->valuestring,
	    "tabpipe-encoding") != 0)
		return bad(e, where, "not a tabpipe encoding (no \"format\": \"tabpipe-encoding\")");
	if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(json,
	    "version")) != 1)
		return bad(e, where, "unsupported version (expected 1)");
	cols = cJSON_GetObjectItemCaseSensitive(json, "columns");
	labels = cJSON_GetObjectItemCaseSensitive(json, "labels");
	fp = cJSON_GetObjectItemCaseSensitive(json, "fingerprint");
	if (!cJSON_IsArray(cols) || !cJSON_IsArray(labels) ||
	    !cJSON_IsString(fp))
		return bad(e, where, "\"columns\", \"labels\" and \"fingerprint\" are required");
	enc->ncols = cJSON_GetArraySize(cols);
	if (enc->ncols == 0)
		return bad(e, where, "no columns");
	if ((enc->cols = calloc((size_t)enc->ncols, sizeof(*enc->cols))) == NULL)
		return tp_err_nomem(e, "an encoding");
	cJSON_ArrayForEach(col, cols) {
		tp_column *c = &enc->cols[n++];
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(col, "name");
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(col, "kind");
		c->slot = -1;
		if (!cJSON_IsString(name) || !cJSON_IsString(kind) ||
		    tp_kind_parse(kind->valuestring, &c->kind) < 0) {
			tp_err_set(e, TP_EDATA, "%s: encoding: column %d: needs a \"name\" and a \"kind\" (numeric, categorical, id, target or ignore)",
			    where, n);
			goto fail;
		}
		if (!is_text(name->valuestring)) {
			tp_err_set(e, TP_EDATA, "%s: encoding: column %d: its name is not UTF-8 text",
			    where, n);
			goto fail;
		}
		if ((c->name = strdup(name->valuestring)) == NULL) {
			rc = tp_err_nomem(e, "an encoding");
			goto fail;
		}
		switch (c->kind) {
		case TP_KIND_NUMERIC: {
			c->slot = enc->nnum++;
			if (json_number(cJSON_GetObjectItemCaseSensitive(col,
			    "mean"), &c->mean) < 0 ||
			    json_number(cJSON_GetObjectItemCaseSensitive(col,
			    "std"), &c->std) < 0 || !isfinite(c->mean) ||
			    !(c->std > 0) || !isfinite(c->std)) {
				tp_err_set(e, TP_EDATA, "%s: encoding: column %s: a numeric column needs a finite \"mean\" and a \"std\" > 0",
				    where, c->name);
				goto fail;
			}
			break;
		}
		case TP_KIND_CATEGORICAL: {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(col, "vocabulary"), *s;
			c->slot = enc->ncat++;
			if (!cJSON_IsArray(v)) {
				tp_err_set(e, TP_EDATA, "%s: encoding: column %s: a categorical column needs a \"vocabulary\" array",
				    where, c->name);
				goto fail;
			}
			cJSON_ArrayForEach(s, v) {
				if (!cJSON_IsString(s) || !is_text(s->valuestring)) {
					tp_err_set(e, TP_EDATA, "%s: encoding: column %s: vocabulary entries must be strings of UTF-8 text",
					    where, c->name);
					goto fail;
				}
				size_t len = strlen(s->valuestring);
				size_t before = c->vocab.n;
				if (tp_strmap_add(&c->vocab, s->valuestring, len, e) < 0) {
					rc = e->code;
					goto fail;
				}
				if (c->vocab.n == before) {
					tp_err_set(e, TP_EDATA, "%s: encoding: column %s: \"%s\" is twice in the vocabulary",
					    where, c->name, s->valuestring);
					goto fail;
				}
			}
			break;
		}
		case TP_KIND_ID:
		case TP_KIND_TARGET:
			if ((c->kind == TP_KIND_ID ? enc->id_col : enc->target_col) >= 0) {
				tp_err_set(e, TP_EDATA, "%s: encoding: more than one %s column",
				    where, tp_kind_name(c->kind));
				goto fail;
			}
			*(c->kind == TP_KIND_ID ? &enc->id_col : &enc->target_col) = n - 1;
			break;
		case TP_KIND_IGNORE:
			break;
		}
	}
	if (enc->target_col >= 0) {
		if (cJSON_GetArraySize(labels) != 2) {
			bad(e, where, "a target needs two \"labels\", negative then positive");
			goto fail;
		}
		for (int i = 0; i < 2; i++) {
			const cJSON *l = cJSON_GetArrayItem(labels, i);
			if (cJSON_IsString(l) &&
			    (enc->labels[i] = strdup(l->valuestring)) == NULL) {
				rc = tp_err_nomem(e, "an encoding");
				goto fail;
			} else if (!cJSON_IsString(l) && (i == 1 || !cJSON_IsNull(l))) {
				bad(e, where, "labels must be strings (the negative one may be null)");
				goto fail;
			}
		}
	}
	if ((rc = tp_encoding_fingerprint(enc, e)) != TP_OK)
		goto fail;
	memcpy(fingerprint, enc->fingerprint, sizeof(fingerprint));
	if (strcmp(fingerprint, fp->valuestring) != 0) {
		tp_err_set(e, TP_EDATA, "%s: encoding: fingerprint %.12s... does not match its content (%.12s...): the encoding was edited or damaged",
		    where, fp->valuestring, fingerprint);
		rc = TP_EDATA;
		goto fail;
	}
	return TP_OK;
fail:
	tp_encoding_free(enc);
	return rc;
}

int
tp_encoding_load(tp_encoding *enc, const char *path, tp_err *e)
{
	char *text;
	cJSON *json;
	int rc;

	memset(enc, 0, sizeof(*enc));
	if ((rc = tp_read_file(path, &text, NULL, e)) != TP_OK)
		return rc;
	json = cJSON_Parse(text);
	free(text);
	if (json == NULL)
		return tp_err_set(e, TP_EDATA, "%s: not valid JSON", path);
	rc = tp_encoding_from_json(enc, json, path, e);
	cJSON_Delete(json);
	return rc;
}

int
tp_encoding_save(const tp_encoding *enc, const char *path, tp_err *e)
{
	cJSON *json = tp_encoding_to_json(enc);
	char *text = json ? cJSON_Print(json) : NULL;
	tp_outfile o;
	int rc;

	cJSON_Delete(json);
	if (text == NULL)
		return tp_err_nomem(e, "the encoding's JSON");
	if ((rc = tp_outfile_open(&o, path, e)) == TP_OK) {
		fputs(text, o.f);
		putc('\n', o.f);
		rc = tp_outfile_commit(&o, e);
	}
	free(text);
	return rc;
}

int
tp_encoding_check_names(const tp_field *fields, size_t nfields,
    const char *where, tp_err *e)
{
	for (size_t i = 0; i < nfields; i++)
		if (tp_field_check_text(&fields[i], "the name", e) != TP_OK)
			return tp_err_prefix(e, "%s: column %zu", where, i + 1);
	return TP_OK;
}

int
tp_encoding_check_header(const tp_encoding *enc, const tp_field *fields,
    size_t nfields, const char *where, tp_err *e)
{
	int rc;

	if ((rc = tp_encoding_check_names(fields, nfields, where, e)) != TP_OK)
		return rc;
	if (nfields != (size_t)enc->ncols)
		return tp_err_set(e, TP_EDATA,
		    "%s: the header has %zu columns, the encoding %d", where,
		    nfields, enc->ncols);
	for (int i = 0; i < enc->ncols; i++) {
		const char *name = enc->cols[i].name;
		if (strlen(name) != fields[i].len ||
		    memcmp(name, fields[i].s, fields[i].len) != 0)
			return tp_err_set(e, TP_EDATA,
			    "%s: column %d is \"%.*s\", the encoding expects \"%s\"",
			    where, i + 1, (int)fields[i].len, fields[i].s, name);
	}
	return TP_OK;
}

int
tp_encoding_view(tp_encoding *view, const tp_encoding *enc,
    const tp_field *fields, size_t nfields, const char *where, tp_err *e)
{
	int t = enc->target_col, n = 0, rc;

	*view = *enc;
	if ((view->cols = calloc((size_t)enc->ncols, sizeof(*view->cols))) ==
	    NULL) {
		memset(view, 0, sizeof(*view));
		return tp_err_nomem(e, "the columns");
	}
	/* One column fewer than the encoding: new data, without its outcome. */
	int unlabelled = t >= 0 && nfields + 1 == (size_t)enc->ncols;
	for (int i = 0; i < enc->ncols; i++)
		if (!unlabelled || i != t)
			view->cols[n++] = enc->cols[i];
	view->ncols = n;
	if (unlabelled) {
		view->target_col = -1;
		if (enc->id_col > t)
			view->id_col--;
	}
	if ((rc = tp_encoding_check_header(view, fields, nfields, where, e)) !=
	    TP_OK)
		tp_encoding_view_free(view);
	return rc;
}

void
tp_encoding_view_free(tp_encoding *view)
{
	if (view == NULL)
		return;
	free(view->cols);
	memset(view, 0, sizeof(*view));
}

int
tp_encoding_label(const tp_encoding *enc, const tp_field *f)
{
	if (tp_field_missing(f))
		return -1;
	for (int i = 0; i < 2; i++)
		if (enc->labels[i] != NULL && strlen(enc->labels[i]) == f->len &&
		    memcmp(enc->labels[i], f->s, f->len) == 0)
			return i;
	return -2;
}

static int
parse_id(const tp_field *f, int64_t *id)
{
	int64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (f->len > 0 && (f->s[0] == '-' || f->s[0] == '+'))
		neg = f->s[i++] == '-';
	if (i == f->len || f->len - i > 18)
		return -1;
	for (; i < f->len; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return -1;
		v = v * 10 + (f->s[i] - '0');
	}
	*id = neg ? -v : v;
	return 0;
}

/* z * std + mean: the number that a standardised value stands for. Where
 * the product alone overflows, fma, which rounds only the sum, still finds
 * a sum that a double holds. */
static double
decoded(double z, double mean, double std)
{
	double x = z * std + mean;

	return isfinite(x) ? x : fma(z, std, mean);
}

int
tp_encoding_standardise(const tp_column *c, double x, float *out)
{
	double z = (x - c->mean) / c->std;

	/* x - mean can overflow where the quotient would not. */
	if (!isfinite(z))
		z = x / c->std - c->mean / c->std;
	if (!(fabs(z) <= FLT_MAX))
		return -1;
	/* A float32 z decodes to about x, within |x - mean| * 2^-23: only
	 * when x or the mean is near the largest double can that be
	 * beyond it. */
	if ((fabs(x) >= 0x1p1020 || fabs(c->mean) >= 0x1p1020) &&
	    !isfinite(decoded((float)z, c->mean, c->std)))
		return -1;
	*out = (float)z;
	return 0;
}

/* 1, with "column N (NAME): ..." in e, when the field's text is not UTF-8
 * or holds a NUL byte. */
static int
bad_text(const tp_column *c, int i, const tp_field *f, tp_err *e)
{
	if (tp_field_check_text(f, "the value", e) == TP_OK)
		return 0;
	tp_err_prefix(e, "column %d (%s)", i + 1, c->name);
	return 1;
}

int
tp_encoding_encode(const tp_encoding *enc, const tp_field *fields,
    int64_t record, tp_row row, uint8_t *unseen, tp_err *e)
{
	*row.id = record;
	*row.label = -1;
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		const tp_field *f = &fields[i];
		/* A number or an id that parses is ASCII without NUL: their
		 * text is checked only when they do not. */
		if (c->kind != TP_KIND_NUMERIC && c->kind != TP_KIND_ID &&
		    bad_text(c, i, f, e))
			return TP_EDATA;
		switch (c->kind) {
		case TP_KIND_NUMERIC: {
			double x;
			if (tp_field_missing(f)) {
				row.num[c->slot] = NAN;
				break;
			}
			if (tp_parse_double(f->s, f->len, &x) < 0)
				return bad_text(c, i, f, e) ? TP_EDATA :
				    tp_err_set(e, TP_EDATA,
				    "column %d (%s): \"%.*s\" is not a number", i + 1,
				    c->name, (int)(f->len > 40 ? 40 : f->len), f->s);
			if (tp_encoding_standardise(c, x, &row.num[c->slot]) < 0)
				return tp_err_set(e, TP_EDATA,
				    "column %d (%s): \"%.*s\" is out of the range the encoding can store (mean %g, std %g)",
				    i + 1, c->name,
				    (int)(f->len > 40 ? 40 : f->len), f->s,
				    c->mean, c->std);
			break;
		}
		case TP_KIND_CATEGORICAL: {
			long k = tp_field_missing(f) ? -1 :
			    tp_strmap_find(&c->vocab, f->s, f->len);
			row.cat[c->slot] = (int32_t)(k + 1);
			if (unseen != NULL)
				unseen[c->slot] = k < 0 && !tp_field_missing(f);
			break;
		}
		case TP_KIND_TARGET: {
			int label = tp_encoding_label(enc, f);
			if (label == -2)
				return tp_err_set(e, TP_EDATA,
				    "column %d (%s): \"%.*s\" is neither label (\"%s\", \"%s\")",
				    i + 1, c->name, (int)(f->len > 40 ? 40 : f->len), f->s,
				    enc->labels[0] ? enc->labels[0] : "", enc->labels[1]);
			*row.label = (int8_t)label;
			break;
		}
		case TP_KIND_ID:
			if (parse_id(f, row.id) < 0)
				return bad_text(c, i, f, e) ? TP_EDATA :
				    tp_err_set(e, TP_EDATA,
				    "column %d (%s): id \"%.*s\" is not an integer", i + 1,
				    c->name, (int)(f->len > 40 ? 40 : f->len), f->s);
			break;
		case TP_KIND_IGNORE:
			break;
		}
	}
	return TP_OK;
}

void
tp_encoding_write_header(const tp_encoding *enc, FILE *f)
{
	int first = 1;

	for (int i = 0; i < enc->ncols; i++) {
		if (enc->cols[i].kind == TP_KIND_IGNORE)
			continue;
		if (!first)
			putc(',', f);
		first = 0;
		tp_csv_put_field(f, enc->cols[i].name, strlen(enc->cols[i].name));
	}
	putc('\n', f);
}

/* Removes the zeros that end the fraction of the number in buf, and the
 * point when no fraction is left; end is where the fraction ends. */
static void
trim_fraction(char *buf, char *end)
{
	char *p = end;

	if (strchr(buf, '.') == NULL)
		return;
	while (p[-1] == '0')
		p--;
	if (p[-1] == '.')
		p--;
	memmove(p, end, strlen(end) + 1);
}

double
tp_encoding_decode(const tp_column *c, double z)
{
	double x = z * c->std + c->mean, y, tol = c->std * fabs(z) * 0x1p-24;
	char buf[48];

	for (int d = 0; d < 17 && fabs(x) < 1e15; d++) {
		snprintf(buf, sizeof(buf), "%.*f", d, x);
		if (tp_parse_double(buf, strlen(buf), &y) == 0 && fabs(y - x) <= tol)
			return y == 0 ? 0 : y;
	}
	return x;
}

/* Writes z * std + mean of column c to the decimal place that a float32 z
 * and the double mean can vouch for, so that 82.2 comes back as 82.2 and
 * not as 82.2000007; a number of 1e17 or more with its significant digits
 * and an exponent, 1.1e+70; an infinite one (from a stream that no tabpipe
 * tool wrote) as inf or -inf, which no tool reads as a number. What
 * tabpipe-cat writes ingests again to the same z: where those digits would
 * not (near float32's limits, or in a column whose mean is far beyond its
 * spread), all 17 of the double's are written. */
static void
put_number(FILE *f, const tp_column *c, float z)
{
	double x = decoded(z, c->mean, c->std), back;
	/* Scaled first, so that it overflows only when x does. */
	double err = fabs((double)z) * (c->std * 0x1p-24) +
	    fabs(c->mean) * 0x1p-53;
	char buf[64];
	float again;
	int places;

	if (!isfinite(x)) {
		fputs(x < 0 ? "-inf" : "inf", f);
		return;
	}
	places = err > 0 ? (int)fmin(floor(-log10(2 * err)), 17) : 17;
	if (places < 0) {
		double q = pow(10, -places);
		x = round(x / q) * q;
	}
	if (fabs(x) >= 1e17) {
		/* Its digits from the first to the last that counts, of the
		 * 17 that a double holds. */
		int digits = (int)fmin(floor(log10(fabs(x))) + 1 + places, 17);
		snprintf(buf, sizeof(buf), "%.*e", digits > 1 ? digits - 1 : 0,
		    x);
		trim_fraction(buf, strchr(buf, 'e'));
	} else {
		snprintf(buf, sizeof(buf), "%.*f", places > 0 ? places : 0, x);
		trim_fraction(buf, buf + strlen(buf));
	}
	if (tp_parse_double(buf, strlen(buf), &back) < 0 ||
	    tp_encoding_standardise(c, back, &again) < 0 || again != z)
		snprintf(buf, sizeof(buf), "%.17g", decoded(z, c->mean, c->std));
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	fputs(buf, f);
}

void
tp_encoding_write_row(const tp_encoding *enc, FILE *f, tp_row row)
{
	int first = 1;

	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if (c->kind == TP_KIND_IGNORE)
			continue;
		if (!first)
			putc(',', f);
		first = 0;
		switch (c->kind) {
		case TP_KIND_NUMERIC: {
			float z = row.num[c->slot];
			if (isnan(z))
				fputs("NA", f);
			else
				put_number(f, c, z);
			break;
		}
		case TP_KIND_CATEGORICAL: {
			int32_t k = row.cat[c->slot];
			if (k <= 0 || (size_t)k > c->vocab.n)
				fputs("NA", f);
			else
				tp_csv_put_field(f, c->vocab.keys[k - 1],
				    c->vocab.lens[k - 1]);
			break;
		}
		case TP_KIND_TARGET:
			if (*row.label < 0 || enc->labels[*row.label] == NULL)
				fputs("NA", f);
			else
				tp_csv_put_field(f, enc->labels[*row.label],
				    strlen(enc->labels[*row.label]));
			break;
		case TP_KIND_ID:
			fprintf(f, "%lld", (long long)*row.id);
			break;
		case TP_KIND_IGNORE:
			break;
		}
	}
	putc('\n', f);
}
