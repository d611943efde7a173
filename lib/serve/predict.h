/*
 * predict: a model scoring rows, and its predictions written and logged.
 *
 * A predictor is a loaded model with what scoring needs besides weights:
 * its encoding, decision threshold, the SHA-256 of its file and, when the
 * model is in the registry, its version. It is replaced whole when the model
 * is reloaded, so that a reload that fails leaves the old one serving.
 *
 * Rows come from a source, a batch at a time: a tensor stream, which must
 * be encoded with the model's encoding (the same fingerprint), or raw CSV,
 * encoded here with the encoding stored in the model as tabpipe-ingest
 * --encoding would encode it, except that the header may leave out the
 * target column (data to score has no outcome yet). A request of the
 * serving mode is one JSON object of raw feature values, made into one row.
 *
 * Predictions are "id,probability,label" CSV or JSON lines; the label is 1
 * when the probability reaches the model's threshold. Probabilities are
 * printed with %.9g, which gives a float32 back exactly.
 *
 * The prediction log buffers rows in COPY's text format and sends them to
 * the predictions table with one COPY FROM STDIN (one statement, so one
 * transaction) when enough rows are waiting or the oldest has waited long
 * enough, and when closed.
 */
#ifndef TP_PREDICT_H
#define TP_PREDICT_H

#include <stdint.h>
#include <stdio.h>

#include "db/db.h"
#include "data/encoding.h"
#include "base/err.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "data/stream.h"

typedef struct {
	tp_model model;
	tp_encoding enc;       /* the encoding stored in the model file */
	tp_model_meta meta;    /* threshold, training run */
	char *path;            /* the model file */
	char sha256[65];       /* of the file's bytes */
	int version;           /* registry version, 0 when not registered */
	struct tp_scorer *scorer; /* the device that tp_predict_run scores on
	                             (lib/train/train.h, owned); NULL: the CPU */
} tp_predictor;

/* Loads a model named by ref: a file or, with a database, a registry
 * reference such as "loans@production" (tp_db_resolve_model). With a
 * database, a file that is a registered version gets that version. p is
 * initialised here; nthreads is the number of scoring threads. */
int tp_predictor_open(tp_predictor *p, tp_db *db, const char *ref,
    int nthreads, tp_err *e);
void tp_predictor_free(tp_predictor *p); /* accepts a zeroed p */

/* 1 when prob reaches the model's threshold. */
int tp_predictor_label(const tp_predictor *p, float prob);

enum tp_predict_format { TP_PREDICT_CSV, TP_PREDICT_JSONL };

/* The CSV header line ("id,probability,label"); nothing for JSON lines. */
void tp_predict_write_header(FILE *f, enum tp_predict_format fmt);
/* One prediction; version (JSON lines only) is left out when 0. */
void tp_predict_write(FILE *f, enum tp_predict_format fmt, int64_t id,
    float prob, int label, int version);
/* {"error":"msg"} and a newline, msg escaped as JSON needs. */
void tp_predict_write_error(FILE *f, const char *msg);

/* Rows to score. */
typedef struct tp_predict_source tp_predict_source;

/* Reads f (the caller's; name in messages) as a tensor stream, or as CSV
 * when csv is set, for a model of encoding enc, which must outlive the
 * source. A stream of another encoding is TP_EDATA. */
int tp_predict_source_open(tp_predict_source **out, FILE *f,
    const char *name, int csv, const tp_encoding *enc, tp_err *e);
void tp_predict_source_close(tp_predict_source *s); /* accepts NULL */
/* Replaces b's rows with up to b->cap new ones (b shaped as enc). Returns
 * the number of rows, 0 at the end, -1 on bad data or a read error; a bad
 * CSV row is "name:line: column N (NAME): what". */
long tp_predict_source_read(tp_predict_source *s, tp_batch *b, tp_err *e);

/* Makes one request, a JSON object of feature values by column name, into
 * row (shaped as enc): numbers (or strings holding one) for numeric
 * columns, strings (or numbers) for categorical ones, null or absence for a
 * missing value; a category not in the vocabulary is unseen. Values of the
 * target and of ignored columns are accepted and not used. The id is the
 * member "id" (or the encoding's id column), an integer; record when there
 * is none. A malformed request is TP_EDATA with why in e. When features is
 * not NULL it gets the request as compact JSON, to free. */
int tp_predict_parse_request(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, tp_err *e);

/* The prediction log. Zeroed with db set, or initialised: */
typedef struct {
	tp_db *db;             /* where the predictions table is */
	int64_t run;           /* the run the rows belong to */
	size_t max_rows;       /* send when this many rows wait */
	double max_wait;       /* or when the oldest has waited this long (s) */
	char *buf;             /* rows in COPY text format */
	size_t len, cap;       /* bytes in buf, allocated */
	size_t rows;           /* rows in buf */
	double since;          /* tp_predlog_clock() when the oldest was added */
	uint64_t logged;       /* rows sent to the table */
	uint64_t lost;         /* rows dropped by sends that failed */
} tp_predlog;

enum { TP_PREDLOG_ROWS = 1000 };
#define TP_PREDLOG_WAIT 2.0

void tp_predlog_init(tp_predlog *l, tp_db *db, int64_t run);
/* Frees the buffer, sending nothing: flush first. */
void tp_predlog_free(tp_predlog *l);
/* Seconds on a monotonic clock. */
double tp_predlog_clock(void);
/* Adds one row (features: the request's JSON, or NULL) and sends the
 * buffer when it is due. */
int tp_predlog_add(tp_predlog *l, const char *model_sha256, int64_t id,
    float prob, int label, const char *features, tp_err *e);
/* Whether the buffer is due at time now; and the seconds until it will be
 * for its age, -1 when it is empty. */
int tp_predlog_due(const tp_predlog *l, double now);
double tp_predlog_wait(const tp_predlog *l, double now);
/* Sends the rows buffered, if any. On failure they are dropped (the buffer
 * is emptied either way) and the error says how many. */
int tp_predlog_flush(tp_predlog *l, tp_err *e);

typedef struct {
	uint64_t rows;         /* rows scored */
	uint64_t positives;    /* of which label 1 */
} tp_predict_counts;

/* Scores every row of src with p, a batch at a time, writes the predictions
 * to out (the header first for CSV), and adds them to log when it is not
 * NULL. A write error on out is TP_EIO. */
int tp_predict_run(tp_predictor *p, tp_predict_source *src, FILE *out,
    enum tp_predict_format fmt, tp_predlog *log, tp_predict_counts *c,
    tp_err *e);

#endif
