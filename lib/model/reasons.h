/*
 * reasons: the sentences a lender prints for the features that raised a
 * score, read from a reason-code file and kept in the model file.
 *
 * The file is CSV (tabpipe-reasons(5)) with the header feature,value,reason:
 * a line with an empty value gives the text of a feature whatever its
 * value; a line with a value (categorical features only) gives the text of
 * that value of the feature, which wins over the feature's. Each feature
 * must be one of the model's, each value one of its vocabulary, each text
 * non-empty UTF-8 of at most TP_REASON_MAX bytes, and no (feature, value)
 * given twice. A feature without a text is named by its column. The same
 * lines, as a JSON array of {"feature","value","reason"} objects ("value"
 * left out when empty), are the model file's "reasons".
 */
#ifndef TP_REASONS_H
#define TP_REASONS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"

enum { TP_REASON_MAX = 400 };

typedef struct {
	int T;               /* tokens of the model: ncat + nnum */
	int ncat;
	char **feature;      /* (T) a feature's text, or NULL */
	char ***value;       /* (ncat) per categorical feature, its texts by
	                        index (vocabulary + 1; index 0 unused), or NULL */
	int *nvalues;        /* (ncat) */
	int lines;           /* texts held */
} tp_reasons;

/* Reads a reason-code file (f, the caller's; name in messages) for a model
 * of encoding enc. A bad line is TP_EDATA with "name:line: ..." in e. */
int tp_reasons_read(tp_reasons *r, FILE *f, const char *name,
    const tp_encoding *enc, tp_err *e);
/* The same from the file at path; one that cannot be opened is
 * TP_ENOINPUT. */
int tp_reasons_load(tp_reasons *r, const char *path, const tp_encoding *enc,
    tp_err *e);
/* The same from the JSON form; where names it in messages. */
int tp_reasons_from_json(tp_reasons *r, const cJSON *json, const char *where,
    const tp_encoding *enc, tp_err *e);
/* The JSON form; NULL on no memory. */
cJSON *tp_reasons_to_json(const tp_reasons *r, const tp_encoding *enc);
void tp_reasons_free(tp_reasons *r); /* accepts a zeroed r */

/* The text for token t with categorical index idx (ignored for a numeric
 * token), or NULL when the file gives none. */
const char *tp_reasons_text(const tp_reasons *r, int t, int32_t idx);

#endif
