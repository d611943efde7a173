/*
 * profile: what tabpipe-validate measures of a stream, and its checks;
 * what tabpipe-drift compares of two streams.
 *
 * A profile holds, per feature, the count of present values, the missing
 * rate, min/max/mean/std in the original units (numeric) or the number of
 * categories seen and the unseen rate (categorical), whether the column is
 * constant, and the feature's own ROC-AUC against the target (the larger of
 * AUC and 1 - AUC, missing values ranked lowest; for a categorical
 * feature, with each category scored by its positive rate), a sign of
 * leakage when close to 1. Over the rows: the class balance and the number
 * of exact duplicates (ids aside).
 *
 * Memory is bounded, not by the rows: a profile is made of what merges.
 * Counts (rows, classes, missing and present values, each category's rows
 * by label, the unseen values) are exact, and so are min and max. Mean and
 * standard deviation come from the exact sums of the standardised values
 * and of their squares (base/xsum.h), read in double-double precision.
 * Each numeric feature keeps a sketch of its values by label
 * (base/sketch.h, TP_PROFILE_SKETCH_BINS bins): its AUC is exact while
 * the feature has no more distinct values than that, and otherwise within
 * auc_bound, the pairs of a positive and a negative value in one bin
 * counted as ties. Duplicates come from the k least of the rows' 64-bit
 * hashes (base/distinct.h, k = TP_PROFILE_DISTINCT): exact, also across
 * the parts of a merge, while the data has no more distinct rows than k;
 * beyond, the distinct rows are estimated, with a relative standard error
 * of 1 / sqrt(k - 2), and the duplicates are the rows less that estimate.
 *
 * Profiles of parts of a data set (its files, its shards) merge into the
 * profile of the whole, bit for bit the one a single reading makes, but
 * for the unseen counts, which a shard that cuts a file cannot know.
 */
#ifndef TP_PROFILE_H
#define TP_PROFILE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/distinct.h"
#include "base/err.h"
#include "base/option.h"
#include "base/sketch.h"
#include "base/xsum.h"
#include "data/shard.h"
#include "data/stream.h"

/* The bins of a numeric feature's sketch. */
enum { TP_PROFILE_SKETCH_BINS = 8192 };
/* The row hashes of the duplicate count. */
enum { TP_PROFILE_DISTINCT = 131072 };

typedef struct {
	uint64_t present;       /* values present */
	uint64_t missing;       /* values missing */
	uint64_t unseen;        /* categorical: present, not in the vocabulary */
	uint64_t categories;    /* categorical: distinct vocabulary values seen */
	double min, max, mean, std; /* numeric, original units, present values */
	int constant;           /* one value (or only missing) in every row */
	double auc;             /* max(AUC, 1 - AUC); NaN without both classes */
	double auc_bound;       /* how far auc can be from the exact one; 0
	                           when exact */
	/* What the above are made of, which merges. */
	uint64_t missing_by[3]; /* numeric: missing values by label + 1 */
	float zmin, zmax;       /* numeric: the least and greatest present
	                           standardised value; +inf and -inf without */
	tp_xsum zsum, zsum2;    /* numeric: their sum, and that of squares */
	tp_sketch values;       /* numeric: present values by label + 1 */
	uint64_t *count[3];     /* categorical: (vocabulary + 1) values of
	                           each index, by label + 1 */
} tp_column_profile;

typedef struct {
	const tp_encoding *enc;
	tp_encoding own;        /* a profile read from a partial: its
	                           encoding, which enc points to */
	tp_column_profile *cols; /* (enc->ncols); only features are filled */
	uint64_t rows;
	uint64_t positive, negative, unlabelled;
	uint64_t duplicates;     /* rows equal to an earlier row, id aside */
	int duplicates_exact;    /* exact, not estimated */
	double duplicates_stderr;/* the duplicate rate's standard error */
	tp_distinct distinct;    /* the rows' hashes */
	int unseen_known;        /* the unseen counts are known: not in a
	                            shard that cuts the input, whose unseen
	                            values count as missing */
	uint64_t *unseen;        /* (enc->ncat) with unseen_known */
	char fingerprint[65];    /* of the rows tp_profile_read read */
	int scored;              /* a model's scores are in score */
	tp_sketch score;         /* with scored: the scores by label + 1 */
	uint64_t score_rows;
	float score_min, score_max;
} tp_profile;

/* An empty profile of data encoded with enc, which must outlive it. */
int tp_profile_init(tp_profile *p, const tp_encoding *enc, tp_err *e);
void tp_profile_free(tp_profile *p); /* accepts a zeroed p */
/* Adds rows from..b->n-1 of b. */
int tp_profile_add(tp_profile *p, const tp_batch *b, size_t from,
    tp_err *e);
/* Adds n scores of a model (not NaN), with the rows' labels. */
int tp_profile_add_scores(tp_profile *p, const float *score,
    const int8_t *label, size_t n, tp_err *e);
/* The unseen values of each categorical feature, or NULL when they are
 * not known (tp_shard_reader_unseen). */
int tp_profile_set_unseen(tp_profile *p, const uint64_t *unseen, tp_err *e);
/* into += from, of the same encoding (TP_EDATA if not). */
int tp_profile_merge(tp_profile *into, const tp_profile *from, tp_err *e);
/* Works out the columns' measures and the duplicates from what p holds
 * (its sketches are sorted by it); before a report or a comparison. */
int tp_profile_finish(tp_profile *p, tp_err *e);

/* What to do with each block of rows tp_profile_read reads, after it is
 * profiled (score it, keep it): a status. */
typedef int tp_profile_block_fn(void *ctx, tp_profile *p, const tp_batch *b,
    tp_err *e);
/* Reads the rest of r into p (initialised with r's encoding), block by
 * block, with fn (may be NULL) on each; then its unseen counts and the
 * rows' fingerprint. */
int tp_profile_read(tp_profile *p, tp_shard_reader *r,
    tp_profile_block_fn *fn, void *ctx, tp_err *e);
/* tp_profile_init, tp_profile_read and tp_profile_finish. */
int tp_profile_stream(tp_profile *p, tp_shard_reader *r, tp_err *e);

/* p's members into o, the "profile" object of a partial
 * (data/partial.h), its encoding with them; 0 when memory runs out. */
int tp_profile_json(const tp_profile *p, cJSON *o);
/* Reads them back into p (not finished), with the encoding they hold;
 * TP_EDATA, with where, when one is missing or wrong. */
int tp_profile_parse(tp_profile *p, const cJSON *o, const char *where,
    tp_err *e);

/* A tp_partial_fold_fn (data/partial.h) that merges profiles' partials
 * into ctx, a tp_profile, read from the first one. */
int tp_profile_fold(void *ctx, const cJSON *member, int first,
    const char *path, tp_err *e);

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

/* The JSON report of a finished profile, with "checks" and "passed";
 * *passed tells the caller. */
cJSON *tp_profile_report(const tp_profile *p, const tp_limits *l,
    int *passed);

#endif
