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
 * member "id" (or the encoding's id column), an integer; record when there
 * is none. A malformed request is TP_EDATA with why in e. When features is
 * not NULL it gets the request as compact JSON, to free. */
int tp_request_parse(const tp_encoding *enc, const char *line,
    size_t len, int64_t record, tp_row row, char **features, tp_err *e);

#endif
