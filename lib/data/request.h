/*
 * request: one application as a JSON object of raw feature values, by
 * column name, encoded into a row as tabpipe-ingest --encoding would
 * encode the same values in CSV. The serving modes read requests (one a
 * line for tabpipe-predict --serve, a body of one or an array of them for
 * tabpipe-serve); drift reads them back from the prediction log.
 *
 * The serving contract is the strict reading: every feature is a key,
 * null for a missing value, and nothing else is. A refusal says what was
 * wrong as a code that an HTTP answer gives (tp_request_info), besides the
 * message.
 */
#ifndef TP_REQUEST_H
#define TP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"

/* Makes one request, a JSON object of feature values by column name, into
 * row (shaped as enc): numbers (or strings holding one) for numeric
 * columns, strings (or numbers) for categorical ones, null or absence for a
 * missing value; a category not in the vocabulary is unseen. Values of the
 * target and of ignored columns are accepted and not used. The id is the
 * member "id" (or the encoding's id column): an integer, read exactly
 * from the request's text (cJSON's doubles hold 53 bits), in int64's range
 * (1e3 and 12.0 are integers, 1.5 is not); or a string, whose row id is
 * the integer it holds if it holds one (digits with an optional minus),
 * else record; null or none is record. The request must be UTF-8 with no
 * NUL byte. A malformed request is TP_EDATA with why in e. When features
 * is not NULL it gets the request as compact JSON, its number id written
 * exactly, to free. */
int tp_request_parse(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, tp_err *e);
/* As tp_request_parse; and when the id is a string, *id gets its JSON
 * text as the request wrote it, quotes and escapes included, for the
 * answer to give back (to free); NULL when the id is a number or none,
 * and the answer's id is the row's. A raw control character in a string
 * id is refused, since the answer would not be JSON. */
int tp_request_parse_id(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, char **id,
    tp_err *e);

/*
 * What went wrong with a request, for an answer to say. The codes are
 * static strings:
 *   "bad_json"      not UTF-8, a NUL byte, not JSON, text after the value,
 *                   a key given twice (which JSON leaves undefined), a raw
 *                   control character in a string id, and in strict mode
 *                   a \u0000 escape (a NUL, which no value may hold);
 *   "unknown_field" a key that is neither a column nor "id";
 *   "wrong_type"    a value of a type its column does not take (an object,
 *                   an array or a boolean for a feature; not an integer
 *                   or a string for the id), or a request that is not an
 *                   object (or a batch element that is not, with item);
 *   "missing_field" strict mode: a feature that is not a key;
 *   "bad_value"     a string that is no number for a numeric feature, a
 *                   number out of the encoding's range, an id that is not
 *                   an integer or out of int64's;
 *   "empty_batch"   a batch of no application;
 *   "too_large"     a batch of more applications than the most taken.
 */
typedef struct {
	int strict;            /* in: the serving contract: every feature a key
	                          (null for missing), and a \u0000 refused */
	unsigned char *unseen; /* in, optional: (enc->ncat) by slot, set to 1
	                          for a category present and not in the
	                          vocabulary, else 0 */
	const char *code;      /* out: the code of a refusal (above), NULL on
	                          success */
	char field[256];       /* out: the member a refusal concerns, its name
	                          as decoded from the JSON (UTF-8, cut at a
	                          character to fit), or "" */
	long item;             /* out: the batch element a refusal of
	                          tp_request_split concerns (from 0), else -1 */
	int nunseen;           /* out: how many categories were unseen */
	int has_id;            /* out: the request gave an id (not null), so
	                          the row's is its, not the record's */
} tp_request_info;

/* As tp_request_parse_id, and info (which may be NULL: not strict) says
 * what went wrong on TP_EDATA, and which categories were unseen on
 * success. Not strict, it reads what tp_request_parse_id reads: a feature
 * left out is missing. */
int tp_request_parse_info(const tp_encoding *enc, const char *text,
    size_t len, int64_t record, tp_row row, char **features, char **id,
    tp_request_info *info, tp_err *e);

/* One application's bytes in a body. */
typedef struct {
	size_t at, len;
} tp_request_span;

/* Splits a body into its applications, each to be read by
 * tp_request_parse_info from its own bytes (so that its id's digits are
 * its own text): one JSON object, *batch 0 and one span; or an array of
 * 1 to max objects, *batch 1 and a span for each, in order. *spans (to
 * free) and *n get them. The body must be UTF-8 without NUL, and JSON
 * whole (cJSON's parser, which refuses nesting past 1000 deep), with only
 * space after the value. Refusals are TP_EDATA with the code in info
 * (which may be NULL): bad_json, wrong_type (a value neither an object
 * nor an array, or an element that is not an object, info->item),
 * empty_batch, too_large (more than max elements: an answer of 413, not
 * 400). On any failure *spans is NULL and *n 0. */
int tp_request_split(const char *body, size_t len, size_t max,
    tp_request_span **spans, size_t *n, int *batch, tp_request_info *info,
    tp_err *e);

#endif
