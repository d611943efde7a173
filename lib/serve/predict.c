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
	    (why != NULL ? TP_WITH_EXPLAIN : 0), nthreads, e)) != TP_OK) {
		tp_predictor_free(p);
		return rc;
	}
	tp_model_freeze(&p->vm.model);
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

/* A CSV file of the input. */
typedef struct {
	FILE *f;
	char *name;                /* in messages */
	uint64_t size;             /* its bytes, when the input is cut */
} csv_file;

struct tp_predict_source {
	tp_shard_reader *stream;   /* tensor streams, or */
	csv_file *files;           /* (n) CSV files, one after the other, */
	int n, cur;                /* the one read now */
	tp_csv *csv;               /* its reader, with: */
	tp_encoding view;          /* the view of the model's encoding that
	                              reads the rows under its header */
	const tp_encoding *model;  /* the model's encoding */
	int64_t record;            /* CSV data records read, over the files */
	tp_shard shard;            /* the CSV's shard, by bytes */
	uint64_t base;             /* the current file's first byte, of all */
	uint64_t lo, hi;           /* the shard's bytes, of all */
	int past;                  /* past the shard's last record */
};

/* Opens the next CSV file: its header, and the view of the model's
 * encoding that reads the rows under it, with the target column or
 * without. */
static int
csv_next_file(tp_predict_source *s, tp_err *e)
{
	const csv_file *cf = &s->files[s->cur];
	char where[4096];
	int r, rc;

	if ((rc = tp_csv_open(&s->csv, cf->f, cf->name, e)) != TP_OK)
		return rc;
	if ((r = tp_csv_next(s->csv, e)) < 0)
		return e->code;
	if (r == 0)
		return tp_err_set(e, TP_EDATA, "%s: empty: no header line",
		    cf->name);
	snprintf(where, sizeof(where), "%s:%ld", cf->name, tp_csv_line(s->csv));
	tp_encoding_view_free(&s->view);
	return tp_encoding_view(&s->view, s->model, tp_csv_fields(s->csv),
	    tp_csv_nfields(s->csv), where, e);
}

/* Opens every CSV file, and the first one's header; with a shard, the
 * bytes it holds. */
static int
csv_open(tp_predict_source *s, char *const *paths, int n, tp_err *e)
{
	uint64_t total = 0;
	int rc;

	if ((s->files = calloc((size_t)n, sizeof(*s->files))) == NULL)
		return tp_err_nomem(e, "the inputs");
	s->n = n;
	for (int i = 0; i < n; i++) {
		csv_file *cf = &s->files[i];
		for (int j = 0; j < i; j++)
			if (strcmp(paths[i], "-") == 0 && strcmp(paths[j], "-") == 0)
				return tp_err_set(e, TP_EUSAGE,
				    "standard input (-) is named twice: it can be read once");
		if ((cf->name = strdup(strcmp(paths[i], "-") ? paths[i] :
		    "standard input")) == NULL)
			return tp_err_nomem(e, "an input's name");
		if ((rc = tp_open_input(paths[i], &cf->f, e)) != TP_OK)
			return rc;
		if (tp_shard_cuts(&s->shard) && (rc = tp_shard_file_size(cf->f,
		    cf->name, &cf->size, e)) != TP_OK)
			return rc;
		total += cf->size;
	}
	tp_shard_range(&s->shard, total, &s->lo, &s->hi);
	if (!tp_shard_cuts(&s->shard))
		s->hi = UINT64_MAX;
	return csv_next_file(s, e);
}

int
tp_predict_source_open(tp_predict_source **out, char *const *paths, int n,
    const tp_shard *shard, int csv, const tp_encoding *enc, tp_err *e)
{
	tp_predict_source *s;
	int rc;

	*out = NULL;
	if (n < 1)
		return tp_err_set(e, TP_EINTERNAL, "no file to read rows from");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return tp_err_nomem(e, "an input");
	s->model = enc;
	if (shard != NULL)
		s->shard = *shard;
	if (csv)
		rc = csv_open(s, paths, n, e);
	else if ((rc = tp_shard_reader_open(&s->stream, paths, n, shard, e)) ==
	    TP_OK) {
		const char *fp = tp_shard_reader_encoding(s->stream)->fingerprint;
		if (strcmp(fp, enc->fingerprint) != 0)
			rc = tp_err_set(e, TP_EDATA,
			    "%s: encoded with %.12s..., the model with %.12s...: ingest the data with the model's encoding, or give the CSV with --csv",
			    tp_shard_reader_name(s->stream), fp, enc->fingerprint);
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
	tp_shard_reader_close(s->stream);
	tp_csv_close(s->csv);
	tp_encoding_view_free(&s->view);
	for (int i = 0; i < s->n; i++) {
		if (s->files[i].f != NULL)
			tp_close_input(s->files[i].f);
		free(s->files[i].name);
	}
	free(s->files);
	free(s);
}

/* The next record of the files that is the shard's: 1, 0 at the end, -1
 * on a failure. Records are numbered over the files, those of other
 * shards too. */
static int
csv_record(tp_predict_source *s, tp_err *e)
{
	int r, rc;

	while (!s->past) {
		if (s->csv == NULL) {
			if (s->cur == s->n || s->base >= s->hi)
				return 0;
			if ((rc = csv_next_file(s, e)) != TP_OK)
				return -1;
		}
		if ((r = tp_csv_next(s->csv, e)) < 0)
			return -1;
		if (r == 0) {
			tp_csv_close(s->csv);
			s->csv = NULL;
			tp_close_input(s->files[s->cur].f);
			s->files[s->cur].f = NULL;
			s->base += s->files[s->cur++].size;
			continue;
		}
		s->record++;
		uint64_t at = s->base + tp_csv_offset(s->csv);
		if (at >= s->hi)
			s->past = 1;
		else if (at >= s->lo)
			return 1;
	}
	return 0;
}

static long
read_csv(tp_predict_source *s, tp_batch *b, tp_err *e)
{
	int r = 0;

	while (b->n < b->cap && (r = csv_record(s, e)) > 0) {
		size_t ncols = (size_t)s->view.ncols;
		int rc;
		if (tp_csv_nfields(s->csv) != ncols)
			rc = tp_err_set(e, TP_EDATA, "expected %zu fields, found %zu",
			    ncols, tp_csv_nfields(s->csv));
		else
			rc = tp_encoding_encode(&s->view, tp_csv_fields(s->csv),
			    s->record, tp_batch_row(b, b->n), NULL, e);
		if (rc != TP_OK)
			return tp_err_prefix(e, "%s:%ld", tp_csv_name(s->csv),
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
	if (s->stream == NULL)
		return read_csv(s, b, e);
	/* A stream gives a block at a time: fill the batch, so that a stream
	 * and the CSV it came from are scored in the same batches. */
	while (b->n < b->cap && (got = tp_shard_read(s->stream, b,
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
