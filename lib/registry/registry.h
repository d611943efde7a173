/*
 * registry: the stages of model versions and what the registry holds, read
 * back. A promotion moves one version to Staging or Production when its
 * gates pass on its newest evaluation and, for Production, when it beats
 * the Production version (the champion) on the same data; a rollback gives
 * Production back to the version it was taken from. Each is one
 * transaction that locks the model's versions, so that racing promotions
 * take turns and each compares against the champion of its turn, and each
 * stage change leaves a row in the append-only stage_changes.
 *
 * The listings return a JSON array of objects, one per row, with the keys
 * that tabpipe-registry(1) documents.
 *
 * The epochs of a version are those its training run recorded, and those
 * its file's history holds that the run did not record (a run resumed
 * from a checkpoint records only the epochs it ran; a file trained
 * without a database has only its history). A comparison sets two
 * versions side by side: what they are, their runs' parameters and
 * inputs, their registered metrics and the metrics of their newest
 * evaluations, with the difference of the numbers.
 */
#ifndef TP_REGISTRY_H
#define TP_REGISTRY_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "db/db.h"
#include "registry/gate.h"

typedef struct {
	const char *name;     /* the model */
	int version;          /* the candidate */
	int staging;          /* 1: to Staging; 0: to Production */
	const tp_gate *gates; /* all must pass */
	int ngates;
	const char *metric;   /* the comparison with the champion */
	double margin;        /* how much the candidate must beat it by */
	const char *reason;   /* for the audit log; NULL: the gates and the
	                         comparison, written out */
} tp_promotion;

/* Promotes p's candidate: TP_OK when it was, TP_NO (with the why in e) when
 * a gate or the champion rule said no, another status on an error (the
 * database's 42501 insufficient_privilege is TP_ENOPERM). On TP_OK and
 * TP_NO, *decision is the JSON object that says what was decided and why,
 * to free with cJSON_Delete. */
int tp_registry_promote(tp_db *db, const tp_promotion *p, cJSON **decision,
    tp_err *e);

/* Moves model name's Production version to Archived and the version most
 * recently archived from Production back to Production. TP_NO when there is
 * no Production version or none to go back to; *decision as above. */
int tp_registry_rollback(tp_db *db, const char *name, const char *reason,
    cJSON **decision, tp_err *e);

/* The listings. A model that does not exist is TP_ENOINPUT. tool NULL is
 * every tool's runs; limit is the most runs, the newest. */
int tp_registry_models(tp_db *db, cJSON **rows, tp_err *e);
int tp_registry_versions(tp_db *db, const char *name, cJSON **rows,
    tp_err *e);
int tp_registry_runs(tp_db *db, const char *tool, long limit, cJSON **rows,
    tp_err *e);
int tp_registry_evaluations(tp_db *db, const char *name, cJSON **rows,
    tp_err *e);
int tp_registry_audit(tp_db *db, const char *name, cJSON **rows, tp_err *e);

/* The epochs of the version ref names (tp_version_find's references),
 * oldest first: the run's, and the file's history for the others. The
 * file is read only when it is whole (its registered SHA-256), or else its
 * bytes as tp_version_read gets them from the database; a version whose
 * bytes cannot be read is the error when the run recorded no epoch, and
 * is passed over otherwise. */
int tp_registry_epochs(tp_db *db, const char *ref, cJSON **rows,
    tp_err *e);
/* The versions a and b side by side: rows of section ("version", "param",
 * "input", "metric", "evaluation"), name, a, b and difference (b - a
 * where both are numbers, and they are measures rather than ids; null
 * otherwise). */
int tp_registry_compare(tp_db *db, const char *a, const char *b,
    cJSON **rows, tp_err *e);

#endif
