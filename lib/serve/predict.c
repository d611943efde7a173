#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "data/csv.h"
#include "model/score.h"
#include "serve/predict.h"

int
tp_predictor_open(tp_predictor *p, tp_db *db, const char *ref, int nthreads,
    const tp_why_opts *why, tp_err *e)
{
	int explain = why != NULL && why->k > 0, rc;

	memset(p, 0, sizeof(*p));
	if ((rc = tp_version_load(&p->vm, db, ref, TP_WITH_HEAD |
	    (why != NULL ? TP_WITH_EXPLAIN : 0), nthreads, e)) != TP_OK ||
	    (rc = tp_model_freeze(&p->vm.model, e)) != TP_OK) {
		tp_predictor_free(p);
		return rc;
	}
	if (explain && (rc = tp_why_open(&p->why, &p->vm.model, &p->vm.meta,
	    &p->vm.enc, why, e)) != TP_OK) {
		/* Which model lacks its reference; a reasons file names itself. */
		if (p->vm.meta.reference.rows == 0)
			tp_err_prefix(e, "%s", ref);
		tp_predictor_free(p);
	}
	return rc;
}

void
tp_predictor_free(tp_predictor *p)
{
	tp_scorer_close(p->scorer);
	tp_why_free(&p->why);
	tp_versioned_model_free(&p->vm);
	memset(p, 0, sizeof(*p));
}

int
tp_predictor_label(const tp_predictor *p, float prob)
{
	return (double)prob >= p->vm.meta.threshold;
}

void
tp_predict_write_header(FILE *f, enum tp_predict_format fmt, int k)
{
	if (fmt != TP_PREDICT_CSV)
		return;
	fputs("id,probability,label", f);
	tp_why_csv_header(f, k);
	fputc('\n', f);
}

void
tp_predict_write(FILE *f, enum tp_predict_format fmt, int64_t id,
    float prob, int label, int version, const tp_why *why, size_t i)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", (long long)id);
	if (fmt != TP_PREDICT_CSV) {
		tp_predict_write_line(f, text, prob, label, version, why, i);
		return;
	}
	fprintf(f, "%s,%.9g,%d", text, (double)prob, label);
	if (why != NULL)
		tp_why_csv(f, why, i);
	fputc('\n', f);
}

void
tp_predict_write_line(FILE *f, const char *id, float prob, int label,
    int version, const tp_why *why, size_t i)
{
	fprintf(f, "{\"id\":%s,\"probability\":%.9g,\"label\":%d", id,
	    (double)prob, label);
	if (version > 0)
		fprintf(f, ",\"version\":%d", version);
	if (why != NULL)
		tp_why_json(f, why, i);
	fputs("}\n", f);
}

void
tp_predict_write_error(FILE *f, const char *msg, const char *code,
    const char *field)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	if (j != NULL) {
		cJSON_AddStringToObject(j, "error", msg);
		if (code != NULL)
			cJSON_AddStringToObject(j, "code", code);
		if (field != NULL && *field != '\0')
			cJSON_AddStringToObject(j, "field", field);
	}
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
	tp_encoding view;          /* the view of it the CSV is read with */
	int64_t record;            /* CSV data records read */
	char *name;
};

/* The header, and the view of the model's encoding that reads the rows
 * under it: with the target column or without. */
static int
csv_header(tp_predict_source *s, tp_err *e)
{
	char where[4096];
	int r = tp_csv_next(s->csv, e);

	if (r < 0)
		return e->code;
	if (r == 0)
		return tp_err_set(e, TP_EDATA, "%s: empty: no header line",
		    s->name);
	snprintf(where, sizeof(where), "%s:%ld", s->name, tp_csv_line(s->csv));
	return tp_encoding_view(&s->view, s->model, tp_csv_fields(s->csv),
	    tp_csv_nfields(s->csv), where, e);
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
	tp_encoding_view_free(&s->view);
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
	if ((rc = tp_batch_init(&b, p->vm.enc.ncat, p->vm.enc.nnum,
	    TP_STREAM_BLOCK_ROWS, e)) != TP_OK)
		return rc;
	if ((prob = malloc(b.cap * sizeof(*prob))) == NULL) {
		rc = tp_err_nomem(e, "the probabilities");
		goto out;
	}
	const tp_why *why = p->why.k > 0 ? &p->why : NULL;
	tp_predict_write_header(out, fmt, p->why.k);
	while ((got = tp_predict_source_read(src, &b, e)) > 0) {
		if ((rc = p->scorer != NULL ? tp_scorer_run(p->scorer, &b, prob, e) :
		    tp_score(&p->vm.model, &b, prob, e)) != TP_OK ||
		    (why != NULL && (rc = tp_why_rows(&p->why, &b, e)) != TP_OK))
			goto out;
		for (size_t i = 0; i < b.n; i++) {
			int label = tp_predictor_label(p, prob[i]);
			tp_predict_write(out, fmt, b.id[i], prob[i], label, 0, why, i);
			c->positives += (uint64_t)label;
			tp_prediction logged = {.model_sha256 = p->vm.meta.sha256,
			    .model_version = p->vm.version.version, .id = b.id[i],
			    .prob = prob[i], .label = label, .latency = -1};
			if (log != NULL && (rc = tp_predlog_add(log, &logged, e)) !=
			    TP_OK)
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
