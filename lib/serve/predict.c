#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "data/csv.h"
#include "serve/predict.h"
#include "train/train.h"

int
tp_predictor_open(tp_predictor *p, tp_db *db, const char *ref, int nthreads,
    tp_err *e)
{
	tp_model_version v = {0};
	int rc;

	memset(p, 0, sizeof(*p));
	if (tp_db_is_model_ref(ref)) {
		if (db == NULL)
			return tp_err_set(e, TP_EUSAGE, "%s: a registry reference "
			    "needs a database (--db or TABPIPE_DB)", ref);
		if ((rc = tp_db_resolve_model(db, ref, &v, e)) != TP_OK)
			return rc;
		p->path = v.path;
		v.path = NULL;
	} else if ((p->path = strdup(ref)) == NULL) {
		return tp_err_nomem(e, "a model's name");
	}
	if ((rc = tp_file_sha256(p->path, p->sha256, e)) != TP_OK ||
	    (rc = tp_model_load(p->path, &p->model, &p->enc, &p->meta,
	    TP_WITH_HEAD, nthreads, e)) != TP_OK ||
	    (rc = tp_model_freeze(&p->model, e)) != TP_OK)
		goto fail;
	if (v.id != 0) {
		p->version = v.version;
	} else if (db != NULL) {
		if ((rc = tp_db_version_by_sha256(db, p->sha256, &v, e)) != TP_OK)
			goto fail;
		p->version = v.id != 0 ? v.version : 0;
		tp_model_version_free(&v);
	}
	return TP_OK;
fail:
	tp_predictor_free(p);
	return rc;
}

void
tp_predictor_free(tp_predictor *p)
{
	tp_scorer_close(p->scorer);
	tp_model_free(&p->model);
	tp_encoding_free(&p->enc);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

int
tp_predictor_label(const tp_predictor *p, float prob)
{
	return (double)prob >= p->meta.threshold;
}

void
tp_predict_write_header(FILE *f, enum tp_predict_format fmt)
{
	if (fmt == TP_PREDICT_CSV)
		fputs("id,probability,label\n", f);
}

void
tp_predict_write(FILE *f, enum tp_predict_format fmt, int64_t id,
    float prob, int label, int version)
{
	if (fmt == TP_PREDICT_CSV) {
		fprintf(f, "%lld,%.9g,%d\n", (long long)id, (double)prob, label);
		return;
	}
	fprintf(f, "{\"id\":%lld,\"probability\":%.9g,\"label\":%d",
	    (long long)id, (double)prob, label);
	if (version > 0)
		fprintf(f, ",\"version\":%d", version);
	fputs("}\n", f);
}

void
tp_predict_write_error(FILE *f, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	if (j != NULL)
		cJSON_AddStringToObject(j, "error", msg);
	text = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
	/* Without memory for the message, the client still gets an answer. */
	fprintf(f, "%s\n", text != NULL ? text : "{\"error\":\"out of memory\"}");
	free(text);
	cJSON_Delete(j);
}

struct tp_predict_source {
	tp_stream_reader *stream;  /* a tensor stream, or */
	tp_csv *csv;               /* CSV, with: */
	const tp_encoding *model;  /* the model's encoding */
	tp_encoding view;          /* the one the CSV is read with */
	int own_cols;              /* view.cols is ours (no target column) */
	int64_t record;            /* CSV data records read */
	char *name;
};

/* The model's encoding less its target column: a view that shares the
 * columns' vocabularies, for CSV without the outcome. Only its columns
 * array is its own. */
static int
without_target(const tp_encoding *enc, tp_encoding *view, tp_err *e)
{
	int t = enc->target_col, n = 0;

	*view = *enc;
	if ((view->cols = calloc((size_t)enc->ncols, sizeof(*view->cols))) == NULL)
		return tp_err_nomem(e, "the columns");
	for (int i = 0; i < enc->ncols; i++)
		if (i != t)
			view->cols[n++] = enc->cols[i];
	view->ncols = n;
	view->target_col = -1;
	if (enc->id_col > t)
		view->id_col--;
	return TP_OK;
}

static int
csv_header(tp_predict_source *s, tp_err *e)
{
	const tp_encoding *enc = s->model;
	int r = tp_csv_next(s->csv, e);

	if (r < 0)
		return e->code;
	if (r == 0)
		return tp_err_set(e, TP_EDATA, "%s: empty: no header line",
		    s->name);
	size_t n = tp_csv_nfields(s->csv);
	if (enc->target_col >= 0 && n + 1 == (size_t)enc->ncols) {
		int rc = without_target(enc, &s->view, e);
		if (rc != TP_OK)
			return rc;
		s->own_cols = 1;
	} else {
		s->view = *enc;
	}
	return tp_encoding_check_header(&s->view, tp_csv_fields(s->csv), n,
	    s->name, e);
}

int
tp_predict_source_open(tp_predict_source **out, FILE *f, const char *name,
    int csv, const tp_encoding *enc, tp_err *e)
{
	tp_predict_source *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL || (s->name = strdup(name)) == NULL) {
		free(s);
		return tp_err_nomem(e, "an input");
	}
	s->model = enc;
	if (csv) {
		if ((rc = tp_csv_open(&s->csv, f, name, e)) == TP_OK)
			rc = csv_header(s, e);
	} else if ((rc = tp_stream_reader_open(&s->stream, f, name, e)) ==
	    TP_OK) {
		const char *fp = tp_stream_encoding(s->stream)->fingerprint;
		if (strcmp(fp, enc->fingerprint) != 0)
			rc = tp_err_set(e, TP_EDATA,
			    "%s: encoded with %.12s..., the model with %.12s...: ingest the data with the model's encoding, or give the CSV with --csv",
			    name, fp, enc->fingerprint);
	}
	if (rc != TP_OK) {
		tp_predict_source_close(s);
		return rc;
	}
	*out = s;
	return TP_OK;
}

