/*
 * card: what a server says of its model: its name, version and SHA-256,
 * which every answer carries, and the model's signature and card, which
 * GET /v1/model answers: every input column with its kind, its categories
 * and whether it may be missing, the threshold, the training data's
 * fingerprint and rows, the validation metrics recorded with the version,
 * and whether the server can give the reasons of its scores.
 *
 * Both are made once, when a model is loaded, with what the registry
 * holds of it (with a database), so that answering them is a copy.
 */
#ifndef TP_CARD_H
#define TP_CARD_H

#include "base/err.h"
#include "db/db.h"
#include "serve/predict.h"

typedef struct {
	char *name;     /* the registry's name, or the file's without its
	                   folder and ".safetensors" */
	char *model;    /* {"name","version","sha256"}, compact JSON */
	char *card;     /* the card, compact JSON */
} tp_card;

/* The card of p; db may be NULL, and the registry's part is then null. */
int tp_card_make(tp_card *c, const tp_predictor *p, tp_db *db, tp_err *e);
/* Adds to c's card what reasons a server gives with the model's scores
 * (lib/serve/why.h): "explain", {"max": the most an application may ask
 * for, "steps": the quadrature's, "reference_rows": the training rows of
 * the reference profile, "reason_texts": the texts held}, or null when it
 * gives none: meta NULL (the server gives no reasons, or could not read
 * what they need), or a model file without a reference profile. */
int tp_card_explain(tp_card *c, const tp_model_meta *meta,
    const tp_why_opts *o, tp_err *e);
void tp_card_free(tp_card *c); /* accepts a zeroed c */

#endif
