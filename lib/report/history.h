/*
 * history: what the registry holds of a registered model version, for the
 * report: the version itself (its model's name, stage, training data's
 * rows, who trained it and when), every version of its model with its
 * validation AUC and its newest evaluation's AUC, every evaluation of the
 * model over time, every stage change with who, when and why, and the
 * epochs of the version's training run.
 *
 * One object, read with parameterised queries (models, model_versions,
 * runs, datasets, epochs, evaluations, stage_changes):
 *
 *   {"version": {"name", "version", "stage", "created", "sha256", "path",
 *                "run", "rows", "trained_by", "metrics"},
 *    "versions": [{"version", "stage", "created", "sha256", "valid_auc",
 *                  "eval_auc"}, ...]                    by version
 *    "evaluations": [{"version", "created", "rows", "data", "auc"}, ...]
 *                                                       by time
 *    "changes": [{"changed", "version", "from", "to", "user", "reason"}, ...]
 *                                                       by time
 *    "epochs": [{"epoch", "loss", "valid_auc", ...}, ...]}  by epoch
 *
 * Times are UTC, "2024-05-01T12:00:00Z"; a value the registry lacks is
 * null.
 */
#ifndef TP_HISTORY_H
#define TP_HISTORY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "db/db.h"

/* The history of the version whose model_versions.id is version_id;
 * data_fingerprint (may be NULL) is the model file's training data, whose
 * rows the datasets table may know. *out is to free with cJSON_Delete.
 * TP_ENOINPUT when there is no such version. */
int tp_history_load(tp_db *db, int64_t version_id,
    const char *data_fingerprint, cJSON **out, tp_err *e);

#endif
