/*
 * ingest: CSV files, or the rows of a PostgreSQL query, to tensor streams.
 *
 * Fitting an encoding reads the input twice, a third time to write it:
 * first to infer each column's kind and the target's values, then to count
 * categories and compute numeric statistics on the rows that go to training,
 * then to encode and write. Memory grows with the number of distinct
 * categories, never with the number of rows; standard input is spooled to a
 * temporary file so that it can be read again. Applying a saved encoding
 * reads the input once.
 *
 * A query's rows are records like a CSV file's: the result's column names
 * are the header, each value is a field of its text, and NULL is a missing
 * value. The query runs once, read-only, into a scrollable cursor that each
 * pass reads from the start, in batches: every pass sees the same rows in
 * the same order.
 *
 * Kind inference: the options' target and id name those columns; a schema
 * file may give any column's kind; otherwise a column named "id" (in any
 * case) whose values are all integers is the id, a column in which at least
 * 95 % of the present values are numbers is numeric (the others are then bad
 * rows), and any other column is categorical.
 *
 * The split is stratified and deterministic: the rows of each class (bad,
 * good, unlabelled) are dealt, in input order, in runs of P rows, P the sum of
 * the parts (100 for 70/15/15); each run gets a permutation, drawn from the
 * seed, of exactly as many rows for each part as its share.
 *
 * A shard (data/shard.h) of CSV files is cut by bytes: with S bytes in all
 * the files taken as one, a record whose first byte is byte b goes to shard
 * floor(N b / S) + 1. The records before a shard's are read and counted,
 * not encoded, so that each record keeps the number it has in the whole
 * input (its id, without an id column); the reading stops at the first
 * record after the shard's. The files must be files, not pipes; a shard
 * applies an encoding (it fits none, which would differ between shards)
 * and writes one stream (no split).
 */
#ifndef TP_INGEST_H
#define TP_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/option.h"
#include "data/encoding.h"
#include "data/shard.h"
#include "data/stream.h"
#include "db/db.h"

enum { TP_SPLIT_MAX = 3 };

typedef struct {
	const char *target;    /* target column, or NULL */
	const char *positive;  /* the target's positive value, or NULL */
	const char *id;        /* id column, or NULL */
	const char *schema;    /* path of a schema JSON file, or NULL */
	long min_count;        /* fit: least count for a category to be kept */
	long max_vocab;        /* fit: most categories kept per column; 0: all */
	int split[TP_SPLIT_MAX]; /* parts of the split, e.g. 70, 15, 15 */
	int nsplit;            /* number of parts; 0 or 1: no split */
	uint64_t seed;         /* seed of the split */
	long max_rejects;      /* bad rows to skip before failing; 0: none */
	tp_shard shard;        /* write: the shard of the CSV files to encode,
	                          by bytes (data/shard.h), each record still
	                          numbered as in the whole input; no split */
	FILE *rejects;         /* where skipped rows are copied verbatim (a
	                          query's as CSV lines), or NULL */
	/* Told of each skipped row, with its "file:line: what"; may be NULL. */
	void (*on_reject)(void *ctx, const char *msg);
	void *ctx;
} tp_ingest_opts;

typedef struct {
	uint64_t read;                  /* data rows read */
	uint64_t rejected;              /* rows skipped */
	uint64_t written[TP_SPLIT_MAX]; /* rows written to each output */
} tp_ingest_counts;

typedef struct {
	const char *name; /* for messages */
	FILE *f;          /* a CSV file: open, and rewindable when fitting */
	int owned;        /* f is ours to close */
	int read;         /* a pass has read it: the next one rewinds */
	tp_db *db;        /* a query: the connection of its cursor; NULL for
	                     a file */
} tp_input;

/* Opens paths ("-": standard input, spooled to a temporary file when
 * rewindable is set). */
int tp_inputs_open(tp_input **out, char *const *paths, int n, int rewindable,
    tp_err *e);
void tp_inputs_close(tp_input *in, int n);
/* Opens the rows of sql, the user's own query (one SELECT, VALUES or
 * TABLE statement), as one input named "query". It runs at once, in a
 * transaction set read-only; its errors are TP_EUSAGE for a query that
 * cannot run as written (syntax, unknown names), TP_ENOPERM for one that
 * is not allowed (a write, a table the role may not read), TP_EDATA for
 * one that fails on its data. Its rows are named "query row N" in
 * messages, N from 1. */
int tp_input_query(tp_input **out, tp_db *db, const char *sql, tp_err *e);

/* Fits an encoding on the inputs (on the training part when splitting):
 * on at least one row, or TP_EDATA. Errors of the header name its place,
 * and those of the target's values as a whole the inputs. */
int tp_ingest_fit(const tp_ingest_opts *o, tp_input *in, int nin,
    tp_encoding *enc, tp_err *e);

/* Encodes the inputs with enc into out[0] (or out[0..nsplit-1] when
 * splitting), and counts. An input whose header lacks exactly the target
 * column is read with labels missing (tp_encoding_view). */
int tp_ingest_write(const tp_ingest_opts *o, tp_input *in, int nin,
    const tp_encoding *enc, tp_stream_writer **out, tp_ingest_counts *counts,
    tp_err *e);

/* Parses "70/15/15" into o->split and o->nsplit. */
int tp_ingest_parse_split(tp_ingest_opts *o, const char *s, tp_err *e);

/* The options over tp_ingest_opts (lib/base/option.h): --target, --split,
 * --min-count, ... */
extern const tp_opt tp_ingest_options[];

/* Where ingest writes: one stream, or with a split a file for each part,
 * PREFIX.train.tps, PREFIX.valid.tps and PREFIX.test.tps (PREFIX.train.tps
 * and PREFIX.test.tps for two parts). Each appears under its name only
 * when whole; after a failure none does. */
typedef struct {
	const char *output;    /* without a split: the stream, "-" for
	                          standard output */
	const char *prefix;    /* with a split */
	const char *rejects;   /* where rejected rows go, or NULL */
	int n;                 /* outputs written */
	char name[TP_SPLIT_MAX][4096];      /* each one's name */
	char fingerprint[TP_SPLIT_MAX][65]; /* of each one's rows */
} tp_ingest_outputs;

/* The name of part i of o's split: "train", "valid" or "test". */
const char *tp_ingest_part(const tp_ingest_opts *o, int i);

/* Encodes the inputs with enc into out's files (tp_ingest_write), and
 * counts. */
int tp_ingest_files(const tp_ingest_opts *o, tp_input *in, int nin,
    const tp_encoding *enc, tp_ingest_outputs *out,
    tp_ingest_counts *counts, tp_err *e);

#endif
