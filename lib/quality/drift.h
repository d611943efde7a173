/*
 * drift: how far current data has moved from reference data, per feature
 * and for a model's score, and the verdict tabpipe-drift gives.
 *
 * A numeric feature (or the score) is cut into bins at the reference's
 * quantiles 1/bins, ..., (bins-1)/bins of its present values (numpy's
 * linear interpolation; equal cut points merge, so a feature with many
 * equal values has fewer bins); a value equal to a cut point goes to the
 * bin above it, and missing values (NaN) have a bin of their own. A
 * categorical feature has one bin per vocabulary index, index 0 (missing
 * or unseen, so also a category that only the current data has) included.
 * On these bins: the population stability index, sum (c - r) ln(c / r)
 * over the bins' shares r (reference) and c (current), a share of 0
 * counting as TP_DRIFT_EPS; and the Jensen-Shannon distance (base 2).
 * Numeric: the two-sample Kolmogorov-Smirnov test on the present values
 * (stats.h). Categorical: the chi-square test of homogeneity of the
 * 2 x bins table, bins empty in both left out, without Yates' correction.
 *
 * The verdict: level "significant" when PSI >= psi_significant,
 * "moderate" when PSI >= psi_moderate, else "none"; a feature drifts when
 * its level is significant, or moderate with the test's p-value < alpha.
 * With large samples a test rejects for shifts too small to matter, so a
 * p-value alone never makes drift. The report drifts when any feature or
 * the score does.
 *
 * Each comparison keeps its histogram, so that a chart draws the very
 * shares PSI and JS were computed from: each bin's share of each side,
 * and for a numeric feature the value bins' edges.
 *
 * The two sides are compared from their profiles (data/profile.h), not
 * from their rows: memory is bounded by the profiles' sketches, a
 * reference's profile can be made once and kept (a partial), and the
 * current data's profile can be merged from its shards'. Categorical
 * counts are exact. A numeric feature (and the score) is compared from
 * two sketches of its values brought to one level: while both are exact
 * (level 0: no more distinct values than TP_PROFILE_SKETCH_BINS), every
 * statistic is the one of the values themselves. Beyond, the edges are
 * the reference's quantiles moved down to the least value of the sketch
 * bin that holds them, so that each bin's values of both sides fall on
 * one side of every edge and PSI and JS are those of these edges, counted
 * exactly; KS is taken at the bins' ends, where the distribution
 * functions are known exactly, and the exact KS of the values is at most
 * ks_bound above it (the largest gap a bin can hide); its p-value is that
 * of the KS reported.
 */
#ifndef TP_DRIFT_H
#define TP_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/option.h"
#include "base/sketch.h"
#include "data/encoding.h"
#include "data/profile.h"
#include "data/shard.h"
#include "data/stream.h"
#include "db/db.h"
#include "model/model.h"
#include "model/score.h"

/* The share given to an empty bin in the PSI's logarithm. */
#define TP_DRIFT_EPS 1e-4

typedef struct {
	int bins;               /* quantile bins of a numeric feature, >= 2 */
	double psi_moderate;    /* PSI from which drift is moderate */
	double psi_significant; /* PSI from which drift is significant */
	double alpha;           /* level of the KS and chi-square tests */
} tp_drift_opts;

/* 10 bins, PSI 0.1 and 0.25, alpha 0.05. */
extern const tp_drift_opts tp_drift_defaults;
/* The settings as options (lib/base/option.h): --bins, --alpha, ... */
extern const tp_opt tp_drift_options[];

enum tp_drift_level { TP_DRIFT_NONE, TP_DRIFT_MODERATE, TP_DRIFT_SIGNIFICANT };

/* One feature's (or the score's) comparison. NaN marks a statistic that
 * does not apply or cannot be computed (a side with no present value). */
typedef struct {
	const char *name;       /* the column's name, or "score" */
	int categorical;
	uint64_t rows[2];       /* values compared: reference, current */
	uint64_t missing[2];    /* of them, missing (NaN, or index 0) */
	int nbins;              /* bins of PSI and JS, the missing bin included */
	double psi, js;
	double ks, ks_p;        /* numeric */
	int ks_exact;           /* the KS p-value is exact, not asymptotic */
	double ks_bound;        /* how far above ks the values' KS can be;
	                           0 when exact */
	int exact;              /* compared from the values themselves:
	                           categorical, or sketches of level 0 */
	double chi2, chi2_p;    /* categorical */
	int chi2_dof;
	enum tp_drift_level level;
	int drift;
	double *share[2];       /* (nbins) each bin's count over its side's
	                           rows, reference and current, in bin order
	                           (numeric: the value bins up, then the
	                           missing one; categorical: by index); NaN on
	                           a side without rows */
	double *edges;          /* numeric: (nbins) the edges of the nbins - 1
	                           value bins, the outer ones the least and the
	                           greatest present value of both sides; NULL
	                           when neither has one, and for categorical */
	const tp_strmap *vocab; /* categorical: the vocabulary that names the
	                           bins, or NULL to number them */
} tp_drift_stat;

