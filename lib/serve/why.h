/*
 * why: the reasons given with a prediction.
 *
 * For each row, the k features whose attributions (lib/model/explain.h)
 * push its score most toward the positive class, largest first: the
 * feature's column, the row's value of it in the CSV's units, the
 * contribution (in log-odds) and the text a lender prints
 * (lib/model/reasons.h), or the column's name where the reason codes give
 * none. Only features that raise the score are reasons: a row with fewer
 * than k of them gets fewer, since a feature that lowers the risk is no
 * reason to decline.
 *
 * CSV gives each reason as four columns, feature_i, value_i,
 * contribution_i and reason_i, empty where there is no i-th reason; JSON
 * lines give "reasons", an array of {"feature","value","contribution",
 * "reason"} objects (a numeric value is a number, a categorical one a
 * string, and one missing or not in the vocabulary null),
 * and "gap", what quadrature leaves of the change of log-odds that the
 * contributions of all features add up to.
 */
#ifndef TP_WHY_H
#define TP_WHY_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "model/explain.h"
#include "model/modelfile.h"
#include "model/reasons.h"

enum { TP_WHY_MAX_K = 64 };

/* What explanations to give: none when k is 0. */
typedef struct {
	int k;                 /* reasons a row, 0 to TP_WHY_MAX_K */
	int steps;             /* of the quadrature */
	const char *reasons;   /* a reason-code file to use instead of the
	                          model's texts, or NULL */
} tp_why_opts;

/* k 0: for a load that keeps what reasons need and gives none itself
 * (tp_predictor_open), as a server whose threads give them asks. */
extern const tp_why_opts tp_why_load;

typedef struct {
	int k;                     /* reasons a row; may be lowered (to 1 at
	                              least) between explaining rows and
	                              writing them, as a server's requests ask */
	const tp_encoding *enc;
	tp_explainer x;
	tp_reasons own;            /* read from opts->reasons */
	const tp_reasons *reasons; /* own, or the model's */
	const tp_batch *b;         /* the rows last explained */
	float *attr, *logodds;     /* (cap,T) and (cap) of those rows */
	size_t cap;
	/* Of every row explained: */
	uint64_t rows;
	double gap_sum, gap_max, change_sum;
} tp_why;

/* Explanations of model m (the caller's, trained on enc, with its file's
 * meta loaded TP_WITH_EXPLAIN); m is planned for the passes. A model file
 * without a reference profile (written before attributions existed) is
 * TP_EDATA. All of m, meta and enc must outlive w. */
int tp_why_open(tp_why *w, tp_model *m, const tp_model_meta *meta,
    const tp_encoding *enc, const tp_why_opts *o, tp_err *e);
void tp_why_free(tp_why *w); /* accepts a zeroed w */

/* Explains the rows of b, which must stay as they are while their
 * explanations are written. */
int tp_why_rows(tp_why *w, const tp_batch *b, tp_err *e);

/* The CSV header's columns for k reasons, each after a comma. */
void tp_why_csv_header(FILE *f, int k);
/* Row i's reasons as CSV columns, each after a comma. */
void tp_why_csv(FILE *f, const tp_why *w, size_t i);
/* Row i's reasons as JSON members, each after a comma. */
void tp_why_json(FILE *f, const tp_why *w, size_t i);

#endif