void
tp_predict_source_close(tp_predict_source *s)
{
	if (s == NULL)
		return;
	tp_stream_reader_close(s->stream);
	tp_csv_close(s->csv);
	if (s->own_cols)
		free(s->view.cols);
	free(s->name);
	free(s);
}

static long
read_csv(tp_predict_source *s, tp_batch *b, tp_err *e)
{
	size_t ncols = (size_t)s->view.ncols;
	int r = 0;

	while (b->n < b->cap && (r = tp_csv_next(s->csv, e)) > 0) {
		int rc;
		s->record++;
		if (tp_csv_nfields(s->csv) != ncols)
			rc = tp_err_set(e, TP_EDATA, "expected %zu fields, found %zu",
			    ncols, tp_csv_nfields(s->csv));
		else
			rc = tp_encoding_encode(&s->view, tp_csv_fields(s->csv),
			    s->record, tp_batch_row(b, b->n), NULL, e);
		if (rc != TP_OK)
			return tp_err_prefix(e, "%s:%ld", s->name,
			    tp_csv_line(s->csv)), -1;
		b->n++;
	}
	return r < 0 ? -1 : (long)b->n;
}

long
tp_predict_source_read(tp_predict_source *s, tp_batch *b, tp_err *e)
{
	long got = 1;

	b->n = 0;
	if (s->csv != NULL)
		return read_csv(s, b, e);
	/* A stream gives a block at a time: fill the batch, so that a stream
	 * and the CSV it came from are scored in the same batches. */
	while (b->n < b->cap && (got = tp_stream_read(s->stream, b,
	    b->cap - b->n, e)) > 0)
		;
	return got < 0 ? -1 : (long)b->n;
}

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
tp_predict_parse_request(const tp_encoding *enc, const char *line,
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

void
tp_predlog_init(tp_predlog *l, tp_db *db, int64_t run)
{
	memset(l, 0, sizeof(*l));
	l->db = db;
	l->run = run;
	l->max_rows = TP_PREDLOG_ROWS;
	l->max_wait = TP_PREDLOG_WAIT;
}

void
tp_predlog_free(tp_predlog *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = l->rows = 0;
}

double
tp_predlog_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
reserve(tp_predlog *l, size_t more, tp_err *e)
{
	if (l->len + more <= l->cap)
		return TP_OK;
	size_t cap = l->cap ? l->cap : 4096;
	while (cap < l->len + more)
		cap *= 2;
	char *nb = realloc(l->buf, cap);
	if (nb == NULL)
		return tp_err_nomem(e, "the prediction log");
	l->buf = nb;
	l->cap = cap;
	return TP_OK;
}

int
tp_predlog_add(tp_predlog *l, const char *model_sha256, int64_t id,
    float prob, int label, const char *features, tp_err *e)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "%lld\t%s\t%lld\t%.9g\t%d\t",
	    (long long)l->run, model_sha256, (long long)id, (double)prob, label);
	size_t flen = features != NULL ? strlen(features) : 0;
	int rc;

	/* Escaping can at most double the features' bytes. */
	if ((rc = reserve(l, (size_t)n + 2 * flen + 3, e)) != TP_OK)
		return rc;
	memcpy(l->buf + l->len, head, (size_t)n);
	l->len += (size_t)n;
	if (features == NULL) {
		memcpy(l->buf + l->len, "\\N", 2);
		l->len += 2;
	}
	for (size_t i = 0; i < flen; i++) {
		/* COPY's text format: a backslash starts an escape, and tab and
		 * line ends delimit. */
		char c = features[i], *p = l->buf + l->len;
		const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" :
		    c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
		if (esc != NULL) {
			memcpy(p, esc, 2);
			l->len += 2;
		} else {
			*p = c;
			l->len++;
		}
	}
	l->buf[l->len++] = '\n';
	if (l->rows++ == 0)
		l->since = tp_predlog_clock();
	if (tp_predlog_due(l, tp_predlog_clock()))
		return tp_predlog_flush(l, e);
	return TP_OK;
}