/* One side of a numeric comparison. */
typedef struct {
	tp_sketch *values;      /* the present values */
	uint64_t missing;       /* values missing */
	float min, max;         /* the least and greatest present value */
} tp_drift_values;

/* Compares a numeric feature from its values' sketches, which it brings
 * to one level and sorts. s's previous contents are ignored: its shares
 * and edges are new, to free with tp_drift_stat_free. */
int tp_drift_numeric_sketch(tp_drift_stat *s, tp_drift_values *ref,
    tp_drift_values *cur, const tp_drift_opts *o, tp_err *e);

/* Compares n values of a numeric feature, ref[i * rstride] with
 * cur[i * cstride], through their sketches. */
int tp_drift_numeric(tp_drift_stat *s, const float *ref, size_t nref,
    size_t rstride, const float *cur, size_t ncur, size_t cstride,
    const tp_drift_opts *o, tp_err *e);

/* The same for a categorical feature of ncats indices (vocabulary + 1);
 * an index out of [0, ncats) is TP_EDATA. */
int tp_drift_categorical(tp_drift_stat *s, const int32_t *ref, size_t nref,
    size_t rstride, const int32_t *cur, size_t ncur, size_t cstride,
    int ncats, const tp_drift_opts *o, tp_err *e);
/* Frees a comparison's shares and edges; accepts a zeroed s. */
void tp_drift_stat_free(tp_drift_stat *s);

const char *tp_drift_level_name(enum tp_drift_level l);

/* Where the two data sets came from, for the report. */
typedef struct {
	const char *source;     /* file name, "-", or NULL */
	const char *since;      /* --since interval, or NULL */
	uint64_t rows;
	char fingerprint[65];   /* of the rows (tp_batch_fingerprint), or "" */
} tp_drift_side;

typedef struct {
	tp_drift_opts opts;
	const tp_encoding *enc;
	tp_drift_side side[2];  /* reference, current */
	tp_drift_stat *features;/* (nfeatures), in the encoding's column order */
	int nfeatures;
	tp_drift_stat score;    /* valid when has_score */
	int has_score;
	int drift;              /* any feature or the score drifts */
} tp_drift_report;

/* Compares every feature of the profiles ref and cur (of one encoding,
 * finished), or those with a non-zero flag in compare (indexed by column,
 * may be NULL), and their scores when both hold some. Sets every member
 * of r but side[]; a numeric feature's edges are in the CSV's units
 * (destandardised with the encoding's mean and std). The profiles'
 * sketches are brought to common levels. */
int tp_drift_compare_profiles(tp_drift_report *r, tp_profile *ref,
    tp_profile *cur, const uint8_t *compare, const tp_drift_opts *o,
    tp_err *e);
/* The same from the rows of ref and cur, both shaped as enc. */
int tp_drift_compare(tp_drift_report *r, const tp_encoding *enc,
    const tp_batch *ref, const tp_batch *cur, const uint8_t *compare,
    const tp_drift_opts *o, tp_err *e);
/* Adds the comparison of a model's scores of the reference and current
 * rows (replacing an earlier one), and updates the verdict: from the
 * profiles' scores, or from the scores themselves. */
int tp_drift_compare_score_sketch(tp_drift_report *r, tp_profile *ref,
    tp_profile *cur, tp_err *e);
int tp_drift_compare_score(tp_drift_report *r, const float *ref, size_t nref,
    const float *cur, size_t ncur, tp_err *e);

/* What scores the blocks tp_drift_profile_read reads. */
typedef struct {
	tp_scorer *scorer;
	float *prob;            /* a block's scores */
	size_t cap;
} tp_drift_scoring;

/* Reads the rest of r into p (initialised with its encoding), block by
 * block, and with a scorer (may be NULL) each block's scores into p's. */
int tp_drift_profile_read(tp_profile *p, tp_shard_reader *r,
    tp_scorer *scorer, tp_err *e);
void tp_drift_report_free(tp_drift_report *r); /* accepts a zeroed r */

/* The features that drift, and the one with the largest PSI (or -1; the
 * score counts as index nfeatures). */
int tp_drift_count(const tp_drift_report *r, int *worst);

/* The JSON report; NULL on no memory. Each feature's and the score's
 * "histogram" lists its bins with the missing one last. */
cJSON *tp_drift_report_json(const tp_drift_report *r);

/* The predictions logged over the last `since` (a PostgreSQL interval,
 * such as "7 days"), by the model file whose SHA-256 is model_sha256 when
 * it is not NULL: their probabilities into *score (to free; *nscore of
 * them) and their
 * requests (the features column, where present) into cur, shaped as enc.
 * compare (enc->ncols flags) gets a 1 for each feature that some request
 * holds. A bad interval is TP_EUSAGE, an empty window TP_ENOINPUT. */
int tp_drift_load_predictions(tp_db *db, const char *since,
    const char *model_sha256, const tp_encoding *enc, tp_batch *cur,
    float **score, size_t *nscore, uint8_t *compare, tp_err *e);

/* Records the report in drift_reports and finishes the run with result,
 * in one transaction. */
int tp_drift_record(tp_db *db, int64_t run, const cJSON *report, int drift,
    const cJSON *result, tp_err *e);

#endif
