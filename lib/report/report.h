/*
 * report: the one self-contained HTML file of tabpipe-report(1), from the
 * JSON reports of tabpipe-evaluate, -validate and -drift, a model file's
 * card and the registry's history (history.h). Its sections, each there
 * when its input is: Model card, Performance, Champion and challenger
 * (two evaluations), Drift (features sorted by severity), Data quality and
 * Registry history. The charts are SVG (svg.h), inline; the style sheet is
 * inline and prints on A4; there is no script and nothing from the
 * network, so the file opens from disk or a mail and reads the same
 * everywhere. Every text that came from input is escaped, and the
 * document is well-formed XML as well as HTML.
 *
 * The subject evaluation is the one that measured the card's model, or
 * else the first: the figures at the top and the measures are its own.
 * The charts, by their data-chart names: roc, pr, calibration, gains and
 * lift (a series per evaluation), score-histogram and ks (negatives and
 * positives of the subject evaluation), confusion (its cells, one
 * series), importance (the AUC each feature's shuffling costs, one
 * series) and fairness (approval and true positive rates by group) of the
 * subject evaluation when it has them, training (loss, validation loss
 * and AUC by epoch, those the history has), drift-score and drift-FEATURE
 * (reference and current shares per bin; FEATURE with every byte but
 * [A-Za-z0-9._-] made '_', and "-2", "-3" ... added when two names
 * meet), registry-auc (evaluation and
 * validation AUC by version). A chart is drawn only when its data is
 * there: a report of an older tool without "gains" has no gains chart,
 * and says nothing of it.
 *
 * A member that is there but is not what the formats say (a string for a
 * number's array, arrays of different lengths) is TP_EDATA naming the
 * report's source and the member; a number that is null (a measure that
 * could not be taken) is shown as a dash.
 */
#ifndef TP_REPORT_H
#define TP_REPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

/* What a JSON report is, told by its members: an evaluation has "auc"
 * and "confusion", a validation "checks" and "columns", a drift report
 * "features" and "thresholds". */
enum tp_report_kind {
	TP_REPORT_UNKNOWN,
	TP_REPORT_EVALUATION,
	TP_REPORT_VALIDATION,
	TP_REPORT_DRIFT,
};

enum tp_report_kind tp_report_kind(const cJSON *doc);

/* A JSON report and where it came from (the name in messages and in the
 * document). */
typedef struct {
	const cJSON *json;    /* NULL: not given */
	const char *source;
} tp_report_doc;

typedef struct {
	tp_report_doc evaluation[2]; /* the champion, then the challenger */
	int nevaluations;            /* 0, 1 or 2 */
	tp_report_doc validation;
	tp_report_doc drift;
	const cJSON *card;     /* the model file's card (tp_report_card), or NULL */
	const cJSON *registry; /* tp_history_load's object, or NULL */
	const char *notes;     /* intended use and limitations, plain text */
	const char *generator; /* "tabpipe-report 0.1.0", in the footer */
} tp_report_input;

/* A chart of the document, as its own SVG file would hold it. */
typedef struct {
	char *name;            /* its data-chart name, safe as a file name */
	char *svg;
} tp_report_chart;

typedef struct {
	char *html;            /* the document */
	size_t len;
	tp_report_chart *charts; /* (ncharts) in the document's order */
	int ncharts;
} tp_report;

/* Makes the document of in; r is filled here. */
int tp_report_make(tp_report *r, const tp_report_input *in, tp_err *e);
void tp_report_free(tp_report *r); /* accepts a zeroed r */

/* The card of a model file from its safetensors "__metadata__" (an object
 * of strings: config, encoding, threshold, threshold_rule, run_id,
 * data_fingerprint, history), its path and SHA-256: {"name" (the file's
 * name without its folder and ".safetensors"), "path", "sha256",
 * "threshold", "threshold_rule", "run_id", "data_fingerprint", "config",
 * "target", "features": [{"name", "kind"}], "history"}; members the file
 * lacks are left out. A member that is not the JSON it should be is
 * TP_EDATA naming path. *card is to free with cJSON_Delete. */
int tp_report_card(const cJSON *metadata, const char *path,
    const char *sha256, cJSON **card, tp_err *e);

#endif
