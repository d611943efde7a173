/*
 * profile: what tabpipe-validate measures of a stream, and its checks.
 *
 * A profile holds, per feature, the count of present values, the missing
 * rate, min/max/mean/std in the original units (numeric) or the number of
 * categories seen and the unseen rate (categorical), whether the column is
 * constant, and the feature's own ROC-AUC against the target (the larger of
 * AUC and 1 - AUC; for a categorical feature, with each category scored by
 * its positive rate), a sign of leakage when close to 1. Over the rows: the
 * class balance and the number of exact duplicates (ids aside).
 *
 * Memory: every row is kept (ids, categories, numerics and label: the
 * stream's own row size) for the numerics' exact AUC, and 8 bytes a row for
 * finding duplicates.
 */
#ifndef TP_PROFILE_H
#define TP_PROFILE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/option.h"
#include "data/shard.h"
#include "data/stream.h"

typedef struct {
	uint64_t present;       /* values present */
	uint64_t missing;       /* values missing */
	uint64_t unseen;        /* categorical: present, not in the vocabulary */
	uint64_t categories;    /* categorical: distinct vocabulary values seen */
	double min, max, mean, std; /* numeric, original units, present values */
	int constant;           /* one value (or only missing) in every row */
	double auc;             /* max(AUC, 1 - AUC); NaN without both classes */
} tp_column_profile;

typedef struct {
	const tp_encoding *enc;
	tp_column_profile *cols; /* (enc->ncols); only features are filled */
	uint64_t rows;
	uint64_t positive, negative, unlabelled;
	uint64_t duplicates;     /* rows equal to an earlier row, id aside */
	int unseen_known;        /* the unseen counts are known: not in a
	                            shard that cuts the input, whose unseen
	                            values count as missing */
} tp_profile;

/* Reads the rest of r and profiles it. */
int tp_profile_stream(tp_profile *p, tp_shard_reader *r, tp_err *e);
void tp_profile_free(tp_profile *p);

/* The limits of tabpipe-validate's checks. */
typedef struct {
	double max_missing;    /* per feature, missing rate */
	double max_unseen;     /* per categorical feature, unseen rate */
	double min_minority;   /* share of the smaller class among labelled rows */
	double max_duplicates; /* share of duplicate rows */
	long max_constant;     /* constant features allowed */
	double max_auc;        /* a single feature's AUC: above is leakage */
	uint64_t min_rows;     /* rows */
} tp_limits;

extern const tp_limits tp_default_limits;
/* The limits as options (lib/base/option.h): --max-missing, ... */
extern const tp_opt tp_limits_options[];

/* The JSON report, with "checks" and "passed"; *passed tells the caller. */
cJSON *tp_profile_report(const tp_profile *p, const tp_limits *l,
    int *passed);

#endif
