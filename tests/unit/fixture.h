/*
 * fixture: what several suites build before they test: small encodings,
 * of a few rows of loans in CSV or of features made up in memory, rows and
 * tiny models of them, files of text, and a PostgreSQL database of a
 * suite's own.
 *
 * A suite that needs the database gets a fresh one, test_unit_SUITE, on
 * the server of $TABPIPE_DB (sh scripts/pg-server run gives a throwaway
 * one), so that no suite sees another's rows. Without TABPIPE_DB the test
 * fails: a test that passes without running proves nothing.
 */
#ifndef TP_FIXTURE_H
#define TP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/encoding.h"
#include "data/ingest.h"
#include "data/stream.h"
#include "db/db.h"
#include "model/model.h"
#include "model/modelfile.h"

/* Five loans; the target comes first, so that leaving it out shifts every
 * column. */
#define FIXTURE_CSV \
	"status,id,home,age\n" \
	"bad,11,rent,30\n" \
	"good,12,own,40\n" \
	"good,13,7,50\n" \
	"bad,14,rent,NA\n" \
	"good,15,own,60\n"

/* A new empty folder from dir, a path ending in XXXXXX (put back each
 * time, so that one template serves every test); and the folder removed
 * with all it holds. */
void fixture_folder(char *dir);
void fixture_folder_remove(const char *dir);

/* Rows first to first + n of all, encoded with enc, as the stream file
 * dir/name; its path, to free. */
char *fixture_stream_file(const char *dir, const char *name,
    const tp_encoding *enc, const tp_batch *all, size_t first, size_t n);

/* A temporary file holding s, at its start. */
FILE *fixture_text_file(const char *s);

/* What f wrote, as a string to free. */
char *fixture_written(FILE *f);

/* The encoding of FIXTURE_CSV; a larger min_count gives a smaller
 * vocabulary, so another fingerprint. */
void fixture_fit(tp_encoding *enc, int min_count);

/* The index of column name in enc. */
int fixture_col(const tp_encoding *enc, const char *name);

/* The code of value in a categorical column: 0 (unseen) when it is not in
 * the vocabulary. */
int32_t fixture_category(const tp_encoding *enc, const char *column,
    const char *value);

/* A tiny model of enc, from seed, saved to path (replacing what is there). */
void fixture_save_model(const tp_encoding *enc, uint64_t seed, double threshold,
    const char *path);

/* The server of TABPIPE_DB, or a failed test. */
const char *fixture_server(void);

/* The connection string of database dbname on the server of TABPIPE_DB,
 * to free: TABPIPE_DB's settings (a URI or keywords) with its dbname
 * replaced. */
char *fixture_conninfo(const char *dbname);

/* Another connection to the database of suite, as tool (what runs are
 * recorded as); the schema is migrated on the first. */
tp_db *fixture_db_connect(const char *suite, const char *tool);

/* Makes a new, empty database of suite's own, test_unit_SUITE, on the
 * server of TABPIPE_DB, and returns its connection string, to free. */
char *fixture_db_fresh(const char *suite);

/* A new, empty database of suite's own, test_unit_SUITE, migrated, and a
 * connection to it as tool. Made again by each test that calls it, so that
 * a test sees only its own rows. */
tp_db *fixture_db(const char *suite, const char *tool);

/* Runs sql, which must succeed. */
void fixture_exec(tp_db *db, const char *sql, int n,
    const char *const *params);

/* The one value that sql returns, as text to free; NULL for SQL's NULL. */
char *fixture_value(tp_db *db, const char *sql, int n,
    const char *const *params);

/* Whether the one value that sql returns is want (NULL: SQL's NULL). */
void fixture_value_is(tp_db *db, const char *sql, int n,
    const char *const *params, const char *want);
/* An encoding made up in memory: two categorical features (c0 of a, b,
 * c; c1 of x, y), two numeric ones (n0, n1) and a target y whose positive
 * value is "bad". */
void fixture_model_encoding(tp_encoding *enc);

/* n rows of fixture_model_encoding's shape drawn from seed, ids 1 to n,
 * about a tenth of n1 missing, labelled 1 mostly when n0 is high or c0 is
 * b: a signal that a model learns in a few epochs, with noise. */
void fixture_rows(tp_batch *b, size_t n, uint64_t seed);

/* A small model (1 layer of d_model 8) trained for 12 epochs on 400 of
 * fixture_rows, validated on 200, with 300 more to test it on. */
typedef struct {
	tp_encoding enc;
	tp_batch train, valid, test;
	tp_model m;
} fixture_trained;

void fixture_train(fixture_trained *t, int threads);
void fixture_untrain(fixture_trained *t);

#endif
