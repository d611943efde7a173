/*
 * encoding: how the columns of a CSV file become the numbers of a tensor
 * stream, and back.
 *
 * An encoding lists the columns in their CSV order, each with a kind. Each
 * categorical feature has a vocabulary: value i of the vocabulary is encoded
 * as index i + 1, and index 0 stands for a missing value or one that is not
 * in the vocabulary (unseen). Each numeric feature is standardised,
 * (x - mean) / std, and a missing one is NaN. The target becomes label 1 for
 * the positive value, 0 for the other one and -1 when missing. The id column,
 * if any, must hold integers; without one a row's id is its record number in
 * the input (1 for the first data row). Every field is UTF-8 text without
 * NUL bytes, which the JSON form and C strings can keep; a number whose
 * standardised float32 would be infinite is a bad value, so that a stream
 * holds none.
 *
 * The encoding is kept as JSON (the stream's header, the --fit file, a
 * model's metadata) with a fingerprint: the SHA-256 of its compact JSON
 * without the fingerprint, so that two encodings are the same exactly when
 * their fingerprints are.
 */
#ifndef TP_ENCODING_H
#define TP_ENCODING_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/strmap.h"
#include "data/csv.h"

enum tp_kind {
	TP_KIND_IGNORE,      /* read and dropped */
	TP_KIND_NUMERIC,
	TP_KIND_CATEGORICAL,
	TP_KIND_ID,
	TP_KIND_TARGET,
};

typedef struct {
	char *name;        /* the CSV header's name */
	enum tp_kind kind;
	int slot;          /* feature number among its kind (cat or num), else -1 */
	tp_strmap vocab;   /* categorical: value -> index - 1 */
	double mean, std;  /* numeric: standardisation; std > 0 */
} tp_column;

typedef struct {
	tp_column *cols;   /* (ncols) in CSV order */
	int ncols;
	int ncat, nnum;    /* number of categorical and numeric features */
	int id_col;        /* column index of the id, or -1 */
	int target_col;    /* column index of the target, or -1 */
	char *labels[2];   /* target values of label 0 and 1; labels[0] may be
	                      NULL when no negative value was seen */
	char fingerprint[65];
} tp_encoding;

/* One row of a tensor stream: pointers into a batch (see stream.h). */
typedef struct {
	int64_t *id;
	int32_t *cat;      /* (ncat) */
	float *num;        /* (nnum) */
	int8_t *label;
} tp_row;

void tp_encoding_free(tp_encoding *enc); /* accepts NULL and zeroed */

/* Whether categorical column c, fitted on `rows` training rows, has about
 * a value for each row, as an identifier or free text has: more
 * categories than half the rows, and at least TP_ROW_NAMES_MIN. Its
 * values tell the training rows apart, which a model learns by heart and
 * which says nothing of new rows. */
#define TP_ROW_NAMES_MIN 50
int tp_column_names_rows(const tp_column *c, uint64_t rows);

const char *tp_kind_name(enum tp_kind kind);
int tp_kind_parse(const char *s, enum tp_kind *kind);

/* The JSON form, fingerprint included; NULL on no memory. */
cJSON *tp_encoding_to_json(const tp_encoding *enc);
/* Reads the JSON form and checks it: kinds, vocabularies without repeats,
 * std > 0, and the fingerprint. where names the source in messages. */
int tp_encoding_from_json(tp_encoding *enc, const cJSON *json,
    const char *where, tp_err *e);
/* Sets enc->fingerprint from the rest of enc. */
int tp_encoding_fingerprint(tp_encoding *enc, tp_err *e);

int tp_encoding_load(tp_encoding *enc, const char *path, tp_err *e);
/* Writes the JSON form to path atomically. */
int tp_encoding_save(const tp_encoding *enc, const char *path, tp_err *e);

/* Checks that a CSV header's names are text (tp_field_check_text), and
 * then that they are the encoding's columns in its order. where is the
 * header's place in messages, "file:line". */
int tp_encoding_check_names(const tp_field *fields, size_t nfields,
    const char *where, tp_err *e);
int tp_encoding_check_header(const tp_encoding *enc, const tp_field *fields,
    size_t nfields, const char *where, tp_err *e);

/* The encoding that reads the records under a CSV header: a view of enc
 * with all its columns, or, when the header has one column fewer and enc
 * a target, the view without the target column, for new data that lacks
 * its outcome: its rows are unlabelled (label -1). The header is checked
 * against the view (tp_encoding_check_header). A view shares enc's names,
 * vocabularies, labels and fingerprint, so enc must outlive it; only its
 * columns array is its own, freed by tp_encoding_view_free (which accepts
 * a zeroed view, and leaves one). On failure *view is zeroed. */
int tp_encoding_view(tp_encoding *view, const tp_encoding *enc,
    const tp_field *fields, size_t nfields, const char *where, tp_err *e);
void tp_encoding_view_free(tp_encoding *view);

/* Encodes one record into row; record is its record number, used as id when
 * there is no id column. *unseen gets a 1 for each categorical feature whose
 * value is present but not in the vocabulary, if unseen is not NULL.
 * On bad data returns TP_EDATA with "column N (NAME): what" in e: a field
 * of any column whose text is not UTF-8 or holds a NUL byte
 * (tp_field_check_text), a number that does not parse or whose
 * standardised float32 is not finite, or does not decode to a finite
 * number, an id that is not an integer, a target that is neither label. */
int tp_encoding_encode(const tp_encoding *enc, const tp_field *fields,
    int64_t record, tp_row row, uint8_t *unseen, tp_err *e);

/* A finite number x of numeric column c as a stream holds it: 0 with
 * z = (x - mean) / std as a float32 in *out, or -1 when that float32 is
 * not finite or would not decode to a finite number (z * std + mean), a
 * value that no stream could hold or give back. */
int tp_encoding_standardise(const tp_column *c, double x, float *out);
/* The value in the CSV's units of a stream's z of numeric column c: the
 * decimal of fewest places within what the float32 that held it vouches
 * for (std |z| 2^-24), which reads as the CSV wrote it, 67 and 0 rather
 * than 66.9999987 and 2e-07; z * std + mean itself where none is that
 * near. For what tools say of a stream's values (its extremes, the edges
 * of bins), not for rewriting it (see tp_encoding_write_row). */
double tp_encoding_decode(const tp_column *c, double z);

/* The label of a target field: 0, 1, or -1 for missing; -2 if the value is
 * neither label. */
int tp_encoding_label(const tp_encoding *enc, const tp_field *f);

/* Writes the CSV header line, and a row as CSV with category names and
 * numbers restored: what the encoding can give back of the input. Ignored
 * columns are left out. */
void tp_encoding_write_header(const tp_encoding *enc, FILE *f);
void tp_encoding_write_row(const tp_encoding *enc, FILE *f, tp_row row);

#endif