int
tp_predlog_due(const tp_predlog *l, double now)
{
	return l->rows > 0 && (l->rows >= l->max_rows ||
	    now - l->since >= l->max_wait);
}

double
tp_predlog_wait(const tp_predlog *l, double now)
{
	if (l->rows == 0)
		return -1;
	double left = l->since + l->max_wait - now;
	return left > 0 ? left : 0;
}

static int
copy_error(tp_predlog *l, PGresult *r, size_t rows, tp_err *e)
{
	char what[64];

	snprintf(what, sizeof(what), "logging %zu prediction%s failed", rows,
	    rows == 1 ? "" : "s");
	return tp_db_failure(l->db, r, what, e);
}

int
tp_predlog_flush(tp_predlog *l, tp_err *e)
{
	PGconn *conn = l->db->conn;
	size_t rows = l->rows;
	PGresult *r;
	int rc = TP_OK;

	if (rows == 0)
		return TP_OK;
	r = PQexec(conn, "COPY predictions (run_id, model_sha256, row_id, "
	    "probability, label, features) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = copy_error(l, r, rows, e);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	if (PQputCopyData(conn, l->buf, (int)l->len) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1)
		rc = copy_error(l, NULL, rows, e);
	/* The statement's results are read to the end whatever happened, so
	 * that the connection is ready for the next one. */
	while ((r = PQgetResult(conn)) != NULL) {
		if (rc == TP_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = copy_error(l, r, rows, e);
		PQclear(r);
		if (PQstatus(conn) == CONNECTION_BAD)
			break;
	}
out:
	if (rc == TP_OK)
		l->logged += rows;
	else
		l->lost += rows;
	l->len = l->rows = 0;
	return rc;
}

int
tp_predict_run(tp_predictor *p, tp_predict_source *src, FILE *out,
    enum tp_predict_format fmt, tp_predlog *log, tp_predict_counts *c,
    tp_err *e)
{
	tp_batch b = {0};
	float *prob = NULL;
	long got;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = tp_batch_init(&b, p->enc.ncat, p->enc.nnum,
	    TP_STREAM_BLOCK_ROWS, e)) != TP_OK)
		return rc;
	if ((prob = malloc(b.cap * sizeof(*prob))) == NULL) {
		rc = tp_err_nomem(e, "the probabilities");
		goto out;
	}
	tp_predict_write_header(out, fmt);
	while ((got = tp_predict_source_read(src, &b, e)) > 0) {
		if ((rc = p->scorer != NULL ? tp_scorer_run(p->scorer, &b, prob, e) :
		    tp_score(&p->model, &b, prob, e)) != TP_OK)
			goto out;
		for (size_t i = 0; i < b.n; i++) {
			int label = tp_predictor_label(p, prob[i]);
			tp_predict_write(out, fmt, b.id[i], prob[i], label, 0);
			c->positives += (uint64_t)label;
			if (log != NULL && (rc = tp_predlog_add(log, p->sha256,
			    b.id[i], prob[i], label, NULL, e)) != TP_OK)
				goto out;
		}
		c->rows += b.n;
		if (ferror(out)) {
			rc = tp_err_set(e, TP_EIO, "output: write error: %s",
			    strerror(errno));
			goto out;
		}
	}
	if (got < 0)
		rc = e->code;
out:
	free(prob);
	tp_batch_free(&b);
	return rc;
}
