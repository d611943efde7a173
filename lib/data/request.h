/*
 * request: one application as a JSON object of raw feature values, by
 * column name, encoded into a row as tabpipe-ingest --encoding would
 * encode the same values in CSV. The serving mode reads requests; drift
 * reads them back from the prediction log.
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

#endif
