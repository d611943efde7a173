/*
 * predict: a model scoring rows, and its predictions written and logged
 * (lib/db/predlog.h).
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
 * serving mode is one JSON object of raw feature values, made into one row
 * (lib/data/request.h).
 *
 * Predictions are "id,probability,label" CSV or JSON lines; the label is 1
 * when the probability reaches the model's threshold. Probabilities are
 * printed with %.9g, which gives a float32 back exactly.
 */
#ifndef TP_PREDICT_H
#define TP_PREDICT_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/shard.h"
#include "data/stream.h"
#include "db/db.h"
#include "db/predlog.h"
#include "model/score.h"
#include "registry/version.h"
#include "serve/why.h"

typedef struct {
	tp_versioned_model vm; /* the model, its encoding, threshold, file,
	                          SHA-256 and registered version */
	tp_scorer *scorer;     /* the device that tp_predict_run scores on
	                          (owned); NULL: the CPU */
	tp_why why;            /* the reasons it gives; k 0: none */
} tp_predictor;

/* Loads the model ref names (tp_version_load: a file, or with a database
 * a registry reference such as "loans@production") for scoring on
 * nthreads threads. With why, the load keeps what reasons need (the
 * reference profile and texts, in p->vm.meta), and with why->k above 0
 * p gives them (p->why); a model without a reference profile is then
 * TP_EDATA. p is initialised here. */
int tp_predictor_open(tp_predictor *p, tp_db *db, const char *ref,
    int nthreads, const tp_why_opts *why, tp_err *e);
void tp_predictor_free(tp_predictor *p); /* accepts a zeroed p */

/* 1 when prob reaches the model's threshold. */
int tp_predictor_label(const tp_predictor *p, float prob);

enum tp_predict_format { TP_PREDICT_CSV, TP_PREDICT_JSONL };

/* The CSV header line ("id,probability,label", and the columns of k
 * reasons, lib/serve/why.h); nothing for JSON lines. */
void tp_predict_write_header(FILE *f, enum tp_predict_format fmt, int k);
/* One prediction; version (JSON lines only) is left out when 0; with why
 * (not NULL), row i of the rows it explained last gives its reasons. */
void tp_predict_write(FILE *f, enum tp_predict_format fmt, int64_t id,
    float prob, int label, int version, const tp_why *why, size_t i);
/* The same as a JSON line whose id is JSON text: a number, or a string as
 * a request wrote it, quotes included. */
void tp_predict_write_line(FILE *f, const char *id, float prob, int label,
    int version, const tp_why *why, size_t i);
/* {"error":"msg","code":"code","field":"field"} and a newline, escaped
 * as JSON needs; code and field are left out when NULL or "" (the codes
 * are lib/data/request.h's). */
void tp_predict_write_error(FILE *f, const char *msg, const char *code,
    const char *field);

/* Rows to score. */
typedef struct tp_predict_source tp_predict_source;

/* Reads the files of paths[0..n-1] ("-": standard input) one after the
 * other as tensor streams of one encoding (lib/data/shard.h), or as CSV
 * files when csv is set, for a model of encoding enc, which must outlive
 * the source; with shard (may be NULL), only its part: the streams' blocks,
 * or the records that start in its bytes of the CSV files taken as one
 * (as tabpipe-ingest cuts them, lib/data/ingest.h). CSV records are
 * numbered over the files, the ids of a CSV without an id column. Every
 * file is opened at once; a stream of another encoding is TP_EDATA. */
int tp_predict_source_open(tp_predict_source **out, char *const *paths,
    int n, const tp_shard *shard, int csv, const tp_encoding *enc,
    tp_err *e);
void tp_predict_source_close(tp_predict_source *s); /* accepts NULL */
/* Replaces b's rows with up to b->cap new ones (b shaped as enc). Returns
 * the number of rows, 0 at the end, -1 on bad data or a read error; a bad
 * CSV row is "name:line: column N (NAME): what". */
long tp_predict_source_read(tp_predict_source *s, tp_batch *b, tp_err *e);

typedef struct {
	uint64_t rows;         /* rows scored */
	uint64_t positives;    /* of which label 1 */
} tp_predict_counts;

/* Scores every row of src with p, a batch at a time, writes the predictions
 * (and the reasons p gives) to out (the header first for CSV), and adds
 * them to log when it is not NULL. A write error on out is TP_EIO. */
int tp_predict_run(tp_predictor *p, tp_predict_source *src, FILE *out,
    enum tp_predict_format fmt, tp_predlog *log, tp_predict_counts *c,
    tp_err *e);

#endif
